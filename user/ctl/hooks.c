// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The hooks the kernel runs on an interface now: query, remove, compare. */
#include "hooks.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util.h"

static const char *const hook_names[XS_HK__COUNT] = {
	"xdp native",
	"xdp generic",
	"tc egress",
	"tc ingress",
};

static unsigned int bit_no(unsigned int bit)
{
	return (unsigned int)__builtin_ctz(bit);
}

/* Is program `id` named `name` (or, with `prefix`, starting with it)? */
static bool prog_named(__u32 id, const char *name, bool prefix)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	bool match = false;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		match = prefix ? strncmp(info.name, name, strlen(name)) == 0
			       : strcmp(info.name, name) == 0;
	close(fd);
	return match;
}

/* The program of our filter on one clsact direction (0: none, or no clsact). */
static int tc_prog(unsigned int ifindex, enum bpf_tc_attach_point point, __u32 *id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XS_TC_HANDLE, .priority = XS_TC_PRIORITY);
	int err;

	*id = 0;
	err = bpf_tc_query(&hook, &opts);
	if (err == -ENOENT || err == -EINVAL) /* no such filter; no clsact qdisc */
		return 0;
	if (err)
		return err;
	*id = opts.prog_id;
	return 0;
}

/* The TC hooks, then which hooks run xdpseg's programs; h->id[] has the XDP ids. */
static int query_tc_and_names(unsigned int ifindex, struct xs_hooks *h)
{
	int err;

	err = tc_prog(ifindex, BPF_TC_EGRESS, &h->id[bit_no(XS_HK_TC_EGRESS)]);
	if (err)
		h->err = err;
	err = tc_prog(ifindex, BPF_TC_INGRESS, &h->id[bit_no(XS_HK_TC_INGRESS)]);
	if (err)
		h->err = err;
	for (unsigned int b = 0; b < XS_HK__COUNT; b++) {
		bool xdp = (1U << b) & (XS_HK_XDP_NATIVE | XS_HK_XDP_GENERIC);

		if (h->id[b] && prog_named(h->id[b], xdp ? "xs_xdp" : "xs_tc_", !xdp))
			h->ours |= 1U << b;
	}
	return h->err;
}

int xs_hooks_query(unsigned int ifindex, struct xs_hooks *h)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, xq);
	int err;

	memset(h, 0, sizeof(*h));
	err = bpf_xdp_query((int)ifindex, 0, &xq);
	if (err) {
		h->err = err;
	} else {
		h->id[bit_no(XS_HK_XDP_NATIVE)] = xq.drv_prog_id;
		h->id[bit_no(XS_HK_XDP_GENERIC)] = xq.skb_prog_id;
	}
	return query_tc_and_names(ifindex, h);
}

int xs_hooks_query_xdp_known(unsigned int ifindex, __u32 drv_id, __u32 skb_id, struct xs_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->id[bit_no(XS_HK_XDP_NATIVE)] = drv_id;
	h->id[bit_no(XS_HK_XDP_GENERIC)] = skb_id;
	return query_tc_and_names(ifindex, h);
}

/*
 * Detach the XDP bpf_link that runs `prog_id` on `ifindex`. Link info
 * names no network namespace, so more than one candidate (the same
 * program linked to the same ifindex in another namespace) is refused.
 */
static int xdp_link_detach(unsigned int ifindex, __u32 prog_id)
{
	__u32 id = 0, found = 0;
	int n = 0, fd, err;

	while (bpf_link_get_next_id(id, &id) == 0) {
		struct bpf_link_info info;
		__u32 len = sizeof(info);

		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    info.type == BPF_LINK_TYPE_XDP && info.xdp.ifindex == ifindex &&
		    info.prog_id == prog_id) {
			found = id;
			n++;
		}
		close(fd);
	}
	if (n != 1)
		return n ? -EEXIST : -ENOENT;
	fd = bpf_link_get_fd_by_id(found);
	if (fd < 0)
		return -errno;
	err = bpf_link_detach(fd) ? -errno : 0;
	close(fd);
	return err;
}

static int xdp_remove(unsigned int ifindex, __u32 prog_id, __u32 mode_flag)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	int fd, err;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return -errno;
	opts.old_prog_fd = fd; /* only if it is still that program */
	err = bpf_xdp_detach((int)ifindex, mode_flag, &opts);
	close(fd);
	if (err == -EBUSY) /* "Can't replace active BPF XDP link" */
		err = xdp_link_detach(ifindex, prog_id);
	return err;
}

int xs_hooks_remove(unsigned int ifindex)
{
	struct xs_hooks h;

	xs_hooks_query(ifindex, &h);
	if (h.ours & XS_HK_XDP_NATIVE)
		xdp_remove(ifindex, h.id[bit_no(XS_HK_XDP_NATIVE)], XDP_FLAGS_DRV_MODE);
	if (h.ours & XS_HK_XDP_GENERIC)
		xdp_remove(ifindex, h.id[bit_no(XS_HK_XDP_GENERIC)], XDP_FLAGS_SKB_MODE);
	for (unsigned int bit = XS_HK_TC_EGRESS; bit <= XS_HK_TC_INGRESS; bit <<= 1) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point =
				    bit == XS_HK_TC_EGRESS ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XS_TC_HANDLE, .priority = XS_TC_PRIORITY);

		if (h.ours & bit)
			bpf_tc_detach(&hook, &opts);
	}
	if (!h.ours)
		return 0;
	if (xs_hooks_query(ifindex, &h) && !h.ours)
		return h.err;
	return (int)h.ours;
}

void xs_hooks_names(unsigned int mask, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned int b = 0; b < XS_HK__COUNT; b++) {
		if (!(mask & (1U << b)))
			continue;
		o += (size_t)snprintf(buf + o, o < size ? size - o : 0, "%s%s", o ? ", " : "",
				      hook_names[b]);
	}
	if (!o)
		snprintf(buf, size, "none");
}

void xs_hook_fix(unsigned int bit, const char *ifname, char *buf, size_t size)
{
	switch (bit) {
	case XS_HK_XDP_NATIVE:
	case XS_HK_XDP_GENERIC:
		snprintf(buf, size,
			 "'ip link set dev %s %s off', or 'bpftool link detach id ID' when "
			 "'bpftool net show dev %s' shows it as a link",
			 ifname, bit == XS_HK_XDP_NATIVE ? "xdpdrv" : "xdpgeneric", ifname);
		break;
	default:
		snprintf(buf, size, "'tc filter del dev %s %s pref %u handle 0x%x bpf'", ifname,
			 bit == XS_HK_TC_EGRESS ? "egress" : "ingress", XS_TC_PRIORITY,
			 XS_TC_HANDLE);
		break;
	}
}

unsigned int xs_iface_want(const struct xs_iface *e)
{
	unsigned int want = XS_HK_TC_EGRESS;

	if (e->tc_ingress)
		want |= XS_HK_TC_INGRESS;
	else if (e->xdp_mode == XS_XDP_GENERIC)
		want |= XS_HK_XDP_GENERIC;
	else
		want |= XS_HK_XDP_NATIVE;
	return want;
}

/* The pinned program each hook must run. */
static __u32 want_id(const struct xs_ctl *ctl, unsigned int bit)
{
	switch (bit) {
	case XS_HK_XDP_NATIVE:
	case XS_HK_XDP_GENERIC:
		return ctl->prog_id[XS_PROG_XDP];
	case XS_HK_TC_EGRESS:
		return ctl->prog_id[XS_PROG_TC_EGRESS];
	default:
		return ctl->prog_id[XS_PROG_TC_INGRESS];
	}
}

/* Which hooks of record `e` do not run the pinned program (l->hooks queried), and so its state. */
static void live_judge(const struct xs_ctl *ctl, const struct xs_iface *e, struct xs_iface_live *l)
{
	for (unsigned int b = 0; b < XS_HK__COUNT; b++) {
		unsigned int bit = 1U << b;

		if ((l->want & bit) && (!want_id(ctl, bit) || l->hooks.id[b] != want_id(ctl, bit)))
			l->bad |= bit;
	}
	if (e->state == XS_IFACE_ATTACHING)
		l->state = XS_LIVE_ATTACHING;
	else if (!l->bad)
		l->state = XS_LIVE_PROTECTED;
	else
		l->state = l->bad == l->want ? XS_LIVE_UNPROTECTED : XS_LIVE_PARTIAL;
}

void xs_iface_live(const struct xs_ctl *ctl, const struct xs_iface *e, struct xs_iface_live *l)
{
	char name[IF_NAMESIZE + 1];

	memset(l, 0, sizeof(*l));
	snprintf(name, sizeof(name), "%.*s", (int)sizeof(e->name), e->name);
	l->want = xs_iface_want(e);
	l->ifindex = if_nametoindex(name);
	if (!l->ifindex) {
		l->state = XS_LIVE_GONE;
		l->bad = l->want;
		return;
	}
	if (l->ifindex != e->ifindex) {
		l->state = XS_LIVE_REPLACED;
		l->bad = l->want;
		return;
	}
	xs_hooks_query(l->ifindex, &l->hooks);
	live_judge(ctl, e, l);
}

void xs_iface_live_hooks(const struct xs_ctl *ctl, const struct xs_iface *e,
			 const struct xs_hooks *h, struct xs_iface_live *l)
{
	memset(l, 0, sizeof(*l));
	l->want = xs_iface_want(e);
	l->ifindex = e->ifindex;
	l->hooks = *h;
	live_judge(ctl, e, l);
}

void xs_live_problems(const struct xs_iface_live *l, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	if (l->state == XS_LIVE_GONE) {
		snprintf(buf, size, "no interface has this name");
		return;
	}
	if (l->state == XS_LIVE_REPLACED) {
		snprintf(buf, size, "the name is ifindex %u now", l->ifindex);
		return;
	}
	for (unsigned int b = 0; b < XS_HK__COUNT && o < size; b++) {
		if (!(l->bad & (1U << b)))
			continue;
		if (l->hooks.id[b])
			o += (size_t)snprintf(buf + o, size - o, "%s%s runs prog %u", o ? ", " : "",
					      hook_names[b], l->hooks.id[b]);
		else
			o += (size_t)snprintf(buf + o, size - o, "%sno %s", o ? ", " : "",
					      hook_names[b]);
	}
}

const char *xs_live_name(enum xs_live s)
{
	switch (s) {
	case XS_LIVE_PROTECTED:
		return "protected";
	case XS_LIVE_UNPROTECTED:
		return "unprotected";
	case XS_LIVE_PARTIAL:
		return "partial";
	case XS_LIVE_ATTACHING:
		return "attaching";
	case XS_LIVE_REPLACED:
		return "replaced";
	default:
		return "gone";
	}
}

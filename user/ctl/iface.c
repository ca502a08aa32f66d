// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One interface's hooks: record, bind, attach (XDP by bpf_link on ingress,
 * TC clsact on egress), repair, and drop, for the CLI and the agent alike.
 * An interface is recorded in xs_ifaces before any hook and marked attached
 * after the last, so an interrupted attach leaves nothing status does not
 * list; dropping removes whatever xdpseg runs on it and checks it is gone.
 */
#include "iface.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hooks.h"
#include "util.h"

/* The kernel's internal "not supported" (drivers without native XDP may return it). */
#define XS_ENOTSUPP 524

const char *xs_iface_mode_name(const struct xs_iface *e)
{
	if (e->tc_ingress)
		return "tc ingress, tc egress";
	return e->xdp_mode == XS_XDP_GENERIC ? "xdp generic ingress, tc egress"
					     : "xdp native ingress, tc egress";
}

static int link_pin_path(const struct xs_ctl *ctl, const char *ifname, char *buf, size_t size)
{
	char name[32];

	snprintf(name, sizeof(name), "xdp-%s", ifname);
	return xs_ctl_path(ctl, buf, size, "links", name);
}

/* Is the link pinned at `path` still attached to `ifindex`? */
static bool xdp_link_live(const char *path, unsigned int ifindex)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	bool live = false;
	int fd;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		live = info.type == BPF_LINK_TYPE_XDP && info.xdp.ifindex == ifindex;
	close(fd);
	return live;
}

static int xdp_link_create(int prog_fd, unsigned int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);

	return fd < 0 ? -errno : fd;
}

/* The mode our program runs in on `ifindex` (the link says only where). */
static void xdp_live_mode(const struct xs_ctl *ctl, unsigned int ifindex, __u8 *mode)
{
	struct xs_hooks h;

	xs_hooks_query(ifindex, &h);
	if (xs_hooks_id(&h, XS_HK_XDP_GENERIC) == ctl->prog_id[XS_PROG_XDP])
		*mode = XS_XDP_GENERIC;
	else if (xs_hooks_id(&h, XS_HK_XDP_NATIVE) == ctl->prog_id[XS_PROG_XDP])
		*mode = XS_XDP_NATIVE;
}

/* XDP on ingress through a pinned bpf_link; *mode is in/out. */
static int attach_xdp(const struct xs_ctl *ctl, const char *ifname, unsigned int ifindex,
		      __u8 *mode, bool mode_given)
{
	char path[512];
	int fd, err;

	err = link_pin_path(ctl, ifname, path, sizeof(path));
	if (err)
		return err;
	if (xdp_link_live(path, ifindex)) {
		xdp_live_mode(ctl, ifindex, mode);
		return 0;
	}
	unlink(path); /* a stale link of a vanished interface */

	if (*mode == XS_XDP_GENERIC) {
		fd = xdp_link_create(ctl->prog_xdp, ifindex, XDP_FLAGS_SKB_MODE);
	} else {
		fd = xdp_link_create(ctl->prog_xdp, ifindex, XDP_FLAGS_DRV_MODE);
		if (fd == -EOPNOTSUPP || fd == -EINVAL || fd == -XS_ENOTSUPP) {
			if (mode_given || xs_verbose)
				p_warn("%s: the driver cannot run XDP in native mode (%s); "
				       "using generic mode",
				       ifname, strerror(-fd == XS_ENOTSUPP ? EOPNOTSUPP : -fd));
			*mode = XS_XDP_GENERIC;
			fd = xdp_link_create(ctl->prog_xdp, ifindex, XDP_FLAGS_SKB_MODE);
		}
	}
	if (fd == -EBUSY || fd == -EEXIST) {
		p_err("%s already has an XDP program that xdpseg did not attach: remove it "
		      "('ip link set dev %s xdp off') or use --tc-ingress",
		      ifname, ifname);
		return fd;
	}
	if (fd < 0) {
		p_err("%s: attaching XDP failed: %s (run with -v for details)", ifname,
		      strerror(-fd));
		return fd;
	}
	/* Killed before the pin, the link dies with its only fd: no hook stays. */
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		p_err("cannot pin the XDP link of %s at %s: %s", ifname, path, strerror(errno));
		bpf_link_detach(fd);
		close(fd);
		return err;
	}
	close(fd); /* the pin keeps the link, and so the attachment */
	return 0;
}

/*
 * Detach and unpin the XDP link pinned for record `e`, unless the pin is
 * a newer record's (same name, another ifindex): a link attached to
 * e->ifindex, or to no interface any more (its interface was deleted).
 */
static void unpin_xdp_link(const struct xs_ctl *ctl, const struct xs_iface *e)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	if (link_pin_path(ctl, e->name, path, sizeof(path)))
		return;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    info.type == BPF_LINK_TYPE_XDP && info.xdp.ifindex &&
		    info.xdp.ifindex != e->ifindex) {
			close(fd);
			return;
		}
		bpf_link_detach(fd); /* even if someone else holds the link */
		close(fd);
	}
	unlink(path);
}

static int record_iface(const struct xs_ctl *ctl, const struct xs_iface *e)
{
	__u32 key = e->ifindex;

	if (bpf_map_update_elem(ctl->maps.ifaces, &key, e, BPF_ANY)) {
		int err = -errno;

		p_err("%s: cannot record the interface in xs_ifaces: %s", e->name, strerror(errno));
		return err;
	}
	return 0;
}

/* Our filter on one clsact direction; creates the qdisc if needed. */
static int attach_tc(const struct xs_ctl *ctl, struct xs_iface *e, enum bpf_tc_attach_point point,
		     int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = e->ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XS_TC_HANDLE, .priority = XS_TC_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (!err) {
		/* Ours to remove on detach: recorded before anything else. */
		e->created_qdisc = 1;
		err = record_iface(ctl, e);
		if (err)
			return err;
	} else if (err != -EEXIST) {
		p_err("%s: cannot create the clsact qdisc: %s", e->name, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		p_err("%s: attaching the TC %s program failed: %s", e->name,
		      point == BPF_TC_EGRESS ? "egress" : "ingress", strerror(-err));
		return err;
	}
	return 0;
}

/*
 * Remove every xdpseg hook from `ifindex` and check that none stayed.
 * Prints each hook that stayed with the command that removes it.
 */
int xs_iface_remove_hooks(unsigned int ifindex)
{
	char name[IF_NAMESIZE], fix[256];
	int stayed;

	if (!if_indextoname(ifindex, name))
		return 0; /* gone: nothing runs there */
	stayed = xs_hooks_remove(ifindex);
	if (stayed < 0) {
		p_err("%s: cannot check its hooks after detaching: %s", name, strerror(-stayed));
		return stayed;
	}
	for (unsigned int b = 0; b < XS_HK__COUNT; b++) {
		char what[32];

		if (!(stayed & (1 << b)))
			continue;
		xs_hooks_names(1U << b, what, sizeof(what));
		xs_hook_fix(1U << b, name, fix, sizeof(fix));
		p_err("%s: xdpseg's %s hook is still attached after detaching it: remove it with "
		      "%s",
		      name, what, fix);
	}
	return stayed ? -EBUSY : 0;
}

/*
 * Remove record `e`, its link pin and every xdpseg hook on the interface
 * that has its name now (`live`, 0: none), and on its recorded ifindex if
 * that still exists under another name (no other record can own it: the
 * ifindex is the key). Never one hook of a pair: whatever xdpseg runs
 * there goes, and is checked gone. If a hook stayed, so does the record,
 * so that status keeps listing it.
 */
int xs_iface_drop(const struct xs_ctl *ctl, const struct xs_iface *e, unsigned int live)
{
	struct xs_iface other;
	__u32 key = e->ifindex;
	int err = 0;

	unpin_xdp_link(ctl, e);
	if (live && live != e->ifindex &&
	    bpf_map_lookup_elem(ctl->maps.ifaces, &live, &other) == 0) {
		/* `live` is another record's interface: leave it to that one. */
		live = 0;
	}
	if (live)
		err = xs_iface_remove_hooks(live);
	if (e->ifindex != live && xs_iface_remove_hooks(e->ifindex))
		err = -EBUSY;
	if (e->created_qdisc && live == e->ifindex) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = e->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		bpf_tc_hook_destroy(&hook);
	}
	if (!err) {
		bpf_map_delete_elem(ctl->maps.ifaces, &key);
		xs_iface_unbind(&ctl->maps, e->ifindex);
	}
	return err;
}

/*
 * A record of `ifindex` under another name, whose hooks (some of them, at
 * least) run on `ifindex` still: the very interface, renamed (hooks die with
 * their interface, so a new interface that got an old ifindex has none).
 * The record and its link pin follow the new name and the interface is
 * bound by it, without a moment unhooked. Returns 1 when renamed, 0 when
 * the record is not this interface's, or a negative errno.
 */
static int follow_rename(const struct xs_ctl *ctl, const struct xs_iface *rec, const char *ifname)
{
	char from[512], to[512];
	struct xs_iface_live l;
	struct xs_iface e = *rec;
	int err, bind;

	snprintf(e.name, sizeof(e.name), "%s", ifname);
	xs_iface_live(ctl, &e, &l);
	if (l.state != XS_LIVE_PROTECTED && l.state != XS_LIVE_PARTIAL)
		return 0;
	if (!e.tc_ingress) {
		err = link_pin_path(ctl, rec->name, from, sizeof(from));
		if (!err)
			err = link_pin_path(ctl, ifname, to, sizeof(to));
		if (err)
			return err;
		if (rename(from, to) && errno != ENOENT) {
			err = -errno;
			p_err("%s was renamed %s: cannot move its XDP link's pin %s to %s: %s",
			      rec->name, ifname, from, to, strerror(errno));
			return err;
		}
	}
	err = record_iface(ctl, &e);
	if (err)
		return err;
	bind = xs_iface_bind(&ctl->maps, e.ifindex, ifname);
	if (bind < 0) {
		p_err("%s: cannot bind it by the policy's bind statements: %s", ifname,
		      strerror(-bind));
		return bind;
	}
	return 1;
}

/*
 * Before attaching `ifname` (`ifindex`): a record of the same name with
 * another ifindex (the interface was deleted and made again), or of this
 * ifindex with another name (a new interface got an old ifindex), is
 * stale. Drop it, its link pin and its hooks first. A record of this
 * ifindex whose hooks still run on it is the interface renamed: it
 * follows the new name (follow_rename()).
 */
static int drop_stale(const struct xs_ctl *ctl, const char *ifname, unsigned int ifindex)
{
	struct xs_iface *v = NULL;
	size_t n = 0;
	int err;

	err = xs_ifaces_list(&ctl->maps, &v, &n);
	if (err) {
		p_err("cannot read xs_ifaces under %s: %s", ctl->dir, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < n && !err; i++) {
		bool same_name = strcmp(v[i].name, ifname) == 0;

		if (same_name == (v[i].ifindex == ifindex))
			continue; /* this interface's own record, or an unrelated one */
		if (!same_name) {
			err = follow_rename(ctl, &v[i], ifname);
			if (err) {
				err = err < 0 ? err : 0;
				continue;
			}
		}
		if (same_name)
			p_warn("%s was recorded with ifindex %u, but it is ifindex %u now (the "
			       "interface was made again): dropping the stale record",
			       ifname, v[i].ifindex, ifindex);
		else
			p_warn("ifindex %u was recorded as %s, but it is %s now: dropping the "
			       "stale record of %s",
			       ifindex, v[i].name, ifname, v[i].name);
		err = xs_iface_drop(ctl, &v[i], if_nametoindex(v[i].name));
	}
	free(v);
	return err;
}

int xs_iface_attach(struct xs_ctl *ctl, const char *ifname, const struct xs_attach_opts *o,
		    struct xs_attach_result *res)
{
	struct xs_iface e, old;
	struct xs_iface_live l;
	unsigned int ifindex;
	bool existed;
	__u32 key;
	int err, bind;

	memset(res, 0, sizeof(*res));
	ifindex = if_nametoindex(ifname);
	if (!ifindex || strlen(ifname) >= sizeof(e.name)) {
		p_err("unknown interface '%s' (see 'ip link')", ifname);
		return -ENODEV;
	}
	err = drop_stale(ctl, ifname, ifindex);
	if (err)
		return err;
	key = ifindex;
	existed = bpf_map_lookup_elem(ctl->maps.ifaces, &key, &old) == 0;
	if (existed && old.state == XS_IFACE_ATTACHING) {
		/* An attach killed half-way: start again, with these options. */
		err = xs_iface_drop(ctl, &old, ifindex);
		if (err)
			return err;
		existed = false;
	}
	if (existed) {
		if (old.tc_ingress != o->tc_ingress ||
		    (o->mode_given && !o->tc_ingress && old.xdp_mode != o->mode &&
		     o->mode == XS_XDP_GENERIC)) {
			p_err("%s is already attached (%s): detach it first to change the mode",
			      ifname, xs_iface_mode_name(&old));
			return -EBUSY;
		}
		xs_iface_live(ctl, &old, &l);
		if (l.state == XS_LIVE_PROTECTED) {
			res->outcome = XS_ATTACH_ALREADY;
			res->rec = old;
			return 0;
		}
		xs_live_problems(&l, res->problems, sizeof(res->problems));
		e = old;
	} else {
		memset(&e, 0, sizeof(e));
		snprintf(e.name, sizeof(e.name), "%s", ifname);
		e.ifindex = ifindex;
		e.tc_ingress = o->tc_ingress;
		e.xdp_mode = o->tc_ingress ? XS_XDP_NONE : o->mode;
		e.attached_at = (__u64)time(NULL);
		/* Recorded before any hook, so that a kill at any later point
		 * leaves nothing that status does not list. */
		e.state = XS_IFACE_ATTACHING;
		err = record_iface(ctl, &e);
		if (err)
			return err;
	}

	/* Recorded and not hooked yet: bind it by the active policy's `bind`
	 * statements now, so that no packet crosses it unchecked (a later apply
	 * binds every recorded interface by its own statements). */
	bind = xs_iface_bind(&ctl->maps, ifindex, ifname);
	if (bind < 0) {
		p_err("%s: cannot bind it by the policy's bind statements: %s", ifname,
		      strerror(-bind));
		err = bind;
	}

	/* Each step is idempotent and repairs a missing part. */
	if (!err)
		err = attach_tc(ctl, &e, BPF_TC_EGRESS, ctl->prog_tc_egress);
	if (!err && e.tc_ingress)
		err = attach_tc(ctl, &e, BPF_TC_INGRESS, ctl->prog_tc_ingress);
	if (!err && !e.tc_ingress)
		err = attach_xdp(ctl, ifname, ifindex, &e.xdp_mode, o->mode_given);
	if (!err) {
		e.state = XS_IFACE_ATTACHED;
		err = record_iface(ctl, &e);
	}
	if (err) {
		if (!existed)
			xs_iface_drop(ctl, &e, ifindex);
		return err;
	}
	res->outcome = existed ? XS_ATTACH_REPAIRED : XS_ATTACH_NEW;
	res->rec = e;
	res->bind = bind;
	return 0;
}

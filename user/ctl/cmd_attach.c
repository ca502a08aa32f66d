// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg attach / detach: XDP (bpf_link) on ingress, TC clsact on egress.
 * An interface is recorded in xs_ifaces before any hook and marked attached
 * after the last; detach removes whatever xdpseg runs on the interface and
 * checks it is gone (hooks.c).
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmds.h"
#include "hooks.h"
#include "loader.h"
#include "util.h"

/* The kernel's internal "not supported" (drivers without native XDP may return it). */
#define XS_ENOTSUPP 524

struct attach_opts {
	enum xs_xdp_mode mode; /* XS_XDP_NATIVE (default, may fall back) or GENERIC */
	bool mode_given;
	bool tc_ingress;
};

static const char *mode_name(const struct xs_iface *e)
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
static int remove_verified(unsigned int ifindex)
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
static int drop_iface(const struct xs_ctl *ctl, const struct xs_iface *e, unsigned int live)
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
		err = remove_verified(live);
	if (e->ifindex != live && remove_verified(e->ifindex))
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
 * Before attaching `ifname` (`ifindex`): a record of the same name with
 * another ifindex (the interface was deleted and made again), or of this
 * ifindex with another name (a new interface got an old ifindex), is
 * stale. Drop it, its link pin and its hooks first.
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
		if (same_name)
			p_warn("%s was recorded with ifindex %u, but it is ifindex %u now (the "
			       "interface was made again): dropping the stale record",
			       ifname, v[i].ifindex, ifindex);
		else
			p_warn("ifindex %u was recorded as %s, but it is %s now: dropping the "
			       "stale record of %s",
			       ifindex, v[i].name, ifname, v[i].name);
		err = drop_iface(ctl, &v[i], if_nametoindex(v[i].name));
	}
	free(v);
	return err;
}

static int attach_iface(struct xs_ctl *ctl, const char *ifname, const struct attach_opts *o)
{
	char missing[128] = "";
	struct xs_iface e, old;
	struct xs_iface_live l;
	unsigned int ifindex;
	bool existed;
	__u32 key;
	int err, bind;

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
		err = drop_iface(ctl, &old, ifindex);
		if (err)
			return err;
		existed = false;
	}
	if (existed) {
		if (old.tc_ingress != o->tc_ingress ||
		    (o->mode_given && !o->tc_ingress && old.xdp_mode != o->mode &&
		     o->mode == XS_XDP_GENERIC)) {
			p_err("%s is already attached (%s): detach it first to change the mode",
			      ifname, mode_name(&old));
			return -EBUSY;
		}
		xs_iface_live(ctl, &old, &l);
		if (l.state == XS_LIVE_PROTECTED) {
			printf("%s: already attached (%s)\n", ifname, mode_name(&old));
			return 0;
		}
		xs_live_problems(&l, missing, sizeof(missing));
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
			drop_iface(ctl, &e, ifindex);
		return err;
	}
	if (existed)
		printf("%s: attached again (%s): it was unprotected (%s)\n", ifname, mode_name(&e),
		       missing);
	else
		printf("%s: attached (%s)\n", ifname, mode_name(&e));
	return 0;
}

static void attach_usage(FILE *out)
{
	fprintf(out,
		"Usage: xdpseg attach IFACE... [--mode native|generic] [--tc-ingress]\n\n"
		"Load xdpseg (first use), pin it under %s and attach it to each IFACE:\n"
		"XDP on ingress, TC (clsact) on egress. Enforcement stays after the command\n"
		"exits. Each IFACE is recorded before its hooks, so an interrupted attach\n"
		"leaves nothing 'xdpseg status' does not list. Attaching again changes\n"
		"nothing, or repairs a missing hook; a stale record of the name (the\n"
		"interface was deleted and made again) is replaced.\n\n"
		"  -m, --mode native|generic  XDP mode (default native; falls back to generic\n"
		"                             with a warning when the driver cannot do native)\n"
		"  -t, --tc-ingress           enforce ingress with TC instead of XDP\n"
		"  -h, --help                 this help\n",
		xs_pin_dir());
}

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "tc-ingress", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct attach_opts o = { .mode = XS_XDP_NATIVE };
	struct xs_ctl ctl;
	struct xs_config cfg;
	int c, ret = XS_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "m:th", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "native"))
				o.mode = XS_XDP_NATIVE;
			else if (!strcmp(optarg, "generic"))
				o.mode = XS_XDP_GENERIC;
			else
				return p_usage("attach",
					       "unknown XDP mode '%s': use native or generic",
					       optarg);
			o.mode_given = true;
			break;
		case 't':
			o.tc_ingress = true;
			break;
		case 'h':
			attach_usage(stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("attach", "bad option");
		}
	}
	if (optind >= argc)
		return p_usage("attach", "name at least one interface");
	if (o.tc_ingress && o.mode_given)
		return p_usage("attach", "--mode applies to XDP; it cannot go with --tc-ingress");

	xs_libbpf_log_setup();
	xs_ctl_init(&ctl);
	if (xs_ctl_check_env(ctl.dir))
		return XS_EXIT_FAIL;
	for (int i = optind; i < argc; i++) {
		if (!if_nametoindex(argv[i])) {
			p_err("unknown interface '%s' (see 'ip link'); nothing was attached",
			      argv[i]);
			return XS_EXIT_FAIL;
		}
	}
	if (xs_ctl_lock(&ctl, true))
		goto out;
	if (xs_ctl_load(&ctl))
		goto out_unload;
	ret = XS_EXIT_OK;
	for (int i = optind; i < argc; i++) {
		if (attach_iface(&ctl, argv[i], &o))
			ret = XS_EXIT_FAIL;
	}
	if (ret == XS_EXIT_OK && xs_config_read(&ctl.maps, &cfg) == 0 && cfg.generation == 0)
		p_warn("no policy applied yet: traffic passes unchecked until 'xdpseg apply FILE'");
out_unload:
	/* Nothing attached (first use failed): leave nothing pinned. */
	if (ret != XS_EXIT_OK && ctl.lock_fd >= 0) {
		struct xs_iface *v = NULL;
		size_t n = 0;

		if (ctl.maps.ifaces < 0 || (xs_ifaces_list(&ctl.maps, &v, &n) == 0 && n == 0)) {
			xs_maps_close(&ctl.maps);
			xs_ctl_unload(&ctl);
		}
		free(v);
	}
out:
	xs_ctl_close(&ctl);
	return ret;
}

/*
 * Does record `e` belong to what `name` names: the record of that name,
 * or the record of the interface that has that name now (renamed)?
 */
static bool iface_named(const struct xs_iface *e, const char *name, unsigned int live)
{
	return !strcmp(e->name, name) || (live && e->ifindex == live);
}

/* Does the interface run any xdpseg hook (recorded or not)? */
static unsigned int live_hooks(unsigned int ifindex)
{
	struct xs_hooks h;

	if (!ifindex)
		return 0;
	xs_hooks_query(ifindex, &h);
	return h.ours;
}

/* Hooks no record lists, on `ifindex`: remove them, say which. */
static int detach_unrecorded(unsigned int ifindex, const char *name, unsigned int hooks)
{
	char what[64];
	int err;

	xs_hooks_names(hooks, what, sizeof(what));
	err = remove_verified(ifindex);
	if (!err)
		printf("%s: detached xdpseg hooks that no record listed (%s)\n", name, what);
	return err;
}

/* Detach NAME: every record it names, and any xdpseg hook on it. */
static int detach_name(const struct xs_ctl *ctl, struct xs_iface *v, size_t *n, const char *name)
{
	unsigned int live = if_nametoindex(name), hooks;
	bool any = false;
	int err = 0;

	for (size_t i = 0; i < *n;) {
		if (!iface_named(&v[i], name, live)) {
			i++;
			continue;
		}
		any = true;
		if (drop_iface(ctl, &v[i], live)) {
			err = -EBUSY;
			i++;
			continue;
		}
		printf("%s: detached\n", v[i].name);
		v[i] = v[--*n];
	}
	hooks = live_hooks(live);
	if (hooks && !err)
		err = detach_unrecorded(live, name, hooks);
	else if (!any && !hooks)
		return 0; /* named twice */
	return err;
}

/* Every xdpseg hook on any interface of this network namespace. */
static int detach_sweep(void)
{
	struct if_nameindex *ifs = if_nameindex();
	int err = 0;

	if (!ifs) {
		p_err("cannot list the interfaces: %s", strerror(errno));
		return -errno;
	}
	for (struct if_nameindex *i = ifs; i->if_index; i++) {
		unsigned int hooks = live_hooks(i->if_index);

		if (hooks && detach_unrecorded(i->if_index, i->if_name, hooks))
			err = -EBUSY;
	}
	if_freenameindex(ifs);
	return err;
}

static void detach_usage(FILE *out)
{
	fprintf(out,
		"Usage: xdpseg detach IFACE... | --all\n\n"
		"Remove xdpseg's XDP program and TC filters from each IFACE (and the clsact\n"
		"qdisc if xdpseg created it), recorded or not, and check that none stayed.\n"
		"When no interface is left, or with --all, unpin everything under %s.\n\n"
		"  -a, --all    detach every xdpseg hook of this network namespace, then unload\n"
		"  -h, --help   this help\n",
		xs_pin_dir());
}

int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xs_iface *v = NULL;
	struct xs_ctl ctl;
	bool all = false;
	size_t n = 0;
	int c, err, ret = XS_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'h':
			detach_usage(stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("detach", "bad option");
		}
	}
	if (all == (optind < argc))
		return p_usage("detach", "name interfaces or give --all (not both)");

	xs_libbpf_log_setup();
	xs_ctl_init(&ctl);
	if (xs_ctl_check_env(ctl.dir))
		return XS_EXIT_FAIL;
	err = xs_ctl_lock(&ctl, false);
	if (err == -ENOENT) {
		/* Nothing loaded; hooks of an interrupted run may still be there. */
		if (all)
			return detach_sweep() ? XS_EXIT_FAIL : XS_EXIT_OK;
		for (int i = optind; i < argc; i++) {
			unsigned int live = if_nametoindex(argv[i]), hooks = live_hooks(live);

			if (!hooks) {
				p_err("xdpseg is not attached to any interface (nothing under %s)",
				      ctl.dir);
				return XS_EXIT_FAIL;
			}
			if (detach_unrecorded(live, argv[i], hooks))
				return XS_EXIT_FAIL;
		}
		return XS_EXIT_OK;
	}
	if (err)
		goto out;
	err = xs_ctl_open(&ctl);
	if (err && !all)
		goto out;
	if (!err && xs_ifaces_list(&ctl.maps, &v, &n))
		goto out;

	ret = XS_EXIT_OK;
	if (all) {
		for (size_t i = 0; i < n;) {
			if (drop_iface(&ctl, &v[i], if_nametoindex(v[i].name))) {
				ret = XS_EXIT_FAIL;
				i++;
				continue;
			}
			printf("%s: detached\n", v[i].name);
			v[i] = v[--n];
		}
		if (detach_sweep())
			ret = XS_EXIT_FAIL;
	} else {
		/* Check every name first: an error changes nothing. */
		for (int i = optind; i < argc; i++) {
			unsigned int live = if_nametoindex(argv[i]);
			bool recorded = false;

			for (size_t k = 0; k < n && !recorded; k++)
				recorded = iface_named(&v[k], argv[i], live);
			if (recorded || live_hooks(live))
				continue;
			if (!live)
				p_err("unknown interface '%s' (see 'ip link')", argv[i]);
			else
				p_err("%s is not attached (see 'xdpseg status')", argv[i]);
			ret = XS_EXIT_FAIL;
			goto out;
		}
		for (int i = optind; i < argc; i++) {
			if (detach_name(&ctl, v, &n, argv[i]))
				ret = XS_EXIT_FAIL;
		}
	}
	if (ret == XS_EXIT_OK && n == 0) {
		xs_maps_close(&ctl.maps);
		if (xs_ctl_unload(&ctl))
			ret = XS_EXIT_FAIL;
		else
			printf("no interface left: unloaded (removed %s)\n", ctl.dir);
	}
out:
	free(v);
	xs_ctl_close(&ctl);
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg attach / detach: XDP (bpf_link) on ingress, TC clsact on egress. */
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

/* XDP on ingress through a pinned bpf_link; *mode is in/out. */
static int attach_xdp(const struct xs_ctl *ctl, const char *ifname, unsigned int ifindex,
		      __u8 *mode, bool mode_given)
{
	char path[512];
	int fd, err;

	err = link_pin_path(ctl, ifname, path, sizeof(path));
	if (err)
		return err;
	if (xdp_link_live(path, ifindex))
		return 0;
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

static void detach_xdp(const struct xs_ctl *ctl, const char *ifname)
{
	char path[512];
	int fd;

	if (link_pin_path(ctl, ifname, path, sizeof(path)))
		return;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_link_detach(fd); /* even if someone else holds the link */
		close(fd);
	}
	unlink(path);
}

/* Our filter on one clsact direction; creates the qdisc if needed. */
static int attach_tc(const char *ifname, unsigned int ifindex, enum bpf_tc_attach_point point,
		     int prog_fd, bool *created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XS_TC_HANDLE, .priority = XS_TC_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (!err)
		*created = true;
	else if (err != -EEXIST) {
		p_err("%s: cannot create the clsact qdisc: %s", ifname, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		p_err("%s: attaching the TC %s program failed: %s", ifname,
		      point == BPF_TC_EGRESS ? "egress" : "ingress", strerror(-err));
		return err;
	}
	return 0;
}

static void detach_tc(unsigned int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XS_TC_HANDLE, .priority = XS_TC_PRIORITY);

	bpf_tc_detach(&hook, &opts); /* -ENOENT: already gone */
}

/* Undo everything `e` records. Tolerates a vanished interface. */
static void detach_iface(const struct xs_ctl *ctl, const struct xs_iface *e)
{
	__u32 key = e->ifindex;

	if (!e->tc_ingress)
		detach_xdp(ctl, e->name);
	detach_tc(e->ifindex, BPF_TC_EGRESS);
	if (e->tc_ingress)
		detach_tc(e->ifindex, BPF_TC_INGRESS);
	if (e->created_qdisc) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = e->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		bpf_tc_hook_destroy(&hook);
	}
	bpf_map_delete_elem(ctl->maps.ifaces, &key);
}

static int attach_iface(struct xs_ctl *ctl, const char *ifname, const struct attach_opts *o)
{
	struct xs_iface e, old;
	unsigned int ifindex;
	bool existed, created = false;
	__u32 key;
	int err;

	ifindex = if_nametoindex(ifname);
	if (!ifindex || strlen(ifname) >= sizeof(e.name)) {
		p_err("unknown interface '%s' (see 'ip link')", ifname);
		return -ENODEV;
	}
	key = ifindex;
	existed = bpf_map_lookup_elem(ctl->maps.ifaces, &key, &old) == 0 &&
		  strcmp(old.name, ifname) == 0;
	if (existed) {
		if (old.tc_ingress != o->tc_ingress ||
		    (o->mode_given && !o->tc_ingress && old.xdp_mode != o->mode &&
		     o->mode == XS_XDP_GENERIC)) {
			p_err("%s is already attached (%s): detach it first to change the mode",
			      ifname, mode_name(&old));
			return -EBUSY;
		}
		e = old;
	} else {
		memset(&e, 0, sizeof(e));
		snprintf(e.name, sizeof(e.name), "%s", ifname);
		e.ifindex = ifindex;
		e.tc_ingress = o->tc_ingress;
		e.xdp_mode = o->tc_ingress ? XS_XDP_NONE : o->mode;
		e.attached_at = (__u64)time(NULL);
	}

	/* Re-run every step: each one is idempotent and repairs a missing part. */
	err = attach_tc(ifname, ifindex, BPF_TC_EGRESS, ctl->prog_tc_egress, &created);
	if (!err && e.tc_ingress)
		err = attach_tc(ifname, ifindex, BPF_TC_INGRESS, ctl->prog_tc_ingress, &created);
	if (!err && !e.tc_ingress)
		err = attach_xdp(ctl, ifname, ifindex, &e.xdp_mode, o->mode_given);
	if (created)
		e.created_qdisc = 1;
	if (!err && bpf_map_update_elem(ctl->maps.ifaces, &key, &e, BPF_ANY)) {
		err = -errno;
		p_err("%s: cannot record the interface in xs_ifaces: %s", ifname, strerror(errno));
	}
	if (err) {
		if (!existed)
			detach_iface(ctl, &e);
		return err;
	}
	printf("%s: %s (%s)\n", ifname, existed ? "already attached" : "attached", mode_name(&e));
	return 0;
}

static void attach_usage(FILE *out)
{
	fprintf(out,
		"Usage: xdpseg attach IFACE... [--mode native|generic] [--tc-ingress]\n\n"
		"Load xdpseg (first use), pin it under %s and attach it to each IFACE:\n"
		"XDP on ingress, TC (clsact) on egress. Enforcement stays after the command\n"
		"exits; attaching an attached interface again changes nothing.\n\n"
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

/* The entry for `name`: by recorded name first (the interface may be gone). */
static int find_iface(const struct xs_iface *v, size_t n, const char *name)
{
	unsigned int ifindex = if_nametoindex(name);

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i].name, name))
			return (int)i;
	}
	for (size_t i = 0; ifindex && i < n; i++) {
		if (v[i].ifindex == ifindex)
			return (int)i;
	}
	return -1;
}

static void detach_usage(FILE *out)
{
	fprintf(out,
		"Usage: xdpseg detach IFACE... | --all\n\n"
		"Remove xdpseg's XDP link and TC filters from each IFACE (and the clsact\n"
		"qdisc if xdpseg created it). When no interface is left, or with --all,\n"
		"unpin everything under %s.\n\n"
		"  -a, --all    detach every interface and unload\n"
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
		if (all)
			return XS_EXIT_OK; /* nothing loaded: nothing to do */
		p_err("xdpseg is not attached to any interface (nothing under %s)", ctl.dir);
		return XS_EXIT_FAIL;
	}
	if (err)
		goto out;
	err = xs_ctl_open(&ctl);
	if (err && !all)
		goto out;
	if (!err && xs_ifaces_list(&ctl.maps, &v, &n))
		goto out;

	if (all) {
		for (size_t i = 0; i < n; i++) {
			detach_iface(&ctl, &v[i]);
			printf("%s: detached\n", v[i].name);
		}
		n = 0;
	} else {
		/* Check every name first: an error changes nothing. */
		for (int i = optind; i < argc; i++) {
			if (find_iface(v, n, argv[i]) >= 0)
				continue;
			if (!if_nametoindex(argv[i]))
				p_err("unknown interface '%s' (see 'ip link')", argv[i]);
			else
				p_err("%s is not attached (see 'xdpseg status')", argv[i]);
			goto out;
		}
		for (int i = optind; i < argc; i++) {
			int k = find_iface(v, n, argv[i]);

			if (k < 0)
				continue; /* named twice */
			detach_iface(&ctl, &v[k]);
			printf("%s: detached\n", v[k].name);
			v[k] = v[--n];
		}
	}
	ret = XS_EXIT_OK;
	if (n == 0) {
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

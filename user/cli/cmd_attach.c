// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg attach / detach: the commands over iface.c (one interface's hooks)
 * and hooks.c (what runs on an interface).
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
#include "ctl/hooks.h"
#include "ctl/iface.h"
#include "ctl/loader.h"
#include "util.h"

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
	struct xs_attach_opts o = { .mode = XS_XDP_NATIVE };
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
		struct xs_attach_result r;

		if (xs_iface_attach(&ctl, argv[i], &o, &r)) {
			ret = XS_EXIT_FAIL;
			continue;
		}
		if (r.outcome == XS_ATTACH_ALREADY)
			printf("%s: already attached (%s)\n", argv[i], xs_iface_mode_name(&r.rec));
		else if (r.outcome == XS_ATTACH_REPAIRED)
			printf("%s: attached again (%s): it was unprotected (%s)\n", argv[i],
			       xs_iface_mode_name(&r.rec), r.problems);
		else
			printf("%s: attached (%s)\n", argv[i], xs_iface_mode_name(&r.rec));
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
	err = xs_iface_remove_hooks(ifindex);
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
		if (xs_iface_drop(ctl, &v[i], live)) {
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
			if (xs_iface_drop(&ctl, &v[i], if_nametoindex(v[i].name))) {
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

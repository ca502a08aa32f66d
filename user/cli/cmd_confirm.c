// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg confirm / rollback: end a commit-confirm (apply --confirm), one way or the other. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "ctl/confirm.h"
#include "ctl/loader.h"
#include "ctl/show.h"
#include "json.h"
#include "util.h"

static const char confirm_help[] =
	"Usage: xdpseg confirm [--json]\n\n"
	"Keep the policy applied with 'xdpseg apply --confirm DURATION FILE': its\n"
	"deadline is cleared (the datapath no longer goes back by itself) and it\n"
	"becomes the last good policy of the state directory. Refused when nothing is\n"
	"pending, or when the deadline has passed (the datapath went back already:\n"
	"apply it again).\n\n"
	"  -j, --json   print the result as one JSON object\n"
	"  -h, --help   this help\n";

static const char rollback_help[] =
	"Usage: xdpseg rollback [--json]\n\n"
	"Go back now to the policy in force before 'xdpseg apply --confirm', without\n"
	"waiting for the deadline: it is still in the kernel's other policy set, and\n"
	"becomes active again under a new generation (every packet is decided by the\n"
	"whole old policy or the whole new one). Refused when nothing is pending.\n\n"
	"  -j, --json   print the result as one JSON object\n"
	"  -h, --help   this help\n";

/* Lock and open the loaded datapath; prints why not. */
static int open_locked(struct xs_ctl *ctl)
{
	int err;

	xs_libbpf_log_setup();
	xs_ctl_init(ctl);
	if (xs_ctl_check_env(ctl->dir))
		return -EPERM;
	err = xs_ctl_lock(ctl, false);
	if (err == -ENOENT || (!err && !xs_ctl_loaded(ctl))) {
		p_err("xdpseg is not loaded (nothing pinned under %s): nothing to confirm or roll "
		      "back",
		      ctl->dir);
		return -ENOENT;
	}
	if (err)
		return err;
	return xs_ctl_open(ctl);
}

int cmd_confirm(int argc, char **argv)
{
	struct xs_confirm c;
	struct xs_ctl ctl;
	char file[256], left[32];
	int ret;

	ret = xs_cli_json_opts(argc, argv, "confirm", confirm_help);
	if (ret >= 0)
		return ret;
	ret = XS_EXIT_FAIL;
	if (open_locked(&ctl))
		goto out;
	if (xs_confirm_confirm(&ctl.maps, NULL, &c))
		goto out;
	xs_generation_file(&ctl.maps, c.generation, file, sizeof(file));
	xs_format_duration(c.left_ns > 0 ? (uint64_t)c.left_ns / XS_NS_PER_SEC : 0, left,
			   sizeof(left));
	if (xs_json) {
		printf("{\"confirmed\":true,\"generation\":%u,\"file\":", c.generation);
		json_print_str(stdout, file);
		printf(",\"left_s\":%lld}\n", (long long)(c.left_ns / (int64_t)XS_NS_PER_SEC));
	} else {
		printf("confirmed generation %u (%s), %s before its deadline: it stays in force "
		       "and "
		       "is the last good policy\n",
		       c.generation, file, left);
	}
	ret = XS_EXIT_OK;
out:
	xs_ctl_close(&ctl);
	return ret;
}

int cmd_rollback(int argc, char **argv)
{
	struct xs_rollback rb;
	struct xs_ctl ctl;
	char at[64];
	int ret;

	ret = xs_cli_json_opts(argc, argv, "rollback", rollback_help);
	if (ret >= 0)
		return ret;
	ret = XS_EXIT_FAIL;
	if (open_locked(&ctl))
		goto out;
	if (xs_confirm_rollback(&ctl.maps, NULL, &rb))
		goto out;
	xs_show_time((uint64_t)rb.at, at, sizeof(at));
	if (xs_json) {
		printf("{\"rolled_back\":true,\"undone\":%u,\"undone_file\":", rb.undone);
		json_print_str(stdout, rb.undone_file);
		printf(",\"restored\":%u,\"file\":", rb.restored);
		json_print_str(stdout, rb.restored_file);
		printf(",\"generation\":%u,\"missed\":%s,\"at\":%lld}\n", rb.generation,
		       rb.missed ? "true" : "false", (long long)rb.at);
	} else if (rb.undone == rb.restored) {
		printf("an apply --confirm stopped before its push: its deadline is cleared; "
		       "generation %u (%s) stays in force\n",
		       rb.generation, rb.restored_file);
	} else if (rb.missed) {
		printf("rolled back at %s (confirm missed): generation %u (%s) was undone by the "
		       "datapath at its deadline; the policy before (%s) is in force as generation "
		       "%u\n",
		       at, rb.undone, rb.undone_file, rb.restored_file, rb.generation);
	} else {
		printf("rolled back: generation %u (%s) undone; the policy before (%s) is in force "
		       "as generation %u\n",
		       rb.undone, rb.undone_file, rb.restored_file, rb.generation);
	}
	ret = XS_EXIT_OK;
out:
	xs_ctl_close(&ctl);
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg apply: compile a policy and push it atomically into the inactive set. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "cmds.h"
#include "ctl/confirm.h"
#include "ctl/loader.h"
#include "ctl/operate.h"
#include "ctl/show.h"
#include "json.h"
#include "policy.h"
#include "util.h"

static const char apply_help[] =
	"Usage: xdpseg apply [-I DIR]... [--confirm DURATION | --dry-run [--limit N]]\n"
	"                    FILE [--json]\n\n"
	"Compile FILE and make it the active policy atomically: every packet is decided\n"
	"by the whole old policy or the whole new one. The quarantines and grants in\n"
	"force carry over (checked against the new policy), and the configuration's\n"
	"failsafe ports (xdpseg.conf, 'failsafe =') are compiled in. A policy with an\n"
	"error is reported like 'xdpseg check' reports it and changes nothing (exit 1).\n"
	"Loads xdpseg if needed, so a policy can be in place before 'xdpseg attach'.\n"
	"Then saves the compiled policy as the last good one in the state directory\n"
	"(the configuration's state-dir, $XDPSEG_STATE_DIR or /var/lib/xdpseg), for the\n"
	"next boot; a failure to save is a warning (the policy is enforced all the same).\n\n"
	"With --confirm, the new policy must be confirmed ('xdpseg confirm') within\n"
	"DURATION (90s, 15m, 8h, 1d), or the datapath itself goes back to the policy\n"
	"before at the deadline, with no xdpseg process needed; 'xdpseg rollback' goes\n"
	"back at once. Until then every other policy change is refused, and the new\n"
	"policy becomes the last good one only when confirmed.\n\n"
	"  -c, --confirm DURATION  roll back by itself unless confirmed within DURATION\n"
	"  -n, --dry-run           change nothing: print what the apply would change (the\n"
	"                          semantic diff from the running policy) and the tracked\n"
	"                          connections it would cut\n"
	"      --limit N           with --dry-run: list at most N of them (10; 'all')\n"
	"  -j, --json              print the result as one JSON object\n" XS_CLI_HELP_INCLUDE
	"  -h, --help              this help\n";

/* A commit-confirm armed by this apply (apply --confirm). */
struct confirm_info {
	uint64_t secs;	      /* the window asked for */
	struct xs_confirm st; /* as written */
	char back_file[256];  /* the policy it goes back to */
};

static void print_result(const char *file, const struct xs_compiled *c,
			 const struct xs_push_result *r, const struct confirm_info *ci)
{
	char hash[65], at[64], dur[32];

	xs_hex(c->hash, sizeof(c->hash), hash);
	if (xs_json) {
		printf("{\"file\":");
		json_print_str(stdout, file);
		printf(",\"generation\":%u,\"set\":%u,\"sha256\":\"%s\",\"segments\":%zu,"
		       "\"rules\":%zu,\"binds\":%zu,\"prefixes4\":%zu,\"prefixes6\":%zu,"
		       "\"rule_entries\":%zu",
		       r->generation, r->set, hash, xs_policy_declared_segments(c->policy),
		       xs_policy_rule_statements(c->policy), c->policy->nbindings, c->nv4, c->nv6,
		       c->nrules);
		if (ci) {
			printf(",\"confirm\":{\"seconds\":%llu,\"deadline\":%lld,"
			       "\"rollback_generation\":%u,\"rollback_file\":",
			       (unsigned long long)ci->secs, (long long)ci->st.deadline_at,
			       ci->st.rollback_generation);
			json_print_str(stdout, ci->back_file);
			printf("}");
		}
		printf("}\n");
		return;
	}
	printf("applied %s: generation %u%s\n", file, r->generation, ci ? " (unconfirmed)" : "");
	printf("  sha256:  %s\n", hash);
	printf("  entries: %zu segments, %zu rules, %zu binds -> %zu IPv4 prefixes, %zu IPv6 "
	       "prefixes, %zu rule-table entries\n",
	       xs_policy_declared_segments(c->policy), xs_policy_rule_statements(c->policy),
	       c->policy->nbindings, c->nv4, c->nv6, c->nrules);
	if (!ci)
		return;
	xs_show_time((uint64_t)ci->st.deadline_at, at, sizeof(at));
	xs_format_duration(ci->secs, dur, sizeof(dur));
	printf("  confirm: run 'xdpseg confirm' within %s (before %s) to keep it;\n"
	       "           else the datapath goes back by itself to generation %u (%s) at that\n"
	       "           time ('xdpseg rollback' goes back now)\n",
	       dur, at, ci->st.rollback_generation, ci->back_file);
}

/*
 * The configuration the command reads (failsafe ports, state directory):
 * $XDPSEG_CONFIG or /etc/xdpseg/xdpseg.conf, every default when it does not
 * exist. An error in it changes nothing: a failsafe port could be lost.
 */
static int read_config(struct agent_config *c)
{
	struct agent_config_errors errs = { 0 };
	const char *file = agent_config_path();

	if (agent_config_read_optional(file, c, &errs) == 0)
		return 0;
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.v[i]);
	agent_config_errors_free(&errs);
	p_err("the configuration %s has errors (above): nothing applied; fix it (or point "
	      "XDPSEG_CONFIG elsewhere) and try again",
	      file);
	return -EINVAL;
}

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "confirm", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "limit", required_argument, NULL, 'L' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		XS_CLI_OPT_INCLUDE,
		{ 0 },
	};
	struct confirm_info ci = { 0 };
	struct agent_config cfg = { 0 };
	struct xs_operate op = { 0 };
	char cdir[4096];
	bool confirm = false, have_cfg = false, dry_run = false;
	const char *limit = NULL;
	struct xs_ctl ctl;
	const char *file;
	uint32_t prev = 0;
	int c, err, ret = XS_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "c:njI:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': /* dry_run.c */
			dry_run = true;
			break;
		case 'L':
			limit = optarg;
			break;
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_FAIL;
			break;
		case 'c':
			if (xs_parse_duration(optarg, &ci.secs))
				return p_usage("apply",
					       "--confirm %s: not a duration (a number and a unit: "
					       "90s, 15m, 8h, 1d)",
					       optarg);
			confirm = true;
			break;
		case 'j':
			xs_json = true;
			break;
		case 'h':
			fputs(apply_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("apply", "bad option");
		}
	}
	if (argc - optind != 1)
		return p_usage("apply", "name exactly one policy file");
	file = argv[optind];
	if (dry_run || limit) {
		if (!dry_run || confirm)
			return p_usage("apply", "--limit goes with --dry-run, --dry-run not with "
						"--confirm");
		return xs_cli_apply_dry_run(file, limit);
	}

	xs_ctl_init(&ctl);
	xs_libbpf_log_setup();
	if (read_config(&cfg))
		goto out;
	have_cfg = true;
	if (xs_ctl_check_env(ctl.dir))
		goto out;
	/* The lock orders concurrent applies (each reads, then bumps, the generation). */
	if (xs_ctl_lock(&ctl, true) || xs_ctl_load(&ctl))
		goto out;

	op.file = file;
	op.search = xs_cli_include_ctx();
	op.state_dir = cfg.state_dir;
	op.failsafe = cfg.failsafe;
	op.nfailsafe = cfg.nfailsafe;
	op.what = confirm ? "apply --confirm" : "apply";
	if (confirm) {
		/* A rollback the datapath did is made explicit first; then a
		 * deadline before the push, so the flip to the new policy carries
		 * one (refused while another confirm is pending). */
		if (xs_confirm_settle(&ctl.maps, cfg.state_dir, NULL) < 0 ||
		    xs_confirm_prearm(&ctl.maps, ci.secs, &prev))
			goto unload;
		op.allow_pending = true;
		/* confirmed, it becomes the last good policy; until then it waits */
		op.save_dir = xs_confirm_dir(cfg.state_dir, cdir, sizeof(cdir));
	}
	/* Settles a rollback, refuses while a confirm is pending, compiles with
	 * the overlays in force and the failsafe ports, pushes, saves. */
	err = xs_operate_push(&ctl, &op);
	if (err) {
		if (confirm)
			xs_confirm_disarm(&ctl.maps);
		goto unload;
	}
	if (confirm) {
		/* The window counts from now, after the push. */
		err = xs_confirm_arm(&ctl.maps, prev, ci.secs, &ci.st);
		if (err) {
			p_err("%s is in force as generation %u, but its confirm deadline could not "
			      "be set (%s): the provisional one applies; run 'xdpseg confirm' or "
			      "'xdpseg rollback'",
			      file, op.res.generation, strerror(-err));
			goto out;
		}
		xs_generation_file(&ctl.maps, prev, ci.back_file, sizeof(ci.back_file));
		if (!op.saved)
			p_warn("the unconfirmed policy is not saved in %s: 'xdpseg confirm' will "
			       "keep "
			       "it in force but not make it the last good policy",
			       cdir);
	}
	print_result(file, op.comp, &op.res, confirm ? &ci : NULL);
	ret = XS_EXIT_OK;
	goto out;
unload:
	/* Loaded just for this apply: leave nothing pinned behind. */
	if (ctl.loaded_now)
		xs_ctl_unload(&ctl);
out:
	xs_operate_free(&op);
	if (have_cfg)
		agent_config_free(&cfg);
	xs_ctl_close(&ctl);
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg apply: compile a policy and push it atomically into the inactive set. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl/confirm.h"
#include "ctl/loader.h"
#include "ctl/show.h"
#include "ctl/state.h"
#include "json.h"
#include "policy.h"
#include "util.h"

static const char apply_help[] =
	"Usage: xdpseg apply [-I DIR]... [--confirm DURATION] FILE [--json]\n\n"
	"Compile FILE and make it the active policy atomically: every packet is decided\n"
	"by the whole old policy or the whole new one. A policy with an error is\n"
	"reported like 'xdpseg check' reports it and changes nothing (exit 1).\n"
	"Loads xdpseg if needed, so a policy can be in place before 'xdpseg attach'.\n"
	"Then saves the compiled policy as the last good one in the state directory\n"
	"(/var/lib/xdpseg, or $XDPSEG_STATE_DIR), for the next boot; a failure to save\n"
	"is a warning (the policy is enforced all the same).\n\n"
	"With --confirm, the new policy must be confirmed ('xdpseg confirm') within\n"
	"DURATION (90s, 15m, 8h, 1d), or the datapath itself goes back to the policy\n"
	"before at the deadline, with no xdpseg process needed; 'xdpseg rollback' goes\n"
	"back at once. Until then every other policy change is refused, and the new\n"
	"policy becomes the last good one only when confirmed.\n\n"
	"  -c, --confirm DURATION  roll back by itself unless confirmed within DURATION\n"
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
		       c->policy->nrules, c->policy->nbindings, c->nv4, c->nv6, c->nrules);
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
	       xs_policy_declared_segments(c->policy), c->policy->nrules, c->policy->nbindings,
	       c->nv4, c->nv6, c->nrules);
	if (!ci)
		return;
	xs_show_time((uint64_t)ci->st.deadline_at, at, sizeof(at));
	xs_format_duration(ci->secs, dur, sizeof(dur));
	printf("  confirm: run 'xdpseg confirm' within %s (before %s) to keep it;\n"
	       "           else the datapath goes back by itself to generation %u (%s) at that\n"
	       "           time ('xdpseg rollback' goes back now)\n",
	       dur, at, ci->st.rollback_generation, ci->back_file);
}

/* The last good policy for the next boot (state.h), named by its absolute
 * path; a failure is a warning, never the apply's: the kernel enforces it. */
static void save_last_good(const char *file, const struct xs_compiled *c)
{
	char *abs = realpath(file, NULL);

	xs_state_save(xs_state_dir(), c, abs ? abs : file);
	free(abs);
}

/* The unconfirmed policy waits beside the last good one: `confirm` makes it
 * the last good policy, a rollback drops it (confirm.h). */
static void save_unconfirmed(const char *file, const struct xs_compiled *c)
{
	char *abs = realpath(file, NULL);

	xs_confirm_save(NULL, c, abs ? abs : file);
	free(abs);
}

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "confirm", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		XS_CLI_OPT_INCLUDE,
		{ 0 },
	};
	struct xs_compiled *comp = NULL;
	struct confirm_info ci = { 0 };
	struct xs_push_result res;
	bool confirm = false;
	size_t nerrors = 0;
	struct xs_ctl ctl;
	const char *file;
	uint32_t prev = 0;
	int c, err, ret = XS_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "c:jI:h", opts, NULL)) != -1) {
		switch (c) {
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

	xs_ctl_init(&ctl);
	/* Compile first: a policy error needs no root and changes nothing. */
	err = xs_cli_compile(file, &comp, &nerrors);
	if (err) {
		if (nerrors)
			p_err("%s: %zu error%s: nothing applied, the active policy is unchanged",
			      file, nerrors, nerrors == 1 ? "" : "s");
		else
			p_err("%s: nothing applied, the active policy is unchanged", file);
		goto out;
	}

	xs_libbpf_log_setup();
	if (xs_ctl_check_env(ctl.dir))
		goto out;
	/* The lock orders concurrent applies (each reads, then bumps, the generation). */
	if (xs_ctl_lock(&ctl, true) || xs_ctl_load(&ctl))
		goto out;
	/* A rollback the datapath did is made explicit first; then nothing
	 * changes while a commit-confirm is pending. */
	if (xs_confirm_settle(&ctl.maps, NULL, NULL) < 0)
		goto unload;
	err = xs_confirm_pending(&ctl.maps);
	if (err) {
		if (err > 0)
			xs_confirm_refuse(&ctl.maps, confirm ? "apply --confirm" : "apply");
		goto unload;
	}
	/* A deadline before the push: the flip to the new policy carries it. */
	if (confirm && xs_confirm_prearm(&ctl.maps, ci.secs, &prev))
		goto unload;
	err = xs_policy_push(&ctl.maps, comp, file, &res);
	if (err) {
		p_err("pushing %s into the maps under %s failed: %s; the active policy is "
		      "unchanged",
		      file, ctl.dir, strerror(-err));
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
			      file, res.generation, strerror(-err));
			goto out;
		}
		xs_generation_file(&ctl.maps, prev, ci.back_file, sizeof(ci.back_file));
	}
	print_result(file, comp, &res, confirm ? &ci : NULL);
	if (confirm)
		save_unconfirmed(file, comp);
	else
		save_last_good(file, comp);
	ret = XS_EXIT_OK;
	goto out;
unload:
	/* Loaded just for this apply: leave nothing pinned behind. */
	if (ctl.loaded_now)
		xs_ctl_unload(&ctl);
out:
	xs_compiled_free(comp);
	xs_ctl_close(&ctl);
	return ret;
}

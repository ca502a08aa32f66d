// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg apply: compile a policy and push it atomically into the inactive set. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "json.h"
#include "ctl/loader.h"
#include "policy.h"
#include "ctl/state.h"
#include "util.h"

static const char apply_help[] =
	"Usage: xdpseg apply [-I DIR]... FILE [--json]\n\n"
	"Compile FILE and make it the active policy atomically: every packet is decided\n"
	"by the whole old policy or the whole new one. A policy with an error is\n"
	"reported like 'xdpseg check' reports it and changes nothing (exit 1).\n"
	"Loads xdpseg if needed, so a policy can be in place before 'xdpseg attach'.\n"
	"Then saves the compiled policy as the last good one in the state directory\n"
	"(/var/lib/xdpseg, or $XDPSEG_STATE_DIR), for the next boot; a failure to save\n"
	"is a warning (the policy is enforced all the same).\n\n"
	"  -j, --json   print the result as one JSON object\n" XS_CLI_HELP_INCLUDE
	"  -h, --help   this help\n";

static void print_result(const char *file, const struct xs_compiled *c,
			 const struct xs_push_result *r)
{
	char hash[65];

	xs_hex(c->hash, sizeof(c->hash), hash);
	if (xs_json) {
		printf("{\"file\":");
		json_print_str(stdout, file);
		printf(",\"generation\":%u,\"set\":%u,\"sha256\":\"%s\",\"segments\":%zu,"
		       "\"rules\":%zu,\"binds\":%zu,\"prefixes4\":%zu,\"prefixes6\":%zu,"
		       "\"rule_entries\":%zu}\n",
		       r->generation, r->set, hash, xs_policy_declared_segments(c->policy),
		       c->policy->nrules, c->policy->nbindings, c->nv4, c->nv6, c->nrules);
		return;
	}
	printf("applied %s: generation %u\n", file, r->generation);
	printf("  sha256:  %s\n", hash);
	printf("  entries: %zu segments, %zu rules, %zu binds -> %zu IPv4 prefixes, %zu IPv6 "
	       "prefixes, %zu rule-table entries\n",
	       xs_policy_declared_segments(c->policy), c->policy->nrules, c->policy->nbindings,
	       c->nv4, c->nv6, c->nrules);
}

/* The last good policy for the next boot (state.h), named by its absolute
 * path; a failure is a warning, never the apply's: the kernel enforces it. */
static void save_last_good(const char *file, const struct xs_compiled *c)
{
	char *abs = realpath(file, NULL);

	xs_state_save(xs_state_dir(), c, abs ? abs : file);
	free(abs);
}

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		XS_CLI_OPT_INCLUDE,
		{ 0 },
	};
	struct xs_compiled *comp = NULL;
	struct xs_push_result res;
	size_t nerrors = 0;
	struct xs_ctl ctl;
	const char *file;
	int c, err, ret = XS_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "jI:h", opts, NULL)) != -1) {
		switch (c) {
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_FAIL;
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
	err = xs_policy_push(&ctl.maps, comp, file, &res);
	if (err) {
		p_err("pushing %s into the maps under %s failed: %s; the active policy is "
		      "unchanged",
		      file, ctl.dir, strerror(-err));
		/* Loaded just for this apply: leave nothing pinned behind. */
		if (ctl.loaded_now)
			xs_ctl_unload(&ctl);
		goto out;
	}
	print_result(file, comp, &res);
	save_last_good(file, comp);
	ret = XS_EXIT_OK;
out:
	xs_compiled_free(comp);
	xs_ctl_close(&ctl);
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg replay CANDIDATE: every stored flow decided by the candidate's
 * compiled tables (the datapath's lookups and decision, as `verify`),
 * against what the datapath decided at the time (learn/replay.h). Its exit
 * status gates an `apply` in CI.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "json.h"
#include "learn/replay.h"
#include "learn/text.h"
#include "learn_cli.h"
#include "util.h"

static const char replay_help[] =
	"Usage: xdpseg replay CANDIDATE.policy [--since WINDOW] [--store FILE]...\n"
	"                     [--json] [-I DIR]...\n\n"
	"Run every flow the flow store observed through CANDIDATE's compiled tables\n"
	"(the datapath's lookups and decision, as `verify`) and print what would\n"
	"change against what the datapath decided at the time: the flows that\n"
	"passed (allow, or audit in monitor mode) and would be DROPPED, and the\n"
	"flows that were dropped and would NEWLY PASS, each grouped by source\n"
	"segment, destination segment and service (or port) with connections,\n"
	"distinct clients, examples and the rule or default responsible (FILE:LINE\n"
	"and its text); what is unchanged; aggregate rows (a store's cap for a day:\n"
	"no addresses) are counted, not replayed. The coverage is the share of the\n"
	"observed connections CANDIDATE allows by an explicit rule. The flows of the\n"
	"last 24 hours unless --since says otherwise.\n\n" LEARN_CLI_HELP_OPTS
	"  -j, --json              print one JSON object\n" XS_CLI_HELP_INCLUDE
	"  -h, --help              this help\n\n"
	"Exit status: 0 nothing observed that passed would be dropped, 1 something\n"
	"would (a CI gate before `apply`), 2 an error (usage, the candidate does not\n"
	"compile, no store).\n";

#define XS_EXIT_REPLAY_ERROR 2

static void header(const struct learn_cli *l)
{
	char since[32], now[32];

	learn_date(since, sizeof(since), l->set.since);
	learn_date(now, sizeof(now), l->set.now);
	printf("replay of ");
	xs_view_describe(stdout, &l->view);
	printf(" over %zu %s of the flow %s from %s to %s UTC\n", l->set.n,
	       l->set.n == 1 ? "row" : "rows", l->nstores == 1 ? "store" : "stores", since, now);
}

static void json_out(const struct learn_cli *l, const struct learn_replay *r)
{
	printf("{\"candidate\":");
	xs_view_json(stdout, &l->view);
	printf(",\"stores\":[");
	for (size_t i = 0; i < l->nstores; i++) {
		printf("%s", i ? "," : "");
		json_print_str(stdout, l->stores[i]);
	}
	printf("],\"since\":%lld,\"now\":%lld", (long long)l->set.since, (long long)l->set.now);
	learn_replay_print_json(stdout, r, l->view.c);
	printf(",\"exit\":%d}\n", learn_replay_status(r));
}

int cmd_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		LEARN_CLI_OPTS,
		{ "json", no_argument, NULL, 'j' },
		XS_CLI_OPT_INCLUDE,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct learn_replay r;
	struct learn_cli l;
	const char *file;
	int c, ret;

	learn_cli_init(&l, "replay", 86400);
	while ((c = getopt_long(argc, argv, "jI:h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
		case 'W':
			ret = learn_cli_option(&l, c, optarg);
			if (ret)
				return ret;
			break;
		case 'j':
			xs_json = true;
			break;
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_REPLAY_ERROR;
			break;
		case 'h':
			fputs(replay_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("replay", "bad option");
		}
	}
	if (optind == argc)
		return p_usage("replay", "which candidate policy? give its file");
	if (optind + 1 != argc)
		return p_usage("replay", "one candidate policy, not '%s' too", argv[optind + 1]);
	file = argv[optind];
	if (!strcmp(file, XS_VIEW_RUNNING))
		return p_usage("replay",
			       "the candidate is a policy file: the stored flows are decided by "
			       "it, against what the datapath decided at the time");
	if (learn_cli_open(&l, file)) {
		learn_cli_free(&l);
		return XS_EXIT_REPLAY_ERROR;
	}
	ret = learn_replay_run(&l.set, l.view.c, &l.cat, &r);
	if (ret) {
		p_err("out of memory");
		learn_cli_free(&l);
		return XS_EXIT_REPLAY_ERROR;
	}
	if (xs_json) {
		json_out(&l, &r);
	} else {
		header(&l);
		learn_replay_print(stdout, &r, l.view.c);
	}
	ret = learn_replay_status(&r);
	learn_replay_free(&r);
	learn_cli_free(&l);
	return ret;
}

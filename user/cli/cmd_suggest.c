// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg suggest: policy text from the flow stores that allows what was
 * observed and nothing broader, each rule with its evidence
 * (learn/suggest.h), judged under the running policy or a file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "learn/suggest.h"
#include "learn_cli.h"
#include "util.h"

static const char suggest_help[] =
	"Usage: xdpseg suggest [--since WINDOW] [--min-days N] [--segment S] [--ranges]\n"
	"                      [--max-prefix LEN[,LEN6]]\n"
	"                      [--policy FILE [-I DIR]...] [--store FILE]...\n\n"
	"Print a complete policy that allows what the flow store observed and\n"
	"nothing broader: the segments and binds of the policy the flows are judged\n"
	"under (the running one, or FILE), and one rule per source segment,\n"
	"destination segment and service for the flows that passed (allow, or audit\n"
	"in monitor mode), each after a comment with its evidence (connections,\n"
	"distinct clients, days seen, first and last) and its status: `learning`\n"
	"(seen on fewer than --min-days days) or `stable`. Ports are named by the\n"
	"services of FILE and of the presets (citrix-services.policy) that fit\n"
	"exactly; a range service (rpc-dynamic) when 2 observed ports fall in it;\n"
	"single ports otherwise. Addresses in no segment get a proposed segment\n"
	"(`unsegmented-N`: the smallest prefix covering them, never wider than\n"
	"--max-prefix, never a whole private range), not a rule to `world`.\n"
	"Dropped flows, aggregate rows and protocols a rule cannot name are\n"
	"listed in comments, never allowed; a segment without traffic says so.\n"
	"The flows of the last 7 days unless --since says otherwise. Review it,\n"
	"then: xdpseg check FILE && xdpseg replay FILE.\n\n" LEARN_CLI_HELP_OPTS
	"      --min-days N        `stable` from N distinct days (default 3)\n"
	"      --segment S         only the rules with segment S on one side\n"
	"      --ranges            a range service from one observed port; consecutive\n"
	"                          ports as one range (tcp/7000-7002)\n"
	"      --max-prefix LEN[,LEN6]\n"
	"                          a proposed segment is at most /LEN wide (IPv4,\n"
	"                          default 24), /LEN6 (IPv6, default 64)\n"
	"  -p, --policy FILE       judge the flows under FILE instead of the running "
	"policy\n" XS_CLI_HELP_INCLUDE "  -h, --help              this help\n\n"
	"Exit status: 0 the policy was printed, 1 an error (no store, no policy),\n"
	"2 a usage error (an unknown --segment).\n";

static int parse_uint(const char *s, unsigned int lo, unsigned int hi, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* --max-prefix LEN[,LEN6] */
static int parse_prefixes(const char *s, struct learn_suggest_opts *o)
{
	char v4[16];
	const char *comma = strchr(s, ',');
	size_t n = comma ? (size_t)(comma - s) : strlen(s);

	if (n >= sizeof(v4))
		return -EINVAL;
	memcpy(v4, s, n);
	v4[n] = '\0';
	if (parse_uint(v4, 1, 32, &o->max_prefix4))
		return -EINVAL;
	return comma ? parse_uint(comma + 1, 1, 128, &o->max_prefix6) : 0;
}

/* How the policy judged under is named: "FILE (sha256 ...)" (malloc'd). */
static char *describe(const struct learn_cli *l)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	xs_view_describe(f, &l->view);
	fclose(f);
	return s;
}

int cmd_suggest(int argc, char **argv)
{
	static const struct option opts[] = {
		LEARN_CLI_OPTS,
		{ "min-days", required_argument, NULL, 'm' },
		{ "segment", required_argument, NULL, 's' },
		{ "ranges", no_argument, NULL, 'r' },
		{ "max-prefix", required_argument, NULL, 'x' },
		{ "policy", required_argument, NULL, 'p' },
		XS_CLI_OPT_INCLUDE,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct learn_suggest_opts o;
	struct learn_cli l;
	const char *policy = NULL, *window = "7d";
	char err[4096] = "";
	char *desc = NULL;
	int c, ret;

	learn_suggest_defaults(&o);
	learn_cli_init(&l, "suggest", 7 * 86400);
	while ((c = getopt_long(argc, argv, "p:I:h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
		case 'W':
			ret = learn_cli_option(&l, c, optarg);
			if (ret)
				return ret;
			if (c == 'W')
				window = optarg;
			break;
		case 'm':
			if (parse_uint(optarg, 1, 3650, &o.min_days))
				return p_usage("suggest",
					       "--min-days '%s': give a number of days, 1-3650",
					       optarg);
			break;
		case 's':
			o.segment = optarg;
			break;
		case 'r':
			o.ranges = true;
			break;
		case 'x':
			if (parse_prefixes(optarg, &o))
				return p_usage(
					"suggest",
					"--max-prefix '%s': give an IPv4 prefix length (1-32), "
					"and maybe a comma and an IPv6 one (1-128): 24,64",
					optarg);
			break;
		case 'p':
			policy = optarg;
			break;
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_FAIL;
			break;
		case 'h':
			fputs(suggest_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("suggest", "bad option");
		}
	}
	if (optind < argc)
		return p_usage("suggest", "unexpected argument '%s'", argv[optind]);
	ret = learn_cli_open(&l, policy ? policy : XS_VIEW_RUNNING);
	if (ret) {
		learn_cli_free(&l);
		return XS_EXIT_FAIL;
	}
	desc = describe(&l);
	o.window = window;
	o.stores = l.stores;
	o.nstores = l.nstores;
	o.policy = desc;
	ret = learn_suggest(stdout, &l.set, l.view.c, &l.cat, &o, err, sizeof(err));
	if (ret)
		fprintf(stderr, "xdpseg suggest: %s\n", err);
	free(desc);
	learn_cli_free(&l);
	if (fflush(stdout) && !ret) {
		fprintf(stderr, "xdpseg suggest: writing the policy: %s\n", strerror(errno));
		return XS_EXIT_FAIL;
	}
	return ret == -ENOENT ? XS_EXIT_USAGE : ret ? XS_EXIT_FAIL : XS_EXIT_OK;
}

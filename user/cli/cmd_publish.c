// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg publish FILE: compile the policy (an error changes nothing: etcd
 * is not even contacted), then publish its compiled artefact to the fleet
 * (xs_fleet_publish(): chunks, one guarded transaction, garbage
 * collection). The hosts following the fleet apply it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "fleet/fleet.h"
#include "json.h"
#include "policy.h"
#include "util.h"

static const char publish_help[] =
	"Usage: xdpseg publish FILE [--etcd URL[,URL]] [--fleet NAME] [--keep N]\n"
	"                      [--user USER --password-file F | --token-file F]\n"
	"                      [-I DIR]... [--json]\n\n"
	"Compile the policy FILE and publish it to the fleet in etcd (xdpseg(8),\n"
	"FLEET): the compiled policy stored under its sha256, then the fleet's\n"
	"pointer moved to it (generation + 1) in one transaction that fails if\n"
	"another publish moved it first. The agents following the fleet apply it.\n"
	"A policy with an error is not published (nothing is written); the policy\n"
	"already published is not published again. Bundles of generations older\n"
	"than the last N are deleted.\n\n" XS_CLI_HELP_ETCD
	"  -k, --keep N            generations kept (default 5)\n"
	"  -j, --json              print one JSON object\n" XS_CLI_HELP_INCLUDE
	"  -h, --help              this help\n\n"
	"Exit status: 0 published (or already), 1 not published (the error printed),\n"
	"2 bad command line.\n";

static void result_json(const char *fleet, const char *file, const struct xs_fleet_pointer *p,
			bool published)
{
	printf("{");
	json_print_key(stdout, "published", 1);
	printf(published ? "true" : "false");
	json_print_key(stdout, "fleet", 0);
	json_print_str(stdout, fleet);
	json_print_key(stdout, "policy", 0);
	xs_json_escaped(stdout, file);
	json_print_key(stdout, "pointer", 0);
	printf("{");
	xs_cli_pointer_json(p);
	printf("}}\n");
}

static int parse_keep(const char *s, unsigned int *keep)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *s == '+' || v < 1 || v > 1000)
		return -1;
	*keep = (unsigned int)v;
	return 0;
}

/* Compile FILE, publish it. */
static int publish(struct xs_cli_etcd *e, const char *file, unsigned int keep)
{
	struct xs_compiled *comp = NULL;
	struct xs_etcd_sync *s = NULL;
	struct xs_fleet_pointer p;
	struct xs_fleet_publish req;
	char err[XS_ETCD_ERR_LEN];
	void *buf = NULL;
	size_t len = 0, nerrors = 0;
	int rc;

	/* the command line first (no connection is made yet), then the policy */
	rc = xs_cli_etcd_open(e, "publish", &s);
	if (rc >= 0)
		return rc;
	rc = XS_EXIT_FAIL;
	if (xs_cli_compile(file, &comp, &nerrors)) {
		/* the diagnostics are on stderr, as check prints them */
		if (xs_json)
			p_err("%s: %zu error%s: not published", file, nerrors,
			      nerrors == 1 ? "" : "s");
		goto out;
	}
	if (xs_compiled_serialize(comp, file, &buf, &len)) {
		p_err("%s: out of memory", file);
		goto out;
	}
	req = (struct xs_fleet_publish){
		.fleet = e->fleet,
		.file = file,
		.artefact = buf,
		.len = len,
		.keep = keep,
	};
	rc = xs_fleet_publish(s, &req, &p, err, sizeof(err));
	if (rc && rc != -EALREADY) {
		p_err("%s", err);
		rc = XS_EXIT_FAIL;
		goto out;
	}
	if (xs_json) {
		result_json(e->fleet, file, &p, !rc);
	} else if (rc) {
		printf("already published: generation %" PRIu64 "\n", p.generation);
	} else {
		printf("published ");
		xs_print_escaped(stdout, file);
		printf(" as generation %" PRIu64 " of fleet %s (sha256 %s, %" PRIu32 " chunk%s)\n",
		       p.generation, e->fleet, p.hash, p.chunks, p.chunks == 1 ? "" : "s");
	}
	rc = XS_EXIT_OK;
out:
	xs_compiled_free(comp);
	xs_etcd_sync_free(s);
	free(buf);
	return rc;
}

int cmd_publish(int argc, char **argv)
{
	static const struct option opts[] = {
		XS_CLI_OPTS_ETCD,
		{ "keep", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		XS_CLI_OPT_INCLUDE,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xs_cli_etcd e;
	unsigned int keep = XS_FLEET_KEEP;
	int c, rc;

	xs_cli_etcd_init(&e);
	optind = 0; /* 0: full re-initialisation, so options may follow FILE */
	while ((c = getopt_long(argc, argv, "k:jI:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (parse_keep(optarg, &keep))
				return p_usage("publish", "--keep: '%s' is not a number 1-1000",
					       optarg);
			break;
		case 'j':
			xs_json = true;
			break;
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_FAIL;
			break;
		case 'h':
			fputs(publish_help, stdout);
			return XS_EXIT_OK;
		default:
			if (xs_cli_etcd_opt(&e, c, optarg))
				return p_usage("publish", "bad option");
		}
	}
	if (optind >= argc)
		return p_usage("publish", "a policy FILE is needed");
	if (optind + 1 < argc)
		return p_usage("publish", "unexpected argument '%s'", argv[optind + 1]);
	rc = publish(&e, argv[optind], keep);
	xs_cli_etcd_free(&e);
	return rc;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg map: the segment graph the flow store observed over a window,
 * judged under the running policy or a file (learn/graph.h): who talks to
 * whom on which services, and what the policy does with it. Text, JSON,
 * Graphviz DOT, or an SVG rendered by libgvc.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl/show.h"
#include "json.h"
#include "learn/graph.h"
#include "learn_cli.h"
#include "util.h"

static const char map_help[] =
	"Usage: xdpseg map [--since WINDOW] [--policy FILE [-I DIR]...] [--store FILE]...\n"
	"                  [--addresses] [--json | --dot | --svg FILE]\n\n"
	"The segment graph the flow store observed over the last WINDOW (default\n"
	"7d): per source and destination segment, the services seen (named by the\n"
	"preset or the policy's services where one holds the port, e.g. ica, cgp,\n"
	"vda-registration; else tcp/PORT), their connections, distinct clients,\n"
	"first and last seen, and what the policy does with them: allowed (by\n"
	"which rule, as FILE:LINE and its text), audit (passes in monitor mode,\n"
	"would be dropped when enforcing: by which rule or default), or dropped.\n"
	"The flows are judged under the running policy as the kernel holds it, or\n"
	"under FILE, by the datapath's own lookups. Rows a flood made the store\n"
	"aggregate (no addresses, no port) count on their segment pair as\n"
	"connections aggregated.\n\n"
	"  -p, --policy FILE       judge under FILE instead of the running policy; its\n"
	"                          services name ports too\n" LEARN_CLI_HELP_OPTS
	"  -a, --addresses         break segments into their hosts; world's by prefix\n"
	"                          (/24 for IPv4, /48 for IPv6)\n"
	"  -j, --json              print one JSON object\n"
	"      --dot               print the graph in Graphviz DOT: segments as nodes,\n"
	"                          services on edges; green allowed, red would be\n"
	"                          dropped when enforcing (audit), grey dropped\n"
	"      --svg FILE          render that picture to FILE (SVG)\n" XS_CLI_HELP_INCLUDE
	"  -h, --help              this help\n\n"
	"Exit status: 0, or 2 on a usage error, no flow store, or no policy to judge\n"
	"under.\n";

#define XS_EXIT_MAP_TROUBLE 2
#define MAP_DEFAULT_WINDOW (7 * 86400)

enum map_output { MAP_TEXT, MAP_JSON, MAP_DOT, MAP_SVG };

/* "since 2025-01-01 10:00:00 UTC (7d)": the window as the title and header say it. */
static void window_text(char *buf, size_t size, const struct learn_cli *l)
{
	char when[64], len[32];

	xs_show_time((uint64_t)(l->now - l->since_s), when, sizeof(when));
	xs_format_duration((uint64_t)l->since_s, len, sizeof(len));
	snprintf(buf, size, "since %s (%s)", when, len);
}

static void put_text(const struct learn_cli *l, const struct learn_graph *g)
{
	char w[128];

	window_text(w, sizeof(w), l);
	printf("map of ");
	for (size_t i = 0; i < l->nstores; i++) {
		printf("%s", i ? ", " : "");
		xs_print_escaped(stdout, l->stores[i]);
	}
	printf(" %s: %llu %s\nunder ", w, (unsigned long long)g->flows,
	       g->flows == 1 ? "row" : "rows");
	xs_view_describe(stdout, &l->view);
	printf("\n\n");
	if (!g->nedges) {
		printf("no flows seen %s\n", w);
		return;
	}
	learn_graph_text(stdout, g);
}

static void put_json(const struct learn_cli *l, const struct learn_graph *g)
{
	printf("{\"stores\":[");
	for (size_t i = 0; i < l->nstores; i++) {
		printf("%s", i ? "," : "");
		json_print_str(stdout, l->stores[i]);
	}
	printf("],\"since\":%lld,\"now\":%lld,\"rows\":%llu,\"policy\":",
	       (long long)(l->now - l->since_s), (long long)l->now, (unsigned long long)g->flows);
	xs_view_json(stdout, &l->view);
	printf(",");
	learn_graph_json(stdout, g);
	printf("}\n");
}

/* The picture's title: the window and the policy. */
static void title(char *buf, size_t size, const struct learn_cli *l)
{
	char w[128], *p = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&p, &len);

	window_text(w, sizeof(w), l);
	if (m) {
		fprintf(m, "xdpseg map %s, under ", w);
		xs_view_describe(m, &l->view);
		fclose(m);
	}
	snprintf(buf, size, "%s", p ? p : "xdpseg map");
	free(p);
}

int cmd_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "addresses", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "dot", no_argument, NULL, 'D' },
		{ "svg", required_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		LEARN_CLI_OPTS,
		XS_CLI_OPT_INCLUDE,
		{ 0 },
	};
	enum map_output output = MAP_TEXT;
	const char *policy = NULL, *svg = NULL;
	bool addresses = false;
	struct learn_graph g;
	struct learn_cli l;
	char err[4096 + 256] = "", t[8192];
	int c, ret;

	learn_cli_init(&l, "map", MAP_DEFAULT_WINDOW);
	while ((c = getopt_long(argc, argv, "p:ajI:h", opts, NULL)) != -1) {
		enum map_output o = MAP_TEXT;

		switch (c) {
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_MAP_TROUBLE;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'a':
			addresses = true;
			break;
		case 'j':
			o = MAP_JSON;
			break;
		case 'D':
			o = MAP_DOT;
			break;
		case 'G':
			o = MAP_SVG;
			svg = optarg;
			break;
		case 'h':
			fputs(map_help, stdout);
			return XS_EXIT_OK;
		case 'S':
		case 'W':
			ret = learn_cli_option(&l, c, optarg);
			if (ret)
				return ret;
			break;
		default:
			return p_usage("map", "bad option");
		}
		if (o != MAP_TEXT && output != MAP_TEXT && o != output)
			return p_usage("map",
				       "--json, --dot and --svg are one output each: pick one");
		if (o != MAP_TEXT)
			output = o;
	}
	if (optind < argc)
		return p_usage("map", "unexpected argument '%s'", argv[optind]);
	if (svg && !*svg)
		return p_usage("map", "--svg needs a file name");
	xs_json = output == MAP_JSON;

	ret = learn_cli_open(&l, policy ? policy : XS_VIEW_RUNNING);
	if (ret) {
		if (!policy && !l.have_view)
			fprintf(stderr, "xdpseg map: no policy to judge the flows under: pass "
					"--policy FILE, or apply one (xdpseg apply FILE)\n");
		learn_cli_free(&l);
		return XS_EXIT_MAP_TROUBLE;
	}
	ret = learn_graph_build(&g, &l.set, l.view.c, &l.cat, addresses);
	if (ret) {
		fprintf(stderr, "xdpseg map: %s\n", strerror(-ret));
		learn_cli_free(&l);
		return XS_EXIT_MAP_TROUBLE;
	}
	switch (output) {
	case MAP_TEXT:
		put_text(&l, &g);
		break;
	case MAP_JSON:
		put_json(&l, &g);
		break;
	case MAP_DOT:
		title(t, sizeof(t), &l);
		learn_graph_dot(stdout, &g, t);
		break;
	case MAP_SVG:
		title(t, sizeof(t), &l);
		ret = learn_graph_svg(&g, t, svg, err, sizeof(err));
		if (ret)
			fprintf(stderr, "xdpseg map: %s\n", err);
		else
			xs_print_escaped(stdout, svg);
		if (!ret)
			printf(": %zu %s, %zu segment %s\n", g.nsegs,
			       g.nsegs == 1 ? "segment" : "segments", g.nedges,
			       g.nedges == 1 ? "pair" : "pairs");
		break;
	}
	learn_graph_free(&g);
	learn_cli_free(&l);
	return ret ? XS_EXIT_MAP_TROUBLE : XS_EXIT_OK;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/learn/graph.c and dot.c: the map of synthetic observations judged
 * under tests/unit/learn.policy (no store): services, names, counts and
 * classes per segment pair, aggregate rows, world grouped by /24 and /48,
 * the text and JSON, and the DOT read by the real `dot` and by libgvc.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "learn/graph.h"

#define POLICY "tests/unit/learn.policy"

static void presets_path(void)
{
	static char abs[PATH_MAX];

	/* absolute: the hostile-name test compiles a copy elsewhere */
	cr_assert_not_null(realpath("policies", abs));
	setenv("XDPSEG_POLICY_PATH", abs, 1);
}

TestSuite(graph, .init = presets_path);

/* The observations and everything judged and named for them. */
struct fixture {
	struct xs_compiled *c;
	struct xs_tables t;
	struct learn_catalog cat;
	struct learn_flow v[32];
	struct learn_set s;
	struct learn_graph g;
};

static struct learn_flow *row(struct fixture *x, const char *src, const char *dst, uint8_t proto,
			      int32_t port, uint64_t conn, int64_t first, int64_t last)
{
	struct learn_flow *f = &x->v[x->s.n++];
	int af = strchr(src, ':') ? AF_INET6 : AF_INET;

	cr_assert_leq(x->s.n, sizeof(x->v) / sizeof(x->v[0]));
	memset(f, 0, sizeof(*f));
	f->r.family = af == AF_INET ? 4 : 6;
	f->r.proto = proto;
	f->r.port = port;
	f->r.connections = conn;
	f->r.packets = conn * 10;
	f->r.bytes = conn * 1000;
	f->r.first_seen = first;
	f->r.last_seen = last;
	cr_assert_eq(inet_pton(af, src, f->r.src), 1);
	cr_assert_eq(inet_pton(af, dst, f->r.dst), 1);
	return f;
}

static void aggregate(struct fixture *x, const char *src, const char *dst, uint8_t decision,
		      uint64_t conn)
{
	struct learn_flow *f = &x->v[x->s.n++];

	memset(f, 0, sizeof(*f));
	f->r.aggregate = 1;
	f->r.family = 4;
	f->r.proto = IPPROTO_TCP;
	f->r.port = -1;
	f->r.decision = decision;
	f->r.connections = conn;
	f->r.first_seen = 1700003000;
	f->r.last_seen = 1700003600;
	snprintf(f->r.src_segment, sizeof(f->r.src_segment), "%s", src);
	snprintf(f->r.dst_segment, sizeof(f->r.dst_segment), "%s", dst);
}

#define T0 1700000000 /* 2023-11-14 22:13:20 UTC */

/* A small farm's week: clients reach the VDAs by ICA and CGP (a rule) and
 * SMB (monitor mode: audit), a VDA reaches another by SMB (dropped), the
 * DCs by DNS (a rule); the internet knocks on tcp/9999 of a VDA (dropped);
 * IPv6 internet hosts talk among themselves; a flood aggregated. */
static void farm(struct fixture *x)
{
	row(x, "10.20.1.5", "10.10.10.7", IPPROTO_TCP, 1494, 60, T0, T0 + 3600);
	row(x, "10.20.1.6", "10.10.10.7", IPPROTO_TCP, 1494, 40, T0 + 60, T0 + 7200);
	row(x, "10.20.1.5", "10.10.10.7", IPPROTO_TCP, 2598, 5, T0 + 10, T0 + 20);
	row(x, "10.20.1.5", "10.10.10.8", IPPROTO_TCP, 445, 3, T0 + 100, T0 + 200);
	row(x, "10.10.10.7", "10.10.10.8", IPPROTO_TCP, 445, 2, T0 + 300, T0 + 400);
	row(x, "10.10.10.7", "10.10.3.1", IPPROTO_UDP, 53, 500, T0, T0 + 86400);
	row(x, "198.51.100.7", "10.10.10.7", IPPROTO_TCP, 9999, 1, T0 + 500, T0 + 500);
	row(x, "198.51.100.9", "10.10.10.7", IPPROTO_TCP, 9999, 2, T0 + 600, T0 + 700);
	row(x, "203.0.113.1", "10.10.10.7", IPPROTO_TCP, 9999, 1, T0 + 800, T0 + 800);
	row(x, "2001:db8:1:2::5", "2001:db8:99::1", IPPROTO_UDP, 9999, 4, T0, T0 + 10);
	row(x, "2001:db8:1:ffff::9", "2001:db8:99::2", IPPROTO_UDP, 9999, 6, T0, T0 + 20);
	aggregate(x, "clients", "vda", XS_STORE_AUDIT, 5000);
	aggregate(x, "clients", "vda", XS_STORE_DROP, 7);
}

static void setup(struct fixture *x, const char *policy, bool addresses)
{
	struct xs_diags d;
	char err[512] = "";

	memset(x, 0, sizeof(*x));
	x->s.v = x->v;
	xs_diags_init(&d);
	cr_assert_eq(xs_policy_compile(policy, xs_resolve_fs, NULL, &x->c, &d), 0);
	xs_diags_free(&d);
	xs_tables_init(&x->t, x->c);
	cr_assert_eq(learn_catalog_load(&x->cat, policy, NULL, 0, err, sizeof(err)), 0, "%s", err);
	farm(x);
	learn_judge(&x->s, &x->t, 0);
	cr_assert_eq(learn_graph_build(&x->g, &x->s, x->c, &x->cat, addresses), 0);
}

static void teardown(struct fixture *x)
{
	learn_graph_free(&x->g);
	learn_catalog_free(&x->cat);
	xs_compiled_free(x->c);
}

static const struct learn_edge *edge(const struct learn_graph *g, const char *src, const char *dst)
{
	char b1[32], b2[32];

	for (size_t i = 0; i < g->nedges; i++)
		if (!strcmp(learn_graph_seg(g, g->edges[i].src_seg, b1, sizeof(b1)), src) &&
		    !strcmp(learn_graph_seg(g, g->edges[i].dst_seg, b2, sizeof(b2)), dst))
			return &g->edges[i];
	cr_assert_fail("no edge %s -> %s", src, dst);
	return NULL;
}

/* What a function prints into a FILE, as a string (free it). */
#define CAPTURE(buf, call)                                 \
	do {                                               \
		size_t len_ = 0;                           \
		FILE *out = open_memstream(&(buf), &len_); \
		cr_assert_not_null(out);                   \
		call;                                      \
		cr_assert_eq(fclose(out), 0);              \
	} while (0)

Test(graph, pairs_services_counts_and_classes)
{
	struct fixture x;
	const struct learn_edge *e;
	char b1[32], b2[32], why[512];

	setup(&x, POLICY, false);
	/* by source name, then destination name */
	cr_assert_eq(x.g.nedges, 5);
	{
		static const char *const want[][2] = {
			{ "clients", "vda" }, { "vda", "dc" },	    { "vda", "vda" },
			{ "world", "vda" },   { "world", "world" },
		};
		for (size_t i = 0; i < 5; i++) {
			cr_assert_str_eq(learn_graph_seg(&x.g, x.g.edges[i].src_seg, b1, 32),
					 want[i][0]);
			cr_assert_str_eq(learn_graph_seg(&x.g, x.g.edges[i].dst_seg, b2, 32),
					 want[i][1]);
		}
	}
	cr_assert_eq(x.g.nsegs, 4); /* clients dc vda world */
	cr_assert_str_eq(learn_graph_seg(&x.g, x.g.segs[0], b1, 32), "clients");
	cr_assert_str_eq(learn_graph_seg(&x.g, x.g.segs[3], b1, 32), "world");

	e = edge(&x.g, "clients", "vda");
	cr_assert_eq(e->nsvc, 3);
	/* by protocol and port: tcp/445, tcp/1494, tcp/2598 */
	cr_assert_str_eq(e->svc[0].label, "smb (tcp/445)");
	cr_assert_eq(e->svc[0].cls, LEARN_AUDIT);
	cr_assert_eq(e->svc[0].connections, 3);
	cr_assert_eq(e->svc[0].clients, 1);
	cr_assert_str_eq(learn_graph_seg(&x.g, e->svc[0].monitor_seg, b1, 32), "clients");
	learn_why_text(why, sizeof(why), &x.g, e, &e->svc[0]);
	cr_assert_str_eq(why, "would be dropped when enforcing (clients is in monitor mode): no "
			      "rule; vda denies by default: tests/unit/learn.policy:4: segment vda "
			      "(implicit default in deny out allow)");
	cr_assert_str_eq(e->svc[1].label, "ica (tcp/1494)");
	cr_assert_str_eq(e->svc[1].short_label, "ica");
	cr_assert_str_eq(e->svc[1].name, "ica");
	cr_assert_eq(e->svc[1].cls, LEARN_ALLOWED);
	cr_assert_eq(e->svc[1].connections, 100);
	cr_assert_eq(e->svc[1].clients, 2);
	cr_assert_eq(e->svc[1].packets, 1000);
	cr_assert_eq(e->svc[1].first_seen, T0);
	cr_assert_eq(e->svc[1].last_seen, T0 + 7200);
	learn_why_text(why, sizeof(why), &x.g, e, &e->svc[1]);
	cr_assert_str_eq(why,
			 "allowed by tests/unit/learn.policy:6: allow clients -> vda : ica, cgp");
	cr_assert_str_eq(e->svc[2].label, "cgp (tcp/2598)");
	cr_assert_eq(e->svc[2].cls, LEARN_ALLOWED);
	cr_assert_eq(e->connections, 108);
	cr_assert_eq(e->clients, 2);
	/* the flood: counted apart, by the decision recorded at the time */
	cr_assert_eq(e->agg_connections, 5007);
	cr_assert_eq(e->agg[XS_STORE_AUDIT], 5000);
	cr_assert_eq(e->agg[XS_STORE_DROP], 7);
	cr_assert_eq(e->first_seen, T0);
	cr_assert_eq(e->last_seen, T0 + 7200);

	e = edge(&x.g, "vda", "vda");
	cr_assert_eq(e->nsvc, 1);
	cr_assert_eq(e->svc[0].cls, LEARN_DROPPED);
	learn_why_text(why, sizeof(why), &x.g, e, &e->svc[0]);
	cr_assert_str_eq(why, "dropped: no rule; vda denies by default: tests/unit/learn.policy:4: "
			      "segment vda (implicit default in deny out allow)");

	e = edge(&x.g, "vda", "dc");
	cr_assert_eq(e->nsvc, 1);
	cr_assert_str_eq(e->svc[0].label, "dns (udp/53)");
	cr_assert_eq(e->svc[0].cls, LEARN_ALLOWED);

	/* no service holds tcp/9999: named by its port */
	e = edge(&x.g, "world", "vda");
	cr_assert_eq(e->nsvc, 1);
	cr_assert_str_eq(e->svc[0].label, "tcp/9999");
	cr_assert_null(e->svc[0].name);
	cr_assert_eq(e->svc[0].cls, LEARN_DROPPED);
	cr_assert_eq(e->svc[0].connections, 4);
	cr_assert_eq(e->svc[0].clients, 3);
	cr_assert_eq(e->nlines, 0); /* no --addresses */
	cr_assert_eq(x.g.nhosts, 0);

	e = edge(&x.g, "world", "world");
	cr_assert_eq(e->svc[0].cls, LEARN_ALLOWED);
	learn_why_text(why, sizeof(why), &x.g, e, &e->svc[0]);
	cr_assert(!strncmp(why, "allowed: no rule; both defaults allow: ", 39), "%s", why);
	teardown(&x);
}

Test(graph, addresses_group_world_by_24_and_48)
{
	struct fixture x;
	const struct learn_edge *e;
	char h[64], b[32];
	static const char *const want[][2] = {
		{ "clients", "10.20.1.5" },	 { "clients", "10.20.1.6" },
		{ "dc", "10.10.3.1" },		 { "vda", "10.10.10.7" },
		{ "vda", "10.10.10.8" },	 { "world", "198.51.100.0/24" },
		{ "world", "203.0.113.0/24" },	 { "world", "2001:db8:1::/48" },
		{ "world", "2001:db8:99::/48" },
	};

	setup(&x, POLICY, true);
	cr_assert_eq(x.g.nhosts, 9);
	for (size_t i = 0; i < 9; i++) {
		learn_host_text(h, sizeof(h), &x.g.hosts[i]);
		cr_assert_str_eq(learn_graph_seg(&x.g, x.g.hosts[i].seg, b, 32), want[i][0]);
		cr_assert_str_eq(h, want[i][1]);
	}
	cr_assert_eq(x.g.hosts[5].naddrs, 2); /* .7 and .9 */
	cr_assert_eq(x.g.hosts[6].naddrs, 1);
	cr_assert_eq(x.g.hosts[7].naddrs, 2); /* 2001:db8:1:2::5, 2001:db8:1:ffff::9 */
	cr_assert_eq(x.g.hosts[8].naddrs, 2);

	e = edge(&x.g, "world", "vda");
	cr_assert_eq(e->nlines, 2);
	cr_assert_eq(e->lines[0].src, 5);
	cr_assert_eq(e->lines[0].dst, 3);
	cr_assert_eq(e->lines[0].connections, 3);
	cr_assert_eq(e->lines[1].src, 6);
	cr_assert_eq(e->lines[1].connections, 1);

	/* one line a host pair and class, its services in the edge's order */
	e = edge(&x.g, "clients", "vda");
	cr_assert_eq(e->nlines, 3);
	cr_assert_eq(e->lines[0].src, 0); /* 10.20.1.5 -> 10.10.10.7: ica, cgp */
	cr_assert_eq(e->lines[0].dst, 3);
	cr_assert_eq(e->lines[0].nsvc, 2);
	cr_assert_eq(e->lines[0].svc[0], 1);
	cr_assert_eq(e->lines[0].svc[1], 2);
	cr_assert_eq(e->lines[0].connections, 65);
	cr_assert_eq(e->lines[1].dst, 4); /* 10.20.1.5 -> 10.10.10.8: smb, audit */
	cr_assert_eq(e->lines[1].cls, LEARN_AUDIT);
	cr_assert_eq(e->lines[2].src, 1);
	teardown(&x);
}

Test(graph, text)
{
	struct fixture x;
	char *text = NULL;
	static const char want[] =
		"5 segment pairs, 7 services: 4 allowed, 1 audit (dropped when enforcing), 2 "
		"dropped; 5007 connections aggregated (flood)\n"
		"\n"
		"clients -> vda: 108 connections from 2 clients, 2023-11-14 22:13:20 UTC .. "
		"2023-11-15 00:13:20 UTC\n"
		"  audit  smb (tcp/445): 3 connections, 1 client, 2023-11-14 22:15:00 .. "
		"22:16:40 UTC\n"
		"         would be dropped when enforcing (clients is in monitor mode): no rule; "
		"vda "
		"denies by default: tests/unit/learn.policy:4: segment vda (implicit default in "
		"deny out allow)\n"
		"  allow  ica (tcp/1494): 100 connections, 2 clients, 2023-11-14 22:13:20 UTC .. "
		"2023-11-15 00:13:20 UTC\n"
		"         allowed by tests/unit/learn.policy:6: allow clients -> vda : ica, cgp\n";

	setup(&x, POLICY, false);
	CAPTURE(text, learn_graph_text(out, &x.g));
	cr_assert(!strncmp(text, want, sizeof(want) - 1), "%s", text);
	cr_assert_not_null(strstr(text,
				  "  flood  5007 connections aggregated (flood): no "
				  "addresses or ports kept; decided then: 5000 audit, 7 drop\n"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "world -> vda: 4 connections from 3 clients, "), "%s",
			   text);
	cr_assert_not_null(strstr(text, "  drop   tcp/9999: 4 connections, 3 clients, "), "%s",
			   text);
	free(text);
	teardown(&x);

	setup(&x, POLICY, true);
	CAPTURE(text, learn_graph_text(out, &x.g));
	cr_assert_not_null(strstr(text, "hosts:\n"
					"  clients: 10.20.1.5, 10.20.1.6\n"
					"  dc: 10.10.3.1\n"
					"  vda: 10.10.10.7, 10.10.10.8\n"
					"  world: 198.51.100.0/24 (2 addresses), 203.0.113.0/24 (1 "
					"address), 2001:db8:1::/48 (2 addresses), 2001:db8:99::/48 "
					"(2 addresses)\n"),
			   "%s", text);
	cr_assert_not_null(strstr(text,
				  "  hosts:\n"
				  "    allow  10.20.1.5 -> 10.10.10.7: ica, cgp; 65 "
				  "connections\n"
				  "    audit  10.20.1.5 -> 10.10.10.8: smb; 3 "
				  "connections\n"
				  "    allow  10.20.1.6 -> 10.10.10.7: ica; 40 connections\n"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "    drop   198.51.100.0/24 -> 10.10.10.7: tcp/9999; 3 "
					"connections\n"),
			   "%s", text);
	free(text);
	teardown(&x);
}

Test(graph, json)
{
	struct fixture x;
	char *text = NULL;

	setup(&x, POLICY, true);
	CAPTURE(text, {
		fputc('{', out);
		learn_graph_json(out, &x.g);
		fputs("}\n", out);
	});
	cr_assert(!strncmp(text,
			   "{\"segments\":[{\"name\":\"clients\",\"id\":1,\"hosts\":[{\"host\":"
			   "\"10.20.1.5\",\"addresses\":1},{\"host\":\"10.20.1.6\",\"addresses\":1}"
			   "]},",
			   100),
		  "%s", text);
	cr_assert_not_null(
		strstr(text,
		       "{\"service\":\"ica\",\"port_text\":\"tcp/1494\",\"proto\":6,\"port\":1494,"
		       "\"class\":\"allow\",\"verdict\":\"allow\",\"reason\":\"rule\",\"origin\":{"
		       "\"rule_id\":"),
		"%s", text);
	cr_assert_not_null(strstr(text, "\"file\":\"tests/unit/learn.policy\",\"line\":6,\"text\":"
					"\"allow clients -> vda : ica, cgp\"}"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "\"aggregated\":{\"connections\":5007,\"allow\":0,"
					"\"audit\":5000,\"drop\":7}"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "{\"src\":\"198.51.100.0/24\",\"dst\":\"10.10.10.7\","
					"\"class\":\"drop\",\"connections\":3,\"services\":["
					"\"tcp/9999\"]}"),
			   "%s", text);
	cr_assert_not_null(strstr(text, "\"monitor_segment\":\"clients\""), "%s", text);
	/* it parses: python's json, when there is one */
	if (!system("command -v python3 >/dev/null 2>&1")) {
		FILE *p = popen("python3 -c 'import json,sys; json.load(sys.stdin)'", "w");

		cr_assert_not_null(p);
		fputs(text, p);
		cr_assert_eq(pclose(p), 0, "not JSON: %s", text);
	}
	free(text);
	teardown(&x);
}

/* ---- The picture ------------------------------------------------------------- */

/* All of stream f (free it). */
static char *slurp(FILE *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int ch;

	cr_assert_not_null(m);
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	cr_assert_eq(fclose(m), 0);
	return buf;
}

/* `dot -Tsvg` over text: its exit status; the SVG into *svg (free it). */
static int run_dot(const char *dot, char **svg)
{
	char in[] = "/tmp/xdpseg-map-XXXXXX", cmd[256];
	int fd = mkstemp(in), st;
	FILE *f, *p;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputs(dot, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "dot -Tsvg %s 2>&1", in);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	*svg = slurp(p);
	st = pclose(p);
	unlink(in);
	return st;
}

Test(graph, dot_colours_one_edge_a_class)
{
	struct fixture x;
	char *dot = NULL, *svg = NULL;

	setup(&x, POLICY, false);
	CAPTURE(dot, learn_graph_dot(out, &x.g, "farm"));
	/* s0 clients, s1 dc, s2 vda, s3 world */
	cr_assert_not_null(strstr(dot, "  s0 [label=\"clients\"];\n"), "%s", dot);
	cr_assert_not_null(strstr(dot, "  s3 [label=\"world\", shape=ellipse];\n"), "%s", dot);
	/* clients -> vda split: audit (red, SMB) and allowed (green, ica and cgp) */
	cr_assert_not_null(strstr(dot, "  s0 -> s2 [label=\"ica 100\\ncgp 5\", tooltip=\"allowed"),
			   "%s", dot);
	cr_assert_not_null(strstr(dot, "  s0 -> s2 [label=\"smb 3\", tooltip=\"dropped "
				       "when enforcing\\nsmb (tcp/445): would be dropped"),
			   "%s", dot);
	cr_assert_not_null(strstr(dot, "color=\"#d32f2f\", fontcolor=\"#d32f2f\", penwidth=2.5];"),
			   "%s", dot);
	cr_assert_not_null(strstr(dot, "  s3 -> s2 [label=\"tcp/9999 4\""), "%s", dot);
	cr_assert_not_null(strstr(dot, "  s0 -> s2 [label=\"5000 aggregated (flood)\", "
				       "tooltip=\"audit at the time\", color=\"#d32f2f\""),
			   "%s", dot);
	cr_assert_eq(run_dot(dot, &svg), 0, "%s\n%s", svg, dot);
	cr_assert_not_null(strstr(svg, "<svg"), "%s", svg);
	cr_assert_not_null(strstr(svg, ">clients</text>"), "%s", svg);
	free(svg);
	free(dot);
	teardown(&x);

	setup(&x, POLICY, true);
	CAPTURE(dot, learn_graph_dot(out, &x.g, NULL));
	cr_assert_not_null(strstr(dot, "  subgraph cluster_s3 {\n    label=\"world\";\n"), "%s",
			   dot);
	cr_assert_not_null(strstr(dot, "    h5 [label=\"198.51.100.0/24\\n2 addresses\", "
				       "shape=ellipse];\n"),
			   "%s", dot);
	cr_assert_not_null(strstr(dot, "  h0 -> h3 [label=\"ica\\ncgp\""), "%s", dot);
	cr_assert_eq(run_dot(dot, &svg), 0, "%s\n%s", svg, dot);
	cr_assert_not_null(strstr(svg, ">198.51.100.0/24</text>"), "%s", svg);
	free(svg);
	free(dot);
	teardown(&x);
}

Test(graph, dot_escapes_hostile_strings)
{
	static const char hostile[] = "a\"b\\c\nd\x1b[2J\xff}; x -> y [label=\"";
	char *dot = NULL, *svg = NULL, *text, dir[] = "/tmp/xdpseg-map-XXXXXX", path[PATH_MAX];
	struct fixture x;
	FILE *f;

	CAPTURE(dot, learn_dot_escaped(out, hostile));
	cr_assert_str_eq(dot, "a\\\"b\\\\c\\\\x0ad\\\\x1b[2J\\\\xff}; x -> y [label=\\\"");
	free(dot);

	/* the policy in a file whose name a rule's origin carries into tooltips */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s.policy", dir, "we\"ird\\ \x01name");
	f = fopen(POLICY, "r");
	cr_assert_not_null(f);
	text = slurp(f);
	fclose(f);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	setup(&x, path, false);
	CAPTURE(dot, learn_graph_dot(out, &x.g, hostile));
	cr_assert_not_null(strstr(dot, "we\\\"ird\\\\ \\\\x01name.policy:6: allow clients"), "%s",
			   dot);
	cr_assert_eq(run_dot(dot, &svg), 0, "%s\n%s", svg, dot);
	/* one graph of 4 nodes: nothing the strings held became DOT */
	cr_assert_not_null(strstr(svg, "<title>xdpseg_map</title>"), "%s", svg);
	cr_assert_null(strstr(svg, "<title>x</title>"), "%s", svg);
	free(svg);
	free(dot);
	teardown(&x);
	unlink(path);
	rmdir(dir);
}

Test(graph, svg_by_libgvc)
{
	char dir[] = "/tmp/xdpseg-map-XXXXXX", path[PATH_MAX], err[512] = "";
	struct fixture x;
	char *svg;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/map.svg", dir);
	setup(&x, POLICY, false);
	cr_assert_eq(learn_graph_svg(&x.g, "farm \"week\"", path, err, sizeof(err)), 0, "%s", err);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	svg = slurp(f);
	fclose(f);
	cr_assert(!strncmp(svg, "<?xml", 5), "%s", svg);
	cr_assert_not_null(strstr(svg, "<svg"), "%s", svg);
	for (size_t i = 0; i < 4; i++) {
		static const char *const segs[] = { ">clients</text>", ">vda</text>", ">dc</text>",
						    ">world</text>" };

		cr_assert_not_null(strstr(svg, segs[i]), "%s", segs[i]);
	}
	cr_assert_not_null(strstr(svg, "farm &quot;week&quot;"), "%s", svg);
	free(svg);

	/* a file that cannot be written: an error naming it (and a second
	 * render in the process: one Graphviz context) */
	snprintf(path, sizeof(path), "%s/no/map.svg", dir);
	cr_assert_eq(learn_graph_svg(&x.g, NULL, path, err, sizeof(err)), -ENOENT);
	cr_assert_str_eq(strchr(err, ':'), ": No such file or directory");
	snprintf(path, sizeof(path), "%s/again.svg", dir);
	cr_assert_eq(learn_graph_svg(&x.g, NULL, path, err, sizeof(err)), 0, "%s", err);
	unlink(path);
	teardown(&x);
	snprintf(path, sizeof(path), "%s/map.svg", dir);
	unlink(path);
	rmdir(dir);
}

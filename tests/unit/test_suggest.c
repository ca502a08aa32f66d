// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/learn/suggest.c on synthetic judged flows under tests/unit/suggest.policy:
 * the items (exact-fit services, ranges, single ports), learning and stable,
 * proposed segments, comments for what is not suggested, untrusted strings,
 * and the round trip: the suggestion compiles without a warning, passes every
 * observed passing flow and drops one never observed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "learn/replay.h"
#include "learn/suggest.h"
#include "learn_rows.h"

#define POLICY "tests/unit/suggest.policy"
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ALLOW XS_STORE_ALLOW
#define AUDIT XS_STORE_AUDIT
#define DROP XS_STORE_DROP

static void presets_path(void)
{
	setenv("XDPSEG_POLICY_PATH", "policies", 1);
}

TestSuite(suggest, .init = presets_path);

/* The farm's week. */
static void farm(struct rows *r)
{
	static const int dc_tcp[] = { 53, 88, 464, 135, 389, 636, 3268, 3269, 445, 49670, 50001 };
	static const int dc_udp[] = { 53, 88, 464, 123, 389 };

	rows_window(r, 7 * 86400);
	/* ica on 4 days from 2 clients (audited: clients is in monitor mode), cgp on one */
	for (int d = 1; d <= 4; d++)
		rows_add(r, "10.20.1.5", "10.10.10.7", TCP, 1494, AUDIT, d, 10);
	rows_add(r, "10.20.1.6", "10.10.10.7", TCP, 1494, ALLOW, 2, 5);
	rows_add(r, "10.20.1.6", "10.10.10.7", TCP, 2598, ALLOW, 1, 3);
	rows_add(r, "10.20.1.6", "10.10.10.7", TCP, 8080, ALLOW, 1, 1);
	rows_add(r, "10.20.1.6", "10.10.10.7", IPPROTO_ICMP, 8, ALLOW, 1, 2);
	/* a domain join: every port of ad-domain-join, two of the RPC range */
	for (size_t i = 0; i < sizeof(dc_tcp) / sizeof(dc_tcp[0]); i++)
		rows_add(r, "10.10.10.7", "10.10.3.1", TCP, dc_tcp[i], ALLOW, 3, 1);
	for (size_t i = 0; i < sizeof(dc_udp) / sizeof(dc_udp[0]); i++)
		rows_add(r, "10.10.10.7", "10.10.3.1", UDP, dc_udp[i], ALLOW, 3, 1);
	/* admins: the file's own service, RPC to a VDA (one range port: single) */
	rows_add(r, "10.20.99.4", "10.10.10.8", TCP, 8443, ALLOW, 1, 1);
	rows_add(r, "10.20.99.4", "10.10.10.8", TCP, 8444, ALLOW, 1, 1);
	rows_add(r, "10.20.99.4", "10.10.10.8", TCP, 135, ALLOW, 1, 1);
	rows_add(r, "10.20.99.4", "10.10.10.8", TCP, 50123, ALLOW, 1, 1);
	/* addresses in no segment: two on the internet, two private, one IPv6 */
	rows_add(r, "203.0.113.10", "10.10.10.7", TCP, 443, ALLOW, 1, 4);
	rows_add(r, "203.0.113.77", "10.10.10.8", TCP, 443, ALLOW, 2, 4);
	rows_add(r, "10.10.10.7", "192.168.7.1", TCP, 3128, ALLOW, 1, 1);
	rows_add(r, "10.10.10.7", "192.168.7.200", TCP, 3128, ALLOW, 1, 1);
	rows_add(r, "fd00:10::7", "fd00:99::1", TCP, 3128, ALLOW, 1, 1);
	/* dropped: lateral movement; not suggested */
	rows_add(r, "10.10.10.7", "10.10.10.8", TCP, 445, DROP, 1, 3);
	rows_add(r, "203.0.113.99", "10.10.10.8", TCP, 22, DROP, 1, 7);
	/* passed, but no rule can name it (GRE) */
	rows_add(r, "10.10.10.7", "10.10.3.1", 47, -1, ALLOW, 1, 1);
	/* a day's cap reached */
	rows_aggregate(r, "vda", "world", TCP, DROP, 5000);
}

/* The suggestion as text (malloc'd); its return code in *ret. */
static char *suggest(struct rows *r, struct xs_compiled **cp, struct learn_catalog *cat,
		     const struct learn_suggest_opts *o, int *ret, char *err, size_t errlen)
{
	struct xs_diags d;
	struct xs_tables t;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char cerr[256] = "";

	*cp = rows_compile(POLICY, &d);
	xs_diags_free(&d);
	xs_tables_init(&t, *cp);
	learn_judge(&r->set, &t, 0);
	cr_assert_eq(learn_catalog_load(cat, POLICY, NULL, 0, cerr, sizeof(cerr)), 0, "%s", cerr);
	*ret = learn_suggest(f, &r->set, *cp, cat, o, err, errlen);
	fclose(f);
	return text;
}

/* What suggest() made. */
static void release(struct rows *r, struct xs_compiled *c, struct learn_catalog *cat, char *text)
{
	learn_catalog_free(cat);
	xs_compiled_free(c);
	free(r->set.v); /* learn_set_free() is load.c's, which needs the store */
	free(text);
}

static char *farm_text(const struct learn_suggest_opts *o)
{
	struct rows r = { 0 };
	struct xs_compiled *c;
	struct learn_catalog cat;
	char err[512] = "";
	int ret;
	char *text;

	farm(&r);
	text = suggest(&r, &c, &cat, o, &ret, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	learn_catalog_free(&cat);
	xs_compiled_free(c);
	free(r.set.v); /* learn_set_free() is load.c's, which needs the store */
	return text;
}

static void opts(struct learn_suggest_opts *o)
{
	static const char *stores[] = { "/var/lib/xdpseg/flows.db" };

	learn_suggest_defaults(o);
	o->window = "7d";
	o->stores = stores;
	o->nstores = 1;
	o->policy = POLICY;
}

/* The line after the line `before` (which must be there), without its newline. */
static void assert_follows(const char *text, const char *before, const char *line)
{
	const char *b = strstr(text, before);
	const char *l;

	cr_assert(b, "no line '%s' in:\n%s", before, text);
	l = b + strlen(before);
	cr_assert_eq(*l, '\n', "'%s' is not a whole line", before);
	cr_assert(!strncmp(l + 1, line, strlen(line)) && l[1 + strlen(line)] == '\n',
		  "after '%s': expected '%s', got '%.60s'", before, line, l + 1);
}

static void assert_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return;
	cr_assert_fail("no line '%s' in:\n%s", line, text);
}

static size_t count_prefix(const char *text, const char *head)
{
	size_t n = 0, k = strlen(head);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, head, k);
	return n;
}

Test(suggest, names_ports_by_exact_fit_services_and_single_ports)
{
	struct learn_suggest_opts o;
	char *text;

	opts(&o);
	text = farm_text(&o);
	/* the policy's segments (admins nested: `inside`), its bind, the presets */
	assert_line(text, "include \"citrix-services.policy\"");
	assert_line(text, "segment clients 10.20.0.0/16");
	assert_line(text, "segment admins 10.20.99.0/24 inside clients");
	assert_line(text, "segment vda 10.10.10.0/24, fd00:10::/64");
	assert_line(text, "bind vda vnet*");
	cr_assert_eq(count_prefix(text, "segment link-local"), 0);
	/* exact fits: a preset, the file's own service written out */
	assert_follows(text,
		       "# 45 connections (40 audited), 2 clients, 4 days, first 2024-09-30, last "
		       "2024-10-03: stable",
		       "allow clients -> vda : ica");
	assert_follows(
		text,
		"# 3 connections, 1 client, 1 day, first 2024-10-03, last 2024-10-03: learning",
		"allow clients -> vda : cgp");
	assert_line(text, "allow clients -> vda : ping");
	assert_line(text, "allow clients -> vda : tcp/8080"); /* sta holds 80 and 443 too */
	assert_line(text, "service farm-mgmt tcp/8443, tcp/8444");
	assert_line(text, "allow admins -> vda : farm-mgmt");
	assert_line(text, "allow admins -> vda : rpc-epm");
	/* one port of the RPC range: a single port, not the range */
	assert_line(text, "allow admins -> vda : tcp/50123");
	cr_assert_eq(count_prefix(text, "allow admins -> vda"), 3);
	/* every port of ad-domain-join (two in the RPC range): the composite alone */
	assert_follows(text,
		       "# 16 connections, 1 client, 1 day, first 2024-10-01, last 2024-10-01: "
		       "learning",
		       "allow vda -> dc : ad-domain-join");
	cr_assert_eq(count_prefix(text, "allow vda -> dc"), 1);
	/* the deterministic order: source, destination, protocol, first port */
	cr_assert_lt(strstr(text, "allow admins -> vda : rpc-epm"),
		     strstr(text, "allow admins -> vda : farm-mgmt"));
	cr_assert_lt(strstr(text, "allow admins -> vda : farm-mgmt"),
		     strstr(text, "allow admins -> vda : tcp/50123"));
	cr_assert_lt(strstr(text, "allow clients -> vda : ping"),
		     strstr(text, "allow clients -> vda : ica"));
	cr_assert_lt(strstr(text, "allow clients -> vda : ica"),
		     strstr(text, "allow clients -> vda : cgp"));
	cr_assert_lt(strstr(text, "allow admins"), strstr(text, "allow clients"));
	free(text);
}

/* Every port a rule names is a responder's port that was observed. */
Test(suggest, names_observed_server_ports_only)
{
	static const int seen[] = { 8080, 50123, 3128, 8443, 8444 };
	struct learn_suggest_opts o;
	char *text;

	opts(&o);
	o.ranges = true;
	text = farm_text(&o);
	for (const char *p = strstr(text, "\nallow "); p; p = strstr(p + 1, "\nallow ")) {
		const char *q = strstr(p, " : ") + 3;
		int port = -1;
		bool ok = false;

		if (sscanf(q, "tcp/%d", &port) != 1 && sscanf(q, "udp/%d", &port) != 1)
			continue;
		for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
			ok |= port == seen[i];
		cr_assert(ok, "a port never observed: %.40s", p + 1);
		cr_assert_eq(strcspn(q, "-\n"), strcspn(q, "\n"), "a range: %.40s", p + 1);
	}
	free(text);
}

Test(suggest, statuses_follow_min_days)
{
	struct learn_suggest_opts o;
	char *text;

	opts(&o);
	o.min_days = 1;
	text = farm_text(&o);
	cr_assert_eq(count_prefix(text, "allow "), 11);
	cr_assert_eq(strstr(text, ": learning\n"), NULL);
	assert_line(text, "# rules: 11 (11 stable, 0 learning: seen on fewer than 1 days); 3 "
			  "proposed segments");
	free(text);
	o.min_days = 5;
	text = farm_text(&o);
	cr_assert_eq(strstr(text, ": stable\n"), NULL);
	free(text);
}

/* The farm's rows for one pair only: vda -> dc on these ports. */
static char *pair_text(const int *tcp, size_t ntcp, const int *udp, size_t nudp,
		       const struct learn_suggest_opts *o)
{
	struct rows r = { 0 };
	struct xs_compiled *c;
	struct learn_catalog cat;
	char err[512] = "";
	int ret;
	char *text;

	rows_window(&r, 7 * 86400);
	for (size_t i = 0; i < ntcp; i++)
		rows_add(&r, "10.10.10.7", "10.10.3.1", TCP, tcp[i], ALLOW, 1, 1);
	for (size_t i = 0; i < nudp; i++)
		rows_add(&r, "10.10.10.7", "10.10.3.1", UDP, udp[i], ALLOW, 1, 1);
	text = suggest(&r, &c, &cat, o, &ret, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	learn_catalog_free(&cat);
	xs_compiled_free(c);
	free(r.set.v);
	return text;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(suggest, composite_only_when_every_port_was_seen)
{
	/* ntp (udp/123) never seen: no ad-domain-join, its parts that were */
	static const int tcp[] = { 53, 88, 464, 135, 389, 636, 3268, 3269, 445, 49670, 50001 };
	static const int udp[] = { 53, 88, 464, 389 };
	static const char *const want[] = {
		"allow vda -> dc : dns",     "allow vda -> dc : kerberos",
		"allow vda -> dc : rpc-epm", "allow vda -> dc : ldap",
		"allow vda -> dc : smb",     "allow vda -> dc : rpc-dynamic",
	};
	struct learn_suggest_opts o;
	char *text;

	opts(&o);
	text = pair_text(tcp, N(tcp), udp, N(udp), &o);
	cr_assert_null(strstr(text, "ad-domain-join"));
	for (size_t i = 0; i < N(want); i++)
		assert_line(text, want[i]);
	cr_assert_eq(count_prefix(text, "allow "), N(want));
	/* in order of protocol (tcp before udp), then first port */
	cr_assert_lt(strstr(text, ": dns"), strstr(text, ": kerberos"));
	cr_assert_lt(strstr(text, ": smb"), strstr(text, ": rpc-dynamic"));
	free(text);
}

Test(suggest, a_range_service_from_two_ports_or_one_with_ranges)
{
	static const int two[] = { 49670, 50001 };
	static const int one[] = { 50001 };
	static const int runs[] = { 7000, 7001, 7002, 7010 };
	static const int udp_high[] = { 50001, 50002 };
	struct learn_suggest_opts o;
	char *text;

	opts(&o);
	text = pair_text(two, N(two), NULL, 0, &o);
	assert_line(text, "allow vda -> dc : rpc-dynamic");
	cr_assert_eq(count_prefix(text, "allow "), 1);
	free(text);
	text = pair_text(one, N(one), NULL, 0, &o);
	assert_line(text, "allow vda -> dc : tcp/50001");
	free(text);
	text = pair_text(runs, N(runs), NULL, 0, &o);
	assert_line(text, "allow vda -> dc : tcp/7000");
	assert_line(text, "allow vda -> dc : tcp/7001");
	cr_assert_eq(count_prefix(text, "allow "), 4);
	free(text);
	/* UDP in the dynamic range: no range service is UDP's alone (shadowing
	 * would allow tcp/135 and tcp/3389 too): single ports */
	text = pair_text(NULL, 0, udp_high, N(udp_high), &o);
	assert_line(text, "allow vda -> dc : udp/50001");
	assert_line(text, "allow vda -> dc : udp/50002");
	free(text);

	o.ranges = true;
	text = pair_text(one, N(one), NULL, 0, &o);
	assert_line(text, "allow vda -> dc : rpc-dynamic");
	free(text);
	text = pair_text(runs, N(runs), NULL, 0, &o);
	assert_line(text, "allow vda -> dc : tcp/7000-7002");
	assert_line(text, "allow vda -> dc : tcp/7010");
	cr_assert_eq(count_prefix(text, "allow "), 2);
	free(text);
	text = pair_text(NULL, 0, udp_high, N(udp_high), &o);
	assert_line(text, "allow vda -> dc : udp/50001-50002");
	free(text);
}

Test(suggest, world_addresses_get_the_smallest_covering_proposed_segment)
{
	struct learn_suggest_opts o;
	char *text;

	opts(&o);
	text = farm_text(&o);
	assert_follows(text,
		       "# proposed: 2 hosts seen, in no segment of tests/unit/suggest.policy: "
		       "review before applying",
		       "segment unsegmented-1 192.168.7.0/24");
	assert_line(text, "# proposed: 2 hosts seen, in no segment of tests/unit/suggest.policy: "
			  "review before applying\n"
			  "segment unsegmented-2 203.0.113.0/25");
	assert_follows(text,
		       "# proposed: 1 host seen, in no segment of tests/unit/suggest.policy: "
		       "review before applying",
		       "segment unsegmented-3 fd00:99::1");
	assert_line(text, "allow unsegmented-2 -> vda : ica-tls");
	assert_line(text, "allow vda -> unsegmented-1 : tcp/3128");
	assert_line(text, "allow vda -> unsegmented-3 : tcp/3128");
	cr_assert_null(strstr(text, "-> world :"));
	cr_assert_null(strstr(text, "allow world"));
	/* the dropped world source proposes nothing */
	cr_assert_null(strstr(text, "203.0.113.99"));
	free(text);
}

Test(suggest, a_proposal_never_covers_a_whole_private_range)
{
	struct rows r = { 0 };
	struct xs_compiled *c;
	struct learn_catalog cat;
	struct learn_suggest_opts o;
	char err[512] = "";
	int ret;
	char *text;

	opts(&o);
	o.max_prefix4 = 8;
	o.max_prefix6 = 4;
	rows_window(&r, 7 * 86400);
	rows_add(&r, "10.10.10.7", "10.99.0.1", TCP, 3128, ALLOW, 1, 1);
	rows_add(&r, "10.10.10.7", "10.200.0.1", TCP, 3128, ALLOW, 1, 1);
	rows_add(&r, "10.10.10.7", "198.51.100.1", TCP, 3128, ALLOW, 1, 1);
	rows_add(&r, "10.10.10.7", "198.200.0.1", TCP, 3128, ALLOW, 1, 1);
	rows_add(&r, "fd00:10::7", "fd99::1", TCP, 3128, ALLOW, 1, 1);
	rows_add(&r, "fd00:10::7", "fc00::1", TCP, 3128, ALLOW, 1, 1);
	text = suggest(&r, &c, &cat, &o, &ret, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	/* 10.0.0.0/8 would be all of RFC 1918's 10/8: the two addresses */
	assert_line(text, "segment unsegmented-1 10.99.0.1, 10.200.0.1");
	/* a public /8 is as wide as --max-prefix 8 allows */
	assert_line(text, "segment unsegmented-2 198.0.0.0/8");
	/* fc00::/7 would be every ULA */
	assert_line(text, "segment unsegmented-3 fc00::1, fd99::1");
	release(&r, c, &cat, text);
}

Test(suggest, silent_segments_dropped_flows_and_aggregates_are_comments)
{
	struct learn_suggest_opts o;
	char *text;

	opts(&o);
	text = farm_text(&o);
	assert_follows(
		text, "segment license 10.10.5.0/24",
		"# segment license: no traffic observed since 2024-09-27: no rule suggested");
	assert_follows(text,
		       "# segment license: no traffic observed since 2024-09-27: no rule suggested",
		       "default license in deny out allow");
	cr_assert_null(strstr(text, "allow license"));
	cr_assert_null(strstr(text, "-> license"));
	assert_follows(text, "# seen and dropped, not suggested:",
		       "#   vda -> vda tcp/445 (smb): 3 connections, 1 client, 1 day, first "
		       "2024-10-03, last 2024-10-03");
	assert_line(text, "#   world -> vda tcp/22 (ssh): 7 connections, 1 client, 1 day, first "
			  "2024-10-03, last 2024-10-03");
	cr_assert_null(strstr(text, "allow vda -> vda"));
	cr_assert_null(strstr(text, ": ssh"));
	assert_line(text, "#   vda -> dc ip-47: 1 connection, 1 client, 1 day, first 2024-10-03, "
			  "last 2024-10-03");
	assert_follows(text,
		       "# 1 aggregate row (a store's cap of keyed rows for a day was reached: "
		       "addresses and ports unknown), 5000 connections: never turned into rules",
		       "#   vda -> world tcp drop: 5000 connections");
	free(text);
}

Test(suggest, segment_selects_rules_and_names_the_segments_when_unknown)
{
	struct rows r = { 0 };
	struct xs_compiled *c;
	struct learn_catalog cat;
	struct learn_suggest_opts o;
	char err[512] = "";
	int ret;
	char *text;

	opts(&o);
	o.segment = "vdaa";
	farm(&r);
	text = suggest(&r, &c, &cat, &o, &ret, err, sizeof(err));
	cr_assert_eq(ret, -ENOENT);
	cr_assert_str_eq(err, "unknown segment 'vdaa': the policy's segments are clients, admins, "
			      "vda, dc, license, link-local");
	learn_catalog_free(&cat);
	xs_compiled_free(c);
	free(text);

	o.segment = "dc";
	text = suggest(&r, &c, &cat, &o, &ret, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_eq(count_prefix(text, "allow "), 1);
	assert_line(text, "allow vda -> dc : ad-domain-join");
	assert_line(text, "# segment clients: its rules are not shown (--segment dc)");
	assert_line(text, "#   vda -> dc ip-47: 1 connection, 1 client, 1 day, first 2024-10-03, "
			  "last 2024-10-03");
	cr_assert_null(strstr(text, "tcp/445 (smb)"));
	cr_assert_null(strstr(text, "unsegmented"));
	release(&r, c, &cat, text);
}

/* Write text into a file of a fresh folder; its path (static). */
static const char *write_policy(const char *text)
{
	static char path[256];
	char dir[] = "/tmp/xdpseg-suggest-XXXXXX";
	FILE *f;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/suggested.policy", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void remove_policy(const char *path)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s", path);
	unlink(path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

/* Comments from untrusted strings cannot end early and add a statement. */
Test(suggest, untrusted_strings_cannot_inject_statements)
{
	static const char *stores[] = { "/tmp/a\nallow any -> any\r\nsegment x 0.0.0.0/0" };
	struct rows r = { 0 };
	struct xs_compiled *c, *sc;
	struct learn_catalog cat;
	struct learn_suggest_opts o;
	struct xs_diags d;
	char err[512] = "";
	int ret;
	char *text;
	const char *path;

	opts(&o);
	o.stores = stores;
	o.policy = "evil\nallow any -> any";
	o.window = "7d\nallow any -> any";
	farm(&r);
	rows_aggregate(&r, "vda\nallow any -> any", "x\rdeny\x1b[2J\xe2\x80\xae", TCP, DROP, 1);
	text = suggest(&r, &c, &cat, &o, &ret, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	cr_assert_null(strstr(text, "\nallow any"), "%s", text);
	cr_assert_null(strstr(text, "\r"));
	cr_assert_null(strstr(text, "\x1b"));
	cr_assert_null(strstr(text, "\xe2"));
	assert_line(text, "#   vda\\x0aallow any -> any -> x\\x0ddeny\\x1b[2J\\xe2\\x80\\xae tcp "
			  "drop: 1 connection");
	assert_line(text, "# store: /tmp/a\\x0aallow any -> any\\x0d\\x0asegment x 0.0.0.0/0");
	/* what compiles is what the rules say: no `any`, no segment x */
	path = write_policy(text);
	sc = rows_compile(path, &d);
	cr_assert_eq(d.errors + d.warnings, 0);
	for (size_t i = 0; i < sc->policy->nrules; i++)
		cr_assert(sc->policy->rules[i].src != XS_ENDPOINT_ANY &&
			  sc->policy->rules[i].dst != XS_ENDPOINT_ANY);
	for (size_t i = 0; i < sc->policy->nsegments; i++)
		cr_assert_str_neq(sc->policy->segments[i].name, "x");
	xs_diags_free(&d);
	xs_compiled_free(sc);
	remove_policy(path);
	release(&r, c, &cat, text);
}

/*
 * The round trip: the suggestion compiles without an error or a
 * warning; judged under it, every observed flow that passed (and that a rule
 * can name) passes, and flows never observed are dropped.
 */
Test(suggest, round_trip_passes_what_passed_and_drops_the_rest)
{
	struct rows r = { 0 };
	struct xs_compiled *c, *sc;
	struct learn_catalog cat;
	struct learn_suggest_opts o;
	struct xs_diags d;
	struct xs_tables t;
	char err[512] = "";
	int ret;
	char *text;
	const char *path;
	size_t passed = 0;
	struct learn_replay rp;

	opts(&o);
	farm(&r);
	text = suggest(&r, &c, &cat, &o, &ret, err, sizeof(err));
	cr_assert_eq(ret, 0, "%s", err);
	path = write_policy(text);
	sc = rows_compile(path, &d);
	if (d.n)
		xs_diags_print(stderr, &d, false);
	cr_assert_eq(d.errors, 0);
	cr_assert_eq(d.warnings, 0);
	xs_diags_free(&d);

	/* never observed: lateral SMB between VDAs, RDP from a client, SSH from the internet */
	rows_add(&r, "10.10.10.7", "10.10.10.9", TCP, 445, ALLOW, 0, 1);
	rows_add(&r, "10.20.1.5", "10.10.10.7", TCP, 3389, ALLOW, 0, 1);
	rows_add(&r, "203.0.113.10", "10.10.10.7", TCP, 22, ALLOW, 0, 1);
	rows_add(&r, "10.10.10.7", "10.10.5.1", TCP, 27000, ALLOW, 0, 1);
	xs_tables_init(&t, sc);
	learn_judge(&r.set, &t, 0);
	for (size_t i = 0; i < r.set.n - 4; i++) {
		const struct learn_flow *f = &r.set.v[i];

		if (f->r.aggregate || f->r.decision == DROP || f->r.proto == 47)
			continue;
		cr_assert(learn_passes(f->lk.d.verdict), "row %zu (port %d) is dropped", i,
			  f->r.port);
		cr_assert(learn_by_rule(sc, &f->lk), "row %zu passes by no rule", i);
		passed++;
	}
	cr_assert_eq(passed, 33);
	/* the lateral movement that was dropped stays dropped */
	for (size_t i = 0; i < r.set.n; i++)
		if (r.set.v[i].r.decision == DROP && !r.set.v[i].r.aggregate)
			cr_assert_eq(r.set.v[i].lk.d.verdict, XS_VERDICT_DROP, "row %zu", i);
	for (size_t i = r.set.n - 4; i < r.set.n; i++)
		cr_assert_eq(r.set.v[i].lk.d.verdict, XS_VERDICT_DROP, "never observed: row %zu",
			     i);
	/* replay says the same: only what no rule can name (GRE) would be dropped */
	r.set.n -= 4;
	cr_assert_eq(learn_replay_run(&r.set, sc, &cat, &rp), 0);
	cr_assert_eq(rp.ndropped, 1);
	cr_assert_str_eq(rp.dropped[0].service, "ip-47");
	cr_assert_eq(rp.nnewly, 0);
	cr_assert_eq(rp.passed - rp.passed_by_rule, 1);
	learn_replay_free(&rp);
	xs_compiled_free(sc);
	remove_policy(path);
	release(&r, c, &cat, text);
}

/* The same rows in another order: the same text. */
Test(suggest, deterministic)
{
	struct rows r = { 0 };
	struct xs_compiled *c;
	struct learn_catalog cat;
	struct learn_suggest_opts o;
	char err[512] = "";
	int ret;
	char *a, *b;

	opts(&o);
	farm(&r);
	a = suggest(&r, &c, &cat, &o, &ret, err, sizeof(err));
	learn_catalog_free(&cat);
	xs_compiled_free(c);
	for (size_t i = 0; i < r.set.n / 2; i++) {
		struct learn_flow t = r.set.v[i];

		r.set.v[i] = r.set.v[r.set.n - 1 - i];
		r.set.v[r.set.n - 1 - i] = t;
	}
	b = suggest(&r, &c, &cat, &o, &ret, err, sizeof(err));
	cr_assert_str_eq(a, b);
	learn_catalog_free(&cat);
	xs_compiled_free(c);
	free(r.set.v);
	free(a);
	free(b);
}

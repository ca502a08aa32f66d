// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/learn/replay.c on synthetic rows judged under a candidate
 * (tests/unit/replay.policy): what would be dropped and newly pass, grouped,
 * with the rule or default responsible; unchanged counts, aggregate rows,
 * coverage, the exit status; the JSON twin.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "learn/replay.h"
#include "learn_rows.h"

#define CANDIDATE "tests/unit/replay.policy"
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

static void presets_path(void)
{
	setenv("XDPSEG_POLICY_PATH", "policies", 1);
}

TestSuite(replay, .init = presets_path);

static void rows(struct rows *r)
{
	rows_window(r, 86400);
	for (int d = 1; d <= 4; d++)
		rows_add(r, "10.20.1.5", "10.10.10.7", TCP, 1494, XS_STORE_AUDIT, d, 10);
	rows_add(r, "10.20.1.6", "10.10.10.7", TCP, 2598, XS_STORE_ALLOW, 1, 3);
	rows_add(r, "10.20.1.7", "10.10.10.8", TCP, 2598, XS_STORE_ALLOW, 1, 2);
	rows_add(r, "10.20.1.5", "198.51.100.1", TCP, 443, XS_STORE_ALLOW, 1, 1);
	rows_add(r, "10.10.10.7", "10.10.10.8", TCP, 445, XS_STORE_DROP, 1, 3);
	rows_add(r, "10.10.10.7", "10.10.3.1", UDP, 53, XS_STORE_ALLOW, 1, 1);
	rows_add(r, "203.0.113.99", "10.10.10.8", TCP, 22, XS_STORE_DROP, 1, 7);
	rows_aggregate(r, "vda", "world", TCP, XS_STORE_DROP, 5000);
}

struct run {
	struct rows r;
	struct xs_compiled *c;
	struct learn_catalog cat;
	struct learn_replay rp;
	char *text, *json;
};

static void replay(struct run *x, size_t nrows)
{
	struct xs_diags d;
	struct xs_tables t;
	char err[256] = "";
	size_t len;
	FILE *f;

	memset(x, 0, sizeof(*x));
	rows(&x->r);
	x->r.set.n = nrows ? nrows : x->r.set.n;
	x->c = rows_compile(CANDIDATE, &d);
	xs_diags_free(&d);
	xs_tables_init(&t, x->c);
	learn_judge(&x->r.set, &t, 0);
	cr_assert_eq(learn_catalog_load(&x->cat, CANDIDATE, NULL, 0, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(learn_replay_run(&x->r.set, x->c, &x->cat, &x->rp), 0);
	f = open_memstream(&x->text, &len);
	learn_replay_print(f, &x->rp, x->c);
	fclose(f);
	f = open_memstream(&x->json, &len);
	fputc('{', f);
	fprintf(f, "\"candidate\":null");
	learn_replay_print_json(f, &x->rp, x->c);
	fputc('}', f);
	fclose(f);
}

static void run_free(struct run *x)
{
	learn_replay_free(&x->rp);
	learn_catalog_free(&x->cat);
	xs_compiled_free(x->c);
	free(x->r.set.v);
	free(x->text);
	free(x->json);
}

Test(replay, groups_what_changes_with_the_rule_or_default_responsible)
{
	struct run x;

	replay(&x, 0);
	cr_assert_str_eq(
		x.text,
		"would be DROPPED (passed at the time): 2 groups, 6 connections\n"
		"  clients -> vda cgp: 5 connections, 2 clients; drop by default-out: "
		"tests/unit/replay.policy:11: default clients out deny\n"
		"    e.g. 10.20.1.6 -> 10.10.10.7 tcp/2598, 10.20.1.7 -> 10.10.10.8 tcp/2598\n"
		"  clients -> world ica-tls: 1 connection, 1 client; drop by default-out: "
		"tests/unit/replay.policy:11: default clients out deny\n"
		"    e.g. 10.20.1.5 -> 198.51.100.1 tcp/443\n"
		"would NEWLY PASS (dropped at the time): 1 group, 3 connections\n"
		"  vda -> vda smb: 3 connections, 1 client; allow by rule: "
		"tests/unit/replay.policy:9: allow vda -> vda : smb\n"
		"    e.g. 10.10.10.7 -> 10.10.10.8 tcp/445\n"
		"unchanged: 41 connections pass, 7 stay dropped (10 rows replayed)\n"
		"not replayed: 1 aggregate row (5000 connections): a store's cap for a day, no "
		"addresses, no port\n"
		"coverage: 77.2% (44 of 57) of the observed connections allowed by a rule; 87.2% "
		"(41 "
		"of 47) of those that passed at the time\n");
	cr_assert_eq(learn_replay_status(&x.rp), 1);
	cr_assert_eq(x.rp.ndropped, 2);
	cr_assert_eq(x.rp.dropped[0].clients, 2);
	cr_assert_eq(x.rp.dropped[0].nex, 2);
	cr_assert_eq(x.rp.dropped[0].reason, XS_REASON_DEFAULT_OUT);
	cr_assert_eq(x.rp.nnewly, 1);
	cr_assert_eq(x.rp.newly[0].reason, XS_REASON_RULE);
	run_free(&x);
}

Test(replay, nothing_dropped_exits_zero)
{
	struct run x;

	/* the ica rows only (audited at the time, allowed by a rule now) */
	replay(&x, 4);
	cr_assert_eq(learn_replay_status(&x.rp), 0);
	cr_assert_str_eq(x.text,
			 "would be DROPPED (passed at the time): none\n"
			 "would NEWLY PASS (dropped at the time): none\n"
			 "unchanged: 40 connections pass, 0 stay dropped (4 rows replayed)\n"
			 "coverage: 100.0% (40 of 40) of the observed connections allowed by a "
			 "rule; 100.0% (40 of 40) of those that passed at the time\n");
	run_free(&x);
}

Test(replay, json_twin)
{
	struct run x;
	struct json_object *o, *v, *g, *cov;

	replay(&x, 0);
	o = json_tokener_parse(x.json);
	cr_assert(o, "not JSON: %s", x.json);
	cr_assert(json_object_object_get_ex(o, "dropped", &v));
	cr_assert_eq(json_object_array_length(v), 2);
	g = json_object_array_get_idx(v, 0);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(g, "src")), "clients");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(g, "service")), "cgp");
	cr_assert_eq(json_object_get_int(json_object_object_get(g, "connections")), 5);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(g, "reason")),
			 "default-out");
	cr_assert_eq(json_object_get_int(
			     json_object_object_get(json_object_object_get(g, "origin"), "line")),
		     11);
	cr_assert_eq(json_object_array_length(json_object_object_get(g, "examples")), 2);
	cr_assert(json_object_object_get_ex(o, "newly_pass", &v));
	cr_assert_eq(json_object_array_length(v), 1);
	cr_assert(json_object_object_get_ex(o, "coverage", &cov));
	cr_assert_eq(json_object_get_int(json_object_object_get(cov, "connections")), 57);
	cr_assert_eq(json_object_get_int(json_object_object_get(cov, "by_rule")), 44);
	cr_assert_float_eq(json_object_get_double(json_object_object_get(cov, "share")), 0.7719,
			   1e-9);
	cr_assert_eq(json_object_get_int(json_object_object_get(
			     json_object_object_get(o, "aggregate"), "rows")),
		     1);
	json_object_put(o);
	run_free(&x);
}

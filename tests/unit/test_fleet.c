// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/fleet/bundle.c and status.c without etcd: names, keys, the pointer
 * and a host's report to JSON and back, the refusals of hostile documents
 * (each with its exact message), the hash, and the fleet's state from a
 * synthetic set of reports (states, counts, nearest-rank p50/p99/max).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"

#define H1 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define H2 "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"

Test(fleet, names)
{
	static const char *const good[] = { "default",
					    "a",
					    "farm-1.prod_eu",
					    "A.B",
					    "..x",
					    "123456789012345678901234567890123456789012345678901"
					    "234567890123" };
	static const char *const bad[] = {
		"",    ".",   "..",
		"a/b", "a b", "é",
		"a\n", "a:b", "1234567890123456789012345678901234567890123456789012345678901234",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect(xs_fleet_name_ok(good[i]), "'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect(!xs_fleet_name_ok(bad[i]), "'%s' taken", bad[i]);
	cr_expect(!xs_fleet_name_ok(NULL));
}

Test(fleet, keys)
{
	char k[256];

	xs_fleet_key_current(k, sizeof(k), "f");
	cr_expect_str_eq(k, "/xdpseg/v1/f/current");
	xs_fleet_key_bundle(k, sizeof(k), "f", H1);
	cr_expect_str_eq(k, "/xdpseg/v1/f/bundle/" H1 "/");
	xs_fleet_key_bundle(k, sizeof(k), "f", NULL);
	cr_expect_str_eq(k, "/xdpseg/v1/f/bundle/");
	xs_fleet_key_chunk(k, sizeof(k), "f", H1, 3);
	cr_expect_str_eq(k, "/xdpseg/v1/f/bundle/" H1 "/0003");
	xs_fleet_key_chunk(k, sizeof(k), "f", H1, 4095);
	cr_expect_str_eq(k, "/xdpseg/v1/f/bundle/" H1 "/4095");
	xs_fleet_key_status(k, sizeof(k), "f", "h1");
	cr_expect_str_eq(k, "/xdpseg/v1/f/status/h1");
	xs_fleet_key_status(k, sizeof(k), "f", NULL);
	cr_expect_str_eq(k, "/xdpseg/v1/f/status/");
	xs_fleet_key_seen(k, sizeof(k), "f", "h1");
	cr_expect_str_eq(k, "/xdpseg/v1/f/seen/h1");
	xs_fleet_key_seen(k, sizeof(k), "f", NULL);
	cr_expect_str_eq(k, "/xdpseg/v1/f/seen/");
	xs_fleet_key_history(k, sizeof(k), "f", 12);
	cr_expect_str_eq(k, "/xdpseg/v1/f/history/12");
	xs_fleet_key_history(k, sizeof(k), "f", 0);
	cr_expect_str_eq(k, "/xdpseg/v1/f/history/");
	/* cut, never overrun */
	xs_fleet_key_current(k, 8, "f");
	cr_expect_str_eq(k, "/xdpseg");
}

Test(fleet, hash)
{
	char h[65];

	xs_fleet_hash("test", 4, h);
	cr_expect_str_eq(h, H1);
	xs_fleet_hash("", 0, h);
	cr_expect_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static struct xs_fleet_pointer pointer(void)
{
	struct xs_fleet_pointer p = {
		.generation = 7,
		.hash = H1,
		.chunks = 2,
		.size = 600000,
		.author = "root@héte",
		.time = 1700000000,
		.time_ms = 1700000000123,
		.file = "/etc/xdpseg/farm \"one\".policy",
		.mod_revision = 99,
	};
	return p;
}

Test(fleet, pointer_round_trip)
{
	struct xs_fleet_pointer p = pointer(), q;
	char *json, err[256] = "";

	cr_assert_eq(xs_fleet_pointer_json(&p, &json), 0);
	cr_expect_str_eq(json, "{\"generation\":7,\"hash\":\"" H1 "\",\"chunks\":2,\"size\":600000,"
			       "\"author\":\"root@héte\",\"time\":1700000000,"
			       "\"time_ms\":1700000000123,"
			       "\"file\":\"/etc/xdpseg/farm \\\"one\\\".policy\"}");
	cr_assert_eq(xs_fleet_pointer_parse(json, strlen(json), &q, err, sizeof(err)), 0, "%s",
		     err);
	cr_expect_eq(q.generation, 7);
	cr_expect_str_eq(q.hash, H1);
	cr_expect_eq(q.chunks, 2);
	cr_expect_eq(q.size, 600000);
	cr_expect_str_eq(q.author, p.author);
	cr_expect_eq(q.time, p.time);
	cr_expect_eq(q.time_ms, p.time_ms);
	cr_expect_str_eq(q.file, p.file);
	cr_expect_eq(q.mod_revision, 0); /* etcd's, not the document's */
	free(json);
}

/* The pointer's document with `field` replaced by `value` (NULL: removed). */
static char *pointer_with(const char *field, const char *value)
{
	static const char *const names[] = { "generation", "hash", "chunks",  "size",
					     "author",	   "time", "time_ms", "file" };
	static const char *const values[] = {
		"7",	      "\"" H1 "\"",    "2",	      "600000", "\"root\"",
		"1700000000", "1700000000123", "\"a.policy\""
	};
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	fputc('{', f);
	for (size_t i = 0, first = 1; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = strcmp(names[i], field) ? values[i] : value;

		if (!v)
			continue;
		fprintf(f, "%s\"%s\":%s", first ? "" : ",", names[i], v);
		first = 0;
	}
	fputc('}', f);
	fclose(f);
	return s;
}

static void pointer_refused(const char *field, const char *value, const char *want)
{
	struct xs_fleet_pointer p;
	char *json = pointer_with(field, value), err[256] = "";

	cr_expect_eq(xs_fleet_pointer_parse(json, strlen(json), &p, err, sizeof(err)), -EINVAL,
		     "%s taken", json);
	cr_expect_str_eq(err, want, "%s", json);
	cr_expect_eq(p.generation, 0);
	free(json);
}

static void doc_refused(const char *json, size_t len, const char *want)
{
	struct xs_fleet_pointer p;
	struct xs_fleet_report r;
	char err[256] = "";

	cr_expect_eq(xs_fleet_pointer_parse(json, len, &p, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, want);
	err[0] = '\0';
	cr_expect_eq(xs_fleet_report_parse(json, len, &r, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, want);
}

Test(fleet, pointer_hostile)
{
	char *ok = pointer_with("", NULL), big[70000];
	struct xs_fleet_pointer p;
	char err[256];

	cr_assert_eq(xs_fleet_pointer_parse(ok, strlen(ok), &p, err, sizeof(err)), 0, "%s", err);
	ok = realloc(ok, strlen(ok) + 3);
	strcat(ok, " \n"); /* etcdctl put's trailing newline */
	cr_assert_eq(xs_fleet_pointer_parse(ok, strlen(ok), &p, err, sizeof(err)), 0, "%s", err);
	free(ok);
	doc_refused("", 0, "not JSON: truncated");
	doc_refused("{\"a\":", 5, "not JSON: truncated");
	doc_refused("{a:1}", 5, "not JSON: quoted object property name expected");
	doc_refused("{} x", 4, "not JSON: unexpected character");
	doc_refused("{}{}", 4, "not JSON: unexpected character");
	doc_refused("{}\0", 3, "not JSON: a NUL byte");
	doc_refused("[1]", 3, "not a JSON object");
	doc_refused("\"\xff\"", 3, "not JSON: invalid utf-8 string");
	memset(big, ' ', sizeof(big));
	doc_refused(big, sizeof(big), "not JSON: 70000 bytes (at most 65536)");

	pointer_refused("generation", NULL, "generation: missing");
	pointer_refused("generation", "\"7\"", "generation: not an integer");
	pointer_refused("generation", "7.0", "generation: not an integer");
	pointer_refused("generation", "0", "generation: out of range (1..1000000000000000)");
	pointer_refused("generation", "-1", "generation: out of range (1..1000000000000000)");
	pointer_refused("generation", "99999999999999999999999",
			"generation: out of range (1..1000000000000000)");
	pointer_refused("hash", "\"" H1 "0\"", "hash: not 64 lowercase hex digits");
	pointer_refused("hash",
			"\"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"",
			"hash: not 64 lowercase hex digits");
	pointer_refused("hash", "\"\"", "hash: not 64 lowercase hex digits");
	pointer_refused("hash", "\"../../x\"", "hash: not 64 lowercase hex digits");
	pointer_refused("hash", "1", "hash: not a string");
	pointer_refused("chunks", "0", "chunks: out of range (1..4096)");
	pointer_refused("chunks", "4097", "chunks: out of range (1..4096)");
	pointer_refused("chunks", "3", "chunks: 3 for 600000 bytes (2 expected)");
	pointer_refused("size", "0", "size: out of range (1..2147483648)");
	pointer_refused("author", "null", "author: not a string");
	pointer_refused("author", "\"a\\u001b[31m\"", "author: a control character");
	pointer_refused("author", "\"a\\u0000b\"", "author: a control character");
	pointer_refused("author",
			"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
			"author: longer than 63 bytes");
	pointer_refused("time", "-5", "time: out of range (0..253402300799)");
	pointer_refused("time_ms", "1700000001000",
			"time_ms: 1700000001000 is not in the second 1700000000");
	pointer_refused("file", "[]", "file: not a string");
	pointer_refused("file", "\"a\\tb\"", "file: a control character");
}

static struct xs_fleet_report report(void)
{
	struct xs_fleet_report r = {
		.host = "hv-01.farm",
		.hash = H1,
		.generation = 7,
		.applied = 1700000001,
		.applied_ms = 1700000001500,
		.time = 1700000030,
		.state = "current",
		.error = "",
		.interfaces = 12,
		.protected_ = 11,
		.packets = 123456789012ULL,
		.drops = 42,
		.version = "0.1.0",
	};
	return r;
}

static void same_report(const struct xs_fleet_report *a, const struct xs_fleet_report *b)
{
	cr_expect_str_eq(a->host, b->host);
	cr_expect_str_eq(a->hash, b->hash);
	cr_expect_eq(a->generation, b->generation);
	cr_expect_eq(a->applied, b->applied);
	cr_expect_eq(a->applied_ms, b->applied_ms);
	cr_expect_eq(a->time, b->time);
	cr_expect_str_eq(a->state, b->state);
	cr_expect_str_eq(a->error, b->error);
	cr_expect_eq(a->interfaces, b->interfaces);
	cr_expect_eq(a->protected_, b->protected_);
	cr_expect_eq(a->packets, b->packets);
	cr_expect_eq(a->drops, b->drops);
	cr_expect_str_eq(a->version, b->version);
}

Test(fleet, report_round_trip)
{
	struct xs_fleet_report r = report(), q;
	char *json, err[256] = "";

	cr_assert_eq(xs_fleet_report_json(&r, &json), 0);
	cr_expect_str_eq(json, "{\"host\":\"hv-01.farm\",\"hash\":\"" H1 "\",\"generation\":7,"
			       "\"applied\":1700000001,\"applied_ms\":1700000001500,"
			       "\"time\":1700000030,\"state\":\"current\",\"error\":\"\","
			       "\"interfaces\":12,\"protected\":11,\"packets\":123456789012,"
			       "\"drops\":42,\"version\":\"0.1.0\"}");
	cr_assert_eq(xs_fleet_report_parse(json, strlen(json), &q, err, sizeof(err)), 0, "%s", err);
	same_report(&r, &q);
	free(json);

	/* a host with nothing applied yet: hash "" */
	r.hash[0] = '\0';
	r.generation = r.applied = r.applied_ms = 0;
	strcpy(r.state, "failing");
	strcpy(r.error, "bundle " H2 ": hash mismatch");
	cr_assert_eq(xs_fleet_report_json(&r, &json), 0);
	cr_assert_eq(xs_fleet_report_parse(json, strlen(json), &q, err, sizeof(err)), 0, "%s", err);
	same_report(&r, &q);
	free(json);
}

/* The report's JSON with `from` replaced by `to` (once). */
static void report_refused(const char *from, const char *to, const char *want)
{
	struct xs_fleet_report r = report(), q;
	char *json, *s, err[256] = "", *p;

	cr_assert_eq(xs_fleet_report_json(&r, &json), 0);
	p = strstr(json, from);
	cr_assert(p, "'%s' not in %s", from, json);
	s = malloc(strlen(json) + strlen(to) + 1);
	sprintf(s, "%.*s%s%s", (int)(p - json), json, to, p + strlen(from));
	cr_expect_eq(xs_fleet_report_parse(s, strlen(s), &q, err, sizeof(err)), -EINVAL, "%s taken",
		     s);
	cr_expect_str_eq(err, want, "%s", s);
	cr_expect_str_eq(q.host, "");
	free(s);
	free(json);
}

Test(fleet, report_hostile)
{
	report_refused("\"host\":\"hv-01.farm\"", "\"host\":\"../x\"",
		       "host: not a name (1-63 of A-Z a-z 0-9 . _ -)");
	report_refused("\"host\":\"hv-01.farm\",", "", "host: missing");
	report_refused("\"hash\":\"" H1 "\"", "\"hash\":\"x\"",
		       "hash: not 64 lowercase hex digits or \"\"");
	report_refused("\"generation\":7", "\"generation\":-7",
		       "generation: out of range (0..1000000000000000)");
	report_refused("\"applied_ms\":1700000001500", "\"applied_ms\":1700000002500",
		       "applied_ms: 1700000002500 is not in the second 1700000001");
	report_refused("\"state\":\"current\"", "\"state\":\"pwned\"",
		       "state: not current, applying, failing or offline");
	report_refused("\"state\":\"current\"", "\"state\":\"currentcurrentcurrent\"",
		       "state: longer than 15 bytes");
	report_refused("\"error\":\"\"", "\"error\":\"\\r\"", "error: a control character");
	report_refused("\"interfaces\":12", "\"interfaces\":4294967296",
		       "interfaces: out of range (0..4294967295)");
	report_refused("\"protected\":11", "\"protected\":13", "protected: 13 of 12 interfaces");
	report_refused("\"packets\":123456789012", "\"packets\":18446744073709551615",
		       "packets: out of range (0..9223372036854775806)");
	report_refused("\"drops\":42", "\"drops\":true", "drops: not an integer");
	report_refused("\"version\":\"0.1.0\"", "\"version\":\"0.1.0-0.1.0-0.1.0-0.1.0-0.1.0-0.1\"",
		       "version: longer than 31 bytes");
}

static void add_host(struct xs_fleet_state *st, const char *name, const char *hash,
		     int64_t applied_ms, const char *error, bool lost)
{
	struct xs_fleet_host *h;

	st->hosts = realloc(st->hosts, (st->nhosts + 1) * sizeof(*h));
	h = &st->hosts[st->nhosts++];
	memset(h, 0, sizeof(*h));
	strcpy(h->r.host, name);
	strcpy(h->r.hash, hash);
	h->r.applied_ms = applied_ms;
	h->r.applied = applied_ms / 1000;
	strcpy(h->r.error, error);
	h->state = lost ? XS_FLEET_LOST : XS_FLEET_CURRENT;
}

Test(fleet, state_summary)
{
	struct xs_fleet_state st = { .published = true };
	const int64_t t0 = 1700000000000;
	char name[16];

	st.current.time_ms = t0;
	strcpy(st.current.hash, H1);
	/* 100 current hosts converged in 1..100 ms, given in reverse order */
	for (int i = 100; i >= 1; i--) {
		snprintf(name, sizeof(name), "h%03d", i);
		add_host(&st, name, H1, t0 + i, "", false);
	}
	add_host(&st, "behind", H2, t0 - 5000, "", false);
	add_host(&st, "failing", H1, t0 + 7, "bundle: hash mismatch", false);
	add_host(&st, "lost", H1, t0 + 9999, "", true);
	add_host(&st, "skewed", H1, t0 - 3, "", false); /* its clock behind: 0 */
	add_host(&st, "never", "", 0, "", false);
	xs_fleet_state_summarize(&st);

	cr_expect_eq(st.nhosts, 105);
	cr_expect_eq(st.count[XS_FLEET_CURRENT], 101);
	cr_expect_eq(st.count[XS_FLEET_BEHIND], 2);
	cr_expect_eq(st.count[XS_FLEET_FAILING], 1);
	cr_expect_eq(st.count[XS_FLEET_LOST], 1);
	/* 101 values: 0, 1..100; nearest rank: p50 = the 51st = 50, p99 = the 100th = 99 */
	cr_expect_eq(st.p50_ms, 50);
	cr_expect_eq(st.p99_ms, 99);
	cr_expect_eq(st.max_ms, 100);
	/* by name */
	cr_expect_str_eq(st.hosts[0].r.host, "behind");
	cr_expect_eq(st.hosts[0].state, XS_FLEET_BEHIND);
	cr_expect_eq(st.hosts[0].converge_ms, -1);
	cr_expect_str_eq(st.hosts[1].r.host, "failing");
	cr_expect_eq(st.hosts[1].state, XS_FLEET_FAILING);
	cr_expect_str_eq(st.hosts[2].r.host, "h001");
	cr_expect_eq(st.hosts[2].converge_ms, 1);
	cr_expect_str_eq(st.hosts[102].r.host, "lost");
	cr_expect_eq(st.hosts[102].state, XS_FLEET_LOST);
	cr_expect_str_eq(st.hosts[103].r.host, "never");
	cr_expect_eq(st.hosts[103].state, XS_FLEET_BEHIND);
	cr_expect_str_eq(st.hosts[104].r.host, "skewed");
	cr_expect_eq(st.hosts[104].converge_ms, 0);
	xs_fleet_state_free(&st);

	/* small sets: one value is every percentile; none is -1 */
	st = (struct xs_fleet_state){ .published = true };
	st.current.time_ms = t0;
	strcpy(st.current.hash, H1);
	add_host(&st, "a", H1, t0 + 250, "", false);
	xs_fleet_state_summarize(&st);
	cr_expect_eq(st.p50_ms, 250);
	cr_expect_eq(st.p99_ms, 250);
	cr_expect_eq(st.max_ms, 250);
	add_host(&st, "b", H1, t0 + 40, "", false);
	add_host(&st, "c", H1, t0 + 900, "", false);
	add_host(&st, "d", H1, t0 + 100, "", false);
	xs_fleet_state_summarize(&st);
	cr_expect_eq(st.p50_ms, 100); /* 40 100 250 900: rank 2 */
	cr_expect_eq(st.p99_ms, 900);
	st.published = false; /* nothing published: nobody is current */
	xs_fleet_state_summarize(&st);
	cr_expect_eq(st.count[XS_FLEET_BEHIND], 4);
	cr_expect_eq(st.p50_ms, -1);
	cr_expect_eq(st.max_ms, -1);
	xs_fleet_state_free(&st);
}

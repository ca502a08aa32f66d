// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flow store (user/store/): observations merged per key over several
 * flushes, keys per day and decision, opens that must fail (a reader with
 * no file, a newer schema, another program's database), retention, a flood
 * of spoofed sources under a day's cap (rows and file bounded), the size cap
 * taking the oldest day first, failed flushes that change nothing, and the
 * readers' order and window.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

#define DAY 86400
/* 2026-11-26T00:00:00Z, a day's start */
#define T0 1795651200LL

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/xs-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flows.db", dir);
}

static void teardown(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(store, .init = setup, .fini = teardown);

static struct xs_store *open_w(const struct xs_store_limits *lim)
{
	struct xs_store *s = NULL;
	char err[512];
	int rc = xs_store_open(path, true, lim, &s, err, sizeof(err));

	cr_assert_eq(rc, 0, "open: %d %s", rc, err);
	return s;
}

static struct xs_store *open_r(void)
{
	struct xs_store *s = NULL;
	char err[512];
	int rc = xs_store_open(path, false, NULL, &s, err, sizeof(err));

	cr_assert_eq(rc, 0, "open read-only: %d %s", rc, err);
	return s;
}

/* An IPv4 observation of 10.0.0.A -> 10.0.1.B, TCP port, at time t. */
static struct xs_store_obs obs4(unsigned a, unsigned b, int port, int64_t t)
{
	struct xs_store_obs o = {
		.family = 4,
		.proto = IPPROTO_TCP,
		.decision = XS_STORE_ALLOW,
		.port = port,
		.generation = 2,
		.time = t,
		.connections = 1,
		.packets = 10,
		.bytes = 1000,
		.rule = "farm.policy:4",
		.src_segment = "left",
		.dst_segment = "right",
		.iface = "h-a",
	};
	uint32_t s = htonl(0x0a000000u | (a & 0xffff)), d = htonl(0x0a000100u | b);

	memcpy(o.src, &s, 4);
	memcpy(o.dst, &d, 4);
	return o;
}

static void add(struct xs_store *s, const struct xs_store_obs *o)
{
	int rc = xs_store_add(s, o);

	cr_assert_eq(rc, 0, "add: %d", rc);
}

static void flush(struct xs_store *s, int64_t now)
{
	char err[512];
	int rc = xs_store_flush(s, now, err, sizeof(err));

	cr_assert_eq(rc, 0, "flush: %d %s", rc, err);
}

/* Every row, as collected by xs_store_each(). */
struct rows {
	struct xs_store_row v[64];
	size_t n, total;
	uint64_t agg_connections, agg_rows;
};

static int collect(void *arg, const struct xs_store_row *r)
{
	struct rows *rs = arg;

	if (rs->n < 64)
		rs->v[rs->n++] = *r;
	rs->total++;
	if (r->aggregate) {
		rs->agg_rows++;
		rs->agg_connections += r->connections;
	}
	return 0;
}

static void rows_of(struct xs_store *s, int64_t since, struct rows *rs)
{
	memset(rs, 0, sizeof(*rs));
	cr_assert_eq(xs_store_each(s, since, collect, rs), 0);
}

/* The rows as text, for a comparison of two states. */
static int text(void *arg, const struct xs_store_row *r)
{
	FILE *f = arg;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	inet_ntop(r->family == 6 ? AF_INET6 : AF_INET, r->src, a, sizeof(a));
	inet_ntop(r->family == 6 ? AF_INET6 : AF_INET, r->dst, b, sizeof(b));
	fprintf(f, "%lld %u %s %s %u %d %s %u %lld %lld %llu %llu %llu %s %u %s %s %s\n",
		(long long)r->day, r->family, a, b, r->proto, r->port,
		xs_store_decision_name(r->decision), r->aggregate, (long long)r->first_seen,
		(long long)r->last_seen, (unsigned long long)r->connections,
		(unsigned long long)r->packets, (unsigned long long)r->bytes, r->rule,
		r->generation, r->src_segment, r->dst_segment, r->iface);
	return 0;
}

static char *dump(struct xs_store *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_eq(xs_store_each(s, INT64_MIN / 2, text, f), 0);
	fclose(f);
	return buf;
}

Test(store, fresh_store_has_schema_1_and_default_path)
{
	struct xs_store *s = open_w(NULL);
	struct xs_store_stats st;
	char p[256];

	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.schema, XS_STORE_SCHEMA);
	cr_assert_eq(st.rows, 0);
	cr_assert_eq(st.days, 0);
	cr_assert_eq(st.oldest_day, -1);
	xs_store_close(s);
	/* and the reader agrees */
	s = open_r();
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.schema, 1);
	xs_store_close(s);

	setenv("XDPSEG_STATE_DIR", "/tmp/xs-state", 1);
	cr_assert_eq(xs_store_default_path(p, sizeof(p)), 0);
	cr_assert_str_eq(p, "/tmp/xs-state/flows.db");
	unsetenv("XDPSEG_STATE_DIR");
	cr_assert_eq(xs_store_default_path(p, sizeof(p)), 0);
	cr_assert_str_eq(p, "/var/lib/xdpseg/flows.db");
	cr_assert_eq(xs_store_default_path(p, 10), -ENAMETOOLONG);
	cr_assert_str_eq(xs_store_decision_name(XS_STORE_AUDIT), "audit");
}

Test(store, observations_merge_over_flushes)
{
	struct xs_store *s = open_w(NULL);
	struct xs_store_obs o = obs4(1, 2, 443, T0 + 100);
	struct xs_store_stats st;
	struct rows rs;

	add(s, &o);
	o.connections = 0;
	o.packets = 5;
	o.bytes = 300;
	o.time = T0 + 150;
	add(s, &o); /* the same flow's next packets, in the same batch */
	flush(s, T0 + 200);
	/* a later batch: a second connection, a newer rule */
	o = obs4(1, 2, 443, T0 + 500);
	o.rule = "farm.policy:9";
	o.generation = 3;
	o.src_segment = "left2";
	add(s, &o);
	flush(s, T0 + 600);
	/* late news of an earlier time: counted, but the latest rule stays */
	o = obs4(1, 2, 443, T0 + 50);
	o.rule = "farm.policy:1";
	o.iface = "";
	add(s, &o);
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.pending, 1);
	flush(s, T0 + 700);

	rows_of(s, 0, &rs);
	cr_assert_eq(rs.n, 1);
	cr_assert_eq(rs.v[0].day, T0 / DAY);
	cr_assert_eq(rs.v[0].first_seen, T0 + 50);
	cr_assert_eq(rs.v[0].last_seen, T0 + 500);
	cr_assert_eq(rs.v[0].connections, 3);
	cr_assert_eq(rs.v[0].packets, 10 + 5 + 10 + 10);
	cr_assert_eq(rs.v[0].bytes, 1000 + 300 + 1000 + 1000);
	cr_assert_str_eq(rs.v[0].rule, "farm.policy:9");
	cr_assert_eq(rs.v[0].generation, 3);
	cr_assert_str_eq(rs.v[0].src_segment, "left2");
	cr_assert_str_eq(rs.v[0].dst_segment, "right");
	cr_assert_str_eq(rs.v[0].iface, "h-a");
	cr_assert_eq(rs.v[0].port, 443);
	cr_assert_eq(rs.v[0].aggregate, 0);
	cr_assert_eq(memcmp(rs.v[0].src, "\x0a\x00\x00\x01", 4), 0);
	cr_assert_eq(memcmp(rs.v[0].dst, "\x0a\x00\x01\x02", 4), 0);
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.rows, 1);
	cr_assert_eq(st.days, 1);
	cr_assert_eq(st.pending, 0);
	cr_assert_eq(st.flushes, 3);
	cr_assert_eq(st.oldest_day, T0 / DAY);
	cr_assert_gt(st.bytes, 0);
	xs_store_close(s);
}

Test(store, a_key_per_day_and_decision)
{
	struct xs_store *s = open_w(NULL);
	struct xs_store_obs o = obs4(1, 2, 22, T0 + DAY - 1);
	struct rows rs;

	add(s, &o);
	o.time = T0 + DAY; /* the next day: another row */
	add(s, &o);
	o.decision = XS_STORE_DROP; /* dropped: another row */
	add(s, &o);
	o.decision = XS_STORE_AUDIT;
	add(s, &o);
	o.port = 23; /* another port */
	add(s, &o);
	flush(s, T0 + DAY + 10);
	rows_of(s, 0, &rs);
	cr_assert_eq(rs.n, 5);
	cr_assert_eq(rs.v[0].day, T0 / DAY);
	for (int i = 1; i < 5; i++)
		cr_assert_eq(rs.v[i].day, T0 / DAY + 1);
	/* key order: port, then decision */
	cr_assert_eq(rs.v[1].port, 22);
	cr_assert_eq(rs.v[1].decision, XS_STORE_ALLOW);
	cr_assert_eq(rs.v[2].decision, XS_STORE_AUDIT);
	cr_assert_eq(rs.v[3].decision, XS_STORE_DROP);
	cr_assert_eq(rs.v[4].port, 23);
	xs_store_close(s);
}

Test(store, a_reader_never_creates_one)
{
	struct xs_store *s = (struct xs_store *)1;
	char err[512];

	cr_assert_eq(xs_store_open(path, false, NULL, &s, err, sizeof(err)), -ENOENT);
	cr_assert_null(s);
	cr_assert(strstr(err, path), "%s", err);
	cr_assert(strstr(err, "flow-store"), "%s", err);
	cr_assert_eq(access(path, F_OK), -1, "the reader created %s", path);
}

/* A database at `path` with this SQL in it. */
static void make_db(const char *sql)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

Test(store, a_newer_schema_is_refused)
{
	struct xs_store *s = NULL;
	char err[512];

	make_db("CREATE TABLE flows (x); PRAGMA user_version = 2;"
		" PRAGMA application_id = 2020828787");
	cr_assert_eq(xs_store_open(path, true, NULL, &s, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "newer than this xdpseg's"), "%s", err);
	cr_assert(strstr(err, path), "%s", err);
	cr_assert_eq(xs_store_open(path, false, NULL, &s, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "(version 2) is newer"), "%s", err);
	cr_assert_null(s);
}

Test(store, another_programs_database_is_refused)
{
	struct xs_store *s = NULL;
	char err[512];

	make_db("CREATE TABLE t (a, b)");
	cr_assert_eq(xs_store_open(path, true, NULL, &s, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "not an xdpseg flow store"), "%s", err);
	/* and it is left as it was */
	make_db("INSERT INTO t VALUES (1, 2)");
}

Test(store, a_file_that_is_not_a_database)
{
	struct xs_store *s = NULL;
	char err[512];
	FILE *f = fopen(path, "w");

	fputs("this is not SQLite, nor is it long enough to look like a header of one\n", f);
	fclose(f);
	cr_assert_lt(xs_store_open(path, false, NULL, &s, err, sizeof(err)), 0);
	cr_assert(strstr(err, path), "%s", err);
}

Test(store, retention_removes_old_days)
{
	struct xs_store_limits lim = { .retention_days = 30 };
	struct xs_store *s = open_w(&lim);
	int64_t now = T0 + 12 * 3600;
	struct xs_store_stats st;
	struct rows rs;

	for (unsigned i = 0; i < 3; i++) {
		struct xs_store_obs o = obs4(i, 1, 80, now - 40 * DAY);

		add(s, &o);
		o.time = now - 31 * DAY; /* its day began more than 30 days ago */
		add(s, &o);
		o.time = now - 30 * DAY; /* its day reaches into the window: kept */
		add(s, &o);
		o.time = now - 10 * DAY;
		add(s, &o);
	}
	flush(s, now - 10 * DAY); /* as of then, nothing is old */
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.rows, 12);
	cr_assert_eq(st.days, 4);
	cr_assert_eq(st.expired, 0);

	flush(s, now); /* nothing pending: retention all the same */
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.expired, 6);
	cr_assert_eq(st.rows, 6);
	cr_assert_eq(st.days, 2);
	cr_assert_eq(st.oldest_day, (now - 30 * DAY) / DAY);
	rows_of(s, 0, &rs);
	cr_assert_eq(rs.n, 6);
	cr_assert_geq(rs.v[0].day, (now - 30 * DAY) / DAY);

	/* a shorter retention, set by a reload, at the next flush */
	lim.retention_days = 5;
	xs_store_set_limits(s, &lim);
	flush(s, now);
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.rows, 0);
	cr_assert_eq(st.expired, 12);
	xs_store_close(s);
}

/* The database's and its WAL's bytes on disk. */
static long long disk_bytes(void)
{
	char wal[160];
	struct stat a, b;
	long long n;

	cr_assert_eq(stat(path, &a), 0);
	n = a.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (!stat(wal, &b))
		n += b.st_size;
	return n;
}

static void checkpoint(void)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
		     SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

Test(store, a_flood_of_spoofed_sources_stays_bounded)
{
	struct xs_store_limits lim = { .max_day_rows = 1000 };
	struct xs_store *s = open_w(&lim);
	struct xs_store_stats st;
	struct rows rs;
	const unsigned n = 200000;

	for (unsigned i = 0; i < n; i++) {
		struct xs_store_obs o = obs4(0, 7, 9999, T0 + 3600 + i / 1000);
		uint32_t src = htonl(0xc0000000u + i); /* 192.0.0.0 + i: spoofed */

		memcpy(o.src, &src, 4);
		o.decision = XS_STORE_DROP;
		o.packets = 1;
		o.bytes = 60;
		o.rule = "default in right";
		add(s, &o);
		if (i % 50000 == 49999) /* a flush every 5 s of a flood */
			flush(s, T0 + 3600 + i / 1000);
	}
	flush(s, T0 + 4000);
	/* the flood again: the same keys merge, the aggregate grows */
	for (unsigned i = 0; i < 2000; i++) {
		struct xs_store_obs o = obs4(0, 7, 9999, T0 + 5000);
		uint32_t src = htonl(0xc0000000u + i);

		memcpy(o.src, &src, 4);
		o.decision = XS_STORE_DROP;
		o.rule = "default in right";
		add(s, &o);
	}
	flush(s, T0 + 5000);

	cr_assert_eq(xs_store_stats(s, &st), 0);
	rows_of(s, 0, &rs);
	cr_assert_leq(rs.total, 1000 + 4, "%zu rows", rs.total);
	cr_assert_geq(rs.agg_rows, 1);
	cr_assert_eq(rs.total - rs.agg_rows, 1000);
	cr_assert_eq(st.rows, rs.total);
	/* the first 1,000 sources have their rows, twice seen; the rest aggregate */
	cr_assert_eq(rs.agg_connections, n - 1000 + 1000);
	cr_assert_eq(st.aggregated, n - 1000 + 1000);
	cr_assert_eq(st.lost, 0);
	cr_assert_eq(rs.v[0].aggregate, 1);
	cr_assert_eq(rs.v[0].port, -1);
	cr_assert_str_eq(rs.v[0].src_segment, "left");
	cr_assert_str_eq(rs.v[0].dst_segment, "right");
	cr_assert_str_eq(rs.v[0].rule, "default in right");
	cr_assert_eq(rs.v[0].decision, XS_STORE_DROP);
	cr_assert_eq(rs.v[1].aggregate, 0);
	cr_assert_eq(rs.v[1].connections, 2);
	xs_store_close(s);
	checkpoint();
	cr_assert_lt(disk_bytes(), 512 * 1024, "%lld bytes on disk", disk_bytes());
}

/* `rows` keys (10.0.x.y -> 10.0.1.1:80) on day `day`, flushed. */
static int fill_day(struct xs_store *s, int64_t day, unsigned rows, char *err, size_t errlen)
{
	for (unsigned i = 0; i < rows; i++) {
		struct xs_store_obs o = obs4(i, 1, 80, day * DAY + 60);

		add(s, &o);
	}
	return xs_store_flush(s, day * DAY + 120, err, errlen);
}

struct day_list {
	int64_t v[16];
	int n;
};

static int one_day(void *arg, const struct xs_store_row *r)
{
	struct day_list *d = arg;

	if (!d->n || d->v[d->n - 1] != r->day) {
		cr_assert_lt(d->n, 16);
		d->v[d->n++] = r->day;
	}
	return 0;
}

/* The distinct days of the rows, in order. */
static int days_in(struct xs_store *s, int64_t *days)
{
	struct day_list d = { .n = 0 };

	cr_assert_eq(xs_store_each(s, 0, one_day, &d), 0);
	memcpy(days, d.v, sizeof(d.v));
	return d.n;
}

Test(store, the_size_cap_takes_the_oldest_day_first)
{
	struct xs_store_limits lim = { .retention_days = 3650, .max_bytes = 192 * 1024 };
	struct xs_store *s = open_w(&lim);
	struct xs_store_stats st;
	int64_t d0 = T0 / DAY, days[16];
	char err[512];
	int n, rc;

	/* about 50 KiB a day: three fit, the fourth needs the first's room */
	for (int i = 0; i < 3; i++) {
		rc = fill_day(s, d0 + i, 600, err, sizeof(err));
		cr_assert_eq(rc, 0, "day %d: %s", i, err);
	}
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.days, 3);
	cr_assert_eq(st.expired, 0);
	for (int i = 3; i < 6; i++) {
		rc = fill_day(s, d0 + i, 600, err, sizeof(err));
		cr_assert_eq(rc, 0, "day %d: %s", i, err);
	}
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.lost, 0);
	cr_assert_geq(st.expired, 600);
	cr_assert_eq(st.expired % 600, 0);
	cr_assert_leq(st.bytes, 192 * 1024);
	/* the days left are the newest, in a row */
	n = days_in(s, days);
	cr_assert_geq(n, 1);
	cr_assert_eq(days[n - 1], d0 + 5);
	cr_assert_eq(days[0], d0 + 6 - n);
	cr_assert_eq((uint64_t)n, st.days);
	cr_assert_eq(st.expired, (uint64_t)(6 - n) * 600);
	xs_store_close(s);
}

Test(store, a_failed_flush_changes_nothing)
{
	struct xs_store_limits lim = { .max_bytes = 64 * 1024 };
	struct xs_store *s = open_w(&lim);
	struct xs_store_stats st;
	char err[512], *before, *after;
	int rc;

	cr_assert_eq(fill_day(s, T0 / DAY, 10, err, sizeof(err)), 0);
	before = dump(s);
	/* the same day, more than the cap holds: nothing older to delete */
	for (unsigned i = 0; i < 10; i++) {
		struct xs_store_obs o = obs4(i, 1, 80, T0 + 500);

		add(s, &o); /* known keys, updated ... */
	}
	rc = fill_day(s, T0 / DAY, 5000, err, sizeof(err)); /* ... and new ones */
	cr_assert_eq(rc, -ENOSPC, "%d %s", rc, err);
	cr_assert(strstr(err, path), "%s", err);
	cr_assert(strstr(err, "flow-store-size"), "%s", err);
	cr_assert(strstr(err, "5010 observations (lost)"), "%s", err);
	after = dump(s);
	cr_assert_str_eq(after, before);
	free(after);
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.lost, 5010);
	cr_assert_eq(st.pending, 0);
	cr_assert_eq(st.rows, 10);
	cr_assert_eq(st.expired, 0);

	/* locked by another writer: the same */
	{
		sqlite3 *db;
		struct xs_store_obs o = obs4(1, 1, 80, T0 + 900);

		cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
		cr_assert_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
		add(s, &o);
		rc = xs_store_flush(s, T0 + 900, err, sizeof(err));
		cr_assert_eq(rc, -EBUSY, "%d %s", rc, err);
		cr_assert(strstr(err, "locked"), "%s", err);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	after = dump(s);
	cr_assert_str_eq(after, before);
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.lost, 5011);
	/* and the next flush works */
	cr_assert_eq(fill_day(s, T0 / DAY, 1, err, sizeof(err)), 0, "%s", err);
	free(after);
	free(before);
	xs_store_close(s);
}

Test(store, each_is_in_key_order_and_windowed)
{
	struct xs_store *s = open_w(NULL);
	struct xs_store_obs o;
	struct rows rs;
	struct xs_store *r;
	char *a, *b;

	/* added in no order: v6 after v4, later days, higher addresses first */
	o = obs4(9, 1, 80, T0 + 2 * DAY);
	add(s, &o);
	o = obs4(3, 1, 80, T0 + 10);
	add(s, &o);
	o = obs4(3, 1, 22, T0 + 20);
	add(s, &o);
	o = obs4(2, 5, 80, T0 + 30);
	add(s, &o);
	o = obs4(1, 1, 80, T0 + 2 * DAY + 50);
	o.family = 6;
	memset(o.src, 0, 16);
	memset(o.dst, 0, 16);
	o.src[0] = 0xfd;
	o.src[15] = 1;
	o.dst[0] = 0xfd;
	o.dst[15] = 2;
	o.proto = IPPROTO_ICMPV6;
	o.port = 128;
	add(s, &o);
	flush(s, T0 + 2 * DAY + 60);

	rows_of(s, 0, &rs);
	cr_assert_eq(rs.n, 5);
	cr_assert_eq(rs.v[0].src[3], 2);
	cr_assert_eq(rs.v[1].src[3], 3);
	cr_assert_eq(rs.v[1].port, 22);
	cr_assert_eq(rs.v[2].port, 80);
	cr_assert_eq(rs.v[3].day, T0 / DAY + 2);
	cr_assert_eq(rs.v[3].family, 4);
	cr_assert_eq(rs.v[4].family, 6);
	cr_assert_eq(rs.v[4].src[15], 1);
	cr_assert_eq(rs.v[4].port, 128);
	cr_assert_eq(rs.v[4].proto, IPPROTO_ICMPV6);

	/* since: last seen at or after */
	rows_of(s, T0 + 20, &rs);
	cr_assert_eq(rs.n, 4);
	rows_of(s, T0 + 2 * DAY + 1, &rs);
	cr_assert_eq(rs.n, 1);
	cr_assert_eq(rs.v[0].family, 6);
	rows_of(s, T0 + 3 * DAY, &rs);
	cr_assert_eq(rs.n, 0);

	/* a reader, alongside the writer, reads the same */
	r = open_r();
	a = dump(s);
	b = dump(r);
	cr_assert_str_eq(a, b);
	cr_assert_eq(xs_store_add(r, &o), -EROFS);
	cr_assert_eq(xs_store_flush(r, T0, NULL, 0), -EROFS);
	free(a);
	free(b);
	xs_store_close(r);
	xs_store_close(s);
}

Test(store, close_flushes_what_is_pending)
{
	struct xs_store *s = open_w(NULL);
	struct xs_store_obs o = obs4(1, 2, 80, T0);
	struct xs_store_stats st;

	add(s, &o);
	o.family = 5;
	cr_assert_eq(xs_store_add(s, &o), -EINVAL);
	xs_store_close(s);
	s = open_r();
	cr_assert_eq(xs_store_stats(s, &st), 0);
	cr_assert_eq(st.rows, 1);
	xs_store_close(s);
	xs_store_close(NULL);
}

/* Who talked to whom is private: the store and its WAL files are 0600,
 * whatever the umask, and a store that exists keeps its mode. */
Test(store, a_new_store_is_readable_by_its_owner_alone)
{
	mode_t old = umask(022);
	struct xs_store_obs o = obs4(1, 2, 443, T0);
	struct xs_store *s = open_w(NULL);
	char wal[160], shm[160];
	struct stat st;

	umask(old);
	add(s, &o);
	flush(s, T0);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "db mode %o", st.st_mode & 07777);
	cr_assert_eq(stat(wal, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "wal mode %o", st.st_mode & 07777);
	cr_assert_eq(stat(shm, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "shm mode %o", st.st_mode & 07777);
	xs_store_close(s);
	cr_assert_eq(chmod(path, 0640), 0);
	s = open_w(NULL);
	xs_store_close(s);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "an existing store keeps its mode");
}

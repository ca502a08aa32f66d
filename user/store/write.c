// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flow store's flush: retention, then the batch, in one transaction
 * (all of it or none of it), under the day's cap on keyed rows and the
 * file's cap on pages (internal.h); and the writer's close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static const char *const sql[ST__COUNT] = {
	/* The columns' old values on the right of every SET: the latest rule,
	 * generation, segments and interface are the latest observation's. */
	[ST_UPDATE] = "UPDATE flows SET first_seen = min(first_seen, ?1),"
		      " last_seen = max(last_seen, ?2),"
		      " connections = connections + ?3, packets = packets + ?4,"
		      " bytes = bytes + ?5,"
		      " rule = CASE WHEN ?2 >= last_seen THEN ?6 ELSE rule END,"
		      " generation = CASE WHEN ?2 >= last_seen THEN ?7 ELSE generation END,"
		      " src_segment = CASE WHEN ?2 >= last_seen THEN ?8 ELSE src_segment END,"
		      " dst_segment = CASE WHEN ?2 >= last_seen THEN ?9 ELSE dst_segment END,"
		      " iface = CASE WHEN ?2 >= last_seen AND ?10 <> '' THEN ?10 ELSE iface END"
		      " WHERE day = ?11 AND family = ?12 AND src = ?13 AND dst = ?14"
		      " AND proto = ?15 AND port = ?16 AND decision = ?17",
	[ST_INSERT] = "INSERT INTO flows (first_seen, last_seen, connections, packets, bytes,"
		      " rule, generation, src_segment, dst_segment, iface,"
		      " day, family, src, dst, proto, port, decision)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		      " ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
	[ST_AGGREGATE] =
		"INSERT INTO aggregates (first_seen, last_seen, connections, packets,"
		" bytes, rule, generation, src_segment, dst_segment, iface,"
		" day, family, proto, decision)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?15, ?17)"
		" ON CONFLICT (day, family, src_segment, dst_segment, proto, decision)"
		" DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),"
		" last_seen = max(last_seen, excluded.last_seen),"
		" connections = connections + excluded.connections,"
		" packets = packets + excluded.packets, bytes = bytes + excluded.bytes,"
		" rule = CASE WHEN excluded.last_seen >= last_seen"
		" THEN excluded.rule ELSE rule END,"
		" generation = CASE WHEN excluded.last_seen >= last_seen"
		" THEN excluded.generation ELSE generation END,"
		" iface = CASE WHEN excluded.last_seen >= last_seen AND excluded.iface <> ''"
		" THEN excluded.iface ELSE iface END",
	[ST_DAY_GET] = "SELECT keyed FROM days WHERE day = ?1",
	[ST_DAY_PUT] =
		"INSERT INTO days (day, keyed, agg)"
		" VALUES (?1, ?2, (SELECT count(*) FROM aggregates WHERE day = ?1))"
		" ON CONFLICT (day) DO UPDATE SET keyed = excluded.keyed, agg = excluded.agg",
	[ST_DEL_FLOWS] = "DELETE FROM flows WHERE day < ?1",
	[ST_DEL_AGG] = "DELETE FROM aggregates WHERE day < ?1",
	[ST_DEL_DAYS] = "DELETE FROM days WHERE day < ?1",
	[ST_OLDEST] = "SELECT min(day) FROM days",
};

static void stmts_free(struct xs_store *s)
{
	for (int i = 0; i < ST__COUNT; i++) {
		sqlite3_finalize(s->stmt[i]);
		s->stmt[i] = NULL;
	}
}

static int stmts_prepare(struct xs_store *s)
{
	for (int i = 0; i < ST__COUNT; i++) {
		int rc;

		if (s->stmt[i])
			continue;
		rc = sqlite3_prepare_v3(s->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
					NULL);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Step a statement that returns no row; reset it. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* The days a flush touches: their keyed rows, counted as it goes. */
struct day_count {
	int64_t day;
	long long keyed;
};

struct flush {
	struct day_count *days;
	size_t ndays;
	uint64_t aggregated; /* observations the day's cap aggregated */
	uint64_t expired;    /* rows retention removed */
};

static struct day_count *day_count(struct xs_store *s, struct flush *f, int64_t day, int *rc)
{
	sqlite3_stmt *st = s->stmt[ST_DAY_GET];
	struct day_count *d;

	for (size_t i = 0; i < f->ndays; i++) {
		if (f->days[i].day == day)
			return &f->days[i];
	}
	d = realloc(f->days, (f->ndays + 1) * sizeof(*d));
	if (!d) {
		*rc = SQLITE_NOMEM;
		return NULL;
	}
	f->days = d;
	d = &f->days[f->ndays++];
	d->day = day;
	d->keyed = 0;
	sqlite3_bind_int64(st, 1, day);
	*rc = sqlite3_step(st);
	if (*rc == SQLITE_ROW)
		d->keyed = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (*rc != SQLITE_ROW && *rc != SQLITE_DONE) {
		f->ndays--;
		return NULL;
	}
	*rc = SQLITE_OK;
	return d;
}

/* The values ?1..?17 of the three writing statements (an aggregate binds
 * its own segments and uses neither ?13, ?14 nor ?16). */
static void bind(sqlite3_stmt *st, const struct st_pend *p, const char *sseg, const char *dseg)
{
	int alen = p->k.family == 6 ? 16 : 4;

	sqlite3_bind_int64(st, 1, p->first);
	sqlite3_bind_int64(st, 2, p->last);
	sqlite3_bind_int64(st, 3, (int64_t)p->connections);
	sqlite3_bind_int64(st, 4, (int64_t)p->packets);
	sqlite3_bind_int64(st, 5, (int64_t)p->bytes);
	sqlite3_bind_text(st, 6, p->rule, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, p->generation);
	sqlite3_bind_text(st, 8, sseg, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, dseg, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, p->iface, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, p->k.day);
	sqlite3_bind_int(st, 12, p->k.family);
	sqlite3_bind_blob(st, 13, p->k.src, alen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 14, p->k.dst, alen, SQLITE_STATIC);
	sqlite3_bind_int(st, 16, p->k.port);
	sqlite3_bind_int(st, 15, p->k.proto);
	sqlite3_bind_int(st, 17, p->k.decision);
}

static int write_aggregate(struct xs_store *s, struct flush *f, const struct st_pend *p,
			   const char *sseg, const char *dseg)
{
	int rc;

	if (!day_count(s, f, p->k.day, &rc))
		return rc;
	bind(s->stmt[ST_AGGREGATE], p, sseg, dseg);
	return run(s->stmt[ST_AGGREGATE]);
}

static int write_entry(struct xs_store *s, struct flush *f, const struct st_pend *p)
{
	struct day_count *d;
	int rc;

	if (p->k.aggregate)
		return write_aggregate(s, f, p, p->k.agg_src, p->k.agg_dst);
	/* UPDATE, then INSERT (not one UPSERT): the day's cap needs to know
	 * whether the key is new */
	bind(s->stmt[ST_UPDATE], p, p->src_seg, p->dst_seg);
	rc = run(s->stmt[ST_UPDATE]);
	if (rc != SQLITE_OK || sqlite3_changes(s->db))
		return rc;
	d = day_count(s, f, p->k.day, &rc);
	if (!d)
		return rc;
	if ((uint64_t)d->keyed >= s->lim.max_day_rows) {
		f->aggregated += p->nobs;
		return write_aggregate(s, f, p, p->src_seg, p->dst_seg);
	}
	bind(s->stmt[ST_INSERT], p, p->src_seg, p->dst_seg);
	rc = run(s->stmt[ST_INSERT]);
	if (rc == SQLITE_OK)
		d->keyed++;
	return rc;
}

/* Rows of the days before `day` removed; their count in *n. */
static int delete_before(struct xs_store *s, int64_t day, uint64_t *n)
{
	static const enum st_stmt del[] = { ST_DEL_FLOWS, ST_DEL_AGG, ST_DEL_DAYS };

	*n = 0;
	for (size_t i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
		int rc;

		sqlite3_bind_int64(s->stmt[del[i]], 1, day);
		rc = run(s->stmt[del[i]]);
		if (rc != SQLITE_OK)
			return rc;
		if (del[i] != ST_DEL_DAYS)
			*n += (uint64_t)sqlite3_changes(s->db);
	}
	return SQLITE_OK;
}

static void rollback(struct xs_store *s)
{
	for (int i = 0; i < ST__COUNT; i++) {
		if (s->stmt[i])
			sqlite3_reset(s->stmt[i]);
	}
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One transaction: retention (days before `cutoff`), the batch, the days' counts. */
static int flush_once(struct xs_store *s, int64_t cutoff, struct flush *f)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	f->ndays = 0;
	f->aggregated = f->expired = 0;
	if (rc != SQLITE_OK)
		return rc;
	if (cutoff != s->retained)
		rc = delete_before(s, cutoff, &f->expired);
	for (uint32_t i = 0; rc == SQLITE_OK && i < s->npend; i++)
		rc = write_entry(s, f, &s->pend[i]);
	for (size_t i = 0; rc == SQLITE_OK && i < f->ndays; i++) {
		sqlite3_bind_int64(s->stmt[ST_DAY_PUT], 1, f->days[i].day);
		sqlite3_bind_int64(s->stmt[ST_DAY_PUT], 2, f->days[i].keyed);
		rc = run(s->stmt[ST_DAY_PUT]);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		rollback(s);
	return rc;
}

/* The oldest day, in its own transaction, to make room; *n its rows. */
static int drop_oldest(struct xs_store *s, int64_t before, uint64_t *n)
{
	sqlite3_stmt *st = s->stmt[ST_OLDEST];
	int64_t oldest;
	int rc;

	*n = 0;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL) {
		sqlite3_reset(st);
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_FULL : rc;
	}
	oldest = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (oldest >= before)
		return SQLITE_FULL; /* only the batch's own days are left */
	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = delete_before(s, oldest + 1, n);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		*n = 0;
		rollback(s);
	}
	return rc;
}

int xs_store_flush(struct xs_store *s, int64_t now, char *err, size_t errlen)
{
	int64_t cutoff, newest = INT64_MIN;
	struct flush f = { 0 };
	char what[96];
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!s || !s->writable)
		return -EROFS;
	cutoff = st_day(now - (int64_t)s->lim.retention_days * 86400);
	if (!s->npend && cutoff == s->retained)
		return 0; /* nothing to write, nothing expired */
	rc = stmts_prepare(s);
	if (rc == SQLITE_OK && s->lim_dirty)
		rc = st_apply_limits(s);
	for (uint32_t i = 0; i < s->npend; i++)
		newest = s->pend[i].k.day > newest ? s->pend[i].k.day : newest;
	while (rc == SQLITE_OK) {
		uint64_t n;

		rc = flush_once(s, cutoff, &f);
		if (rc != SQLITE_FULL)
			break;
		/* full: the oldest day goes (never the batch's newest) */
		rc = drop_oldest(s, newest, &n);
		s->expired += n;
	}
	free(f.days);
	if (rc == SQLITE_OK) {
		s->expired += f.expired;
		s->aggregated += f.aggregated;
		s->retained = cutoff;
		s->flushes++;
		st_batch_clear(s);
		return 0;
	}
	snprintf(what, sizeof(what), "writing %llu observations (lost)",
		 (unsigned long long)s->pending);
	rc = st_error(s, rc, what, err, errlen);
	s->lost += s->pending;
	st_batch_clear(s);
	return rc;
}

/* The writer's end: what is pending flushed, then everything freed. */
void xs_store_close(struct xs_store *s)
{
	char err[256];

	if (!s)
		return;
	if (s->writable && s->pending) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		xs_store_flush(s, ts.tv_sec, err, sizeof(err));
	}
	stmts_free(s);
	sqlite3_close_v2(s->db);
	st_batch_free(s);
	free(s);
}

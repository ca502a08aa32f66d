// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow store, read: its rows in key order, its numbers (store.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/*
 * Both tables as one, in key order; an aggregate row has empty addresses
 * (before any address) and port -1, its segments after the key. A row's
 * last_seen lies in its day: `day >= ?2` lets the primary key skip the
 * days before the window.
 */
static const char each_sql[] =
	"SELECT day, family, src, dst, proto, port, decision, 0, first_seen, last_seen,"
	" connections, packets, bytes, rule, generation, src_segment, dst_segment, iface"
	" FROM flows WHERE day >= ?2 AND last_seen >= ?1"
	" UNION ALL "
	"SELECT day, family, X'', X'', proto, -1, decision, 1, first_seen, last_seen,"
	" connections, packets, bytes, rule, generation, src_segment, dst_segment, iface"
	" FROM aggregates WHERE day >= ?2 AND last_seen >= ?1"
	" ORDER BY 1, 2, 3, 4, 5, 6, 7, 16, 17";

static void copy_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

static void copy_blob(sqlite3_stmt *st, int col, uint8_t *dst)
{
	const void *b = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	memset(dst, 0, 16);
	if (b && n > 0)
		memcpy(dst, b, n > 16 ? 16 : (size_t)n);
}

int xs_store_each(struct xs_store *s, int64_t since, xs_store_row_fn fn, void *arg)
{
	struct xs_store_row r;
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (!s)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->db, each_sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return st_errno(rc);
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, st_day(since));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.day = sqlite3_column_int64(st, 0);
		r.family = (uint8_t)sqlite3_column_int(st, 1);
		copy_blob(st, 2, r.src);
		copy_blob(st, 3, r.dst);
		r.proto = (uint8_t)sqlite3_column_int(st, 4);
		r.port = sqlite3_column_int(st, 5);
		r.decision = (uint8_t)sqlite3_column_int(st, 6);
		r.aggregate = (uint8_t)sqlite3_column_int(st, 7);
		r.first_seen = sqlite3_column_int64(st, 8);
		r.last_seen = sqlite3_column_int64(st, 9);
		r.connections = (uint64_t)sqlite3_column_int64(st, 10);
		r.packets = (uint64_t)sqlite3_column_int64(st, 11);
		r.bytes = (uint64_t)sqlite3_column_int64(st, 12);
		copy_text(st, 13, r.rule, sizeof(r.rule));
		r.generation = (uint32_t)sqlite3_column_int64(st, 14);
		copy_text(st, 15, r.src_segment, sizeof(r.src_segment));
		copy_text(st, 16, r.dst_segment, sizeof(r.dst_segment));
		copy_text(st, 17, r.iface, sizeof(r.iface));
		ret = fn(arg, &r);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = st_errno(rc);
	sqlite3_finalize(st);
	return ret;
}

int xs_store_stats(struct xs_store *s, struct xs_store_stats *out)
{
	static const char days_sql[] = "SELECT count(*), coalesce(sum(keyed + agg), 0), min(day)"
				       " FROM days";
	long long pages = 0, freel = 0, version = 0;
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	out->oldest_day = -1;
	if (!s)
		return -EINVAL;
	out->pending = s->pending;
	out->aggregated = s->aggregated;
	out->expired = s->expired;
	out->lost = s->lost;
	out->flushes = s->flushes;
	rc = sqlite3_prepare_v2(s->db, days_sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return st_errno(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->days = (uint64_t)sqlite3_column_int64(st, 0);
		out->rows = (uint64_t)sqlite3_column_int64(st, 1);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			out->oldest_day = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return st_errno(rc);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT * FROM pragma_page_count(), pragma_freelist_count(),"
			       " pragma_user_version()",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		pages = sqlite3_column_int64(st, 0);
		freel = sqlite3_column_int64(st, 1);
		version = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return st_errno(rc);
	out->bytes = (uint64_t)(pages - freel) * (uint64_t)s->pagesize;
	out->schema = (int)version;
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow store's inside (store.h is its interface):
 *
 *   store.c  open, the schema and its migrations, pragmas, limits, close
 *   batch.c  the batch in memory: pending keys in a bounded hash, interned names
 *   write.c  the batch into the database in one transaction; retention, the size cap
 *   read.c   xs_store_each(), xs_store_stats()
 *
 * Tables (schema 1): `flows`, one row per key and day; `aggregates`, one
 * row per (day, family, segments, protocol, decision) for what a day's cap
 * turned away; `days`, per day the count of both (the cap's and the
 * status's arithmetic without counting rows).
 */
#ifndef XS_STORE_INTERNAL_H
#define XS_STORE_INTERNAL_H

#include <limits.h>
#include <sqlite3.h>

#include "store.h"

/* "xsfs" in PRAGMA application_id: this file is an xdpseg flow store. */
#define ST_APP_ID 0x78736673
/* Distinct keys the batch holds between two flushes; past it, a new key goes
 * into its aggregate entry (ST_BATCH_AGG of those; past that, one per
 * protocol, decision and day with no segments). */
#define ST_BATCH_KEYS 32768u
#define ST_BATCH_AGG 4096u
/* Distinct strings (rules, segments, interfaces) the batch interns. */
#define ST_STRINGS_MAX 65536u
/* Milliseconds the writer waits for a lock (the agent's loop waits with it),
 * and a reader. */
#define ST_WRITER_BUSY_MS 200
#define ST_READER_BUSY_MS 5000
/* The WAL file is cut back to this after a checkpoint. */
#define ST_WAL_LIMIT (4ll << 20)

/* A pending entry's key; zeroed before it is filled (hashed as bytes). */
struct st_key {
	int64_t day;
	uint8_t family;
	uint8_t proto;
	uint8_t decision;
	uint8_t aggregate;
	int32_t port;
	uint8_t src[16];
	uint8_t dst[16];
	/* aggregate only: the segments (interned: equal names, equal pointers) */
	const char *agg_src;
	const char *agg_dst;
};

struct st_pend {
	struct st_key k;
	int64_t first, last;
	uint64_t connections, packets, bytes;
	uint64_t nobs; /* observations merged into it */
	uint32_t generation;
	const char *rule, *src_seg, *dst_seg, *iface; /* interned, of the latest observation */
	uint32_t next;				      /* hash chain: index + 1, 0: end */
};

struct st_str {
	struct st_str *next;
	char s[];
};

/* The writer's statements (write.c), prepared at the first flush. */
enum st_stmt {
	ST_UPDATE,    /* a key of the flows table, merged */
	ST_INSERT,    /* ... a new one */
	ST_AGGREGATE, /* an aggregate row, merged or new (UPSERT) */
	ST_DAY_GET,   /* a day's keyed rows */
	ST_DAY_PUT,   /* ... written back, with its aggregate rows counted */
	ST_DEL_FLOWS, /* every row of the days before ?1 */
	ST_DEL_AGG,
	ST_DEL_DAYS,
	ST_OLDEST, /* the oldest day */
	ST__COUNT,
};

struct xs_store {
	sqlite3 *db;
	char path[PATH_MAX];
	bool writable;
	struct xs_store_limits lim;
	bool lim_dirty;	    /* max_page_count to set at the next flush */
	int64_t retained;   /* the retention cutoff day last applied (INT64_MIN: none) */
	long long pagesize; /* bytes */

	/* The batch (batch.c), in insertion order. */
	struct st_pend *pend;
	uint32_t npend, cappend;
	uint32_t nkeyed, nagg;
	uint32_t *buckets; /* ST_BUCKETS heads: index + 1 */
	struct st_str **strs;
	uint32_t nstrs;
	const char *empty; /* the interned "" */

	sqlite3_stmt *stmt[ST__COUNT];
	uint64_t pending, aggregated, expired, lost, flushes;
};

/* store.c: an SQLite result as a negative errno, told in err as "PATH: what: why". */
int st_error(struct xs_store *s, int rc, const char *what, char *err, size_t errlen);
int st_errno(int rc);

/* batch.c */
int st_batch_init(struct xs_store *s);
void st_batch_clear(struct xs_store *s);
void st_batch_free(struct xs_store *s);
int64_t st_day(int64_t t);

/* store.c: max_page_count from the limits */
int st_apply_limits(struct xs_store *s);

#endif /* XS_STORE_INTERNAL_H */

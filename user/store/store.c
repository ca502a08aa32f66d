// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flow store: open, the schema and its migrations, the pragmas, the
 * limits, close (store.h, internal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl/state.h"
#include "internal.h"

/*
 * migrations[v] takes a database from schema v to v + 1, in the open's
 * transaction; XS_STORE_SCHEMA is their count. A new schema appends its
 * step here (ALTER TABLE, a new table and an INSERT ... SELECT) and never
 * edits an old one: a store written by any earlier xdpseg opens with this one.
 */
static const char *const migrations[] = {
	/* 0 -> 1: a new store */
	"CREATE TABLE flows ("
	" day INTEGER NOT NULL,"    /* days since 1970-01-01 UTC */
	" family INTEGER NOT NULL," /* 4 or 6 */
	" src BLOB NOT NULL,"	    /* the initiator: 4 or 16 bytes */
	" dst BLOB NOT NULL,"	    /* the responder */
	" proto INTEGER NOT NULL,"
	" port INTEGER NOT NULL,"     /* the responder's port; ICMP: the type; -1: none */
	" decision INTEGER NOT NULL," /* 0 allow, 1 audit, 2 drop */
	" first_seen INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL," /* Unix seconds */
	" connections INTEGER NOT NULL,"
	" packets INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL,"
	" rule TEXT NOT NULL," /* of the latest observation, as the rest */
	" generation INTEGER NOT NULL,"
	" src_segment TEXT NOT NULL,"
	" dst_segment TEXT NOT NULL,"
	" iface TEXT NOT NULL,"
	" PRIMARY KEY (day, family, src, dst, proto, port, decision)"
	") WITHOUT ROWID;"
	/* past a day's cap: no addresses, no port */
	"CREATE TABLE aggregates ("
	" day INTEGER NOT NULL,"
	" family INTEGER NOT NULL,"
	" src_segment TEXT NOT NULL,"
	" dst_segment TEXT NOT NULL,"
	" proto INTEGER NOT NULL,"
	" decision INTEGER NOT NULL,"
	" first_seen INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL,"
	" connections INTEGER NOT NULL,"
	" packets INTEGER NOT NULL,"
	" bytes INTEGER NOT NULL,"
	" rule TEXT NOT NULL,"
	" generation INTEGER NOT NULL,"
	" iface TEXT NOT NULL,"
	" PRIMARY KEY (day, family, src_segment, dst_segment, proto, decision)"
	") WITHOUT ROWID;"
	/* per day: its rows in both (the cap, the status) */
	"CREATE TABLE days ("
	" day INTEGER PRIMARY KEY,"
	" keyed INTEGER NOT NULL,"
	" agg INTEGER NOT NULL"
	");",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == XS_STORE_SCHEMA,
	       "one migration per schema version");

const char *xs_store_decision_name(uint8_t d)
{
	switch (d) {
	case XS_STORE_ALLOW:
		return "allow";
	case XS_STORE_AUDIT:
		return "audit";
	case XS_STORE_DROP:
		return "drop";
	default:
		return "?";
	}
}

int xs_store_default_path(char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", xs_state_dir(), XS_STORE_FILE);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int st_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

int st_error(struct xs_store *s, int rc, const char *what, char *err, size_t errlen)
{
	/* the connection's message when it is this error's (a rollback since
	 * replaced it), else SQLite's text for the code */
	const char *why =
		s->db && sqlite3_errcode(s->db) == rc ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

	if (err && errlen) {
		if ((rc & 0xff) == SQLITE_FULL)
			snprintf(err, errlen,
				 "%s: %s: full at its size cap of %llu bytes (the agent's "
				 "flow-store-size)",
				 s->path, what, (unsigned long long)s->lim.max_bytes);
		else
			snprintf(err, errlen, "%s: %s: %s", s->path, what, why);
	}
	return st_errno(rc);
}

static void limits_fill(struct xs_store_limits *dst, const struct xs_store_limits *src)
{
	struct xs_store_limits z = { 0 };

	if (!src)
		src = &z;
	dst->retention_days = src->retention_days ? src->retention_days : XS_STORE_DEFAULT_DAYS;
	dst->max_bytes = src->max_bytes ? src->max_bytes : XS_STORE_DEFAULT_BYTES;
	dst->max_day_rows = src->max_day_rows ? src->max_day_rows : XS_STORE_DEFAULT_DAY_ROWS;
}

void xs_store_set_limits(struct xs_store *s, const struct xs_store_limits *lim)
{
	if (!s)
		return;
	limits_fill(&s->lim, lim);
	s->lim_dirty = true;
	s->retained = INT64_MIN;
}

/* One integer of a pragma or query; rc. */
static int query_int(sqlite3 *db, const char *sql, long long *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* max_page_count from max_bytes: the file's cap. */
int st_apply_limits(struct xs_store *s)
{
	long long pages = (long long)(s->lim.max_bytes / (uint64_t)s->pagesize), got;
	char sql[64];
	int rc;

	if (pages < 8)
		pages = 8; /* the schema's pages, at least */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", pages);
	rc = query_int(s->db, sql, &got);
	if (rc == SQLITE_OK)
		s->lim_dirty = false;
	return rc;
}

/* Bring the schema to XS_STORE_SCHEMA (a writer), or check it is that (a reader). */
static int schema(struct xs_store *s, char *err, size_t errlen)
{
	long long version = 0, app = 0, tables = 0;
	int rc;

	if (s->writable) {
		rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return st_error(s, rc, "cannot lock it", err, errlen);
	}
	rc = query_int(s->db, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = query_int(s->db, "PRAGMA application_id", &app);
	if (rc == SQLITE_OK)
		rc = query_int(s->db, "SELECT count(*) FROM sqlite_master", &tables);
	if (rc != SQLITE_OK) {
		rc = st_error(s, rc, "cannot read it", err, errlen);
		goto out;
	}
	if ((app && app != ST_APP_ID) || (!version && tables)) {
		snprintf(err, errlen, "%s: not an xdpseg flow store (another program's database)",
			 s->path);
		rc = -EPROTO;
		goto out;
	}
	if (version > XS_STORE_SCHEMA) {
		snprintf(err, errlen,
			 "%s: its schema (version %lld) is newer than this xdpseg's (%d): read it "
			 "with the xdpseg that wrote it",
			 s->path, version, XS_STORE_SCHEMA);
		rc = -EPROTO;
		goto out;
	}
	if (!s->writable) {
		if (version < XS_STORE_SCHEMA) {
			snprintf(err, errlen,
				 "%s: its schema (version %lld) is older than this xdpseg's (%d): "
				 "the agent migrates it when it opens it",
				 s->path, version, XS_STORE_SCHEMA);
			return -EPROTO;
		}
		return 0;
	}
	for (long long v = version; v < XS_STORE_SCHEMA; v++) {
		rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			char what[64];

			snprintf(what, sizeof(what), "migrating it to schema %lld", v + 1);
			rc = st_error(s, rc, what, err, errlen);
			goto out;
		}
	}
	if (version < XS_STORE_SCHEMA) {
		char sql[96];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
			 XS_STORE_SCHEMA, ST_APP_ID);
		rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			rc = st_error(s, rc, "writing its schema version", err, errlen);
			goto out;
		}
	}
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return st_error(s, rc, "writing its schema", err, errlen);
	return 0;
out:
	if (s->writable)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* The writer's pragmas: WAL (readers concurrently), synchronous NORMAL (a
 * crash loses the last transactions, never the file), the WAL cut back
 * after checkpoints, and the size cap. */
static int pragmas(struct xs_store *s, char *err, size_t errlen)
{
	char sql[160];
	int rc;

	sqlite3_busy_timeout(s->db, s->writable ? ST_WRITER_BUSY_MS : ST_READER_BUSY_MS);
	if (!s->writable)
		return 0;
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
		 "PRAGMA journal_size_limit = %lld; PRAGMA temp_store = MEMORY",
		 ST_WAL_LIMIT);
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return st_error(s, rc, "setting it up", err, errlen);
	return 0;
}

/*
 * Who talked to whom is the farm's map: a store is made readable by its
 * owner alone (0600; SQLite gives the -wal and -shm files the mode of the
 * database), whatever the umask. An empty file is an empty database.
 */
static int create_private(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600), e;

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	e = errno;
	if (e == EEXIST)
		return 0;
	snprintf(err, errlen, "%s: cannot create it: %s", path, strerror(e));
	return -e;
}

int xs_store_open(const char *path, bool writable, const struct xs_store_limits *lim,
		  struct xs_store **out, char *err, size_t errlen)
{
	int flags = writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
	struct xs_store *s;
	struct stat sb;
	char dummy[8];
	long long ps = 0;
	int rc;

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	*out = NULL;
	err[0] = '\0';
	if (strlen(path) >= sizeof(s->path)) {
		snprintf(err, errlen, "%.64s...: path too long", path);
		return -ENAMETOOLONG;
	}
	if (!writable && stat(path, &sb)) {
		rc = -errno;
		if (rc == -ENOENT)
			snprintf(err, errlen,
				 "%s: no flow store there: the agent writes it (its flow-store "
				 "setting; is the agent running here?)",
				 path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (writable) {
		rc = create_private(path, err, errlen);
		if (rc)
			return rc;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->writable = writable;
	s->retained = INT64_MIN;
	limits_fill(&s->lim, lim);
	rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int e = s->db ? sqlite3_system_errno(s->db) : 0;

		if (e)
			snprintf(err, errlen, "%s: cannot open it: %s", path, strerror(e));
		else
			st_error(s, rc, "cannot open it", err, errlen);
		rc = e ? -e : st_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 0);
	rc = pragmas(s, err, errlen);
	if (!rc)
		rc = schema(s, err, errlen);
	if (rc)
		goto fail;
	rc = query_int(s->db, "PRAGMA page_size", &ps);
	if (rc != SQLITE_OK || ps <= 0) {
		rc = st_error(s, rc ? rc : SQLITE_ERROR, "reading its page size", err, errlen);
		goto fail;
	}
	s->pagesize = ps;
	if (writable) {
		rc = st_apply_limits(s);
		if (rc == SQLITE_OK)
			rc = st_batch_init(s);
		else
			rc = st_error(s, rc, "setting its size cap", err, errlen);
		if (rc) {
			if (rc == -ENOMEM)
				snprintf(err, errlen, "%s: out of memory", path);
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	sqlite3_close_v2(s->db);
	st_batch_free(s);
	free(s);
	return rc;
}

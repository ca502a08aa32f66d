/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow store: what the agent observed, kept in an embedded SQLite
 * database in its state directory (WAL mode, schema versioned and migrated),
 * aggregated per (source address, destination address, protocol, server
 * port, decision, day) with first/last seen, connections, packets and bytes,
 * the rule that decided, the generation and the segments at the time.
 *
 * The source is always the connection's initiator as the datapath tracked it
 * (who sent the SYN or the first datagram), the port always the responder's:
 * never guessed from port numbers.
 *
 * The agent writes (xs_store_add() into a batch in memory, xs_store_flush()
 * in one transaction); `map`, `suggest` and `replay` read (xs_store_each()),
 * concurrently, through WAL. The size is bounded three ways: retention in
 * days, a cap on the keyed rows of one day (past it, new keys of that day
 * aggregate into one row per segment pair, protocol, decision and day, with
 * no addresses and no port: a flood of spoofed sources or scanned ports
 * grows one row), and a cap on the file (SQLite's max_page_count; when
 * full, the oldest day goes first).
 */
#ifndef XS_STORE_H
#define XS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The store's file in the state directory. */
#define XS_STORE_FILE "flows.db"
/* PRAGMA user_version of the schema this code writes; older ones are migrated. */
#define XS_STORE_SCHEMA 1

#define XS_STORE_RULE_LEN 256
#define XS_STORE_SEG_LEN 120 /* XS_ORIGIN_TEXT_LEN */
#define XS_STORE_IFACE_LEN 24

/* What happened to the flow, as the datapath decided at the time. */
enum xs_store_decision {
	XS_STORE_ALLOW = 0, /* passed by a rule or a default */
	XS_STORE_AUDIT = 1, /* passed in monitor mode: enforcing would drop it */
	XS_STORE_DROP = 2,
};

const char *xs_store_decision_name(uint8_t d); /* "allow", "audit", "drop" */

/* One observation the agent feeds: a connection begun (connections 1), more
 * packets and bytes of one (connections 0), or dropped packets (connections:
 * how many). Strings are copied; NULL is "". */
struct xs_store_obs {
	uint8_t family;	  /* 4 or 6 */
	uint8_t proto;	  /* IP protocol number */
	uint8_t decision; /* enum xs_store_decision */
	uint8_t pad;
	uint8_t src[16]; /* the initiator; IPv4 in the first 4 bytes */
	uint8_t dst[16]; /* the responder */
	int32_t port;	 /* the responder's port, host order; ICMP: the type; -1: none */
	uint32_t generation;
	int64_t time; /* wall clock, Unix seconds */
	uint64_t connections;
	uint64_t packets; /* new since this flow's last observation, both ways */
	uint64_t bytes;
	const char *rule;	 /* FILE:LINE, or what decided ("default in vda", ...) */
	const char *src_segment; /* the segments' names at the time */
	const char *dst_segment;
	const char *iface; /* where the datapath saw it first; "" unknown */
};

/* Bounds; a 0 field takes its default. */
struct xs_store_limits {
	unsigned int retention_days; /* default 30 */
	uint64_t max_bytes;	     /* default 256 MiB */
	uint64_t max_day_rows;	     /* keyed rows per day; default 200,000 */
};

#define XS_STORE_DEFAULT_DAYS 30
#define XS_STORE_DEFAULT_BYTES (256ull << 20)
#define XS_STORE_DEFAULT_DAY_ROWS 200000ull

struct xs_store;

/*
 * Open (writable: create and migrate) the store at `path`. A reader never
 * creates one: -ENOENT when there is none. A newer schema than this code's
 * is -EPROTO. Errors are also told in err ("PATH: why").
 */
int xs_store_open(const char *path, bool writable, const struct xs_store_limits *lim,
		  struct xs_store **out, char *err, size_t errlen);
/* Pending observations are flushed first (writable). NULL is fine. */
void xs_store_close(struct xs_store *s);
/* New limits (a reload); applied at the next flush. */
void xs_store_set_limits(struct xs_store *s, const struct xs_store_limits *lim);

/* Into the batch in memory (bounded: past its cap, into aggregate rows). */
int xs_store_add(struct xs_store *s, const struct xs_store_obs *o);
/* The batch into the database in one transaction: all of it, or (an error)
 * none of it, counted lost. Then retention as of `now` (Unix seconds). */
int xs_store_flush(struct xs_store *s, int64_t now, char *err, size_t errlen);

struct xs_store_stats {
	uint64_t rows;	     /* in the database */
	uint64_t days;	     /* distinct days */
	uint64_t bytes;	     /* the file's pages in use */
	uint64_t pending;    /* observations in the batch */
	uint64_t aggregated; /* observations put in an aggregate row (a day's cap) */
	uint64_t expired;    /* rows removed by retention or the size cap */
	uint64_t lost;	     /* observations lost to a failed flush */
	uint64_t flushes;
	int64_t oldest_day; /* -1: empty */
	int schema;
};

int xs_store_stats(struct xs_store *s, struct xs_store_stats *st);

/* A row as stored. */
struct xs_store_row {
	int64_t day; /* days since 1970-01-01 UTC */
	uint8_t family;
	uint8_t proto;
	uint8_t decision;  /* enum xs_store_decision */
	uint8_t aggregate; /* addresses and port unknown: a day's cap was reached */
	uint8_t src[16];
	uint8_t dst[16];
	int32_t port; /* -1: none (or aggregate) */
	uint32_t generation;
	int64_t first_seen; /* Unix seconds */
	int64_t last_seen;
	uint64_t connections;
	uint64_t packets;
	uint64_t bytes;
	char rule[XS_STORE_RULE_LEN];
	char src_segment[XS_STORE_SEG_LEN];
	char dst_segment[XS_STORE_SEG_LEN];
	char iface[XS_STORE_IFACE_LEN];
};

/* fn's nonzero return stops the walk and is returned. */
typedef int (*xs_store_row_fn)(void *arg, const struct xs_store_row *r);

/* Every row seen at or after `since` (last_seen >= since; Unix seconds), in
 * key order (day, family, src, dst, proto, port, decision): deterministic. */
int xs_store_each(struct xs_store *s, int64_t since, xs_store_row_fn fn, void *arg);

/* The store's path in the state directory in force (ctl/state.h). */
int xs_store_default_path(char *buf, size_t size);

#endif /* XS_STORE_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One policy for the whole farm (xdpseg(8), FLEET): what is kept in etcd,
 * under one versioned prefix per fleet, and what reads and writes it.
 *
 *   /xdpseg/v1/FLEET/current              the pointer: the policy in force
 *                                         (JSON: generation, hash, chunks,
 *                                         size, author, time, file)
 *   /xdpseg/v1/FLEET/bundle/HASH/NNNN     the compiled artefact
 *                                         (xs_compiled_serialize()), in
 *                                         chunks of XS_FLEET_CHUNK bytes
 *                                         (below etcd's 1.5 MiB request limit)
 *   /xdpseg/v1/FLEET/history/GEN          GEN's hash: what garbage
 *                                         collection keeps (the last N)
 *   /xdpseg/v1/FLEET/status/HOST          a host's report, on a lease
 *                                         (TTL XS_FLEET_TTL_S, refreshed
 *                                         every XS_FLEET_REPORT_S)
 *   /xdpseg/v1/FLEET/seen/HOST            its last report, without a lease:
 *                                         a host gone is "lost", not unknown
 *
 * HASH is the SHA-256 of the artefact's bytes, lowercase hex: a host
 * verifies what it fetched against it before it applies anything.
 * bundle.c: keys, chunks, pointer and report (JSON); publish.c: publish and
 * garbage collection; status.c: the fleet's state from the reports.
 */
#ifndef XS_FLEET_H
#define XS_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet/etcd.h"

#define XS_FLEET_PREFIX "/xdpseg/v1/"
#define XS_FLEET_CHUNK (512u << 10)
#define XS_FLEET_NAME_LEN 64 /* fleet and host names: [A-Za-z0-9._-], 1..63 */
#define XS_FLEET_TTL_S 90
#define XS_FLEET_REPORT_S 30
#define XS_FLEET_KEEP 5 /* generations garbage collection keeps */

/* Is `s` a fleet or host name (1-63 of [A-Za-z0-9._-], not "." or "..")? */
bool xs_fleet_name_ok(const char *s);

/* "/xdpseg/v1/FLEET/current", ".../bundle/HASH/", ".../bundle/HASH/0003",
 * ".../status/", ".../status/HOST", ".../seen/HOST", ".../history/GEN".
 * The prefixes: hash NULL ".../bundle/", host NULL ".../status/" and
 * ".../seen/", generation 0 ".../history/". */
void xs_fleet_key_current(char *buf, size_t size, const char *fleet);
void xs_fleet_key_bundle(char *buf, size_t size, const char *fleet, const char *hash);
void xs_fleet_key_chunk(char *buf, size_t size, const char *fleet, const char *hash,
			unsigned int i);
void xs_fleet_key_status(char *buf, size_t size, const char *fleet, const char *host);
void xs_fleet_key_seen(char *buf, size_t size, const char *fleet, const char *host);
void xs_fleet_key_history(char *buf, size_t size, const char *fleet, uint64_t generation);

/* The pointer: the policy the fleet is to enforce. */
struct xs_fleet_pointer {
	uint64_t generation; /* 1, 2, ...: one more at every publish */
	char hash[65];	     /* of the artefact */
	uint32_t chunks;
	uint64_t size; /* the artefact's bytes */
	char author[64];
	int64_t time;	      /* published, Unix seconds */
	int64_t time_ms;      /* the same, in milliseconds (time to converge counts from it) */
	char file[256];	      /* the policy file published (as named) */
	int64_t mod_revision; /* of the key (from etcd, not in the JSON) */
};

/* JSON (malloc'd) / from JSON: 0, or -EINVAL with why (untrusted input:
 * every field checked: hash 64 hex, chunks 1..4096 and consistent with
 * size, names printable). */
int xs_fleet_pointer_json(const struct xs_fleet_pointer *p, char **out);
int xs_fleet_pointer_parse(const char *json, size_t len, struct xs_fleet_pointer *p, char *err,
			   size_t errlen);

/* A host's report. */
struct xs_fleet_report {
	char host[XS_FLEET_NAME_LEN];
	char hash[65];	     /* the policy it enforces ("": none yet) */
	uint64_t generation; /* the fleet generation of that hash (0: not the fleet's) */
	int64_t applied;     /* when it applied it, Unix seconds (ms precision below) */
	int64_t applied_ms;  /* the same, in milliseconds */
	int64_t time;	     /* this report, Unix seconds */
	char state[16];	     /* "current", "applying" (the pointer names a hash it does not
				  enforce yet), "failing"; "offline" is read, never sent */
	char error[256];     /* failing: why ("bundle 1f2e...: hash mismatch") */
	uint32_t interfaces; /* selected */
	uint32_t protected_; /* of those, protected */
	uint64_t packets;    /* the datapath's counters */
	uint64_t drops;
	char version[32]; /* xdpseg's */
};

int xs_fleet_report_json(const struct xs_fleet_report *r, char **out);
int xs_fleet_report_parse(const char *json, size_t len, struct xs_fleet_report *r, char *err,
			  size_t errlen);

/* SHA-256 of b, lowercase hex (65 bytes with the NUL). */
void xs_fleet_hash(const void *b, size_t n, char out[65]);

/* ---- Publishing (publish.c) ------------------------------------------------- */

struct xs_fleet_publish {
	const char *fleet;
	const char *file;     /* the policy file, as named (kept in the pointer) */
	const void *artefact; /* xs_compiled_serialize() of it, compiled without error */
	size_t len;
	const char *author; /* NULL: $SUDO_USER or $USER @ hostname */
	unsigned int keep;  /* generations kept (0: XS_FLEET_KEEP) */
};

/*
 * Publish: the chunks (idempotent: content-addressed), then, in one
 * transaction that compares the pointer's mod_revision with the one read
 * (two publishers never interleave: the second gets -EAGAIN, "another
 * publish moved the pointer first (generation N by AUTHOR): run it again"),
 * the pointer (generation + 1) and the history entry; then bundles of
 * generations older than `keep` deleted. *out: the new pointer. The same
 * hash as the current one publishes nothing (-EALREADY, *out the current).
 */
int xs_fleet_publish(struct xs_etcd_sync *s, const struct xs_fleet_publish *p,
		     struct xs_fleet_pointer *out, char *err, size_t errlen);

/* The current pointer: 0, -ENOENT (nothing published), or another error. */
int xs_fleet_current(struct xs_etcd_sync *s, const char *fleet, struct xs_fleet_pointer *out,
		     char *err, size_t errlen);

/* ---- The fleet's state (status.c) ------------------------------------------- */

enum xs_fleet_host_state {
	XS_FLEET_CURRENT = 0, /* reports the current hash */
	XS_FLEET_BEHIND = 1,  /* reports an older one, no error */
	XS_FLEET_FAILING = 2, /* reports an error */
	XS_FLEET_LOST = 3,    /* its leased report expired: only `seen` is left */
};

struct xs_fleet_host {
	struct xs_fleet_report r;
	enum xs_fleet_host_state state;
	int64_t converge_ms; /* current: applied_ms - the pointer's time_ms; -1 unknown */
};

struct xs_fleet_state {
	struct xs_fleet_pointer current;
	bool published;
	struct xs_fleet_host *hosts; /* by name */
	size_t nhosts;
	size_t count[4];		/* by state */
	int64_t p50_ms, p99_ms, max_ms; /* time to converge of the current publish; -1 none */
};

/* Read the pointer, every status and seen key: the fleet's state. */
int xs_fleet_state_read(struct xs_etcd_sync *s, const char *fleet, struct xs_fleet_state *st,
			char *err, size_t errlen);
void xs_fleet_state_free(struct xs_fleet_state *st);
/* What xs_fleet_state_read() does once the hosts are read (their reports,
 * LOST set on those with only a `seen` key): hosts sorted by name, each
 * one's state and converge_ms, the counts and the percentiles (nearest
 * rank over the current hosts). */
void xs_fleet_state_summarize(struct xs_fleet_state *st);

#endif /* XS_FLEET_H */

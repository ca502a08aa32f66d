/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A host following its fleet (follow.c): the pointer read, then watched
 * from the read's revision on; a new pointer's bundle fetched, verified
 * (its hash) and handed to `apply`; the host's report put under its lease
 * at once after every change and every report_s, and its `seen` key with
 * it. A watch that breaks comes back after a backoff (backoff_min_ms
 * doubling to backoff_max_ms, jitter of +-25%); one compacted past its
 * revision reads the pointer again and watches from there. While etcd is
 * unreachable nothing changes here: the host enforces what it enforces
 * (never open, never flushed) and says so (event XS_FOLLOW_LOST, status).
 *
 * No thread and no clock of its own: it runs on the xs_etcd it is given
 * (whose multi the caller drives) and on the times the caller passes;
 * the agent runs one (user/agent/fleet.c), `scripts/bench --fleet` a
 * thousand on one multi (tests/bench/fleet-sim.c).
 */
#ifndef XS_FLEET_FOLLOW_H
#define XS_FLEET_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "fleet/etcd.h"
#include "fleet/fleet.h"

enum xs_follow_event {
	XS_FOLLOW_CONNECTED = 1, /* the pointer read (after a start or an outage) */
	XS_FOLLOW_LOST,		 /* etcd unreachable: enforcing what is in force */
	XS_FOLLOW_COMPACTED,	 /* the watch's revision was compacted: read again */
	XS_FOLLOW_APPLIED,	 /* a new generation applied */
	XS_FOLLOW_FAILED,	 /* a bundle that could not be fetched, verified or applied */
	XS_FOLLOW_REPORT_FAILED, /* a report that did not land (tried again) */
};

struct xs_follow_ops {
	/* A verified bundle (the artefact's bytes) of pointer p: apply it
	 * atomically. 0, or a negative errno with why in err (the host then
	 * reports "failing" with it, and tries again only at the next
	 * pointer). Called from xs_etcd_done(), in the caller's thread. */
	int (*apply)(void *arg, const struct xs_fleet_pointer *p, const void *artefact, size_t len,
		     char *err, size_t errlen);
	/* The host's counters into r (interfaces, protected_, packets, drops,
	 * version) at every report; NULL: none. */
	void (*fill)(void *arg, struct xs_fleet_report *r);
	/* What happened, one line for the log; NULL: nothing. */
	void (*event)(void *arg, enum xs_follow_event ev, const char *msg);
	/* The report `r` landed in etcd at `now_ms` (benchmarks); NULL: nothing. */
	void (*reported)(void *arg, const struct xs_fleet_report *r, int64_t now_ms);
};

struct xs_follow_opts {
	const char *fleet;
	const char *host;
	unsigned int report_s; /* 0: XS_FLEET_REPORT_S */
	unsigned int ttl_s;    /* the report's lease; 0: XS_FLEET_TTL_S */
	const char *last_hash; /* what the host enforces ("" or NULL: nothing
				* of the fleet's): a pointer to it is not fetched */
	uint64_t last_generation;
	int64_t last_applied_ms;     /* when it was applied (its report says so) */
	unsigned int backoff_min_ms; /* 0: 200 */
	unsigned int backoff_max_ms; /* 0: 30000 */
	unsigned int seed;	     /* the jitter's (0: from the host name) */
};

struct xs_follow;

/* The options are copied. 0, or -ENOMEM / -EINVAL (a bad name). */
int xs_follow_new(struct xs_etcd *e, const struct xs_follow_opts *o,
		  const struct xs_follow_ops *ops, void *arg, struct xs_follow **out);
/* Cancels what is in flight. NULL is fine. */
void xs_follow_free(struct xs_follow *f);

/* Start following at now_ms (CLOCK_MONOTONIC or any clock the caller keeps,
 * the same for every call; wall-clock times in reports come from time()). */
void xs_follow_start(struct xs_follow *f, int64_t now_ms);
/* Timers due at now_ms: retries, reports, the lease's keepalive. */
void xs_follow_tick(struct xs_follow *f, int64_t now_ms);
/* When the next timer is due (the caller polls until then at most). */
int64_t xs_follow_next_ms(const struct xs_follow *f);

struct xs_follow_status {
	bool connected;	     /* the pointer read and a watch open */
	int64_t since_ms;    /* in this state since */
	uint64_t generation; /* applied */
	char hash[65];
	int64_t applied_ms;
	char error[256]; /* the last failure ("": none since the last apply) */
	uint64_t applies, failures, reconnects, compactions, reports, report_failures;
	int64_t pointer_revision; /* the pointer's mod_revision last seen */
};

void xs_follow_status(const struct xs_follow *f, struct xs_follow_status *st);

#endif /* XS_FLEET_FOLLOW_H */

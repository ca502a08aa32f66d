/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading and naming what the datapath left in the pinned maps (status, stats, watch). */
#ifndef XS_SHOW_H
#define XS_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "push.h"

/* Short names used in text and JSON output. */
const char *xs_show_verdict(unsigned int v);  /* "allow", "drop", "audit" */
const char *xs_verdict_upper(unsigned int v); /* "ALLOW", "DROP", "AUDIT" (watch lines) */
const char *xs_show_reason(unsigned int r);   /* "rule", "deny-rule", "default-in", ... */
const char *xs_show_proto(uint8_t proto, char *buf, size_t size); /* "tcp", "udp", "ip-47" */

/* An address of `family` (4 or 6) as text; IPv6 in brackets when `bracket`. */
void xs_show_addr(uint8_t family, const uint8_t *addr, bool bracket, char *buf, size_t size);

/* Unix seconds as "YYYY-MM-DD HH:MM:SS UTC". */
void xs_show_time(uint64_t secs, char *buf, size_t size);

/* Sum over the CPUs of the first `nfields` u64s of a per-CPU counter slot at
 * key `key` (-EINVAL when the map's values are smaller). */
int xs_percpu_sum(int fd, uint32_t key, size_t nfields, uint64_t *sum);

/* xs_stats[idx] summed over the CPUs: packets, bytes, event outcomes. */
int xs_stat_read(const struct xs_maps *m, uint32_t idx, struct xs_counter *c);

/* The accounting invariant of a verdict and reason: packets = events sent +
 * rate-limited + lost + none (include/xdpseg.h, enum xs_ev_outcome). */
bool xs_counter_balanced(const struct xs_counter *c);

/* Every verdict and reason summed into one counter, and events lost outside
 * them (the rollback event's) added to ev[XS_EV_LOST]. */
int xs_event_totals(const struct xs_maps *m, struct xs_counter *t);
/* The same from counters already read (`st`: XS_STAT__MAX of them, summed over CPUs). */
void xs_event_sum(const struct xs_counter *st, struct xs_counter *t);

/* One entry of xs_origins; returns -ENOENT when absent. */
int xs_origin_get(const struct xs_maps *m, uint32_t set, uint32_t rule_id, struct xs_origin *o);

/* Name of segment `seg` in policy set `set` ("world" for 0, "seg-N" if unknown). */
void xs_segment_name(const struct xs_maps *m, uint32_t set, uint16_t seg, char *buf, size_t size);

/* Policy metadata of a set (zeroed when none). */
int xs_meta_get(const struct xs_maps *m, uint32_t set, struct xs_policy_meta *meta);

/* Events lost (ring buffer full) and suppressed by their rate limit (drops
 * and allowed new flows), in all (xs_event_totals()). */
int xs_event_losses(const struct xs_maps *m, uint64_t *lost, uint64_t *ratelimited);

#endif /* XS_SHOW_H */

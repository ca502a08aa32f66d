/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow tables (xs_flow4, xs_flow6: include/xdpseg.h, "Flow table") from
 * userspace. Every read and write of a bucket holds its spin lock
 * (BPF_F_LOCK), as the datapath does.
 */
#ifndef XS_FLOWS_H
#define XS_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps.h"

/* Called for every entry in use (free slots are skipped); a non-zero
 * return stops the scan and is returned. `k` is the normalised key. */
typedef int (*xs_flow_fn)(const struct xs_tuple *k, const struct xs_flow_hdr *h, void *arg);

/* Visit every entry in use of both tables. Returns 0, fn's stop value, or
 * a negative errno. */
int xs_flows_scan(const struct xs_maps *m, xs_flow_fn fn, void *arg);

/*
 * An entry with what it has counted (include/xdpseg.h, "Flow accounting"),
 * as of one instant (its bucket read under the lock). For a remembered
 * denial (h.state XS_CT_DENIED) only the key and header mean anything.
 */
struct xs_flow_entry {
	struct xs_tuple key;  /* normalised (side a: the smaller (address, port)) */
	struct xs_flow_hdr h; /* state, flags (XS_CTF_INIT_B: the initiator is side b), expiry */
	uint64_t start_ns;    /* the datapath's clock (xs_datapath_mono_ns()) at its first packet */
	uint64_t packets[2];  /* [0] from the initiator, [1] from the responder */
	uint64_t bytes[2];
	uint32_t ifindex; /* where its first packet was seen (h.flags & XS_CTF_EGRESS: TC egress):
			   * its packets count there (at either hook) */
};

typedef int (*xs_flow_entry_fn)(const struct xs_flow_entry *e, void *arg);

/* xs_flows_scan() with each entry's counts, start and interface. */
int xs_flows_walk(const struct xs_maps *m, xs_flow_entry_fn fn, void *arg);

/* The entry of the normalised key `k` with its counts: 0, or -ENOENT. */
int xs_flow_get(const struct xs_maps *m, const struct xs_tuple *k, struct xs_flow_entry *out);

/*
 * Has tracked flow `e` ended by its timeout at the datapath's `now`, with
 * no end record sent (the datapath sends one when it ends a flow itself,
 * XS_CTF_ENDED)? Its end is then for userspace to report: xs_flow_record()
 * with XS_FLOW_END_TIMEOUT (the datapath sends that cause too when a new
 * flow takes the expired entry first: the same flow reported twice has the
 * same key, start_ns and stamp).
 */
bool xs_flow_timed_out(const struct xs_flow_entry *e, uint64_t now);

/*
 * Entry `e` as a record, in the datapath's format (struct xs_flow_end: the
 * initiator's direction): `cause` (XS_FLOW_END_NONE: a live flow so far),
 * ending at `end_ns` (XS_FLOW_END_TIMEOUT: pass e->h.expires_ns, as the
 * datapath does). Its kind is XS_REC_FLOW_END.
 */
void xs_flow_record(const struct xs_flow_entry *e, uint8_t cause, uint64_t end_ns,
		    struct xs_flow_end *rec);

/* The name of an end's cause (enum xs_flow_cause) as the manual gives it:
 * "fin", "rst", "revoked", "grant-expired", "evicted", "timeout",
 * "replaced"; "none" for XS_FLOW_END_NONE, NULL for no cause. */
const char *xs_flow_cause_name(uint8_t cause);

/* How full the tables are at the datapath's `now` (xs_datapath_mono_ns()). */
struct xs_flow_stats {
	uint64_t live4, live6; /* tracked flows not expired */
	uint64_t denials;      /* remembered denials not expired */
	uint64_t stale;	       /* expired entries still in their slots */
	uint64_t slots4, slots6;
	uint64_t evicted; /* live flows whose slot went to a new flow, ever */
	/* flow-end records (struct xs_flow_end) on the ring buffer, ever; not sent
	 * because their token bucket was empty; not sent because it was full */
	uint64_t records_sent, records_suppressed, records_lost;
};
int xs_flows_stats(const struct xs_maps *m, uint64_t now, struct xs_flow_stats *st);

/* The entry of the normalised key `k` (any state): 0, or -ENOENT. */
int xs_flow_find(const struct xs_maps *m, const struct xs_tuple *k, struct xs_flow_hdr *out);

/*
 * Free the entry of `k`: 0, or -ENOENT. Read and written under the lock,
 * but not atomically: a datapath write to the same bucket between the two
 * is lost (tests and benchmarks use it, on a quiet table).
 */
int xs_flow_delete(const struct xs_maps *m, const struct xs_tuple *k);

#endif /* XS_FLOWS_H */

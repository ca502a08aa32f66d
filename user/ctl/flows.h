/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow tables (xs_flow4, xs_flow6: include/xdpseg.h, "Flow table") from
 * userspace. Every read and write of a bucket holds its spin lock
 * (BPF_F_LOCK), as the datapath does.
 */
#ifndef XS_FLOWS_H
#define XS_FLOWS_H

#include <stddef.h>
#include <stdint.h>

#include "maps.h"

/* Called for every entry in use (free slots are skipped); a non-zero
 * return stops the scan and is returned. `k` is the normalised key. */
typedef int (*xs_flow_fn)(const struct xs_tuple *k, const struct xs_flow_hdr *h, void *arg);

/* Visit every entry in use of both tables. Returns 0, fn's stop value, or
 * a negative errno. */
int xs_flows_scan(const struct xs_maps *m, xs_flow_fn fn, void *arg);

/* How full the tables are at the datapath's `now` (xs_datapath_mono_ns()). */
struct xs_flow_stats {
	uint64_t live4, live6; /* tracked flows not expired */
	uint64_t denials;      /* remembered denials not expired */
	uint64_t stale;	       /* expired entries still in their slots */
	uint64_t slots4, slots6;
	uint64_t evicted; /* live flows whose slot went to a new flow, ever */
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

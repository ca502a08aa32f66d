/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow-end records (include/xdpseg.h, struct xs_flow_end): staged under a
 * flow-table bucket's lock as the entry ends (flow.h: stores only, no helper
 * call), sent once the lock is released, through a per-CPU token bucket of
 * their own (two: the ends a flow's own packet causes, the ends a new flow
 * causes), never through the events' buckets.
 */
#ifndef XS_LIB_FLOWREC_H
#define XS_LIB_FLOWREC_H

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "events.h"
#include "maps.h"
#include "stats.h"

/*
 * Stage in `rec` the end of entry `h` (its addresses follow it; `fam`: 4 or
 * 6) for `cause` at `end_ns`; `start_ns`, `ifindex`: its first packet's.
 * The caller has written its counts (rec->packets, rec->bytes). Under the
 * bucket's lock: stores only.
 */
static __always_inline void flowrec_stage(struct xs_flow_end *rec, const struct xs_flow_hdr *h,
					  int fam, __u64 start_ns, __u32 ifindex, __u8 cause,
					  __u64 end_ns)
{
	const __u8 *addr = (const __u8 *)(h + 1);
	int ib = !!(h->flags & XS_CTF_INIT_B); /* the initiator is side b */

	rec->kind = XS_REC_FLOW_END;
	rec->cause = cause;
	rec->family = (__u8)fam;
	rec->ifindex = ifindex;
	rec->start_ns = start_ns;
	rec->end_ns = end_ns;
	rec->generation = h->generation;
	rec->rule_id = h->rule_id;
	rec->src_seg = h->src_seg;
	rec->dst_seg = h->dst_seg;
	rec->sport = bpf_ntohs(ib ? h->port_b : h->port_a);
	rec->dport = bpf_ntohs(ib ? h->port_a : h->port_b);
	rec->proto = h->proto;
	rec->state = h->state;
	rec->flags = h->flags;
	rec->reason = h->reason;
	rec->icmp_type = h->icmp_type;
	rec->stamp = h->stamp;
	rec->pad[0] = 0;
	rec->pad[1] = 0;
	__builtin_memset(rec->saddr, 0, sizeof(rec->saddr));
	__builtin_memset(rec->daddr, 0, sizeof(rec->daddr));
	if (fam == 4) {
		__builtin_memcpy(rec->saddr, addr + (ib ? 4 : 0), 4);
		__builtin_memcpy(rec->daddr, addr + (ib ? 0 : 4), 4);
	} else {
		__builtin_memcpy(rec->saddr, addr + (ib ? 16 : 0), 16);
		__builtin_memcpy(rec->daddr, addr + (ib ? 0 : 16), 16);
	}
}

/* Take a token of the records' bucket `idx` (XS_EVB_FLOWEND, XS_EVB_FLOWNEW)
 * at `now`: 1 when taken. */
static __always_inline int flowrec_take(__u32 idx, __u64 now)
{
	__u32 zero = 0;
	const struct xs_config *cfg = bpf_map_lookup_elem(&xs_config, &zero);

	if (!cfg)
		return 0;
	return ev_bucket_take(idx, cfg->flowrec_rate ? cfg->flowrec_rate : XS_DEFAULT_FLOWREC_RATE,
			      cfg->flowrec_burst ? cfg->flowrec_burst : XS_DEFAULT_FLOWREC_BURST,
			      now);
}

/* Give back a token flowrec_take() took and no record used. */
static __always_inline void flowrec_give_back(__u32 idx)
{
	struct xs_bucket *b = bpf_map_lookup_elem(&xs_evbucket, &idx);

	if (b)
		b->tokens += XS_NS_PER_SEC;
}

/*
 * Send the record staged in io->rec (`now`: the packet's clock_mono(), which
 * runs the token bucket, unless io->token says one was taken for it) and
 * take it (io->rec.kind = 0), sent or not: an empty bucket or a full ring
 * buffer only counts. Returns 1 when sent. A global function: verified once.
 */
__attribute__((noinline)) int xs_flowrec_send(struct xs_flow_io *io, __u64 now)
{
	struct xs_flow_end *e;
	int token;

	if (!io || io->rec.kind != XS_REC_FLOW_END)
		return 0;
	io->rec.kind = 0;
	token = io->token;
	io->token = 0;
	if (!token &&
	    !flowrec_take(io->rec.cause >= XS_FLOW_END_EVICTED ? XS_EVB_FLOWNEW : XS_EVB_FLOWEND,
			  now)) {
		stats_misc(XS_STAT_FLOWREC_SUPPRESSED);
		return 0;
	}
	e = bpf_ringbuf_reserve(&xs_events, sizeof(*e), 0);
	if (!e) {
		stats_misc(XS_STAT_FLOWREC_LOST);
		return 0;
	}
	__builtin_memcpy(e, &io->rec, sizeof(*e));
	e->kind = XS_REC_FLOW_END;
	bpf_ringbuf_submit(e, 0);
	stats_misc(XS_STAT_FLOWREC_SENT);
	return 1;
}

#endif /* XS_LIB_FLOWREC_H */

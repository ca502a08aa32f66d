/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow events over the ring buffer; drops and allowed new flows each pass a
 * per-CPU token bucket (an overlay's access and a rollback always go out);
 * a drop's or an audit's event carries the packet's first bytes. */
#ifndef XS_LIB_EVENTS_H
#define XS_LIB_EVENTS_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>

#include "xdpseg_decide.h"
#include "ctx.h"
#include "maps.h"
#include "pkt.h"
#include "stats.h"

/* The same decision seen from the other direction (segments swapped). */
static __always_inline void decision_flip(struct xs_decision *d)
{
	__u16 seg = d->src_seg;

	d->src_seg = d->dst_seg;
	d->dst_seg = seg;
}

/* Take one token from bucket `idx` (XS_EVB_*) at `rate` events/s and
 * `burst`. Returns 1 when the event may be sent. */
static __always_inline int ev_bucket_take(__u32 idx, __u64 rate, __u64 burst, __u64 now)
{
	__u64 elapsed, cap = burst * XS_NS_PER_SEC;
	struct xs_bucket *b;

	b = bpf_map_lookup_elem(&xs_evbucket, &idx);
	if (!b)
		return 0;
	if (!b->last_ns) {
		b->tokens = cap; /* a fresh bucket is full */
	} else {
		elapsed = now - b->last_ns;
		if (elapsed > 10 * XS_NS_PER_SEC) /* keep the product in range */
			elapsed = 10 * XS_NS_PER_SEC;
		b->tokens += elapsed * rate;
		if (b->tokens > cap)
			b->tokens = cap;
	}
	b->last_ns = now;
	if (b->tokens < XS_NS_PER_SEC)
		return 0;
	b->tokens -= XS_NS_PER_SEC;
	return 1;
}

/*
 * The event of packet `p` decided as `d`, counted in `c` (the packet's slot,
 * stats_count()) when it goes no further. Never changes the verdict: an
 * empty bucket only counts. `coarse_now` (the packet's
 * bpf_ktime_get_coarse_ns()) runs the token bucket, so a rate-limited drop
 * costs no clock read, and the event carries it too: no event needs the
 * precise clock. An event to send is written into xs_evrec and flagged in
 * `ctx`: the entry point, which holds the packet, sends it with the
 * packet's first bytes and counts it (ev_flush()). A drop or an audit asks
 * for xs_config.snap_len bytes (no more than the packet has), an allow none.
 */
static __always_inline void ev_send(struct xs_ctx *ctx, const struct xs_config *cfg,
				    const struct xs_pkt *p, const struct xs_decision *d,
				    __u32 generation, __u64 coarse_now, struct xs_counter *c)
{
	struct xs_ev_rec *rec;
	struct xs_event *e;
	__u32 zero = 0, snap;

	if (d->verdict == XS_VERDICT_DROP) {
		if (!ev_bucket_take(XS_EVB_DROP,
				    cfg->drop_ev_rate ? cfg->drop_ev_rate : XS_DEFAULT_DROP_EV_RATE,
				    cfg->drop_ev_burst ? cfg->drop_ev_burst
						       : XS_DEFAULT_DROP_EV_BURST,
				    coarse_now))
			goto ratelimited;
	} else if (d->reason < XS_REASON_QUARANTINE) {
		/* (an access by an overlay is always an event) */
		if (cfg->flags & XS_CFG_QUIET_ALLOW) {
			if (c)
				c->ev[XS_EV_NONE]++;
			return;
		}
		if (!ev_bucket_take(
			    XS_EVB_ALLOW,
			    cfg->allow_ev_rate ? cfg->allow_ev_rate : XS_DEFAULT_ALLOW_EV_RATE,
			    cfg->allow_ev_burst ? cfg->allow_ev_burst : XS_DEFAULT_ALLOW_EV_BURST,
			    coarse_now))
			goto ratelimited;
	}
	rec = bpf_map_lookup_elem(&xs_evrec, &zero);
	if (!rec) {
		if (c)
			c->ev[XS_EV_LOST]++;
		return;
	}
	snap = 0;
	if (d->verdict != XS_VERDICT_ALLOW) {
		snap = cfg->snap_len < XS_EV_SNAP_MAX ? cfg->snap_len : XS_EV_SNAP_MAX;
		if (snap > ctx->len)
			snap = ctx->len;
	}
	e = &rec->e;
	e->kind = XS_REC_EVENT;
	e->snap_len = (__u16)snap; /* asked for; ev_flush() writes what it copied */
	e->reserved = 0;
	e->ts_ns = coarse_now;
	e->ifindex = ctx->ifindex;
	e->rule_id = d->rule_id;
	e->pkt_len = ctx->len;
	e->generation = generation;
	e->src_seg = d->src_seg;
	e->dst_seg = d->dst_seg;
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		e->sport = bpf_ntohs(p->icmp_id);
		e->dport = 0;
	} else {
		e->sport = bpf_ntohs(p->sport);
		e->dport = bpf_ntohs(p->dport);
	}
	e->hook = ctx->hook;
	e->verdict = d->verdict;
	e->reason = d->reason;
	e->proto = p->proto;
	e->family = p->family;
	e->icmp_type = p->icmp_type;
	e->icmp_code = p->icmp_code;
	e->flags = p->l2_proto == bpf_htons(ETH_P_ARP) ? XS_EVF_ARP : 0;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	ctx->ev = 1;
	return;
ratelimited:
	if (c)
		c->ev[XS_EV_RATELIMITED]++;
}

/*
 * Copy the first `n` (at most XS_EV_SNAP_MAX) bytes of the frame [data,
 * data_end) to `dst`, fewer when the frame's buffer ends first. Returns the
 * bytes copied. Eight bytes at a time, then one: bounded loops the verifier
 * walks once per iteration (no helper: bpf_xdp_load_bytes() needs 5.18).
 */
static __always_inline __u32 ev_snap_copy(__u8 *dst, const __u8 *data, const void *data_end,
					  __u32 n)
{
	__u32 i;

	if (n > XS_EV_SNAP_MAX)
		n = XS_EV_SNAP_MAX;
	for (i = 0; i + 8 <= n; i += 8) {
		if ((const void *)(data + i + 8) > data_end)
			return i;
		*(__u64 *)(dst + i) = *(const __u64 *)(data + i);
	}
	for (; i < n; i++) {
		if ((const void *)(data + i + 1) > data_end)
			return i;
		dst[i] = data[i];
	}
	return i;
}

/*
 * Send the event the decision left in xs_evrec (ctx->ev set), the frame
 * [data, data_end) in hand: its first e.snap_len bytes after the event, and
 * the outcome (sent, or lost: the ring buffer full) counted in the packet's
 * slot of xs_stats.
 */
static __always_inline void ev_flush(const void *data, const void *data_end)
{
	struct xs_ev_rec *rec;
	__u32 zero = 0, n;
	long err;

	rec = bpf_map_lookup_elem(&xs_evrec, &zero);
	if (!rec)
		return;
	n = rec->e.snap_len;
	if (n) {
		n = ev_snap_copy(rec->snap, data, data_end, n);
		rec->e.snap_len = (__u16)n;
	}
	if (n > XS_EV_SNAP_MAX) /* (for the verifier: ev_snap_copy() returns no more) */
		n = XS_EV_SNAP_MAX;
	err = bpf_ringbuf_output(&xs_events, rec, sizeof(rec->e) + n, 0);
	stats_event(XS_STAT_IDX(rec->e.verdict, rec->e.reason), err ? XS_EV_LOST : XS_EV_SENT);
}

/*
 * The datapath passed a commit-confirm deadline and decides by `generation`
 * (the rollback generation) from now on: one event says so, whatever the
 * packet, with no bucket (it is sent once per apply --confirm).
 */
static __always_inline void ev_rollback(const struct xs_ctx *ctx, __u32 generation)
{
	struct xs_event *e = bpf_ringbuf_reserve(&xs_events, sizeof(*e), 0);

	if (!e) {
		stats_misc(XS_STAT_EV_LOST_OTHER);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = XS_REC_EVENT;
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = ctx->ifindex;
	e->pkt_len = ctx->len;
	e->generation = generation;
	e->hook = ctx->hook;
	e->verdict = XS_VERDICT_ALLOW;
	e->flags = XS_EVF_ROLLBACK;
	bpf_ringbuf_submit(e, 0);
}

#endif /* XS_LIB_EVENTS_H */

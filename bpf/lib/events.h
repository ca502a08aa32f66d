/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow events over the ring buffer; drops and allowed new flows each pass a
 * per-CPU token bucket (an overlay's access and a rollback always go out). */
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
 * Send one event for packet `p` decided as `d`. Never changes the verdict:
 * a full ring or an empty bucket only counts. `coarse_now` (the packet's
 * bpf_ktime_get_coarse_ns()) runs the token bucket, so a rate-limited drop
 * costs no clock read, and the event carries it too: no event needs the
 * precise clock.
 */
static __always_inline void ev_send(const struct xs_ctx *ctx, const struct xs_config *cfg,
				    const struct xs_pkt *p, const struct xs_decision *d,
				    __u32 generation, __u64 coarse_now)
{
	struct xs_event *e;

	if (d->verdict == XS_VERDICT_DROP) {
		if (!ev_bucket_take(XS_EVB_DROP,
				    cfg->drop_ev_rate ? cfg->drop_ev_rate : XS_DEFAULT_DROP_EV_RATE,
				    cfg->drop_ev_burst ? cfg->drop_ev_burst
						       : XS_DEFAULT_DROP_EV_BURST,
				    coarse_now)) {
			stats_misc(XS_STAT_EV_RATELIMITED);
			return;
		}
	} else if (d->reason < XS_REASON_QUARANTINE) {
		/* (an access by an overlay is always an event) */
		if (cfg->flags & XS_CFG_QUIET_ALLOW)
			return;
		if (!ev_bucket_take(
			    XS_EVB_ALLOW,
			    cfg->allow_ev_rate ? cfg->allow_ev_rate : XS_DEFAULT_ALLOW_EV_RATE,
			    cfg->allow_ev_burst ? cfg->allow_ev_burst : XS_DEFAULT_ALLOW_EV_BURST,
			    coarse_now)) {
			stats_misc(XS_STAT_EV_RATELIMITED);
			return;
		}
	}
	e = bpf_ringbuf_reserve(&xs_events, sizeof(*e), 0);
	if (!e) {
		stats_misc(XS_STAT_EV_LOST);
		return;
	}
	e->kind = XS_REC_EVENT;
	e->snap_len = 0;
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
	bpf_ringbuf_submit(e, 0);
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
		stats_misc(XS_STAT_EV_LOST);
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

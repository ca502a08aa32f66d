/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The deny cache: the decision of a dropped new flow, keyed by its
 * directional tuple and stamped with the policy generation, so a flood of
 * denied packets costs one hash lookup each instead of trie walks. A stale
 * generation is a miss (the new policy decides again).
 */
#ifndef XS_LIB_DENY_H
#define XS_LIB_DENY_H

#include "events.h"
#include "maps.h"
#include "pkt.h"

/* The directional key of `p`; pad[0] holds the ICMP type. */
static __always_inline void deny_key(struct xs_tuple *dk, const struct xs_pkt *p)
{
	__builtin_memcpy(dk->addr_a, p->saddr, 16);
	__builtin_memcpy(dk->addr_b, p->daddr, 16);
	dk->port_a = p->sport;
	dk->port_b = p->dport;
	dk->proto = p->proto;
	dk->family = p->family;
	dk->pad[0] = p->icmp_type;
	dk->pad[1] = 0;
}

/*
 * Is `p` (key `dk`) denied by the cache for generation `gen`? Fills `d`.
 * `tcp_nonsyn`: a TCP packet without a lone SYN follows only an entry that
 * also denied the reverse direction (mid-stream pickup was tried).
 */
static __always_inline int deny_cached(const struct xs_tuple *dk, __u32 gen, int tcp_nonsyn,
				       struct xs_decision *d)
{
	struct xs_deny_val *dv = bpf_map_lookup_elem(&xs_deny, dk);

	if (!dv || dv->generation != gen || (tcp_nonsyn && !(dv->flags & XS_DENYF_BOTH_WAYS)))
		return 0;
	d->verdict = XS_VERDICT_DROP;
	d->reason = dv->reason;
	d->rule_id = dv->rule_id;
	d->src_seg = dv->src_seg;
	d->dst_seg = dv->dst_seg;
	return 1;
}

static __always_inline void deny_remember(const struct xs_tuple *dk, __u32 gen, int tcp_nonsyn,
					  const struct xs_decision *d)
{
	struct xs_deny_val nv = {
		.generation = gen,
		.rule_id = d->rule_id,
		.src_seg = d->src_seg,
		.dst_seg = d->dst_seg,
		.reason = d->reason,
		.flags = tcp_nonsyn ? XS_DENYF_BOTH_WAYS : 0,
	};

	bpf_map_update_elem(&xs_deny, dk, &nv, BPF_ANY);
}

#endif /* XS_LIB_DENY_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision for a new flow: two segment lookups, one rule-table
 * lookup (the single-port hash, then the trie of port ranges on a miss),
 * then the per-segment defaults and modes (policies/README.md).
 * Precedence (deny over allow) is resolved by the compiler, so the longest
 * matching rule entry is the answer.
 */
#ifndef XS_LIB_POLICY_H
#define XS_LIB_POLICY_H

#include <linux/in.h>

#include "events.h"
#include "maps.h"

/* Segment of an address in policy set `set`; 0 (world) when none. */
static __always_inline __u16 policy_segment(__u32 set, __u8 family, const __u64 *addr)
{
	struct xs_seg_val *v;

	if (family == 4) {
		struct xs_lpm4_key k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, addr, 4);
		v = set ? bpf_map_lookup_elem(&xs_seg4_1, &k) : bpf_map_lookup_elem(&xs_seg4_0, &k);
	} else {
		struct xs_lpm6_key k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, addr, 16);
		v = set ? bpf_map_lookup_elem(&xs_seg6_1, &k) : bpf_map_lookup_elem(&xs_seg6_0, &k);
	}
	return v ? v->seg : XS_SEG_WORLD;
}

static __always_inline struct xs_seg_info *policy_seginfo(__u32 set, __u32 seg)
{
	return set ? bpf_map_lookup_elem(&xs_seginfo_1, &seg)
		   : bpf_map_lookup_elem(&xs_seginfo_0, &seg);
}

/*
 * Decide a new flow from saddr to daddr, protocol `proto`, destination
 * port `dport` (network order; the ICMP type for ICMP) under set `set`.
 */
static __always_inline void policy_decide(__u32 set, __u8 family, const __u64 *saddr,
					  const __u64 *daddr, __u8 proto, __be16 dport,
					  struct xs_decision *d)
{
	struct xs_rule_key k = { .prefixlen = XS_RULE_PLEN_PORT(16) };
	struct xs_seg_info *si, *di;
	struct xs_rule_val *r;

	d->src_seg = policy_segment(set, family, saddr);
	d->dst_seg = policy_segment(set, family, daddr);
	k.src_seg = d->src_seg;
	k.dst_seg = d->dst_seg;
	k.proto = proto;
	k.port = dport;
	/* a single-port entry is the longest match: the hash first, the trie on a miss */
	r = set ? bpf_map_lookup_elem(&xs_rexact_1, &k) : bpf_map_lookup_elem(&xs_rexact_0, &k);
	if (!r)
		r = set ? bpf_map_lookup_elem(&xs_rules_1, &k)
			: bpf_map_lookup_elem(&xs_rules_0, &k);
	si = policy_seginfo(set, d->src_seg);
	di = policy_seginfo(set, d->dst_seg);
	if (!si || !di) { /* cannot happen: ids are < XS_MAX_SEGMENTS */
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_MALFORMED;
		d->rule_id = 0;
		return;
	}
	if (r && r->action == XS_ACT_DENY) {
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_DENY_RULE;
		d->rule_id = r->rule_id;
	} else if (r && r->action == XS_ACT_ALLOW) {
		d->verdict = XS_VERDICT_ALLOW;
		d->reason = XS_REASON_RULE;
		d->rule_id = r->rule_id;
	} else if (si->out_action == XS_ACT_DENY) {
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_DEFAULT_OUT;
		d->rule_id = si->out_rule_id;
	} else if (di->in_action == XS_ACT_DENY) {
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_DEFAULT_IN;
		d->rule_id = di->in_rule_id;
	} else {
		d->verdict = XS_VERDICT_ALLOW;
		d->reason = XS_REASON_DEFAULT;
		d->rule_id = di->in_rule_id;
	}
	if (d->verdict == XS_VERDICT_DROP && (si->monitor || di->monitor))
		d->verdict = XS_VERDICT_AUDIT;
}

/* The policy "port" of a packet: destination port, or the ICMP type. */
static __always_inline __be16 policy_port(__u8 proto, __be16 dport, __u8 icmp_type)
{
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		return bpf_htons(icmp_type);
	return dport;
}

#endif /* XS_LIB_POLICY_H */

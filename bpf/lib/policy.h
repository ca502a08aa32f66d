/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision for a new flow: two segment lookups (segment.h), the
 * pair's class, the rule-table lookup the class asks for (none; the
 * pair-wide hash; the single-port hash; the trie of port ranges), then what
 * they found decides (include/xdpseg_decide.h, shared with
 * userspace): quarantine, the entry (failsafe, grant, deny, allow: their
 * precedence resolved by the compiler), the defaults, monitor mode.
 */
#ifndef XS_LIB_POLICY_H
#define XS_LIB_POLICY_H

#include <linux/in.h>

#include "xdpseg_decide.h"
#include "clock.h"
#include "events.h"
#include "maps.h"
#include "segment.h"

static __always_inline struct xs_seg_info *policy_seginfo(__u32 set, __u32 seg)
{
	return xs_set_lookup(set, xs_seginfo_0, xs_seginfo_1, &seg);
}

/*
 * How a hook classifies the two ends of a decision: an address in the
 * built-in segment `link-local` (ll_seg) behind a bound port takes that
 * port's segment (src_port / dst_port: the segment of the port behind which
 * the decision's source / destination is; 0: none).
 */
struct xs_class {
	__u16 ll_seg;
	__u16 src_port;
	__u16 dst_port;
};

/* An address as a global function's argument (16 bytes of memory). */
struct xs_addr {
	__u64 w[2];
};

/* What xs_policy_decide() decides besides the addresses, packed in one scalar. */
#define XS_DECIDE_Q(set, family, proto, port) \
	((__u64)(set) | (__u64)(family) << 8 | (__u64)(proto) << 16 | (__u64)(port) << 32)

/* Segment of one end of a decision under the hook's classification. */
static __always_inline __u16 policy_end(__u32 set, const struct xs_fast_info *fi, __u8 family,
					const __u64 *addr, __u16 port_seg, __u16 ll_seg,
					union xs_key_buf *kb)
{
	__u16 seg = seg_of(set, fi, family, addr, kb);

	return port_seg && seg == ll_seg ? port_seg : seg;
}

/* The class of the pair (src, dst): which rule table may hold its entries.
 * A set without derived tables (or an id out of range): the trie. */
static __always_inline __u32 policy_pair_class(__u32 set, const struct xs_fast_info *fi, __u32 src,
					       __u32 dst)
{
	struct xs_pair_row *row;

	if (!fi)
		return XS_PAIR_TRIE;
	row = xs_set_lookup(set, xs_pairc_0, xs_pairc_1, &src);
	if (!row)
		return XS_PAIR_TRIE;
	return (row->w[(dst / 32) & (XS_MAX_SEGMENTS / 32 - 1)] >> ((dst % 32) * 2)) & 3;
}

/* May a single-port entry of the set name k's port? (xs_portmap; a set
 * without derived tables, another protocol: maybe.) */
static __always_inline int policy_port_named(__u32 set, const struct xs_fast_info *fi,
					     const struct xs_rule_key *k)
{
	__u32 idx = k->proto == IPPROTO_TCP ? XS_PORTMAP_TCP : XS_PORTMAP_UDP;
	__u32 port = bpf_ntohs(k->port);
	struct xs_port_map *pm;

	if (!fi || (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP))
		return 1;
	pm = xs_set_lookup(set, xs_portmap_0, xs_portmap_1, &idx);
	return !pm || ((pm->w[(port / 64) & 1023] >> (port % 64)) & 1);
}

/* The pair-wide entry of `pair` in xs_paira, or NULL. */
static __always_inline struct xs_rule_val *policy_paira(__u32 set, __u32 pair)
{
	__u32 g = xs_paira_group(pair);

#pragma clang loop unroll(full)
	for (int p = 0; p < XS_PAIRA_PROBES; p++) {
		__u32 idx = (g + p) & (XS_PAIRA_GROUPS - 1);
		struct xs_paira_group *grp = xs_set_lookup(set, xs_paira_0, xs_paira_1, &idx);

		if (!grp)
			return NULL;
#pragma clang loop unroll(full)
		for (int w = 0; w < XS_PAIRA_WAYS; w++) {
			if ((grp->used & (1U << w)) && grp->s[w].pair == pair)
				return &grp->s[w].val;
		}
	}
	return NULL;
}

/* The longest rule-table match of key `k` for a pair of class `cls` (NULL: none). */
static __always_inline struct xs_rule_val *policy_rule(__u32 set, const struct xs_fast_info *fi,
						       __u32 cls, struct xs_rule_key *k)
{
	__u32 pair = XS_PAIR_KEY(k->src_seg, k->dst_seg);
	struct xs_rule_val *r = NULL;

	if (cls == XS_PAIR_NONE)
		return NULL;
	if (cls == XS_PAIR_WIDE)
		return fi && (fi->flags & XS_FASTF_PAIRA)
			       ? policy_paira(set, pair)
			       : xs_set_lookup(set, xs_pairs_0, xs_pairs_1, &pair);
	/* a single-port entry is the longest match: the hash first */
	if (policy_port_named(set, fi, k))
		r = xs_set_lookup(set, xs_rexact_0, xs_rexact_1, k);
	if (r || cls == XS_PAIR_EXACT)
		return r;
	return xs_set_lookup(set, xs_rules_0, xs_rules_1, k);
}

/*
 * Decide a new flow from `sa` to `da` into `d`; `q` is XS_DECIDE_Q(policy
 * set, family, protocol, destination port in network order, or the ICMP
 * type), `cl` the hook's classification. A global (not inlined) function:
 * the verifier checks it once, on its own, instead of once per caller
 * state. Returns 0 (1 when an argument is NULL, which never happens).
 */
__attribute__((noinline)) int xs_policy_decide(const struct xs_addr *sa, const struct xs_addr *da,
					       __u64 q, const struct xs_class *cl,
					       struct xs_decision *d)
{
	__u32 set = q & 1;
	__u8 family = (__u8)(q >> 8);
	const struct xs_fast_info *fi;
	struct xs_seg_info *si, *di;
	struct xs_rule_key *k;
	union xs_key_buf kb;
	struct xs_rule_val *r;

	if (!sa || !da || !cl || !d)
		return 1;
	fi = seg_fast(set);
	d->src_seg = policy_end(set, fi, family, sa->w, cl->src_port, cl->ll_seg, &kb);
	d->dst_seg = policy_end(set, fi, family, da->w, cl->dst_port, cl->ll_seg, &kb);
	k = &kb.rule;
	k->prefixlen = XS_RULE_PLEN_PORT(16);
	k->src_seg = d->src_seg;
	k->dst_seg = d->dst_seg;
	k->proto = (__u8)(q >> 16);
	k->pad = 0;
	k->port = (__be16)(q >> 32);
	r = policy_rule(set, fi, policy_pair_class(set, fi, d->src_seg, d->dst_seg), k);
	si = policy_seginfo(set, d->src_seg);
	di = policy_seginfo(set, d->dst_seg);
	if (!si || !di) { /* cannot happen: ids are < XS_MAX_SEGMENTS */
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_MALFORMED;
		d->rule_id = 0;
		d->deadline = 0;
		return 0;
	}
	/* CLOCK_TAI only when a grant entry decides */
	xs_decide_entry(r, si, di, xs_decide_needs_clock(r) ? clock_tai_s_lookup() : 0, d);
	return 0;
}

/*
 * Decide a new flow from saddr to daddr (16 bytes each), protocol `proto`,
 * destination port `dport` (network order; the ICMP type for ICMP) under
 * set `set`, with the hook's classification `cl`.
 */
static __always_inline void policy_decide(__u32 set, __u8 family, const void *saddr,
					  const void *daddr, __u8 proto, __be16 dport,
					  const struct xs_class *cl, struct xs_decision *d)
{
	xs_policy_decide(saddr, daddr, XS_DECIDE_Q(set, family, proto, dport), cl, d);
}

/* The policy "port" of a packet: destination port, or the ICMP type. */
static __always_inline __be16 policy_port(__u8 proto, __be16 dport, __u8 icmp_type)
{
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		return bpf_htons(icmp_type);
	return dport;
}

#endif /* XS_LIB_POLICY_H */

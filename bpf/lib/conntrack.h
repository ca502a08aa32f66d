/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking: the normalised tuple of a flow, and what an entry of
 * the flow table (flow.h) knows of it: its TCP state, its replies, its
 * timeout. Pure functions of an entry's header: flow.h calls them under the
 * bucket's lock.
 */
#ifndef XS_LIB_CONNTRACK_H
#define XS_LIB_CONNTRACK_H

#include <linux/in.h>

#include "xdpseg_decide.h"
#include "l4.h"
#include "pkt.h"

/* Is (a, pa) > (b, pb), comparing address bytes then port bytes as memcmp would? */
static __always_inline int ct_greater(const __u64 *a, __be16 pa, const __u64 *b, __be16 pb)
{
	__u64 x0 = __builtin_bswap64(a[0]), y0 = __builtin_bswap64(b[0]);
	__u64 x1 = __builtin_bswap64(a[1]), y1 = __builtin_bswap64(b[1]);

	if (x0 != y0)
		return x0 > y0;
	if (x1 != y1)
		return x1 > y1;
	return bpf_ntohs(pa) > bpf_ntohs(pb);
}

/*
 * Build the normalised key of a flow from saddr:sport to daddr:dport.
 * Returns 1 when the source is side b of the key, 0 when it is side a.
 */
static __always_inline int ct_tuple(struct xs_tuple *k, __u8 family, __u8 proto, const __u64 *saddr,
				    __be16 sport, const __u64 *daddr, __be16 dport)
{
	int swap = ct_greater(saddr, sport, daddr, dport);

	__builtin_memcpy(k->addr_a, swap ? daddr : saddr, 16);
	__builtin_memcpy(k->addr_b, swap ? saddr : daddr, 16);
	k->port_a = swap ? dport : sport;
	k->port_b = swap ? sport : dport;
	k->proto = proto;
	k->family = family;
	k->pad[0] = 0;
	k->pad[1] = 0;
	return swap;
}

static __always_inline __u64 ct_timeout(const struct xs_flow_hdr *v)
{
	switch (v->state) {
	case XS_CT_SYN_SENT:
		return XS_CT_TCP_SYN_TIMEOUT;
	case XS_CT_ESTABLISHED:
		return XS_CT_TCP_EST_TIMEOUT;
	case XS_CT_CLOSING:
		return XS_CT_TCP_FIN_TIMEOUT;
	case XS_CT_CLOSED:
		return XS_CT_TCP_CLOSE_TIMEOUT;
	case XS_CT_UDP:
		return (v->flags & XS_CTF_REPLIED) ? XS_CT_UDP_REPLIED_TIMEOUT : XS_CT_UDP_TIMEOUT;
	case XS_CT_ICMP:
		return XS_CT_ICMP_TIMEOUT;
	case XS_CT_DENIED:
		return XS_DENY_TIMEOUT;
	}
	return XS_CT_OTHER_TIMEOUT;
}

/* Is the packet from the flow's initiator? from_b: the packet's source is side b. */
static __always_inline int ct_from_initiator(const struct xs_flow_hdr *v, int from_b)
{
	return from_b == !!(v->flags & XS_CTF_INIT_B);
}

/*
 * May an ICMP message follow the entry? The initiator repeats its own type;
 * the responder answers a query with its reply type (echo 8 -> reply 0);
 * nothing else belongs to the flow (a request from the responder, an
 * unsolicited reply, another type) and is decided by the policy.
 */
static __always_inline int ct_icmp_follows(const struct xs_flow_hdr *v, int from_b, __u8 proto,
					   __u8 icmp_type)
{
	if (ct_from_initiator(v, from_b))
		return icmp_type == v->icmp_type;
	return icmp_query_kind(proto, v->icmp_type) == 1 &&
	       icmp_type == icmp_reply_type(proto, v->icmp_type);
}

/*
 * The header of a new entry for an accepted flow (key fields excepted).
 * `init_b`: the initiator is side b. `established`: picked up mid-stream.
 */
static __always_inline void ct_fill(struct xs_flow_hdr *v, int init_b, const struct xs_pkt *p,
				    const struct xs_decision *d, __u32 generation, __u64 now,
				    int established)
{
	v->rule_id = (__u16)d->rule_id;
	v->deadline = d->deadline;
	v->generation = generation;
	v->src_seg = d->src_seg;
	v->dst_seg = d->dst_seg;
	v->reason = d->reason;
	v->icmp_type = 0;
	v->flags =
		(init_b ? XS_CTF_INIT_B : 0) | (d->verdict == XS_VERDICT_AUDIT ? XS_CTF_AUDIT : 0);
	switch (p->proto) {
	case IPPROTO_TCP:
		v->state = established ? XS_CT_ESTABLISHED : XS_CT_SYN_SENT;
		if (established)
			v->flags |= XS_CTF_REPLIED;
		break;
	case IPPROTO_UDP:
		v->state = XS_CT_UDP;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		v->state = XS_CT_ICMP;
		v->icmp_type = p->icmp_type;
		break;
	default:
		v->state = XS_CT_OTHER;
	}
	v->expires_ns = now + ct_timeout(v);
}

/*
 * The header of a remembered denial of `p` (its source is side b when
 * `from_b`), decided as `d` under `generation`. `both_ways`: a TCP packet
 * without a lone SYN whose reverse was denied too.
 */
static __always_inline void ct_fill_denial(struct xs_flow_hdr *v, int from_b,
					   const struct xs_pkt *p, const struct xs_decision *d,
					   __u32 generation, __u64 now, int both_ways)
{
	v->rule_id = (__u16)d->rule_id;
	v->deadline = 0;
	v->generation = generation;
	v->src_seg = d->src_seg;
	v->dst_seg = d->dst_seg;
	v->reason = d->reason;
	v->icmp_type = p->icmp_type;
	v->state = XS_CT_DENIED;
	v->flags = (from_b ? XS_CTF_INIT_B : 0) | (both_ways ? XS_CTF_BOTH_WAYS : 0);
	v->expires_ns = now + XS_DENY_TIMEOUT;
}

/*
 * Does the denial `v` decide packet `p` (from side b: from_b) under
 * generation `gen`? Same direction, same ICMP type; a TCP packet without a
 * lone SYN (`tcp_nonsyn`) only when its reverse was denied too.
 */
static __always_inline int ct_denial_holds(const struct xs_flow_hdr *v, int from_b, __u8 icmp_type,
					   __u32 gen, int tcp_nonsyn)
{
	return v->generation == gen && ct_from_initiator(v, from_b) && v->icmp_type == icmp_type &&
	       (!tcp_nonsyn || (v->flags & XS_CTF_BOTH_WAYS));
}

/*
 * Follow a packet of a tracked flow: TCP state from SYN/FIN/RST, replies,
 * and the expiry. The expiry moves only when it gains more than a second.
 */
static __always_inline void ct_follow(struct xs_flow_hdr *v, int from_b, __u8 proto, __u8 tcp_flags,
				      __u64 now)
{
	__u8 state = v->state, flags = v->flags;
	__u64 expires;

	if (!ct_from_initiator(v, from_b))
		flags |= XS_CTF_REPLIED;
	if (proto == IPPROTO_TCP) {
		if (tcp_flags & XS_TCP_RST) {
			state = XS_CT_CLOSED;
		} else {
			if (state == XS_CT_SYN_SENT && (flags & XS_CTF_REPLIED))
				state = XS_CT_ESTABLISHED;
			if (tcp_flags & XS_TCP_FIN) {
				flags |= from_b ? XS_CTF_FIN_B : XS_CTF_FIN_A;
				state = (flags & XS_CTF_FIN_A) && (flags & XS_CTF_FIN_B)
						? XS_CT_CLOSED
						: XS_CT_CLOSING;
			}
		}
	}
	if (state != v->state || flags != v->flags) {
		v->state = state;
		v->flags = flags;
		v->expires_ns = now + ct_timeout(v);
		return;
	}
	expires = now + ct_timeout(v);
	if (expires > v->expires_ns + XS_NS_PER_SEC)
		v->expires_ns = expires;
}

#endif /* XS_LIB_CONNTRACK_H */

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg datapath: XDP on ingress, TC on egress (or ingress), one body.
 *
 * Per packet: parse (Ethernet, VLANs, IPv4/IPv6, L4); non-IP and IPv6
 * neighbour discovery pass; malformed drops. Then conntrack first (one hash
 * lookup for established traffic); a new flow is decided by the policy (two
 * segment lookups, one rule lookup, the defaults) and, when accepted,
 * tracked; a dropped one is remembered in the deny cache so a flood costs
 * one more hash lookup, not more trie walks. A lone TCP SYN (a scan, a SYN
 * flood) asks the deny cache before conntrack: a denied one costs one lookup.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdpseg.h"
#include "lib/conntrack.h"
#include "lib/ctx.h"
#include "lib/deny.h"
#include "lib/eth.h"
#include "lib/events.h"
#include "lib/frag.h"
#include "lib/ipv4.h"
#include "lib/ipv6.h"
#include "lib/l4.h"
#include "lib/maps.h"
#include "lib/pkt.h"
#include "lib/policy.h"
#include "lib/stats.h"

/* Everything one packet's decision needs, passed down the helpers. */
struct xs_run {
	struct xs_ctx *ctx;
	struct xs_config *cfg;
	struct xs_pkt *p;
	__u32 gen;
	__u32 set;
	__u64 now;
};

static __always_inline int xs_parse(struct xs_ctx *ctx, struct xs_cursor *c, struct xs_pkt *p)
{
	__be16 proto;
	int rc;

	c->pos = ctx->data;
	c->end = ctx->data_end;
	rc = eth_parse(c, &proto);
	if (rc)
		return rc;
	p->l3_len = ctx->len - (__u32)(c->pos - ctx->data);
	if (proto == bpf_htons(ETH_P_IP))
		rc = ipv4_parse(c, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		rc = ipv6_parse(c, p);
	else
		return XS_PARSE_NOT_IP;
	if (rc)
		return rc;
	if (p->frag == XS_FRAG_LATER)
		return XS_PARSE_OK;
	return l4_parse(c, p, ctx->data);
}

static __always_inline int xs_drop(struct xs_run *r, struct xs_decision *d, int new_flow)
{
	stats_count(XS_VERDICT_DROP, d->reason, r->ctx->len);
	stats_rule(r->set, d->rule_id, r->ctx->len, new_flow);
	ev_send(r->ctx, r->cfg, r->p, d, r->gen, r->now);
	return XS_DROP;
}

/* A non-first fragment: it follows its datagram's first fragment. */
static __always_inline int xs_later_fragment(struct xs_run *r)
{
	struct xs_frag_val *fv = frag_lookup(r->p, r->now);
	struct xs_decision d = {
		.verdict = XS_VERDICT_DROP,
		.reason = XS_REASON_FRAGMENT,
	};

	if (fv) {
		stats_count(fv->verdict, XS_REASON_FRAGMENT, r->ctx->len);
		return XS_PASS;
	}
	return xs_drop(r, &d, 0);
}

/* An ICMP error quoting a tracked flow is related to it. */
static __always_inline int xs_icmp_related(struct xs_run *r, struct xs_cursor *c)
{
	struct xs_pkt in = {};
	struct xs_tuple k;
	struct xs_ct_val *v;

	if (icmp_inner_parse(c, r->ctx->data, r->p, &in))
		return 0;
	ct_tuple(&k, in.family, in.proto, in.saddr, in.sport, in.daddr, in.dport);
	v = bpf_map_lookup_elem(&xs_ct, &k);
	if (!v || v->expires_ns < r->now)
		return 0;
	stats_count(XS_VERDICT_ALLOW, XS_REASON_RELATED, r->ctx->len);
	return 1;
}

/*
 * A packet of a tracked flow. If the policy changed since the flow was
 * accepted, decide it again (in its initiator's direction) first.
 */
static __always_inline int xs_tracked(struct xs_run *r, struct xs_tuple *k, struct xs_ct_val *v,
				      int from_b)
{
	struct xs_pkt *p = r->p;
	__u8 verdict;

	if (v->generation != r->gen) {
		int init_b = !!(v->flags & XS_CTF_INIT_B);
		__u64 src[2], dst[2];
		struct xs_decision d = {};
		__be16 port;

		__builtin_memcpy(src, init_b ? k->addr_b : k->addr_a, 16);
		__builtin_memcpy(dst, init_b ? k->addr_a : k->addr_b, 16);
		port = policy_port(k->proto, init_b ? k->port_a : k->port_b, v->icmp_type);
		policy_decide(r->set, k->family, src, dst, k->proto, port, &d);
		stats_misc(XS_STAT_CT_REVALIDATED);
		if (d.verdict == XS_VERDICT_DROP) {
			bpf_map_delete_elem(&xs_ct, k);
			if (!ct_from_initiator(v, from_b)) /* the event: packet's direction */
				decision_flip(&d);
			return xs_drop(r, &d, 0);
		}
		v->generation = r->gen;
		v->rule_id = d.rule_id;
		v->reason = d.reason;
		v->src_seg = d.src_seg;
		v->dst_seg = d.dst_seg;
		if (d.verdict == XS_VERDICT_AUDIT)
			v->flags |= XS_CTF_AUDIT;
		else
			v->flags &= ~XS_CTF_AUDIT;
		stats_rule(r->set, d.rule_id, r->ctx->len, 1);
	} else {
		stats_rule(r->set, v->rule_id, r->ctx->len, 0);
	}
	ct_follow(v, from_b, p, r->now);
	verdict = (v->flags & XS_CTF_AUDIT) ? XS_VERDICT_AUDIT : XS_VERDICT_ALLOW;
	if (p->frag == XS_FRAG_FIRST)
		frag_accept(p, v->rule_id, verdict, r->now);
	stats_count(verdict, XS_REASON_ESTABLISHED, r->ctx->len);
	return XS_PASS;
}

/*
 * A packet that starts a flow: deny cache, then the policy. `dk` is the
 * deny-cache key; for a lone SYN (`syn_only`) the caller has already built
 * it and asked the cache.
 */
static __always_inline int xs_new_flow(struct xs_run *r, struct xs_tuple *k, struct xs_tuple *dk,
				       int from_b, int syn_only)
{
	struct xs_pkt *p = r->p;
	int tcp_nonsyn = p->proto == IPPROTO_TCP && !syn_only;
	struct xs_decision d = {};
	int init_b = from_b, reversed = 0;

	if (!syn_only) {
		deny_key(dk, p);
		if (deny_cached(dk, r->gen, tcp_nonsyn, &d))
			return xs_drop(r, &d, 0);
	}

	policy_decide(r->set, p->family, p->saddr, p->daddr, p->proto,
		      policy_port(p->proto, p->dport, p->icmp_type), &d);

	/* Attached to a live host: a mid-stream TCP packet may belong to a
	 * connection the peer opened, in the allowed direction. `d` is then
	 * that connection's decision, in the peer's (initiator's) direction. */
	if (d.verdict == XS_VERDICT_DROP && tcp_nonsyn) {
		struct xs_decision rev = {};

		policy_decide(r->set, p->family, p->daddr, p->saddr, p->proto, p->sport, &rev);
		if (rev.verdict != XS_VERDICT_DROP) {
			d = rev;
			init_b = !from_b;
			reversed = 1;
		}
	}

	if (d.verdict == XS_VERDICT_DROP) {
		deny_remember(dk, r->gen, tcp_nonsyn, &d);
		return xs_drop(r, &d, 1);
	}

	/* a TCP packet without SYN: the connection is picked up mid-stream */
	if (!p->icmp_err)
		ct_create(k, init_b, p, &d, r->gen, r->now, tcp_nonsyn);
	if (reversed) /* the event reports segments in the packet's direction */
		decision_flip(&d);
	if (p->frag == XS_FRAG_FIRST)
		frag_accept(p, d.rule_id, d.verdict, r->now);
	stats_count(d.verdict, d.reason, r->ctx->len);
	stats_rule(r->set, d.rule_id, r->ctx->len, 1);
	ev_send(r->ctx, r->cfg, p, &d, r->gen, r->now);
	return XS_PASS;
}

static __always_inline int xs_handle(struct xs_ctx *ctx)
{
	struct xs_pkt p = {};
	struct xs_cursor c;
	struct xs_run r = { .ctx = ctx, .p = &p };
	struct xs_tuple k, dk;
	struct xs_ct_val *v;
	__u32 zero = 0;
	int rc, from_b, syn_only;

	r.cfg = bpf_map_lookup_elem(&xs_config, &zero);
	if (!r.cfg)
		return XS_DROP;
	/* Read once: this packet is decided by one policy set only. */
	r.gen = *(volatile __u32 *)&r.cfg->generation;
	r.set = r.gen & 1;
	r.now = bpf_ktime_get_coarse_ns();

	rc = xs_parse(ctx, &c, &p);
	if (rc == XS_PARSE_NOT_IP) {
		stats_count(XS_VERDICT_ALLOW, XS_REASON_NOT_IP, ctx->len);
		return XS_PASS;
	}
	if (rc != XS_PARSE_OK) {
		struct xs_decision d = {
			.verdict = XS_VERDICT_DROP,
			.reason = XS_REASON_MALFORMED,
		};

		return xs_drop(&r, &d, 0);
	}
	if (p.exempt) {
		stats_count(XS_VERDICT_ALLOW, XS_REASON_ND, ctx->len);
		return XS_PASS;
	}
	if (!r.gen) {
		stats_count(XS_VERDICT_ALLOW, XS_REASON_NO_POLICY, ctx->len);
		return XS_PASS;
	}

	if (p.frag == XS_FRAG_LATER)
		return xs_later_fragment(&r);
	if (p.icmp_err && xs_icmp_related(&r, &c))
		return XS_PASS;

	syn_only =
		p.proto == IPPROTO_TCP && (p.tcp_flags & (XS_TCP_SYN | XS_TCP_ACK)) == XS_TCP_SYN;
	/* A SYN scan or flood of a denied flow: the deny cache first, saving
	 * the conntrack miss. Sound because one generation gives one directional
	 * tuple one decision, so no entry can have accepted this SYN. */
	if (syn_only) {
		struct xs_decision d = {};

		deny_key(&dk, &p);
		if (deny_cached(&dk, r.gen, 0, &d))
			return xs_drop(&r, &d, 0);
	}

	from_b = ct_tuple(&k, p.family, p.proto, p.saddr, p.sport, p.daddr, p.dport);
	if (!p.icmp_err) {
		v = bpf_map_lookup_elem(&xs_ct, &k);
		/* A SYN opens a connection: only the initiator's retransmission
		 * follows the entry; anything else (the other side, a reused
		 * port) is decided anew. */
		if (v && v->expires_ns >= r.now &&
		    (!syn_only || (ct_from_initiator(v, from_b) && v->state == XS_CT_SYN_SENT)))
			return xs_tracked(&r, &k, v, from_b);
	}
	return xs_new_flow(&r, &k, &dk, from_b, syn_only);
}

SEC("xdp")
int xs_xdp(struct xdp_md *xdp)
{
	struct xs_ctx ctx = {
		.data = (void *)(long)xdp->data,
		.data_end = (void *)(long)xdp->data_end,
		.ifindex = xdp->ingress_ifindex,
		.hook = XS_HOOK_INGRESS,
	};

	ctx.len = (__u32)(ctx.data_end - ctx.data);
	return xs_handle(&ctx) == XS_PASS ? XDP_PASS : XDP_DROP;
}

/* Headers xdpseg may need, at most: Ethernet, two tags, IPv6 with its
 * extension headers, an ICMP error's quoted headers. */
#define XS_TC_PULL_LEN 512

static __always_inline int xs_tc(struct __sk_buff *skb, __u8 hook)
{
	__u32 want = skb->len < XS_TC_PULL_LEN ? skb->len : XS_TC_PULL_LEN;
	struct xs_ctx ctx;

	if ((void *)(long)skb->data + want > (void *)(long)skb->data_end)
		bpf_skb_pull_data(skb, want);
	ctx.data = (void *)(long)skb->data;
	ctx.data_end = (void *)(long)skb->data_end;
	ctx.len = skb->len;
	ctx.ifindex = skb->ifindex;
	ctx.hook = hook;
	return xs_handle(&ctx) == XS_PASS ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("tc")
int xs_tc_egress(struct __sk_buff *skb)
{
	return xs_tc(skb, XS_HOOK_EGRESS);
}

SEC("tc")
int xs_tc_ingress(struct __sk_buff *skb)
{
	return xs_tc(skb, XS_HOOK_INGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

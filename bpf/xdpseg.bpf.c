// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg datapath: XDP on ingress, TC on egress (or ingress), one body.
 *
 * Two stages per packet. The parser (inlined in each program) reads the
 * frame: Ethernet, VLANs, IPv4/IPv6, L4, an ICMP error's quoted flow, ARP;
 * every read bounded by the frame and by the IP datagram. The decision
 * (xs_decide(), one global function: the verifier checks it once, whatever
 * path the parser took) never touches the packet again: a bound port's
 * ingress is checked for spoofed sources; non-IP and the IPv6 neighbour
 * discovery the kernel needs pass; malformed drops. A lone TCP SYN (a
 * connection attempt, a scan, a spoofed flood) is decided by the policy
 * first, from arrays and small hashes (segments, the pair's class, the rule
 * its class names): denied, it costs no flow-table access. Every other
 * packet asks the flow table first (one bucket, read without its lock for
 * established traffic); a new flow is decided by the policy and, when
 * accepted, tracked in the same bucket; a dropped one is remembered there.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdpseg.h"
#include "lib/arp.h"
#include "lib/bind.h"
#include "lib/clock.h"
#include "lib/conntrack.h"
#include "lib/ctx.h"
#include "lib/eth.h"
#include "lib/events.h"
#include "lib/flow.h"
#include "lib/frag.h"
#include "lib/ipv4.h"
#include "lib/ipv6.h"
#include "lib/l4.h"
#include "lib/maps.h"
#include "lib/pkt.h"
#include "lib/policy.h"
#include "lib/stats.h"

/* ---- Stage 1: the parser --------------------------------------------------- */

/*
 * Parse the frame [data, data_end) of `len` bytes into `p`. Returns
 * XS_PARSE_OK, XS_PARSE_NOT_IP (ARP is parsed too, for bound ports) or
 * XS_PARSE_BAD.
 */
static __always_inline int xs_parse(void *data, void *data_end, __u32 len, struct xs_pkt *p)
{
	struct xs_cursor c = { .pos = data, .end = data_end, .data = data };
	__u32 l3_len;
	__be16 proto;
	int rc;

	rc = eth_parse(&c, &proto);
	if (rc)
		return rc;
	p->l2_proto = proto;
	l3_len = len - cur_off(&c);
	if (proto == bpf_htons(ETH_P_IP)) {
		rc = ipv4_parse(&c, p, l3_len);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		rc = ipv6_parse(&c, p, l3_len);
	} else {
		if (proto == bpf_htons(ETH_P_ARP))
			p->arp_bad = arp_parse(&c, p) != XS_PARSE_OK;
		return XS_PARSE_NOT_IP;
	}
	if (rc)
		return rc;
	if (p->frag == XS_FRAG_LATER)
		return XS_PARSE_OK;
	rc = l4_parse(&c, p);
	if (rc)
		return rc;
	/* an unfragmented ICMP error: the flow it quotes (never a fragment's) */
	if (p->icmp_err && p->frag == XS_FRAG_NONE)
		p->inner_ok = icmp_inner_parse(&c, data, p, &p->inner) == XS_PARSE_OK;
	return XS_PARSE_OK;
}

/* ---- Stage 2: the decision -------------------------------------------------- */

/* Everything one packet's decision needs, passed down the helpers. */
struct xs_run {
	struct xs_ctx *ctx;
	struct xs_config *cfg;
	struct xs_pkt *p;
	__u64 now;
	__u32 gen;
	__u32 port_rule; /* the bound port the packet crosses: its `bind` origin, */
	__u16 port_seg;	 /* and its segment (0: not bound) */
	__u16 ll_seg;	 /* the set's built-in link-local segment */
	__u8 set;	 /* gen & 1 */
	__u8 port_host;	 /* the packet's source is the port's host address (bind_host()) */
};

/*
 * The classification of a decision's two ends at this hook. `src_is_pkt_src`:
 * the decision's source is the packet's source (not its destination). On
 * ingress the packet's source is behind the port, on egress its destination.
 */
static __always_inline void xs_class(const struct xs_run *r, int src_is_pkt_src,
				     struct xs_class *cl)
{
	int src_behind = (r->ctx->hook == XS_HOOK_INGRESS) == !!src_is_pkt_src;
	__u16 seg = r->port_seg;

	cl->ll_seg = r->ll_seg;
	cl->src_port = src_behind ? seg : 0;
	cl->dst_port = src_behind ? 0 : seg;
}

static __always_inline int xs_drop(struct xs_run *r, struct xs_decision *d, int new_flow)
{
	/* a first fragment dropped: no later fragment may ride an older entry */
	if (r->p->frag == XS_FRAG_FIRST)
		frag_forget(r->p);
	ev_send(r->ctx, r->cfg, r->p, d, r->gen, r->now,
		stats_count(XS_VERDICT_DROP, d->reason, r->ctx->len, XS_EV_LATER));
	stats_rule(r->set, d->rule_id, r->ctx->len, new_flow);
	return XS_DROP;
}

/* Drop a packet a bound port may not send: `reason` SPOOFED or MALFORMED.
 * The event names the port's segment and the destination's. */
static __always_inline int xs_drop_spoofed(struct xs_run *r, __u8 reason)
{
	struct xs_decision d = {
		.verdict = XS_VERDICT_DROP,
		.reason = reason,
		.rule_id = reason == XS_REASON_SPOOFED ? r->port_rule : 0,
		.src_seg = r->port_seg,
	};

	if (reason == XS_REASON_SPOOFED)
		d.dst_seg = policy_segment(r->set, r->p->family, r->p->daddr);
	return xs_drop(r, &d, 0);
}

/*
 * The active set's facts, and the bound port the packet crosses. Returns
 * the bind id (0: not bound) or -1 when a map lookup fails.
 */
static __always_inline int xs_port_lookup(struct xs_run *r)
{
	__u32 set = r->set;
	struct xs_set_info *si = bpf_map_lookup_elem(&xs_sets, &set);
	const struct xs_bind_info *bi;
	int bind;

	if (!si)
		return -1;
	r->ll_seg = si->ll_seg;
	bind = bind_port(r->set, r->ctx->ifindex, si->flags & XS_SETF_BINDS, &bi);
	if (!bi)
		return -1;
	/* copied whether bound or not: unknowns to the verifier either way */
	r->port_rule = bi->rule_id;
	r->port_seg = bi->seg;
	r->port_host = bind_host(bi, r->p);
	return bind;
}

/* A non-first fragment: it follows its datagram's first fragment. */
static __always_inline int xs_later_fragment(struct xs_run *r)
{
	int verdict = frag_lookup(r->p, r->gen, r->now);
	struct xs_decision d = {
		.verdict = XS_VERDICT_DROP,
		.reason = XS_REASON_FRAGMENT,
	};

	if (verdict) {
		stats_count(verdict - 1, XS_REASON_FRAGMENT, r->ctx->len, XS_EV_NONE);
		return XS_PASS;
	}
	return xs_drop(r, &d, 0);
}

/*
 * An ICMP error is related to a tracked flow when it travels towards the
 * quoted packet's sender and quotes a packet of a flow tracked under the
 * current policy (and, accepted by a grant, before the grant's end). A
 * fragmented error never is: it is decided as ICMP. `k` is scratch space
 * for the quoted flow's key.
 */
static __always_inline int xs_icmp_related(struct xs_run *r, struct xs_tuple *k)
{
	const struct xs_tuple *in = &r->p->inner;
	struct xs_flow_hdr v;
	__u64 a[2], b[2];

	if (!r->p->inner_ok)
		return 0;
	__builtin_memcpy(a, in->addr_a, 16);
	if (a[0] != r->p->daddr[0] || a[1] != r->p->daddr[1])
		return 0;
	__builtin_memcpy(b, in->addr_b, 16);
	ct_tuple(k, in->family, in->proto, a, in->port_a, b, in->port_b);
	if (!xs_flow_peek(k, &v, xs_flow_hash(r->cfg->flow_seed, k)) || v.state == XS_CT_DENIED ||
	    v.expires_ns < r->now || v.generation != r->gen)
		return 0;
	/* a flow of a grant that has ended relates nothing */
	if (v.deadline && clock_tai_s(r->cfg) >= v.deadline)
		return 0;
	stats_count(XS_VERDICT_ALLOW, XS_REASON_RELATED, r->ctx->len, XS_EV_NONE);
	return 1;
}

/* A packet of a tracked flow, followed (`v`: its entry as followed). */
static __always_inline int xs_established(struct xs_run *r, const struct xs_flow_hdr *v,
					  int new_flow)
{
	__u8 verdict = (v->flags & XS_CTF_AUDIT) ? XS_VERDICT_AUDIT : XS_VERDICT_ALLOW;

	stats_rule(r->set, v->rule_id, r->ctx->len, new_flow);
	if (r->p->frag == XS_FRAG_FIRST)
		frag_accept(r->p, v->rule_id, verdict, r->gen, r->now);
	stats_count(verdict, XS_REASON_ESTABLISHED, r->ctx->len, XS_EV_NONE);
	return XS_PASS;
}

/*
 * A packet of a tracked flow decided under an older policy, or accepted by
 * a grant: decide it again (in its initiator's direction) unless the grant
 * is still in force for this generation.
 */
static __always_inline int xs_tracked(struct xs_run *r, struct xs_scratch *sc, int from_b, __u64 q,
				      __u32 hash)
{
	const struct xs_tuple *k = &sc->k;
	struct xs_flow_hdr *v = &sc->v;
	int expired = v->deadline && clock_tai_s(r->cfg) >= v->deadline;
	int init_b = !!(v->flags & XS_CTF_INIT_B);
	int from_init = ct_from_initiator(v, from_b);
	struct xs_decision *d = &sc->d;
	struct xs_class cl;
	__be16 port;

	if (v->generation == r->gen && !expired) { /* a grant in force: follow it */
		xs_flow_update(sc, q, r->now, hash);
		return xs_established(r, v, 0);
	}
	port = policy_port(k->proto, init_b ? k->port_a : k->port_b, v->icmp_type);
	xs_class(r, from_init, &cl);
	policy_decide(r->set, k->family, init_b ? k->addr_b : k->addr_a,
		      init_b ? k->addr_a : k->addr_b, k->proto, port, &cl, d);
	stats_misc(XS_STAT_CT_REVALIDATED);
	if (d->verdict == XS_VERDICT_DROP) {
		xs_flow_forget(sc, expired ? XS_FLOW_END_GRANT_EXPIRED : XS_FLOW_END_REVOKED,
			       r->now, hash);
		if (expired) { /* cut by its grant's end, which the event names */
			d->reason = XS_REASON_GRANT_EXPIRED;
			d->rule_id = v->rule_id;
		}
		if (!from_init) /* the event: packet's direction */
			decision_flip(d);
		return xs_drop(r, d, 0);
	}
	v->generation = r->gen;
	v->deadline = d->deadline;
	v->rule_id = (__u16)d->rule_id;
	v->reason = d->reason;
	v->src_seg = d->src_seg;
	v->dst_seg = d->dst_seg;
	v->flags = (v->flags & ~XS_CTF_AUDIT) | (d->verdict == XS_VERDICT_AUDIT ? XS_CTF_AUDIT : 0);
	xs_flow_update(sc, q, r->now, hash);
	return xs_established(r, v, 1);
}

/* What a new entry keeps of the packet (its source side b when `from_b`;
 * sc->io.ifindex: its interface, set for the lookup). */
static __always_inline void xs_new_entry(struct xs_run *r, struct xs_scratch *sc, int from_b)
{
	sc->io.egress = r->ctx->hook == XS_HOOK_EGRESS;
	sc->io.from_b = (__u8)from_b;
}

/*
 * A packet that starts a flow (key sc->k, its source side b when `from_b`,
 * `q` its XS_FLOW_Q()): decided by the policy into sc->d (unless `decided`:
 * a lone SYN, decided first), tracked when accepted, its denial remembered
 * when dropped.
 */
static __always_inline int xs_new_flow(struct xs_run *r, struct xs_scratch *sc, int from_b,
				       int decided, __u64 q, __u32 hash)
{
	struct xs_decision *d = &sc->d;
	struct xs_flow_hdr *nh = &sc->v;
	struct xs_pkt *p = r->p;
	int tcp_nonsyn = p->proto == IPPROTO_TCP && !decided;
	int reversed = 0;
	struct xs_class cl;

	if (!decided) {
		xs_class(r, 1, &cl);
		policy_decide(r->set, p->family, p->saddr, p->daddr, p->proto,
			      policy_port(p->proto, p->dport, p->icmp_type), &cl, d);
	}

	/* Attached to a live host: a mid-stream TCP packet may belong to a
	 * connection the peer opened, in the allowed direction. `d` is then
	 * that connection's decision, in the peer's (initiator's) direction. */
	if (d->verdict == XS_VERDICT_DROP && tcp_nonsyn) {
		struct xs_decision *rev = &sc->rev;

		xs_class(r, 0, &cl);
		policy_decide(r->set, p->family, p->daddr, p->saddr, p->proto, p->sport, &cl, rev);
		if (rev->verdict != XS_VERDICT_DROP) {
			*d = *rev;
			reversed = 1;
		}
	}

	if (d->verdict == XS_VERDICT_DROP) {
		/* remembered, so the tuple's next packets cost one bucket; a bound
		 * port classifies link-local ends by its segment, so the same
		 * tuple may be decided otherwise at another port: not remembered */
		if (!r->port_seg && !p->icmp_err) {
			ct_fill_denial(nh, from_b, p, d, r->gen, r->now, tcp_nonsyn);
			xs_new_entry(r, sc, from_b);
			xs_flow_insert(sc, q, r->now, 1, hash);
		}
		return xs_drop(r, d, 1);
	}

	/* tracked from the initiator: the packet's sender, or its receiver
	 * (reversed); a TCP packet without SYN is picked up mid-stream */
	if (!p->icmp_err) {
		ct_fill(nh, reversed ? !from_b : from_b, p, d, r->gen, r->now, tcp_nonsyn);
		xs_new_entry(r, sc, from_b);
		if (xs_flow_insert(sc, q, r->now, 0, hash) >= 0)
			stats_misc(XS_STAT_CT_CREATED);
	}
	if (reversed) /* the event reports segments in the packet's direction */
		decision_flip(d);
	if (p->frag == XS_FRAG_FIRST)
		frag_accept(p, d->rule_id, d->verdict, r->gen, r->now);
	ev_send(r->ctx, r->cfg, p, d, r->gen, r->now,
		stats_count(d->verdict, d->reason, r->ctx->len, XS_EV_LATER));
	stats_rule(r->set, d->rule_id, r->ctx->len, 1);
	return XS_PASS;
}

/* A remembered denial decides the packet: drop, as it was decided. */
static __always_inline int xs_denied(struct xs_run *r, const struct xs_flow_hdr *v)
{
	struct xs_decision d = {
		.verdict = XS_VERDICT_DROP,
		.reason = v->reason,
		.rule_id = v->rule_id,
		.src_seg = v->src_seg,
		.dst_seg = v->dst_seg,
	};

	return xs_drop(r, &d, 0);
}

/* The policy part: a parsed IP packet under a policy (r->gen != 0). */
static __always_inline int xs_policy(struct xs_run *r)
{
	struct xs_pkt *p = r->p;
	struct xs_scratch *sc;
	int from_b, syn_only, found;
	__u32 zero = 0, hash;
	__u64 q;

	if (p->frag == XS_FRAG_LATER)
		return xs_later_fragment(r);
	sc = bpf_map_lookup_elem(&xs_scratch, &zero);
	if (!sc)
		return XS_DROP;
	if (p->icmp_err && xs_icmp_related(r, &sc->k))
		return XS_PASS;

	syn_only =
		p->proto == IPPROTO_TCP && (p->tcp_flags & (XS_TCP_SYN | XS_TCP_ACK)) == XS_TCP_SYN;
	/* A lone SYN (a connection attempt, a scan, a spoofed flood) is decided
	 * first, from arrays and small hashes: a denied one costs no flow-table
	 * access. Sound because no entry of this generation can have accepted a
	 * SYN the policy denies: at most an older one, which the flow's next
	 * packet decides again. */
	if (syn_only) {
		struct xs_class cl;

		xs_class(r, 1, &cl);
		policy_decide(r->set, p->family, p->saddr, p->daddr, p->proto, p->dport, &cl,
			      &sc->d);
		if (sc->d.verdict == XS_VERDICT_DROP)
			return xs_drop(r, &sc->d, 1);
	}

	from_b = ct_tuple(&sc->k, p->family, p->proto, p->saddr, p->sport, p->daddr, p->dport);
	hash = 0; /* an ICMP error (unrelated) is decided, never tracked: no bucket */
	q = XS_FLOW_Q(r->gen, from_b, syn_only, p->proto, p->tcp_flags, p->icmp_type);
	if (!p->icmp_err) {
		sc->io.len = r->ctx->len;	  /* counted to its flow, */
		sc->io.ifindex = r->ctx->ifindex; /* at its interface */
		hash = xs_flow_hash(r->cfg->flow_seed, &sc->k);
		found = xs_flow_lookup(sc, q, r->now, hash);
		if (found == XS_FLOW_FOLLOWED)
			return xs_established(r, &sc->v, 0);
		if (found == XS_FLOW_SLOW)
			return xs_tracked(r, sc, from_b, q, hash);
		if (found == XS_FLOW_DENIED)
			return xs_denied(r, &sc->v);
	}
	return xs_new_flow(r, sc, from_b, syn_only, q, hash);
}

/*
 * Decide the packet `p` (parsed as ctx->parsed says) seen at `ctx`.
 * Returns XS_PASS or XS_DROP. A global function: verified once, on its own.
 */
__attribute__((noinline)) int xs_decide(struct xs_pkt *p, struct xs_ctx *ctx)
{
	struct xs_run r = { .ctx = ctx, .p = p };
	__u32 zero = 0;
	int bind;

	if (!p || !ctx)
		return XS_DROP;
	r.cfg = bpf_map_lookup_elem(&xs_config, &zero);
	if (!r.cfg)
		return XS_DROP;
	/* Read once: this packet is decided by one policy set only. */
	r.gen = *(volatile __u32 *)&r.cfg->generation;
	r.now = clock_mono(r.cfg);
	/* An unconfirmed apply --confirm past its deadline: the policy before. */
	if (r.cfg->confirm_deadline_ns && r.now >= r.cfg->confirm_deadline_ns) {
		r.gen = r.cfg->rollback_generation;
		if (!r.cfg->rolled_back && !__sync_lock_test_and_set(&r.cfg->rolled_back, 1))
			ev_rollback(ctx, r.gen);
	}
	r.set = r.gen & 1;

	if (ctx->parsed == XS_PARSED_BAD) {
		struct xs_decision d = {
			.verdict = XS_VERDICT_DROP,
			.reason = XS_REASON_MALFORMED,
		};

		return xs_drop(&r, &d, 0);
	}
	/* (before the first apply, set 0 binds nothing: its xs_sets entry is zero) */
	bind = xs_port_lookup(&r);
	if (bind < 0)
		return XS_DROP;
	/* Anti-spoofing on a bound port's ingress, before anything may pass. */
	if (bind && ctx->hook == XS_HOOK_INGRESS) {
		int arp = ctx->parsed == XS_PARSE_NOT_IP;

		if (arp && p->l2_proto == bpf_htons(ETH_P_ARP) && p->arp_bad)
			return xs_drop_spoofed(&r, XS_REASON_MALFORMED);
		/* from the port's host address, and no ICMPv6 to look into: fine */
		if ((!arp || p->l2_proto == bpf_htons(ETH_P_ARP)) &&
		    !(r.port_host && p->proto != IPPROTO_ICMPV6) &&
		    xs_bind_spoofed(p, r.set, (__u32)bind, r.ll_seg, arp))
			return xs_drop_spoofed(&r, XS_REASON_SPOOFED);
	}
	if (ctx->parsed == XS_PARSE_NOT_IP) {
		stats_count(XS_VERDICT_ALLOW, XS_REASON_NOT_IP, ctx->len, XS_EV_NONE);
		return XS_PASS;
	}
	if (p->exempt) {
		stats_count(XS_VERDICT_ALLOW, XS_REASON_ND, ctx->len, XS_EV_NONE);
		return XS_PASS;
	}
	if (!r.gen) {
		stats_count(XS_VERDICT_ALLOW, XS_REASON_NO_POLICY, ctx->len, XS_EV_NONE);
		return XS_PASS;
	}
	return xs_policy(&r);
}

/* ---- Entry points ----------------------------------------------------------- */

/* The parsed packet lives in per-CPU memory, not on the stack: the
 * verifier allows 512 bytes over the frames of a call chain. */
static __always_inline int xs_handle(void *data, void *data_end, struct xs_ctx *ctx)
{
	__u32 zero = 0;
	struct xs_pkt *p = bpf_map_lookup_elem(&xs_pktbuf, &zero);
	int rc;

	if (!p)
		return XS_DROP;
	__builtin_memset(p, 0, sizeof(*p));
	rc = xs_parse(data, data_end, ctx->len, p);
	ctx->parsed = rc == XS_PARSE_BAD ? XS_PARSED_BAD : (__u8)rc;
	return xs_decide(p, ctx);
}

SEC("xdp")
int xs_xdp(struct xdp_md *xdp)
{
	void *data = (void *)(long)xdp->data, *data_end = (void *)(long)xdp->data_end;
	struct xs_ctx ctx = {
		.len = (__u32)(data_end - data),
		.ifindex = xdp->ingress_ifindex,
		.hook = XS_HOOK_INGRESS,
	};
	int rc;

	rc = xs_handle(data, data_end, &ctx);
	/* The decision left an event: send it with the frame's first bytes.
	 * Pointers read anew: whatever the parser checked, one state here for
	 * the verifier (100,000 instructions verified less). */
	if (ctx.ev)
		ev_flush((void *)(long)xdp->data, (void *)(long)xdp->data_end);
	return rc == XS_PASS ? XDP_PASS : XDP_DROP;
}

/* Headers xdpseg may need, at most: Ethernet, two tags, IPv6 with its
 * extension headers, an ICMP error's quoted headers. */
#define XS_TC_PULL_LEN 512

static __always_inline int xs_tc(struct __sk_buff *skb, __u8 hook)
{
	__u32 want = skb->len < XS_TC_PULL_LEN ? skb->len : XS_TC_PULL_LEN;
	struct xs_ctx ctx = {
		.len = skb->len,
		.ifindex = skb->ifindex,
		.hook = hook,
	};
	int rc;

	if ((void *)(long)skb->data + want > (void *)(long)skb->data_end)
		bpf_skb_pull_data(skb, want);
	rc = xs_handle((void *)(long)skb->data, (void *)(long)skb->data_end, &ctx);
	if (ctx.ev) /* (as xs_xdp) */
		ev_flush((void *)(long)skb->data, (void *)(long)skb->data_end);
	return rc == XS_PASS ? TC_ACT_OK : TC_ACT_SHOT;
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

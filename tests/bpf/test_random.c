// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath against the reference evaluator: random policies pushed with
 * the real apply protocol, random first packets (TCP SYN, UDP, ICMP echo,
 * another protocol; IPv4 and IPv6; sometimes VLAN-tagged, with IPv4 options
 * or IPv6 extension headers; sometimes fragmented, with a later fragment
 * that must follow the first; sometimes cut short by their IP length; ICMP
 * errors quoting a tracked flow, to its sender or anyone else) through XDP
 * and TC egress. The verdict, the
 * event's verdict, reason, rule id and segments must be exactly what
 * xs_policy_evaluate() decides from the policy's source form. Fixed seeds.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "harness.h"
#include "randpol.h"

static struct h H;

static void setup(void)
{
	h_open(&H);
	/* every drop must produce its event */
	h_set_rate(&H, 1000000, 1000000);
}

static void teardown(void)
{
	h_close(&H);
}

TestSuite(random, .init = setup, .fini = teardown, .timeout = 240);

/* ICMP types that start a flow: not errors, not neighbour discovery. */
static uint8_t rand_icmp_type(struct rng *r, uint8_t family)
{
	static const uint8_t v4[] = { 0, 8, 9, 10, 13, 14, 17, 18, 40, 200 };
	static const uint8_t v6[] = { 128, 129, 138, 139, 140, 144, 145, 200 };

	if (family == 4)
		return v4[rnd(r, sizeof(v4))];
	return v6[rnd(r, sizeof(v6))];
}

static void rand_spec(struct rng *r, int nseg, uint16_t sport, struct pkt_spec *s, char *src,
		      char *dst)
{
	uint8_t family = rnd(r, 4) ? 4 : 6, sa[16], da[16];

	memset(s, 0, sizeof(*s));
	rand_addr_ll(r, nseg, family, sa);
	rand_addr_ll(r, nseg, family, da);
	inet_ntop(family == 4 ? AF_INET : AF_INET6, sa, src, INET6_ADDRSTRLEN);
	inet_ntop(family == 4 ? AF_INET : AF_INET6, da, dst, INET6_ADDRSTRLEN);
	s->src = src;
	s->dst = dst;
	switch (rnd(r, 6)) {
	case 0:
	case 1:
		s->proto = IPPROTO_TCP;
		s->tcp_flags = TH_SYN;
		break;
	case 2:
	case 3:
		s->proto = IPPROTO_UDP;
		break;
	case 4:
		s->proto = family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		s->icmp_type = rand_icmp_type(r, family);
		s->icmp_id = sport; /* a new flow each time */
		break;
	default:
		s->proto = IPPROTO_GRE; /* tracked by addresses: a fresh pair or a repeat */
		break;
	}
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		s->sport = sport; /* unique: never a conntrack or deny-cache hit */
		s->dport = (uint16_t)(rnd(r, 2) ? rnd(r, 64) : rnd(r, 65536));
	}
	s->payload = rnd(r, 64);
	if (rnd(r, 8) == 0) {
		s->nvlan = 1 + (int)rnd(r, 2);
		s->vlan_tpid[0] = s->nvlan == 2 ? 0x88a8 : 0x8100;
		s->vlan_tpid[1] = 0x8100;
	}
	if (family == 4 && rnd(r, 8) == 0)
		s->ip4_optlen = (uint8_t)(4 * (1 + rnd(r, 10)));
	if (family == 6 && rnd(r, 8) == 0) {
		static const uint8_t ext[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS };

		s->next = 1 + (int)rnd(r, 3);
		for (int i = 0; i < s->next; i++)
			s->ext[i] = ext[i];
	}
}

/* The binding of the test port for the current packet (NULL: not bound). */
static const struct xs_binding *port;

/*
 * The reference decision of `s` at the test port: a bound port's ingress
 * drops a source it may not use (the unspecified one only for DHCPv4);
 * otherwise the policy decides, link-local ends behind a bound port taking
 * its segment.
 */
static void ref_decide(bool egress, const struct pkt_spec *s, struct xs_decision *d)
{
	const struct xs_policy *pol = H.c->policy;
	struct xs_flow f = { 0 };
	static const uint8_t zero[16];

	f.family = (uint8_t)pkt_addr(s->src, f.saddr);
	pkt_addr(s->dst, f.daddr);
	f.proto = s->proto;
	f.dport =
		(s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) ? s->icmp_type : s->dport;
	if (port && !egress && !xs_policy_bind_allows(pol, port, f.family, f.saddr) &&
	    !(!memcmp(f.saddr, zero, 16) && f.family == 4 && s->proto == IPPROTO_UDP &&
	      s->sport == 68 && s->dport == 67)) {
		memset(d, 0, sizeof(*d));
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_SPOOFED;
		d->rule_id = port->rule_id;
		d->src_seg = port->seg;
		d->dst_seg = xs_policy_segment_of(pol, f.family, f.daddr);
		return;
	}
	f.src_port_seg = port && !egress ? port->seg : 0;
	f.dst_port_seg = port && egress ? port->seg : 0;
	xs_policy_evaluate(pol, &f, d);
}

/* Report a mismatch with the policy that made it. */
#define mismatch(what, s, text, ...)                                                              \
	cr_assert_fail("%s %s -> %s proto %u port %u type %u: " what "; policy:\n%s",             \
		       egress ? "egress" : "ingress", (s)->src, (s)->dst, (s)->proto, (s)->dport, \
		       (s)->icmp_type, __VA_ARGS__, text)

/*
 * Run `s` and compare with the reference decision `want`; returns whether
 * the packet passed.
 */
static bool check_decision(bool egress, const struct pkt_spec *s, const struct xs_decision *want,
			   const char *text)
{
	const struct xs_event *e = &H.ev[0];
	struct pkt p;
	bool passed;

	cr_assert_eq(pkt_build(&p, s), 0, "pkt_build");
	passed = h_passed(egress, h_run(&H, egress, &p));
	cr_assert_eq(H.nev, 1, "%zu events for a new flow", H.nev);
	if (passed != (want->verdict != XS_VERDICT_DROP) || e->verdict != want->verdict ||
	    e->reason != want->reason || e->rule_id != want->rule_id)
		mismatch("datapath %s, event %s/%s rule %u; reference %s/%s rule %u", s, text,
			 passed ? "passed" : "dropped", xs_verdict_name(e->verdict),
			 xs_reason_name(e->reason), e->rule_id, xs_verdict_name(want->verdict),
			 xs_reason_name(want->reason), want->rule_id);
	/* and every other field of the event */
	h_expect_event_segs(&H, egress, s, &p, want->verdict, want->reason, want->rule_id,
			    want->src_seg, want->dst_seg);
	return passed;
}

/* A first packet: the reference decides it. */
static bool check_one(bool egress, const struct pkt_spec *s, const char *text)
{
	struct xs_decision want;
	struct xs_tuple k;
	bool passed;

	ref_decide(egress, s, &want);
	passed = check_decision(egress, s, &want, text);
	/* GRE and non-query ICMP are tracked by address pair: a repeat must be new
	 * again (its decision may differ at a bound port) */
	if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP) {
		struct pkt p;

		h_tuple(s, &k);
		bpf_map_delete_elem(H.maps.ct, &k);
		cr_assert_eq(pkt_build(&p, s), 0);
		h_deny_forget(&H, s);
	}
	return passed;
}

/* Bytes of L4 header the datapath reads (a first fragment must hold them). */
static size_t l4_len(const struct pkt_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	}
	return 0;
}

/*
 * A fragmented datagram: the first fragment is decided as the flow; a later
 * one, past the headers, passes exactly when the first did.
 */
static void check_fragments(struct rng *r, bool egress, struct pkt_spec *s, const char *text)
{
	static const uint8_t data[16] = { 0xde, 0xad, 0xbe, 0xef };
	struct pkt_spec later;
	bool first_passed;
	struct pkt p;

	s->frag = s->more_frags = true;
	s->frag_id = 0x10000 + s->sport + (uint32_t)rnd(r, 1000) * 65536;
	later = *s;
	first_passed = check_one(egress, s, text);
	later.more_frags = rnd(r, 2);
	later.frag_off = (uint16_t)((l4_len(s) + 7) / 8 + rnd(r, 4));
	if (!later.frag_off)
		later.frag_off = 1;
	later.raw = data;
	later.raw_len = sizeof(data);
	cr_assert_eq(pkt_build(&p, &later), 0, "pkt_build");
	if (h_passed(egress, h_run(&H, egress, &p)) != first_passed)
		mismatch("a later fragment %s, its first fragment %s", s, text,
			 first_passed ? "dropped" : "passed", first_passed ? "passed" : "dropped");
	if (first_passed) {
		cr_assert_eq(H.nev, 0, "a later fragment of an accepted datagram made an event");
	} else {
		cr_assert_eq(H.nev, 1);
		if (H.ev[0].reason == XS_REASON_SPOOFED) {
			cr_assert_eq(H.ev[0].rule_id, port->rule_id); /* from the port's ingress */
		} else {
			cr_assert_eq(H.ev[0].reason, XS_REASON_FRAGMENT);
			cr_assert_eq(H.ev[0].rule_id, 0);
		}
	}
}

/* The L4 header cut short by the IP length (a fragment or not): malformed. */
static void check_truncated(struct rng *r, bool egress, struct pkt_spec *s, const char *text)
{
	struct pkt p;

	s->frag = s->more_frags = rnd(r, 2);
	s->frag_id = s->sport;
	s->cut = s->payload + 1 + rnd(r, (uint32_t)l4_len(s) - 1);
	cr_assert_eq(pkt_build(&p, s), 0, "pkt_build");
	if (h_passed(egress, h_run(&H, egress, &p)))
		mismatch("passed with %zu bytes of its L4 header", s, text, l4_len(s) - s->cut);
	cr_assert_eq(H.nev, 1);
	cr_assert_eq(H.ev[0].reason, XS_REASON_MALFORMED, "reason %u", H.ev[0].reason);
	cr_assert_eq(H.ev[0].rule_id, 0);
}

/* Make `s` come from one of the addresses bound to `b` (its first prefix). */
static void bind_source(struct rng *r, const struct xs_binding *b, struct pkt_spec *s, char *src)
{
	uint8_t a[16] = { 0 };
	const struct xs_prefix *px = NULL;
	int family = strchr(s->dst, ':') ? 6 : 4;

	for (size_t i = 0; i < b->nprefixes && !px; i++)
		if (b->prefixes[i].family == family)
			px = &b->prefixes[i];
	if (!px)
		return;
	memcpy(a, px->addr, 16);
	if (px->len < (family == 4 ? 32 : 128))
		a[family == 4 ? 3 : 15] = (uint8_t)rnd(r, 256);
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, src, INET6_ADDRSTRLEN);
	s->src = src;
}

/* The last tracked TCP/UDP flow of this policy, for ICMP errors to quote. */
struct quoted {
	bool valid;
	struct pkt pkt;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
};

/*
 * An ICMP error quoting flow `q`: towards the quoted sender it is related
 * (passes, no event); towards anyone else it is an ICMP flow the policy
 * decides by its type.
 */
static void check_icmp_error(struct rng *r, bool egress, const struct quoted *q, int nseg,
			     const char *text)
{
	static const uint8_t v4[] = { 3, 11, 12 }, v6[] = { 1, 2, 3, 4 };
	char other[INET6_ADDRSTRLEN];
	struct pkt_spec e = { 0 };
	struct xs_decision want;
	uint8_t a[16];

	e.proto = q->pkt.family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	e.icmp_type = q->pkt.family == 4 ? v4[rnd(r, sizeof(v4))] : v6[rnd(r, sizeof(v6))];
	e.icmp_code = (uint8_t)rnd(r, 4);
	e.quote = q->pkt.data + q->pkt.l3;
	e.quote_len = q->pkt.len - q->pkt.l3;
	e.src = q->dst;
	if (rnd(r, 2)) {
		e.dst = q->src;
		ref_decide(egress, &e, &want);
		if (want.reason == XS_REASON_SPOOFED)
			check_decision(egress, &e, &want, text);
		else
			h_check(&H, egress, &e, XS_VERDICT_ALLOW, XS_REASON_RELATED, 0);
		return;
	}
	do {
		rand_addr(r, nseg, (uint8_t)q->pkt.family, a);
		inet_ntop(q->pkt.family == 4 ? AF_INET : AF_INET6, a, other, sizeof(other));
	} while (!strcmp(other, q->src));
	e.dst = other;
	ref_decide(egress, &e, &want);
	check_decision(egress, &e, &want, text);
}

static void run_seed(uint64_t seed, int npolicies, int nflows)
{
	struct rng r = { seed };
	uint16_t sport = 1024;
	size_t checked = 0, dropped = 0, frags = 0, errors = 0, cut = 0, bound = 0;

	for (int n = 0; n < npolicies; n++) {
		struct quoted q = { 0 };
		int nseg;
		char *text = rand_policy_ll(&r, &nseg);

		h_push(&H, text);
		for (int i = 0; i < nflows; i++) {
			char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], name[8];
			struct pkt_spec s;
			bool egress = rnd(&r, 2);
			uint32_t kind = rnd(&r, 20);

			/* the test port is p0..p5 (bound when the policy binds it) or none */
			snprintf(name, sizeof(name), "p%u", rnd(&r, 8));
			port = xs_policy_binding_for(H.c->policy, name);
			if (name[1] < '6')
				h_bind(&H, name);
			else
				h_unbind(&H);
			bound += port != NULL;
			rand_spec(&r, nseg, sport++, &s, src, dst);
			if (port && rnd(&r, 3) == 0) /* the port's own source */
				bind_source(&r, port, &s, src);
			if (kind < 2 && q.valid) {
				check_icmp_error(&r, egress, &q, nseg, text);
				errors++;
				continue;
			}
			if (kind < 4 && l4_len(&s)) {
				check_truncated(&r, egress, &s, text);
				cut++;
				continue;
			}
			if (kind < 7) {
				check_fragments(&r, egress, &s, text);
				frags++;
			} else if (check_one(egress, &s, text) &&
				   (s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP) && !s.next) {
				/* (the datapath reads no extension header in a quoted
				 * packet: an error quoting one is decided as ICMP) */
				q.valid = true;
				cr_assert_eq(pkt_build(&q.pkt, &s), 0);
				snprintf(q.src, sizeof(q.src), "%s", src);
				snprintf(q.dst, sizeof(q.dst), "%s", dst);
			}
			checked++;
			dropped += H.ev[0].verdict == XS_VERDICT_DROP;
		}
		free(text);
	}
	/* the random policies must exercise both outcomes, and every kind of packet */
	cr_assert_gt(dropped, checked / 10, "only %zu of %zu dropped", dropped, checked);
	cr_assert_lt(dropped, checked - checked / 10, "%zu of %zu dropped", dropped, checked);
	cr_assert_gt(frags, checked / 10, "%zu fragmented datagrams", frags);
	cr_assert_gt(errors, checked / 20, "%zu ICMP errors", errors);
	cr_assert_gt(cut, checked / 20, "%zu truncated headers", cut);
	cr_assert_gt(bound, checked / 10, "%zu packets at a bound port", bound);
	h_unbind(&H);
	port = NULL;
}

Test(random, datapath_matches_reference_seed_1)
{
	run_seed(1, 200, 200);
}

Test(random, datapath_matches_reference_seed_2)
{
	run_seed(0x5eed5eed, 200, 200);
}

Test(random, datapath_matches_reference_seed_3)
{
	run_seed(20261123, 200, 200);
}

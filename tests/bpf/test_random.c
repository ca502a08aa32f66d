// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath against the reference evaluator: random policies pushed with
 * the real apply protocol, random first packets (TCP SYN, UDP, ICMP echo,
 * another protocol; IPv4 and IPv6; sometimes VLAN-tagged, with IPv4 options
 * or IPv6 extension headers) through XDP and TC egress. The verdict, the
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
	rand_addr(r, nseg, family, sa);
	rand_addr(r, nseg, family, da);
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

/* Run `s` and compare with the reference decision; on a mismatch, show the policy. */
static void check_one(bool egress, const struct pkt_spec *s, const char *text)
{
	struct xs_decision want;
	const struct xs_event *e = &H.ev[0];
	struct xs_tuple k;
	struct pkt p;
	bool passed;

	h_eval(&H, s, &want);
	cr_assert_eq(pkt_build(&p, s), 0, "pkt_build");
	passed = h_passed(egress, h_run(&H, egress, &p));
	cr_assert_eq(H.nev, 1, "%zu events for a new flow", H.nev);
	if (passed != (want.verdict != XS_VERDICT_DROP) || e->verdict != want.verdict ||
	    e->reason != want.reason || e->rule_id != want.rule_id)
		cr_assert_fail("%s %s -> %s proto %u port %u type %u: datapath %s, event %s/%s "
			       "rule %u; reference %s/%s rule %u; policy:\n%s",
			       egress ? "egress" : "ingress", s->src, s->dst, s->proto, s->dport,
			       s->icmp_type, passed ? "passed" : "dropped",
			       xs_verdict_name(e->verdict), xs_reason_name(e->reason), e->rule_id,
			       xs_verdict_name(want.verdict), xs_reason_name(want.reason),
			       want.rule_id, text);
	/* and every other field of the event */
	h_expect_event(&H, egress, s, &p, want.verdict, want.reason, want.rule_id);
	/* GRE and non-query ICMP are tracked by address pair: a repeat must be new again */
	h_tuple(s, &k);
	bpf_map_delete_elem(H.maps.ct, &k);
}

static void run_seed(uint64_t seed, int npolicies, int nflows)
{
	struct rng r = { seed };
	uint16_t sport = 1024;
	size_t checked = 0, dropped = 0;

	for (int n = 0; n < npolicies; n++) {
		int nseg;
		char *text = rand_policy(&r, &nseg);

		h_push(&H, text);
		for (int i = 0; i < nflows; i++) {
			char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
			struct pkt_spec s;
			bool egress = rnd(&r, 2);

			rand_spec(&r, nseg, sport++, &s, src, dst);
			check_one(egress, &s, text);
			checked++;
			dropped += H.ev[0].verdict == XS_VERDICT_DROP;
		}
		free(text);
	}
	/* the random policies must exercise both outcomes */
	cr_assert_gt(dropped, checked / 10, "only %zu of %zu dropped", dropped, checked);
	cr_assert_lt(dropped, checked - checked / 10, "%zu of %zu dropped", dropped, checked);
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

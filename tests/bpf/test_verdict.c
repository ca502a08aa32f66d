// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* New-flow verdicts: rules, defaults, any/world, monitor, ND, no policy. */
#include <netinet/in.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct h H;

static void setup(void)
{
	h_open(&H);
}

static void teardown(void)
{
	h_close(&H);
}

TestSuite(verdict, .init = setup, .fini = teardown);

/* Line numbers matter: events carry the rule ids of these lines. */
static const char *policy = "segment vda 10.1.0.0/16, fd00:1::/64\n"  /* 1 */
			    "segment sf 10.2.0.0/24, fd00:2::/64\n"   /* 2 */
			    "segment dc 10.3.0.0/24\n"		      /* 3 */
			    "allow vda -> sf : tcp/443, udp/1494\n"   /* 4 */
			    "deny vda -> vda\n"			      /* 5 */
			    "allow any -> dc : tcp/88\n"	      /* 6 */
			    "allow vda -> world : tcp/443\n"	      /* 7 */
			    "deny sf -> dc : tcp/88\n"		      /* 8 */
			    "default sf in deny out deny\n"	      /* 9 */
			    "allow vda -> vda : tcp/445\n"	      /* 10 */
			    "allow vda -> sf : icmp/8, icmpv6/128\n"; /* 11 */

/* ARP: not IP, passes without an event, counted as NOT_IP. */
static struct pkt arp_frame(void)
{
	struct pkt p = { 0 };

	memset(p.data, 0xff, 6);
	p.data[6] = 0x02, p.data[11] = 0x01;
	p.data[12] = 0x08, p.data[13] = 0x06;
	/* htype 1, ptype 0x0800, hlen 6, plen 4, op 1 */
	p.data[15] = 1, p.data[16] = 0x08, p.data[18] = 6, p.data[19] = 4, p.data[21] = 1;
	p.len = 42;
	return p;
}

Test(verdict, arp_passes_without_event)
{
	struct pkt p = arp_frame();

	h_push(&H, "segment vda 10.1.0.0/16\ndeny any -> any\n");
	for (int egress = 0; egress < 2; egress++) {
		cr_assert(h_passed(egress, h_run(&H, egress, &p)), "ARP dropped");
		cr_assert_eq(H.nev, 0, "ARP made %zu event(s)", H.nev);
	}
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_NOT_IP)).packets, 2);
}

Test(verdict, no_policy_passes_everything)
{
	struct pkt_spec s = PKT_TCP("10.1.0.5", 40000, "10.1.0.6", 445, TH_SYN);
	struct pkt p;

	cr_assert_eq(pkt_build(&p, &s), 0);
	for (int egress = 0; egress < 2; egress++)
		cr_assert(h_passed(egress, h_run(&H, egress, &p)), "dropped with no policy");
	s = PKT_UDP("fd00:1::1", 1, "fd00:1::2", 2);
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_NO_POLICY, 0);
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_NO_POLICY)).packets, 3);
	cr_assert_eq(h_ct_count(&H), 0, "no policy must not create conntrack entries");
}

/* The ICMPv6 the kernel needs passes a deny-everything policy: neighbour
 * discovery with hop limit 255, MLD with hop limit 1 from a link-local
 * source, each of at least its minimum length (RFC 4861, RFC 3810). */
Test(verdict, nd_passes_without_policy_decision)
{
	static const struct {
		uint8_t type, hop;
		const char *src;
		size_t body; /* bytes after the first 8 */
	} msgs[] = {
		{ 133, 255, "fd00:1::1", 0 },  { 134, 255, "fe80::1", 8 },
		{ 135, 255, "fd00:1::1", 16 }, { 135, 255, "::", 16 },
		{ 136, 255, "fd00:1::1", 16 }, { 137, 255, "fe80::1", 32 },
		{ 130, 1, "fe80::1", 16 },     { 131, 1, "fe80::1", 16 },
		{ 132, 1, "fe80::1", 16 },     { 143, 1, "fe80::1", 0 },
		{ 143, 1, "::", 0 },
	};
	struct pkt_spec s;

	h_push(&H, "segment lan fd00:1::/64\ndeny any -> any\n");
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		s = PKT_ICMP6(msgs[i].src, "ff02::1", msgs[i].type, 0);
		s.ttl = msgs[i].hop;
		s.payload = msgs[i].body;
		h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_ND, 0);
		h_check(&H, true, &s, XS_VERDICT_ALLOW, XS_REASON_ND, 0);
	}
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_ND)).packets,
		     2 * sizeof(msgs) / sizeof(msgs[0]));
	/* an echo request is subject to policy */
	s = PKT_ICMP6("fd00:1::1", "fd00:1::2", 128, 7);
	h_check(&H, false, &s, XS_VERDICT_DROP, XS_REASON_DENY_RULE, h_rid(&H, 2));
}

struct vcase {
	struct pkt_spec s;
	uint8_t verdict, reason;
	int line;		      /* rule line, or 0 */
	const char *in_seg, *out_seg; /* a default's origin, or NULL */
};

static uint32_t case_rid(const struct vcase *c)
{
	if (c->line)
		return h_rid(&H, c->line);
	if (c->in_seg)
		return h_in_rid(&H, c->in_seg);
	if (c->out_seg)
		return h_out_rid(&H, c->out_seg);
	return 0;
}

static void run_cases(const struct vcase *cases, size_t n, bool egress)
{
	for (size_t i = 0; i < n; i++) {
		const struct vcase *c = &cases[i];
		struct xs_decision d;
		uint32_t rid = case_rid(c);

		/* the reference evaluator agrees with the expectation */
		h_eval(&H, &c->s, &d);
		cr_assert_eq(d.verdict, c->verdict, "case %zu: evaluator verdict %u", i, d.verdict);
		cr_assert_eq(d.reason, c->reason, "case %zu: evaluator reason %u", i, d.reason);
		if (c->reason == XS_REASON_DEFAULT)
			rid = d.rule_id; /* both defaults allow: the evaluator names one */
		else
			cr_assert_eq(d.rule_id, rid, "case %zu: evaluator rule %u", i, d.rule_id);
		h_check(&H, egress, &c->s, c->verdict, c->reason, rid);
	}
}

static const struct vcase basic_cases[] = {
	{ PKT_TCP("10.1.0.5", 40000, "10.2.0.10", 443, TH_SYN), XS_VERDICT_ALLOW, XS_REASON_RULE,
	  4 },
	{ PKT_UDP("10.1.0.5", 40001, "10.2.0.10", 1494), XS_VERDICT_ALLOW, XS_REASON_RULE, 4 },
	{ PKT_TCP("fd00:1::5", 40002, "fd00:2::10", 443, TH_SYN), XS_VERDICT_ALLOW, XS_REASON_RULE,
	  4 },
	/* deny beats a more specific allow */
	{ PKT_TCP("10.1.0.5", 40003, "10.1.0.6", 445, TH_SYN), XS_VERDICT_DROP, XS_REASON_DENY_RULE,
	  5 },
	{ PKT_UDP("fd00:1::5", 40004, "fd00:1::6", 53), XS_VERDICT_DROP, XS_REASON_DENY_RULE, 5 },
	/* deny sf -> dc beats allow any -> dc */
	{ PKT_TCP("10.2.0.10", 40005, "10.3.0.2", 88, TH_SYN), XS_VERDICT_DROP, XS_REASON_DENY_RULE,
	  8 },
	/* any includes segments and world */
	{ PKT_TCP("10.1.0.5", 40006, "10.3.0.2", 88, TH_SYN), XS_VERDICT_ALLOW, XS_REASON_RULE, 6 },
	{ PKT_TCP("192.0.2.1", 40007, "10.3.0.2", 88, TH_SYN), XS_VERDICT_ALLOW, XS_REASON_RULE,
	  6 },
	/* world = in no segment */
	{ PKT_TCP("10.1.0.5", 40008, "8.8.8.8", 443, TH_SYN), XS_VERDICT_ALLOW, XS_REASON_RULE, 7 },
	{ PKT_TCP("fd00:1::5", 40009, "2001:db8::1", 443, TH_SYN), XS_VERDICT_ALLOW, XS_REASON_RULE,
	  7 },
	/* defaults: vda out allow (implicit), world in allow */
	{ PKT_UDP("10.1.0.5", 40010, "8.8.8.8", 53), XS_VERDICT_ALLOW, XS_REASON_DEFAULT, 0 },
	/* world -> vda: vda's implicit in deny */
	{ PKT_TCP("192.0.2.1", 40011, "10.1.0.5", 22, TH_SYN), XS_VERDICT_DROP,
	  XS_REASON_DEFAULT_IN, 0, "vda" },
	/* dc -> world: dc out allow, world in allow */
	{ PKT_TCP("10.3.0.2", 40012, "198.51.100.1", 22, TH_SYN), XS_VERDICT_ALLOW,
	  XS_REASON_DEFAULT, 0 },
	/* sf out deny; world in allow */
	{ PKT_UDP("10.2.0.10", 40013, "8.8.4.4", 53), XS_VERDICT_DROP, XS_REASON_DEFAULT_OUT, 0,
	  NULL, "sf" },
	/* sf -> sf: both defaults deny, out is named */
	{ PKT_TCP("10.2.0.10", 40014, "10.2.0.11", 22, TH_SYN), XS_VERDICT_DROP,
	  XS_REASON_DEFAULT_OUT, 0, NULL, "sf" },
	/* vda -> sf port not in the rule: sf in deny */
	{ PKT_TCP("10.1.0.5", 40015, "10.2.0.10", 80, TH_SYN), XS_VERDICT_DROP,
	  XS_REASON_DEFAULT_IN, 0, "sf" },
	/* ICMP: type is the port */
	{ PKT_ICMP("10.1.0.5", "10.2.0.10", 8, 77), XS_VERDICT_ALLOW, XS_REASON_RULE, 11 },
	{ PKT_ICMP6("fd00:1::5", "fd00:2::10", 128, 78), XS_VERDICT_ALLOW, XS_REASON_RULE, 11 },
	{ PKT_ICMP("10.1.0.5", "10.2.0.10", 13, 79), XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, 0,
	  "sf" },
};

Test(verdict, rules_defaults_any_world_ingress)
{
	h_push(&H, policy);
	run_cases(basic_cases, sizeof(basic_cases) / sizeof(basic_cases[0]), false);
}

Test(verdict, rules_defaults_any_world_egress)
{
	h_push(&H, policy);
	run_cases(basic_cases, sizeof(basic_cases) / sizeof(basic_cases[0]), true);
}

static const char *monitor_policy = "segment vda 10.1.0.0/16\n"	   /* 1 */
				    "segment sf 10.2.0.0/24\n"	   /* 2 */
				    "mode vda monitor\n"	   /* 3 */
				    "deny vda -> sf : tcp/22\n"	   /* 4 */
				    "allow vda -> sf : tcp/443\n"; /* 5 */

Test(verdict, monitor_turns_drops_into_audits)
{
	struct pkt_spec s = PKT_TCP("10.1.0.5", 41000, "10.2.0.10", 22, TH_SYN);
	struct xs_ct_val ct;

	h_push(&H, monitor_policy);
	h_check(&H, false, &s, XS_VERDICT_AUDIT, XS_REASON_DENY_RULE, h_rid(&H, 4));
	cr_assert_eq(h_ct_lookup(&H, &s, NULL, &ct), 0, "audited flow has no conntrack entry");
	cr_expect(ct.flags & XS_CTF_AUDIT, "ct flags 0x%x lack XS_CTF_AUDIT", ct.flags);
	cr_expect_eq(ct.rule_id, h_rid(&H, 4));
	cr_expect_eq(ct.reason, XS_REASON_DENY_RULE);

	/* sf -> vda: vda's implicit in deny, vda in monitor mode */
	s = PKT_TCP("10.2.0.10", 41001, "10.1.0.5", 3389, TH_SYN);
	h_check(&H, false, &s, XS_VERDICT_AUDIT, XS_REASON_DEFAULT_IN, h_in_rid(&H, "vda"));
	cr_assert_eq(h_ct_lookup(&H, &s, NULL, &ct), 0);
	cr_expect(ct.flags & XS_CTF_AUDIT);

	/* an allowed flow is an allow, not an audit, and has no audit flag */
	s = PKT_TCP("10.1.0.5", 41002, "10.2.0.10", 443, TH_SYN);
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 5));
	cr_assert_eq(h_ct_lookup(&H, &s, NULL, &ct), 0);
	cr_expect_eq(ct.flags & XS_CTF_AUDIT, 0);

	/* sf -> sf: no monitor segment involved, sf's implicit in deny drops */
	s = PKT_TCP("10.2.0.10", 41003, "10.2.0.11", 22, TH_SYN);
	h_check(&H, false, &s, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "sf"));

	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_AUDIT, XS_REASON_DENY_RULE)).packets, 1);
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_AUDIT, XS_REASON_DEFAULT_IN)).packets, 1);
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DEFAULT_IN)).packets, 1);
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_RULE)).packets, 1);
}

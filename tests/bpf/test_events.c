// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Events (rate limit, quiet allow), counters, and XDP/TC parity. */
#include <netinet/in.h>
#include <string.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "ctl/show.h"
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

TestSuite(events, .init = setup, .fini = teardown);

static const char *policy = "segment a 10.1.0.0/16, fd00:1::/64\n" /* 1 */
			    "segment b 10.2.0.0/16, fd00:2::/64\n" /* 2 */
			    "allow a -> b : tcp/443, udp/53\n"	   /* 3 */
			    "deny a -> b : tcp/23\n"		   /* 4 */
			    "allow b -> a : icmp/8\n";		   /* 5 */

/* With burst B (and a rate far too slow to refill during the test), B
 * distinct dropped packets make events and the rest are counted. */
static void ratelimit(bool egress, uint32_t burst, int n)
{
	struct pkt_spec s;
	struct xs_counter c;
	uint64_t lost, rl;
	int events = 0;

	h_push(&H, policy);
	h_set_rate(&H, 1, burst);
	for (int i = 0; i < n; i++) {
		s = PKT_TCP("10.1.0.5", (uint16_t)(20000 + i), "10.2.0.9", 23, TH_SYN);
		cr_assert(!h_passed(egress, h_send(&H, egress, &s)), "packet %d passed", i);
		cr_assert(H.nev <= 1);
		if (H.nev) {
			cr_expect_eq(H.ev[0].reason, XS_REASON_DENY_RULE);
			cr_expect_eq(H.ev[0].sport, 20000 + i);
		}
		events += (int)H.nev;
	}
	cr_assert_eq(events, (int)burst, "%d drop events with burst %u", events, burst);
	c = h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DENY_RULE));
	cr_assert_eq(c.packets, (uint64_t)n);
	cr_assert_eq(c.ev[XS_EV_SENT], burst);
	cr_assert_eq(c.ev[XS_EV_RATELIMITED], (uint64_t)(n - (int)burst));
	cr_assert_eq(c.ev[XS_EV_LOST] + c.ev[XS_EV_NONE], 0);
	/* allow events have their own bucket: the empty drop bucket stops none */
	for (int i = 0; i < 5; i++) {
		s = PKT_TCP("10.1.0.5", (uint16_t)(30000 + i), "10.2.0.9", 443, TH_SYN);
		h_check(&H, egress, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	}
	cr_assert_eq(xs_event_losses(&H.maps, &lost, &rl), 0);
	cr_assert_eq(lost, 0);
	cr_assert_eq(rl, (uint64_t)(n - (int)burst), "%llu rate-limited in all",
		     (unsigned long long)rl);
}

Test(events, drop_events_rate_limited_xdp)
{
	ratelimit(false, 5, 40);
}

Test(events, drop_events_rate_limited_tc)
{
	ratelimit(true, 17, 50);
}

/* Allowed new flows pass their own bucket: a flood of them makes `burst`
 * events, every flow still passes and counts; drops keep their events. */
Test(events, allow_events_rate_limited_by_their_own_bucket)
{
	struct pkt_spec s;
	struct xs_config cfg;
	struct xs_counter c;
	int events = 0;

	h_push(&H, policy);
	cfg = h_cfg(&H);
	cfg.allow_ev_rate = 1;
	cfg.allow_ev_burst = 7;
	h_cfg_set(&H, &cfg);
	for (int i = 0; i < 30; i++) {
		s = PKT_UDP("10.1.0.5", (uint16_t)(20000 + i), "10.2.0.9", 53);
		cr_assert(h_passed(false, h_send(&H, false, &s)), "flow %d dropped", i);
		events += (int)H.nev;
	}
	cr_assert_eq(events, 7, "%d allow events with burst 7", events);
	c = h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_RULE));
	cr_assert_eq(c.packets, 30);
	cr_assert_eq(c.ev[XS_EV_SENT], 7);
	cr_assert_eq(c.ev[XS_EV_RATELIMITED], 23);
	cr_assert_eq(h_rstat(&H, h_rid(&H, 3)).flows, 30);
	s = PKT_TCP("10.1.0.5", 40000, "10.2.0.9", 23, TH_SYN);
	h_check(&H, false, &s, XS_VERDICT_DROP, XS_REASON_DENY_RULE, h_rid(&H, 4));
}

Test(events, quiet_allow_suppresses_allow_events_only)
{
	struct pkt_spec ok = PKT_UDP("fd00:1::5", 5353, "fd00:2::9", 53);
	struct pkt_spec bad = PKT_UDP("fd00:1::5", 5353, "fd00:2::9", 54);
	struct xs_config cfg;
	__u32 zero = 0;

	h_push(&H, policy);
	cr_assert_eq(bpf_map_lookup_elem(H.maps.config, &zero, &cfg), 0);
	cfg.flags |= XS_CFG_QUIET_ALLOW;
	cr_assert_eq(bpf_map_update_elem(H.maps.config, &zero, &cfg, BPF_ANY), 0);
	cr_assert(h_passed(false, h_send(&H, false, &ok)));
	cr_assert_eq(H.nev, 0, "allow event despite XS_CFG_QUIET_ALLOW");
	h_check(&H, false, &bad, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "b"));
}

static size_t len_of(const struct pkt_spec *s)
{
	struct pkt p;

	cr_assert_eq(pkt_build(&p, s), 0);
	return p.len;
}

Test(events, counters_per_verdict_reason_and_rule)
{
	struct pkt_spec syn = PKT_TCP("10.1.0.5", 40000, "10.2.0.9", 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40000, TH_SYN | TH_ACK);
	struct pkt_spec data = PKT_TCP("10.1.0.5", 40000, "10.2.0.9", 443, TH_ACK);
	struct pkt_spec dns = PKT_UDP("fd00:1::5", 5353, "fd00:2::9", 53);
	struct pkt_spec telnet = PKT_TCP("10.1.0.5", 40001, "10.2.0.9", 23, TH_SYN);
	struct pkt_spec in = PKT_TCP("10.2.0.9", 40002, "10.1.0.5", 22, TH_SYN);
	struct pkt_spec out = PKT_UDP("10.1.0.5", 40003, "198.51.100.7", 123);
	struct xs_decision dd;
	struct xs_rule_counter rc;
	struct xs_counter c;
	uint64_t r3_bytes, est_bytes;

	h_push(&H, policy);
	data.payload = 100;
	h_check(&H, false, &syn, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	h_check(&H, false, &synack, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, true, &data, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, false, &data, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, false, &dns, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	for (int i = 0; i < 3; i++) {
		h_check(&H, false, &telnet, XS_VERDICT_DROP, XS_REASON_DENY_RULE, h_rid(&H, 4));
		h_check(&H, true, &in, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "a"));
	}
	h_eval(&H, &out, &dd);
	h_check(&H, false, &out, XS_VERDICT_ALLOW, XS_REASON_DEFAULT, dd.rule_id);

	/* per verdict and reason */
	c = h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_RULE));
	cr_expect_eq(c.packets, 2);
	cr_expect_eq(c.bytes, len_of(&syn) + len_of(&dns));
	c = h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED));
	est_bytes = len_of(&synack) + 2 * len_of(&data);
	cr_expect_eq(c.packets, 3);
	cr_expect_eq(c.bytes, est_bytes);
	c = h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DENY_RULE));
	cr_expect_eq(c.packets, 3);
	cr_expect_eq(c.bytes, 3 * len_of(&telnet));
	c = h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DEFAULT_IN));
	cr_expect_eq(c.packets, 3);
	cr_expect_eq(c.bytes, 3 * len_of(&in));
	c = h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_DEFAULT));
	cr_expect_eq(c.packets, 1);
	cr_expect_eq(c.bytes, len_of(&out));
	cr_expect_eq(h_stat(&H, XS_STAT_CT_CREATED).packets, 3);

	/* per rule: flows, and every packet of those flows */
	rc = h_rstat(&H, h_rid(&H, 3));
	r3_bytes = len_of(&syn) + est_bytes + len_of(&dns);
	cr_expect_eq(rc.flows, 2, "rule 3 flows %llu", (unsigned long long)rc.flows);
	cr_expect_eq(rc.packets, 5, "rule 3 packets %llu", (unsigned long long)rc.packets);
	cr_expect_eq(rc.bytes, r3_bytes, "rule 3 bytes %llu, expected %llu",
		     (unsigned long long)rc.bytes, (unsigned long long)r3_bytes);
	/* a denied lone SYN is decided anew each time, without the flow table
	 * (a spoofed flood must not cost a table insert): each is an attempt */
	rc = h_rstat(&H, h_rid(&H, 4));
	cr_expect_eq(rc.flows, 3, "deny rule flows %llu", (unsigned long long)rc.flows);
	cr_expect_eq(rc.packets, 3);
	cr_expect_eq(rc.bytes, 3 * len_of(&telnet));
	rc = h_rstat(&H, h_in_rid(&H, "a"));
	cr_expect_eq(rc.flows, 3, "a's in default flows %llu", (unsigned long long)rc.flows);
	cr_expect_eq(rc.packets, 3);
	rc = h_rstat(&H, dd.rule_id);
	cr_expect_eq(rc.flows, 1);
	cr_expect_eq(rc.packets, 1);
	rc = h_rstat(&H, h_rid(&H, 5));
	cr_expect_eq(rc.flows, 0, "unused rule counted");

	/* the same policy pushed again: every rule keeps its counts in the
	 * other set (the carry-over: test_counters.c) */
	h_push(&H, policy);
	rc = h_rstat(&H, h_rid(&H, 3));
	cr_expect_eq(rc.flows, 2, "rule counters not carried by the push");
	cr_expect_eq(rc.packets, 5);
	cr_expect_eq(rc.bytes, r3_bytes);
}

/* The same packets through XDP (one fresh datapath) and TC egress (another)
 * give the same verdicts and events, except the hook. */
Test(events, tc_egress_matches_xdp)
{
	static struct h T;
	struct pkt_spec specs[] = {
		PKT_TCP("10.1.0.5", 1000, "10.2.0.9", 443, TH_SYN),
		PKT_TCP("10.1.0.5", 1001, "10.2.0.9", 23, TH_SYN),
		PKT_TCP("10.2.0.9", 1002, "10.1.0.5", 443, TH_SYN),
		PKT_UDP("fd00:1::5", 1003, "fd00:2::9", 53),
		PKT_UDP("fd00:2::9", 1004, "fd00:1::5", 53),
		PKT_ICMP("10.2.0.9", "10.1.0.5", 8, 1005),
		PKT_ICMP("10.1.0.5", "10.2.0.9", 8, 1006),
		PKT_ICMP6("fd00:2::9", "fd00:1::5", 128, 1007),
		PKT_UDP("10.1.0.5", 1008, "203.0.113.1", 53),
		PKT_TCP("203.0.113.1", 1009, "10.2.0.9", 443, TH_SYN),
	};

	h_push(&H, policy);
	h_open(&T);
	h_push(&T, policy);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		bool px = h_passed(false, h_send(&H, false, &specs[i]));
		bool pt = h_passed(true, h_send(&T, true, &specs[i]));
		struct xs_event ex, et;

		cr_assert_eq(px, pt, "packet %zu: xdp %s, tc %s", i, px ? "pass" : "drop",
			     pt ? "pass" : "drop");
		cr_assert_eq(H.nev, 1, "packet %zu: %zu xdp events", i, H.nev);
		cr_assert_eq(T.nev, 1, "packet %zu: %zu tc events", i, T.nev);
		ex = H.ev[0];
		et = T.ev[0];
		cr_expect_eq(ex.hook, XS_HOOK_INGRESS);
		cr_expect_eq(et.hook, XS_HOOK_EGRESS);
		ex.ts_ns = et.ts_ns = 0;
		ex.hook = et.hook = 0;
		ex.ifindex = et.ifindex = 0;
		cr_expect_arr_eq(&ex, &et, sizeof(ex), "packet %zu: events differ", i);
	}
	h_close(&T);
}

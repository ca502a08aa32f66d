// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Parsing: VLAN tags, IPv4 options, IPv6 extension headers, fragments, and
 * malformed or truncated headers (dropped as MALFORMED, fail closed). */
#include <errno.h>
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

TestSuite(parse, .init = setup, .fini = teardown);

static const char *policy = "segment a 10.1.0.0/16, fd00:1::/64\n"		      /* 1 */
			    "segment b 10.2.0.0/16, fd00:2::/64\n"		      /* 2 */
			    "allow a -> b : tcp/443, udp/4789, icmp/8, icmpv6/128\n"; /* 3 */

#define A4 "10.1.0.5"
#define B4 "10.2.0.9"
#define A6 "fd00:1::5"
#define B6 "fd00:2::9"

/* An allowed and a denied flow through the same encapsulation `tmpl`. */
static void allow_and_deny(const struct pkt_spec *tmpl, bool v6, uint16_t sport)
{
	for (int egress = 0; egress < 2; egress++) {
		struct pkt_spec s = *tmpl;

		s.src = v6 ? A6 : A4;
		s.dst = v6 ? B6 : B4;
		s.proto = IPPROTO_TCP;
		s.tcp_flags = TH_SYN;
		s.sport = (uint16_t)(sport + egress);
		s.dport = 443;
		h_check(&H, egress, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
		s.dport = 22;
		h_check(&H, egress, &s, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "b"));
		s.proto = IPPROTO_UDP;
		s.dport = 4789;
		h_check(&H, egress, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	}
}

Test(parse, vlan_one_and_two_tags)
{
	struct pkt_spec one = { .nvlan = 1, .vlan_tpid = { 0x8100 } };
	struct pkt_spec qinq = { .nvlan = 2, .vlan_tpid = { 0x88a8, 0x8100 } };
	struct pkt_spec dot1q2 = { .nvlan = 2, .vlan_tpid = { 0x8100, 0x8100 } };

	h_push(&H, policy);
	allow_and_deny(&one, false, 1000);
	allow_and_deny(&one, true, 1100);
	allow_and_deny(&qinq, false, 1200);
	allow_and_deny(&qinq, true, 1300);
	allow_and_deny(&dot1q2, false, 1400);
}

Test(parse, ipv4_options)
{
	struct pkt_spec o4 = { .ip4_optlen = 4 };
	struct pkt_spec o40 = { .ip4_optlen = 40 };
	struct pkt_spec o12v = { .ip4_optlen = 12, .nvlan = 1 };

	h_push(&H, policy);
	allow_and_deny(&o4, false, 2000);
	allow_and_deny(&o40, false, 2100);
	allow_and_deny(&o12v, false, 2200);
}

Test(parse, ipv6_extension_headers)
{
	struct pkt_spec hop = { .next = 1, .ext = { IPPROTO_HOPOPTS } };
	struct pkt_spec three = { .next = 3,
				  .ext = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS } };
	struct pkt_spec eight = { .next = 8 };
	struct pkt_spec vlan = { .nvlan = 2,
				 .vlan_tpid = { 0x88a8, 0x8100 },
				 .next = 2,
				 .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS } };

	for (int i = 0; i < 8; i++)
		eight.ext[i] = IPPROTO_DSTOPTS;
	eight.ext[0] = IPPROTO_HOPOPTS;
	eight.ext[3] = IPPROTO_ROUTING;
	h_push(&H, policy);
	allow_and_deny(&hop, true, 3000);
	allow_and_deny(&three, true, 3100);
	allow_and_deny(&eight, true, 3200);
	allow_and_deny(&vlan, true, 3300);
}

/* Exactly one MALFORMED drop event with rule 0, in both hooks. */
static void expect_malformed(const struct pkt *p, const char *what)
{
	for (int egress = 0; egress < 2; egress++) {
		struct xs_counter before =
			h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_MALFORMED));
		struct xs_counter after;
		int ret = 0, err = h_try_run(&H, egress, p, &ret);
		bool passed;

		/* the skb test runner refuses a frame without a whole IP header */
		if (egress && err == -EINVAL && p->len < p->l3 + (p->family == 4 ? 20 : 40))
			continue;
		cr_assert_eq(err, 0, "%s: test run: %s", what, strerror(-err));
		passed = h_passed(egress, ret);

		cr_assert(!passed, "%s passed (%s), expected a MALFORMED drop", what,
			  egress ? "egress" : "ingress");
		cr_assert_eq(H.nev, 1, "%s: %zu events", what, H.nev);
		cr_expect_eq(H.ev[0].verdict, XS_VERDICT_DROP, "%s: verdict %u", what,
			     H.ev[0].verdict);
		cr_expect_eq(H.ev[0].reason, XS_REASON_MALFORMED, "%s: reason %u", what,
			     H.ev[0].reason);
		cr_expect_eq(H.ev[0].rule_id, 0, "%s: rule %u", what, H.ev[0].rule_id);
		cr_expect_eq(H.ev[0].hook, egress ? XS_HOOK_EGRESS : XS_HOOK_INGRESS);
		cr_expect_eq(H.ev[0].pkt_len, p->len, "%s: pkt_len %u", what, H.ev[0].pkt_len);
		after = h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_MALFORMED));
		cr_expect_eq(after.packets, before.packets + 1, "%s: counter", what);
		cr_expect_eq(after.bytes, before.bytes + p->len, "%s: bytes", what);
	}
}

static struct pkt build(const struct pkt_spec *s)
{
	struct pkt p;

	cr_assert_eq(pkt_build(&p, s), 0);
	return p;
}

Test(parse, too_many_extension_headers_or_tags)
{
	struct pkt_spec nine = PKT_TCP(A6, 4000, B6, 443, TH_SYN);
	struct pkt_spec tags3 = PKT_TCP(A4, 4001, B4, 443, TH_SYN);
	struct pkt p;

	h_push(&H, policy);
	nine.next = 9;
	for (int i = 0; i < 9; i++)
		nine.ext[i] = IPPROTO_DSTOPTS;
	p = build(&nine);
	expect_malformed(&p, "9 IPv6 extension headers");
	nine.next = 12;
	for (int i = 0; i < 12; i++)
		nine.ext[i] = IPPROTO_DSTOPTS;
	p = build(&nine);
	expect_malformed(&p, "12 IPv6 extension headers");
	tags3.nvlan = 3;
	tags3.vlan_tpid[0] = 0x88a8;
	tags3.vlan_tpid[1] = 0x8100;
	tags3.vlan_tpid[2] = 0x8100;
	p = build(&tags3);
	expect_malformed(&p, "three VLAN tags");
}

Test(parse, truncated_and_invalid_headers)
{
	struct pkt_spec t4 = PKT_TCP(A4, 5000, B4, 443, TH_SYN);
	struct pkt_spec t6 = PKT_TCP(A6, 5000, B6, 443, TH_SYN);
	struct pkt_spec u4 = PKT_UDP(A4, 5000, B4, 4789);
	struct pkt_spec u6 = PKT_UDP(A6, 5000, B6, 4789);
	struct pkt_spec i4 = PKT_ICMP(A4, B4, 8, 1);
	struct pkt_spec i6 = PKT_ICMP6(A6, B6, 128, 1);
	struct pkt_spec v4 = t4;
	struct pkt p;

	h_push(&H, policy);
	/* IPv4 header cut after 10 bytes */
	p = build(&t4);
	p.len = p.l3 + 10;
	expect_malformed(&p, "truncated IPv4 header");
	/* IPv4 options announced by IHL but missing */
	p = build(&t4);
	p.data[p.l3] = 0x4f;
	p.len = p.l3 + 24;
	expect_malformed(&p, "IHL beyond the packet");
	/* IHL < 5 */
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		p = build(&t4);
		p.data[p.l3] = (uint8_t)(0x40 | ihl);
		expect_malformed(&p, "IHL < 5");
	}
	/* total length larger than the packet */
	p = build(&u4);
	p.data[p.l3 + 2] = 0x05;
	p.data[p.l3 + 3] = 0xdc; /* 1500 */
	expect_malformed(&p, "IPv4 total length 1500 > packet");
	/* IPv6 header cut */
	p = build(&t6);
	p.len = p.l3 + 20;
	expect_malformed(&p, "truncated IPv6 header");
	/* IPv6 extension header cut */
	t6.next = 1;
	t6.ext[0] = IPPROTO_HOPOPTS;
	p = build(&t6);
	p.len = p.l3 + 44;
	expect_malformed(&p, "truncated IPv6 extension header");
	t6.next = 0;
	/* TCP, UDP, ICMP, ICMPv6 headers cut */
	p = build(&t4);
	p.len = p.l4 + 10;
	p.data[p.l3 + 3] = (uint8_t)(p.len - p.l3); /* a consistent total length */
	expect_malformed(&p, "truncated TCP header (v4)");
	p = build(&t6);
	p.len = p.l4 + 10;
	p.data[p.l3 + 5] = (uint8_t)(p.len - p.l4);
	expect_malformed(&p, "truncated TCP header (v6)");
	p = build(&u4);
	p.len = p.l4 + 4;
	p.data[p.l3 + 3] = (uint8_t)(p.len - p.l3);
	expect_malformed(&p, "truncated UDP header (v4)");
	p = build(&u6);
	p.len = p.l4 + 4;
	p.data[p.l3 + 5] = (uint8_t)(p.len - p.l4);
	expect_malformed(&p, "truncated UDP header (v6)");
	p = build(&i4);
	p.len = p.l4 + 2;
	p.data[p.l3 + 3] = (uint8_t)(p.len - p.l3);
	expect_malformed(&p, "truncated ICMP header");
	p = build(&i6);
	p.len = p.l4 + 2;
	p.data[p.l3 + 5] = (uint8_t)(p.len - p.l4);
	expect_malformed(&p, "truncated ICMPv6 header");
	/* a TCP data offset below 5 words */
	p = build(&v4);
	p.data[p.l4 + 12] = 0x40;
	expect_malformed(&p, "TCP data offset 4");
	cr_assert_eq(h_ct_count(&H), 0, "a malformed packet created a conntrack entry");
}

#define FRAG_UDP(s_, d_, id_, off_, mf_)          \
	((struct pkt_spec){ .src = (s_),          \
			    .dst = (d_),          \
			    .proto = IPPROTO_UDP, \
			    .sport = 7000,        \
			    .dport = 4789,        \
			    .payload = 64,        \
			    .frag = true,         \
			    .more_frags = (mf_),  \
			    .frag_off = (off_),   \
			    .frag_id = (id_) })

static void fragments(bool v6, bool egress)
{
	const char *a = v6 ? A6 : A4, *b = v6 ? B6 : B4;
	struct pkt_spec first = FRAG_UDP(a, b, 0x1234, 0, true);
	struct pkt_spec mid = FRAG_UDP(a, b, 0x1234, 9, true);
	struct pkt_spec last = FRAG_UDP(a, b, 0x1234, 18, false);
	struct pkt_spec stray = FRAG_UDP(a, b, 0x4321, 9, false);
	struct pkt_spec denied = FRAG_UDP(a, b, 0x5555, 0, true);
	struct pkt_spec denied_later = FRAG_UDP(a, b, 0x5555, 9, false);
	struct pkt_spec crafted = FRAG_UDP(a, b, 0x6666, 1, false);
	struct xs_counter fr;

	h_push(&H, policy);
	h_check(&H, egress, &first, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert_eq(H.ev[0].dport, 4789, "first fragment's event dport %u", H.ev[0].dport);
	/* later fragments of the accepted datagram pass, no event */
	for (int i = 0; i < 2; i++) {
		struct pkt_spec *s = i ? &last : &mid;

		cr_assert(h_passed(egress, h_send(&H, egress, s)),
			  "fragment %d of an allowed flow "
			  "dropped",
			  i + 1);
		cr_assert_eq(H.nev, 0);
	}
	fr = h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_FRAGMENT));
	cr_expect_eq(fr.packets, 2, "ALLOW/FRAGMENT packets %llu", (unsigned long long)fr.packets);
	/* a later fragment of a datagram never seen */
	h_check(&H, egress, &stray, XS_VERDICT_DROP, XS_REASON_FRAGMENT, 0);
	/* a denied datagram: the first fragment is dropped, the rest too */
	denied.dport = 22;
	h_check(&H, egress, &denied, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "b"));
	h_check(&H, egress, &denied_later, XS_VERDICT_DROP, XS_REASON_FRAGMENT, 0);
	/* a crafted non-first fragment (offset 8 bytes) whose data starts like
	 * a UDP header to an allowed port must not pass */
	crafted.payload = 16;
	{
		struct pkt p;

		cr_assert_eq(pkt_build(&p, &crafted), 0);
		p.data[p.l4 + 0] = 7000 >> 8, p.data[p.l4 + 1] = 7000 & 0xff;
		p.data[p.l4 + 2] = 4789 >> 8, p.data[p.l4 + 3] = 4789 & 0xff;
		cr_assert(!h_passed(egress, h_run(&H, egress, &p)), "crafted fragment passed");
		cr_assert_eq(H.nev, 1);
		cr_expect_eq(H.ev[0].reason, XS_REASON_FRAGMENT);
	}
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_FRAGMENT)).packets, 3);
}

Test(parse, fragments_ipv4_ingress)
{
	fragments(false, false);
}

Test(parse, fragments_ipv6_ingress)
{
	fragments(true, false);
}

Test(parse, fragments_ipv4_egress)
{
	fragments(false, true);
}

Test(parse, fragments_ipv6_egress)
{
	fragments(true, true);
}

/* IPv6 fragment after extension headers. */
Test(parse, fragments_ipv6_after_extension_headers)
{
	struct pkt_spec first = FRAG_UDP(A6, B6, 0x77, 0, true);
	struct pkt_spec later = FRAG_UDP(A6, B6, 0x77, 9, false);

	first.next = later.next = 2;
	first.ext[0] = later.ext[0] = IPPROTO_HOPOPTS;
	first.ext[1] = later.ext[1] = IPPROTO_DSTOPTS;
	h_push(&H, policy);
	h_check(&H, false, &first, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert(h_passed(false, h_send(&H, false, &later)));
	later.frag_id = 0x78;
	h_check(&H, false, &later, XS_VERDICT_DROP, XS_REASON_FRAGMENT, 0);
}

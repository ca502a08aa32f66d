// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Ways around the policy that an attacker on a compromised desktop tries
 * (issue 6, classes 1-3): headers read past the IP datagram, tiny and
 * overlapping fragments, fragments that outlive an apply, ICMP errors sent
 * to a host other than the quoted sender, ICMP identifiers reused the
 * other way, link-local addresses, ND/MLD types with any hop limit. Each
 * test passed the attack through the datapath before the fix.
 */
#include <netinet/in.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct h H;

static void setup(void)
{
	h_open(&H);
	h_set_rate(&H, 1000000, 1000000); /* every drop makes its event */
}

static void teardown(void)
{
	h_close(&H);
}

TestSuite(bypass, .init = setup, .fini = teardown);

static const char *policy = "segment a 10.1.0.0/16, fd00:1::/64\n"		      /* 1 */
			    "segment b 10.2.0.0/16, fd00:2::/64\n"		      /* 2 */
			    "segment c 10.3.0.0/16, fd00:3::/64\n"		      /* 3 */
			    "allow b -> a : tcp/443, udp/53\n"			      /* 4 */
			    "allow a -> b : icmp/8, icmpv6/128, icmp/9, icmpv6/140\n" /* 5 */
			    "allow c -> world : tcp/443\n"			      /* 6 */
			    "default c in deny out deny\n";			      /* 7 */

#define A4 "10.1.0.5"
#define B4 "10.2.0.9"
#define C4 "10.3.0.7"
#define W4 "198.51.100.7"
#define A6 "fd00:1::5"
#define B6 "fd00:2::9"
#define C6 "fd00:3::7"
#define W6 "2001:db8::7"

/* Run `p` at the hook and require a drop with `reason` (and its event). */
static void expect_drop(bool egress, const struct pkt *p, uint8_t reason, const char *what)
{
	bool passed = h_passed(egress, h_run(&H, egress, p));

	cr_assert(!passed, "%s (%s): passed, expected a drop", what, egress ? "egress" : "ingress");
	cr_assert_eq(H.nev, 1, "%s: %zu events", what, H.nev);
	cr_expect_eq(H.ev[0].verdict, XS_VERDICT_DROP, "%s: event verdict %u", what,
		     H.ev[0].verdict);
	cr_expect_eq(H.ev[0].reason, reason, "%s: event reason %s, expected %s", what,
		     xs_reason_name(H.ev[0].reason), xs_reason_name(reason));
}

static struct pkt build(const struct pkt_spec *s)
{
	struct pkt p;

	cr_assert_eq(pkt_build(&p, s), 0, "pkt_build");
	return p;
}

/* ---- 1. The datapath reads only what the receiver will see ------------------ */

/* TCP bytes 8..19 (ack number, data offset, flags, window, checksum,
 * urgent pointer) of a header with `flags`. */
static void tcp_tail(uint8_t *t, uint8_t flags)
{
	memset(t, 0, 12);
	t[4] = 5 << 4;
	t[5] = flags;
	t[6] = 0xff, t[7] = 0xff;
}

/*
 * The attack: a first fragment whose datagram holds only the TCP
 * ports and sequence number, followed by padding that looks like the rest
 * of a TCP header with ACK (so, the reverse being allowed, a mid-stream
 * pickup), then a second fragment carrying the real SYN. The receiver
 * reassembles a SYN to a denied port.
 */
static void syn_smuggled(bool egress, bool v6)
{
	struct pkt_spec first = PKT_TCP(v6 ? A6 : A4, 443, v6 ? B6 : B4, 22, TH_ACK);
	struct pkt_spec second = first;
	uint8_t tail[12];
	struct pkt p;

	h_push(&H, policy);
	first.frag = true;
	first.more_frags = true;
	first.frag_id = 0x4242 + egress;
	first.cut = 12; /* the datagram ends after 8 bytes of TCP header */
	p = build(&first);
	expect_drop(egress, &p, XS_REASON_MALFORMED, "first fragment too short for TCP");
	cr_assert_eq(h_ct_count(&H), 0, "the short fragment was tracked");

	tcp_tail(tail, TH_SYN);
	second.frag = true;
	second.frag_off = 1;
	second.frag_id = first.frag_id;
	second.raw = tail;
	second.raw_len = sizeof(tail);
	p = build(&second);
	expect_drop(egress, &p, XS_REASON_FRAGMENT, "the fragment with the SYN");

	/* the same without fragmentation: a 28-byte datagram and padding */
	first.frag = first.more_frags = false;
	p = build(&first);
	expect_drop(egress, &p, XS_REASON_MALFORMED, "TCP header past the datagram");
}

Test(bypass, syn_smuggled_past_the_datagram_v4_ingress)
{
	syn_smuggled(false, false);
}

Test(bypass, syn_smuggled_past_the_datagram_v4_egress)
{
	syn_smuggled(true, false);
}

Test(bypass, syn_smuggled_past_the_datagram_v6_ingress)
{
	syn_smuggled(false, true);
}

Test(bypass, syn_smuggled_past_the_datagram_v6_egress)
{
	syn_smuggled(true, true);
}

/* UDP and ICMP headers past the datagram, and a TCP header whose data
 * offset reaches past it. */
Test(bypass, headers_past_the_datagram)
{
	struct pkt_spec u = PKT_UDP(B4, 5353, A4, 53);
	struct pkt_spec i6 = PKT_ICMP6(A6, B6, 128, 3);
	struct pkt_spec t = PKT_TCP(B4, 40000, A4, 443, TH_SYN);
	struct pkt p;

	h_push(&H, policy);
	for (int egress = 0; egress < 2; egress++) {
		u.cut = 4;
		p = build(&u);
		expect_drop(egress, &p, XS_REASON_MALFORMED, "UDP header past the datagram");
		i6.cut = 4;
		p = build(&i6);
		expect_drop(egress, &p, XS_REASON_MALFORMED, "ICMPv6 header past the datagram");
		p = build(&t);
		p.data[p.l4 + 12] = 6 << 4; /* 24 bytes of header, 20 in the datagram */
		expect_drop(egress, &p, XS_REASON_MALFORMED, "TCP options past the datagram");
	}
	/* the same packets, whole, pass */
	u.cut = 0;
	h_check(&H, false, &u, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 4));
}

/* A first fragment must hold the whole header the decision reads. */
Test(bypass, tiny_first_fragments)
{
	struct pkt_spec t = PKT_TCP(B4, 40000, A4, 443, TH_SYN);
	struct pkt_spec u = PKT_UDP(B6, 5353, A6, 53);
	struct pkt p;

	h_push(&H, policy);
	t.frag = t.more_frags = true;
	t.frag_id = 7;
	t.cut = 4; /* 16 bytes of TCP header: flags and data offset missing */
	p = build(&t);
	expect_drop(false, &p, XS_REASON_MALFORMED, "16-byte TCP first fragment");
	u.frag = u.more_frags = true;
	u.frag_id = 8;
	u.cut = 2;
	p = build(&u);
	expect_drop(true, &p, XS_REASON_MALFORMED, "6-byte UDP first fragment (v6)");
}

/* A later fragment that overlaps the headers the first one was decided on. */
static void overlap(bool v6, bool ext_after_frag)
{
	struct pkt_spec first = PKT_TCP(v6 ? B6 : B4, 40000, v6 ? A6 : A4, 443, TH_SYN);
	struct pkt_spec later = first;
	uint8_t data[16], tail[12];
	uint16_t hdr = 20 + (ext_after_frag ? 8 : 0);
	struct pkt p;

	memset(data, 0x5a, sizeof(data));
	h_push(&H, policy);
	first.frag = first.more_frags = true;
	first.frag_id = 0x99;
	first.payload = 16;
	if (ext_after_frag) {
		first.next = 1;
		first.ext[0] = IPPROTO_DSTOPTS;
		first.ext_after_frag = true;
	}
	h_check(&H, false, &first, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 4));
	cr_assert_eq(h_frag_count(&H), 1, "the first fragment was not remembered");

	/* starting inside the headers: it could rewrite the flags at reassembly */
	tcp_tail(tail, TH_SYN | TH_RST);
	later.next = first.next;
	later.ext[0] = first.ext[0];
	later.ext_after_frag = first.ext_after_frag;
	later.frag = true;
	later.frag_id = first.frag_id;
	later.frag_off = (uint16_t)((hdr - 1) / 8);
	later.raw = tail;
	later.raw_len = sizeof(tail);
	p = build(&later);
	expect_drop(false, &p, XS_REASON_FRAGMENT, "a fragment overlapping the TCP header");
	cr_assert_eq(h_frag_count(&H), 0, "the overlapped datagram is still remembered");
	/* and the datagram is gone: its other fragments are dropped too */
	later.frag_off = (uint16_t)((hdr + 16) / 8);
	later.raw = data;
	later.raw_len = sizeof(data);
	p = build(&later);
	expect_drop(false, &p, XS_REASON_FRAGMENT, "the rest of an overlapped datagram");

	/* a datagram without overlap passes whole */
	first.frag_id = 0x100;
	h_check(&H, false, &first, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	later.frag_id = 0x100;
	later.frag_off = (uint16_t)((hdr + 16) / 8);
	p = build(&later);
	cr_assert(h_passed(false, h_run(&H, false, &p)), "the next fragment of a datagram");
	cr_assert_eq(H.nev, 0);
}

Test(bypass, overlapping_fragments_v4)
{
	overlap(false, false);
}

Test(bypass, overlapping_fragments_v6)
{
	overlap(true, false);
}

Test(bypass, overlapping_fragments_v6_extension_header_after_the_fragment_header)
{
	overlap(true, true);
}

/* RFC 7112: an IPv6 first fragment must hold the whole header chain. */
Test(bypass, ipv6_first_fragment_without_the_header_chain)
{
	struct pkt_spec s = PKT_TCP(B6, 40000, A6, 443, TH_SYN);
	struct pkt p;

	h_push(&H, policy);
	s.frag = s.more_frags = true;
	s.frag_id = 0x77;
	s.next = 1;
	s.ext[0] = IPPROTO_DSTOPTS;
	s.ext_after_frag = true;
	s.cut = 24; /* the datagram ends inside the destination options */
	p = build(&s);
	for (int egress = 0; egress < 2; egress++)
		expect_drop(egress, &p, XS_REASON_MALFORMED, "header chain past the datagram");
}

/* Later fragments follow their first fragment under its policy only. */
Test(bypass, fragments_follow_the_policy_generation)
{
	struct pkt_spec first = PKT_UDP(B4, 5353, A4, 53);
	struct pkt_spec later = first;
	struct pkt p;

	h_push(&H, policy);
	first.frag = first.more_frags = true;
	first.frag_id = 0x1234;
	first.payload = 32;
	h_check(&H, false, &first, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 4));
	cr_assert_eq(h_frag_count(&H), 1, "the first fragment was not remembered");
	later.frag = true;
	later.frag_id = first.frag_id;
	later.frag_off = 5;
	later.payload = 40;
	h_push(&H, "segment a 10.1.0.0/16\n"
		   "segment b 10.2.0.0/16\n"
		   "deny b -> a : udp/53\n");
	p = build(&later);
	expect_drop(false, &p, XS_REASON_FRAGMENT, "a fragment after the apply that denies it");
	cr_assert_eq(h_frag_count(&H), 0, "the datagram of an older policy is still remembered");
	/* a datagram straddling an apply is dropped even when still allowed */
	h_push(&H, policy);
	first.frag_id = 0x1235;
	later.frag_id = 0x1235;
	first.sport = 5354;
	h_check(&H, false, &first, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 4));
	h_push(&H, policy);
	p = build(&later);
	expect_drop(false, &p, XS_REASON_FRAGMENT, "a fragment across an apply");
}

/* ---- 2. "Related" and "reply" mean what conntrack means --------------------- */

static struct pkt_spec icmp_error(const struct pkt *orig, const char *from, const char *to,
				  uint8_t proto, uint8_t type, uint8_t code)
{
	struct pkt_spec e = { .src = from, .dst = to, .proto = proto, .icmp_type = type };

	e.icmp_code = code;
	e.quote = orig->data + orig->l3;
	e.quote_len = orig->len - orig->l3;
	return e;
}

/* C (out deny) has its own allowed flow to world, then sends errors quoting
 * it to A: they must be decided as ICMP from C to A, not as related. */
static void icmp_error_direction(bool v6)
{
	const char *c = v6 ? C6 : C4, *w = v6 ? W6 : W4, *a = v6 ? A6 : A4;
	uint8_t proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, unreach = v6 ? 1 : 3;
	struct pkt_spec syn = PKT_TCP(c, 40000, w, 443, TH_SYN);
	struct pkt_spec e;
	struct pkt q, p;

	h_push(&H, policy);
	h_check(&H, false, &syn, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 6));
	q = build(&syn);
	e = icmp_error(&q, c, a, proto, unreach, 3);
	p = build(&e);
	expect_drop(false, &p, XS_REASON_DEFAULT_OUT, "an error quoting C's flow, sent to A");
	cr_expect_eq(H.ev[0].rule_id, h_out_rid(&H, "c"));
	/* the same error to the quoted packet's sender is related */
	e = icmp_error(&q, w, c, proto, unreach, 3);
	h_check(&H, true, &e, XS_VERDICT_ALLOW, XS_REASON_RELATED, 0);
	/* quoting the other direction of the flow: to W, its sender */
	syn = PKT_TCP(w, 443, c, 40000, TH_SYN | TH_ACK);
	q = build(&syn);
	e = icmp_error(&q, c, w, proto, unreach, 3);
	h_check(&H, false, &e, XS_VERDICT_ALLOW, XS_REASON_RELATED, 0);
	/* after an apply the flow is not re-decided by an error: policy decides */
	h_push(&H, policy);
	e = icmp_error(&q, c, w, proto, unreach, 3);
	p = build(&e);
	expect_drop(false, &p, XS_REASON_DEFAULT_OUT, "an error quoting a flow of an older policy");
}

Test(bypass, icmp_error_related_only_towards_the_quoted_sender_v4)
{
	icmp_error_direction(false);
}

Test(bypass, icmp_error_related_only_towards_the_quoted_sender_v6)
{
	icmp_error_direction(true);
}

/* A's allowed ping to B must not let B ping A with the same identifier. */
static void echo_identifier(bool v6)
{
	const char *a = v6 ? A6 : A4, *b = v6 ? B6 : B4;
	uint8_t req = v6 ? 128 : 8, rep = v6 ? 129 : 0;
	struct pkt_spec s = v6 ? PKT_ICMP6(a, b, req, 77) : PKT_ICMP(a, b, req, 77);
	struct pkt p;

	h_push(&H, policy);
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 5));
	/* B's echo request with A's identifier: a new flow B -> A */
	s.src = b, s.dst = a;
	p = build(&s);
	expect_drop(false, &p, XS_REASON_DEFAULT_IN, "B's echo request reusing A's identifier");
	/* B's reply is what belongs to the flow */
	s.icmp_type = rep;
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	/* A's unsolicited reply is not */
	s.src = a, s.dst = b;
	p = build(&s);
	expect_drop(true, &p, XS_REASON_DEFAULT_IN, "A's echo reply on its own flow");
	/* A's repeated request is */
	s.icmp_type = req;
	h_check(&H, true, &s, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
}

Test(bypass, icmp_echo_identifier_keyed_by_direction_v4)
{
	echo_identifier(false);
}

Test(bypass, icmp_echo_identifier_keyed_by_direction_v6)
{
	echo_identifier(true);
}

/* A non-query ICMP flow has no reply: nothing comes back through it. */
Test(bypass, icmp_non_query_has_no_reply)
{
	struct pkt_spec s = PKT_ICMP(A4, B4, 9, 0);
	struct pkt_spec s6 = PKT_ICMP6(A6, B6, 140, 0);
	struct pkt p;

	h_push(&H, policy);
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 5));
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	s.icmp_type = 10; /* the initiator, another type */
	p = build(&s);
	expect_drop(false, &p, XS_REASON_DEFAULT_IN, "another ICMP type from the initiator");
	s.src = B4, s.dst = A4; /* the peer, any type */
	for (uint8_t t = 9; t <= 10; t++) {
		s.icmp_type = t;
		p = build(&s);
		expect_drop(false, &p, XS_REASON_DEFAULT_IN, "ICMP from the peer of a non-query");
	}
	h_check(&H, false, &s6, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 5));
	s6.src = B6, s6.dst = A6;
	p = build(&s6);
	expect_drop(false, &p, XS_REASON_DEFAULT_IN, "ICMPv6 from the peer of a non-query");
}

/* ---- 3. No address escapes its segment ---------------------------------------- */

/* fe80::/10 and 169.254.0.0/16 are the built-in segment link-local (in deny). */
Test(bypass, link_local_addresses_are_a_segment)
{
	static const char *const pairs[][2] = {
		{ "fe80::a", "fe80::b" },
		{ "169.254.1.1", "169.254.1.2" },
		{ A6, "fe80::b" },
	};
	struct pkt p;

	h_push(&H, policy);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct pkt_spec s = PKT_TCP(pairs[i][0], 40000, pairs[i][1], 445, TH_SYN);

		for (int egress = 0; egress < 2; egress++) {
			s.sport = (uint16_t)(40000 + egress);
			p = build(&s);
			expect_drop(egress, &p, XS_REASON_DEFAULT_IN, pairs[i][1]);
			cr_expect_eq(H.ev[0].dst_seg, h_seg(&H, "link-local"));
			cr_expect_eq(H.ev[0].rule_id, h_in_rid(&H, "link-local"));
		}
	}
}

/* ND and MLD types are exempt only as the kernel accepts them; the rest
 * (any hop limit, a global MLD source, a bad code) is decided by policy. */
Test(bypass, nd_and_mld_exempt_only_with_the_right_hop_limit)
{
	static const struct {
		uint8_t type, hop, code;
		const char *src, *dst;
		size_t body;
	} msgs[] = {
		{ 135, 64, 0, "fe80::a", "fe80::b", 16 },  /* NS, hop 64 */
		{ 136, 254, 0, "fe80::a", "fe80::b", 16 }, /* NA, hop 254 */
		{ 134, 255, 1, "fe80::a", "fe80::b", 8 },  /* RA, code 1 */
		{ 135, 255, 0, "fe80::a", "fe80::b", 8 },  /* NS too short */
		{ 143, 1, 0, A6, B6, 0 },		   /* MLD from a global address */
		{ 143, 64, 0, "fe80::a", "fe80::b", 0 },   /* MLD, hop 64 */
		{ 130, 2, 0, "fe80::a", "fe80::b", 16 },   /* MLD query, hop 2 */
	};
	struct pkt p;

	h_push(&H, policy);
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct pkt_spec s = PKT_ICMP6(msgs[i].src, msgs[i].dst, msgs[i].type, 0);
		char what[64];

		s.ttl = msgs[i].hop;
		s.icmp_code = msgs[i].code;
		s.payload = msgs[i].body;
		snprintf(what, sizeof(what), "ICMPv6 %u hop %u code %u from %s", msgs[i].type,
			 msgs[i].hop, msgs[i].code, msgs[i].src);
		p = build(&s);
		expect_drop(false, &p, XS_REASON_DEFAULT_IN, what);
	}
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_ND)).packets, 0);
}

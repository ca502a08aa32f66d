// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Conntrack: replies, established, related ICMP errors, mid-stream pickup,
 * remembered denials and re-decision after a policy flip. */
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

TestSuite(ct, .init = setup, .fini = teardown);

static const char *policy = "segment a 10.1.0.0/16, fd00:1::/64\n"		   /* 1 */
			    "segment b 10.2.0.0/16, fd00:2::/64\n"		   /* 2 */
			    "allow a -> b : tcp/443, udp/53, icmp/8, icmpv6/128\n" /* 3 */
			    "allow b -> a : icmp/3\n";				   /* 4 */

#define A4 "10.1.0.5"
#define B4 "10.2.0.9"
#define A6 "fd00:1::5"
#define B6 "fd00:2::9"

/* Is `addr` side b of the normalised key of `s`? */
static bool is_side_b(const struct xs_tuple *k, const char *addr)
{
	uint8_t x[16];

	pkt_addr(addr, x);
	return !memcmp(k->addr_b, x, 16) && memcmp(k->addr_a, x, 16);
}

static void tcp_handshake(bool egress, const char *a, const char *b)
{
	struct pkt_spec syn = PKT_TCP(a, 40000, b, 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP(b, 443, a, 40000, TH_SYN | TH_ACK);
	struct pkt_spec ack = PKT_TCP(a, 40000, b, 443, TH_ACK);
	struct pkt_spec fin = PKT_TCP(b, 443, a, 40000, TH_FIN | TH_ACK);
	struct xs_ct_val ct;
	struct xs_tuple k;

	h_check(&H, egress, &syn, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert_eq(h_ct_lookup(&H, &syn, &k, &ct), 0, "no conntrack entry after the SYN");
	cr_expect_eq(ct.state, XS_CT_SYN_SENT, "state %u after SYN", ct.state);
	cr_expect_eq(!!(ct.flags & XS_CTF_INIT_B), is_side_b(&k, a), "initiator side, flags 0x%x",
		     ct.flags);
	cr_expect_eq(ct.rule_id, h_rid(&H, 3));
	cr_expect_eq(ct.generation, H.generation);
	cr_expect_eq(ct.src_seg, h_seg(&H, "a"));
	cr_expect_eq(ct.dst_seg, h_seg(&H, "b"));
	/* B -> A is denied by policy (a's in deny), but this is the reply */
	h_check(&H, egress, &synack, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, egress, &ack, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	cr_assert_eq(h_ct_lookup(&H, &syn, NULL, &ct), 0);
	cr_expect_eq(ct.state, XS_CT_ESTABLISHED, "state %u after the handshake", ct.state);
	cr_expect(ct.flags & XS_CTF_REPLIED, "flags 0x%x lack REPLIED", ct.flags);
	h_check(&H, egress, &fin, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	cr_assert_eq(h_ct_lookup(&H, &syn, NULL, &ct), 0);
	cr_expect(ct.state == XS_CT_CLOSING || ct.state == XS_CT_CLOSED, "state %u after FIN",
		  ct.state);
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_RULE)).packets, 1);
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED)).packets, 3);
	cr_assert_eq(h_stat(&H, XS_STAT_CT_CREATED).packets, 1);
}

Test(ct, tcp_reply_established_v4)
{
	h_push(&H, policy);
	tcp_handshake(false, A4, B4);
}

Test(ct, tcp_reply_established_v6_egress)
{
	h_push(&H, policy);
	tcp_handshake(true, A6, B6);
}

/* A tuple tracked from A's SYN: a SYN from B on it is a new flow. */
Test(ct, syn_from_responder_is_decided_by_policy)
{
	struct pkt_spec syn = PKT_TCP(A4, 40000, B4, 443, TH_SYN);
	struct pkt_spec rsyn = PKT_TCP(B4, 443, A4, 40000, TH_SYN);

	h_push(&H, policy);
	h_check(&H, false, &syn, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	h_check(&H, false, &rsyn, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "a"));
	/* the initiator's retransmitted SYN still follows the entry */
	h_check(&H, false, &syn, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
}

Test(ct, udp_reply_passes)
{
	struct pkt_spec q = PKT_UDP(A4, 5353, B4, 53);
	struct pkt_spec r = PKT_UDP(B4, 53, A4, 5353);
	struct pkt_spec other = PKT_UDP(B4, 53, A4, 5354);
	struct xs_ct_val ct;

	h_push(&H, policy);
	h_check(&H, false, &q, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert_eq(h_ct_lookup(&H, &q, NULL, &ct), 0);
	cr_expect_eq(ct.state, XS_CT_UDP);
	h_check(&H, false, &r, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	cr_assert_eq(h_ct_lookup(&H, &q, NULL, &ct), 0);
	cr_expect(ct.flags & XS_CTF_REPLIED);
	h_check(&H, true, &r, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	/* another port of A is not part of the flow */
	h_check(&H, false, &other, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "a"));
}

Test(ct, icmp_echo_reply_passes)
{
	struct pkt_spec req = PKT_ICMP(A4, B4, 8, 9);
	struct pkt_spec rep = PKT_ICMP(B4, A4, 0, 9);
	struct pkt_spec rep_other = PKT_ICMP(B4, A4, 0, 10);
	struct pkt_spec req6 = PKT_ICMP6(A6, B6, 128, 9);
	struct pkt_spec rep6 = PKT_ICMP6(B6, A6, 129, 9);
	struct xs_ct_val ct;

	h_push(&H, policy);
	h_check(&H, false, &req, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert_eq(h_ct_lookup(&H, &req, NULL, &ct), 0, "echo request not tracked");
	cr_expect_eq(ct.state, XS_CT_ICMP);
	cr_expect_eq(ct.icmp_type, 8);
	h_check(&H, false, &rep, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	/* a reply with another identifier is B -> A icmp/0: a's in deny */
	h_check(&H, false, &rep_other, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "a"));
	h_check(&H, false, &req6, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	h_check(&H, false, &rep6, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
}

/* An ICMP error from B quoting the packet `orig` (A -> B). */
static struct pkt_spec icmp_error(const struct pkt *orig, const char *from, const char *to,
				  uint8_t proto, uint8_t type, uint8_t code)
{
	struct pkt_spec e = { .src = from, .dst = to, .proto = proto, .icmp_type = type };

	e.icmp_code = code;
	e.quote = orig->data + orig->l3;
	e.quote_len = orig->len - orig->l3;
	return e;
}

Test(ct, icmp_error_related_v4)
{
	struct pkt_spec q = PKT_UDP(A4, 5353, B4, 53);
	struct pkt_spec unknown = PKT_UDP(A4, 6000, B4, 53);
	struct pkt pq, pu;
	struct pkt_spec e;

	h_push(&H, policy);
	h_check(&H, false, &q, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert_eq(pkt_build(&pq, &q), 0);
	cr_assert_eq(pkt_build(&pu, &unknown), 0);
	e = icmp_error(&pq, B4, A4, IPPROTO_ICMP, 3, 3);
	h_check(&H, false, &e, XS_VERDICT_ALLOW, XS_REASON_RELATED, 0);
	h_check(&H, true, &e, XS_VERDICT_ALLOW, XS_REASON_RELATED, 0);
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_ALLOW, XS_REASON_RELATED)).packets, 2);
	/* quoting a flow never seen: decided by policy (allow b -> a : icmp/3) */
	e = icmp_error(&pu, B4, A4, IPPROTO_ICMP, 3, 3);
	h_check(&H, false, &e, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 4));
	/* time exceeded (icmp/11) quoting an unknown flow: a's in deny */
	e = icmp_error(&pu, B4, A4, IPPROTO_ICMP, 11, 0);
	h_check(&H, false, &e, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "a"));
}

Test(ct, icmpv6_error_related)
{
	struct pkt_spec q = PKT_UDP(A6, 5353, B6, 53);
	struct pkt_spec unknown = PKT_UDP(A6, 6000, B6, 53);
	struct pkt pq, pu;
	struct pkt_spec e;

	h_push(&H, policy);
	h_check(&H, false, &q, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert_eq(pkt_build(&pq, &q), 0);
	cr_assert_eq(pkt_build(&pu, &unknown), 0);
	e = icmp_error(&pq, B6, A6, IPPROTO_ICMPV6, 1, 4);
	h_check(&H, false, &e, XS_VERDICT_ALLOW, XS_REASON_RELATED, 0);
	/* packet too big (icmpv6/2) quoting the tracked flow */
	e = icmp_error(&pq, B6, A6, IPPROTO_ICMPV6, 2, 0);
	h_check(&H, false, &e, XS_VERDICT_ALLOW, XS_REASON_RELATED, 0);
	/* unknown flow: icmp/3 allows only v4, so a's in deny */
	e = icmp_error(&pu, B6, A6, IPPROTO_ICMPV6, 1, 4);
	h_check(&H, false, &e, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "a"));
}

Test(ct, midstream_pickup)
{
	struct pkt_spec fwd = PKT_TCP(A4, 40000, B4, 443, TH_ACK);
	struct pkt_spec rev = PKT_TCP(B4, 443, A4, 40001, TH_ACK | TH_PSH);
	struct pkt_spec rev_back = PKT_TCP(A4, 40001, B4, 443, TH_ACK);
	struct pkt_spec none = PKT_TCP(B4, 80, A4, 40002, TH_ACK);
	struct xs_ct_val ct;
	struct xs_tuple k;

	h_push(&H, policy);
	/* its own direction is allowed */
	h_check(&H, false, &fwd, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert_eq(h_ct_lookup(&H, &fwd, &k, &ct), 0, "mid-stream packet not tracked");
	cr_expect_eq(ct.state, XS_CT_ESTABLISHED, "state %u", ct.state);
	cr_expect_eq(!!(ct.flags & XS_CTF_INIT_B), is_side_b(&k, A4));
	/* the reverse direction is allowed: the peer (A) is the initiator;
	 * the event reports segments in the packet's direction */
	h_check(&H, false, &rev, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert_eq(h_ct_lookup(&H, &rev, &k, &ct), 0, "reverse mid-stream packet not tracked");
	cr_expect_eq(!!(ct.flags & XS_CTF_INIT_B), is_side_b(&k, A4),
		     "initiator must be the peer A, flags 0x%x", ct.flags);
	cr_expect_eq(ct.src_seg, h_seg(&H, "a"), "ct src_seg %u (initiator direction)", ct.src_seg);
	cr_expect_eq(ct.dst_seg, h_seg(&H, "b"));
	h_check(&H, false, &rev_back, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	/* neither direction allowed */
	h_check(&H, false, &none, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "a"));
	cr_assert_neq(h_ct_lookup(&H, &none, NULL, &ct), 0, "dropped flow was tracked");
}

Test(ct, deny_cache_repeats_the_decision)
{
	struct pkt_spec s = PKT_TCP(B4, 40000, A4, 22, TH_SYN);
	struct pkt_spec d = PKT_UDP(A6, 1000, B6, 161);
	struct pkt p;
	struct xs_rule_counter rc;

	h_push(&H, "segment a 10.1.0.0/16, fd00:1::/64\n"
		   "segment b 10.2.0.0/16, fd00:2::/64\n"
		   "deny a -> b : udp/161\n");
	for (int i = 0; i < 3; i++) {
		h_check(&H, false, &s, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "a"));
		h_check(&H, i & 1, &d, XS_VERDICT_DROP, XS_REASON_DENY_RULE, h_rid(&H, 3));
	}
	cr_assert_eq(h_ct_count(&H), 0, "dropped flows must not be tracked");
	/* the UDP flow's denial is remembered (its repeats cost one bucket);
	 * a denied lone SYN never touches the flow table */
	cr_assert_eq(h_deny_count(&H), 1, "remembered denials %zu", h_deny_count(&H));
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DENY_RULE)).packets, 3);
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DEFAULT_IN)).packets, 3);
	cr_assert_eq(pkt_build(&p, &d), 0);
	rc = h_rstat(&H, h_rid(&H, 3));
	cr_expect_eq(rc.flows, 1, "deny rule flows %llu", (unsigned long long)rc.flows);
	cr_expect_eq(rc.packets, 3, "deny rule packets %llu", (unsigned long long)rc.packets);
	cr_expect_eq(rc.bytes, 3 * p.len, "deny rule bytes %llu", (unsigned long long)rc.bytes);
}

/* P1 allows two flows; P2 denies one: it is dropped at its next packet,
 * the other one is re-decided and passes; events carry generation 2. */
Test(ct, policy_flip_redecides_tracked_flows)
{
	struct pkt_spec f443 = PKT_TCP(A4, 40000, B4, 443, TH_SYN);
	struct pkt_spec f443r = PKT_TCP(B4, 443, A4, 40000, TH_SYN | TH_ACK);
	struct pkt_spec f22 = PKT_TCP(A4, 40001, B4, 22, TH_SYN);
	struct pkt_spec f22r = PKT_TCP(B4, 22, A4, 40001, TH_SYN | TH_ACK);
	struct pkt_spec f8443 = PKT_TCP(A4, 40002, B4, 8443, TH_SYN);
	struct xs_ct_val ct;
	uint32_t gen1;

	h_push(&H, "segment a 10.1.0.0/16\n"
		   "segment b 10.2.0.0/16\n"
		   "allow a -> b : tcp/443, tcp/22\n");
	gen1 = H.generation;
	h_check(&H, false, &f443, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	h_check(&H, false, &f443r, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, false, &f22, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	h_check(&H, false, &f22r, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, false, &f8443, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "b"));

	h_push(&H, "segment a 10.1.0.0/16\n"		 /* 1 */
		   "segment b 10.2.0.0/16\n"		 /* 2 */
		   "deny a -> b : tcp/443\n"		 /* 3 */
		   "allow a -> b : tcp/22, tcp/8443\n"); /* 4 */
	cr_assert_eq(H.generation, gen1 + 1);
	/* the reply of the now-denied flow is re-decided in A -> B's direction */
	f443r.tcp_flags = TH_ACK;
	h_check(&H, false, &f443r, XS_VERDICT_DROP, XS_REASON_DENY_RULE, h_rid(&H, 3));
	cr_assert_eq(H.ev[0].generation, gen1 + 1);
	cr_assert_neq(h_ct_lookup(&H, &f443, NULL, &ct), 0, "denied flow still tracked");
	f443.tcp_flags = TH_ACK;
	h_check(&H, false, &f443, XS_VERDICT_DROP, XS_REASON_DENY_RULE, h_rid(&H, 3));
	/* the flow P2 still allows passes, re-stamped with the new generation */
	f22.tcp_flags = TH_ACK;
	h_check(&H, false, &f22, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	cr_assert_eq(h_ct_lookup(&H, &f22, NULL, &ct), 0);
	cr_expect_eq(ct.generation, gen1 + 1);
	cr_expect_eq(ct.rule_id, h_rid(&H, 4));
	/* a denial remembered under P1 does not apply under P2 */
	h_check(&H, false, &f8443, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 4));
	cr_assert_eq(h_stat(&H, XS_STAT_CT_REVALIDATED).packets, 2);
}

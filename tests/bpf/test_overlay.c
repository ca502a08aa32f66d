// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Operating a policy, in the datapath: quarantine outranks everything but
 * forensic entries, grants close at their kernel deadline (time advanced
 * through xs_config.clock_offset_ns), failsafe entries, and the rollback
 * the datapath does by itself when a commit-confirm is missed.
 *
 * The overlay entries are written by hand into a compiled policy, as the
 * compiler writes them (include/xdpseg_decide.h), so these tests pin the
 * datapath's side of the contract on their own.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

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

TestSuite(overlay, .init = setup, .fini = teardown);

/* Line numbers matter: events carry the rule ids of these lines. */
static const char *policy = "segment vda 10.1.0.0/16\n"	       /* 1 */
			    "segment sf 10.2.0.0/24\n"	       /* 2 */
			    "segment bastion 10.9.0.0/24\n"    /* 3 */
			    "allow vda -> sf : tcp/443\n"      /* 4 */
			    "deny bastion -> vda : tcp/3389\n" /* 5 */
			    "allow bastion -> vda : tcp/22\n"  /* 6 */
			    "mode sf monitor\n"		       /* 7 */
			    "allow bastion -> sf : tcp/22\n"   /* 8 */
			    "default vda in deny\n";	       /* 9 */

#define VDA "10.1.0.5"
#define SF "10.2.0.9"
#define BASTION "10.9.0.7"

/* A rule id past every origin of `c`: where the compiler puts an overlay's. */
static uint32_t overlay_rid(const struct xs_compiled *c, uint32_t n)
{
	return (uint32_t)c->policy->norigins + n;
}

static uint16_t seg_of(const struct xs_compiled *c, const char *name)
{
	for (size_t i = 0; i < c->policy->nsegments; i++)
		if (!strcmp(c->policy->segments[i].name, name))
			return c->policy->segments[i].id;
	cr_assert_fail("no segment %s", name);
	return 0;
}

/* The single-port TCP entry (src, dst, port) of `c`. */
static struct xs_rule_val *tcp_entry(struct xs_compiled *c, const char *src, const char *dst,
				     uint16_t port)
{
	uint16_t s = seg_of(c, src), d = seg_of(c, dst);

	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_key *k = &c->rules[i].key;

		if (k->prefixlen == XS_RULE_PLEN_PORT(16) && k->src_seg == s && k->dst_seg == d &&
		    k->proto == IPPROTO_TCP && k->port == htons(port))
			return &c->rules[i].val;
	}
	cr_assert_fail("no entry %s -> %s : tcp/%u", src, dst, port);
	return NULL;
}

/* A new single-port TCP entry (src, dst, port) appended to `c`. */
static struct xs_rule_val *tcp_entry_add(struct xs_compiled *c, const char *src, const char *dst,
					 uint16_t port)
{
	struct xs_rule_entry *e;

	c->rules = realloc(c->rules, (c->nrules + 1) * sizeof(*c->rules));
	cr_assert(c->rules);
	e = &c->rules[c->nrules++];
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = XS_RULE_PLEN_PORT(16);
	e->key.src_seg = seg_of(c, src);
	e->key.dst_seg = seg_of(c, dst);
	e->key.proto = IPPROTO_TCP;
	e->key.port = htons(port);
	return &e->val;
}

static void quarantine(struct xs_compiled *c, const char *seg, uint32_t rid)
{
	struct xs_seg_info *si = &c->seginfo[seg_of(c, seg)];

	si->flags |= XS_SEGF_QUARANTINE;
	si->quar_rule_id = rid;
}

static uint64_t clock_s(clockid_t id)
{
	struct timespec ts;

	cr_assert_eq(clock_gettime(id, &ts), 0);
	return (uint64_t)ts.tv_sec;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	cr_assert_eq(clock_gettime(id, &ts), 0);
	return (uint64_t)ts.tv_sec * XS_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Move the datapath's clocks forward by `secs`. */
static void advance(int64_t secs)
{
	struct xs_config cfg = h_cfg(&H);

	cfg.clock_offset_ns += secs * (int64_t)XS_NS_PER_SEC;
	h_cfg_set(&H, &cfg);
}

/* A TCP connection from `a`:40000 to `b`:port, accepted with (reason, rid). */
static void tcp_connect(const char *a, const char *b, uint16_t port, uint8_t reason, uint32_t rid)
{
	struct pkt_spec syn = PKT_TCP(a, 40000, b, port, TH_SYN);
	struct pkt_spec synack = PKT_TCP(b, port, a, 40000, TH_SYN | TH_ACK);
	struct pkt_spec ack = PKT_TCP(a, 40000, b, port, TH_ACK);

	h_check(&H, false, &syn, XS_VERDICT_ALLOW, reason, rid);
	h_check(&H, false, &synack, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, false, &ack, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
}

Test(overlay, strict_quarantine_outranks_rules_defaults_monitor_and_cuts_established)
{
	struct pkt_spec ack = PKT_TCP(VDA, 40000, SF, 443, TH_ACK);
	struct pkt_spec out = PKT_TCP(SF, 40001, VDA, 22, TH_SYN);
	struct pkt_spec in = PKT_TCP(BASTION, 40002, SF, 22, TH_SYN);
	struct xs_compiled *c;
	uint32_t q;

	h_push(&H, policy);
	tcp_connect(VDA, SF, 443, XS_REASON_RULE, h_rid(&H, 4));

	c = h_compile(policy);
	q = overlay_rid(c, 1);
	quarantine(c, "sf", q);
	h_push_c(&H, c);

	/* the established connection: cut at its next packet, monitor or not */
	h_check(&H, false, &ack, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
	cr_assert_neq(h_ct_lookup(&H, &ack, &(struct xs_tuple){ 0 }, &(struct xs_ct_val){ 0 }), 0,
		      "the quarantined flow is still tracked");
	/* out of it, into it by an allow rule: nothing, on both hooks */
	h_check(&H, false, &out, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
	h_check(&H, false, &in, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
	h_check(&H, true, &in, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_QUARANTINE)).packets, 4);

	/* released (the policy without the flag): the rules again */
	h_push(&H, policy);
	h_check(&H, false, &in, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 8));
}

Test(overlay, forensic_entry_is_the_only_way_into_a_quarantine)
{
	struct pkt_spec tool = PKT_TCP(BASTION, 40000, SF, 22, TH_SYN);
	struct pkt_spec back = PKT_TCP(SF, 40001, BASTION, 22, TH_SYN);
	struct pkt_spec other = PKT_TCP(VDA, 40002, SF, 443, TH_SYN);
	struct pkt_spec safe = PKT_TCP(VDA, 40003, SF, 2222, TH_SYN);
	struct xs_compiled *c = h_compile(policy);
	uint32_t q = overlay_rid(c, 1), f = overlay_rid(c, 2), fs = overlay_rid(c, 3);
	struct xs_rule_val *v;

	quarantine(c, "sf", q);
	v = tcp_entry(c, "bastion", "sf", 22);
	v->rule_id = f;
	v->action = XS_ACT_ALLOW;
	v->flags = XS_RULEF_FORENSIC;
	/* a failsafe port into the quarantine: the quarantine wins */
	v = tcp_entry_add(c, "vda", "sf", 2222);
	v->rule_id = fs;
	v->action = XS_ACT_ALLOW;
	v->flags = XS_RULEF_FAILSAFE;
	h_push_c(&H, c);

	h_check(&H, false, &tool, XS_VERDICT_ALLOW, XS_REASON_FORENSIC, f);
	/* its replies are the flow's; a new flow back is not forensic access */
	h_check(&H, false, &(struct pkt_spec)PKT_TCP(SF, 22, BASTION, 40000, TH_SYN | TH_ACK),
		XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, false, &back, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
	h_check(&H, false, &other, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
	h_check(&H, false, &safe, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
}

Test(overlay, forensic_deny_entry_does_not_open_a_quarantine)
{
	struct pkt_spec s = PKT_TCP(BASTION, 40000, SF, 22, TH_SYN);
	struct xs_compiled *c = h_compile(policy);
	uint32_t q = overlay_rid(c, 1);
	struct xs_rule_val *v;

	quarantine(c, "sf", q);
	v = tcp_entry(c, "bastion", "sf", 22);
	v->action = XS_ACT_DENY;
	v->flags = XS_RULEF_FORENSIC;
	h_push_c(&H, c);
	h_check(&H, false, &s, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
}

Test(overlay, failsafe_entry_outranks_a_deny)
{
	struct pkt_spec s = PKT_TCP(BASTION, 40000, VDA, 3389, TH_SYN);
	struct xs_compiled *c = h_compile(policy);
	uint32_t fs = overlay_rid(c, 1);
	struct xs_rule_val *v = tcp_entry(c, "bastion", "vda", 3389);

	v->rule_id = fs;
	v->action = XS_ACT_ALLOW;
	v->flags = XS_RULEF_FAILSAFE;
	h_push_c(&H, c);
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_FAILSAFE, fs);
}

/* Turn the deny of line 5 (bastion -> vda : tcp/3389) into a grant of `secs`. */
static uint32_t grant_rdp(uint8_t flags, uint32_t secs, uint32_t *expires)
{
	struct xs_compiled *c = h_compile(policy);
	uint32_t g = overlay_rid(c, 1);
	struct xs_rule_val *v = tcp_entry(c, "bastion", "vda", 3389);

	cr_assert_eq(v->action, XS_ACT_DENY);
	v->fb_action = v->action;
	v->fb_rule_id = v->rule_id;
	v->rule_id = g;
	v->action = XS_ACT_ALLOW;
	v->flags = XS_RULEF_GRANT | flags;
	v->expires = (uint32_t)(clock_s(CLOCK_TAI) + secs);
	*expires = v->expires;
	h_push_c(&H, c);
	return g;
}

Test(overlay, grant_opens_then_closes_at_its_kernel_deadline)
{
	struct pkt_spec ack = PKT_TCP(BASTION, 40000, VDA, 3389, TH_ACK);
	struct pkt_spec late = PKT_TCP(BASTION, 40001, VDA, 3389, TH_SYN);
	struct xs_ct_val ct;
	struct xs_tuple k;
	uint32_t expires, g = grant_rdp(0, 10, &expires);

	tcp_connect(BASTION, VDA, 3389, XS_REASON_GRANT, g);
	cr_assert_eq(h_ct_lookup(&H, &ack, &k, &ct), 0);
	cr_assert_eq(ct.deadline, expires, "the flow carries its grant's end");
	cr_assert_eq(ct.reason, XS_REASON_GRANT);

	/* one second before the end: still open */
	advance(8);
	h_check(&H, false, &ack, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	/* past it: the connection is cut at its next packet, naming the grant */
	advance(3);
	h_check(&H, false, &ack, XS_VERDICT_DROP, XS_REASON_GRANT_EXPIRED, g);
	cr_assert_neq(h_ct_lookup(&H, &ack, &k, &ct), 0,
		      "an expired grant's flow is still tracked");
	/* and a new one meets the deny the grant covered */
	h_check(&H, false, &late, XS_VERDICT_DROP, XS_REASON_DENY_RULE, h_rid(&H, 5));
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_GRANT_EXPIRED)).packets, 1);
}

Test(overlay, every_use_of_a_grant_is_an_event_even_when_quiet)
{
	struct pkt_spec s = PKT_TCP(BASTION, 40000, VDA, 22, TH_SYN);
	struct xs_config cfg;
	uint32_t expires, g;

	h_push(&H, policy);
	cfg = h_cfg(&H);
	cfg.flags |= XS_CFG_QUIET_ALLOW;
	h_cfg_set(&H, &cfg);
	g = grant_rdp(0, 10, &expires);
	cr_assert_eq(h_send(&H, false, &s), XDP_PASS_);
	cr_assert_eq(H.nev, 0, "quiet: an allow by a rule made an event");
	tcp_connect(BASTION, VDA, 3389, XS_REASON_GRANT, g);
}

Test(overlay, grant_reply_after_the_deadline_is_cut_too)
{
	struct pkt_spec reply = PKT_TCP(VDA, 3389, BASTION, 40000, TH_ACK);
	uint32_t expires, g = grant_rdp(0, 5, &expires);

	tcp_connect(BASTION, VDA, 3389, XS_REASON_GRANT, g);
	advance(6);
	h_check(&H, false, &reply, XS_VERDICT_DROP, XS_REASON_GRANT_EXPIRED, g);
	cr_assert_eq(H.ev[0].dst_seg, h_seg(&H, "bastion"),
		     "the event is in the packet's direction");
}

Test(overlay, an_ended_grant_relates_no_icmp_error)
{
	struct pkt_spec syn = PKT_TCP(BASTION, 40000, VDA, 3389, TH_SYN);
	struct pkt_spec e = { .src = VDA, .dst = BASTION, .proto = IPPROTO_ICMP, .icmp_type = 3 };
	struct pkt orig;
	uint32_t expires, g = grant_rdp(0, 5, &expires);

	tcp_connect(BASTION, VDA, 3389, XS_REASON_GRANT, g);
	cr_assert_eq(pkt_build(&orig, &syn), 0);
	e.icmp_code = 3;
	e.quote = orig.data + orig.l3;
	e.quote_len = orig.len - orig.l3;
	h_check(&H, false, &e, XS_VERDICT_ALLOW, XS_REASON_RELATED, 0);
	advance(6);
	h_check(&H, false, &e, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "bastion"));
}

Test(overlay, drained_grant_lets_its_connections_finish_but_opens_nothing_new)
{
	struct pkt_spec ack = PKT_TCP(BASTION, 40000, VDA, 3389, TH_ACK);
	struct pkt_spec late = PKT_TCP(BASTION, 40001, VDA, 3389, TH_SYN);
	struct xs_ct_val ct;
	struct xs_tuple k;
	uint32_t expires, g = grant_rdp(XS_RULEF_DRAIN, 5, &expires);

	tcp_connect(BASTION, VDA, 3389, XS_REASON_GRANT, g);
	cr_assert_eq(h_ct_lookup(&H, &ack, &k, &ct), 0);
	cr_assert_eq(ct.deadline, 0, "a drained grant's flow has no deadline");
	advance(6);
	h_check(&H, false, &ack, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, false, &late, XS_VERDICT_DROP, XS_REASON_DENY_RULE, h_rid(&H, 5));
}

Test(overlay, grant_over_no_entry_falls_back_to_the_defaults)
{
	struct pkt_spec s = PKT_TCP(BASTION, 40000, VDA, 8080, TH_SYN);
	struct xs_compiled *c = h_compile(policy);
	uint32_t g = overlay_rid(c, 1), in_rid;
	struct xs_rule_val *v = tcp_entry_add(c, "bastion", "vda", 8080);

	v->rule_id = g;
	v->action = XS_ACT_ALLOW;
	v->flags = XS_RULEF_GRANT;
	v->fb_action = XS_ACT_NONE;
	v->expires = (uint32_t)(clock_s(CLOCK_TAI) + 5);
	h_push_c(&H, c);
	in_rid = h_in_rid(&H, "vda");

	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_GRANT, g);
	advance(6);
	s.sport = 40001;
	h_check(&H, false, &s, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, in_rid);
}

static const char *before = "segment a 10.1.0.0/16\n"
			    "segment b 10.2.0.0/16\n"
			    "allow a -> b : tcp/443\n" /* 3 */
			    "default b in deny\n";
static const char *after = "segment a 10.1.0.0/16\n"
			   "segment b 10.2.0.0/16\n"
			   "allow a -> b : tcp/80\n"
			   "default b in deny\n"; /* 4 */

/* apply --confirm: `after` in force, the datapath told to go back to
 * `before` from `secs` on. Returns the generation of `before`. */
static uint32_t confirm_pending(uint32_t secs, uint32_t *allow_rid)
{
	struct xs_config cfg;
	uint32_t old;

	h_push(&H, before);
	old = H.generation;
	*allow_rid = h_rid(&H, 3);
	h_push(&H, after);
	cfg = h_cfg(&H);
	cfg.confirm_deadline_ns = clock_ns(CLOCK_MONOTONIC_COARSE) + secs * XS_NS_PER_SEC;
	cfg.rollback_generation = old;
	cfg.rolled_back = 0;
	h_cfg_set(&H, &cfg);
	return old;
}

static size_t rollback_events(const struct h *h, uint32_t gen)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nev; i++)
		if (h->ev[i].flags & XS_EVF_ROLLBACK) {
			cr_expect_eq(h->ev[i].generation, gen, "rollback event's generation");
			n++;
		}
	return n;
}

Test(overlay, missed_confirm_rolls_back_in_the_datapath_once)
{
	struct pkt_spec s = PKT_TCP("10.1.0.5", 40000, "10.2.0.9", 443, TH_SYN);
	struct pkt p;
	uint32_t allow_rid, old = confirm_pending(30, &allow_rid);
	uint32_t new_gen = H.generation;
	struct xs_config cfg;
	bool rolled = false;

	/* before the deadline: the new policy */
	h_check(&H, false, &s, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "b"));
	cr_assert_eq(h_cfg(&H).rolled_back, 0);

	/* past it: the policy before, and one rollback event */
	advance(31);
	s.sport = 40001;
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert(h_passed(false, h_run(&H, false, &p)), "not rolled back past the deadline");
	cr_assert_eq(rollback_events(&H, old), 1, "%zu events, no rollback event", H.nev);
	for (size_t i = 0; i < H.nev; i++)
		if (!(H.ev[i].flags & XS_EVF_ROLLBACK)) {
			cr_expect_eq(H.ev[i].rule_id, allow_rid);
			cr_expect_eq(H.ev[i].generation, old);
			rolled = true;
		}
	cr_assert(rolled, "no event for the flow decided by the old policy");
	cfg = h_cfg(&H);
	cr_assert_eq(cfg.rolled_back, 1);
	cr_assert_eq(cfg.generation, new_gen, "the datapath must not rewrite the generation");

	/* once: the next packet makes no second rollback event */
	s.sport = 40002;
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert(h_passed(true, h_run(&H, true, &p)));
	cr_assert_eq(rollback_events(&H, old), 0, "a second rollback event");
}

Test(overlay, confirmed_in_time_keeps_the_new_policy)
{
	struct pkt_spec s = PKT_TCP("10.1.0.5", 40000, "10.2.0.9", 443, TH_SYN);
	uint32_t allow_rid;
	struct xs_config cfg;

	confirm_pending(30, &allow_rid);
	cfg = h_cfg(&H);
	cfg.confirm_deadline_ns = 0; /* `xdpseg confirm` */
	h_cfg_set(&H, &cfg);
	advance(31);
	h_check(&H, false, &s, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "b"));
	cr_assert_eq(h_cfg(&H).rolled_back, 0);
}

Test(overlay, rollback_redecides_flows_accepted_by_the_new_policy)
{
	struct pkt_spec syn = PKT_TCP("10.1.0.5", 40000, "10.2.0.9", 80, TH_SYN);
	struct pkt_spec ack = PKT_TCP("10.1.0.5", 40000, "10.2.0.9", 80, TH_ACK);
	struct pkt p;
	uint32_t allow_rid, old = confirm_pending(30, &allow_rid);

	h_check(&H, false, &syn, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	advance(31);
	cr_assert_eq(pkt_build(&p, &ack), 0);
	cr_assert(!h_passed(false, h_run(&H, false, &p)),
		  "a flow only the unconfirmed policy allowed survived the rollback");
	cr_assert_eq(rollback_events(&H, old), 1);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-rule counters across applies (user/ctl/counters.c) over the real maps
 * of a loaded datapath: a rule the new policy keeps (moved to another line,
 * spaced and commented otherwise) keeps its counts and goes on from them; a
 * rule whose text changed, and a new one, start at 0; a long rule that
 * changes past the text's cut is a new rule; xs_stats is left as it is;
 * a rollback of an apply --confirm takes back what the unconfirmed policy
 * counted for the rules both have, explicit or at a missed deadline; and
 * the readers (xs_stats_read(), xs_rule_counters_read()) sum every CPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ctl/confirm.h"
#include "ctl/counters.h"
#include "ctl/show.h"
#include "harness.h"
#include "util.h"

static struct h H;
static char tmp[64], msgs[4096];

static void logged(int level, const char *msg)
{
	size_t o = strlen(msgs);

	snprintf(msgs + o, sizeof(msgs) - o, "%s: %s\n", level == LOG_ERR ? "E" : "W", msg);
}

static void setup(void)
{
	h_open(&H);
	snprintf(tmp, sizeof(tmp), "/tmp/xs-counters-XXXXXX");
	cr_assert(mkdtemp(tmp));
	chmod(tmp, 0700);
	msgs[0] = '\0';
	xs_set_log(logged);
}

static void teardown(void)
{
	char cmd[128];

	xs_set_log(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd))
		cr_log_warn("cannot remove %s", tmp);
	h_close(&H);
}

TestSuite(counters, .init = setup, .fini = teardown);

/* Line 3: the rule kept; 4: the rule changed; 5: the default kept. */
static const char *pol_a = "segment a 10.1.0.0/16\n"
			   "segment b 10.2.0.0/16\n"
			   "allow a -> b : tcp/443\n"
			   "allow a -> b : tcp/80\n"
			   "default b in deny\n";
/* The same rule (other spacing, a comment) on line 5; line 3 the changed
 * one; line 4 new; the default on line 6. */
static const char *pol_b = "segment a 10.1.0.0/16\n"
			   "segment b 10.2.0.0/16\n"
			   "allow a -> b : tcp/80, tcp/8080\n"
			   "allow a -> b : tcp/25\n"
			   "allow a->b:tcp/443    # kept\n"
			   "default b in deny\n";

/* `n` new TCP flows a -> b:port (a SYN each, a new source port each). */
static void flows(uint16_t port, int n)
{
	static uint16_t sport = 20000;

	for (int i = 0; i < n; i++) {
		struct pkt_spec s = PKT_TCP("10.1.0.5", sport++, "10.2.0.9", port, TH_SYN);

		h_send(&H, false, &s);
	}
}

/* The rule counters of `rule_id` in the set in force (xs_config's). */
static struct xs_rule_counter count(uint32_t rule_id)
{
	struct xs_rule_counter *v = calloc(rule_id + 1, sizeof(*v)), c;
	uint32_t set = h_cfg(&H).generation & 1;

	cr_assert_not_null(v);
	cr_assert_eq(xs_rule_counters_read(&H.maps, set, rule_id + 1, v), 0);
	c = v[rule_id];
	free(v);
	return c;
}

/* The id of the default statement `default b in deny` in H.c. */
static uint32_t default_rid(void)
{
	const struct xs_policy *p = H.c->policy;

	for (size_t i = 0; i < p->norigins; i++)
		if (p->origins[i].kind == XS_ORIGIN_DEFAULT)
			return p->origins[i].rule_id;
	cr_assert_fail("no default statement");
	return 0;
}

Test(counters, kept_rule_goes_on)
{
	struct xs_counter before[XS_STAT__MAX], after[XS_STAT__MAX];
	struct xs_rule_counter kept, dflt;
	uint32_t rid;

	h_push(&H, pol_a);
	flows(443, 3);
	flows(80, 2);
	flows(22, 4); /* dropped by b's in deny */
	kept = count(h_rid(&H, 3));
	dflt = count(default_rid());
	cr_assert_eq(kept.flows, 3);
	cr_assert_eq(kept.packets, 3);
	cr_assert_eq(count(h_rid(&H, 4)).packets, 2);
	cr_assert_eq(dflt.packets, 4);
	cr_assert_eq(xs_stats_read(&H.maps, before), 0);

	h_push(&H, pol_b);
	rid = h_rid(&H, 5);
	cr_assert_neq(rid, h_rid(&H, 3));
	cr_assert_eq(count(rid).flows, kept.flows, "the kept rule keeps its flows");
	cr_assert_eq(count(rid).packets, kept.packets, "... its packets");
	cr_assert_eq(count(rid).bytes, kept.bytes, "... and its bytes");
	cr_assert_eq(count(h_rid(&H, 3)).packets, 0, "a rule whose text changed starts at 0");
	cr_assert_eq(count(h_rid(&H, 4)).packets, 0, "a new rule starts at 0");
	cr_assert_eq(count(default_rid()).packets, dflt.packets, "the default is kept too");
	cr_assert_eq(xs_stats_read(&H.maps, after), 0);
	cr_assert_eq(memcmp(before, after, sizeof(before)), 0, "an apply leaves xs_stats alone");

	flows(443, 2);
	flows(80, 1);
	cr_assert_eq(count(rid).packets, kept.packets + 2, "it goes on from its count");
	cr_assert_eq(count(rid).flows, kept.flows + 2);
	cr_assert_eq(count(h_rid(&H, 3)).packets, 1);

	/* back to pol_a: 443 goes on again, the tcp/80 rule of pol_a is new
	 * again (pol_b did not have it) */
	h_push(&H, pol_a);
	cr_assert_eq(count(h_rid(&H, 3)).packets, kept.packets + 2);
	cr_assert_eq(count(h_rid(&H, 4)).packets, 0);
}

Test(counters, readers_sum_the_stats)
{
	struct xs_counter st[XS_STAT__MAX];
	struct xs_counter one;

	h_push(&H, pol_a);
	flows(22, 3);
	cr_assert_eq(xs_stats_read(&H.maps, st), 0);
	one = h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DEFAULT_IN));
	cr_assert_eq(one.packets, 3);
	cr_assert_eq(st[XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DEFAULT_IN)].packets, one.packets);
	cr_assert_eq(st[XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DEFAULT_IN)].bytes, one.bytes);
	cr_assert_eq(xs_rule_counters_read(&H.maps, 0, XS_MAX_RULES + 1, NULL), -EINVAL,
		     "past the array: refused");
}

/* `allow a -> b : tcp/1000, ..., tcp/1000+n-2, tcp/LAST`: longer than an
 * origin's text. */
static char *long_policy(int last)
{
	size_t cap = 4096, o;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	o = (size_t)snprintf(s, cap,
			     "segment a 10.1.0.0/16\nsegment b 10.2.0.0/16\n"
			     "allow a -> b :");
	for (int i = 0; i < 29; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s tcp/%d", i ? "," : "", 1000 + i);
	snprintf(s + o, cap - o, ", tcp/%d\ndefault b in deny\n", last);
	return s;
}

Test(counters, long_rule_changed_past_the_cut)
{
	char *p1 = long_policy(2000), *p2 = long_policy(2001);
	struct xs_origin o;
	uint32_t rid;

	h_push(&H, p1);
	rid = h_rid(&H, 3);
	cr_assert_eq(xs_origin_get(&H.maps, h_cfg(&H).generation & 1, rid, &o), 0);
	cr_assert(strstr(o.text, " ... #"), "a long text holds its hash: %s", o.text);
	flows(1000, 2);
	cr_assert_eq(count(rid).packets, 2);
	h_push(&H, p1);
	cr_assert_eq(count(rid).packets, 2, "the same long rule keeps its count");
	h_push(&H, p2);
	cr_assert_eq(count(h_rid(&H, 3)).packets, 0, "changed past the cut: a new rule");
	free(p1);
	free(p2);
}

/* apply --confirm of pol_b over pol_a, as cmd_apply.c does it. */
static uint32_t apply_confirm(uint64_t secs)
{
	struct xs_confirm c;
	uint32_t prev = 0;

	cr_assert_eq(xs_confirm_prearm(&H.maps, secs, &prev), 0, "%s", msgs);
	h_push(&H, pol_b);
	cr_assert_eq(xs_confirm_arm(&H.maps, prev, secs, &c), 0, "%s", msgs);
	return prev;
}

/* The counters of set `set`'s rule `rid`. */
static struct xs_rule_counter count_in(uint32_t set, uint32_t rid)
{
	struct xs_rule_counter *v = calloc(rid + 1, sizeof(*v)), c;

	cr_assert_not_null(v);
	cr_assert_eq(xs_rule_counters_read(&H.maps, set, rid + 1, v), 0);
	c = v[rid];
	free(v);
	return c;
}

Test(counters, rollback_takes_the_counts_back)
{
	uint32_t prev, a443, a80;
	struct xs_rollback rb;

	h_push(&H, pol_a);
	a443 = h_rid(&H, 3);
	a80 = h_rid(&H, 4);
	flows(443, 3);
	flows(80, 2);
	prev = apply_confirm(60);
	flows(443, 4);
	flows(8080, 1);
	cr_assert_eq(count(h_rid(&H, 5)).packets, 7);
	cr_assert_eq(xs_confirm_rollback(&H.maps, tmp, &rb), 0, "%s", msgs);
	cr_assert_eq(h_cfg(&H).generation & 1, prev & 1, "the old set is in force");
	cr_assert_eq(count_in(prev & 1, a443).packets, 7,
		     "the rule both have: what the unconfirmed policy counted too");
	cr_assert_eq(count_in(prev & 1, a80).packets, 2, "a rule only the old one has: its own");
	flows(443, 1);
	cr_assert_eq(count_in(prev & 1, a443).packets, 8);
}

Test(counters, missed_confirm_never_goes_down)
{
	struct xs_config cfg;
	uint32_t prev, a443;

	h_push(&H, pol_a);
	a443 = h_rid(&H, 3);
	flows(443, 3);
	prev = apply_confirm(30);
	flows(443, 2);
	cfg = h_cfg(&H);
	cfg.clock_offset_ns += 31 * (int64_t)XS_NS_PER_SEC;
	h_cfg_set(&H, &cfg);
	flows(443, 1); /* the datapath went back: counted in the old set */
	cr_assert_eq(count_in(prev & 1, a443).packets, 4);
	cr_assert_eq(xs_confirm_settle(&H.maps, tmp, NULL), 1, "%s", msgs);
	/* the larger of the two (5 > 4): the packet counted after the
	 * deadline is the documented loss, no count goes down */
	cr_assert_eq(count_in(prev & 1, a443).packets, 5);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/policy/semdiff.c: the semantic difference of two policies. A policy
 * against itself, or against the same rules written otherwise (segments
 * declared in another order, a range split in two), differs in nothing;
 * port ranges come out as maximal runs; a default's change is one line for
 * every protocol; segments added, removed and whose prefixes or defaults
 * change; and over random pairs of policies, a (src, dst, protocol, port)
 * point is covered by exactly one change exactly when the two policies'
 * verdicts there differ, with both sides' decisions.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "randpol.h"

static struct xs_compiled *compile_ok(const char *text)
{
	struct xs_compiled *c = NULL;
	struct xs_diags d;

	xs_diags_init(&d);
	if (compile_text(text, &c, &d)) {
		char *s = diags_str(&d);

		cr_assert_fail("did not compile:\n%s\n%s", text, s);
	}
	xs_diags_free(&d);
	return c;
}

static void diff_texts(const char *a, const char *b, struct xs_compiled **ca,
		       struct xs_compiled **cb, struct xs_semdiff *d)
{
	*ca = compile_ok(a);
	*cb = compile_ok(b);
	cr_assert_eq(xs_semdiff(*ca, 0, *cb, 0, d), 0);
}

static void done(struct xs_compiled *a, struct xs_compiled *b, struct xs_semdiff *d)
{
	xs_semdiff_free(d);
	xs_compiled_free(a);
	xs_compiled_free(b);
}

static const char base[] = "segment clients 10.20.0.0/16\n"
			   "segment vda 10.10.10.0/24\n"
			   "segment sf 10.10.1.0/24\n"
			   "allow clients -> vda : tcp/1494, udp/1000-2000\n"
			   "allow clients -> sf : tcp/443\n"
			   "deny vda -> vda\n";

Test(semdiff, same_policy_no_difference)
{
	struct xs_compiled *a, *b;
	struct xs_semdiff d;

	diff_texts(base, base, &a, &b, &d);
	cr_assert_eq(d.nchanges, 0);
	cr_assert_eq(d.nsegs, 0);
	cr_assert_eq(d.pairs, 5 * 5, "clients, vda, sf, link-local and world");
	done(a, b, &d);
}

/* Other ids, other lines, the same decisions: nothing to report. */
Test(semdiff, written_otherwise_no_difference)
{
	struct xs_compiled *a, *b;
	struct xs_semdiff d;

	diff_texts(base,
		   "segment sf 10.10.1.0/24\n"
		   "segment vda 10.10.10.0/24\n"
		   "segment clients 10.20.0.0/16\n"
		   "deny vda -> vda\n"
		   "allow clients -> sf : tcp/443\n"
		   "allow clients -> vda : udp/1000-1499, udp/1500-2000\n"
		   "allow clients -> vda : tcp/1494\n",
		   &a, &b, &d);
	cr_assert_eq(d.nchanges, 0, "%zu changes", d.nchanges);
	cr_assert_eq(d.nsegs, 0);
	done(a, b, &d);
}

Test(semdiff, port_runs_and_rules)
{
	struct xs_compiled *a, *b;
	struct xs_semdiff d;
	const struct xs_semdiff_change *ch;

	diff_texts(base,
		   "segment clients 10.20.0.0/16\n"
		   "segment vda 10.10.10.0/24\n"
		   "segment sf 10.10.1.0/24\n"
		   "allow clients -> vda : tcp/1494, udp/1000-3000\n"
		   "deny clients -> vda : udp/1500\n"
		   "allow clients -> sf : tcp/443\n"
		   "deny vda -> vda\n",
		   &a, &b, &d);
	cr_assert_eq(d.nchanges, 2);
	ch = &d.changes[0];
	cr_assert_str_eq(ch->src, "clients");
	cr_assert_str_eq(ch->dst, "vda");
	cr_assert_eq(ch->cls, XS_SEMDIFF_PROTO);
	cr_assert_eq(ch->proto, 17);
	cr_assert_eq(ch->lo, 1500);
	cr_assert_eq(ch->hi, 1500);
	cr_assert_eq(ch->a.verdict, XS_VERDICT_ALLOW);
	cr_assert_eq(xs_compiled_origin(a, ch->a.rule_id)->line, 4);
	cr_assert_eq(ch->b.verdict, XS_VERDICT_DROP);
	cr_assert_eq(ch->b.reason, XS_REASON_DENY_RULE);
	cr_assert_eq(xs_compiled_origin(b, ch->b.rule_id)->line, 5);
	ch = &d.changes[1];
	cr_assert_eq(ch->lo, 2001, "one maximal run");
	cr_assert_eq(ch->hi, 3000);
	cr_assert_eq(ch->a.reason, XS_REASON_DEFAULT_IN);
	cr_assert_eq(ch->b.reason, XS_REASON_RULE);
	done(a, b, &d);
}

/* A default that changes: every protocol and port of the pairs it decides. */
Test(semdiff, default_change_is_one_line_per_pair)
{
	struct xs_compiled *a, *b;
	struct xs_semdiff d;
	size_t any = 0;

	diff_texts("segment a 10.1.0.0/16\nsegment b 10.2.0.0/16\n",
		   "segment a 10.1.0.0/16\nsegment b 10.2.0.0/16\ndefault b in allow\n", &a, &b,
		   &d);
	/* into b from a, b, world, link-local */
	cr_assert_eq(d.nchanges, 4);
	for (size_t i = 0; i < d.nchanges; i++) {
		cr_assert_str_eq(d.changes[i].dst, "b");
		cr_assert_eq(d.changes[i].a.verdict, XS_VERDICT_DROP);
		cr_assert_eq(d.changes[i].b.verdict, XS_VERDICT_ALLOW);
		any += d.changes[i].cls == XS_SEMDIFF_ANY;
	}
	cr_assert_eq(any, 4);
	cr_assert_eq(d.nsegs, 1);
	cr_assert_str_eq(d.segs[0].name, "b");
	cr_assert_eq(d.segs[0].info_a.in_action, XS_ACT_DENY);
	cr_assert_eq(d.segs[0].info_b.in_action, XS_ACT_ALLOW);
	done(a, b, &d);
}

/* A pair whose rules change on one protocol only, and a pair that changes
 * for all but one protocol: per protocol, not "any". */
Test(semdiff, protocol_classes)
{
	struct xs_compiled *a, *b;
	struct xs_semdiff d;

	diff_texts("segment a 10.1.0.0/16\nsegment b 10.2.0.0/16\nallow a -> b\n",
		   "segment a 10.1.0.0/16\nsegment b 10.2.0.0/16\nallow a -> b : tcp\n", &a, &b,
		   &d);
	/* udp, icmp, icmpv6 and the others: allowed, then dropped; tcp unchanged */
	cr_assert_eq(d.nchanges, 4);
	cr_assert_eq(d.changes[0].proto, 17);
	cr_assert_eq(d.changes[0].lo, 0);
	cr_assert_eq(d.changes[0].hi, 65535);
	cr_assert_eq(d.changes[1].proto, 1);
	cr_assert_eq(d.changes[1].hi, 255);
	cr_assert_eq(d.changes[2].proto, 58);
	cr_assert_eq(d.changes[3].cls, XS_SEMDIFF_OTHER);
	done(a, b, &d);
}

Test(semdiff, segments_added_removed_changed)
{
	struct xs_compiled *a, *b;
	struct xs_semdiff d;

	diff_texts("segment a 10.1.0.0/16, 10.9.0.0/16\nsegment gone 10.3.0.0/16\n"
		   "segment b 10.2.0.0/16\nmode b monitor\n",
		   "segment a 10.1.0.0/16, fd00:1::/32\nsegment b 10.2.0.0/16\n"
		   "segment new 10.4.0.0/16\n",
		   &a, &b, &d);
	cr_assert_eq(d.nsegs, 4);
	cr_assert_str_eq(d.segs[0].name, "a");
	cr_assert_eq(d.segs[0].nadded, 1);
	cr_assert_eq(d.segs[0].added[0].family, 6);
	cr_assert_eq(d.segs[0].nremoved, 1);
	cr_assert_eq(d.segs[0].removed[0].addr[1], 9);
	cr_assert_str_eq(d.segs[1].name, "gone");
	cr_assert(d.segs[1].in_a && !d.segs[1].in_b);
	cr_assert_eq(d.segs[1].nremoved, 1);
	cr_assert_str_eq(d.segs[2].name, "b");
	cr_assert_eq(d.segs[2].info_a.monitor, 1);
	cr_assert_eq(d.segs[2].info_b.monitor, 0);
	cr_assert_str_eq(d.segs[3].name, "new");
	cr_assert(!d.segs[3].in_a && d.segs[3].in_b);
	/* b's drops were audits (monitor), now drops: into and out of b */
	cr_assert_gt(d.nchanges, 0);
	for (size_t i = 0; i < d.nchanges; i++) {
		cr_assert(!strcmp(d.changes[i].src, "b") || !strcmp(d.changes[i].dst, "b"));
		cr_assert_eq(d.changes[i].a.verdict, XS_VERDICT_AUDIT);
		cr_assert_eq(d.changes[i].b.verdict, XS_VERDICT_DROP);
		cr_assert_str_neq(d.changes[i].src, "gone");
		cr_assert_str_neq(d.changes[i].dst, "new");
	}
	done(a, b, &d);
}

/* The decision of a policy for (segment names, proto, port), by the lookups. */
static uint8_t verdict_of(const struct xs_compiled *c, const struct xs_tables *t, uint16_t s,
			  uint16_t d, uint8_t proto, uint16_t port)
{
	const struct xs_rule_entry *e = xs_tables_rule(t, s, d, proto, port);
	struct xs_decision dec;

	xs_decide_entry(e ? &e->val : NULL, &c->seginfo[s], &c->seginfo[d], 0, &dec);
	return dec.verdict;
}

static long seg_id(const struct xs_compiled *c, const char *name)
{
	if (!strcmp(name, "world"))
		return 0;
	for (size_t i = 0; i < c->policy->nsegments; i++)
		if (!strcmp(c->policy->segments[i].name, name))
			return c->policy->segments[i].id;
	return -1;
}

static bool covers(const struct xs_semdiff_change *ch, uint8_t proto, uint16_t port)
{
	if (ch->cls == XS_SEMDIFF_ANY)
		return true;
	if (ch->cls == XS_SEMDIFF_OTHER)
		return proto != 6 && proto != 17 && proto != 1 && proto != 58;
	return ch->proto == proto && ch->lo <= port && port <= ch->hi;
}

Test(semdiff, random_points_are_covered_exactly_when_they_change)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 47 };
	struct rng r = { 0xd1ff };
	size_t changed = 0, points = 0;

	for (int p = 0; p < 150; p++) {
		int na, nb;
		char *ta = rnd(&r, 2) ? rand_policy(&r, &na) : rand_policy_ll(&r, &na);
		char *tb = rnd(&r, 2) ? rand_policy(&r, &nb) : rand_policy_ll(&r, &nb);
		struct xs_compiled *a, *b;
		struct xs_tables xa, xb;
		struct xs_semdiff d;

		diff_texts(ta, tb, &a, &b, &d);
		xs_tables_init(&xa, a);
		xs_tables_init(&xb, b);
		for (size_t k = 0; k < d.nchanges; k++) {
			const struct xs_semdiff_change *ch = &d.changes[k];

			cr_assert_neq(ch->a.verdict, ch->b.verdict);
			cr_assert_leq(ch->lo, ch->hi);
			/* maximal: the next change of the same class does not continue it */
			if (k + 1 < d.nchanges && ch->cls == XS_SEMDIFF_PROTO &&
			    d.changes[k + 1].cls == XS_SEMDIFF_PROTO &&
			    d.changes[k + 1].src_a == ch->src_a &&
			    d.changes[k + 1].dst_a == ch->dst_a &&
			    d.changes[k + 1].proto == ch->proto &&
			    d.changes[k + 1].lo == ch->hi + 1)
				cr_assert(d.changes[k + 1].a.verdict != ch->a.verdict ||
						  d.changes[k + 1].b.verdict != ch->b.verdict ||
						  d.changes[k + 1].a.rule_id != ch->a.rule_id ||
						  d.changes[k + 1].b.rule_id != ch->b.rule_id,
					  "two runs that should be one");
		}
		for (int i = 0; i < 400; i++) {
			size_t ns = a->policy->nsegments + 1;
			uint16_t sa = (uint16_t)rnd(&r, (uint32_t)ns),
				 da = (uint16_t)rnd(&r, (uint32_t)ns);
			const char *sn = sa ? a->policy->segments[sa - 1].name : "world";
			const char *dn = da ? a->policy->segments[da - 1].name : "world";
			long sb = seg_id(b, sn), db = seg_id(b, dn);
			uint8_t proto = protos[rnd(&r, 5)], va, vb;
			uint16_t port = (uint16_t)(rnd(&r, 2) ? rnd(&r, 64) : rnd(&r, 65536));
			const struct xs_semdiff_change *hit = NULL;
			size_t nhit = 0;

			if (sb < 0 || db < 0)
				continue;
			if (proto == 1 || proto == 58)
				port = (uint16_t)rnd(&r, 256);
			if (proto == 47)
				port = 0;
			va = verdict_of(a, &xa, sa, da, proto, port);
			vb = verdict_of(b, &xb, (uint16_t)sb, (uint16_t)db, proto, port);
			for (size_t k = 0; k < d.nchanges; k++) {
				const struct xs_semdiff_change *ch = &d.changes[k];

				if (ch->src_a == sa && ch->dst_a == da && covers(ch, proto, port)) {
					hit = ch;
					nhit++;
				}
			}
			cr_assert_eq(nhit, va != vb,
				     "%s -> %s proto %u port %u: %u -> %u, %zu "
				     "changes cover it\n--- a\n%s--- b\n%s",
				     sn, dn, proto, port, va, vb, nhit, ta, tb);
			if (hit) {
				cr_assert_eq(hit->a.verdict, va);
				cr_assert_eq(hit->b.verdict, vb);
				cr_assert_eq(hit->src_b, sb);
				cr_assert_eq(hit->dst_b, db);
			}
			points++;
			changed += nhit;
		}
		done(a, b, &d);
		free(ta);
		free(tb);
	}
	cr_expect_gt(changed, points / 20);
	cr_expect_gt(points - changed, points / 20);
}

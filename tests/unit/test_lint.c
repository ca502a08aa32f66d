// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The shadow/repeat lint (lint.c, an index) against the old quadratic lint,
 * kept here as the reference: random policies, identical findings.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "internal.h"
#include "randpol.h"

/* ---- The reference: the lint as it was, rule by rule ------------------------ */

static bool ep_covers(uint32_t outer, uint32_t inner)
{
	return outer == XS_ENDPOINT_ANY || outer == inner;
}

/* Does rule `o` match every flow of spec `ps` (NULL: every protocol)? */
static bool rule_covers_spec(const struct xs_rule *o, const struct xs_portspec *ps)
{
	if (!o->nports)
		return true;
	if (!ps)
		return false;
	for (size_t i = 0; i < o->nports; i++) {
		const struct xs_portspec *q = &o->ports[i];

		if ((q->proto == 0 || q->proto == ps->proto) && q->lo <= ps->lo && ps->hi <= q->hi)
			return true;
	}
	return false;
}

/*
 * First rule among `action` rules (other than r, and before r when
 * `earlier`) that alone covers each piece of r; NULL if some piece is not
 * covered by a single such rule.
 */
static const struct xs_rule *covering(const struct xs_policy *p, const struct xs_rule *r,
				      uint8_t action, bool earlier)
{
	const struct xs_rule *first = NULL;
	size_t npieces = r->nports ? r->nports : 1;

	for (size_t k = 0; k < npieces; k++) {
		const struct xs_portspec *ps = r->nports ? &r->ports[k] : NULL;
		const struct xs_rule *found = NULL;

		for (size_t i = 0; i < p->nrules && !found; i++) {
			const struct xs_rule *o = &p->rules[i];

			if (o == r || !o->id || o->action != action || (earlier && o->id >= r->id))
				continue;
			if (ep_covers(o->src, r->src) && ep_covers(o->dst, r->dst) &&
			    rule_covers_spec(o, ps))
				found = o;
		}
		if (!found)
			return NULL;
		if (!first || found->id < first->id)
			first = found;
	}
	return first;
}

/* Do spec q (NULL: every protocol and port) and piece ps (the same) share a flow? */
static bool spec_meets(const struct xs_portspec *q, const struct xs_portspec *ps)
{
	if (!q || !ps)
		return true;
	return (!q->proto || !ps->proto || q->proto == ps->proto) && q->lo <= ps->hi &&
	       ps->lo <= q->hi;
}

/* The lowest deny whose endpoints cover r's and that shares a flow with a piece of r. */
static uint32_t meeting(const struct xs_policy *p, const struct xs_rule *r)
{
	uint32_t best = 0;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *o = &p->rules[i];
		bool meets = false;

		if (!o->id || o->action != XS_ACT_DENY || !ep_covers(o->src, r->src) ||
		    !ep_covers(o->dst, r->dst) || (best && o->id >= best))
			continue;
		for (size_t k = 0; k < (r->nports ? r->nports : 1) && !meets; k++)
			for (size_t j = 0; j < (o->nports ? o->nports : 1) && !meets; j++)
				meets = spec_meets(o->nports ? &o->ports[j] : NULL,
						   r->nports ? &r->ports[k] : NULL);
		if (meets)
			best = o->id;
	}
	return best;
}

static void reference(const struct xs_policy *p, struct xs_lint_hit *hits)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *r = &p->rules[i], *o;

		memset(&hits[i], 0, sizeof(hits[i]));
		if (!r->id || r->action != XS_ACT_ALLOW)
			continue;
		hits[i].meets = meeting(p, r);
		o = covering(p, r, XS_ACT_DENY, false);
		if (o) {
			hits[i].shadowed_by = o->id;
			continue;
		}
		o = covering(p, r, XS_ACT_ALLOW, true);
		if (o)
			hits[i].repeats = o->id;
	}
}

/* ---- A generator with many overlapping rules in few segment pairs ----------- */

static void rand_item(struct rng *r, FILE *f)
{
	static const char *const protos[] = { "tcp", "udp", "icmp" };
	const char *p = protos[rnd(r, 3)];
	uint32_t lo = rnd(r, 5) == 0 ? 1 + rnd(r, 60000) : 1 + rnd(r, 40), hi = lo;

	if (rnd(r, 6) == 0) {
		fprintf(f, "%s", p);
		return;
	}
	if (rnd(r, 2))
		hi = lo + rnd(r, rnd(r, 4) ? 10 : 5000);
	if (p[0] == 'i' && hi > 255)
		lo = lo % 200, hi = lo + rnd(r, 50);
	if (hi > 65535)
		hi = 65535;
	if (lo == hi)
		fprintf(f, "%s/%u", p, lo);
	else
		fprintf(f, "%s/%u-%u", p, lo, hi);
}

static char *rand_dense(struct rng *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int nseg = 1 + (int)rnd(r, 3), nrules = 1 + (int)rnd(r, 80);
	static const char *const ends[] = { "any", "world" };

	for (int s = 0; s < nseg; s++)
		fprintf(f, "segment s%d 10.%d.0.0/16\n", s, s);
	for (int i = 0; i < nrules; i++) {
		uint32_t a = rnd(r, (uint32_t)nseg + 2), b = rnd(r, (uint32_t)nseg + 1);
		int n = (int)rnd(r, 5);

		fprintf(f, "%s ", rnd(r, 4) ? "allow" : "deny");
		if (a < (uint32_t)nseg)
			fprintf(f, "s%u", a);
		else
			fprintf(f, "%s", ends[a - (uint32_t)nseg]);
		/* sometimes a list: another segment, or world */
		if (a != (uint32_t)nseg && rnd(r, 4) == 0)
			fprintf(f, ", %s", a == (uint32_t)nseg + 1 ? "s0" : "world");
		fprintf(f, " -> ");
		if (b < (uint32_t)nseg)
			fprintf(f, "s%u", b);
		else
			fprintf(f, "any");
		if (b < (uint32_t)nseg && nseg > 1 && rnd(r, 4) == 0)
			fprintf(f, ", s%u", (b + 1) % (uint32_t)nseg);
		for (int k = 0; k < n; k++) {
			fprintf(f, k ? ", " : " : ");
			rand_item(r, f);
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return text;
}

static size_t met; /* entries met by a deny, not shadowed: the generators make some */

static size_t compare(const char *text, uint64_t seed, int i)
{
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	struct xs_lint_hit *got, *want;
	size_t found = 0;

	xs_diags_init(&d);
	if (compile_text(text, &c, &d)) {
		xs_diags_free(&d);
		return 0; /* e.g. a rule from world to world: no lint */
	}
	got = calloc(c->policy->nrules + 1, sizeof(*got));
	want = calloc(c->policy->nrules + 1, sizeof(*want));
	cr_assert_eq(xs_lint_rules(c->policy, got), 0);
	reference(c->policy, want);
	for (size_t k = 0; k < c->policy->nrules; k++) {
		cr_assert(got[k].shadowed_by == want[k].shadowed_by &&
				  got[k].repeats == want[k].repeats &&
				  got[k].meets == want[k].meets,
			  "seed %llu policy %d rule %zu: shadowed by #%u repeats #%u met by #%u, "
			  "the reference says #%u, #%u and #%u\n%s",
			  (unsigned long long)seed, i, k + 1, got[k].shadowed_by, got[k].repeats,
			  got[k].meets, want[k].shadowed_by, want[k].repeats, want[k].meets, text);
		found += got[k].shadowed_by || got[k].repeats;
		met += got[k].meets && !got[k].shadowed_by;
	}
	free(got);
	free(want);
	xs_compiled_free(c);
	xs_diags_free(&d);
	return found;
}

/* A larger policy: 3,000 rules with overlapping ports in two segment pairs. */
static char *rand_large(struct rng *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fprintf(f, "segment a 10.1.0.0/16\nsegment b 10.2.0.0/16\n");
	for (int i = 0; i < 3000; i++) {
		uint32_t lo = 1 + rnd(r, 2000), n = 1 + rnd(r, 4);

		fprintf(f, "%s %s -> %s :", rnd(r, 8) ? "allow" : "deny", rnd(r, 3) ? "a" : "any",
			rnd(r, 2) ? "b" : "a");
		for (uint32_t k = 0; k < n; k++, lo += rnd(r, 300))
			fprintf(f, "%s tcp/%u-%u", k ? "," : "", lo, lo + rnd(r, 50));
		fprintf(f, "\n");
	}
	fclose(f);
	return text;
}

Test(unit, lint_matches_the_reference_on_a_larger_policy)
{
	struct rng r = { 99 };
	char *text = rand_large(&r);

	cr_expect_gt(compare(text, 99, 0), 300);
	free(text);
}

Test(unit, lint_matches_the_quadratic_reference)
{
	static const uint64_t seeds[] = { 7, 0xfeedface, 20261123 };
	size_t found = 0;

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		struct rng r = { seeds[s] };

		for (int i = 0; i < 600; i++) {
			int nseg;
			char *text = i % 2 ? rand_dense(&r) : rand_policy(&r, &nseg);

			found += compare(text, seeds[s], i);
			free(text);
		}
	}
	/* the generators make every finding often, or this test proves little */
	cr_expect_gt(found, 3000, "only %zu findings", found);
	cr_expect_gt(met, 3000, "only %zu partly shadowed", met);
}

/* ---- A segment's prefix inside another's ------------------------------------- */

Test(unit, nested_prefix_warns_when_nothing_says_it_is_meant)
{
	expect_diags(
		"segment vda 10.10.10.0/24\n"
		"segment bastion 10.10.10.7\n"
		"segment customer 10.200.0.0/16\n"
		"segment customer-dc 10.200.1.0/28\n"
		"segment clients 10.20.0.0/16, fd00:20::/48\n"
		"segment admins 10.20.99.0/24, fd00:20:99::/64 inside clients\n"
		"segment hosts fe80::1:0/112\n"
		"segment vda.gpu 10.10.10.128/25, 10.30.0.0/16\n"
		"allow vda, bastion, customer, customer-dc, clients, admins, hosts, vda.gpu -> "
		"world\n",
		0,
		"main.policy:2:17: warning: 10.10.10.7/32 of segment 'bastion' is inside "
		"10.10.10.0/24 of segment 'vda' (main.policy:1): its addresses are taken out "
		"of 'vda'; if that is intended, end the statement with 'inside vda'\n");
}

/* The outer segment is the one of the nearest prefix holding it. */
Test(unit, nested_prefix_names_the_nearest_segment)
{
	expect_diags("segment c 10.0.0.0/8, fd00::/8\n"
		     "segment b 10.1.0.0/16 inside c\n"
		     "segment a 10.1.2.0/24, fd00:1::/64 inside c\n"
		     "segment a2 10.1.3.0/24 inside b\n"
		     "allow a, a2, b -> c\n",
		     0,
		     "main.policy:3:11: warning: 10.1.2.0/24 of segment 'a' is inside 10.1.0.0/16 "
		     "of segment 'b' (main.policy:2): its addresses are taken out of 'b'; if that "
		     "is intended, end the statement with 'inside b'\n");
}

/* `inside` is checked, and is no use of the outer segment. */
Test(unit, nested_prefix_inside_errors)
{
	expect_diags("segment outer 10.0.0.0/8\n"
		     "segment a 10.1.0.0/16 inside outr\n"
		     "segment b 10.2.0.0/16 inside world\n"
		     "segment c 10.3.0.0/16 inside c\n"
		     "segment d 10.4.0.0/16 inside outer, outer\n"
		     "segment e 192.0.2.0/24, 10.5.0.0/16 inside outer, a\n"
		     "segment f 10.6.0.0/16 inside\n"
		     "segment g inside outer\n"
		     "segment h 10.8.0.0/16 inside outer a\n"
		     "segment i 10.9.0.0/16 inside outer,\n"
		     "allow a, b, c, d, e, f, h, i -> world\n",
		     -EINVAL,
		     "main.policy:2:30: error: unknown segment 'outr'; did you mean 'outer'?\n"
		     "main.policy:3:30: error: 'world' has no prefixes: a segment cannot be inside "
		     "it\n"
		     "main.policy:4:30: error: segment 'c' cannot be inside itself\n"
		     "main.policy:5:37: error: 'outer' is listed twice\n"
		     "main.policy:6:51: error: segment 'e' is declared inside 'a', but none of its "
		     "prefixes is in 'a'\n"
		     "main.policy:7:29: error: expected: segment NAME PREFIX[, PREFIX...] [inside "
		     "SEGMENT[, SEGMENT...]]\n"
		     "main.policy:8:10: error: expected an address or prefix after 'g'\n"
		     "main.policy:9:36: error: expected: segment NAME PREFIX[, PREFIX...] [inside "
		     "SEGMENT[, SEGMENT...]]\n"
		     "main.policy:10:36: error: expected: segment NAME PREFIX[, PREFIX...] [inside "
		     "SEGMENT[, SEGMENT...]]\n");
	expect_diags("segment outer 10.0.0.0/8\n"
		     "segment a 10.1.0.0/16 inside outer\n"
		     "allow a -> world\n",
		     0, "main.policy:1:9: warning: segment 'outer' is never used\n");
}

/* Across files: the outer prefix is named by its file and line. */
Test(unit, nested_prefix_across_files)
{
	struct memfile files[] = {
		{ "main.policy",
		  "include \"net.policy\"\n"
		  "segment db 10.1.2.3\n"
		  "allow db -> dmz\n",
		  0 },
		{ "net.policy", "# the address plan\nsegment dmz 10.1.0.0/16\n", 0 },
	};
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	char *s;

	xs_diags_init(&d);
	cr_assert_eq(compile_files(files, 2, &c, &d), 0);
	s = diags_str(&d);
	cr_expect_str_eq(s, "main.policy:2:12: warning: 10.1.2.3/32 of segment 'db' is inside "
			    "10.1.0.0/16 of segment 'dmz' (net.policy:2): its addresses are taken "
			    "out of 'dmz'; if that is intended, end the statement with 'inside "
			    "dmz'\n");
	cr_expect_str_eq(d.v[0].hint, "if that is intended, end the statement with 'inside dmz'");
	free(s);
	xs_diags_free(&d);
	xs_compiled_free(c);
}

/* One warning per segment and outer segment, at its first prefix there. */
Test(unit, nested_prefix_one_warning_per_pair)
{
	expect_diags("segment lan 10.1.0.0/16, fd00:1::/64\n"
		     "segment dmz 10.2.0.0/16\n"
		     "segment hosts 10.2.0.9, 10.1.0.7, fd00:1::7, 10.1.0.8, 192.0.2.1\n"
		     "allow hosts -> lan, dmz\n",
		     0,
		     "main.policy:3:15: warning: 10.2.0.9/32 of segment 'hosts' is inside "
		     "10.2.0.0/16 of segment 'dmz' (main.policy:2): its addresses are taken out of "
		     "'dmz'; if that is intended, end the statement with 'inside dmz'\n"
		     "main.policy:3:25: warning: 10.1.0.7/32 of segment 'hosts' (and 2 more of its "
		     "prefixes) is inside 10.1.0.0/16 of segment 'lan' (main.policy:1): its "
		     "addresses are taken out of 'lan'; if that is intended, end the statement "
		     "with 'inside lan'\n");
}

/* ---- A rule partly shadowed by a deny ---------------------------------------- */

Test(unit, partly_shadowed_allows)
{
	expect_diags("segment a 10.1.0.0/16\n"
		     "segment b 10.2.0.0/16\n"
		     "segment c 10.3.0.0/16\n"
		     "deny a -> b : tcp/8080\n"
		     "allow a -> b : tcp/1024-65535\n"
		     "allow a -> b : udp/53, tcp/8000-8100\n"
		     "deny any -> c : tcp/22-25\n"
		     "allow a, b -> c : tcp/20-23\n"
		     "allow b -> c : tcp/80\n"
		     "deny b -> a\n"
		     "allow a, b -> a : tcp/443\n"
		     "allow any -> b : tcp/8080\n"
		     "allow a -> b\n"
		     "allow c -> a : icmp\n"
		     "deny c -> a : icmp/8\n",
		     0,
		     "main.policy:5:1: warning: this allow is partly shadowed by the deny at "
		     "main.policy:4, which drops tcp/8080\n"
		     "main.policy:6:1: warning: this allow is partly shadowed by the deny at "
		     "main.policy:4, which drops tcp/8080\n"
		     "main.policy:8:1: warning: this allow is partly shadowed by the deny at "
		     "main.policy:7, which drops tcp/22-23 from 'a' to 'c'\n"
		     "main.policy:11:1: warning: this allow is partly shadowed by the deny at "
		     "main.policy:10, which drops tcp/443 from 'b' to 'a'\n"
		     "main.policy:13:1: warning: this allow is partly shadowed by the deny at "
		     "main.policy:4, which drops tcp/8080\n"
		     "main.policy:14:1: warning: this allow is partly shadowed by the deny at "
		     "main.policy:15, which drops icmp/8\n");
}

/* Fully shadowed and repeated allows say so, not "partly"; an allow no deny
 * meets says nothing. */
Test(unit, partly_shadowed_is_the_last_finding)
{
	expect_diags("segment a 10.1.0.0/16\n"
		     "segment b 10.2.0.0/16\n"
		     "deny a -> b : tcp/1-1023, udp\n"
		     "allow a -> b : tcp/22, udp/53\n"
		     "allow a -> b : tcp/1000-2000\n"
		     "allow a -> b : tcp/1500\n"
		     "allow b -> a : tcp/22\n",
		     0,
		     "main.policy:4:1: warning: this allow is fully shadowed by the deny at "
		     "main.policy:3\n"
		     "main.policy:5:1: warning: this allow is partly shadowed by the deny at "
		     "main.policy:3, which drops tcp/1000-1023\n"
		     "main.policy:6:1: warning: this allow repeats the allow at main.policy:5\n");
}

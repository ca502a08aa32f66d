// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Differential property test: random policies and random flows; a
 * longest-prefix lookup over the COMPILED entries must decide exactly as the
 * reference evaluator does from the source form. Fixed seeds.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "randpol.h"

static void run_seed(uint64_t seed, int npolicies, int nflows)
{
	struct rng r = { seed };
	static const uint8_t protos[] = { 6, 17, 1, 58, 47 };

	for (int p = 0; p < npolicies; p++) {
		struct xs_compiled *c = NULL;
		struct xs_diags d;
		int nseg;
		char *text = rand_policy(&r, &nseg);

		xs_diags_init(&d);
		if (compile_text(text, &c, &d)) {
			char *s = diags_str(&d);

			cr_assert_fail("seed %llu policy %d did not compile:\n%s\n%s",
				       (unsigned long long)seed, p, text, s);
		}
		for (int i = 0; i < nflows; i++) {
			struct xs_flow f = { 0 };
			struct xs_decision a, b;

			f.family = rnd(&r, 4) ? 4 : 6;
			f.proto = protos[rnd(&r, 5)];
			f.dport = (uint16_t)(rnd(&r, 2) ? rnd(&r, 64) : rnd(&r, 65536));
			if (f.proto == 1 || f.proto == 58)
				f.dport = (uint16_t)rnd(&r, 256);
			rand_addr(&r, nseg, f.family, f.saddr);
			rand_addr(&r, nseg, f.family, f.daddr);
			xs_policy_evaluate(c->policy, &f, &a);
			compiled_decide(c, &f, &b);
			if (memcmp(&a, &b, sizeof(a)) == 0)
				continue;
			cr_assert_fail("seed %llu policy %d flow proto %u port %u segs %u->%u:\n"
				       "reference %u/%u/#%u, compiled %u/%u/#%u (segs %u->%u)\n%s",
				       (unsigned long long)seed, p, f.proto, f.dport, a.src_seg,
				       a.dst_seg, a.verdict, a.reason, a.rule_id, b.verdict,
				       b.reason, b.rule_id, b.src_seg, b.dst_seg, text);
		}
		xs_diags_free(&d);
		xs_compiled_free(c);
		free(text);
	}
}

/* The first and the last address of each compiled bind entry of the policy,
 * and of each segment prefix: both sides of every boundary the entries draw. */
static size_t check_bind_edges(const struct xs_compiled *c, uint64_t seed, int p, const char *text)
{
	const struct xs_policy *pol = c->policy;
	size_t allowed = 0;

	for (size_t i = 0; i < pol->nsegments; i++) {
		const struct xs_segment *s = &pol->segments[i];

		for (size_t j = 0; j < s->nprefixes; j++) {
			const struct xs_prefix *px = &s->prefixes[j];
			uint8_t lo[16], hi[16];
			int bits = px->family == 4 ? 32 : 128;

			memcpy(lo, px->addr, 16);
			memcpy(hi, px->addr, 16);
			for (int b = px->len; b < bits; b++)
				hi[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			for (size_t k = 0; k < pol->nbindings; k++) {
				const struct xs_binding *bd = &pol->bindings[k];
				bool a = xs_policy_bind_allows(pol, bd, px->family, lo);

				cr_assert_eq(a, compiled_bind_allows(c, bd->id, px->family, lo),
					     "seed %llu policy %d bind %u, first of %zu/%zu:\n%s",
					     (unsigned long long)seed, p, bd->id, i, j, text);
				cr_assert_eq(xs_policy_bind_allows(pol, bd, px->family, hi),
					     compiled_bind_allows(c, bd->id, px->family, hi),
					     "seed %llu policy %d bind %u, last of %zu/%zu:\n%s",
					     (unsigned long long)seed, p, bd->id, i, j, text);
				allowed += a;
			}
		}
	}
	for (size_t k = 0; k < pol->nbindings; k++) {
		const struct xs_binding *bd = &pol->bindings[k];

		for (size_t j = 0; j < bd->nprefixes; j++) {
			const struct xs_prefix *px = &bd->prefixes[j];

			cr_assert(xs_policy_bind_allows(pol, bd, px->family, px->addr));
			cr_assert(compiled_bind_allows(c, bd->id, px->family, px->addr),
				  "seed %llu policy %d bind %u address %zu:\n%s",
				  (unsigned long long)seed, p, bd->id, j, text);
			allowed++;
		}
	}
	return allowed;
}

/* A bound port's segment, or 0: a declared one (s0.., imds) or none. */
static uint16_t rand_port_seg(struct rng *r, const struct xs_policy *p)
{
	return rnd(r, 2) ? 0 : (uint16_t)(1 + rnd(r, p->linklocal_seg - 1));
}

/*
 * With link-local: policies with its rules, defaults, modes and binds;
 * flows from and to link-local addresses, some behind bound ports. The
 * compiled tables decide as the reference evaluator, and every bind's
 * compiled entries allow exactly the sources xs_policy_bind_allows() does.
 */
static void run_seed_ll(uint64_t seed, int npolicies, int nflows)
{
	struct rng r = { seed };
	static const uint8_t protos[] = { 6, 17, 1, 58, 47 };
	size_t nbinds = 0, ported = 0, allowed = 0;

	for (int p = 0; p < npolicies; p++) {
		struct xs_compiled *c = NULL;
		struct xs_diags d;
		int nseg;
		char *text = rand_policy_ll(&r, &nseg);

		xs_diags_init(&d);
		if (compile_text(text, &c, &d)) {
			char *s = diags_str(&d);

			cr_assert_fail("seed %llu policy %d did not compile:\n%s\n%s",
				       (unsigned long long)seed, p, text, s);
		}
		nbinds += c->policy->nbindings;
		allowed += check_bind_edges(c, seed, p, text);
		for (int i = 0; i < nflows; i++) {
			struct xs_flow f = { 0 };
			struct xs_decision a, b;

			f.family = rnd(&r, 2) ? 4 : 6;
			f.proto = protos[rnd(&r, 5)];
			f.dport = (uint16_t)(rnd(&r, 2) ? rnd(&r, 64) : rnd(&r, 65536));
			if (f.proto == 1 || f.proto == 58)
				f.dport = (uint16_t)rnd(&r, 256);
			rand_addr_ll(&r, nseg, f.family, f.saddr);
			rand_addr_ll(&r, nseg, f.family, f.daddr);
			f.src_port_seg = rand_port_seg(&r, c->policy);
			f.dst_port_seg = rand_port_seg(&r, c->policy);
			xs_policy_evaluate(c->policy, &f, &a);
			compiled_decide(c, &f, &b);
			ported += a.src_seg == f.src_port_seg && f.src_port_seg;
			cr_assert(!memcmp(&a, &b, sizeof(a)),
				  "seed %llu policy %d flow proto %u port %u port segs %u/%u:\n"
				  "reference %u/%u/#%u (segs %u->%u), compiled %u/%u/#%u (segs "
				  "%u->%u)\n%s",
				  (unsigned long long)seed, p, f.proto, f.dport, f.src_port_seg,
				  f.dst_port_seg, a.verdict, a.reason, a.rule_id, a.src_seg,
				  a.dst_seg, b.verdict, b.reason, b.rule_id, b.src_seg, b.dst_seg,
				  text);
			for (size_t k = 0; k < c->policy->nbindings; k++) {
				const struct xs_binding *bd = &c->policy->bindings[k];

				cr_assert_eq(
					xs_policy_bind_allows(c->policy, bd, f.family, f.saddr),
					compiled_bind_allows(c, bd->id, f.family, f.saddr),
					"seed %llu policy %d bind %u:\n%s",
					(unsigned long long)seed, p, bd->id, text);
			}
		}
		xs_diags_free(&d);
		xs_compiled_free(c);
		free(text);
	}
	/* the generator exercised what it is for */
	cr_expect_gt(nbinds, (size_t)npolicies / 2);
	cr_expect_gt(ported, (size_t)npolicies);
	cr_expect_gt(allowed, (size_t)npolicies);
}

Test(unit, differential_linklocal_and_binds)
{
	run_seed_ll(11, 300, 200);
	run_seed_ll(0x5eedf00d, 300, 200);
}

Test(unit, differential_seed_1)
{
	run_seed(1, 300, 200);
}

Test(unit, differential_seed_2)
{
	run_seed(0xdecafbad, 300, 200);
}

Test(unit, differential_seed_3)
{
	run_seed(20261123, 300, 200);
}

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

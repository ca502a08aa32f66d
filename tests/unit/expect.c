// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "expect.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

struct xs_compiled *must_compile(const char *text)
{
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	int err;

	xs_diags_init(&d);
	err = compile_text(text, &c, &d);
	if (err) {
		char *s = diags_str(&d);

		cr_assert_fail("compile failed (%d):\n%s", err, s);
	}
	xs_diags_free(&d);
	return c;
}

void expect_diags(const char *text, int rc, const char *want)
{
	struct memfile f = { "main.policy", text, 0 };
	struct memfs fs = { &f, 1 };
	int got;
	char *s = compile_diags(f.name, mem_resolve, &fs, &got);

	cr_expect_eq(got, rc, "rc %d, expected %d; diagnostics:\n%s", got, rc, s);
	cr_expect_str_eq(s, want);
	free(s);
}

struct xs_decision decide(const struct xs_compiled *c, struct xs_flow f)
{
	struct xs_decision a, b;

	xs_policy_evaluate(c->policy, &f, &a);
	compiled_decide(c, &f, &b);
	cr_expect(!memcmp(&a, &b, sizeof(a)),
		  "reference %u/%u/#%u (segs %u->%u), compiled %u/%u/#%u (segs %u->%u)", a.verdict,
		  a.reason, a.rule_id, a.src_seg, a.dst_seg, b.verdict, b.reason, b.rule_id,
		  b.src_seg, b.dst_seg);
	return a;
}

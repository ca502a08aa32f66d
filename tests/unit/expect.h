/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Criterion expectations shared by the unit tests (not in the fuzzer). */
#ifndef XS_TEST_EXPECT_H
#define XS_TEST_EXPECT_H

#include "helpers.h"

/* Compile `text` as main.policy; the test fails (with the diagnostics) if it does not. */
struct xs_compiled *must_compile(const char *text);

/* Compile `text` as main.policy: the result must be rc, the diagnostics `want`
 * (as diags_str() writes them). */
void expect_diags(const char *text, int rc, const char *want);

/* Decide f with the reference evaluator and with the compiled tables, which
 * must agree; the reference's decision. */
struct xs_decision decide(const struct xs_compiled *c, struct xs_flow f);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A rule's identity across applies (user/policy/identity.c): the normalised
 * text (tokens one space apart, a comma right after its item) is the same
 * however the statement was spaced or commented, and different when a token
 * differs; IPv6 addresses and globs stay whole outside allow/deny; a
 * generated text is its own normal form; a text too long for its record
 * keeps its head and a hash of the whole, so rules that differ past the cut
 * differ; and the origins of a compiled policy normalise as documented.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "policy.h"

static char *norm(enum xs_origin_kind kind, const char *text)
{
	char *s = xs_origin_normalise(kind, text);

	cr_assert_not_null(s);
	return s;
}

static void expect_norm(enum xs_origin_kind kind, const char *text, const char *want)
{
	char *s = norm(kind, text);

	cr_assert_str_eq(s, want, "'%s' -> '%s', expected '%s'", text, s, want);
	free(s);
}

Test(identity, spacing_is_no_difference)
{
	const char *want = "allow a, b -> c, d : tcp/80, web";

	expect_norm(XS_ORIGIN_RULE, "allow a, b -> c, d : tcp/80, web", want);
	expect_norm(XS_ORIGIN_RULE, "allow a,b->c,d:tcp/80,web", want);
	expect_norm(XS_ORIGIN_RULE, "allow  a ,b  ->c ,  d:  tcp/80 ,web ", want);
	expect_norm(XS_ORIGIN_RULE, "\tallow a,\tb -> c, d : tcp/80, web", want);
	expect_norm(XS_ORIGIN_RULE, "deny vda -> vda", "deny vda -> vda");
	expect_norm(XS_ORIGIN_RULE, "deny vda->vda", "deny vda -> vda");
	expect_norm(XS_ORIGIN_DEFAULT, "default  vda in deny   out allow",
		    "default vda in deny out allow");
}

Test(identity, tokens_are_a_difference)
{
	char *a = norm(XS_ORIGIN_RULE, "allow a -> b : tcp/80");
	char *b = norm(XS_ORIGIN_RULE, "allow a -> b : tcp/8080");
	char *c = norm(XS_ORIGIN_RULE, "allow ab -> c : tcp/80");
	char *d = norm(XS_ORIGIN_RULE, "allow a, b -> c : tcp/80");

	cr_assert_str_neq(a, b);
	cr_assert_str_neq(c, d, "a list of two is not one name");
	free(a);
	free(b);
	free(c);
	free(d);
}

Test(identity, words_of_other_statements)
{
	/* ':' inside IPv6 addresses, globs in a bind's pattern */
	expect_norm(XS_ORIGIN_BIND, "bind vda vnet*  fd00:10::5,10.0.0.5",
		    "bind vda vnet* fd00:10::5, 10.0.0.5");
	expect_norm(XS_ORIGIN_FAILSAFE, "failsafe = 192.0.2.10 : tcp/22",
		    "failsafe = 192.0.2.10 : tcp/22");
	expect_norm(XS_ORIGIN_GRANT, "grant bastion -> fd00::7 : rdp",
		    "grant bastion -> fd00::7 : rdp");
	/* a policy's forensic declaration reads ':' as the parser does */
	expect_norm(XS_ORIGIN_FORENSIC, "quarantine forensic bastion:ssh,rdp",
		    "quarantine forensic bastion : ssh, rdp");
	/* a string stays as written, blanks inside it too */
	expect_norm(XS_ORIGIN_QUARANTINE, "quarantine vda --reason \"ticket  4711\"",
		    "quarantine vda --reason \"ticket  4711\"");
}

Test(identity, generated_texts_are_their_own_form)
{
	const char *t = "segment vda (implicit default in deny out allow)";

	expect_norm(XS_ORIGIN_IMPLICIT, t, t);
	expect_norm(XS_ORIGIN_IMPLICIT, "world (implicit default in allow out allow)",
		    "world (implicit default in allow out allow)");
	/* an unterminated string: as it is */
	expect_norm(XS_ORIGIN_RULE, "allow a -> \"b", "allow a -> \"b");
	expect_norm(XS_ORIGIN_RULE, "", "");
}

/* A rule of `n` ports from 1000 on, the last one `last`. */
static char *long_rule(int n, int last, const char *sep)
{
	size_t cap = 64 + (size_t)n * 16, o;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	o = (size_t)snprintf(s, cap, "allow clients -> vda :");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s tcp/%d", i ? sep : "",
				      i == n - 1 ? last : 1000 + i);
	return s;
}

Test(identity, long_texts_keep_their_identity)
{
	char *a = long_rule(30, 2000, ","), *b = long_rule(30, 2001, ","),
	     *a2 = long_rule(30, 2000, " ,");
	char ta[XS_ORIGIN_TEXT_LEN], tb[XS_ORIGIN_TEXT_LEN], ta2[XS_ORIGIN_TEXT_LEN];
	size_t n;

	cr_assert_eq(xs_origin_text(XS_ORIGIN_RULE, a, ta), 0);
	cr_assert_eq(xs_origin_text(XS_ORIGIN_RULE, b, tb), 0);
	cr_assert_eq(xs_origin_text(XS_ORIGIN_RULE, a2, ta2), 0);
	n = strlen(ta);
	cr_assert_lt(n, XS_ORIGIN_TEXT_LEN);
	cr_assert_eq(strncmp(ta, "allow clients -> vda : tcp/1000, tcp/1001, ", 43), 0, "%s", ta);
	cr_assert_eq(strncmp(ta + n - 22, " ... #", 6), 0, "'%s' ends in ' ... #' + 16 hex", ta);
	for (size_t i = n - 16; i < n; i++)
		cr_assert(strchr("0123456789abcdef", ta[i]), "%s", ta);
	cr_assert_str_neq(ta, tb, "a change past the cut is a change");
	cr_assert_str_eq(ta, ta2, "spacing is not");
	free(a);
	free(b);
	free(a2);
}

Test(identity, short_texts_fit_whole)
{
	char t[XS_ORIGIN_TEXT_LEN];

	cr_assert_eq(xs_origin_text(XS_ORIGIN_RULE, "allow a->b:tcp/80", t), 0);
	cr_assert_str_eq(t, "allow a -> b : tcp/80");
	cr_assert_eq(xs_origin_text(XS_ORIGIN_RULE, NULL, t), 0);
	cr_assert_str_eq(t, "");
}

Test(identity, compiled_origins)
{
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	const struct xs_policy *p;
	bool seen = false;

	xs_diags_init(&d);
	cr_assert_eq(compile_text("segment a 10.1.0.0/16\n"
				  "segment b 10.2.0.0/16\n"
				  "allow a->b:tcp/80   # web\n"
				  "default b in deny\n",
				  &c, &d),
		     0);
	xs_diags_free(&d);
	p = c->policy;

	for (size_t i = 0; i < p->norigins; i++) {
		char t[XS_ORIGIN_TEXT_LEN];

		if (p->origins[i].kind != XS_ORIGIN_RULE)
			continue;
		cr_assert_eq(xs_origin_text(p->origins[i].kind, p->origins[i].text, t), 0);
		cr_assert_str_eq(t, "allow a -> b : tcp/80", "the comment and spacing go");
		seen = true;
	}
	cr_assert(seen);
	xs_compiled_free(c);
}

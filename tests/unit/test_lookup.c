// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/policy/lookup.c: flows decided from the compiled tables (what
 * `verify`, `diff` and `apply --dry-run` answer with) decide exactly as the
 * reference evaluator decides from the source form, over random policies
 * and flows (link-local, bound ports); tables shuffled as a map dump returns
 * them and put back in order by xs_compiled_sort() hash and decide as
 * compiled; the matched prefix; entries the datapath decides by flags
 * (quarantine, forensic, grants before and after their end, failsafe).
 */
#include <arpa/inet.h>
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

static void shuffle(struct rng *r, void *v, size_t n, size_t sz)
{
	char tmp[64], *b = v;

	cr_assert(sz <= sizeof(tmp));
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd(r, (uint32_t)i);

		memcpy(tmp, b + (i - 1) * sz, sz);
		memcpy(b + (i - 1) * sz, b + j * sz, sz);
		memcpy(b + j * sz, tmp, sz);
	}
}

/* As a map dump hands them back: any order. */
static void shuffle_tables(struct rng *r, struct xs_compiled *c)
{
	shuffle(r, c->v4, c->nv4, sizeof(*c->v4));
	shuffle(r, c->v6, c->nv6, sizeof(*c->v6));
	shuffle(r, c->rules, c->nrules, sizeof(*c->rules));
	shuffle(r, c->bind4, c->nbind4, sizeof(*c->bind4));
	shuffle(r, c->bind6, c->nbind6, sizeof(*c->bind6));
}

static uint16_t rand_port_seg(struct rng *r, const struct xs_policy *p)
{
	return rnd(r, 2) ? 0 : (uint16_t)(1 + rnd(r, p->linklocal_seg - 1));
}

static void run_seed(uint64_t seed, int npolicies, int nflows, bool ll)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 47 };
	struct rng r = { seed };
	size_t decided = 0, by_port = 0, by_rule = 0;

	for (int p = 0; p < npolicies; p++) {
		int nseg;
		char *text = ll ? rand_policy_ll(&r, &nseg) : rand_policy(&r, &nseg);
		struct xs_compiled *c = compile_ok(text);
		struct xs_tables t;
		uint8_t hash[32];

		/* read back from maps: any order; sorted, the compiler's tables */
		shuffle_tables(&r, c);
		xs_compiled_sort(c);
		cr_assert_eq(xs_compiled_rehash(c, hash), 0);
		cr_assert(!memcmp(hash, c->hash, 32),
			  "seed %llu policy %d: sorted, another hash\n%s", (unsigned long long)seed,
			  p, text);
		xs_tables_init(&t, c);
		for (int i = 0; i < nflows; i++) {
			struct xs_flow f = { 0 };
			struct xs_decision a;
			struct xs_lookup b;

			f.family = rnd(&r, 2) ? 4 : 6;
			f.proto = protos[rnd(&r, 5)];
			f.dport = (uint16_t)(rnd(&r, 2) ? rnd(&r, 64) : rnd(&r, 65536));
			if (f.proto == 1 || f.proto == 58)
				f.dport = (uint16_t)rnd(&r, 256);
			if (ll) {
				rand_addr_ll(&r, nseg, f.family, f.saddr);
				rand_addr_ll(&r, nseg, f.family, f.daddr);
				f.src_port_seg = rand_port_seg(&r, c->policy);
				f.dst_port_seg = rand_port_seg(&r, c->policy);
			} else {
				rand_addr(&r, nseg, f.family, f.saddr);
				rand_addr(&r, nseg, f.family, f.daddr);
			}
			xs_policy_evaluate(c->policy, &f, &a);
			xs_tables_decide(&t, &f, 0, &b);
			cr_assert(!memcmp(&a, &b.d, sizeof(a)),
				  "seed %llu policy %d flow proto %u port %u port segs %u/%u:\n"
				  "reference %u/%u/#%u (segs %u->%u), lookup %u/%u/#%u (segs "
				  "%u->%u)\n%s",
				  (unsigned long long)seed, p, f.proto, f.dport, f.src_port_seg,
				  f.dst_port_seg, a.verdict, a.reason, a.rule_id, a.src_seg,
				  a.dst_seg, b.d.verdict, b.d.reason, b.d.rule_id, b.d.src_seg,
				  b.d.dst_seg, text);
			/* the segment the trie found, before the port's */
			cr_assert_eq(b.src.seg, xs_policy_segment_of(c->policy, f.family, f.saddr));
			cr_assert_eq(b.src_by_port, b.d.src_seg != b.src.seg);
			cr_assert_eq(b.entry != NULL, b.d.reason == XS_REASON_RULE ||
							      b.d.reason == XS_REASON_DENY_RULE);
			for (size_t k = 0; k < c->policy->nbindings; k++) {
				const struct xs_binding *bd = &c->policy->bindings[k];

				cr_assert_eq(
					xs_tables_bind_allows(&t, bd->id, f.family, f.saddr),
					xs_policy_bind_allows(c->policy, bd, f.family, f.saddr),
					"seed %llu policy %d bind %u:\n%s",
					(unsigned long long)seed, p, bd->id, text);
			}
			decided++;
			by_port += b.src_by_port || b.dst_by_port;
			by_rule += b.entry != NULL;
		}
		xs_compiled_free(c);
		free(text);
	}
	cr_expect_gt(by_rule, decided / 10);
	if (ll)
		cr_expect_gt(by_port, (size_t)npolicies);
}

Test(lookup, differential_against_the_reference)
{
	run_seed(7, 300, 300, false);
	run_seed(0xfeedface, 300, 300, false);
}

Test(lookup, differential_linklocal_and_bound_ports)
{
	run_seed(8, 300, 300, true);
	run_seed(0xabad1dea, 300, 300, true);
}

static void addr(uint8_t family, const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	cr_assert_eq(inet_pton(family == 4 ? AF_INET : AF_INET6, s, out), 1, "%s", s);
}

/* segments clients 1, vda 2, vda1 3; the deny at line 5 */
static const char small[] = "segment clients 10.20.0.0/16\n"
			    "segment vda 10.10.10.0/24, fd00:10::/32\n"
			    "segment vda1 10.10.10.11/32\n"
			    "allow clients -> vda : tcp/1494, udp/1000-2000\n"
			    "deny clients -> vda : udp/1500\n"
			    "default vda in deny out allow\n";

Test(lookup, matched_prefix_and_rule)
{
	struct xs_compiled *c = compile_ok(small);
	struct xs_flow f = { .family = 4, .proto = 17, .dport = 1500 };
	struct xs_seg_match m;
	struct xs_tables t;
	struct xs_lookup r;
	uint8_t want[16];

	xs_tables_init(&t, c);
	addr(4, "10.10.10.11", f.daddr);
	xs_tables_segment(&t, 4, f.daddr, &m);
	cr_assert_eq(m.len, 32);
	cr_assert_str_eq(xs_compiled_segment_name(c, m.seg), "vda1");
	addr(4, "10.10.10.12", f.daddr);
	addr(4, "10.20.3.4", f.saddr);
	xs_tables_segment(&t, 4, f.daddr, &m);
	cr_assert_eq(m.len, 24);
	addr(4, "10.10.10.0", want);
	cr_assert(!memcmp(m.prefix, want, 16));
	cr_assert_str_eq(xs_compiled_segment_name(c, m.seg), "vda");

	xs_tables_decide(&t, &f, 0, &r);
	cr_assert_eq(r.d.verdict, XS_VERDICT_DROP);
	cr_assert_eq(r.d.reason, XS_REASON_DENY_RULE);
	cr_assert_not_null(r.entry);
	cr_assert_eq(r.entry->key.prefixlen, XS_RULE_PLEN_PORT(16));
	cr_assert_str_eq(xs_compiled_origin(c, r.d.rule_id)->text,
			 "deny clients -> vda : udp/1500");
	cr_assert_eq(xs_compiled_origin(c, r.d.rule_id)->line, 5);

	f.dport = 1600; /* in a block of the range: a shorter prefix */
	xs_tables_decide(&t, &f, 0, &r);
	cr_assert_eq(r.d.verdict, XS_VERDICT_ALLOW);
	cr_assert_lt(r.entry->key.prefixlen, XS_RULE_PLEN_PORT(16));
	cr_assert_eq(xs_compiled_origin(c, r.d.rule_id)->line, 4);

	f.dport = 2001; /* no rule: vda's in deny */
	xs_tables_decide(&t, &f, 0, &r);
	cr_assert_eq(r.d.reason, XS_REASON_DEFAULT_IN);
	cr_assert_null(r.entry);
	cr_assert_eq(xs_compiled_origin(c, r.d.rule_id)->kind, XS_ORIGIN_DEFAULT);

	/* world: no prefix */
	addr(4, "192.0.2.1", f.saddr);
	xs_tables_segment(&t, 4, f.saddr, &m);
	cr_assert_eq(m.len, -1);
	cr_assert_eq(m.seg, XS_SEG_WORLD);
	cr_assert_str_eq(xs_compiled_segment_name(c, 0), "world");
	cr_assert_null(xs_compiled_segment_name(c, 999));
	cr_assert_null(xs_compiled_origin(c, 0));
	cr_assert_null(xs_compiled_origin(c, 99999));
	xs_compiled_free(c);
}

/* The entry at (src, dst, proto, port) of c, made single-port if missing. */
static struct xs_rule_entry *entry_at(struct xs_compiled *c, uint16_t s, uint16_t d, uint8_t proto,
				      uint16_t port)
{
	struct xs_tables t;
	const struct xs_rule_entry *e;

	xs_tables_init(&t, c);
	e = xs_tables_rule(&t, s, d, proto, port);
	cr_assert_not_null(e);
	return (struct xs_rule_entry *)e;
}

/* Entries flagged as the overlay compiler flags them decide through
 * xs_decide_entry(), the datapath's code: the lookup hands it the entry
 * and the segment infos, and the clock. */
Test(lookup, flags_decide_as_the_datapath)
{
	struct xs_compiled *c = compile_ok(small);
	struct xs_flow f = { .family = 4, .proto = 6, .dport = 1494 };
	struct xs_rule_entry *e;
	struct xs_tables t;
	struct xs_lookup r;

	addr(4, "10.20.3.4", f.saddr);
	addr(4, "10.10.10.12", f.daddr);
	xs_tables_init(&t, c);

	/* a grant: allows until its end, then what it covers */
	e = entry_at(c, 1, 2, 6, 1494);
	e->val.flags = XS_RULEF_GRANT;
	e->val.fb_action = XS_ACT_DENY;
	e->val.fb_rule_id = 5;
	e->val.expires = 1000;
	xs_tables_decide(&t, &f, 999, &r);
	cr_assert_eq(r.d.reason, XS_REASON_GRANT);
	cr_assert_eq(r.d.deadline, 1000);
	xs_tables_decide(&t, &f, 1000, &r);
	cr_assert_eq(r.d.verdict, XS_VERDICT_DROP);
	cr_assert_eq(r.d.reason, XS_REASON_DENY_RULE);
	cr_assert_eq(r.d.rule_id, 5);

	/* failsafe */
	e->val.flags = XS_RULEF_FAILSAFE;
	e->val.action = XS_ACT_ALLOW;
	xs_tables_decide(&t, &f, 0, &r);
	cr_assert_eq(r.d.reason, XS_REASON_FAILSAFE);

	/* a quarantined destination: the allow does not pass, a forensic one does */
	c->seginfo[2].flags = XS_SEGF_QUARANTINE;
	c->seginfo[2].quar_rule_id = 6;
	c->seginfo[2].monitor = 1;
	e->val.flags = 0;
	xs_tables_decide(&t, &f, 0, &r);
	cr_assert_eq(r.d.verdict, XS_VERDICT_DROP, "monitor mode does not soften it");
	cr_assert_eq(r.d.reason, XS_REASON_QUARANTINE);
	cr_assert_eq(r.d.rule_id, 6);
	e->val.flags = XS_RULEF_FORENSIC;
	xs_tables_decide(&t, &f, 0, &r);
	cr_assert_eq(r.d.verdict, XS_VERDICT_ALLOW);
	cr_assert_eq(r.d.reason, XS_REASON_FORENSIC);

	/* monitor mode: a drop passes as an audit */
	c->seginfo[2].flags = 0;
	f.dport = 22;
	xs_tables_decide(&t, &f, 0, &r);
	cr_assert_eq(r.d.verdict, XS_VERDICT_AUDIT);
	cr_assert_eq(r.d.reason, XS_REASON_DEFAULT_IN);
	xs_compiled_free(c);
}

/* An id past the policy's segments reads as the datapath's zeroed slot. */
Test(lookup, bind_for_first_match)
{
	struct xs_compiled *c = compile_ok("segment a 10.1.0.0/16\n"
					   "segment b 10.2.0.0/16\n"
					   "bind a vm1-*\n"
					   "bind b vm*\n");

	cr_assert_eq(xs_tables_bind_for(c, "vm1-eth0"), 1);
	cr_assert_eq(xs_tables_bind_for(c, "vm2"), 2);
	cr_assert_eq(xs_tables_bind_for(c, "eth0"), 0);
	xs_compiled_free(c);
}

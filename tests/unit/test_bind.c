// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * No address escapes its segment (issue 6, class 3), the policy half: the
 * built-in segment `link-local` and `bind` statements (bound ports).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "internal.h"

static void addr_of(const char *a, uint8_t *family, uint8_t *out)
{
	memset(out, 0, 16);
	*family = strchr(a, ':') ? 6 : 4;
	cr_assert_eq(inet_pton(*family == 4 ? AF_INET : AF_INET6, a, out), 1, "%s", a);
}

static struct xs_flow flow(const char *src, const char *dst, uint8_t proto, uint16_t port)
{
	struct xs_flow f = { .proto = proto, .dport = port };

	addr_of(src, &f.family, f.saddr);
	addr_of(dst, &f.family, f.daddr);
	return f;
}

static uint16_t seg_of(const struct xs_compiled *c, const char *a)
{
	uint8_t family, addr[16];

	addr_of(a, &family, addr);
	return xs_policy_segment_of(c->policy, family, addr);
}

/* ---- The built-in segment link-local -------------------------------------------- */

static const char *const lab = "segment vda 10.1.0.0/16, fd00:1::/64\n"
			       "segment admins 10.1.99.0/24\n"
			       "segment imds 169.254.169.254\n"
			       "allow admins -> vda : tcp/22\n"
			       "allow vda -> imds : tcp/80\n";

Test(bind, linklocal_is_built_in_after_the_declared_segments)
{
	struct xs_compiled *c = must_compile(lab);
	const struct xs_policy *p = c->policy;

	cr_assert_eq(p->nsegments, 4);
	cr_expect_eq(p->linklocal_seg, 4);
	cr_expect_str_eq(p->segments[3].name, "link-local");
	cr_expect(p->segments[3].builtin);
	cr_expect_eq(c->setinfo.ll_seg, 4);
	cr_expect_eq(c->setinfo.flags, 0);
	cr_expect_eq(c->setinfo.nbinds, 0);
	cr_expect_eq(c->nbinds, 1);
	/* classified by longest prefix: imds's /32 wins inside 169.254.0.0/16 */
	cr_expect_eq(seg_of(c, "fe80::1"), 4);
	cr_expect_eq(seg_of(c, "febf:ffff::1"), 4);
	cr_expect_eq(seg_of(c, "fec0::1"), 0);
	cr_expect_eq(seg_of(c, "169.254.0.1"), 4);
	cr_expect_eq(seg_of(c, "169.254.169.254"), 3);
	/* the implicit origin: top-level file, line 0, after world's */
	cr_expect_eq(c->seginfo[4].in_rule_id, p->world_in_rule_id + 1);
	cr_expect_eq(p->origins[p->world_in_rule_id].kind, XS_ORIGIN_IMPLICIT);
	cr_expect_eq(p->origins[p->world_in_rule_id].line, 0);
	cr_expect_str_eq(p->origins[p->world_in_rule_id].file, "main.policy");
	cr_expect_str_eq(
		p->origins[p->world_in_rule_id].text,
		"link-local (built in: fe80::/10, 169.254.0.0/16; implicit default in deny "
		"out allow)");
	xs_compiled_free(c);
}

Test(bind, linklocal_defaults_in_deny_out_allow)
{
	struct xs_compiled *c = must_compile(lab);
	uint32_t ll_in = c->seginfo[4].in_rule_id;
	struct xs_decision d;

	/* into link-local: denied by its `in deny` (the VM-to-VM path of issue 6) */
	d = decide(c, flow("fe80::2", "fe80::1", 6, 22));
	cr_expect_eq(d.verdict, XS_VERDICT_DROP);
	cr_expect_eq(d.reason, XS_REASON_DEFAULT_IN);
	cr_expect_eq(d.rule_id, ll_in);
	d = decide(c, flow("10.1.0.5", "169.254.7.7", 17, 53));
	cr_expect_eq(d.reason, XS_REASON_DEFAULT_IN);
	/* out of link-local to world: out allow, world in allow */
	d = decide(c, flow("fe80::2", "2001:db8::1", 6, 443));
	cr_expect_eq(d.verdict, XS_VERDICT_ALLOW);
	cr_expect_eq(d.reason, XS_REASON_DEFAULT);
	/* out of link-local into vda: vda's in deny */
	d = decide(c, flow("169.254.1.1", "10.1.0.5", 6, 22));
	cr_expect_eq(d.reason, XS_REASON_DEFAULT_IN);
	cr_expect_eq(d.dst_seg, 1);
	/* imds (inside 169.254/16) is its own segment */
	d = decide(c, flow("10.1.0.5", "169.254.169.254", 6, 80));
	cr_expect_eq(d.verdict, XS_VERDICT_ALLOW);
	cr_expect_eq(d.reason, XS_REASON_RULE);
	xs_compiled_free(c);
}

Test(bind, linklocal_rules_defaults_modes_and_any)
{
	struct xs_compiled *c = must_compile("segment vda 10.1.0.0/16\n"
					     "allow link-local -> any : udp/546\n"
					     "deny any -> vda : tcp/445\n"
					     "default link-local in allow out deny\n"
					     "mode link-local monitor\n");
	const struct xs_policy *p = c->policy;
	struct xs_decision d;

	/* a rule naming it */
	d = decide(c, flow("fe80::1", "fe80::2", 17, 546));
	cr_expect_eq(d.verdict, XS_VERDICT_ALLOW);
	cr_expect_eq(d.rule_id, 1);
	/* `any` includes it */
	d = decide(c, flow("169.254.3.3", "10.1.0.1", 6, 445));
	cr_expect_eq(d.reason, XS_REASON_DENY_RULE);
	cr_expect_eq(d.verdict, XS_VERDICT_AUDIT); /* link-local is in monitor mode */
	/* its defaults, from the default statement (id 3) */
	cr_expect_eq(c->seginfo[2].in_action, XS_ACT_ALLOW);
	cr_expect_eq(c->seginfo[2].out_action, XS_ACT_DENY);
	cr_expect_eq(c->seginfo[2].in_rule_id, 3);
	cr_expect_eq(c->seginfo[2].monitor, 1);
	d = decide(c, flow("fe80::1", "2001:db8::1", 6, 80));
	cr_expect_eq(d.reason, XS_REASON_DEFAULT_OUT);
	cr_expect_eq(d.rule_id, 3);
	/* both sides set by a statement: no implicit origin for it */
	cr_expect_eq(p->norigins, 2 + 1 + 1 + 1); /* rules, default, vda, world */
	xs_compiled_free(c);
}

Test(bind, linklocal_port_segment)
{
	/* a link-local address behind a bound port takes the port's segment */
	struct xs_compiled *c = must_compile("segment vda 10.1.0.0/16\n"
					     "segment sf 10.2.0.0/16\n"
					     "allow sf -> vda : tcp/443\n"
					     "allow vda -> sf : tcp/80\n");
	struct xs_flow f = flow("fe80::5", "fe80::6", 6, 443);
	struct xs_decision d;

	d = decide(c, f);
	cr_expect_eq(d.reason, XS_REASON_DEFAULT_IN); /* link-local -> link-local */
	f.src_port_seg = 2;
	f.dst_port_seg = 1;
	d = decide(c, f);
	cr_expect_eq(d.src_seg, 2);
	cr_expect_eq(d.dst_seg, 1);
	cr_expect_eq(d.reason, XS_REASON_RULE);
	cr_expect_eq(d.rule_id, 1);
	/* only link-local addresses take it */
	f = flow("10.2.0.9", "169.254.0.6", 6, 80);
	f.src_port_seg = 1;
	f.dst_port_seg = 2;
	d = decide(c, f);
	cr_expect_eq(d.src_seg, 2);
	cr_expect_eq(d.dst_seg, 2);
	xs_compiled_free(c);
}

Test(bind, linklocal_diagnostics)
{
	expect_diags("segment link-local 10.7.0.0/16\n"
		     "segment x fe80::/10, 169.254.0.0/16, fe80::/64\n"
		     "allow x -> link-local\n",
		     -EINVAL,
		     "main.policy:1:9: error: 'link-local' is reserved: it names the built-in "
		     "segment of fe80::/10 and 169.254.0.0/16 (rules, defaults and modes may use "
		     "it)\n"
		     "main.policy:2:11: error: prefix fe80::/10 is the built-in segment "
		     "'link-local': declare a longer prefix inside it, or write rules for "
		     "'link-local'\n"
		     "main.policy:2:22: error: prefix 169.254.0.0/16 is the built-in segment "
		     "'link-local': declare a longer prefix inside it, or write rules for "
		     "'link-local'\n");
	/* no 'never used' for it */
	expect_diags("segment a 10.0.0.0/8\nallow a -> world\n", 0, "");
}

Test(bind, segments_limit_counts_the_built_in)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct xs_compiled *c;

	for (int i = 0; i < XS_MAX_SEGMENTS - 2; i++)
		fprintf(f, "segment s%d 10.%d.%d.0/24\n", i, i / 256, i % 256);
	fprintf(f, "allow s0 -> s1\n");
	fclose(f);
	c = must_compile(text); /* 4094 declared + link-local = 4095 */
	cr_expect_eq(c->policy->linklocal_seg, XS_MAX_SEGMENTS - 1);
	xs_compiled_free(c);
	free(text);
}

/* ---- bind statements ---------------------------------------------------------------- */

static const char *const binds = "segment vda 10.1.0.0/16, fd00:1::/64\n"
				 "segment admins 10.1.99.0/24\n"
				 "segment inner 10.1.99.128/25\n"
				 "segment other 10.2.0.0/16\n"
				 "bind vda vnet* 10.1.0.5, 10.1.2.0/24, fd00:1::5\n"
				 "bind vda \"tap[0-9]\"\n"
				 "bind other veth?\n"
				 "allow admins -> vda : tcp/22\n"
				 "allow other -> inner\n";

Test(bind, bindings_in_source_order_with_origins_after_world)
{
	struct xs_compiled *c = must_compile(binds);
	const struct xs_policy *p = c->policy;
	/* rules 1-2, implicit vda admins inner other 3-6, world 7, link-local 8 */
	static const uint32_t ids[] = { 9, 10, 11 };

	cr_assert_eq(p->nbindings, 3);
	cr_expect_eq(p->world_in_rule_id, 7);
	for (size_t i = 0; i < 3; i++) {
		const struct xs_binding *b = &p->bindings[i];

		cr_expect_eq(b->id, i + 1);
		cr_expect_eq(b->rule_id, ids[i]);
		cr_expect_eq(p->origins[b->rule_id - 1].kind, XS_ORIGIN_BIND);
		cr_expect_eq(p->origins[b->rule_id - 1].line, (int)(5 + i));
		cr_expect_eq(c->binds[i + 1].rule_id, ids[i]);
	}
	cr_expect_str_eq(p->origins[8].text, "bind vda vnet* 10.1.0.5, 10.1.2.0/24, fd00:1::5");
	cr_expect_str_eq(p->origins[9].text, "bind vda \"tap[0-9]\"");
	cr_expect_str_eq(p->bindings[1].pattern, "tap[0-9]");
	cr_expect_eq(p->bindings[0].nprefixes, 3);
	cr_expect_eq(p->bindings[1].nprefixes, 0);
	cr_expect_eq(p->norigins, 11);
	xs_compiled_free(c);
}

Test(bind, compiled_binds)
{
	struct xs_compiled *c = must_compile(binds);
	static const struct {
		uint32_t bind;
		const char *prefix;
		uint32_t val;
	} want4[] = {
		{ 1, "10.1.0.5/32", 1 },    { 1, "10.1.2.0/24", 1 },
		{ 2, "10.1.0.0/16", 2 },    { 2, "10.1.99.0/24", 0 }, /* admins inside vda */
		{ 2, "10.1.99.128/25", 0 }, /* inner, inside admins inside vda */
		{ 3, "10.2.0.0/16", 3 },
	};

	cr_expect_eq(c->setinfo.ll_seg, 5);
	cr_expect_eq(c->setinfo.flags, XS_SETF_BINDS);
	cr_expect_eq(c->setinfo.nbinds, 3);
	cr_assert_eq(c->nbinds, 4);
	cr_expect_eq(c->binds[0].rule_id, 0);
	cr_expect_eq(c->binds[0].seg, 0);
	cr_expect_str_eq(c->binds[2].pattern, "tap[0-9]");
	cr_expect_eq(c->binds[2].seg, 1);
	cr_expect_eq(c->binds[3].seg, 4);
	cr_expect_eq(c->binds[3].flags, 0);
	/* bind 1's first host addresses, for the datapath's check without a trie */
	{
		uint8_t a4[4], a6[16];

		inet_pton(AF_INET, "10.1.0.5", a4);
		inet_pton(AF_INET6, "fd00:1::5", a6);
		cr_expect_eq(c->binds[1].flags, XS_BINDF_HOST4 | XS_BINDF_HOST6);
		cr_expect_arr_eq(c->binds[1].host4, a4, 4);
		cr_expect_arr_eq(c->binds[1].host6, a6, 16);
		cr_expect_eq(c->binds[2].flags, 0, "a bind without addresses has no host address");
	}
	cr_assert_eq(c->nbind4, sizeof(want4) / sizeof(want4[0]));
	for (size_t i = 0; i < c->nbind4; i++) {
		const struct xs_bind4_entry *e = &c->bind4[i];
		char a[INET_ADDRSTRLEN], got[64];

		inet_ntop(AF_INET, e->key.addr, a, sizeof(a));
		snprintf(got, sizeof(got), "%s/%u", a, e->key.prefixlen - 32);
		cr_expect_eq(e->key.bind, want4[i].bind, "entry %zu", i);
		cr_expect_str_eq(got, want4[i].prefix, "entry %zu", i);
		cr_expect_eq(e->val, want4[i].val, "entry %zu", i);
	}
	cr_assert_eq(c->nbind6, 2);
	cr_expect_eq(c->bind6[0].key.bind, 1);
	cr_expect_eq(c->bind6[0].key.prefixlen, 32 + 128);
	cr_expect_eq(c->bind6[1].key.bind, 2);
	cr_expect_eq(c->bind6[1].key.prefixlen, 32 + 64);
	cr_expect_eq(c->bind6[1].val, 2);
	xs_compiled_free(c);
}

Test(bind, hash_covers_the_binds_and_is_deterministic)
{
	struct xs_compiled *a = must_compile(binds), *b = must_compile(binds), *c;
	char *changed = strdup(binds);

	cr_expect(!memcmp(a->hash, b->hash, 32));
	cr_expect(!memcmp(a->binds, b->binds, a->nbinds * sizeof(*a->binds)));
	cr_expect(!memcmp(a->bind4, b->bind4, a->nbind4 * sizeof(*a->bind4)));
	/* another address, another hash */
	memcpy(strstr(changed, "10.1.0.5"), "10.1.0.6", 8);
	c = must_compile(changed);
	cr_expect(memcmp(a->hash, c->hash, 32));
	xs_compiled_free(c);
	/* another pattern, another hash */
	memcpy(strstr(changed, "veth?"), "veth*", 5);
	c = must_compile(changed);
	cr_expect(memcmp(a->hash, c->hash, 32));
	xs_compiled_free(a);
	xs_compiled_free(b);
	xs_compiled_free(c);
	free(changed);
}

Test(bind, binding_for_first_match_in_source_order)
{
	struct xs_compiled *c = must_compile("segment a 10.1.0.0/16\n"
					     "segment b 10.2.0.0/16\n"
					     "bind a vnet1\n"
					     "bind b vnet*\n"
					     "bind a \"tap[!0-4]\"\n"
					     "allow a -> b\n");
	const struct xs_policy *p = c->policy;

	cr_expect_eq(xs_policy_binding_for(p, "vnet1"), &p->bindings[0]);
	cr_expect_eq(xs_policy_binding_for(p, "vnet12"), &p->bindings[1]);
	cr_expect_eq(xs_policy_binding_for(p, "vnet"), &p->bindings[1]);
	cr_expect_eq(xs_policy_binding_for(p, "tap7"), &p->bindings[2]);
	cr_expect_null(xs_policy_binding_for(p, "tap3"));
	cr_expect_null(xs_policy_binding_for(p, "eth0"));
	xs_compiled_free(c);
}

static bool allows(const struct xs_compiled *c, size_t bind, const char *a)
{
	uint8_t family, addr[16];

	addr_of(a, &family, addr);
	return xs_policy_bind_allows(c->policy, &c->policy->bindings[bind], family, addr);
}

Test(bind, bind_allows)
{
	struct xs_compiled *c = must_compile(binds);

	/* with addresses: those only */
	cr_expect(allows(c, 0, "10.1.0.5"));
	cr_expect(allows(c, 0, "10.1.2.77"));
	cr_expect(allows(c, 0, "fd00:1::5"));
	cr_expect_not(allows(c, 0, "10.1.0.6"));
	cr_expect_not(allows(c, 0, "fd00:1::6"));
	cr_expect_not(allows(c, 0, "10.2.0.1"));
	/* without: any address whose segment is the bound one */
	cr_expect(allows(c, 1, "10.1.0.6"));
	cr_expect(allows(c, 1, "fd00:1::6"));
	cr_expect_not(allows(c, 1, "10.1.99.1"));   /* admins */
	cr_expect_not(allows(c, 1, "10.1.99.200")); /* inner */
	cr_expect_not(allows(c, 1, "10.2.0.1"));
	cr_expect_not(allows(c, 1, "8.8.8.8"));
	/* link-local: always */
	cr_expect(allows(c, 0, "fe80::1"));
	cr_expect(allows(c, 1, "169.254.1.2"));
	cr_expect(allows(c, 2, "fe80::99"));
	xs_compiled_free(c);
}

Test(bind, diagnostics)
{
	expect_diags(
		"segment vda 10.1.0.0/16, fd00:1::/64\n"
		"segment admins 10.1.99.0/24\n"
		"bind vdaa vnet1\n"
		"bind world vnet2\n"
		"bind any vnet4\n"
		"bind link-local vnet3\n"
		"bind vda \"\"\n"
		"bind vda averyveryverylongname\n"
		"bind vda \"a/b\"\n"
		"bind vda vnet[0-9\n"
		"bind vda vnet* 10.2.0.1\n"
		"bind vda vnet* 10.1.0.0/16\n"
		"bind vda vnet8 10.1.99.5\n"
		"bind vda vnet9 fe80::1, 169.254.1.1\n"
		"bind vda vnet10 10.1.0.1, 10.1.0.1/32\n"
		"bind vda vnet11 10.0.0.0/8\n"
		"bind vda\n"
		"bind vda * *\n"
		"allow vda -> admins\n",
		-EINVAL,
		"main.policy:3:6: error: unknown segment 'vdaa'; did you mean 'vda'?\n"
		"main.policy:4:6: error: cannot bind a port to 'world': a bound port belongs to a "
		"declared segment\n"
		"main.policy:5:6: error: cannot bind a port to 'any': a bound port belongs to a "
		"declared segment\n"
		"main.policy:6:6: error: cannot bind a port to 'link-local': the link-local "
		"traffic of a bound port takes the port's segment; bind it to a declared "
		"segment\n"
		"main.policy:7:10: error: empty interface pattern\n"
		"main.policy:8:10: error: interface pattern 'averyveryverylongname' is 21 bytes "
		"long: interface names have at most 15\n"
		"main.policy:9:12: error: '/' cannot be in an interface name\n"
		"main.policy:10:14: error: unclosed '[' in interface pattern 'vnet[0-9'\n"
		"main.policy:11:16: error: 10.2.0.1/32 is not in segment 'vda' (10.1.0.0/16, "
		"fd00:1::/64)\n"
		"main.policy:12:10: error: duplicate bind pattern 'vnet*' (first at "
		"main.policy:11)\n"
		"main.policy:12:16: error: 10.1.0.0/16 overlaps 10.1.99.0/24 of segment 'admins' "
		"(main.policy:2): a bound port sends from its own segment's addresses only\n"
		"main.policy:13:16: error: 10.1.99.5/32 overlaps 10.1.99.0/24 of segment 'admins' "
		"(main.policy:2): a bound port sends from its own segment's addresses only\n"
		"main.policy:14:16: error: fe80::1/128 is link-local: link-local sources are "
		"always accepted from a bound port, and classified as its segment\n"
		"main.policy:14:25: error: 169.254.1.1/32 is link-local: link-local sources are "
		"always accepted from a bound port, and classified as its segment\n"
		"main.policy:15:27: error: 10.1.0.1/32 is listed twice\n"
		"main.policy:16:17: error: 10.0.0.0/8 is not in segment 'vda' (10.1.0.0/16, "
		"fd00:1::/64)\n"
		"main.policy:17:9: error: expected: bind SEGMENT IFACE-PATTERN [ADDRESS, ...]\n"
		"main.policy:18:12: error: unexpected character '*'\n");
}

Test(bind, a_segment_named_only_by_a_bind_is_used)
{
	expect_diags("segment a 10.1.0.0/16\n"
		     "segment b 10.2.0.0/16\n"
		     "segment c 10.3.0.0/16\n"
		     "bind c tap0\n"
		     "allow a -> b\n",
		     0, "");
}

Test(bind, overlap_with_the_built_in_is_named)
{
	/* a segment that holds all of IPv4 holds link-local's prefix too */
	expect_diags("segment all 0.0.0.0/0\n"
		     "bind all eth0 0.0.0.0/0\n"
		     "allow all -> world\n",
		     -EINVAL,
		     "main.policy:2:15: error: 0.0.0.0/0 overlaps 169.254.0.0/16 of segment "
		     "'link-local' (built in): a bound port sends from its own segment's addresses "
		     "only\n");
}

Test(bind, too_many_binds)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;
	struct memfile mf = { "main.policy", NULL, 0 };
	struct memfs fs = { &mf, 1 };
	char *s;

	fprintf(f, "segment a 10.0.0.0/8\nallow a -> world\n");
	for (int i = 0; i < XS_MAX_BINDS; i++)
		fprintf(f, "bind a t%d\n", i);
	fclose(f);
	mf.text = text;
	s = compile_diags(mf.name, mem_resolve, &fs, &rc);
	cr_expect_eq(rc, -EINVAL);
	cr_expect_str_eq(s, "main.policy:4098:1: error: too many binds: bind ids end at 4095\n");
	free(s);
	free(text);
}

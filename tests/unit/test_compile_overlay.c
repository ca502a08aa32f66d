// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Overlays compiled with a policy (policies/README.md, "Overlays",
 * "Precedence"): quarantines (strict, forensic by the policy's declarations
 * or their own), grants (their end, what they cover, --drain), failsafe
 * ports, derived segments, the errors of an overlay a policy cannot hold,
 * the artefact and the sources. Every decision checked here is the compiled
 * tables' (user/policy/lookup.c, the datapath's decision) and the reference
 * evaluator's alike; a differential test holds the two against each other
 * over random policies and overlays.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "randpol.h"

#define TAI 37 /* CLOCK_TAI - CLOCK_REALTIME in these tests */
#define NOW 1700000000ull

/* ---- Compiling with overlays -------------------------------------------------- */

struct ov {
	const struct xs_overlay_in *v;
	size_t n;
	const struct xs_failsafe_in *fs;
	size_t nfs;
	uint64_t now;
};

/* The memory resolver, relative to the including file's folder first (as
 * the file-system resolver). */
static int rel_resolve(void *ctx, const char *from, const char *name, size_t limit,
		       struct xs_file *out)
{
	const char *slash = from ? strrchr(from, '/') : NULL;
	char *p;
	int err;

	if (slash && asprintf(&p, "%.*s/%s", (int)(slash - from), from, name) >= 0) {
		err = mem_resolve(ctx, from, p, limit, out);
		free(p);
		if (err != -ENOENT)
			return err;
	}
	return mem_resolve(ctx, from, name, limit, out);
}

/* Compile `text` (main.policy, plus `more` files) with overlays; the
 * diagnostics as "FILE:LINE:COL: SEV: MSG" lines into *diags (malloc'd). */
static int compile_more(const char *text, const struct memfile *more, size_t nmore,
			const struct ov *o, struct xs_compiled **c, char **diags)
{
	struct memfile files[8] = { { "main.policy", text, 0 } };
	struct memfs fs = { files, 1 + nmore };
	struct xs_compile_opts opts = { .tai_offset = TAI };
	struct xs_diags d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (nmore)
		memcpy(files + 1, more, nmore * sizeof(*more));
	if (o) {
		opts.overlays = o->v;
		opts.noverlays = o->n;
		opts.failsafe = o->fs;
		opts.nfailsafe = o->nfs;
		opts.now = o->now;
	}
	xs_diags_init(&d);
	*c = NULL;
	rc = xs_policy_compile_opts("main.policy", rel_resolve, &fs, &opts, c, &d);
	f = open_memstream(&buf, &len);
	for (size_t i = 0; i < d.n; i++)
		fprintf(f, "%s:%d:%d: %s: %s\n", d.v[i].file, d.v[i].line, d.v[i].col,
			d.v[i].severity == XS_SEV_ERROR	    ? "error"
			: d.v[i].severity == XS_SEV_WARNING ? "warning"
							    : "note",
			d.v[i].msg);
	fclose(f);
	xs_diags_free(&d);
	if (diags)
		*diags = buf;
	else
		free(buf);
	return rc;
}

static struct xs_compiled *must(const char *text, const struct ov *o)
{
	struct xs_compiled *c;
	char *diags;
	int rc = compile_more(text, NULL, 0, o, &c, &diags);

	cr_assert_eq(rc, 0, "does not compile:\n%s\n%s", diags, text);
	free(diags);
	return c;
}

/* Must not compile; the errors and notes must be `want` (the policy's
 * warnings aside: the lint's business). */
static void fails(const char *text, const struct ov *o, const char *want)
{
	struct xs_compiled *c;
	char *diags, *w, *r;
	int rc = compile_more(text, NULL, 0, o, &c, &diags);

	cr_assert_eq(rc, -EINVAL, "compiles:\n%s", text);
	cr_assert_null(c);
	for (r = w = diags; *r;) {
		char *e = strchr(r, '\n');
		size_t n = e ? (size_t)(e - r) + 1 : strlen(r);

		if (!memmem(r, n, ": warning: ", 11)) {
			memmove(w, r, n);
			w += n;
		}
		r += n;
	}
	*w = '\0';
	cr_assert_str_eq(diags, want);
	free(diags);
}

static struct xs_overlay_in quar(uint32_t n, const char *text)
{
	return (struct xs_overlay_in){ .number = n,
				       .kind = XS_OVERLAY_QUARANTINE,
				       .created = NOW - 10,
				       .text = text,
				       .reason = "" };
}

static struct xs_overlay_in grant(uint32_t n, const char *text, uint64_t expires)
{
	return (struct xs_overlay_in){ .number = n,
				       .kind = XS_OVERLAY_GRANT,
				       .created = NOW - 10,
				       .expires = expires,
				       .text = text,
				       .reason = "ticket 42" };
}

/* ---- Deciding ----------------------------------------------------------------- */

static void addr(const char *s, uint8_t *family, uint8_t *a)
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1)
		*family = 4;
	else if (inet_pton(AF_INET6, s, a) == 1)
		*family = 6;
	else
		cr_assert_fail("bad address %s", s);
}

/*
 * Decide SRC -> DST PROTO/PORT at unix second `now` by the compiled tables
 * as the datapath does, and by the reference evaluator: they must agree.
 */
static struct xs_decision decide_at(const struct xs_compiled *c, const char *src, const char *dst,
				    uint8_t proto, uint16_t port, uint64_t now)
{
	struct xs_tables t;
	struct xs_lookup l;
	struct xs_flow f = { .proto = proto, .dport = port, .now = now + TAI };
	struct xs_decision e;
	uint8_t fam2;

	addr(src, &f.family, f.saddr);
	addr(dst, &fam2, f.daddr);
	xs_tables_init(&t, c);
	xs_tables_decide(&t, &f, f.now, &l);
	xs_policy_evaluate(c->policy, &f, &e);
	cr_assert(!memcmp(&l.d, &e, sizeof(e)),
		  "%s -> %s %u/%u: tables %s %s #%u (%u -> %u) deadline %u, evaluator %s %s "
		  "#%u (%u -> %u) deadline %u",
		  src, dst, proto, port, xs_verdict_name(l.d.verdict), xs_reason_name(l.d.reason),
		  l.d.rule_id, l.d.src_seg, l.d.dst_seg, l.d.deadline, xs_verdict_name(e.verdict),
		  xs_reason_name(e.reason), e.rule_id, e.src_seg, e.dst_seg, e.deadline);
	return l.d;
}

static struct xs_decision decide(const struct xs_compiled *c, const char *src, const char *dst,
				 uint8_t proto, uint16_t port)
{
	return decide_at(c, src, dst, proto, port, NOW);
}

#define TCP 6
#define UDP 17

#define EXPECT(c, src, dst, proto, port, verdict_, reason_, rule_)                                \
	do {                                                                                      \
		struct xs_decision d_ = decide(c, src, dst, proto, port);                         \
		cr_assert(d_.verdict == (verdict_) && d_.reason == (reason_) &&                   \
				  d_.rule_id == (uint32_t)(rule_),                                \
			  "%s -> %s %u/%u: %s %s #%u, expected %s %s #%u", src, dst, proto, port, \
			  xs_verdict_name(d_.verdict), xs_reason_name(d_.reason), d_.rule_id,     \
			  xs_verdict_name(verdict_), xs_reason_name(reason_), (uint32_t)(rule_)); \
	} while (0)

/* The rule id of the origin whose text is `text` (and kind `kind`). */
static uint32_t origin(const struct xs_compiled *c, enum xs_origin_kind kind, const char *text)
{
	for (size_t i = 0; i < c->policy->norigins; i++)
		if (c->policy->origins[i].kind == kind && !strcmp(c->policy->origins[i].text, text))
			return c->policy->origins[i].rule_id;
	cr_assert_fail("no origin '%s'", text);
	return 0;
}

static uint16_t seg_named(const struct xs_compiled *c, const char *name)
{
	for (size_t i = 0; i < c->policy->nsegments; i++)
		if (!strcmp(c->policy->segments[i].name, name))
			return c->policy->segments[i].id;
	cr_assert_fail("no segment '%s'", name);
	return 0;
}

/* The entry of (src, dst, proto, port) (NULL: none). */
static const struct xs_rule_entry *entry(const struct xs_compiled *c, const char *src,
					 const char *dst, uint8_t proto, uint16_t port)
{
	struct xs_tables t;

	xs_tables_init(&t, c);
	return xs_tables_rule(&t, seg_named(c, src), seg_named(c, dst), proto, port);
}

/* ---- The policy of the seed scenario ------------------------------------------ */

static const char *const POLICY = "service rdp tcp/3389\n"
				  "service ssh tcp/22\n"
				  "segment vda 10.10.0.0/16, fd00:10::/64\n"
				  "segment bastion 10.9.0.0/24\n"
				  "segment tools 10.8.0.0/24\n"
				  "segment web 10.7.0.0/24\n"
				  "allow bastion -> vda : ssh\n"	 /* 1 */
				  "deny bastion -> vda : rdp\n"		 /* 2 */
				  "allow vda -> vda : tcp/445\n"	 /* 3 */
				  "allow web -> vda : tcp/80\n"		 /* 4 */
				  "allow any -> web : tcp/443\n"	 /* 5 */
				  "allow tools -> any\n"		 /* 6 */
				  "default web in allow out allow\n"	 /* 7 */
				  "mode vda monitor\n"			 /**/
				  "quarantine forensic bastion : ssh\n"; /* after the others */

Test(overlays, no_overlays_same_hash)
{
	struct xs_compiled *a = must(POLICY, NULL), *b;
	struct ov none = { .now = NOW };

	b = must(POLICY, &none);
	cr_assert(!memcmp(a->hash, b->hash, 32));
	cr_assert_eq(a->noverlays, 0);
	cr_assert_eq(a->nsources, 1);
	cr_assert_str_eq(a->sources[0].path, "main.policy");
	cr_assert_eq(a->sources[0].len, strlen(POLICY));
	cr_assert(!memcmp(a->sources[0].text, POLICY, strlen(POLICY)));
	/* the declaration has an origin of kind forensic and nothing else */
	cr_assert_eq(origin(a, XS_ORIGIN_FORENSIC, "quarantine forensic bastion : ssh"),
		     a->policy->norigins);
	for (size_t i = 0; i < a->nrules; i++)
		cr_assert_eq(a->rules[i].val.flags, 0);
	xs_compiled_free(a);
	xs_compiled_free(b);
}

Test(overlays, quarantine_strict)
{
	struct xs_overlay_in v[] = { quar(3, "quarantine 10.10.0.7 strict") };
	struct ov o = { v, 1, .now = NOW };
	struct xs_compiled *c = must(POLICY, &o);
	uint16_t q = seg_named(c, "vda[10.10.0.7]");
	uint32_t id = origin(c, XS_ORIGIN_QUARANTINE, "quarantine 10.10.0.7 strict");

	cr_assert_eq(c->noverlays, 1);
	cr_assert_eq(c->overlays[0].rule_id, id);
	cr_assert_eq(c->overlays[0].rec.number, 3);
	cr_assert_str_eq(c->overlays[0].rec.text, "quarantine 10.10.0.7 strict");
	cr_assert_eq(c->seginfo[q].flags, XS_SEGF_QUARANTINE);
	cr_assert_eq(c->seginfo[q].quar_rule_id, id);
	cr_assert_eq(c->seginfo[seg_named(c, "vda")].flags, 0);
	cr_assert(c->policy->segments[q - 1].derived);
	cr_assert_eq(c->policy->segments[q - 1].parent, seg_named(c, "vda"));
	/* nothing in or out, whatever rules, defaults, forensic tools and monitor mode say */
	EXPECT(c, "10.9.0.1", "10.10.0.7", TCP, 22, XS_VERDICT_DROP, XS_REASON_QUARANTINE, id);
	EXPECT(c, "10.8.0.1", "10.10.0.7", TCP, 1, XS_VERDICT_DROP, XS_REASON_QUARANTINE, id);
	EXPECT(c, "10.10.0.7", "10.7.0.1", TCP, 443, XS_VERDICT_DROP, XS_REASON_QUARANTINE, id);
	EXPECT(c, "10.10.0.8", "10.10.0.7", TCP, 445, XS_VERDICT_DROP, XS_REASON_QUARANTINE, id);
	/* its neighbours keep the policy (vda is in monitor mode: audits) */
	EXPECT(c, "10.9.0.1", "10.10.0.8", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_RULE, 1);
	EXPECT(c, "10.9.0.1", "10.10.0.8", TCP, 3389, XS_VERDICT_AUDIT, XS_REASON_DENY_RULE, 2);
	xs_compiled_free(c);
}

Test(overlays, quarantine_forensic_declared)
{
	struct xs_overlay_in v[] = { quar(1, "quarantine vda") };
	struct ov o = { v, 1, .now = NOW };
	struct xs_compiled *c = must(POLICY, &o);
	uint32_t id = origin(c, XS_ORIGIN_QUARANTINE, "quarantine vda");
	uint32_t fo = origin(c, XS_ORIGIN_FORENSIC, "quarantine forensic bastion : ssh");
	const struct xs_rule_entry *e = entry(c, "bastion", "vda", TCP, 22);

	cr_assert_not_null(e);
	cr_assert_eq(e->val.flags, XS_RULEF_FORENSIC);
	cr_assert_eq(e->val.rule_id, fo);
	cr_assert_eq(e->key.prefixlen, XS_RULE_PLEN_PORT(16));
	EXPECT(c, "10.9.0.1", "10.10.3.3", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_FORENSIC, fo);
	EXPECT(c, "fd00:10::3", "fd00:10::4", TCP, 445, XS_VERDICT_DROP, XS_REASON_QUARANTINE, id);
	EXPECT(c, "10.9.0.1", "10.10.3.3", TCP, 3389, XS_VERDICT_DROP, XS_REASON_QUARANTINE, id);
	/* tools may reach everything by rule: not into a quarantine */
	EXPECT(c, "10.8.0.1", "10.10.3.3", TCP, 22, XS_VERDICT_DROP, XS_REASON_QUARANTINE, id);
	/* nothing out, the forensic tools' own services neither */
	EXPECT(c, "10.10.3.3", "10.9.0.1", TCP, 22, XS_VERDICT_DROP, XS_REASON_QUARANTINE, id);
	EXPECT(c, "10.10.3.3", "10.10.3.4", TCP, 445, XS_VERDICT_DROP, XS_REASON_QUARANTINE, id);
	xs_compiled_free(c);
}

Test(overlays, quarantine_forensic_own_clauses)
{
	struct xs_overlay_in v[] = {
		quar(1, "quarantine 10.10.0.7, 10.10.0.8 forensic tools : tcp/443 forensic web"),
		quar(2, "quarantine 10.10.0.9 forensic 10.8.0.5 : udp/514"),
	};
	struct ov o = { v, 2, .now = NOW };
	struct xs_compiled *c = must(POLICY, &o);
	uint32_t q1 = v[0].number == 1 ? origin(c, XS_ORIGIN_QUARANTINE, v[0].text) : 0;
	uint32_t q2 = origin(c, XS_ORIGIN_QUARANTINE, v[1].text);

	/* one origin per forensic clause, right after its quarantine's */
	cr_assert_eq(c->policy->origins[q1].kind, XS_ORIGIN_FORENSIC);
	cr_assert_eq(c->policy->origins[q1 + 1].kind, XS_ORIGIN_FORENSIC);
	EXPECT(c, "10.8.0.1", "10.10.0.7", TCP, 443, XS_VERDICT_ALLOW, XS_REASON_FORENSIC, q1 + 1);
	EXPECT(c, "10.8.0.1", "10.10.0.8", TCP, 443, XS_VERDICT_ALLOW, XS_REASON_FORENSIC, q1 + 1);
	EXPECT(c, "10.8.0.1", "10.10.0.7", TCP, 22, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q1);
	/* a clause without services: every protocol and port */
	EXPECT(c, "10.7.0.9", "10.10.0.8", UDP, 9, XS_VERDICT_ALLOW, XS_REASON_FORENSIC, q1 + 2);
	/* no mode named: not the policy's declarations */
	EXPECT(c, "10.9.0.1", "10.10.0.7", TCP, 22, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q1);
	/* an address as forensic tool: only it */
	EXPECT(c, "10.8.0.5", "10.10.0.9", UDP, 514, XS_VERDICT_ALLOW, XS_REASON_FORENSIC, q2 + 1);
	EXPECT(c, "10.8.0.6", "10.10.0.9", UDP, 514, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q2);
	/* tools' address 10.8.0.5 is a derived segment: it keeps tools' rules */
	EXPECT(c, "10.8.0.5", "10.10.0.1", TCP, 80, XS_VERDICT_ALLOW, XS_REASON_RULE, 6);
	xs_compiled_free(c);
}

/* A strict quarantine of a segment wins over another's forensic access to it. */
Test(overlays, strict_wins)
{
	struct xs_overlay_in v[] = { quar(1, "quarantine vda"),
				     quar(2, "quarantine 10.10.0.7 strict") };
	struct ov o = { v, 2, .now = NOW };
	struct xs_compiled *c = must(POLICY, &o);
	uint32_t q1 = origin(c, XS_ORIGIN_QUARANTINE, "quarantine vda");
	uint32_t q2 = origin(c, XS_ORIGIN_QUARANTINE, "quarantine 10.10.0.7 strict");
	uint32_t fo = origin(c, XS_ORIGIN_FORENSIC, "quarantine forensic bastion : ssh");

	EXPECT(c, "10.9.0.1", "10.10.0.6", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_FORENSIC, fo);
	/* within both quarantines: the lowest id is named */
	EXPECT(c, "10.9.0.1", "10.10.0.7", TCP, 22, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q1);
	cr_assert_eq(c->seginfo[seg_named(c, "vda[10.10.0.7]")].quar_rule_id, q1);
	cr_assert_lt(q1, q2);
	xs_compiled_free(c);
}

Test(overlays, grant)
{
	uint64_t end = NOW + 3600;
	struct xs_overlay_in v[] = {
		grant(7, "grant bastion -> 10.10.10.11 : rdp", end),
		grant(8, "grant 10.9.0.5 -> web, 10.8.0.0/28 : udp/53", end + 60),
	};
	struct ov o = { v, 2, .now = NOW };
	struct xs_compiled *c = must(POLICY, &o);
	uint32_t g7 = origin(c, XS_ORIGIN_GRANT, v[0].text),
		 g8 = origin(c, XS_ORIGIN_GRANT, v[1].text);
	const struct xs_rule_entry *e = entry(c, "bastion", "vda[10.10.10.11]", TCP, 3389);
	struct xs_decision d;

	cr_assert_not_null(e);
	cr_assert_eq(e->val.flags, XS_RULEF_GRANT);
	cr_assert_eq(e->val.action, XS_ACT_ALLOW);
	cr_assert_eq(e->val.rule_id, g7);
	cr_assert_eq(e->val.expires, end + TAI);
	cr_assert_eq(e->val.fb_action, XS_ACT_DENY); /* it outranks the deny, which it covers */
	cr_assert_eq(e->val.fb_rule_id, 2);
	cr_assert_eq(c->overlays[0].rec.expires, end);
	cr_assert_str_eq(c->overlays[0].rec.reason, "ticket 42");
	d = decide(c, "10.9.0.1", "10.10.10.11", TCP, 3389);
	cr_assert(d.verdict == XS_VERDICT_ALLOW && d.reason == XS_REASON_GRANT && d.rule_id == g7);
	cr_assert_eq(d.deadline, end + TAI);
	/* its end: what it covered */
	d = decide_at(c, "10.9.0.1", "10.10.10.11", TCP, 3389, end);
	cr_assert(d.verdict == XS_VERDICT_AUDIT && d.reason == XS_REASON_DENY_RULE &&
		  d.rule_id == 2);
	d = decide_at(c, "10.9.0.1", "10.10.10.11", TCP, 3389, end - 1);
	cr_assert(d.reason == XS_REASON_GRANT);
	/* not the rest of vda */
	EXPECT(c, "10.9.0.1", "10.10.10.12", TCP, 3389, XS_VERDICT_AUDIT, XS_REASON_DENY_RULE, 2);
	/* nothing covered: then the defaults */
	e = entry(c, "bastion[10.9.0.5]", "tools[10.8.0.0/28]", UDP, 53);
	cr_assert_not_null(e);
	cr_assert_eq(e->val.fb_action, XS_ACT_NONE);
	cr_assert_eq(e->val.fb_rule_id, 0);
	EXPECT(c, "10.9.0.5", "10.8.0.3", UDP, 53, XS_VERDICT_ALLOW, XS_REASON_GRANT, g8);
	EXPECT(c, "10.9.0.6", "10.8.0.3", UDP, 53, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN,
	       c->seginfo[seg_named(c, "tools")].in_rule_id);
	d = decide_at(c, "10.9.0.5", "10.8.0.3", UDP, 53, end + 60);
	cr_assert(d.verdict == XS_VERDICT_DROP && d.reason == XS_REASON_DEFAULT_IN);
	/* to web, which allows anything in by default */
	EXPECT(c, "10.9.0.5", "10.7.0.1", UDP, 53, XS_VERDICT_ALLOW, XS_REASON_GRANT, g8);
	xs_compiled_free(c);
}

Test(overlays, grant_drain_and_overlap)
{
	uint64_t end = NOW + 600;
	struct xs_overlay_in v[] = {
		grant(1, "grant bastion -> vda : tcp/3000-3999", end),
		grant(2, "grant bastion -> vda : rdp", end + 100),
	};
	struct ov o = { v, 2, .now = NOW };
	struct xs_compiled *c;
	struct xs_decision d;
	uint32_t g1, g2;

	v[1].flags = XS_RULEF_DRAIN;
	c = must(POLICY, &o);
	g1 = origin(c, XS_ORIGIN_GRANT, v[0].text);
	g2 = origin(c, XS_ORIGIN_GRANT, v[1].text);
	/* two grants of a port: the one that ends last */
	d = decide(c, "10.9.0.1", "10.10.0.1", TCP, 3389);
	cr_assert(d.reason == XS_REASON_GRANT && d.rule_id == g2 && d.deadline == 0);
	cr_assert_eq(entry(c, "bastion", "vda", TCP, 3389)->val.flags,
		     XS_RULEF_GRANT | XS_RULEF_DRAIN);
	d = decide(c, "10.9.0.1", "10.10.0.1", TCP, 3388);
	cr_assert(d.reason == XS_REASON_GRANT && d.rule_id == g1 && d.deadline == end + TAI);
	d = decide_at(c, "10.9.0.1", "10.10.0.1", TCP, 3389, end + 50);
	cr_assert(d.reason == XS_REASON_GRANT && d.rule_id == g2);
	d = decide_at(c, "10.9.0.1", "10.10.0.1", TCP, 3389, end + 100);
	cr_assert(d.reason == XS_REASON_DENY_RULE && d.rule_id == 2);
	xs_compiled_free(c);
}

Test(overlays, grant_expired_left_out)
{
	struct xs_overlay_in v[] = { grant(4, "grant bastion -> vda : rdp", NOW),
				     grant(5, "grant bastion -> vda : tcp/8080", NOW + 1) };
	struct ov o = { v, 2, .now = NOW };
	struct xs_compiled *c;
	char *diags;

	cr_assert_eq(compile_more(POLICY, NULL, 0, &o, &c, &diags), 0);
	cr_assert_str_eq(diags, "<grant 4>:0:0: note: grant 4 ended at 2023-11-14T22:13:20Z: "
				"left out\n");
	cr_assert_eq(c->noverlays, 1);
	cr_assert_eq(c->overlays[0].rec.number, 5);
	EXPECT(c, "10.9.0.1", "10.10.0.1", TCP, 3389, XS_VERDICT_AUDIT, XS_REASON_DENY_RULE, 2);
	free(diags);
	xs_compiled_free(c);
}

Test(overlays, failsafe)
{
	struct xs_failsafe_in fs[] = { { "10.10.0.2, fd00:10::2 : ssh", "/etc/xdpseg/xdpseg.conf",
					 4 },
				       { "192.0.2.1 : tcp/443", "/etc/xdpseg/xdpseg.conf", 5 } };
	struct xs_overlay_in v[] = { grant(1, "grant tools -> vda : ssh", NOW + 60),
				     quar(2, "quarantine 10.10.0.3") };
	struct ov o = { v, 2, fs, 2, NOW };
	struct xs_compiled *c = must("segment vda 10.10.0.0/16, fd00:10::/64\n"
				     "segment tools 10.8.0.0/24\n"
				     "service ssh tcp/22\n"
				     "deny any -> vda\n"
				     "deny tools -> world\n",
				     &o);
	uint32_t f1 = origin(c, XS_ORIGIN_FAILSAFE, "failsafe = 10.10.0.2, fd00:10::2 : ssh");
	uint32_t f2 = origin(c, XS_ORIGIN_FAILSAFE, "failsafe = 192.0.2.1 : tcp/443");
	uint16_t d = seg_named(c, "vda[10.10.0.2]"), w = seg_named(c, "world[192.0.2.1]");
	size_t n = 0;

	cr_assert_str_eq(c->policy->origins[f1 - 1].file, "/etc/xdpseg/xdpseg.conf");
	cr_assert_eq(c->policy->origins[f1 - 1].line, 4);
	/* from every segment: declared, world, link-local, derived */
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].key.dst_seg == d && c->rules[i].val.flags == XS_RULEF_FAILSAFE)
			n++;
	cr_assert_eq(n, c->policy->nsegments + 1);
	EXPECT(c, "10.8.0.1", "10.10.0.2", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_FAILSAFE, f1);
	EXPECT(c, "198.51.100.1", "10.10.0.2", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_FAILSAFE, f1);
	EXPECT(c, "fe80::1", "fd00:10::2", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_FAILSAFE, f1);
	EXPECT(c, "10.10.0.2", "10.10.0.2", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_FAILSAFE, f1);
	EXPECT(c, "10.10.0.9", "10.10.0.2", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_FAILSAFE, f1);
	EXPECT(c, "10.10.0.9", "10.10.0.2", TCP, 23, XS_VERDICT_DROP, XS_REASON_DENY_RULE, 1);
	/* over a grant */
	EXPECT(c, "10.8.0.1", "10.10.0.5", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_GRANT,
	       origin(c, XS_ORIGIN_GRANT, v[0].text));
	/* an address in world */
	cr_assert_eq(c->policy->segments[w - 1].parent, XS_SEG_WORLD);
	EXPECT(c, "10.8.0.1", "192.0.2.1", TCP, 443, XS_VERDICT_ALLOW, XS_REASON_FAILSAFE, f2);
	EXPECT(c, "10.8.0.1", "192.0.2.2", TCP, 443, XS_VERDICT_DROP, XS_REASON_DENY_RULE, 2);
	/* only a quarantine beats it */
	EXPECT(c, "10.10.0.3", "10.10.0.2", TCP, 22, XS_VERDICT_DROP, XS_REASON_QUARANTINE,
	       origin(c, XS_ORIGIN_QUARANTINE, "quarantine 10.10.0.3"));
	xs_compiled_free(c);
}

/* The precedence of policies/README.md, one level against the next. */
Test(overlays, precedence)
{
	struct xs_overlay_in v[] = {
		quar(1, "quarantine 10.1.0.9 forensic b : tcp/22"),
		grant(2, "grant b -> a : tcp/22-23", NOW + 60),
		grant(3, "grant b -> 10.1.0.9 : tcp/24", NOW + 60),
	};
	struct xs_failsafe_in fs[] = { { "10.1.0.8, 10.1.0.9 : tcp/22", "x.conf", 1 } };
	struct ov o = { v, 3, fs, 1, NOW };
	struct xs_compiled *c = must("segment a 10.1.0.0/16\n"
				     "segment b 10.2.0.0/16\n"
				     "deny b -> a : tcp/20-30\n" /* 1 */
				     "allow b -> a\n"		 /* 2 */
				     "mode a monitor\n",
				     &o);
	uint32_t q = origin(c, XS_ORIGIN_QUARANTINE, v[0].text), fo = q + 1;
	uint32_t g = origin(c, XS_ORIGIN_GRANT, v[1].text),
		 fs1 = origin(c, XS_ORIGIN_FAILSAFE, "failsafe = 10.1.0.8, 10.1.0.9 : tcp/22");

	/* quarantine > failsafe (forensic access: the only way in) */
	EXPECT(c, "10.2.0.1", "10.1.0.9", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_FORENSIC, fo);
	EXPECT(c, "10.2.0.1", "10.1.0.9", TCP, 23, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
	/* ... > grant, > monitor */
	EXPECT(c, "10.2.0.1", "10.1.0.9", TCP, 24, XS_VERDICT_DROP, XS_REASON_QUARANTINE, q);
	/* failsafe > grant > deny */
	EXPECT(c, "10.2.0.1", "10.1.0.8", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_FAILSAFE, fs1);
	EXPECT(c, "10.2.0.1", "10.1.0.7", TCP, 22, XS_VERDICT_ALLOW, XS_REASON_GRANT, g);
	EXPECT(c, "10.2.0.1", "10.1.0.7", TCP, 23, XS_VERDICT_ALLOW, XS_REASON_GRANT, g);
	/* deny > allow, monitor makes it an audit */
	EXPECT(c, "10.2.0.1", "10.1.0.7", TCP, 25, XS_VERDICT_AUDIT, XS_REASON_DENY_RULE, 1);
	/* allow > defaults */
	EXPECT(c, "10.2.0.1", "10.1.0.7", TCP, 31, XS_VERDICT_ALLOW, XS_REASON_RULE, 2);
	/* defaults > monitor */
	EXPECT(c, "10.1.0.1", "10.2.0.1", TCP, 31, XS_VERDICT_AUDIT, XS_REASON_DEFAULT_IN,
	       c->seginfo[2].in_rule_id);
	xs_compiled_free(c);
}

Test(overlays, derived_segments)
{
	struct xs_overlay_in v[] = {
		grant(1, "grant 10.1.2.0/24 -> b : tcp/80", NOW + 60),
		quar(2, "quarantine 10.1.2.3"),
		grant(3, "grant 10.1.2.3 -> a : tcp/81", NOW + 60), /* the same address */
		quar(4, "quarantine 10.2.0.0/16 strict"),	    /* b's only prefix: b itself */
	};
	struct ov o = { v, 4, .now = NOW };
	struct xs_compiled *c = must("segment a 10.1.0.0/16\n"
				     "segment b 10.2.0.0/16\n"
				     "segment c 10.3.0.0/16, 10.4.0.0/16\n"
				     "allow a -> a : tcp/1\n"
				     "allow a -> c : tcp/2\n"
				     "allow c -> a : tcp/3\n"
				     "default a in allow out deny\n"
				     "mode a monitor\n",
				     &o);
	const struct xs_policy *p = c->policy;
	uint16_t a = seg_named(c, "a"), d24 = seg_named(c, "a[10.1.2.0/24]"),
		 d32 = seg_named(c, "a[10.1.2.3]");

	/* after link-local, in prefix order; one for two overlays on one address */
	cr_assert_eq(p->nsegments, 6);
	cr_assert_eq(d24, p->linklocal_seg + 1);
	cr_assert_eq(d32, d24 + 1);
	cr_assert_eq(p->segments[d24 - 1].parent, a);
	cr_assert_eq(p->segments[d32 - 1].parent, d24);
	cr_assert_eq(c->seginfo[d32].in_action, XS_ACT_ALLOW);
	cr_assert_eq(c->seginfo[d32].out_action, XS_ACT_DENY);
	cr_assert_eq(c->seginfo[d32].in_rule_id, c->seginfo[a].in_rule_id);
	cr_assert_eq(c->seginfo[d32].monitor, 1);
	cr_assert_eq(c->seginfo[seg_named(c, "b")].flags, XS_SEGF_QUARANTINE);
	/* a's rules, both ways, with itself and its derived segments */
	EXPECT(c, "10.1.2.3", "10.1.2.3", TCP, 1, XS_VERDICT_DROP, XS_REASON_QUARANTINE,
	       origin(c, XS_ORIGIN_QUARANTINE, "quarantine 10.1.2.3"));
	EXPECT(c, "10.1.2.4", "10.1.9.9", TCP, 1, XS_VERDICT_ALLOW, XS_REASON_RULE, 1);
	EXPECT(c, "10.1.9.9", "10.1.2.4", TCP, 1, XS_VERDICT_ALLOW, XS_REASON_RULE, 1);
	EXPECT(c, "10.1.2.4", "10.1.2.5", TCP, 1, XS_VERDICT_ALLOW, XS_REASON_RULE, 1);
	EXPECT(c, "10.1.2.4", "10.4.0.1", TCP, 2, XS_VERDICT_ALLOW, XS_REASON_RULE, 2);
	EXPECT(c, "10.3.0.1", "10.1.2.4", TCP, 3, XS_VERDICT_ALLOW, XS_REASON_RULE, 3);
	EXPECT(c, "10.1.2.4", "10.4.0.1", TCP, 3, XS_VERDICT_AUDIT, XS_REASON_DEFAULT_OUT,
	       c->seginfo[a].out_rule_id);
	/* an overlay of the /24 reaches the /32 inside it (but its quarantine wins) */
	EXPECT(c, "10.1.2.4", "10.2.0.1", TCP, 80, XS_VERDICT_DROP, XS_REASON_QUARANTINE,
	       origin(c, XS_ORIGIN_QUARANTINE, "quarantine 10.2.0.0/16 strict"));
	cr_assert_not_null(entry(c, "a[10.1.2.3]", "b", TCP, 80));
	cr_assert_eq(entry(c, "a[10.1.2.3]", "b", TCP, 80)->val.flags, XS_RULEF_GRANT);
	cr_assert_null(entry(c, "a", "b", TCP, 80));
	xs_compiled_free(c);
}

Test(overlays, errors)
{
	static const char *const pol = "service rdp tcp/3389\n"
				       "segment a 10.1.0.0/16\n"
				       "segment a2 10.1.5.0/24\n"
				       "segment c 10.3.0.0/16, 10.4.0.0/16\n"
				       "allow a -> a2 : rdp\n"
				       "allow c -> a\n";
	struct xs_overlay_in v[4];
	struct ov o = { v, 1, .now = NOW };

	v[0] = grant(3, "grant a -> a22 : rdp, rpd", NOW + 9);
	fails(pol, &o,
	      "<grant 3>:1:12: error: unknown segment 'a22'; did you mean 'a2'?\n"
	      "<grant 3>:1:23: error: unknown service 'rpd'; did you mean 'rdp'?\n"
	      "<grant 3>:0:0: note: this policy cannot hold grant 3: revoke it ('xdpseg revoke "
	      "3'), or apply a policy that has what it names\n");
	v[0] = quar(2, "quarantine 10.1.0.0/20");
	fails(pol, &o,
	      "<quarantine 2>:1:12: error: 10.1.0.0/20 holds 10.1.5.0/24 of segment 'a2': an "
	      "address or prefix names a part of one segment\n"
	      "<quarantine 2>:0:0: note: this policy cannot hold quarantine 2: release it "
	      "('xdpseg release 2'), or apply a policy that has what it names\n");
	v[0] = quar(2, "quarantine 10.3.0.0/16, fe80::1, world, any strict");
	fails(pol, &o,
	      "<quarantine 2>:1:12: error: 10.3.0.0/16 is one of the prefixes of segment 'c': "
	      "name the segment, or an address or a longer prefix inside it\n"
	      "<quarantine 2>:1:25: error: fe80::1/128 is link-local: name the segment "
	      "('link-local', or the segment of the port it is behind)\n"
	      "<quarantine 2>:1:34: error: 'world' cannot be quarantined: name its addresses\n"
	      "<quarantine 2>:1:41: error: 'any' is not a segment: name segments or addresses\n"
	      "<quarantine 2>:0:0: note: this policy cannot hold quarantine 2: release it "
	      "('xdpseg release 2'), or apply a policy that has what it names\n");
	v[0] = quar(2, "quarantine a forensic c:rdp");
	fails(pol, &o,
	      "<quarantine 2>:1:23: error: 'c:rdp': write ' : ' with blanks before the services "
	      "(':' is part of an IPv6 address)\n"
	      "<quarantine 2>:0:0: note: this policy cannot hold quarantine 2: release it "
	      "('xdpseg release 2'), or apply a policy that has what it names\n");
	v[0] = grant(1, "quarantine a", NOW + 9);
	fails(pol, &o,
	      "<grant 1>:1:1: error: expected 'grant' (overlay 1 is a grant)\n"
	      "<grant 1>:0:0: note: this policy cannot hold grant 1: revoke it ('xdpseg revoke "
	      "1'), or apply a policy that has what it names\n");
	v[0] = grant(1, "grant 192.0.2.1 -> world : rdp", NOW + 9);
	fails(pol, &o,
	      "<grant 1>:1:1: error: a grant from 'world' to 'world' changes nothing: xdpseg "
	      "governs flows that touch a segment\n"
	      "<grant 1>:0:0: note: this policy cannot hold grant 1: revoke it ('xdpseg revoke "
	      "1'), or apply a policy that has what it names\n");
	v[0] = grant(1, "grant a -> c", NOW + 9);
	fails(pol, &o,
	      "<grant 1>:1:13: error: expected: grant FROM[, FROM...] -> TO[, TO...] : "
	      "SERVICE|PROTO/PORT, ...\n"
	      "<grant 1>:0:0: note: this policy cannot hold grant 1: revoke it ('xdpseg revoke "
	      "1'), or apply a policy that has what it names\n");
	v[0] = quar(5, "quarantine a");
	v[1] = quar(5, "quarantine c");
	o.n = 2;
	fails(pol, &o, "<quarantine 5>:0:0: error: overlay number 5 is given twice\n");
	v[1] = quar(6, "quarantine a strict forensic c");
	fails(pol, &o,
	      "<quarantine 6>:1:21: error: nothing follows 'strict' (a strict quarantine has no "
	      "forensic access)\n"
	      "<quarantine 6>:0:0: note: this policy cannot hold quarantine 6: release it "
	      "('xdpseg release 6'), or apply a policy that has what it names\n");
	/* failsafe ports: at the configuration's line */
	{
		struct xs_failsafe_in fs[] = { { "10.1.0.1 : sssh", "/etc/xdpseg/xdpseg.conf", 9 },
					       { "a : rdp", "/etc/xdpseg/xdpseg.conf", 10 },
					       { "10.1.0.2", "/etc/xdpseg/xdpseg.conf", 11 } };
		struct ov f = { NULL, 0, fs, 3, NOW };

		fails(pol, &f,
		      "/etc/xdpseg/xdpseg.conf:9:12: error: unknown service 'sssh'\n"
		      "/etc/xdpseg/xdpseg.conf:10:1: error: expected an address or prefix, found "
		      "'a'\n"
		      "/etc/xdpseg/xdpseg.conf:11:9: error: expected: ADDRESS[/LENGTH][, ...] : "
		      "SERVICE|PROTO/PORT, ...\n");
	}
}

Test(overlays, policy_declarations)
{
	struct xs_compiled *c;
	char *diags;

	cr_assert_eq(compile_more("segment a 10.1.0.0/16\n"
				  "quarantine a\n"
				  "quarantine forensic any : tcp/22\n"
				  "quarantine forensic b : tcp/22\n"
				  "quarantine forensic a : ssh\n"
				  "quarantine forensic a, : tcp/1\n",
				  NULL, 0, NULL, &c, &diags),
		     -EINVAL);
	cr_assert_str_eq(
		diags,
		"main.policy:2:12: error: expected: quarantine forensic SEGMENT[, SEGMENT...] [: "
		"SERVICE|PROTO/PORT, ...] (a policy declares its forensic tools; 'xdpseg "
		"quarantine' quarantines)\n"
		"main.policy:3:21: error: 'any' cannot be a forensic tool: name its segments\n"
		"main.policy:4:21: error: unknown segment 'b'\n"
		"main.policy:5:25: error: unknown service 'ssh'\n"
		"main.policy:6:22: error: trailing ','\n");
	free(diags);
	/* a declaration makes a segment used; without services: every port */
	cr_assert_eq(compile_more("segment a 10.1.0.0/16\n"
				  "segment b 10.2.0.0/16\n"
				  "quarantine forensic b\n",
				  NULL, 0, NULL, &c, &diags),
		     0);
	cr_assert_str_eq(diags, "main.policy:1:9: warning: segment 'a' is never used\n");
	free(diags);
	xs_compiled_free(c);
}

/* ---- The artefact and the sources ------------------------------------------------ */

static const struct memfile LIB[] = {
	{ "lib/services.policy", "service rdp tcp/3389\nservice ssh tcp/22\n", 0 },
	{ "lib/more.policy", "include \"services.policy\"\n", 0 },
};

static const char *const TOP = "include \"lib/more.policy\"\n"
			       "include \"lib/services.policy\"\n"
			       "segment vda 10.10.0.0/16\n"
			       "segment bastion 10.9.0.0/24\n"
			       "allow bastion -> vda : ssh\n"
			       "quarantine forensic bastion : ssh\n";

Test(overlays, sources_and_resolver)
{
	struct xs_overlay_in v[] = { quar(1, "quarantine 10.10.0.7"),
				     grant(2, "grant bastion -> vda : rdp", NOW + 60) };
	struct ov o = { v, 2, .now = NOW };
	struct xs_compile_opts opts = { v, 2, NULL, 0, NOW, TAI };
	struct xs_compiled *c, *again;
	struct xs_file f = { 0 };
	struct xs_diags d;

	cr_assert_eq(compile_more(TOP, LIB, 2, &o, &c, NULL), 0);
	/* each file read once, the top-level first */
	cr_assert_eq(c->nsources, 3);
	cr_assert_str_eq(c->sources[0].path, "main.policy");
	cr_assert_str_eq(c->sources[1].path, "lib/more.policy");
	cr_assert_str_eq(c->sources[2].path, "lib/services.policy");
	cr_assert_eq(c->sources[2].len, strlen(LIB[0].text));
	/* the resolver over them: the top-level, an include next to its includer */
	cr_assert_eq(xs_resolve_sources(c, NULL, "main.policy", 1 << 20, &f), 0);
	cr_assert_str_eq(f.text, TOP);
	free(f.path);
	free(f.text);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(xs_resolve_sources(c, "lib/more.policy", "services.policy", 1 << 20, &f), 0);
	cr_assert_str_eq(f.path, "lib/services.policy");
	free(f.path);
	free(f.text);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(
		xs_resolve_sources(c, "main.policy", "./lib/../lib/services.policy", 1 << 20, &f),
		0);
	cr_assert_str_eq(f.path, "lib/services.policy");
	free(f.path);
	free(f.text);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(xs_resolve_sources(c, "main.policy", "services.policy", 1 << 20, &f), 0,
		     "a search path's file: by its name's end");
	free(f.path);
	free(f.text);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(xs_resolve_sources(c, "main.policy", "nope.policy", 1 << 20, &f), -ENOENT);
	cr_assert_eq(xs_resolve_sources(c, "main.policy", "lib/services.policy", 4, &f), -EFBIG);
	/* recompiled from its sources: the same */
	xs_diags_init(&d);
	cr_assert_eq(
		xs_policy_compile_opts("main.policy", xs_resolve_sources, c, &opts, &again, &d), 0);
	cr_assert(!memcmp(c->hash, again->hash, 32));
	cr_assert_eq(again->nsources, 3);
	xs_diags_free(&d);
	xs_compiled_free(again);
	xs_compiled_free(c);
}

Test(overlays, artefact_round_trip)
{
	struct xs_overlay_in v[] = { quar(1, "quarantine 10.10.0.7"),
				     grant(2, "grant bastion -> 10.10.0.8 : rdp", NOW + 60),
				     quar(3, "quarantine 10.10.0.9 forensic bastion : tcp/5900") };
	struct xs_failsafe_in fs[] = { { "10.9.0.1 : ssh", "/etc/xdpseg/xdpseg.conf", 2 } };
	struct ov o = { v, 3, fs, 1, NOW };
	struct xs_compile_opts opts = { v, 3, fs, 1, NOW, TAI };
	struct xs_compiled *c, *d = NULL, *again;
	struct xs_diags dg;
	char err[256], *file = NULL;
	void *buf, *buf2;
	size_t len, len2;
	struct rng r = { 77 };

	v[1].flags = XS_RULEF_DRAIN;
	cr_assert_eq(compile_more(TOP, LIB, 2, &o, &c, NULL), 0);
	cr_assert_eq(xs_compiled_serialize(c, "/etc/xdpseg/policy", &buf, &len), 0);
	cr_assert_eq(xs_compiled_deserialize(buf, len, &d, &file, err, sizeof(err)), 0, "%s", err);
	cr_assert(!memcmp(c->hash, d->hash, 32));
	cr_assert_eq(d->noverlays, 3);
	cr_assert(!memcmp(c->overlays, d->overlays, 3 * sizeof(*d->overlays)));
	cr_assert_eq(d->nrules, c->nrules);
	cr_assert(!memcmp(c->rules, d->rules, c->nrules * sizeof(*c->rules)));
	cr_assert(!memcmp(c->seginfo, d->seginfo, c->nseginfo * sizeof(*c->seginfo)));
	cr_assert_eq(d->nsources, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_str_eq(d->sources[i].path, c->sources[i].path);
		cr_assert_eq(d->sources[i].len, c->sources[i].len);
		cr_assert(!memcmp(d->sources[i].text, c->sources[i].text, c->sources[i].len));
	}
	cr_assert_eq(d->policy->noverlay_rules, c->policy->noverlay_rules);
	cr_assert_str_eq(d->policy->segments[d->policy->nsegments - 1].name, "vda[10.10.0.9]");
	cr_assert(d->policy->segments[d->policy->nsegments - 1].derived);
	/* written again: the same bytes */
	cr_assert_eq(xs_compiled_serialize(d, file, &buf2, &len2), 0);
	cr_assert(len == len2 && !memcmp(buf, buf2, len));
	/* the evaluator decides alike on what was read back */
	for (int i = 0; i < 3000; i++) {
		struct xs_flow f = { .family = 4, .proto = TCP, .now = NOW + TAI + rnd(&r, 120) };
		struct xs_decision a, b;
		static const uint16_t ports[] = { 22, 3389, 5900, 80 };

		f.dport = ports[rnd(&r, 4)];
		f.saddr[0] = f.daddr[0] = 10;
		f.saddr[1] = (uint8_t)(9 + rnd(&r, 2));
		f.daddr[1] = (uint8_t)(9 + rnd(&r, 2));
		f.saddr[3] = (uint8_t)(rnd(&r, 3) ? 7 + rnd(&r, 3) : rnd(&r, 3));
		f.daddr[3] = (uint8_t)(rnd(&r, 3) ? 7 + rnd(&r, 3) : rnd(&r, 3));
		xs_policy_evaluate(c->policy, &f, &a);
		xs_policy_evaluate(d->policy, &f, &b);
		cr_assert(!memcmp(&a, &b, sizeof(a)), "flow %d", i);
	}
	/* recompiled from the artefact's sources: the same */
	xs_diags_init(&dg);
	cr_assert_eq(xs_policy_compile_opts(file, xs_resolve_sources, d, &opts, &again, &dg), 0);
	cr_assert(!memcmp(again->hash, c->hash, 32));
	xs_diags_free(&dg);
	xs_compiled_free(again);
	free(buf);
	free(buf2);
	free(file);
	xs_compiled_free(d);
	xs_compiled_free(c);
}

/* ---- Differential: random policies and overlays, tables vs evaluator -------------- */

/* A few addresses each random policy's overlays and flows share, so that
 * overlays meet each other and flows meet them. */
struct hot {
	uint8_t family;
	uint8_t a[16];
};

static struct hot hot[4];

static void rand_hot(struct rng *r, int nseg)
{
	for (int i = 0; i < 4; i++) {
		hot[i].family = rnd(r, 4) ? 4 : 6;
		rand_addr(r, nseg, hot[i].family, hot[i].a);
	}
}

/* A target: a segment (one time in `names`; 0: never), or an address /
 * prefix (mostly around hot[from..from+n)). */
static void rand_target(struct rng *r, int nseg, FILE *f, uint32_t names, uint32_t from, uint32_t n)
{
	static const uint32_t lens[] = { 32, 32, 32, 28, 24 };
	uint8_t a[16];
	char s[INET6_ADDRSTRLEN];
	const struct hot *h = &hot[from + rnd(r, n)];
	uint32_t len = h->family == 4 ? lens[rnd(r, 5)] : 128;

	if (names && rnd(r, names) == 0) {
		fprintf(f, "s%u", rnd(r, (uint32_t)nseg));
		return;
	}
	memcpy(a, h->a, 16);
	if (rnd(r, 6) == 0)
		rand_addr(r, nseg, h->family, a);
	if (h->family == 4)
		a[3] &= len == 32 ? 0xff : len == 28 ? 0xf0 : 0;
	inet_ntop(h->family == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
	fprintf(f, len == 32 || len == 128 ? "%s" : "%s/%u", s, len);
}

/* Services in a small space: overlays overlap each other and the rules. */
static void rand_services(struct rng *r, FILE *f)
{
	static const char *const protos[] = { "tcp", "tcp", "tcp", "udp", "icmp", "icmpv6" };
	int n = 1 + (int)rnd(r, 2);

	fprintf(f, " :");
	for (int i = 0; i < n; i++) {
		uint32_t lo = 1 + rnd(r, 12), hi = lo + rnd(r, 6);

		fprintf(f, "%s %s/%u-%u", i ? "," : "", protos[rnd(r, 6)], lo, hi);
	}
}

static char *rand_overlay(struct rng *r, int nseg, uint8_t *kind)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int n = 1 + (int)rnd(r, 2);

	/* grants more often than quarantines, which decide all they touch */
	if (rnd(r, 5) >= 2) {
		*kind = XS_OVERLAY_GRANT;
		fprintf(f, "grant ");
		for (int i = 0; i < n; i++) {
			fprintf(f, i ? ", " : "");
			rand_target(r, nseg, f, 2, 0, 4);
		}
		fprintf(f, " -> ");
		rand_target(r, nseg, f, 4, 1, 3);
		rand_services(r, f);
	} else {
		*kind = XS_OVERLAY_QUARANTINE;
		fprintf(f, "quarantine ");
		for (int i = 0; i < n; i++) {
			fprintf(f, i ? ", " : "");
			rand_target(r, nseg, f, 8, 0, 2);
		}
		switch (rnd(r, 3)) {
		case 0:
			break;
		case 1:
			fprintf(f, " strict");
			break;
		default:
			for (int k = 1 + (int)rnd(r, 2); k; k--) {
				fprintf(f, " forensic ");
				rand_target(r, nseg, f, 2, 0, 4);
				if (rnd(r, 3))
					rand_services(r, f);
			}
		}
	}
	fclose(f);
	return text;
}

Test(overlays, differential_random)
{
	static const uint8_t protos[] = { 6, 6, 6, 17, 1, 58, 47 };
	struct rng r = { 0x0ae51a75 };
	int compiled = 0, flows_by_overlay = 0;

	for (int p = 0; p < 400; p++) {
		struct xs_overlay_in v[8];
		char *texts[8] = { 0 }, fsbuf[2][96], *ptext, *pol = NULL;
		struct xs_failsafe_in fs[2];
		int nseg, nov = (int)rnd(&r, 9), nfs = (int)rnd(&r, 3);
		struct xs_compiled *c = NULL;
		struct xs_tables t;
		struct ov o;
		size_t plen = 0;
		FILE *pf;

		ptext = rand_policy_ll(&r, &nseg);
		rand_hot(&r, nseg);
		pf = open_memstream(&pol, &plen);
		fputs(ptext, pf);
		if (rnd(&r, 2))
			fprintf(pf, "quarantine forensic s%u : tcp/1-30\n",
				rnd(&r, (uint32_t)nseg));
		fclose(pf);
		for (int i = 0; i < nov; i++) {
			uint8_t kind;

			texts[i] = rand_overlay(&r, nseg, &kind);
			v[i] = kind == XS_OVERLAY_GRANT
				       ? grant((uint32_t)(i + 1), texts[i], NOW + rnd(&r, 100))
				       : quar((uint32_t)(i + 1), texts[i]);
			if (kind == XS_OVERLAY_GRANT && rnd(&r, 3) == 0)
				v[i].flags = XS_RULEF_DRAIN;
		}
		for (int i = 0; i < nfs; i++) {
			char *t = NULL;
			size_t tl = 0;
			FILE *tf = open_memstream(&t, &tl);

			rand_target(&r, nseg, tf, 0, 0, 4);
			rand_services(&r, tf);
			fclose(tf);
			snprintf(fsbuf[i], sizeof(fsbuf[i]), "%s", t);
			free(t);
			fs[i] = (struct xs_failsafe_in){ fsbuf[i], "xdpseg.conf", i + 1 };
		}
		o = (struct ov){ v, (size_t)nov, fs, (size_t)nfs, NOW };
		if (compile_more(pol, NULL, 0, &o, &c, NULL)) {
			/* a random prefix may hold another segment's, an address be link-local */
			goto next;
		}
		compiled++;
		xs_tables_init(&t, c);
		for (int i = 0; i < 300; i++) {
			struct xs_flow f = { 0 };
			struct xs_decision e;
			struct xs_lookup l;

			f.family = rnd(&r, 3) ? 4 : 6;
			f.proto = protos[rnd(&r, 7)];
			f.dport = (uint16_t)rnd(&r, 24);
			f.now = NOW + TAI + rnd(&r, 110);
			rand_addr_ll(&r, nseg, f.family, f.saddr);
			rand_addr_ll(&r, nseg, f.family, f.daddr);
			for (int side = 0; side < 2; side++) {
				const struct hot *h = &hot[rnd(&r, 4)];

				if (h->family != f.family || rnd(&r, 4) == 0)
					continue;
				memcpy(side ? f.daddr : f.saddr, h->a, 16);
				if (f.family == 4 && rnd(&r, 2))
					(side ? f.daddr : f.saddr)[3] ^= (uint8_t)rnd(&r, 32);
			}
			/* often an address of a derived segment */
			for (int side = 0; side < 2; side++) {
				uint16_t pick;
				const struct xs_segment *s;

				if (c->policy->nsegments <= c->policy->linklocal_seg || rnd(&r, 2))
					continue;
				pick = (uint16_t)(c->policy->linklocal_seg + 1 +
						  rnd(&r, (uint32_t)(c->policy->nsegments -
								     c->policy->linklocal_seg)));
				s = &c->policy->segments[pick - 1];
				f.family = s->prefixes[0].family;
				memcpy(side ? f.daddr : f.saddr, s->prefixes[0].addr, 16);
				(side ? f.daddr : f.saddr)[f.family == 4 ? 3 : 15] |=
					(uint8_t)(s->prefixes[0].len < (f.family == 4 ? 32 : 128)
							  ? rnd(&r, 4)
							  : 0);
			}
			if (f.family == 4) { /* a family for both sides */
				memset(f.saddr + 4, 0, 12);
				memset(f.daddr + 4, 0, 12);
			}
			if (rnd(&r, 4) == 0)
				f.src_port_seg = (uint16_t)(1 + rnd(&r, (uint32_t)nseg));
			xs_tables_decide(&t, &f, f.now, &l);
			xs_policy_evaluate(c->policy, &f, &e);
			if (e.reason >= XS_REASON_QUARANTINE)
				flows_by_overlay++;
			cr_assert(
				!memcmp(&l.d, &e, sizeof(e)),
				"policy %d flow %d: tables %s %s #%u (%u -> %u, %u), evaluator %s "
				"%s #%u (%u -> %u, %u)\n%s",
				p, i, xs_verdict_name(l.d.verdict), xs_reason_name(l.d.reason),
				l.d.rule_id, l.d.src_seg, l.d.dst_seg, l.d.deadline,
				xs_verdict_name(e.verdict), xs_reason_name(e.reason), e.rule_id,
				e.src_seg, e.dst_seg, e.deadline, pol);
		}
		xs_compiled_free(c);
	next:
		for (int i = 0; i < nov; i++)
			free(texts[i]);
		free(ptext);
		free(pol);
	}
	cr_assert_gt(compiled, 200, "only %d of 400 compiled", compiled);
	cr_assert_gt(flows_by_overlay, 5000, "only %d flows decided by an overlay",
		     flows_by_overlay);
}

/* ---- The artefact's reader: overlays' data inconsistent with the rest ------------ */

/* The body of section `tag` of a well-formed artefact, and its count. */
static uint8_t *sect_body(uint8_t *b, uint32_t tag, uint32_t *count)
{
	size_t at = 64;

	for (;;) {
		uint32_t t;
		uint64_t bytes;

		memcpy(&t, b + at, 4);
		memcpy(count, b + at + 4, 4);
		memcpy(&bytes, b + at + 8, 8);
		if (t == tag)
			return b + at + 16;
		at += 16 + bytes;
	}
}

/* Rejected with exactly `want` once the checksum is made right again. */
static void rejected_as(uint8_t *b, size_t n, const char *want)
{
	struct xs_compiled *c = NULL;
	char err[256], *f = NULL;

	xs_sha256(b, n - 32, b + n - 32);
	cr_assert_eq(xs_compiled_deserialize(b, n, &c, &f, err, sizeof(err)), -EINVAL,
		     "accepted, expected: %s", want);
	cr_assert_str_eq(err, want);
}

Test(overlays, artefact_rejects_inconsistent_overlays)
{
	struct xs_overlay_in v[] = { quar(1, "quarantine 10.10.0.7"),
				     grant(2, "grant bastion -> 10.10.0.8 : rdp", NOW + 60) };
	struct ov o = { v, 2, .now = NOW };
	struct xs_compiled *c = must(POLICY, &o);
	uint32_t gid = origin(c, XS_ORIGIN_GRANT, v[1].text), count;
	size_t n, k = 0, plain = 0;
	uint8_t *b, *copy, *body;
	char want[256];
	void *buf;

	cr_assert_eq(xs_compiled_serialize(c, "p", &buf, &n), 0);
	b = buf;
	copy = malloc(n);
	for (size_t i = 0; i < c->nrules; i++) {
		if (c->rules[i].val.rule_id == gid)
			k = i;
		if (!c->rules[i].val.flags && c->rules[i].val.rule_id == 1)
			plain = i;
	}

	/* a quarantine flag on a segment no quarantine holds */
	memcpy(copy, b, n);
	body = sect_body(copy, 11, &count);
	body[16 * 1 + 3] = XS_SEGF_QUARANTINE;
	memcpy(body + 16 * 1 + 12, &c->overlays[0].rule_id, 4);
	rejected_as(copy, n,
		    "section 'seginfo', record 2: segment 1's quarantine is not its overlays'");
	/* ... and its quarantine's origin another's */
	memcpy(copy, b, n);
	body = sect_body(copy, 11, &count);
	memcpy(body + 16 * seg_named(c, "vda[10.10.0.7]") + 12, &gid, 4);
	snprintf(want, sizeof(want),
		 "section 'seginfo', record %u: segment %u's quarantine is not its overlays'",
		 seg_named(c, "vda[10.10.0.7]") + 1, seg_named(c, "vda[10.10.0.7]"));
	rejected_as(copy, n, want);

	/* entries: a grant that is forensic too, a forensic entry of a rule's origin, a
	 * drain without a grant, a fallback that is not a rule's */
	memcpy(copy, b, n);
	body = sect_body(copy, 10, &count);
	body[28 * k + 25] |= XS_RULEF_FORENSIC;
	snprintf(want, sizeof(want),
		 "section 'rule-table', record %zu: flags 0x5 are not an entry's", k + 1);
	rejected_as(copy, n, want);
	memcpy(copy, b, n);
	body = sect_body(copy, 10, &count);
	body[28 * plain + 25] = XS_RULEF_FORENSIC;
	snprintf(want, sizeof(want),
		 "section 'rule-table', record %zu: the origin 1 is not a forensic access's",
		 plain + 1);
	rejected_as(copy, n, want);
	memcpy(copy, b, n);
	body = sect_body(copy, 10, &count);
	body[28 * plain + 25] = XS_RULEF_DRAIN;
	snprintf(want, sizeof(want),
		 "section 'rule-table', record %zu: flags 0x2 are not an entry's", plain + 1);
	rejected_as(copy, n, want);
	memcpy(copy, b, n);
	body = sect_body(copy, 10, &count);
	memcpy(body + 28 * k + 12 + 4, &gid, 4); /* fb_rule_id */
	snprintf(want, sizeof(want),
		 "section 'rule-table', record %zu: the fallback's origin %u is not a rule's",
		 k + 1, gid);
	rejected_as(copy, n, want);

	/* records: out of order, kind against origin */
	memcpy(copy, b, n);
	body = sect_body(copy, 17, &count);
	cr_assert_eq(count, 2);
	body[420 + 4 + 16] = 1; /* the second record's number */
	rejected_as(copy, n,
		    "section 'overlays', record 2: number 1 is not after the one before it");
	memcpy(copy, b, n);
	body = sect_body(copy, 17, &count);
	body[420 + 4 + 24] = XS_OVERLAY_QUARANTINE; /* the second record's kind */
	snprintf(want, sizeof(want),
		 "section 'overlays', record 2: its origin %u is not a quarantine's", gid);
	rejected_as(copy, n, want);

	/* a derived segment's parent */
	memcpy(copy, b, n);
	body = sect_body(copy, 5, &count);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t name;

		if (i == count - 1) {
			uint16_t self = (uint16_t)count;

			memcpy(body + 12, &self, 2);
			break;
		}
		memcpy(&name, body + 28, 4);
		body += 32 + name;
	}
	snprintf(want, sizeof(want),
		 "section 'segments', record %u: a derived segment not after the others, or with "
		 "parent %u",
		 count, count);
	rejected_as(copy, n, want);

	free(copy);
	free(buf);
	xs_compiled_free(c);
}

/* A bound port's addresses are its segment's, derived segments included: a
 * quarantined VM is not a spoofer, and the bind entries do not change. */
Test(overlays, binds_unchanged)
{
	static const char *const pol = "segment vda 10.1.0.0/16, fd00:1::/64\n"
				       "segment admins 10.1.99.0/24\n"
				       "bind vda vnet*\n"
				       "bind admins tap0 10.1.99.5\n"
				       "allow admins -> vda\n";
	struct xs_overlay_in v[] = { quar(1, "quarantine 10.1.0.5, fd00:1::5 strict"),
				     grant(2, "grant 10.1.99.5 -> 10.1.0.0/20 : tcp/22",
					   NOW + 60) };
	struct ov o = { v, 2, .now = NOW };
	struct xs_compiled *a, *b;
	uint8_t addr4[16] = { 10, 1, 0, 5 }, addr6[16] = { 0xfd, 0, 0, 1, [15] = 5 };

	a = must(pol, NULL);
	b = must(pol, &o);
	cr_assert_eq(a->nbind4, b->nbind4);
	cr_assert(!memcmp(a->bind4, b->bind4, a->nbind4 * sizeof(*a->bind4)));
	cr_assert_eq(a->nbind6, b->nbind6);
	cr_assert(!memcmp(a->bind6, b->bind6, a->nbind6 * sizeof(*a->bind6)));
	cr_assert(!memcmp(a->binds, b->binds, a->nbinds * sizeof(*a->binds)));
	cr_assert(xs_policy_bind_allows(b->policy, &b->policy->bindings[0], 4, addr4));
	cr_assert(xs_policy_bind_allows(b->policy, &b->policy->bindings[0], 6, addr6));
	{
		struct xs_tables t;

		xs_tables_init(&t, b);
		cr_assert(xs_tables_bind_allows(&t, 1, 4, addr4));
		cr_assert(xs_tables_bind_allows(&t, 1, 6, addr6));
		addr4[2] = 99;
		cr_assert(!xs_tables_bind_allows(&t, 1, 4, addr4));
		cr_assert(!xs_policy_bind_allows(b->policy, &b->policy->bindings[0], 4, addr4));
	}
	xs_compiled_free(a);
	xs_compiled_free(b);
}

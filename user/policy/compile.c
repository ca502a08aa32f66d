// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The compiler proper: source form in, map entries out. Deny/allow
 * precedence is resolved here, so one longest-prefix lookup in the rule
 * table decides a new flow (see policies/README.md, "Compiled form").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

size_t xs_port_split(uint32_t lo, uint32_t hi, void (*fn)(void *ctx, uint16_t start, int bits),
		     void *ctx)
{
	size_t n = 0;

	while (lo <= hi) {
		int k = 16;

		/* largest aligned block starting at lo that ends within hi */
		while (k > 0 && ((lo & ((1u << k) - 1)) || lo + (1u << k) - 1 > hi))
			k--;
		if (fn)
			fn(ctx, (uint16_t)lo, 16 - k);
		n++;
		lo += 1u << k;
	}
	return n;
}

/* ---- Rule table ---------------------------------------------------------- */

struct triple {
	uint16_t src, dst;
	uint32_t rule; /* index into policy->rules */
};

static int triple_cmp(const void *a, const void *b)
{
	const struct triple *x = a, *y = b;

	if (x->src != y->src)
		return x->src - y->src;
	if (x->dst != y->dst)
		return x->dst - y->dst;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

struct val {
	uint8_t action;
	uint32_t id;
};

/* Fold rule r into the best value so far: deny beats allow, lowest id wins. */
static void better(struct val *v, const struct xs_rule *r)
{
	if (v->action == XS_ACT_DENY && r->action != XS_ACT_DENY)
		return;
	if (v->action == r->action && v->id && v->id < r->id)
		return;
	v->action = r->action;
	v->id = r->id;
}

static bool val_eq(struct val a, struct val b)
{
	return a.action == b.action && a.id == b.id;
}

struct rbuild {
	struct xs_rule_entry *v;
	size_t n, cap;
	bool nomem;
	/* current pair, protocol and value, for emit_block */
	uint16_t src, dst;
	uint8_t proto;
	struct val val;
};

static void add_entry(struct rbuild *b, uint32_t plen, uint8_t proto, uint16_t port)
{
	struct xs_rule_entry *e;

	if (b->nomem)
		return;
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 256;
		struct xs_rule_entry *v = realloc(b->v, nc * sizeof(*v));

		if (!v) {
			b->nomem = true;
			return;
		}
		b->v = v;
		b->cap = nc;
	}
	e = &b->v[b->n++];
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = plen;
	e->key.src_seg = b->src;
	e->key.dst_seg = b->dst;
	e->key.proto = proto;
	e->key.port = htons(port);
	e->val.rule_id = b->val.id;
	e->val.action = b->val.action;
}

static void emit_block(void *ctx, uint16_t start, int bits)
{
	struct rbuild *b = ctx;

	add_entry(b, XS_RULE_PLEN_PORT(bits), b->proto, start);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Value of protocol `proto` at `port` over the rules of one pair. */
static struct val value_at(const struct xs_policy *p, const struct triple *t, size_t n,
			   uint8_t proto, uint32_t port)
{
	struct val v = { 0 };

	for (size_t i = 0; i < n; i++) {
		const struct xs_rule *r = &p->rules[t[i].rule];

		if (!r->nports) {
			better(&v, r);
			continue;
		}
		for (size_t j = 0; j < r->nports; j++) {
			const struct xs_portspec *ps = &r->ports[j];

			if (ps->proto == proto && ps->lo <= port && port <= ps->hi) {
				better(&v, r);
				break;
			}
		}
	}
	return v;
}

/* Entries of one (src, dst) pair whose rules are t[0..n). */
static void compile_pair(const struct xs_policy *p, const struct triple *t, size_t n,
			 struct rbuild *b)
{
	uint8_t protos[256] = { 0 };
	struct val pair = { 0 };
	uint32_t *cuts = NULL;
	size_t ncuts, cap = 2;

	b->src = t[0].src;
	b->dst = t[0].dst;
	for (size_t i = 0; i < n; i++) {
		const struct xs_rule *r = &p->rules[t[i].rule];

		if (!r->nports)
			better(&pair, r);
		for (size_t j = 0; j < r->nports; j++) {
			protos[r->ports[j].proto] = 1;
			cap += 2;
		}
	}
	if (pair.action) {
		b->val = pair;
		add_entry(b, XS_RULE_PLEN_PAIR, 0, 0);
	}
	cuts = malloc(cap * sizeof(*cuts));
	if (!cuts) {
		b->nomem = true;
		return;
	}
	for (int proto = 1; proto < 256; proto++) {
		uint32_t start;
		struct val cur;

		if (!protos[proto])
			continue;
		/* Breakpoints: where some rule's range starts or ends. */
		ncuts = 0;
		cuts[ncuts++] = 0;
		cuts[ncuts++] = 65536;
		for (size_t i = 0; i < n; i++) {
			const struct xs_rule *r = &p->rules[t[i].rule];

			for (size_t j = 0; j < r->nports; j++) {
				if (r->ports[j].proto != proto)
					continue;
				cuts[ncuts++] = r->ports[j].lo;
				cuts[ncuts++] = (uint32_t)r->ports[j].hi + 1;
			}
		}
		qsort(cuts, ncuts, sizeof(*cuts), u32_cmp);
		/* Walk the elementary intervals, merging equal neighbours into runs;
		 * a run equal to the pair's value is left to the /32 entry. */
		b->proto = (uint8_t)proto;
		start = 0;
		cur = value_at(p, t, n, (uint8_t)proto, 0);
		for (size_t c = 1; c < ncuts; c++) {
			struct val v;

			if (cuts[c] == cuts[c - 1])
				continue;
			if (cuts[c] < 65536) {
				v = value_at(p, t, n, (uint8_t)proto, cuts[c]);
				if (val_eq(v, cur))
					continue;
			} else {
				v = (struct val){ 0 };
			}
			if (!val_eq(cur, pair)) {
				b->val = cur;
				xs_port_split(start, cuts[c] - 1, emit_block, b);
			}
			start = cuts[c];
			cur = v;
		}
	}
	free(cuts);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct xs_rule_entry *x = a, *y = b;

	if (x->key.src_seg != y->key.src_seg)
		return x->key.src_seg - y->key.src_seg;
	if (x->key.dst_seg != y->key.dst_seg)
		return x->key.dst_seg - y->key.dst_seg;
	if (x->key.proto != y->key.proto)
		return x->key.proto - y->key.proto;
	if (ntohs(x->key.port) != ntohs(y->key.port))
		return ntohs(x->key.port) - ntohs(y->key.port);
	return x->key.prefixlen < y->key.prefixlen ? -1 : x->key.prefixlen > y->key.prefixlen;
}

static int compile_rules(const struct xs_policy *p, struct xs_compiled *c)
{
	size_t nseg = p->nsegments + 1, nt = 0, cap = 0;
	struct triple *t = NULL;
	struct rbuild b = { 0 };
	int err = 0;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *r = &p->rules[i];
		size_t ns = r->src == XS_ENDPOINT_ANY ? nseg : 1;
		size_t nd = r->dst == XS_ENDPOINT_ANY ? nseg : 1;

		cap += ns * nd;
	}
	t = malloc((cap + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *r = &p->rules[i];
		size_t s0 = r->src == XS_ENDPOINT_ANY ? 0 : r->src;
		size_t s1 = r->src == XS_ENDPOINT_ANY ? nseg - 1 : r->src;
		size_t d0 = r->dst == XS_ENDPOINT_ANY ? 0 : r->dst;
		size_t d1 = r->dst == XS_ENDPOINT_ANY ? nseg - 1 : r->dst;

		for (size_t s = s0; s <= s1; s++)
			for (size_t d = d0; d <= d1; d++)
				t[nt++] = (struct triple){ (uint16_t)s, (uint16_t)d, (uint32_t)i };
	}
	qsort(t, nt, sizeof(*t), triple_cmp);
	for (size_t i = 0; i < nt && !b.nomem;) {
		size_t j = i;

		while (j < nt && t[j].src == t[i].src && t[j].dst == t[i].dst)
			j++;
		compile_pair(p, t + i, j - i, &b);
		i = j;
	}
	if (b.nomem) {
		err = -ENOMEM;
		goto out;
	}
	if (b.n)
		qsort(b.v, b.n, sizeof(*b.v), entry_cmp);
	c->rules = b.v;
	c->nrules = b.n;
	b.v = NULL;
out:
	free(b.v);
	free(t);
	return err;
}

/* ---- Segment tries --------------------------------------------------------- */

static int lpm4_cmp(const void *a, const void *b)
{
	const struct xs_lpm4_entry *x = a, *y = b;
	int c = memcmp(x->key.addr, y->key.addr, 4);

	return c ? c : (int)x->key.prefixlen - (int)y->key.prefixlen;
}

static int lpm6_cmp(const void *a, const void *b)
{
	const struct xs_lpm6_entry *x = a, *y = b;
	int c = memcmp(x->key.addr, y->key.addr, 16);

	return c ? c : (int)x->key.prefixlen - (int)y->key.prefixlen;
}

static int compile_tries(const struct xs_policy *p, struct xs_compiled *c)
{
	size_t n4 = 0, n6 = 0;

	for (size_t i = 0; i < p->nsegments; i++)
		for (size_t j = 0; j < p->segments[i].nprefixes; j++)
			*(p->segments[i].prefixes[j].family == 4 ? &n4 : &n6) += 1;
	c->v4 = calloc(n4 + 1, sizeof(*c->v4));
	c->v6 = calloc(n6 + 1, sizeof(*c->v6));
	if (!c->v4 || !c->v6)
		return -ENOMEM;
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct xs_segment *s = &p->segments[i];

		for (size_t j = 0; j < s->nprefixes; j++) {
			const struct xs_prefix *px = &s->prefixes[j];

			if (px->family == 4) {
				struct xs_lpm4_entry *e = &c->v4[c->nv4++];

				e->key.prefixlen = px->len;
				memcpy(e->key.addr, px->addr, 4);
				e->val.seg = s->id;
			} else {
				struct xs_lpm6_entry *e = &c->v6[c->nv6++];

				e->key.prefixlen = px->len;
				memcpy(e->key.addr, px->addr, 16);
				e->val.seg = s->id;
			}
		}
	}
	qsort(c->v4, c->nv4, sizeof(*c->v4), lpm4_cmp);
	qsort(c->v6, c->nv6, sizeof(*c->v6), lpm6_cmp);
	return 0;
}

static int compile_seginfo(const struct xs_policy *p, struct xs_compiled *c)
{
	c->nseginfo = p->nsegments + 1;
	c->seginfo = calloc(c->nseginfo, sizeof(*c->seginfo));
	if (!c->seginfo)
		return -ENOMEM;
	c->seginfo[0].in_action = XS_ACT_ALLOW;
	c->seginfo[0].out_action = XS_ACT_ALLOW;
	c->seginfo[0].in_rule_id = p->world_in_rule_id;
	c->seginfo[0].out_rule_id = p->world_out_rule_id;
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct xs_segment *s = &p->segments[i];
		struct xs_seg_info *si = &c->seginfo[s->id];

		si->in_action = s->in_action;
		si->out_action = s->out_action;
		si->monitor = s->monitor;
		si->in_rule_id = s->in_rule_id;
		si->out_rule_id = s->out_rule_id;
	}
	return 0;
}

/*
 * Content hash: SHA-256 of "xdpseg-compiled-v1", then for each table (v4,
 * v6, rules, seginfo) its entry count as 4 little-endian bytes followed by
 * its entries' bytes in order.
 */
static int compile_hash(struct xs_compiled *c)
{
	static const char tag[] = "xdpseg-compiled-v1";
	const struct {
		const void *p;
		size_t n, sz;
	} parts[] = {
		{ c->v4, c->nv4, sizeof(*c->v4) },
		{ c->v6, c->nv6, sizeof(*c->v6) },
		{ c->rules, c->nrules, sizeof(*c->rules) },
		{ c->seginfo, c->nseginfo, sizeof(*c->seginfo) },
	};
	size_t total = sizeof(tag) - 1, o;
	uint8_t *buf;

	for (size_t i = 0; i < 4; i++)
		total += 4 + parts[i].n * parts[i].sz;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, tag, sizeof(tag) - 1);
	o = sizeof(tag) - 1;
	for (size_t i = 0; i < 4; i++) {
		uint32_t n = (uint32_t)parts[i].n;

		for (int k = 0; k < 4; k++)
			buf[o++] = (uint8_t)(n >> (8 * k));
		if (n)
			memcpy(buf + o, parts[i].p, parts[i].n * parts[i].sz);
		o += parts[i].n * parts[i].sz;
	}
	xs_sha256(buf, total, c->hash);
	free(buf);
	return 0;
}

void xs_compiled_free(struct xs_compiled *c)
{
	if (!c)
		return;
	xs_policy_free(c->policy);
	free(c->v4);
	free(c->v6);
	free(c->rules);
	free(c->seginfo);
	free(c);
}

int xs_policy_compile(const char *path, xs_resolve_fn resolve, void *ctx, struct xs_compiled **out,
		      struct xs_diags *diags)
{
	struct xs_compiled *c;
	int err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	err = xs_policy_parse(path, resolve, ctx, &c->policy, diags);
	if (err)
		goto fail;
	err = compile_tries(c->policy, c);
	if (!err)
		err = compile_rules(c->policy, c);
	if (!err)
		err = compile_seginfo(c->policy, c);
	if (err)
		goto fail;
	if (c->nv4 > XS_MAX_PREFIXES4 || c->nv6 > XS_MAX_PREFIXES6) {
		xs_diag_add(
			diags, XS_SEV_ERROR, c->policy->files[0], 0, 0, NULL,
			"the policy has %zu IPv4 and %zu IPv6 prefixes; the limits are %d and %d",
			c->nv4, c->nv6, XS_MAX_PREFIXES4, XS_MAX_PREFIXES6);
		err = -EINVAL;
		goto fail;
	}
	if (c->nrules > XS_MAX_RULE_ENTRIES) {
		xs_diag_add(diags, XS_SEV_ERROR, c->policy->files[0], 0, 0, NULL,
			    "the policy compiles to %zu rule entries; the limit is %d "
			    "(XS_MAX_RULE_ENTRIES): use fewer 'any' endpoints or port ranges",
			    c->nrules, XS_MAX_RULE_ENTRIES);
		err = -EINVAL;
		goto fail;
	}
	err = compile_hash(c);
	if (err)
		goto fail;
	*out = c;
	return 0;
fail:
	xs_compiled_free(c);
	return err;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Warnings of a policy without errors: shadowed and repeated allows, unused
 * names, a segment's prefix inside another's that nothing says is meant.
 *
 * An allow is *shadowed* when each of its pieces (port specs; without ':',
 * the one piece "every protocol and port") is covered by one deny alone,
 * and *repeats* an earlier allow when each piece is covered by one earlier
 * allow alone. Rule o covers a piece of rule r when o's source and
 * destination are r's or `any`, and o has no ':' or one of o's specs of the
 * piece's protocol contains the piece's range. The rule named is the lowest
 * id over the pieces of the lowest-id cover of each piece. A deny *meets* a
 * piece when its source and destination are the allow's or `any`, and it
 * has no ':' or a spec of the piece's protocol (any, without ':') whose
 * range overlaps the piece's: an allow some deny meets and none shadows is
 * *partly shadowed* (by the lowest such deny).
 *
 * Asked rule by rule that is quadratic (65,535 rules: 20 s). Here every
 * (piece, action, candidate endpoint pair) is one query "lowest id of a
 * spec of this group with lo' <= t and hi' >= h" (a cover: t = lo, h = hi;
 * a meet: t = hi, h = lo), answered offline per group: queries sorted by t
 * and specs by lo, specs entered into a Fenwick tree of minimum ids
 * indexed by 65535 - hi as the sweep passes their lo. O((specs + queries)
 * log) in all.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NONE UINT32_MAX
#define FEN_SIZE 65536 /* positions 1..65536 = 65536 - hi */

/* (action, src, dst, proto) in one sortable word; `any` is 0xffff. */
static uint64_t group_key(uint8_t action, uint32_t src, uint32_t dst, uint8_t proto)
{
	uint64_t s = src == XS_ENDPOINT_ANY ? 0xffff : src & 0xffff;
	uint64_t d = dst == XS_ENDPOINT_ANY ? 0xffff : dst & 0xffff;

	return (uint64_t)action << 40 | s << 24 | d << 8 | proto;
}

struct spec_ref {
	uint64_t key;
	uint16_t lo, hi;
	uint32_t id;
};

struct query {
	uint64_t key;
	uint16_t t, h; /* specs with lo <= t and hi >= h */
	uint32_t *ans; /* min'ed with the answer */
};

struct lint {
	const struct xs_policy *p;
	struct spec_ref *specs, *wild; /* wild: rules without ':', key proto 0 */
	size_t nspecs, nwild, capspecs, capwild;
	struct query *q;
	size_t nq, capq;
	uint32_t *ans; /* per piece: [0] lowest deny, [1] lowest allow covering it,
			* [2] lowest deny meeting it */
	bool any_proto0;
	uint32_t fen[FEN_SIZE + 1];
};

static int spec_cmp(const void *a, const void *b)
{
	const struct spec_ref *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int query_cmp(const void *a, const void *b)
{
	const struct query *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

static int add_spec(struct spec_ref **v, size_t *n, size_t *cap, uint64_t key, uint16_t lo,
		    uint16_t hi, uint32_t id)
{
	struct spec_ref *s = xs_push(v, n, cap, sizeof(*s));

	if (!s)
		return -ENOMEM;
	*s = (struct spec_ref){ key, lo, hi, id };
	return 0;
}

/* Every spec of every rule, by group; the rules without ':' apart. */
static int collect_specs(struct lint *L)
{
	const struct xs_policy *p = L->p;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *o = &p->rules[i];
		int err = 0;

		if (!o->id)
			continue;
		if (!o->nports)
			err = add_spec(&L->wild, &L->nwild, &L->capwild,
				       group_key(o->action, o->src, o->dst, 0), 0, 65535, o->id);
		for (size_t k = 0; k < o->nports && !err; k++) {
			const struct xs_portspec *q = &o->ports[k];

			L->any_proto0 |= q->proto == 0;
			err = add_spec(&L->specs, &L->nspecs, &L->capspecs,
				       group_key(o->action, o->src, o->dst, q->proto), q->lo, q->hi,
				       o->id);
		}
		if (err)
			return err;
	}
	if (L->nspecs)
		qsort(L->specs, L->nspecs, sizeof(*L->specs), spec_cmp);
	if (L->nwild) /* lowest id first per key */
		qsort(L->wild, L->nwild, sizeof(*L->wild), spec_cmp);
	return 0;
}

/* The first of v[0..n) (sorted by key) with `key`, or NULL. */
static const struct spec_ref *find_key(const struct spec_ref *v, size_t n, uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].key == key ? &v[lo] : NULL;
}

static uint32_t wild_min(const struct lint *L, uint64_t key)
{
	const struct spec_ref *w = find_key(L->wild, L->nwild, key);

	return w ? w->id : NONE;
}

static void min_into(uint32_t *a, uint32_t v)
{
	if (v < *a)
		*a = v;
}

/* Ask group `key` for its specs with lo <= t and hi >= h, unless it has none. */
static int add_query(struct lint *L, uint64_t key, uint16_t t, uint16_t h, uint32_t *ans)
{
	struct query *q;

	if (!find_key(L->specs, L->nspecs, key))
		return 0;
	q = xs_push(&L->q, &L->nq, &L->capq, sizeof(*q));
	if (!q)
		return -ENOMEM;
	*q = (struct query){ key, t, h, ans };
	return 0;
}

/* The denies of pair (src, dst) that meet piece ps (NULL: every protocol and
 * port) into *ans. */
static int meet_queries(struct lint *L, uint32_t src, uint32_t dst, const struct xs_portspec *ps,
			uint32_t *ans)
{
	static const uint8_t protos[] = { 0, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMPV6 };
	uint16_t lo = ps ? ps->lo : 0, hi = ps ? ps->hi : 65535;
	int err = 0;

	min_into(ans, wild_min(L, group_key(XS_ACT_DENY, src, dst, 0)));
	for (size_t i = 0; i < sizeof(protos) && !err; i++) {
		/* a spec of every protocol meets them all, and is met by them all */
		if (ps && ps->proto && protos[i] && protos[i] != ps->proto)
			continue;
		if (!protos[i] && !L->any_proto0)
			continue;
		err = add_query(L, group_key(XS_ACT_DENY, src, dst, protos[i]), hi, lo, ans);
	}
	return err;
}

/* Queries for one piece of allow rule r (ps NULL: the rule has no ':'). */
static int piece_queries(struct lint *L, const struct xs_rule *r, const struct xs_portspec *ps,
			 uint32_t *ans)
{
	uint32_t srcs[2] = { r->src, XS_ENDPOINT_ANY }, dsts[2] = { r->dst, XS_ENDPOINT_ANY };
	int ns = r->src == XS_ENDPOINT_ANY ? 1 : 2, nd = r->dst == XS_ENDPOINT_ANY ? 1 : 2;

	for (int a = 0; a < 2; a++) {
		uint8_t action = a ? XS_ACT_ALLOW : XS_ACT_DENY;

		for (int s = 0; s < ns; s++) {
			for (int d = 0; d < nd; d++) {
				int err = 0;

				if (!a)
					err = meet_queries(L, srcs[s], dsts[d], ps, &ans[2]);
				min_into(&ans[a],
					 wild_min(L, group_key(action, srcs[s], dsts[d], 0)));
				if (!ps || err)
					continue;
				err = add_query(L, group_key(action, srcs[s], dsts[d], ps->proto),
						ps->lo, ps->hi, &ans[a]);
				if (!err && L->any_proto0 && ps->proto)
					err = add_query(L, group_key(action, srcs[s], dsts[d], 0),
							ps->lo, ps->hi, &ans[a]);
				if (err)
					return err;
			}
		}
	}
	return 0;
}

static size_t npieces(const struct xs_rule *r)
{
	return r->nports ? r->nports : 1;
}

static void fen_add(uint32_t *fen, uint32_t pos, uint32_t id)
{
	for (; pos <= FEN_SIZE; pos += pos & -pos)
		min_into(&fen[pos], id);
}

static void fen_clear(uint32_t *fen, uint32_t pos)
{
	for (; pos <= FEN_SIZE; pos += pos & -pos)
		fen[pos] = NONE;
}

static uint32_t fen_min(const uint32_t *fen, uint32_t pos)
{
	uint32_t m = NONE;

	for (; pos; pos -= pos & -pos)
		min_into(&m, fen[pos]);
	return m;
}

/* Answer the queries, one group (key) at a time. */
static void sweep(struct lint *L)
{
	size_t e = 0;

	for (size_t i = 0; i < FEN_SIZE + 1; i++)
		L->fen[i] = NONE;
	if (L->nq)
		qsort(L->q, L->nq, sizeof(*L->q), query_cmp);
	for (size_t i = 0; i < L->nq;) {
		uint64_t key = L->q[i].key;
		size_t e0, e1, j = i;

		while (e < L->nspecs && L->specs[e].key < key)
			e++;
		e0 = e1 = e;
		for (; j < L->nq && L->q[j].key == key; j++) {
			const struct query *q = &L->q[j];

			for (; e1 < L->nspecs && L->specs[e1].key == key && L->specs[e1].lo <= q->t;
			     e1++)
				fen_add(L->fen, FEN_SIZE - L->specs[e1].hi, L->specs[e1].id);
			min_into(q->ans, fen_min(L->fen, FEN_SIZE - q->h));
		}
		for (size_t k = e0; k < e1; k++)
			fen_clear(L->fen, FEN_SIZE - L->specs[k].hi);
		i = j;
	}
}

int xs_lint_rules(const struct xs_policy *p, struct xs_lint_hit *hits)
{
	struct lint *L = calloc(1, sizeof(*L));
	size_t total = 0, o = 0;
	int err = -ENOMEM;

	if (!L)
		return -ENOMEM;
	L->p = p;
	if (p->nrules)
		memset(hits, 0, p->nrules * sizeof(*hits));
	for (size_t i = 0; i < p->nrules; i++)
		total += npieces(&p->rules[i]);
	L->ans = malloc((3 * total + 1) * sizeof(*L->ans));
	if (!L->ans)
		goto out;
	for (size_t i = 0; i < 3 * total; i++)
		L->ans[i] = NONE;
	err = collect_specs(L);
	for (size_t i = 0; i < p->nrules && !err; i++) {
		const struct xs_rule *r = &p->rules[i];

		for (size_t k = 0; k < npieces(r) && !err; k++, o += 3)
			if (r->id && r->action == XS_ACT_ALLOW)
				err = piece_queries(L, r, r->nports ? &r->ports[k] : NULL,
						    &L->ans[o]);
	}
	if (err)
		goto out;
	sweep(L);
	o = 0;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *r = &p->rules[i];
		uint32_t deny = 0, allow = 0, meet = NONE;

		for (size_t k = 0; k < npieces(r); k++, o += 3) {
			uint32_t d = L->ans[o], a = L->ans[o + 1];

			deny = deny == NONE || d == NONE ? NONE : deny && deny < d ? deny : d;
			allow = allow == NONE || a >= r->id ? NONE : allow && allow < a ? allow : a;
			min_into(&meet, L->ans[o + 2]);
		}
		if (!r->id || r->action != XS_ACT_ALLOW)
			continue;
		hits[i].meets = meet == NONE ? 0 : meet;
		if (deny != NONE)
			hits[i].shadowed_by = deny;
		else if (allow != NONE)
			hits[i].repeats = allow;
	}
out:
	if (L) {
		free(L->specs);
		free(L->wild);
		free(L->q);
		free(L->ans);
	}
	free(L);
	return err;
}

/* The first entry of rule id `id` (entries are in id order), or NULL. */
static const struct xs_rule *rule_by_id(const struct xs_policy *p, uint32_t id)
{
	size_t lo = 0, hi = p->nrules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->rules[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nrules && p->rules[lo].id == id ? &p->rules[lo] : NULL;
}

static bool ep_covers(uint32_t outer, uint32_t inner)
{
	return outer == XS_ENDPOINT_ANY || outer == inner;
}

/* The flows piece a (NULL: every protocol and port) and spec b (NULL: the
 * same) have in common, as a spec is written ("tcp/22", "udp/1000-2000",
 * "icmp"); false when none. */
static bool meet_text(const struct xs_portspec *a, const struct xs_portspec *b, char *buf,
		      size_t size)
{
	uint8_t proto = a ? a->proto : 0;
	uint32_t lo = 0, hi = 65535;
	const char *name;

	if (b && b->proto) {
		if (proto && proto != b->proto)
			return false;
		proto = b->proto;
	}
	if (a)
		lo = a->lo, hi = a->hi;
	if (b)
		lo = b->lo > lo ? b->lo : lo, hi = b->hi < hi ? b->hi : hi;
	if (lo > hi)
		return false;
	name = proto ? xs_proto_name(proto) : NULL;
	if (!name)
		snprintf(buf, size, "every protocol");
	else if (lo == 0 && hi == 65535)
		snprintf(buf, size, "%s", name);
	else if (lo == hi)
		snprintf(buf, size, "%s/%u", name, lo);
	else
		snprintf(buf, size, "%s/%u-%u", name, lo, hi);
	return true;
}

/* Comparisons spent looking for what a deny drops of an allow, per warning. */
#define MEET_BUDGET (1u << 20)

/* What the deny statement `deny` drops of allow entry e: the first piece of
 * e one of its entries meets, cut to that entry's spec. */
static bool dropped_of(const struct xs_policy *p, const struct xs_rule *e, uint32_t deny, char *buf,
		       size_t size)
{
	const struct xs_rule *d0 = rule_by_id(p, deny), *end = p->rules + p->nrules;
	size_t budget = MEET_BUDGET;

	for (size_t k = 0; k < npieces(e) && d0; k++) {
		const struct xs_portspec *ps = e->nports ? &e->ports[k] : NULL;

		for (const struct xs_rule *d = d0; d < end && d->id == deny; d++) {
			if (!ep_covers(d->src, e->src) || !ep_covers(d->dst, e->dst))
				continue;
			if (!d->nports && meet_text(ps, NULL, buf, size))
				return true;
			for (size_t j = 0; j < d->nports && budget; j++, budget--)
				if (meet_text(ps, &d->ports[j], buf, size))
					return true;
			if (!budget)
				return false;
		}
	}
	return false;
}

/* Partly shadowed: some deny meets it (entries [from, to) of a statement),
 * none shadows it. Names the lowest such deny and what it drops, of the
 * first entry it meets (with its pair, when the statement has lists). */
static void lint_partly(struct parser *P, const struct xs_lint_hit *hits, size_t from, size_t to)
{
	const struct xs_policy *p = P->pol;
	const struct xs_rule *r = &p->rules[from], *o, *e = NULL;
	uint32_t meets = 0;
	char what[64], pair[160] = "";

	for (size_t i = from; i < to; i++)
		if (hits[i].meets && (!meets || hits[i].meets < meets))
			meets = hits[i].meets, e = &p->rules[i];
	if (!meets || !(o = rule_by_id(p, meets)))
		return;
	if (!dropped_of(p, e, meets, what, sizeof(what))) {
		warn_at(P, r->loc, "this allow is partly shadowed by the deny at %s:%d",
			o->loc.file, o->loc.line);
		return;
	}
	if (to - from > 1)
		snprintf(pair, sizeof(pair), " from '%s' to '%s'",
			 e->src == XS_ENDPOINT_ANY ? "any"
						   : xs_policy_segment_name(p, (uint16_t)e->src),
			 e->dst == XS_ENDPOINT_ANY ? "any"
						   : xs_policy_segment_name(p, (uint16_t)e->dst));
	warn_at(P, r->loc, "this allow is partly shadowed by the deny at %s:%d, which drops %s%s",
		o->loc.file, o->loc.line, what, pair);
}

/*
 * One rule statement, entries [from, to) (one per source-destination pair):
 * shadowed when each of its entries is (by the lowest deny over them),
 * else a repeat when each of its entries is, else partly shadowed when a
 * deny meets one of them.
 */
static void lint_statement(struct parser *P, const struct xs_lint_hit *hits, size_t from, size_t to)
{
	const struct xs_policy *p = P->pol;
	const struct xs_rule *r = &p->rules[from], *o;
	uint32_t deny = NONE, allow = NONE; /* the lowest over the entries; 0: one has none */

	for (size_t i = from; i < to && (deny || allow); i++) {
		deny = hits[i].shadowed_by ? deny : 0;
		allow = hits[i].repeats ? allow : 0;
		min_into(&deny, hits[i].shadowed_by);
		min_into(&allow, hits[i].repeats);
	}
	if (deny && (o = rule_by_id(p, deny)))
		warn_at(P, r->loc, "this allow is fully shadowed by the deny at %s:%d", o->loc.file,
			o->loc.line);
	else if (allow && (o = rule_by_id(p, allow)))
		warn_at(P, r->loc, "this allow repeats the allow at %s:%d", o->loc.file,
			o->loc.line);
	else
		lint_partly(P, hits, from, to);
}

int xs_pfx_nesting(const struct xs_pfx_index *ix,
		   void (*fn)(void *ctx, const struct xs_pfx_ref *r,
			      const struct xs_pfx_ref *const *outer, size_t nouter),
		   void *ctx)
{
	/* the index is sorted by (family, address, length): a prefix's
	 * containers come before it, and the prefixes still open when it comes
	 * are exactly its containers (two prefixes nest or are disjoint) */
	const struct xs_pfx_ref **stack = calloc(ix->n + 1, sizeof(*stack));
	size_t depth = 0;

	if (!stack)
		return -ENOMEM;
	for (size_t i = 0; i < ix->n; i++) {
		const struct xs_pfx_ref *r = &ix->v[i];

		while (depth && !xs_prefix_contains(stack[depth - 1]->p, r->p))
			depth--;
		fn(ctx, r, stack, depth);
		stack[depth++] = r;
	}
	free(stack);
	return 0;
}

/* Does `inner` extend `outer` as a nested segment's name does: OUTER, then
 * '-', '.' or '_', then more (`customer` -> `customer-dc`)? */
static bool nested_name(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	return !strncmp(inner, outer, n) && inner[n] && strchr("-._", inner[n]) && inner[n + 1];
}

static bool declared_inside(const struct segx *x, const char *outer)
{
	for (size_t k = 0; k < x->ninside; k++)
		if (!strcmp(x->inside[k].name, outer))
			return true;
	return false;
}

/* A prefix inside another segment's, nothing saying it is meant. */
struct nest_hit {
	const struct xs_pfx_ref *in, *out;
};

struct nesting {
	struct parser *P;
	struct nest_hit *v;
	size_t n, cap;
};

/*
 * A prefix of one segment inside another segment's prefix, when nothing
 * says it is meant: its addresses leave the outer segment and its rules
 * silently (a typo in an address or a length does it too). Meant: the
 * segment is declared `inside` the outer one, or its name extends the outer
 * one's (`customer-dc` in `customer`), or the outer one is the built-in
 * link-local. The outer segment is the one of the nearest prefix holding it.
 */
static void collect_nesting(void *ctx, const struct xs_pfx_ref *r,
			    const struct xs_pfx_ref *const *outer, size_t n)
{
	struct nesting *N = ctx;
	const struct xs_policy *p = N->P->pol;
	const struct xs_segment *s = &p->segments[r->seg - 1], *o;
	const struct xs_pfx_ref *c = NULL;
	struct nest_hit *h;

	while (n && !c) /* the nearest of another segment */
		if (outer[--n]->seg != r->seg)
			c = outer[n];
	if (!c || s->builtin)
		return;
	o = &p->segments[c->seg - 1];
	if (o->builtin || declared_inside(&N->P->segx[r->seg - 1], o->name) ||
	    nested_name(s->name, o->name))
		return;
	h = xs_push(&N->v, &N->n, &N->cap, sizeof(*h));
	if (!h) {
		N->P->nomem = true;
		return;
	}
	*h = (struct nest_hit){ r, c };
}

/* By inner segment, outer segment, then the inner prefix's place. */
static int nest_cmp(const void *a, const void *b)
{
	const struct nest_hit *x = a, *y = b;
	const struct xs_src_loc *l = &x->in->p->loc, *m = &y->in->p->loc;

	if (x->in->seg != y->in->seg)
		return x->in->seg < y->in->seg ? -1 : 1;
	if (x->out->seg != y->out->seg)
		return x->out->seg < y->out->seg ? -1 : 1;
	if (l->line != m->line) /* a segment is declared in one statement */
		return l->line < m->line ? -1 : 1;
	return (l->col > m->col) - (l->col < m->col);
}

/* One warning per (segment, outer segment): at its first prefix there. */
static void lint_nesting(struct parser *P)
{
	const struct xs_policy *p = P->pol;
	struct nesting N = { .P = P };
	struct xs_pfx_index ix;

	if (xs_pfx_index_build(&ix, p) || xs_pfx_nesting(&ix, collect_nesting, &N))
		P->nomem = true;
	if (N.n)
		qsort(N.v, N.n, sizeof(*N.v), nest_cmp);
	for (size_t i = 0, j; i < N.n && !P->nomem; i = j) {
		const struct nest_hit *h = &N.v[i];
		const char *in = p->segments[h->in->seg - 1].name;
		const char *out = p->segments[h->out->seg - 1].name;
		char a[64], b[64], more[64] = "";

		for (j = i + 1;
		     j < N.n && N.v[j].in->seg == h->in->seg && N.v[j].out->seg == h->out->seg; j++)
			;
		if (j - i > 1)
			snprintf(more, sizeof(more), " (and %zu more of its prefixes)", j - i - 1);
		xs_format_prefix(a, sizeof(a), h->in->p);
		xs_format_prefix(b, sizeof(b), h->out->p);
		warn_at(P, h->in->p->loc,
			"%s of segment '%s'%s is inside %s of segment '%s' (%s:%d): its addresses "
			"are taken out of '%s'; " XS_HINT
			"if that is intended, end the statement with 'inside %s'",
			a, in, more, b, out, h->out->p->loc.file, h->out->p->loc.line, out, out);
	}
	free(N.v);
	xs_pfx_index_free(&ix);
}

void xs_lint(struct parser *P)
{
	const struct xs_policy *p = P->pol;
	struct xs_lint_hit *hits = calloc(p->nrules + 1, sizeof(*hits));

	if (!hits || xs_lint_rules(p, hits)) {
		P->nomem = true;
		free(hits);
		return;
	}
	for (size_t i = 0, j; i < p->nrules; i = j) {
		for (j = i + 1; j < p->nrules && p->rules[j].id == p->rules[i].id; j++)
			;
		if (p->rules[i].id && p->rules[i].action == XS_ACT_ALLOW)
			lint_statement(P, hits, i, j);
	}
	free(hits);
	for (size_t i = 0; i < P->nsvcs; i++)
		/* a file of rules warns of its unused services; a service library does not */
		if (!P->svcs[i].used && P->svcs[i].top && !P->svcs[i].broken && P->nrules)
			warn_at(P, P->svcs[i].loc, "service '%s' is never used", P->svcs[i].name);
	for (size_t i = 0; i < p->nsegments; i++)
		if (!P->segx[i].used && !p->segments[i].builtin)
			warn_at(P, p->segments[i].loc, "segment '%s' is never used",
				p->segments[i].name);
	lint_nesting(P);
}

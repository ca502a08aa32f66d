// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The compiler proper: source form in, map entries out. Every precedence
 * but a quarantine's (failsafe > grant > deny > allow) is resolved here, so
 * one longest-prefix lookup in the rule table finds the entry that decides
 * a new flow (see policies/README.md, "Compiled form", "Precedence").
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

/*
 * Per (src, dst) pair that has items (rules, overlays' entries): the pair's
 * /32 value from the items without ':' (every protocol and port), then per
 * protocol the decision over ports 0..65535 as maximal runs of equal value,
 * each run that differs from the pair's value split into aligned prefixes.
 * The decision at a port is forensic > failsafe > grant (covering the rules'
 * decision) > deny > allow > nothing, lowest id within a kind (a grant: the
 * one that ends last); a sweep over the sorted range boundaries keeps the
 * rules active at the current port in two min-heaps (deny, allow), so a pair
 * costs O(specs log specs), not O(specs x boundaries). A pair's overlay
 * entries are few: the active ones are looked at one by one.
 *
 * A rule applies to its segments and the segments derived from them (an
 * overlay's address: `vda[10.1.0.7]` has vda's rules, both ways); an
 * overlay's entry to the segments it names and those derived inside them.
 */

/* Bound on the work of compile_pairs(): the sum over the segment pairs with
 * rules of their rules and port specs (rules with `any` count once per pair). */
#define XS_MAX_COMPILE_WORK (1 << 24)

struct val {
	uint8_t action;
	uint32_t id;
};

/* What makes a pair's entries: a rule, or an overlay's entry. */
enum layer { L_RULE, L_GRANT, L_FAILSAFE, L_FORENSIC };

struct citem {
	uint32_t src, dst; /* segment ids, XS_SEG_WORLD or XS_ENDPOINT_ANY */
	const struct xs_portspec *ports;
	size_t nports;
	uint32_t id;	  /* the rule id (origin) */
	uint8_t action;	  /* L_RULE: allow or deny */
	uint8_t layer;	  /* enum layer */
	uint8_t flags;	  /* L_GRANT: XS_RULEF_DRAIN */
	uint32_t expires; /* L_GRANT: its end */
};

/* Fold rule r into the best value so far: deny beats allow, lowest id wins. */
static void better(struct val *v, const struct citem *r)
{
	if (v->action == XS_ACT_DENY && r->action != XS_ACT_DENY)
		return;
	if (v->action == r->action && v->id && v->id < r->id)
		return;
	v->action = r->action;
	v->id = r->id;
}

static bool val_eq(const struct xs_rule_val *a, const struct xs_rule_val *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* A range boundary: rule `rule` (index) starts (+1) or stops (-1) matching at `pos`. */
struct event {
	uint32_t pos; /* 0..65536 */
	uint8_t proto;
	int8_t delta;
	uint32_t rule;
};

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* A min-heap of rule ids with lazy deletion: an id whose count is 0 is stale. */
struct heap {
	uint32_t *v;
	size_t n, cap;
};

static int heap_push(struct heap *h, uint32_t id)
{
	size_t i;

	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 64;
		uint32_t *v = realloc(h->v, nc * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = nc;
	}
	for (i = h->n++; i && h->v[(i - 1) / 2] > id; i = (i - 1) / 2)
		h->v[i] = h->v[(i - 1) / 2];
	h->v[i] = id;
	return 0;
}

static void heap_pop(struct heap *h)
{
	uint32_t last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1] < h->v[c])
			c++;
		if (last <= h->v[c])
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
}

/* Lowest id with a non-zero count, or 0. */
static uint32_t heap_min(struct heap *h, const uint32_t *count)
{
	while (h->n && !count[h->v[0]])
		heap_pop(h);
	return h->n ? h->v[0] : 0;
}

struct rbuild {
	const struct xs_policy *p;
	const struct citem *items;
	struct xs_rule_entry *v;
	size_t n, cap;
	bool nomem, toomany, toomuch;
	size_t work; /* (pair, item) and (pair, spec) visited so far */
	/* current pair, protocol and value, for emit_block */
	uint16_t src, dst;
	uint8_t proto;
	struct xs_rule_val val;
	/* per pair: its items (indexes), their boundaries, the active rules */
	uint32_t *rules;
	size_t nrules, caprules;
	uint32_t *ov; /* the pair's overlay items */
	size_t nov, capov;
	struct event *ev;
	size_t nev, capev;
	uint32_t *count; /* by rule id: active specs */
	struct heap deny, allow;
};

static void add_entry(struct rbuild *b, uint32_t plen, uint8_t proto, uint16_t port)
{
	struct xs_rule_entry *e;

	if (b->nomem || b->toomany)
		return;
	if (b->n == XS_MAX_RULE_ENTRIES) {
		b->toomany = true;
		return;
	}
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
	e->val = b->val;
}

static void emit_block(void *ctx, uint16_t start, int bits)
{
	struct rbuild *b = ctx;

	add_entry(b, XS_RULE_PLEN_PORT(bits), b->proto, start);
}

/* Apply the boundaries at ev[*i..] that are at `pos`. */
static int apply_events(struct rbuild *b, size_t *i, size_t end, uint32_t pos)
{
	for (; *i < end && b->ev[*i].pos == pos; (*i)++) {
		const struct event *e = &b->ev[*i];
		const struct citem *r = &b->items[e->rule];

		if (e->delta < 0) {
			b->count[r->id]--;
			continue;
		}
		if (b->count[r->id]++ || r->layer != L_RULE)
			continue;
		if (heap_push(r->action == XS_ACT_DENY ? &b->deny : &b->allow, r->id))
			return -ENOMEM;
	}
	return 0;
}

/* The rules' decision where the active rules and the pair's rules without ':' apply. */
static struct val rules_now(struct rbuild *b, struct val wild_deny, struct val wild_allow)
{
	uint32_t d = heap_min(&b->deny, b->count), a = heap_min(&b->allow, b->count);

	if (wild_deny.id && (!d || wild_deny.id < d))
		d = wild_deny.id;
	if (d)
		return (struct val){ XS_ACT_DENY, d };
	if (wild_allow.id && (!a || wild_allow.id < a))
		a = wild_allow.id;
	if (a)
		return (struct val){ XS_ACT_ALLOW, a };
	return (struct val){ 0 };
}

/* Does overlay item i apply where the sweep is (without ':': everywhere)? */
static bool ov_active(const struct rbuild *b, uint32_t i)
{
	const struct citem *it = &b->items[i];

	return !it->nports || b->count[it->id];
}

/* The entry where the sweep is: the rules' decision, then the overlays'. */
static struct xs_rule_val value_now(struct rbuild *b, struct val wild_deny, struct val wild_allow)
{
	struct val base = rules_now(b, wild_deny, wild_allow);
	struct xs_rule_val v = { .rule_id = base.id, .action = base.action };
	const struct citem *g = NULL, *fs = NULL, *fo = NULL;

	for (size_t k = 0; k < b->nov; k++) {
		const struct citem *it = &b->items[b->ov[k]];
		const struct citem **best = it->layer == L_GRANT      ? &g
					    : it->layer == L_FAILSAFE ? &fs
								      : &fo;

		if (!ov_active(b, b->ov[k]))
			continue;
		if (it->layer == L_GRANT) {
			/* the one that ends last covers the others */
			if (!g || it->expires > g->expires ||
			    (it->expires == g->expires && it->id < g->id))
				g = it;
		} else if (!*best || it->id < (*best)->id) {
			*best = it;
		}
	}
	if (fo || fs) {
		v = (struct xs_rule_val){ .rule_id = (fo ? fo : fs)->id,
					  .action = XS_ACT_ALLOW,
					  .flags = fo ? XS_RULEF_FORENSIC : XS_RULEF_FAILSAFE };
	} else if (g) {
		v = (struct xs_rule_val){ .rule_id = g->id,
					  .fb_rule_id = base.id,
					  .expires = g->expires,
					  .action = XS_ACT_ALLOW,
					  .flags = (uint8_t)(XS_RULEF_GRANT | g->flags),
					  .fb_action = base.action };
	}
	return v;
}

/*
 * One protocol of the pair, boundaries ev[from..to): walk the elementary
 * intervals between boundaries (and 0, 65536), merge equal neighbours into
 * runs, emit the runs that differ from the pair's value.
 */
static int sweep_proto(struct rbuild *b, size_t from, size_t to, const struct xs_rule_val *pair,
		       struct val wild_deny, struct val wild_allow)
{
	size_t i = from;
	uint32_t start = 0;
	struct xs_rule_val cur;

	b->deny.n = b->allow.n = 0;
	if (apply_events(b, &i, to, 0))
		return -ENOMEM;
	cur = value_now(b, wild_deny, wild_allow);
	for (;;) {
		uint32_t pos = i < to ? b->ev[i].pos : 65536;
		struct xs_rule_val v = { 0 };

		if (apply_events(b, &i, to, pos))
			return -ENOMEM;
		if (pos < 65536) {
			v = value_now(b, wild_deny, wild_allow);
			if (val_eq(&v, &cur))
				continue;
		}
		if (!val_eq(&cur, pair)) {
			b->val = cur;
			xs_port_split(start, pos - 1, emit_block, b);
		}
		if (pos == 65536)
			return 0;
		start = pos;
		cur = v;
	}
}

/* Entries of one (src, dst) pair whose items are b->rules. */
static int compile_pair(struct rbuild *b, uint16_t src, uint16_t dst)
{
	struct val wild_deny = { 0 }, wild_allow = { 0 };
	struct xs_rule_val pair;

	b->src = src;
	b->dst = dst;
	b->nev = 0;
	b->nov = 0;
	for (size_t i = 0; i < b->nrules; i++) {
		const struct citem *r = &b->items[b->rules[i]];

		if (r->layer != L_RULE) {
			uint32_t *o = xs_push(&b->ov, &b->nov, &b->capov, sizeof(*o));

			if (!o)
				return -ENOMEM;
			*o = b->rules[i];
		} else if (!r->nports) {
			better(r->action == XS_ACT_DENY ? &wild_deny : &wild_allow, r);
		}
		for (size_t j = 0; j < r->nports; j++) {
			const struct xs_portspec *ps = &r->ports[j];
			struct event *lo = xs_push(&b->ev, &b->nev, &b->capev, sizeof(*lo)), *hi;

			hi = lo ? xs_push(&b->ev, &b->nev, &b->capev, sizeof(*hi)) : NULL;
			if (!hi)
				return -ENOMEM;
			lo = hi - 1; /* the push of hi may have moved the array */
			*lo = (struct event){ ps->lo, ps->proto, 1, b->rules[i] };
			*hi = (struct event){ (uint32_t)ps->hi + 1, ps->proto, -1, b->rules[i] };
		}
	}
	/* no spec is active yet: the value of the items without ':' */
	b->deny.n = b->allow.n = 0;
	pair = value_now(b, wild_deny, wild_allow);
	if (pair.action) {
		b->val = pair;
		add_entry(b, XS_RULE_PLEN_PAIR, 0, 0);
	}
	if (b->nev)
		qsort(b->ev, b->nev, sizeof(*b->ev), event_cmp);
	for (size_t i = 0; i < b->nev && !b->toomany;) {
		size_t j = i;

		while (j < b->nev && b->ev[j].proto == b->ev[i].proto)
			j++;
		b->proto = b->ev[i].proto;
		if (sweep_proto(b, i, j, &pair, wild_deny, wild_allow))
			return -ENOMEM;
		i = j;
	}
	return b->nomem ? -ENOMEM : 0;
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

/*
 * The items by endpoints, without expanding `any`: exact[] holds the items
 * between two segments (or world) sorted by (src, dst); row[d] the items
 * `any -> d`, col[s] the items `s -> any`, all[] the items `any -> any`.
 * Rows and columns are CSR arrays: items of d at rowv[rowi[d]..rowi[d+1]).
 */
struct by_ends {
	size_t nseg;	 /* segments + world */
	uint64_t *exact; /* src << 48 | dst << 32 | rule index */
	size_t nexact;
	uint32_t *rowi, *rowv, *coli, *colv, *all;
	size_t nall;
	uint16_t *rowsegs; /* the d with a row, ascending */
	size_t nrowsegs;
};

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int csr(const struct citem *items, size_t nitems, size_t nseg, bool rows, uint32_t **idx,
	       uint32_t **val)
{
	size_t n = 0;

	*idx = calloc(nseg + 2, sizeof(**idx));
	if (!*idx)
		return -ENOMEM;
	for (size_t i = 0; i < nitems; i++) {
		const struct citem *r = &items[i];
		uint32_t any = rows ? r->src : r->dst, seg = rows ? r->dst : r->src;

		if (any == XS_ENDPOINT_ANY && seg != XS_ENDPOINT_ANY)
			(*idx)[seg + 2]++, n++;
	}
	for (size_t s = 0; s < nseg; s++)
		(*idx)[s + 2] += (*idx)[s + 1];
	*val = malloc((n + 1) * sizeof(**val));
	if (!*val)
		return -ENOMEM;
	for (size_t i = 0; i < nitems; i++) {
		const struct citem *r = &items[i];
		uint32_t any = rows ? r->src : r->dst, seg = rows ? r->dst : r->src;

		if (any == XS_ENDPOINT_ANY && seg != XS_ENDPOINT_ANY)
			(*val)[(*idx)[seg + 1]++] = (uint32_t)i;
	}
	return 0;
}

static int by_ends_init(struct by_ends *e, size_t nseg, const struct citem *items, size_t nitems)
{
	e->nseg = nseg;
	e->exact = malloc((nitems + 1) * sizeof(*e->exact));
	e->all = malloc((nitems + 1) * sizeof(*e->all));
	e->rowsegs = malloc(e->nseg * sizeof(*e->rowsegs));
	if (!e->exact || !e->all || !e->rowsegs ||
	    csr(items, nitems, e->nseg, true, &e->rowi, &e->rowv) ||
	    csr(items, nitems, e->nseg, false, &e->coli, &e->colv))
		return -ENOMEM;
	for (size_t i = 0; i < nitems; i++) {
		const struct citem *r = &items[i];

		if (r->src == XS_ENDPOINT_ANY && r->dst == XS_ENDPOINT_ANY)
			e->all[e->nall++] = (uint32_t)i;
		else if (r->src != XS_ENDPOINT_ANY && r->dst != XS_ENDPOINT_ANY)
			e->exact[e->nexact++] = (uint64_t)r->src << 48 | (uint64_t)r->dst << 32 | i;
	}
	if (e->nexact)
		qsort(e->exact, e->nexact, sizeof(*e->exact), u64_cmp);
	for (size_t d = 0; d < e->nseg; d++)
		if (e->rowi[d + 1] > e->rowi[d])
			e->rowsegs[e->nrowsegs++] = (uint16_t)d;
	return 0;
}

static void by_ends_free(struct by_ends *e)
{
	free(e->exact);
	free(e->all);
	free(e->rowsegs);
	free(e->rowi);
	free(e->rowv);
	free(e->coli);
	free(e->colv);
}

static int add_rules(struct rbuild *b, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t *r = xs_push(&b->rules, &b->nrules, &b->caprules, sizeof(*r));

		if (!r)
			return -ENOMEM;
		*r = v[i];
	}
	return 0;
}

/* Compile pair (s, d) from the exact rules at e->exact[*x..] that belong to it. */
static int do_pair(struct rbuild *b, const struct by_ends *e, uint16_t s, uint16_t d, size_t *x)
{
	uint64_t key = (uint64_t)s << 48 | (uint64_t)d << 32;
	size_t work = 0;

	b->nrules = 0;
	for (; *x < e->nexact && (e->exact[*x] & ~0xffffffffull) == key; (*x)++) {
		uint32_t i = (uint32_t)e->exact[*x];

		if (add_rules(b, &i, 1))
			return -ENOMEM;
	}
	if (add_rules(b, e->rowv + e->rowi[d], e->rowi[d + 1] - e->rowi[d]) ||
	    add_rules(b, e->colv + e->coli[s], e->coli[s + 1] - e->coli[s]) ||
	    add_rules(b, e->all, e->nall))
		return -ENOMEM;
	for (size_t i = 0; i < b->nrules; i++)
		work += b->items[b->rules[i]].nports + 1;
	if (work > XS_MAX_COMPILE_WORK - b->work) {
		b->toomuch = true;
		return 0;
	}
	b->work += work;
	return compile_pair(b, s, d);
}

/* The next destination after the last one visited for source s: the lowest of
 * its next exact pair and the next row; SIZE_MAX when none is left. */
static size_t next_dst(const struct by_ends *e, size_t s, size_t x, size_t r)
{
	size_t d = SIZE_MAX;

	if (x < e->nexact && e->exact[x] >> 48 == s)
		d = (e->exact[x] >> 32) & 0xffff;
	if (r < e->nrowsegs && e->rowsegs[r] < d)
		d = e->rowsegs[r];
	return d;
}

/* Every pair with rules, in (src, dst) order, without visiting the others. */
static int compile_pairs(struct rbuild *b, const struct by_ends *e)
{
	size_t x = 0;
	int err = 0;

	for (size_t s = 0; s < e->nseg && !err && !b->toomany && !b->toomuch; s++) {
		size_t r = 0, d;

		if (e->nall || e->coli[s + 1] > e->coli[s]) {
			/* `any` on one side: every destination has rules */
			for (d = 0; d < e->nseg && !err && !b->toomany && !b->toomuch; d++)
				err = do_pair(b, e, (uint16_t)s, (uint16_t)d, &x);
			continue;
		}
		while (!err && !b->toomany && !b->toomuch &&
		       (d = next_dst(e, s, x, r)) != SIZE_MAX) {
			err = do_pair(b, e, (uint16_t)s, (uint16_t)d, &x);
			while (r < e->nrowsegs && e->rowsegs[r] <= d)
				r++;
		}
	}
	return err;
}

/* ---- The items: rules over segments and their derived ones, overlays' entries ---- */

struct items {
	struct citem *v;
	size_t n, cap;
	bool nomem;
};

static void add_item(struct items *it, uint32_t src, uint32_t dst, const struct citem *proto)
{
	struct citem *c = xs_push(&it->v, &it->n, &it->cap, sizeof(*c));

	if (!c) {
		it->nomem = true;
		return;
	}
	*c = *proto;
	c->src = src;
	c->dst = dst;
}

/*
 * The segments each declared segment's (and world's) rules apply to: it
 * and the segments derived from it, as CSR: segments of x at
 * v[i[x]..i[x+1]).
 */
struct members {
	uint32_t *i;
	uint16_t *v;
};

static int members_init(struct members *m, const struct xs_policy *p)
{
	size_t nseg = p->nsegments + 1;
	uint16_t *root = malloc(nseg * sizeof(*root));

	m->i = calloc(nseg + 2, sizeof(*m->i));
	m->v = malloc(nseg * sizeof(*m->v));
	if (!root || !m->i || !m->v) {
		free(root);
		return -ENOMEM;
	}
	for (size_t s = 0; s < nseg; s++) {
		root[s] = xs_seg_root(p, (uint16_t)s);
		m->i[root[s] + 2]++;
	}
	for (size_t s = 0; s < nseg; s++)
		m->i[s + 2] += m->i[s + 1];
	for (size_t s = 0; s < nseg; s++)
		m->v[m->i[root[s] + 1]++] = (uint16_t)s;
	free(root);
	return 0;
}

/* Rule r for each pair of segments its endpoints reach (`any` stays `any`). */
static void rule_items(struct items *it, const struct members *m, const struct xs_rule *r)
{
	struct citem c = { .ports = r->ports,
			   .nports = r->nports,
			   .id = r->id,
			   .action = r->action,
			   .layer = L_RULE };
	uint32_t any = XS_ENDPOINT_ANY;
	const uint16_t *sv = NULL, *dv = NULL;
	size_t ns = 1, nd = 1;

	if (!r->id)
		return;
	if (r->src != XS_ENDPOINT_ANY) {
		sv = m->v + m->i[r->src];
		ns = m->i[r->src + 1] - m->i[r->src];
	}
	if (r->dst != XS_ENDPOINT_ANY) {
		dv = m->v + m->i[r->dst];
		nd = m->i[r->dst + 1] - m->i[r->dst];
	}
	for (size_t i = 0; i < ns; i++)
		for (size_t j = 0; j < nd; j++)
			add_item(it, sv ? sv[i] : any, dv ? dv[j] : any, &c);
}

/*
 * Overlay rule o's entries: a grant from each segment within its sources
 * to each within its destinations; a failsafe port from `any` to each
 * within its destinations; forensic access from each segment within its
 * sources that is not quarantined to each within its destinations that is
 * quarantined, not strictly.
 */
static void overlay_items(struct items *it, const struct xs_policy *p,
			  const struct xs_overlay_rule *o, const uint32_t *quar, const bool *strict)
{
	struct citem c = { .ports = o->ports, .nports = o->nports, .id = o->rule_id };
	size_t nseg = p->nsegments + 1;

	if (o->kind == XS_ORIGIN_GRANT) {
		c.layer = L_GRANT;
		c.flags = o->flags & XS_RULEF_DRAIN;
		c.expires = o->expires;
	} else if (o->kind == XS_ORIGIN_FAILSAFE) {
		c.layer = L_FAILSAFE;
	} else if (o->kind == XS_ORIGIN_FORENSIC && o->ndst) {
		c.layer = L_FORENSIC;
	} else {
		return; /* a quarantine (seginfo), a declaration no quarantine uses */
	}
	c.action = XS_ACT_ALLOW;
	for (size_t d = 0; d < nseg && !it->nomem; d++) {
		if (!xs_seg_within_any(p, (uint16_t)d, o->dst, o->ndst) ||
		    (c.layer == L_FORENSIC && (!quar[d] || strict[d])))
			continue;
		if (c.layer == L_FAILSAFE) {
			add_item(it, XS_ENDPOINT_ANY, (uint32_t)d, &c);
			continue;
		}
		for (size_t s = 0; s < nseg && !it->nomem; s++)
			if (xs_seg_within_any(p, (uint16_t)s, o->src, o->nsrc) &&
			    !(c.layer == L_FORENSIC && quar[s]))
				add_item(it, (uint32_t)s, (uint32_t)d, &c);
	}
}

static int item_cmp(const void *a, const void *b)
{
	const struct citem *x = a, *y = b;

	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->layer > y->layer) - (x->layer < y->layer);
}

static int build_items(const struct xs_policy *p, struct items *it)
{
	struct members m = { 0 };
	uint32_t *quar = calloc(p->nsegments + 1, sizeof(*quar));
	bool *strict = calloc(p->nsegments + 1, sizeof(*strict));
	size_t nrule_items, n;
	int err = -ENOMEM;

	if (!quar || !strict || members_init(&m, p))
		goto out;
	for (size_t i = 0; i < p->nrules && !it->nomem; i++)
		rule_items(it, &m, &p->rules[i]);
	nrule_items = it->n;
	xs_quarantine_state(p, quar, strict);
	for (size_t i = 0; i < p->noverlay_rules && !it->nomem; i++)
		overlay_items(it, p, &p->overlay_rules[i], quar, strict);
	if (it->nomem)
		goto out;
	/* an overlay's entry once per pair (a quarantine's targets may overlap) */
	n = it->n - nrule_items;
	if (n) {
		struct citem *o = it->v + nrule_items;
		size_t k = 0;

		qsort(o, n, sizeof(*o), item_cmp);
		for (size_t i = 0; i < n; i++)
			if (!k || item_cmp(&o[k - 1], &o[i]))
				o[k++] = o[i];
		it->n = nrule_items + k;
	}
	err = 0;
out:
	free(m.i);
	free(m.v);
	free(quar);
	free(strict);
	return err;
}

static int compile_rules(const struct xs_policy *p, struct xs_compiled *c)
{
	struct rbuild b = { .p = p };
	struct by_ends e = { 0 };
	struct items it = { 0 };
	int err = -ENOMEM;

	b.count = calloc(p->norigins + 2, sizeof(*b.count));
	if (!b.count || build_items(p, &it) || by_ends_init(&e, p->nsegments + 1, it.v, it.n))
		goto out;
	b.items = it.v;
	err = compile_pairs(&b, &e);
	if (!err && b.nomem)
		err = -ENOMEM;
	if (err)
		goto out;
	if (b.toomany || b.toomuch) {
		err = b.toomany ? -E2BIG : -EFBIG;
		goto out;
	}
	if (b.n)
		qsort(b.v, b.n, sizeof(*b.v), entry_cmp);
	c->rules = b.v;
	c->nrules = b.n;
	b.v = NULL;
out:
	by_ends_free(&e);
	free(it.v);
	free(b.v);
	free(b.rules);
	free(b.ov);
	free(b.ev);
	free(b.count);
	free(b.deny.v);
	free(b.allow.v);
	return err;
}

/* ---- Segment tries --------------------------------------------------------- */

int xs_lpm4_cmp(const void *a, const void *b)
{
	const struct xs_lpm4_entry *x = a, *y = b;
	int c = memcmp(x->key.addr, y->key.addr, 4);

	return c ? c : (int)x->key.prefixlen - (int)y->key.prefixlen;
}

int xs_lpm6_cmp(const void *a, const void *b)
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
	qsort(c->v4, c->nv4, sizeof(*c->v4), xs_lpm4_cmp);
	qsort(c->v6, c->nv6, sizeof(*c->v6), xs_lpm6_cmp);
	return 0;
}

static int compile_seginfo(const struct xs_policy *p, struct xs_compiled *c)
{
	uint32_t *quar = calloc(p->nsegments + 1, sizeof(*quar));
	bool *strict = calloc(p->nsegments + 1, sizeof(*strict));

	c->nseginfo = p->nsegments + 1;
	c->seginfo = calloc(c->nseginfo, sizeof(*c->seginfo));
	if (!c->seginfo || !quar || !strict) {
		free(quar);
		free(strict);
		return -ENOMEM;
	}
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
	/* quarantined: the segments within a quarantine's targets (world never is) */
	xs_quarantine_state(p, quar, strict);
	for (size_t i = 1; i < c->nseginfo; i++) {
		if (!quar[i])
			continue;
		c->seginfo[i].flags = XS_SEGF_QUARANTINE;
		c->seginfo[i].quar_rule_id = quar[i];
	}
	free(quar);
	free(strict);
	return 0;
}

/*
 * Content hash: SHA-256 of "xdpseg-compiled-v2", then for each table (v4,
 * v6, rules, seginfo, setinfo, binds, bind4, bind6) its entry count as 4
 * little-endian bytes followed by its entries' bytes in order; then, when
 * there are overlays, their count the same way and each one's rule id (4
 * bytes) and record (struct xs_overlay), by number. The compiler and the
 * artefact's reader (artefact.c) both compute it here.
 */
int xs_compiled_hash(const struct xs_compiled *c, uint8_t out[32])
{
	static const char tag[] = "xdpseg-compiled-v2";
	const struct {
		const void *p;
		size_t n, sz;
	} parts[] = {
		{ c->v4, c->nv4, sizeof(*c->v4) },
		{ c->v6, c->nv6, sizeof(*c->v6) },
		{ c->rules, c->nrules, sizeof(*c->rules) },
		{ c->seginfo, c->nseginfo, sizeof(*c->seginfo) },
		{ &c->setinfo, 1, sizeof(c->setinfo) },
		{ c->binds, c->nbinds, sizeof(*c->binds) },
		{ c->bind4, c->nbind4, sizeof(*c->bind4) },
		{ c->bind6, c->nbind6, sizeof(*c->bind6) },
	};
	size_t nparts = sizeof(parts) / sizeof(parts[0]), total = sizeof(tag) - 1, o;
	uint8_t *buf;

	for (size_t i = 0; i < nparts; i++)
		total += 4 + parts[i].n * parts[i].sz;
	if (c->noverlays)
		total += 4 + c->noverlays * (4 + sizeof(struct xs_overlay));
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, tag, sizeof(tag) - 1);
	o = sizeof(tag) - 1;
	for (size_t i = 0; i < nparts; i++) {
		uint32_t n = (uint32_t)parts[i].n;

		for (int k = 0; k < 4; k++)
			buf[o++] = (uint8_t)(n >> (8 * k));
		if (n)
			memcpy(buf + o, parts[i].p, parts[i].n * parts[i].sz);
		o += parts[i].n * parts[i].sz;
	}
	if (c->noverlays) {
		uint32_t n = (uint32_t)c->noverlays;

		for (int k = 0; k < 4; k++)
			buf[o++] = (uint8_t)(n >> (8 * k));
		for (size_t i = 0; i < c->noverlays; i++) {
			memcpy(buf + o, &c->overlays[i].rule_id, 4);
			memcpy(buf + o + 4, &c->overlays[i].rec, sizeof(c->overlays[i].rec));
			o += 4 + sizeof(c->overlays[i].rec);
		}
	}
	xs_sha256(buf, total, out);
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
	free(c->binds);
	free(c->bind4);
	free(c->bind6);
	free(c->overlays);
	xs_files_free(c->sources, c->nsources);
	free(c);
}

int xs_policy_compile(const char *path, xs_resolve_fn resolve, void *ctx, struct xs_compiled **out,
		      struct xs_diags *diags)
{
	return xs_policy_compile_opts(path, resolve, ctx, NULL, out, diags);
}

int xs_policy_compile_opts(const char *path, xs_resolve_fn resolve, void *ctx,
			   const struct xs_compile_opts *o, struct xs_compiled **out,
			   struct xs_diags *diags)
{
	struct xs_recorder rec = { .fn = resolve, .ctx = ctx };
	struct xs_compiled *c;
	int err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	err = xs_policy_parse_opts(path, xs_record_resolve, &rec, o, &c->policy, &c->overlays,
				   &c->noverlays, diags);
	c->sources = rec.v;
	c->nsources = rec.n;
	if (!err && rec.nomem)
		err = -ENOMEM;
	if (err)
		goto fail;
	err = compile_tries(c->policy, c);
	if (!err)
		err = compile_rules(c->policy, c);
	if (err == -E2BIG || err == -EFBIG) {
		if (err == -E2BIG)
			xs_diag_add(
				diags, XS_SEV_ERROR, c->policy->files[0], 0, 0, NULL,
				"the policy compiles to more than %d rule entries "
				"(XS_MAX_RULE_ENTRIES): use fewer 'any' endpoints or port ranges",
				XS_MAX_RULE_ENTRIES);
		else
			xs_diag_add(
				diags, XS_SEV_ERROR, c->policy->files[0], 0, 0, NULL,
				"the policy's rules apply to too many segment pairs (more than "
				"%d pair and port spec combinations): use fewer 'any' endpoints",
				XS_MAX_COMPILE_WORK);
		err = -EINVAL;
	}
	if (!err)
		err = compile_seginfo(c->policy, c);
	if (!err)
		err = xs_compile_binds(c->policy, c);
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

	if (c->nbind4 > XS_MAX_BIND_PREFIXES || c->nbind6 > XS_MAX_BIND_PREFIXES) {
		xs_diag_add(diags, XS_SEV_ERROR, c->policy->files[0], 0, 0, NULL,
			    "the binds compile to more than %d IPv4 or IPv6 entries "
			    "(XS_MAX_BIND_PREFIXES, per family): list fewer addresses",
			    XS_MAX_BIND_PREFIXES);
		err = -EINVAL;
		goto fail;
	}
	err = xs_compiled_hash(c, c->hash);
	if (err)
		goto fail;
	*out = c;
	return 0;
fail:
	xs_compiled_free(c);
	return err;
}

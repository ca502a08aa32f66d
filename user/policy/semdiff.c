// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The semantic difference of two compiled policies (`xdpseg diff`, `apply
 * --dry-run`): what they decide, not how they are written.
 *
 * Segments are compared by name (their ids differ from policy to policy).
 * For every (source, destination) pair of segments both policies have,
 * every protocol class (tcp, udp, icmp, icmpv6, any protocol a table names,
 * and the others together) and every port: the decision of each policy,
 * by the lookups the datapath makes (lookup.c). A table's entry for a pair
 * and protocol covers an aligned block of ports, so both decisions are
 * constant between the block boundaries of the two tables: each elementary
 * interval is decided once, and neighbours with the same pair of decisions
 * (verdict and rule on each side) are merged into maximal runs. A pair
 * that neither table has an entry for is decided by defaults, modes and
 * quarantine alone: one decision for every protocol and port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- Growing arrays ---------------------------------------------------- */

static void *grow(void *arr_p, size_t *n, size_t *cap, size_t sz)
{
	return xs_push(arr_p, n, cap, sz);
}

/* ---- Names --------------------------------------------------------------- */

struct named {
	const char *name;
	uint16_t id;
};

static int named_cmp(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

/* The segments of c (world included, id 0) by name. NULL when out of memory. */
static struct named *names_of(const struct xs_compiled *c, size_t *n)
{
	size_t nseg = c->policy ? c->policy->nsegments : 0, k = 0;
	struct named *v = calloc(nseg + 1, sizeof(*v));

	if (!v)
		return NULL;
	v[k++] = (struct named){ "world", XS_SEG_WORLD };
	for (size_t i = 0; i < nseg; i++)
		if (c->policy->segments[i].name)
			v[k++] = (struct named){ c->policy->segments[i].name,
						 c->policy->segments[i].id };
	qsort(v, k, sizeof(*v), named_cmp);
	*n = k;
	return v;
}

/* The id of `name` in the sorted names, or -1. */
static long id_of(const struct named *v, size_t n, const char *name)
{
	struct named k = { name, 0 };
	const struct named *f = bsearch(&k, v, n, sizeof(*v), named_cmp);

	return f ? f->id : -1;
}

/* ---- One policy's decisions ---------------------------------------------- */

struct side {
	const struct xs_compiled *c;
	struct xs_tables t;
	uint64_t now;
};

static const struct xs_seg_info *info(const struct xs_compiled *c, uint16_t seg)
{
	static const struct xs_seg_info zero;

	return seg < c->nseginfo ? &c->seginfo[seg] : &zero;
}

/* The decision of the entry `e` (NULL: none) between src and dst. */
static void decide_entry(const struct side *s, const struct xs_rule_entry *e, uint16_t src,
			 uint16_t dst, struct xs_semdiff_side *out)
{
	struct xs_decision d;

	xs_decide_entry(e ? &e->val : NULL, info(s->c, src), info(s->c, dst), s->now, &d);
	out->verdict = d.verdict;
	out->reason = d.reason;
	out->rule_id = d.rule_id;
}

static void decide(const struct side *s, uint16_t src, uint16_t dst, uint8_t proto, uint16_t port,
		   struct xs_semdiff_side *out)
{
	decide_entry(s, xs_tables_rule(&s->t, src, dst, proto, port), src, dst, out);
}

/* The first rule entry of c at or after (src, dst, proto) in the compiler's order. */
static size_t lower_bound(const struct xs_compiled *c, uint16_t src, uint16_t dst, uint8_t proto)
{
	size_t lo = 0, hi = c->nrules;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct xs_rule_key *k = &c->rules[mid].key;
		int less = k->src_seg != src   ? k->src_seg < src
			   : k->dst_seg != dst ? k->dst_seg < dst
					       : k->proto < proto;

		if (less)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The entries of (src, dst) in c: [*from, *to). */
static void pair_range(const struct xs_compiled *c, uint16_t src, uint16_t dst, size_t *from,
		       size_t *to)
{
	size_t i = lower_bound(c, src, dst, 0);

	*from = i;
	while (i < c->nrules && c->rules[i].key.src_seg == src && c->rules[i].key.dst_seg == dst)
		i++;
	*to = i;
}

/* ---- The comparison ------------------------------------------------------------ */

struct diff {
	struct side a, b;
	struct xs_semdiff *out;
	size_t capchanges, capsegs;
	uint32_t *cuts; /* port boundaries of one class */
	size_t ncuts, capcuts;
	bool nomem;
};

static bool side_eq(const struct xs_semdiff_side *x, const struct xs_semdiff_side *y)
{
	return x->verdict == y->verdict && x->rule_id == y->rule_id;
}

static struct xs_semdiff_change *add_change(struct diff *D)
{
	struct xs_semdiff_change *ch =
		grow(&D->out->changes, &D->out->nchanges, &D->capchanges, sizeof(*ch));

	if (!ch)
		D->nomem = true;
	return ch;
}

static void add_cut(struct diff *D, uint32_t pos)
{
	uint32_t *p = grow(&D->cuts, &D->ncuts, &D->capcuts, sizeof(*p));

	if (!p)
		D->nomem = true;
	else
		*p = pos;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The block boundaries of c's entries of (src, dst, proto) within [0, top]. */
static void cuts_of(struct diff *D, const struct xs_compiled *c, uint16_t src, uint16_t dst,
		    uint8_t proto, uint32_t top)
{
	for (size_t i = lower_bound(c, src, dst, proto); i < c->nrules; i++) {
		const struct xs_rule_key *k = &c->rules[i].key;
		uint32_t start, size;

		if (k->src_seg != src || k->dst_seg != dst || k->proto != proto)
			break;
		if (k->prefixlen <= XS_RULE_PLEN_PROTO || k->prefixlen > XS_RULE_PLEN_PORT(16))
			continue;
		start = ntohs(k->port);
		size = 1u << (XS_RULE_PLEN_PORT(16) - k->prefixlen);
		if (start <= top)
			add_cut(D, start);
		if (start + size <= top)
			add_cut(D, start + size);
	}
}

/* One class (proto, ports 0..top) of a pair: its changed runs. Returns
 * whether the whole class is one run with the decisions in *whole. */
static bool compare_class(struct diff *D, const struct xs_semdiff_change *pair, int cls,
			  uint8_t proto, uint32_t top, struct xs_semdiff_side *whole_a,
			  struct xs_semdiff_side *whole_b)
{
	struct xs_semdiff_side ra = { 0 }, rb = { 0 };
	uint32_t run_lo = 0;
	size_t nruns = 0;

	D->ncuts = 0;
	add_cut(D, 0);
	cuts_of(D, D->a.c, pair->src_a, pair->dst_a, proto, top);
	cuts_of(D, D->b.c, pair->src_b, pair->dst_b, proto, top);
	if (D->nomem)
		return false;
	qsort(D->cuts, D->ncuts, sizeof(*D->cuts), u32_cmp);
	for (size_t i = 0; i <= D->ncuts; i++) {
		struct xs_semdiff_side da, db;
		uint32_t pos = i < D->ncuts ? D->cuts[i] : top + 1;

		if (i && i < D->ncuts && pos == D->cuts[i - 1])
			continue;
		if (i < D->ncuts) {
			decide(&D->a, pair->src_a, pair->dst_a, proto, (uint16_t)pos, &da);
			decide(&D->b, pair->src_b, pair->dst_b, proto, (uint16_t)pos, &db);
			if (i && side_eq(&da, &ra) && side_eq(&db, &rb))
				continue;
		}
		/* the run [run_lo, pos - 1] ends */
		if (i) {
			nruns++;
			if (ra.verdict != rb.verdict) {
				struct xs_semdiff_change *ch = add_change(D);

				if (!ch)
					return false;
				*ch = *pair;
				ch->cls = cls;
				ch->proto = proto;
				ch->lo = (uint16_t)run_lo;
				ch->hi = (uint16_t)(pos - 1);
				ch->a = ra;
				ch->b = rb;
			}
		}
		if (i < D->ncuts) {
			run_lo = pos;
			ra = da;
			rb = db;
		}
	}
	*whole_a = ra;
	*whole_b = rb;
	return nruns == 1;
}

/* The protocols a pair's entries name (prefix of at least the protocol). */
static size_t protos_of(const struct xs_compiled *c, size_t from, size_t to, bool *seen)
{
	size_t n = 0;

	for (size_t i = from; i < to; i++) {
		const struct xs_rule_key *k = &c->rules[i].key;

		if (k->prefixlen >= 40 && !seen[k->proto]) {
			seen[k->proto] = true;
			n++;
		}
	}
	return n;
}

/* Compare one pair of segments, present in both policies. */
static void compare_pair(struct diff *D, const char *src, const char *dst, uint16_t sa, uint16_t da,
			 uint16_t sb, uint16_t db)
{
	struct xs_semdiff_change pair = {
		.src = src, .dst = dst, .src_a = sa, .dst_a = da, .src_b = sb, .dst_b = db
	};
	size_t fa, ta, fb, tb, mark = D->out->nchanges;
	bool seen[256] = { 0 }, all_whole = true, first = true;
	struct xs_semdiff_side wa = { 0 }, wb = { 0 }, ca, cb;
	static const uint8_t base[] = { 6, 17, 1, 58 };
	int other = -1;

	D->out->pairs++;
	pair_range(D->a.c, sa, da, &fa, &ta);
	pair_range(D->b.c, sb, db, &fb, &tb);
	if (fa == ta && fb == tb) {
		/* no entry on either side: one decision for everything */
		decide_entry(&D->a, NULL, sa, da, &ca);
		decide_entry(&D->b, NULL, sb, db, &cb);
		if (ca.verdict != cb.verdict) {
			struct xs_semdiff_change *ch = add_change(D);

			if (ch) {
				*ch = pair;
				ch->cls = XS_SEMDIFF_ANY;
				ch->hi = 65535;
				ch->a = ca;
				ch->b = cb;
			}
		}
		return;
	}
	for (size_t i = 0; i < sizeof(base); i++)
		seen[base[i]] = true;
	protos_of(D->a.c, fa, ta, seen);
	protos_of(D->b.c, fb, tb, seen);
	for (int p = 0; p < 256 && other < 0; p++)
		if (!seen[p])
			other = p;
	/* the protocol classes in order: tcp, udp, icmp, icmpv6, then by number */
	for (int k = 0; k < 256 + 5 && !D->nomem; k++) {
		int proto;
		uint32_t top;

		if (k < 4)
			proto = base[k];
		else if (k < 4 + 256)
			proto = k - 4;
		else
			proto = other;
		if (proto < 0 ||
		    (k >= 4 && k < 4 + 256 &&
		     (!seen[proto] || proto == 6 || proto == 17 || proto == 1 || proto == 58)))
			continue;
		top = proto == 1 || proto == 58 ? 255 : 65535;
		if (k == 4 + 256)
			top = 0; /* every other protocol: no ports */
		if (!compare_class(D, &pair, k == 4 + 256 ? XS_SEMDIFF_OTHER : XS_SEMDIFF_PROTO,
				   (uint8_t)proto, top, &ca, &cb)) {
			all_whole = false;
			continue;
		}
		if (first) {
			wa = ca;
			wb = cb;
			first = false;
		} else if (!side_eq(&ca, &wa) || !side_eq(&cb, &wb)) {
			all_whole = false;
		}
	}
	/* every protocol and port alike: one line, not one per protocol */
	if (!D->nomem && all_whole && D->out->nchanges > mark) {
		D->out->nchanges = mark;
		if (add_change(D)) {
			struct xs_semdiff_change *ch = &D->out->changes[mark];

			*ch = pair;
			ch->cls = XS_SEMDIFF_ANY;
			ch->hi = 65535;
			ch->a = wa;
			ch->b = wb;
		}
	}
}

/* ---- Segments ----------------------------------------------------------------- */

/* c's prefixes of segment `seg`, as xs_prefix records (malloc'd). */
static struct xs_prefix *prefixes_of(const struct xs_compiled *c, uint16_t seg, size_t *n)
{
	struct xs_prefix *v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < c->nv4 + c->nv6; i++) {
		bool v4 = i < c->nv4;
		struct xs_prefix *p;

		if ((v4 ? c->v4[i].val.seg : c->v6[i - c->nv4].val.seg) != seg)
			continue;
		p = xs_push(&v, n, &cap, sizeof(*p));
		if (!p) {
			free(v);
			*n = SIZE_MAX;
			return NULL;
		}
		p->family = v4 ? 4 : 6;
		p->len = (uint8_t)(v4 ? c->v4[i].key.prefixlen : c->v6[i - c->nv4].key.prefixlen);
		memcpy(p->addr, v4 ? c->v4[i].key.addr : c->v6[i - c->nv4].key.addr, v4 ? 4 : 16);
	}
	return v;
}

static bool prefix_eq(const struct xs_prefix *x, const struct xs_prefix *y)
{
	return x->family == y->family && x->len == y->len && !memcmp(x->addr, y->addr, 16);
}

/* The prefixes of `from` that `other` lacks, appended to *out. */
static int minus(const struct xs_prefix *from, size_t nf, const struct xs_prefix *other, size_t no,
		 struct xs_prefix **out, size_t *n)
{
	size_t cap = *n;

	for (size_t i = 0; i < nf; i++) {
		bool found = false;
		struct xs_prefix *p;

		for (size_t j = 0; j < no && !found; j++)
			found = prefix_eq(&from[i], &other[j]);
		if (found)
			continue;
		p = xs_push(out, n, &cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		*p = from[i];
	}
	return 0;
}

static bool info_eq(const struct xs_seg_info *x, const struct xs_seg_info *y)
{
	return x->in_action == y->in_action && x->out_action == y->out_action &&
	       x->monitor == y->monitor &&
	       (x->flags & XS_SEGF_QUARANTINE) == (y->flags & XS_SEGF_QUARANTINE);
}

static void compare_segment(struct diff *D, const char *name, long ia, long ib)
{
	struct xs_prefix *pa = NULL, *pb = NULL;
	size_t na = 0, nb = 0;
	struct xs_semdiff_seg s = { .name = name };
	struct xs_semdiff_seg *slot;

	s.in_a = ia >= 0;
	s.in_b = ib >= 0;
	s.id_a = ia >= 0 ? (uint16_t)ia : 0;
	s.id_b = ib >= 0 ? (uint16_t)ib : 0;
	if (s.in_a) {
		pa = prefixes_of(D->a.c, s.id_a, &na);
		s.info_a = *info(D->a.c, s.id_a);
	}
	if (s.in_b) {
		pb = prefixes_of(D->b.c, s.id_b, &nb);
		s.info_b = *info(D->b.c, s.id_b);
	}
	if (na == SIZE_MAX || nb == SIZE_MAX || minus(pb, nb, pa, na, &s.added, &s.nadded) ||
	    minus(pa, na, pb, nb, &s.removed, &s.nremoved)) {
		D->nomem = true;
		goto out;
	}
	if (s.in_a && s.in_b && !s.nadded && !s.nremoved && info_eq(&s.info_a, &s.info_b))
		goto out;
	slot = grow(&D->out->segs, &D->out->nsegs, &D->capsegs, sizeof(*slot));
	if (!slot) {
		D->nomem = true;
		goto out;
	}
	*slot = s;
	s.added = s.removed = NULL;
out:
	free(s.added);
	free(s.removed);
	free(pa);
	free(pb);
}

/* ---- The entry point ------------------------------------------------------------ */

int xs_semdiff(const struct xs_compiled *a, uint64_t now_a, const struct xs_compiled *b,
	       uint64_t now_b, struct xs_semdiff *out)
{
	struct named *na = NULL, *nb = NULL;
	size_t nna = 0, nnb = 0;
	uint16_t *map = NULL; /* a's id -> b's id, or UINT16_MAX: absent */
	size_t nseg_a = a->policy ? a->policy->nsegments : 0;
	struct diff D = { .out = out };

	memset(out, 0, sizeof(*out));
	D.a.c = a;
	D.a.now = now_a;
	D.b.c = b;
	D.b.now = now_b;
	xs_tables_init(&D.a.t, a);
	xs_tables_init(&D.b.t, b);
	na = names_of(a, &nna);
	nb = names_of(b, &nnb);
	map = calloc(nseg_a + 1, sizeof(*map));
	if (!na || !nb || !map) {
		D.nomem = true;
		goto out;
	}
	/* segments: a's in id order, then b's that a lacks */
	for (size_t i = 0; i <= nseg_a; i++) {
		const char *name = xs_compiled_segment_name(a, (uint16_t)i);
		long ib = name ? id_of(nb, nnb, name) : -1;

		map[i] = ib < 0 ? UINT16_MAX : (uint16_t)ib;
		if (name && i)
			compare_segment(&D, name, (long)i, ib);
	}
	for (size_t i = 1; b->policy && i <= b->policy->nsegments && !D.nomem; i++) {
		const char *name = xs_compiled_segment_name(b, (uint16_t)i);

		if (name && id_of(na, nna, name) < 0)
			compare_segment(&D, name, -1, (long)i);
	}
	/* decisions: every pair of segments both have, in a's order */
	for (size_t s = 0; s <= nseg_a && !D.nomem; s++) {
		if (map[s] == UINT16_MAX)
			continue;
		for (size_t d = 0; d <= nseg_a && !D.nomem; d++) {
			if (map[d] == UINT16_MAX)
				continue;
			compare_pair(&D, xs_compiled_segment_name(a, (uint16_t)s),
				     xs_compiled_segment_name(a, (uint16_t)d), (uint16_t)s,
				     (uint16_t)d, map[s], map[d]);
		}
	}
out:
	free(na);
	free(nb);
	free(map);
	free(D.cuts);
	if (D.nomem) {
		xs_semdiff_free(out);
		return -ENOMEM;
	}
	return 0;
}

void xs_semdiff_free(struct xs_semdiff *d)
{
	for (size_t i = 0; i < d->nsegs; i++) {
		free(d->segs[i].added);
		free(d->segs[i].removed);
	}
	free(d->segs);
	free(d->changes);
	memset(d, 0, sizeof(*d));
}

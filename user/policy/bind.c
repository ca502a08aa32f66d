// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Port bindings: `bind SEGMENT IFACE-PATTERN [ADDRESS[/LEN], ...]`. The
 * second-pass checks (the segment, the pattern, each address entirely inside
 * the segment) and the compiled entries: per bind, LPM entries (bind id,
 * prefix) -> bind id for the addresses the port may send from, or 0 for a
 * longer prefix of another segment inside them ("not allowed").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- Checks ----------------------------------------------------------------- */

static const struct xs_prefix linklocal4 = { .family = 4, .len = 16, .addr = { 169, 254 } };
static const struct xs_prefix linklocal6 = { .family = 6, .len = 10, .addr = { 0xfe, 0x80 } };

/* "FILE:LINE" of a prefix's declaration, or "built in". */
static void where(char *buf, size_t size, const struct xs_policy *pol, const struct xs_pfx_ref *r)
{
	const struct xs_segment *s = &pol->segments[r->seg - 1];

	if (s->builtin)
		snprintf(buf, size, "built in");
	else
		snprintf(buf, size, "%s:%d", r->p->loc.file, r->p->loc.line);
}

/* Report an address that is not in segment s: name up to four of its prefixes. */
static void not_in(struct parser *P, const struct xs_prefix *px, const struct xs_segment *s)
{
	char list[256] = "", buf[80];
	size_t o = 0;

	for (size_t i = 0; i < s->nprefixes && i < 4 && o < sizeof(list); i++) {
		xs_format_prefix(buf, sizeof(buf), &s->prefixes[i]);
		o += snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", buf);
	}
	if (s->nprefixes > 4 && o < sizeof(list))
		snprintf(list + o, sizeof(list) - o, ", ...");
	xs_format_prefix(buf, sizeof(buf), px);
	err_at(P, px->loc, "%s is not in segment '%s' (%s)", buf, s->name, list);
}

static void overlaps(struct parser *P, const struct xs_prefix *px, const struct xs_pfx_ref *r)
{
	char a[80], b[80], w[160];

	xs_format_prefix(a, sizeof(a), px);
	xs_format_prefix(b, sizeof(b), r->p);
	where(w, sizeof(w), P->pol, r);
	err_at(P, px->loc,
	       "%s overlaps %s of segment '%s' (%s): a bound port sends from its own segment's "
	       "addresses only",
	       a, b, P->pol->segments[r->seg - 1].name, w);
}

struct foreign {
	uint16_t seg;
	const struct xs_pfx_ref *found;
};

static bool first_foreign(void *ctx, const struct xs_pfx_ref *r)
{
	struct foreign *f = ctx;

	if (r->seg == f->seg)
		return true;
	f->found = r;
	return false;
}

/*
 * One address of a bind of segment s: it must be inside one of s's prefixes
 * (the longest, P), and no prefix of another segment longer than P may
 * overlap it (contain it, or lie inside it). Link-local addresses are never
 * listed: they are accepted from every bound port.
 */
static void check_address(struct parser *P, const struct xs_pfx_index *ix,
			  const struct xs_prefix *px, const struct xs_segment *s)
{
	const struct xs_pfx_ref *c[129], *foreign = NULL;
	struct foreign in = { .seg = s->id };
	bool inside = false;
	size_t n;
	char buf[80];

	if (xs_prefix_contains(&linklocal4, px) || xs_prefix_contains(&linklocal6, px)) {
		xs_format_prefix(buf, sizeof(buf), px);
		err_at(P, px->loc,
		       "%s is link-local: link-local sources are always accepted from a bound "
		       "port, and classified as its segment",
		       buf);
		return;
	}
	n = xs_pfx_containers(ix, px, c, sizeof(c) / sizeof(c[0]));
	for (size_t i = 0; i < n && !inside; i++) {
		if (c[i]->seg == s->id)
			inside = true;
		else if (!foreign)
			foreign = c[i]; /* longer than the segment's own prefix */
	}
	if (!inside) {
		not_in(P, px, s);
		return;
	}
	if (foreign) {
		overlaps(P, px, foreign);
		return;
	}
	if (!xs_pfx_inside(ix, px, first_foreign, &in))
		overlaps(P, px, in.found);
}

static int prefix_cmp(const void *a, const void *b)
{
	const struct xs_prefix *x = *(const struct xs_prefix *const *)a;
	const struct xs_prefix *y = *(const struct xs_prefix *const *)b;
	int c;

	if (x->family != y->family)
		return x->family - y->family;
	c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len - y->len;
	return x->loc.col - y->loc.col;
}

/* The same address twice in one bind: report the later ones. */
static void check_repeats(struct parser *P, const struct rbind *rb)
{
	const struct xs_prefix **v = calloc(rb->nprefixes + 1, sizeof(*v));
	char buf[80];

	if (!v) {
		P->nomem = true;
		return;
	}
	for (size_t i = 0; i < rb->nprefixes; i++)
		v[i] = &rb->prefixes[i];
	if (rb->nprefixes)
		qsort(v, rb->nprefixes, sizeof(*v), prefix_cmp);
	for (size_t i = 1; i < rb->nprefixes; i++) {
		if (v[i]->family != v[i - 1]->family || v[i]->len != v[i - 1]->len ||
		    memcmp(v[i]->addr, v[i - 1]->addr, 16))
			continue;
		xs_format_prefix(buf, sizeof(buf), v[i]);
		err_at(P, v[i]->loc, "%s is listed twice", buf);
	}
	free(v);
}

/* The bound segment: a declared one. Its id, or -1 after an error. */
static long bind_segment(struct parser *P, const struct rbind *rb)
{
	if (!strcmp(rb->seg, "world") || !strcmp(rb->seg, "any")) {
		err_at(P, rb->seg_loc,
		       "cannot bind a port to '%s': a bound port belongs to a declared segment",
		       rb->seg);
		return -1;
	}
	if (!strcmp(rb->seg, XS_LINKLOCAL)) {
		err_at(P, rb->seg_loc,
		       "cannot bind a port to '%s': the link-local traffic of a bound port takes "
		       "the port's segment; bind it to a declared segment",
		       rb->seg);
		return -1;
	}
	return xs_resolve_seg(P, rb->seg, rb->seg_loc, false);
}

static void bind_into_policy(struct parser *P, struct rbind *rb, long seg)
{
	struct xs_policy *pol = P->pol;
	struct xs_binding *b = &pol->bindings[pol->nbindings++];

	b->id = (uint32_t)pol->nbindings;
	b->seg = seg > 0 ? (uint16_t)seg : 0;
	b->pattern = rb->pattern;
	b->prefixes = rb->prefixes;
	b->nprefixes = rb->nprefixes;
	b->text = rb->text;
	b->loc = rb->loc;
	rb->pattern = NULL;
	rb->prefixes = NULL;
	rb->text = NULL;
}

void xs_check_binds(struct parser *P)
{
	struct xs_policy *pol = P->pol;
	struct xs_name_map patterns = { 0 };
	struct xs_pfx_index ix;

	if (!P->nbinds)
		return;
	pol->bindings = calloc(P->nbinds, sizeof(*pol->bindings));
	if (!pol->bindings || xs_pfx_index_build(&ix, pol)) {
		P->nomem = true;
		return;
	}
	for (size_t i = 0; i < P->nbinds && !P->nomem; i++) {
		struct rbind *rb = &P->binds[i];
		long seg = bind_segment(P, rb), first;

		if (i + 1 == XS_MAX_BINDS)
			err_at(P, rb->loc, "too many binds: bind ids end at %d", XS_MAX_BINDS - 1);
		first = xs_map_put(&patterns, rb->pattern, (long)i);
		if (first == -ENOMEM)
			P->nomem = true;
		else if (first >= 0 && !rb->broken)
			err_at(P, rb->pattern_loc, "duplicate bind pattern '%s' (first at %s:%d)",
			       rb->pattern, P->binds[first].loc.file, P->binds[first].loc.line);
		if (seg > 0 && !rb->broken) {
			for (size_t k = 0; k < rb->nprefixes; k++)
				check_address(P, &ix, &rb->prefixes[k], &pol->segments[seg - 1]);
			check_repeats(P, rb);
		}
		bind_into_policy(P, rb, seg);
	}
	xs_map_free(&patterns);
	xs_pfx_index_free(&ix);
}

/* ---- Entries --------------------------------------------------------------------- */

struct bbuild {
	struct xs_compiled *c;
	size_t cap4, cap6;
	uint32_t bind; /* of the entries being added */
	uint16_t seg;  /* the bound segment */
	int err;
};

static void add_bind_entry(struct bbuild *b, const struct xs_prefix *px, uint32_t val)
{
	if (px->family == 4) {
		struct xs_bind4_entry *e =
			xs_push(&b->c->bind4, &b->c->nbind4, &b->cap4, sizeof(*e));

		if (!e) {
			b->err = -ENOMEM;
			return;
		}
		e->key.prefixlen = XS_BIND_PLEN(px->len);
		e->key.bind = b->bind;
		memcpy(e->key.addr, px->addr, 4);
		e->val = val;
	} else {
		struct xs_bind6_entry *e =
			xs_push(&b->c->bind6, &b->c->nbind6, &b->cap6, sizeof(*e));

		if (!e) {
			b->err = -ENOMEM;
			return;
		}
		e->key.prefixlen = XS_BIND_PLEN(px->len);
		e->key.bind = b->bind;
		memcpy(e->key.addr, px->addr, 16);
		e->val = val;
	}
}

/* A prefix of another segment inside one of the bound segment's: value 0. */
static bool add_exception(void *ctx, const struct xs_pfx_ref *r)
{
	struct bbuild *b = ctx;

	if (r->seg != b->seg)
		add_bind_entry(b, r->p, 0);
	return !b->err && b->c->nbind4 <= XS_MAX_BIND_PREFIXES &&
	       b->c->nbind6 <= XS_MAX_BIND_PREFIXES;
}

int xs_bind4_cmp(const void *a, const void *b)
{
	const struct xs_bind4_entry *x = a, *y = b;
	int c;

	if (x->key.bind != y->key.bind)
		return x->key.bind < y->key.bind ? -1 : 1;
	c = memcmp(x->key.addr, y->key.addr, 4);
	return c ? c : (int)x->key.prefixlen - (int)y->key.prefixlen;
}

int xs_bind6_cmp(const void *a, const void *b)
{
	const struct xs_bind6_entry *x = a, *y = b;
	int c;

	if (x->key.bind != y->key.bind)
		return x->key.bind < y->key.bind ? -1 : 1;
	c = memcmp(x->key.addr, y->key.addr, 16);
	return c ? c : (int)x->key.prefixlen - (int)y->key.prefixlen;
}

/* Sort, and drop repeated keys (a prefix of another segment inside two nested
 * prefixes of the bound one is found twice, with the same value). */
static void sort_unique(void *v, size_t *n, size_t sz, int (*cmp)(const void *, const void *))
{
	char *e = v;
	size_t o = 0;

	if (!*n)
		return;
	qsort(v, *n, sz, cmp);
	for (size_t i = 1; i < *n; i++)
		if (cmp(e + o * sz, e + i * sz))
			memmove(e + ++o * sz, e + i * sz, sz);
	*n = o + 1;
}

int xs_compile_binds(const struct xs_policy *p, struct xs_compiled *c)
{
	struct bbuild b = { .c = c };
	struct xs_pfx_index ix;

	c->setinfo.ll_seg = p->linklocal_seg;
	c->setinfo.flags = p->nbindings ? XS_SETF_BINDS : 0;
	c->setinfo.nbinds = (uint32_t)p->nbindings;
	c->nbinds = p->nbindings + 1;
	c->binds = calloc(c->nbinds, sizeof(*c->binds));
	if (!c->binds || xs_pfx_index_build(&ix, p))
		return -ENOMEM;
	for (size_t i = 0; i < p->nbindings && !b.err; i++) {
		const struct xs_binding *bd = &p->bindings[i];
		const struct xs_segment *s = &p->segments[bd->seg - 1];
		struct xs_bind_info *info = &c->binds[bd->id];

		info->rule_id = bd->rule_id;
		info->seg = bd->seg;
		snprintf(info->pattern, sizeof(info->pattern), "%s", bd->pattern);
		/* the first host address of each family: the datapath's check without a trie */
		for (size_t k = 0; k < bd->nprefixes; k++) {
			const struct xs_prefix *px = &bd->prefixes[k];

			if (px->family == 4 && px->len == 32 && !(info->flags & XS_BINDF_HOST4)) {
				memcpy(info->host4, px->addr, 4);
				info->flags |= XS_BINDF_HOST4;
			} else if (px->family == 6 && px->len == 128 &&
				   !(info->flags & XS_BINDF_HOST6)) {
				memcpy(info->host6, px->addr, 16);
				info->flags |= XS_BINDF_HOST6;
			}
		}
		b.bind = bd->id;
		for (size_t k = 0; k < bd->nprefixes; k++)
			add_bind_entry(&b, &bd->prefixes[k], bd->id);
		/* without addresses: the segment's prefixes, less the other segments' in them */
		for (size_t k = 0; !bd->nprefixes && k < s->nprefixes && !b.err; k++) {
			add_bind_entry(&b, &s->prefixes[k], bd->id);
			b.seg = bd->seg;
			xs_pfx_inside(&ix, &s->prefixes[k], add_exception, &b);
		}
	}
	xs_pfx_index_free(&ix);
	if (b.err)
		return b.err;
	sort_unique(c->bind4, &c->nbind4, sizeof(*c->bind4), xs_bind4_cmp);
	sort_unique(c->bind6, &c->nbind6, sizeof(*c->bind6), xs_bind6_cmp);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * An index of every segment prefix, sorted by (family, address, length):
 * the prefixes that contain a prefix are one exact lookup per length, the
 * ones inside it a contiguous run. The bind checks and the bind entries use
 * it (a segment may have a quarter of a million prefixes).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int family_bits(uint8_t family)
{
	return family == 4 ? 32 : 128;
}

/* Are the first `bits` bits of a and b equal? */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest)));
}

bool xs_prefix_contains(const struct xs_prefix *outer, const struct xs_prefix *inner)
{
	return outer->family == inner->family && outer->len <= inner->len &&
	       same_bits(outer->addr, inner->addr, outer->len);
}

static int ref_cmp3(uint8_t fa, const uint8_t *a, uint8_t la, uint8_t fb, const uint8_t *b,
		    uint8_t lb)
{
	int c;

	if (fa != fb)
		return fa < fb ? -1 : 1;
	c = memcmp(a, b, 16);
	if (c)
		return c;
	return la < lb ? -1 : la > lb;
}

static int ref_cmp(const void *x, const void *y)
{
	const struct xs_pfx_ref *a = x, *b = y;
	int c = ref_cmp3(a->p->family, a->p->addr, a->p->len, b->p->family, b->p->addr, b->p->len);

	if (c)
		return c;
	return a->seg < b->seg ? -1 : a->seg > b->seg;
}

int xs_pfx_index_build(struct xs_pfx_index *ix, const struct xs_policy *p)
{
	size_t n = 0;

	memset(ix, 0, sizeof(*ix));
	for (size_t i = 0; i < p->nsegments; i++)
		n += p->segments[i].nprefixes;
	ix->v = calloc(n + 1, sizeof(*ix->v));
	if (!ix->v)
		return -ENOMEM;
	/* derived segments (overlays) are their declared segment's addresses */
	for (size_t i = 0; i < p->nsegments; i++)
		for (size_t j = 0; !p->segments[i].derived && j < p->segments[i].nprefixes; j++)
			ix->v[ix->n++] = (struct xs_pfx_ref){ &p->segments[i].prefixes[j],
							      p->segments[i].id };
	if (ix->n)
		qsort(ix->v, ix->n, sizeof(*ix->v), ref_cmp);
	return 0;
}

void xs_pfx_index_free(struct xs_pfx_index *ix)
{
	free(ix->v);
	memset(ix, 0, sizeof(*ix));
}

/* The first entry not before (family, addr, len). */
static size_t lower_bound(const struct xs_pfx_index *ix, uint8_t family, const uint8_t *addr,
			  uint8_t len)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct xs_prefix *m = ix->v[mid].p;

		if (ref_cmp3(m->family, m->addr, m->len, family, addr, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t xs_pfx_containers(const struct xs_pfx_index *ix, const struct xs_prefix *px,
			 const struct xs_pfx_ref **out, size_t max)
{
	size_t n = 0;

	for (int len = px->len; len >= 0 && n < max; len--) {
		struct xs_prefix m = { .family = px->family, .len = (uint8_t)len };
		size_t i;

		memcpy(m.addr, px->addr, 16);
		for (int b = len; b < family_bits(px->family); b++)
			m.addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
		i = lower_bound(ix, m.family, m.addr, m.len);
		for (; i < ix->n && n < max &&
		       !ref_cmp3(ix->v[i].p->family, ix->v[i].p->addr, ix->v[i].p->len, m.family,
				 m.addr, m.len);
		     i++)
			out[n++] = &ix->v[i];
	}
	return n;
}

bool xs_pfx_inside(const struct xs_pfx_index *ix, const struct xs_prefix *px,
		   bool (*fn)(void *ctx, const struct xs_pfx_ref *r), void *ctx)
{
	for (size_t i = lower_bound(ix, px->family, px->addr, px->len); i < ix->n; i++) {
		const struct xs_prefix *q = ix->v[i].p;

		if (!xs_prefix_contains(px, q))
			break; /* past px's addresses */
		if (q->len > px->len && !fn(ctx, &ix->v[i]))
			return false;
	}
	return true;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpseg suggest`: the segments proposed for addresses in no segment.
 *
 * An address in no segment of the policy (world) gets a proposed segment:
 * the addresses of the flows' world ends grouped by a prefix of the limit's
 * length, each group the smallest prefix covering what was seen in it,
 * never a whole private range or wider (then the addresses themselves).
 * Proposed segments are active statements (with a comment to review them),
 * so the text compiles and replays as it reads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "suggest_int.h"

/* The ranges a proposal never covers whole: RFC 1918, RFC 6598, ULA, link-local. */
static const struct {
	uint8_t family;
	uint8_t addr[16];
	unsigned int len;
} private_ranges[] = {
	{ 4, { 10 }, 8 },	{ 4, { 172, 16 }, 12 }, { 4, { 192, 168 }, 16 },
	{ 4, { 100, 64 }, 10 }, { 6, { 0xfc }, 7 },	{ 6, { 0xfe, 0x80 }, 10 },
};

bool sg_prefix_holds(const uint8_t *pfx, unsigned int len, const uint8_t *addr)
{
	unsigned int full = len / 8, rest = len % 8;

	if (memcmp(pfx, addr, full))
		return false;
	return !rest || !((pfx[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest)));
}

static void prefix_clear(uint8_t *addr, unsigned int len, unsigned int bytes)
{
	for (unsigned int b = 0; b < bytes; b++) {
		if (b * 8 >= len)
			addr[b] = 0;
		else if (b * 8 + 8 > len)
			addr[b] &= (uint8_t)(0xff << (8 - (len - b * 8)));
	}
}

static unsigned int common_len(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int n = 0;

	while (n < bits && !((a[n / 8] ^ b[n / 8]) & (0x80 >> (n % 8))))
		n++;
	return n;
}

static int waddr_cmp(const void *x, const void *y)
{
	const struct waddr *a = x, *b = y;

	if (a->family != b->family)
		return a->family - b->family;
	return memcmp(a->addr, b->addr, 16);
}

/* Group the world addresses into proposed segments, and name each side of
 * the passing flows by its endpoint. */
int sg_propose(struct ctx *x)
{
	size_t n = 0, cap = 0, k = 1;

	if (x->nwa)
		qsort(x->wa, x->nwa, sizeof(*x->wa), waddr_cmp);
	for (size_t i = 0; i < x->nwa; i++)
		if (!n || waddr_cmp(&x->wa[n - 1], &x->wa[i]))
			x->wa[n++] = x->wa[i];
	x->nwa = n;
	for (size_t i = 0, j; i < x->nwa; i = j) {
		const struct waddr *a = &x->wa[i];
		unsigned int bits = a->family == 6 ? 128 : 32;
		unsigned int lim = a->family == 6 ? x->o->max_prefix6 : x->o->max_prefix4;
		struct proposal g = { .family = a->family, .first = i };

		if (lim > bits)
			lim = bits;
		for (j = i + 1; j < x->nwa && x->wa[j].family == a->family &&
				common_len(a->addr, x->wa[j].addr, bits) >= lim;
		     j++)
			;
		g.n = j - i;
		g.len = common_len(a->addr, x->wa[j - 1].addr, bits);
		memcpy(g.addr, a->addr, 16);
		prefix_clear(g.addr, g.len, 16);
		for (size_t r = 0; r < sizeof(private_ranges) / sizeof(private_ranges[0]); r++)
			if (private_ranges[r].family == g.family &&
			    g.len <= private_ranges[r].len &&
			    sg_prefix_holds(g.addr, g.len, private_ranges[r].addr))
				g.hosts = true;
		for (;; k++) {
			bool taken = false;

			snprintf(g.name, sizeof(g.name), "unsegmented-%zu", k);
			for (size_t s = 0; s < x->p->nsegments && !taken; s++)
				taken = !strcmp(x->p->segments[s].name, g.name);
			if (!taken)
				break;
		}
		k++;
		for (size_t m = i; m < j; m++)
			x->wa[m].group = (uint32_t)x->ng;
		if (sg_push(&x->g, &x->ng, &cap, sizeof(g), &g))
			return -ENOMEM;
	}
	for (size_t i = 0; i < x->npass; i++) {
		struct entry *e = &x->pass[i];

		for (int side = 0; side < 2; side++) {
			struct waddr key = { .family = e->f->r.family };
			const struct waddr *w;

			if (side ? e->dst : e->src)
				continue;
			memcpy(key.addr, side ? e->f->r.dst : e->f->r.src, 16);
			w = bsearch(&key, x->wa, x->nwa, sizeof(key), waddr_cmp);
			if (!w)
				return -EINVAL; /* every passing world end was collected */
			*(side ? &e->dst : &e->src) = PROPOSED + w->group;
		}
	}
	return 0;
}

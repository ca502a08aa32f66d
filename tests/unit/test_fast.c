// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/policy/fast.c: the fast path's derived tables answer as the tables
 * they are derived from (lookup.c's longest-prefix matches, the datapath's
 * reference in userspace):
 *  - the DIR-16-8-8 table built from random nested IPv4 prefixes, walked
 *    as the datapath walks it, gives every prefix's first and last address,
 *    the addresses just outside it and random ones the segment of the
 *    longest prefix; exact entries and chunks for prefixes across the /16
 *    and /24 boundaries, /0 and /32; the chunk count is one per /16 and per
 *    /24 holding a longer prefix; past XS_DIR4_CHUNKS chunks, the trie;
 *  - the IPv6 prefixes asked length by length, longest first, as the
 *    datapath asks them, give the longest match; the lengths descending;
 *    past XS_SEG6_LENS lengths, the trie;
 *  - pair classes, exactly, for policies without entries, with pair-wide
 *    ones, single ports with and without a pair-wide entry, ranges,
 *    protocol-wide ones, ICMP types, world, and the entries of overlays
 *    (forensic access, grants, failsafe ports and their derived segments);
 *    and for every pair and a set of services, the lookups a class allows
 *    (none; xs_pairs; xs_rexact then xs_pairs; the trie) find the entry
 *    the rule table's longest match finds; the same over random policies.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "randpol.h"

/* ---- Tables made by hand ---------------------------------------------------- */

/* A compiled policy holding only segment prefixes (rows for `nseg` segments). */
static struct xs_compiled *tables(const struct xs_lpm4_entry *v4, size_t nv4,
				  const struct xs_lpm6_entry *v6, size_t nv6, size_t nseg)
{
	struct xs_compiled *c = calloc(1, sizeof(*c));

	cr_assert_not_null(c);
	c->v4 = calloc(nv4 + 1, sizeof(*v4));
	c->v6 = calloc(nv6 + 1, sizeof(*v6));
	c->seginfo = calloc(nseg + 1, sizeof(*c->seginfo));
	cr_assert(c->v4 && c->v6 && c->seginfo);
	if (nv4)
		memcpy(c->v4, v4, nv4 * sizeof(*v4));
	if (nv6)
		memcpy(c->v6, v6, nv6 * sizeof(*v6));
	c->nv4 = nv4;
	c->nv6 = nv6;
	c->nseginfo = nseg + 1;
	xs_compiled_sort(c);
	return c;
}

static struct xs_fast *build_ok(const struct xs_compiled *c)
{
	struct xs_fast *f = NULL;
	int rc = xs_fast_build(c, &f);

	cr_assert_eq(rc, 0, "xs_fast_build: %d", rc);
	cr_assert_not_null(f);
	return f;
}

static struct xs_lpm4_entry p4(const char *s, unsigned int len, uint16_t seg)
{
	struct xs_lpm4_entry e = { .key.prefixlen = len, .val.seg = seg };

	cr_assert_eq(inet_pton(AF_INET, s, e.key.addr), 1, "%s", s);
	return e;
}

static uint32_t a4(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static void put4(uint32_t v, uint8_t *a)
{
	a[0] = (uint8_t)(v >> 24);
	a[1] = (uint8_t)(v >> 16);
	a[2] = (uint8_t)(v >> 8);
	a[3] = (uint8_t)v;
}

static uint32_t mask4(unsigned int len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* The DIR table's answer and the trie's (lookup.c) for one address agree. */
static void same4(const struct xs_fast *f, const struct xs_tables *t, uint32_t v)
{
	uint8_t a[16] = { 0 };
	struct xs_seg_match m;
	uint16_t got;

	put4(v, a);
	xs_tables_segment(t, 4, a, &m);
	got = xs_fast_segment4(f, a);
	cr_assert_eq(got, m.seg, "%u.%u.%u.%u: DIR %u, longest prefix %u (/%d)", a[0], a[1], a[2],
		     a[3], got, m.seg, m.len);
}

static uint16_t seg4(const struct xs_fast *f, const char *s)
{
	uint8_t a[4];

	cr_assert_eq(inet_pton(AF_INET, s, a), 1, "%s", s);
	return xs_fast_segment4(f, a);
}

/* ---- IPv4: DIR-16-8-8 ------------------------------------------------------- */

Test(fast, dir4_boundaries)
{
	const struct xs_lpm4_entry v4[] = {
		p4("0.0.0.0", 0, 1),	   p4("10.0.0.0", 8, 2),      p4("10.2.0.0", 15, 3),
		p4("10.3.128.0", 17, 4),   p4("10.3.130.0", 23, 5),   p4("10.3.131.0", 24, 6),
		p4("10.3.131.128", 25, 7), p4("10.3.131.130", 31, 8), p4("10.3.131.131", 32, 9),
		p4("192.168.1.1", 32, 10), p4("172.16.0.0", 16, 11),  p4("172.17.5.0", 24, 12),
	};
	struct xs_compiled *c = tables(v4, sizeof(v4) / sizeof(v4[0]), NULL, 0, 12);
	struct xs_fast *f = build_ok(c);
	uint8_t a[4];
	unsigned int len;

	cr_assert_eq(f->info.flags, XS_FASTF_READY);
	/* level 2 under 10.3 (/17), 172.17 (/24), 192.168 (/32); level 3 under
	 * 10.3.131 (/25) and 192.168.1 (/32); made in ascending length */
	cr_assert_eq(f->ndir4, 256 + 5);
	cr_assert_eq(f->dir4[10].e[3], XS_DIR4_NEXT | 256);
	cr_assert_eq(f->dir4[172].e[17], XS_DIR4_NEXT | 257);
	cr_assert_eq(f->dir4[256].e[131], XS_DIR4_NEXT | 258);
	cr_assert_eq(f->dir4[192].e[168], XS_DIR4_NEXT | 259);
	cr_assert_eq(f->dir4[259].e[1], XS_DIR4_NEXT | 260);
	/* a new chunk holds the value it was made under */
	cr_assert_eq(f->dir4[256].e[0], 3);   /* 10.3.0.0: the /15 (10.2-10.3) */
	cr_assert_eq(f->dir4[259].e[0], 1);   /* 192.168.0.0: /0 */
	cr_assert_eq(f->dir4[172].e[16], 11); /* a /16: one first-level entry */
	cr_assert_eq(f->dir4[257].e[5], 12);  /* a /24: one second-level entry */
	cr_assert_eq(f->dir4[257].e[4], 1);   /* beside it, the /0 */
	cr_assert_eq(f->dir4[260].e[1], 10);  /* a /32 */
	cr_assert_eq(f->dir4[260].e[0], 1);
	cr_assert_eq(f->dir4[258].e[130], 8); /* a /31: two entries */
	cr_assert_eq(f->dir4[258].e[131], 9);
	cr_assert_eq(f->dir4[258].e[132], 7);

	cr_assert_eq(seg4(f, "1.2.3.4"), 1);
	cr_assert_eq(seg4(f, "9.255.255.255"), 1);
	cr_assert_eq(seg4(f, "10.0.0.0"), 2);
	cr_assert_eq(seg4(f, "10.1.255.255"), 2);
	cr_assert_eq(seg4(f, "10.2.0.0"), 3); /* a /15: two first-level entries */
	cr_assert_eq(seg4(f, "10.3.127.255"), 3);
	cr_assert_eq(seg4(f, "10.3.128.0"), 4);
	cr_assert_eq(seg4(f, "10.3.129.255"), 4);
	cr_assert_eq(seg4(f, "10.3.130.0"), 5);
	cr_assert_eq(seg4(f, "10.3.130.255"), 5);
	cr_assert_eq(seg4(f, "10.3.131.0"), 6);
	cr_assert_eq(seg4(f, "10.3.131.127"), 6);
	cr_assert_eq(seg4(f, "10.3.131.128"), 7);
	cr_assert_eq(seg4(f, "10.3.131.129"), 7);
	cr_assert_eq(seg4(f, "10.3.131.130"), 8);
	cr_assert_eq(seg4(f, "10.3.131.131"), 9);
	cr_assert_eq(seg4(f, "10.3.131.132"), 7);
	cr_assert_eq(seg4(f, "10.3.131.255"), 7);
	cr_assert_eq(seg4(f, "10.3.132.0"), 4);
	cr_assert_eq(seg4(f, "10.3.255.255"), 4);
	cr_assert_eq(seg4(f, "10.4.0.0"), 2);
	cr_assert_eq(seg4(f, "10.255.255.255"), 2);
	cr_assert_eq(seg4(f, "11.0.0.0"), 1);
	cr_assert_eq(seg4(f, "172.16.255.255"), 11);
	cr_assert_eq(seg4(f, "172.17.5.255"), 12);
	cr_assert_eq(seg4(f, "172.17.6.0"), 1);
	cr_assert_eq(seg4(f, "192.168.1.0"), 1);
	cr_assert_eq(seg4(f, "192.168.1.1"), 10);
	cr_assert_eq(seg4(f, "192.168.1.2"), 1);
	cr_assert_eq(seg4(f, "255.255.255.255"), 1);

	/* what an entry stands for (verify names it) */
	cr_assert_eq(xs_fast_dir4_where(f, 10, 3, a, &len), 0);
	cr_assert(len == 16 && a4(a) == 0x0a030000u);
	cr_assert_eq(xs_fast_dir4_where(f, 258, 131, a, &len), 0);
	cr_assert(len == 32 && a4(a) == 0x0a038383u);
	cr_assert_eq(xs_fast_dir4_where(f, 257, 5, a, &len), 0);
	cr_assert(len == 24 && a4(a) == 0xac110500u);
	cr_assert_eq(xs_fast_dir4_where(f, 261, 0, a, &len), -ENOENT);
	xs_fast_free(f);
	xs_compiled_free(c);
}

/* The segment of every address, without /0: world outside every prefix. */
Test(fast, dir4_world_and_empty)
{
	const struct xs_lpm4_entry v4[] = { p4("10.0.0.0", 8, 1) };
	struct xs_compiled *c = tables(v4, 1, NULL, 0, 1), *e = tables(NULL, 0, NULL, 0, 0);
	struct xs_fast *f = build_ok(c), *g = build_ok(e);

	cr_assert_eq(f->ndir4, 256);
	cr_assert_eq(seg4(f, "9.255.255.255"), XS_SEG_WORLD);
	cr_assert_eq(seg4(f, "10.0.0.0"), 1);
	cr_assert_eq(seg4(f, "11.0.0.0"), XS_SEG_WORLD);
	/* no prefix: the first level only, world everywhere */
	cr_assert_eq(g->info.flags, XS_FASTF_READY);
	cr_assert_eq(g->ndir4, 256);
	for (size_t k = 0; k < 256; k++)
		for (int i = 0; i < 256; i++)
			cr_assert_eq(g->dir4[k].e[i], XS_SEG_WORLD);
	cr_assert_eq(g->nseg6h, 0);
	cr_assert_eq(g->info.nlen6, 0);
	cr_assert_eq(g->npairc, 1);
	xs_fast_free(f);
	xs_fast_free(g);
	xs_compiled_free(c);
	xs_compiled_free(e);
}

/* Random nested prefixes (as xs_compiled_sort() leaves them: no repeats). */
static size_t rand_prefixes4(struct rng *r, struct xs_lpm4_entry *v, size_t n, bool slash0)
{
	static const uint8_t lens[] = {
		1, 7, 8, 9, 12, 15, 16, 17, 20, 23, 24, 25, 28, 30, 31, 32
	};
	static const uint8_t firsts[] = { 10, 172, 192, 100 };
	size_t k = 0;

	if (slash0)
		v[k++] = (struct xs_lpm4_entry){ .key.prefixlen = 0, .val.seg = 4000 };
	while (k < n) {
		struct xs_lpm4_entry *e = &v[k];
		uint32_t addr, len;

		if (k > 1 && rnd(r, 3)) { /* inside an earlier one */
			const struct xs_lpm4_entry *p = &v[1 + rnd(r, (uint32_t)k - 1)];

			if (p->key.prefixlen == 32)
				continue;
			len = p->key.prefixlen + 1 + rnd(r, 32 - p->key.prefixlen);
			if (rnd(r, 2)) /* often a boundary length */
				len = len <= 16 ? 16 + rnd(r, 2) : len <= 24 ? 24 + rnd(r, 2) : len;
			addr = a4(p->key.addr) |
			       (rnd(r, 1u << 16) << 16 | rnd(r, 1u << 16)) >> p->key.prefixlen;
		} else {
			len = lens[rnd(r, sizeof(lens))];
			addr = (uint32_t)firsts[rnd(r, sizeof(firsts))] << 24 |
			       rnd(r, 1u << 12) << 12 | rnd(r, 1u << 12);
			if (rnd(r, 8) == 0)
				addr ^= rnd(r, 256) << 24;
		}
		e->key.prefixlen = len;
		put4(addr & mask4(len), e->key.addr);
		e->val.seg = (uint16_t)(1 + rnd(r, XS_MAX_SEGMENTS - 1));
		k++;
	}
	return k;
}

/* Remove repeated prefixes of sorted tables (the first stays). */
static void unique4(struct xs_compiled *c)
{
	size_t k = 0;

	for (size_t i = 0; i < c->nv4; i++)
		if (!k || memcmp(&c->v4[i].key, &c->v4[k - 1].key, sizeof(c->v4[i].key)))
			c->v4[k++] = c->v4[i];
	c->nv4 = k;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Chunks the table must have: the first level, one per /16 holding a prefix
 * longer than /16, one per /24 holding one longer than /24. */
static size_t chunks_needed(const struct xs_compiled *c)
{
	uint32_t *v = calloc(2 * c->nv4 + 1, sizeof(*v));
	size_t n = 0, distinct = 0;

	cr_assert_not_null(v);
	for (size_t i = 0; i < c->nv4; i++) {
		uint32_t a = a4(c->v4[i].key.addr), len = c->v4[i].key.prefixlen;

		if (len > 16)
			v[n++] = (a >> 16) << 1; /* tagged: /16s even, /24s odd */
		if (len > 24)
			v[n++] = (a >> 8) << 1 | 1;
	}
	qsort(v, n, sizeof(*v), u32_cmp);
	for (size_t i = 0; i < n; i++)
		distinct += !i || v[i] != v[i - 1];
	free(v);
	return 256 + distinct;
}

static void dir4_random(uint64_t seed, size_t n, bool slash0)
{
	struct rng r = { seed };
	struct xs_lpm4_entry *v = calloc(n, sizeof(*v));
	struct xs_compiled *c;
	struct xs_fast *f;
	struct xs_tables t;

	cr_assert_not_null(v);
	n = rand_prefixes4(&r, v, n, slash0);
	c = tables(v, n, NULL, 0, 0);
	unique4(c);
	f = build_ok(c);
	xs_tables_init(&t, c);
	cr_assert_eq(f->info.flags, XS_FASTF_READY);
	cr_assert_eq(f->ndir4, chunks_needed(c), "seed %llu: %zu chunks, %zu needed",
		     (unsigned long long)seed, f->ndir4, chunks_needed(c));
	/* every prefix's edges, inside and out */
	for (size_t i = 0; i < c->nv4; i++) {
		uint32_t first = a4(c->v4[i].key.addr),
			 last = first | ~mask4(c->v4[i].key.prefixlen);

		same4(f, &t, first);
		same4(f, &t, last);
		same4(f, &t, first - 1);
		same4(f, &t, last + 1);
		same4(f, &t, first + (uint32_t)rnd(&r, last - first + 1 ? last - first + 1 : ~0u));
	}
	for (int i = 0; i < 100000; i++) {
		uint32_t a = rnd(&r, 1u << 16) << 16 | rnd(&r, 1u << 16);

		if (rnd(&r, 2)) /* near a prefix */
			a = a4(c->v4[rnd(&r, (uint32_t)c->nv4)].key.addr) ^ (a >> rnd(&r, 33 - 1));
		same4(f, &t, a);
	}
	xs_fast_free(f);
	xs_compiled_free(c);
	free(v);
}

Test(fast, dir4_random_nested_prefixes_are_the_longest_match)
{
	dir4_random(1, 3000, true);
	dir4_random(0x5eed, 3000, false);
	dir4_random(20261123, 300, false);
	dir4_random(77, 10000, false);
}

/* n /24s, each in a /16 of its own: 256 + n chunks. */
static struct xs_lpm4_entry *spread(size_t n)
{
	struct xs_lpm4_entry *v = calloc(n + 2, sizeof(*v));

	cr_assert_not_null(v);
	for (size_t i = 0; i < n; i++) {
		v[i].key.prefixlen = 24;
		v[i].key.addr[0] = (uint8_t)(i >> 8);
		v[i].key.addr[1] = (uint8_t)i;
		v[i].key.addr[2] = 7;
		v[i].val.seg = (uint16_t)(1 + i % 100);
	}
	return v;
}

Test(fast, dir4_chunk_limit_falls_back_to_the_trie)
{
	size_t n = XS_DIR4_CHUNKS - 256 - 1;
	struct xs_lpm4_entry *v = spread(n + 1);
	struct xs_compiled *c;
	struct xs_fast *f;

	/* n /24s and a /25 inside the first: exactly XS_DIR4_CHUNKS */
	v[n] = (struct xs_lpm4_entry){ .key = { 25, { 0, 0, 7, 128 } }, .val.seg = 101 };
	c = tables(v, n + 1, NULL, 0, 101);
	f = build_ok(c);
	cr_assert_eq(f->info.flags, XS_FASTF_READY);
	cr_assert_eq(f->ndir4, XS_DIR4_CHUNKS);
	cr_assert_eq(seg4(f, "0.0.7.128"), 101);
	cr_assert_eq(seg4(f, "0.0.7.127"), 1);
	cr_assert_eq(seg4(f, "62.254.7.1"), 1 + (62 * 256 + 254) % 100);
	xs_fast_free(f);
	xs_compiled_free(c);

	/* one chunk more: the trie, no chunk */
	v[n + 1] = (struct xs_lpm4_entry){ .key = { 25, { 0, 1, 7, 128 } }, .val.seg = 102 };
	c = tables(v, n + 2, NULL, 0, 102);
	f = build_ok(c);
	cr_assert_eq(f->info.flags, XS_FASTF_READY | XS_FASTF_TRIE4);
	cr_assert_eq(f->ndir4, 0);
	cr_assert_null(f->dir4);
	xs_fast_free(f);
	xs_compiled_free(c);
	free(v);
}

Test(fast, malformed_tables_are_refused)
{
	struct xs_lpm4_entry v4[] = { { .key.prefixlen = 33, .val.seg = 1 } };
	struct xs_lpm6_entry v6[] = { { .key.prefixlen = 129, .val.seg = 1 } };
	struct xs_compiled *c = tables(v4, 1, NULL, 0, 1);
	struct xs_fast *f = (void *)1;

	cr_assert_eq(xs_fast_build(c, &f), -EINVAL);
	cr_assert_null(f);
	xs_compiled_free(c);
	c = tables(NULL, 0, v6, 1, 1);
	cr_assert_eq(xs_fast_build(c, &f), -EINVAL);
	xs_compiled_free(c);
	v4[0] = (struct xs_lpm4_entry){ .key.prefixlen = 8, .val.seg = XS_MAX_SEGMENTS };
	c = tables(v4, 1, NULL, 0, 1);
	cr_assert_eq(xs_fast_build(c, &f), -EINVAL);
	xs_compiled_free(c);
}

/* ---- IPv6: one hash per length ------------------------------------------------ */

static void mask16(uint8_t *a, unsigned int len)
{
	for (unsigned int b = 0; b < 16; b++) {
		unsigned int lo = b * 8;

		if (len <= lo)
			a[b] = 0;
		else if (len < lo + 8)
			a[b] &= (uint8_t)(0xff << (lo + 8 - len));
	}
}

static int key6_cmp(const void *x, const void *y)
{
	return memcmp(&((const struct xs_lpm6_entry *)x)->key,
		      &((const struct xs_lpm6_entry *)y)->key, sizeof(struct xs_lpm6_key));
}

/* The datapath's IPv6 lookup: each length of info.len6, longest first, in
 * `h` (f->seg6h sorted by key6_cmp). */
static uint16_t seg6(const struct xs_fast *f, const struct xs_lpm6_entry *h, const uint8_t *a)
{
	for (unsigned int i = 0; i < f->info.nlen6; i++) {
		struct xs_lpm6_entry k = { .key.prefixlen = f->info.len6[i] };
		const struct xs_lpm6_entry *e;

		memcpy(k.key.addr, a, 16);
		mask16(k.key.addr, k.key.prefixlen);
		e = bsearch(&k, h, f->nseg6h, sizeof(*h), key6_cmp);
		if (e)
			return e->val.seg;
	}
	return XS_SEG_WORLD;
}

static void seg6_random(uint64_t seed, const uint8_t *lens, size_t nlens, size_t n)
{
	struct rng r = { seed };
	struct xs_lpm6_entry *v = calloc(n, sizeof(*v)), *h;
	struct xs_compiled *c;
	struct xs_fast *f;
	struct xs_tables t;
	bool used[129] = { 0 };
	size_t k = 0, nused = 0;

	cr_assert_not_null(v);
	while (k < n) {
		struct xs_lpm6_entry *e = &v[k];
		uint32_t len = lens[rnd(&r, (uint32_t)nlens)];

		if (k && rnd(&r, 3)) { /* inside an earlier, shorter one */
			const struct xs_lpm6_entry *p = &v[rnd(&r, (uint32_t)k)];

			if (p->key.prefixlen >= len)
				continue;
			memcpy(e->key.addr, p->key.addr, 16);
			for (unsigned int b = p->key.prefixlen / 8; b < 16; b++)
				e->key.addr[b] |=
					(uint8_t)(rnd(&r, 256) >> (b == p->key.prefixlen / 8
									   ? p->key.prefixlen % 8
									   : 0));
		} else {
			e->key.addr[0] = 0xfd;
			e->key.addr[1] = (uint8_t)rnd(&r, 2);
			for (int b = 2; b < 16; b++)
				e->key.addr[b] = (uint8_t)(rnd(&r, 4) ? rnd(&r, 4) : rnd(&r, 256));
		}
		e->key.prefixlen = len;
		mask16(e->key.addr, len);
		e->val.seg = (uint16_t)(1 + rnd(&r, 4000));
		k++;
	}
	c = tables(NULL, 0, v, n, 0);
	/* no repeats, as a compiler's tables */
	k = 0;
	for (size_t i = 0; i < c->nv6; i++)
		if (!k || memcmp(&c->v6[i].key, &c->v6[k - 1].key, sizeof(c->v6[i].key)))
			c->v6[k++] = c->v6[i];
	c->nv6 = k;
	for (size_t i = 0; i < c->nv6; i++)
		used[c->v6[i].key.prefixlen] = true;
	f = build_ok(c);
	xs_tables_init(&t, c);
	cr_assert_eq(f->info.flags, XS_FASTF_READY | XS_FASTF_SEG6A, "flags 0x%x", f->info.flags);
	for (int l = 128; l >= 0; l--) {
		if (!used[l])
			continue;
		cr_assert_eq(f->info.len6[nused], l, "len6[%zu]", nused);
		nused++;
	}
	cr_assert_eq(f->info.nlen6, nused);
	for (size_t i = nused; i < XS_SEG6_LENS; i++)
		cr_assert_eq(f->info.len6[i], 0);
	cr_assert_eq(f->nseg6h, c->nv6);
	h = calloc(f->nseg6h + 1, sizeof(*h));
	cr_assert_not_null(h);
	memcpy(h, f->seg6h, f->nseg6h * sizeof(*h));
	qsort(h, f->nseg6h, sizeof(*h), key6_cmp);
	/* the hash holds the prefixes, each under its own length */
	for (size_t i = 0; i < c->nv6; i++) {
		const struct xs_lpm6_entry *e =
			bsearch(&c->v6[i], h, f->nseg6h, sizeof(*h), key6_cmp);

		cr_assert_not_null(e);
		cr_assert_eq(e->val.seg, c->v6[i].val.seg);
		cr_assert_eq(e->val.pad, 0);
	}
	for (int i = 0; i < 30000; i++) {
		uint8_t a[16];
		struct xs_seg_match m;
		const struct xs_lpm6_entry *p = &c->v6[rnd(&r, (uint32_t)c->nv6)];

		memcpy(a, p->key.addr, 16);
		switch (rnd(&r, 4)) {
		case 0: /* its first address */
			break;
		case 1: /* its last */
			for (unsigned int b = 0; b < 16; b++)
				a[b] |= (uint8_t)(b * 8 + 8 <= p->key.prefixlen ? 0
						  : b * 8 >= p->key.prefixlen
							  ? 0xff
							  : 0xff >> (p->key.prefixlen - b * 8));
			break;
		case 2: /* random bits past a random length */
			for (unsigned int b = rnd(&r, 16); b < 16; b++)
				a[b] = (uint8_t)rnd(&r, 256);
			break;
		default: /* one bit flipped: often just outside */
			if (p->key.prefixlen) {
				unsigned int bit =
					p->key.prefixlen - 1 -
					rnd(&r, p->key.prefixlen < 8 ? p->key.prefixlen : 8);

				a[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			}
			break;
		}
		xs_tables_segment(&t, 6, a, &m);
		cr_assert_eq(seg6(f, h, a), m.seg,
			     "seed %llu: hash by length %u, longest prefix %u (/%d)",
			     (unsigned long long)seed, seg6(f, h, a), m.seg, m.len);
		/* as the datapath asks: xs_seg6a (the /64 first), then by length */
		cr_assert_eq(xs_fast_segment6(f, a), m.seg,
			     "seed %llu: xs_seg6a then by length %u, longest prefix %u (/%d)",
			     (unsigned long long)seed, xs_fast_segment6(f, a), m.seg, m.len);
	}
	free(h);
	xs_fast_free(f);
	xs_compiled_free(c);
	free(v);
}

Test(fast, seg6_by_length_is_the_longest_match)
{
	static const uint8_t a[] = { 40, 48, 56, 64, 100, 128 };
	static const uint8_t b[] = { 0, 8, 32, 47, 48, 63, 64, 65, 96, 120, 127, 128 };
	static const uint8_t one[] = { 64 };

	seg6_random(1, a, sizeof(a), 2000);
	seg6_random(2, b, sizeof(b), 3000); /* XS_SEG6_LENS lengths: still the hash */
	seg6_random(3, one, sizeof(one), 500);
}

/* More /64s than xs_seg6a's slots: no array, the hash by length alone, and
 * the answers stay the longest match. */
Test(fast, seg6a_too_crowded_falls_back_to_the_hash)
{
	size_t n = XS_SEG6A_GROUPS * XS_SEG6A_WAYS + 1;
	struct xs_lpm6_entry *v = calloc(n, sizeof(*v));
	struct xs_compiled *c;
	struct xs_fast *f;
	struct xs_tables t;

	cr_assert_not_null(v);
	for (size_t i = 0; i < n; i++) {
		v[i].key.prefixlen = 64;
		v[i].key.addr[0] = 0xfd;
		v[i].key.addr[4] = (uint8_t)(i >> 16);
		v[i].key.addr[5] = (uint8_t)(i >> 8);
		v[i].key.addr[6] = (uint8_t)i;
		v[i].val.seg = (uint16_t)(1 + i % 4000);
	}
	c = tables(NULL, 0, v, n, 0);
	f = build_ok(c);
	xs_tables_init(&t, c);
	cr_assert_eq(f->info.flags, XS_FASTF_READY, "flags 0x%x", f->info.flags);
	cr_assert_null(f->seg6a);
	for (size_t i = 0; i < n; i += 997) {
		struct xs_seg_match m;
		uint8_t a[16];

		memcpy(a, v[i].key.addr, 16);
		a[15] = 7;
		xs_tables_segment(&t, 6, a, &m);
		cr_assert_eq(xs_fast_segment6(f, a), m.seg);
	}
	xs_fast_free(f);
	xs_compiled_free(c);
	free(v);
}

/* A /64 that holds a /128 but is no prefix itself has a slot marked deeper
 * that answers the /48 around it; the /128 answers for itself. */
Test(fast, seg6a_marks_a_64_with_longer_prefixes)
{
	struct xs_lpm6_entry v[2] = { 0 };
	const struct xs_seg6a_slot *sl;
	struct xs_compiled *c;
	struct xs_fast *f;
	uint8_t a[16] = { 0xfd, 0, 0, 1, 0, 0, 0, 2 }, hi8[8];
	uint64_t hi;

	v[0].key.prefixlen = 48; /* fd00:1::/48 -> 7 */
	memcpy(v[0].key.addr, a, 6);
	v[0].val.seg = 7;
	v[1].key.prefixlen = 128; /* fd00:1:0:2::9/128 -> 9 */
	memcpy(v[1].key.addr, a, 16);
	v[1].key.addr[15] = 9;
	v[1].val.seg = 9;
	c = tables(NULL, 0, v, 2, 0);
	f = build_ok(c);
	cr_assert_eq(f->info.flags, XS_FASTF_READY | XS_FASTF_SEG6A);
	memcpy(hi8, a, 8);
	memcpy(&hi, hi8, 8);
	sl = xs_fast_seg6a_find(f, hi, 64);
	cr_assert_not_null(sl, "no slot for the /64 of the /128");
	cr_assert_eq(sl->flags, XS_SEG6AF_USED | XS_SEG6AF_DEEPER);
	cr_assert_eq(sl->seg, 7);
	a[15] = 9;
	cr_assert_eq(xs_fast_segment6(f, a), 9);
	a[15] = 8;
	cr_assert_eq(xs_fast_segment6(f, a), 7);
	a[7] = 3; /* another /64 of the /48: no slot of its own */
	cr_assert_eq(xs_fast_segment6(f, a), 7);
	a[2] = 9; /* outside */
	cr_assert_eq(xs_fast_segment6(f, a), XS_SEG_WORLD);
	xs_fast_free(f);
	xs_compiled_free(c);
}

Test(fast, seg6_too_many_lengths_fall_back_to_the_trie)
{
	struct xs_lpm6_entry v[XS_SEG6_LENS + 1] = { 0 };
	struct xs_compiled *c;
	struct xs_fast *f;

	for (int i = 0; i <= XS_SEG6_LENS; i++) {
		v[i].key.prefixlen = (uint32_t)(16 + 8 * i);
		v[i].key.addr[0] = 0xfd;
		v[i].key.addr[1] = (uint8_t)i;
		v[i].val.seg = (uint16_t)(i + 1);
	}
	c = tables(NULL, 0, v, XS_SEG6_LENS, XS_SEG6_LENS);
	f = build_ok(c);
	cr_assert_eq(f->info.flags, XS_FASTF_READY | XS_FASTF_SEG6A);
	cr_assert_eq(f->info.nlen6, XS_SEG6_LENS);
	cr_assert_eq(f->info.len6[0], 16 + 8 * (XS_SEG6_LENS - 1));
	cr_assert_eq(f->info.len6[XS_SEG6_LENS - 1], 16);
	cr_assert_eq(f->nseg6h, XS_SEG6_LENS);
	xs_fast_free(f);
	xs_compiled_free(c);

	c = tables(NULL, 0, v, XS_SEG6_LENS + 1, XS_SEG6_LENS + 1);
	f = build_ok(c);
	cr_assert_eq(f->info.flags, XS_FASTF_READY | XS_FASTF_TRIE6);
	cr_assert_eq(f->info.nlen6, 0);
	for (int i = 0; i < XS_SEG6_LENS; i++)
		cr_assert_eq(f->info.len6[i], 0);
	cr_assert_eq(f->nseg6h, 0);
	xs_fast_free(f);
	xs_compiled_free(c);
}

/* ---- Segment pairs -------------------------------------------------------------- */

#define NOW 1700000000ull
#define TAI 37

static struct xs_compiled *compile_ov(const char *text, const struct xs_overlay_in *ov, size_t nov,
				      const struct xs_failsafe_in *fs, size_t nfs)
{
	struct memfile files[] = { { "main.policy", text, 0 } };
	struct memfs mfs = { files, 1 };
	struct xs_compile_opts o = { .overlays = ov,
				     .noverlays = nov,
				     .failsafe = fs,
				     .nfailsafe = nfs,
				     .now = NOW,
				     .tai_offset = TAI };
	struct xs_compiled *c = NULL;
	struct xs_diags d;

	xs_diags_init(&d);
	if (xs_policy_compile_opts("main.policy", mem_resolve, &mfs, &o, &c, &d)) {
		char *s = diags_str(&d);

		cr_assert_fail("did not compile:\n%s\n%s", text, s);
	}
	xs_diags_free(&d);
	return c;
}

static enum xs_pair_class cls(const struct xs_fast *f, uint16_t src, uint16_t dst)
{
	cr_assert_lt(src, f->npairc);
	return xs_pair_class_of(&f->pairc[src], dst);
}

static const struct xs_rule_val *pair_wide(const struct xs_fast *f, uint16_t src, uint16_t dst)
{
	const struct xs_rule_val *h = NULL, *a;

	for (size_t i = 0; i < f->npairs; i++)
		if (f->pairs[i].key == XS_PAIR_KEY(src, dst))
			h = &f->pairs[i].val;
	if (!(f->info.flags & XS_FASTF_PAIRA))
		return h;
	/* as the datapath finds it: xs_paira, which must hold the same */
	a = xs_fast_paira_find(f, XS_PAIR_KEY(src, dst));
	cr_assert(a ? h && !memcmp(a, h, sizeof(*a)) : !h, "pair %u -> %u: xs_paira and xs_pairs",
		  src, dst);
	return a;
}

/* xs_rexact: the single-port entries. */
static const struct xs_rule_val *rexact(const struct xs_compiled *c, uint16_t src, uint16_t dst,
					uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_key *k = &c->rules[i].key;

		if (k->prefixlen == XS_RULE_PLEN_PORT(16) && k->src_seg == src &&
		    k->dst_seg == dst && k->proto == proto && ntohs(k->port) == port)
			return &c->rules[i].val;
	}
	return NULL;
}

/* The rule entry the datapath finds by the pair's class. */
static const struct xs_rule_val *by_class(const struct xs_fast *f, const struct xs_compiled *c,
					  const struct xs_tables *t, uint16_t src, uint16_t dst,
					  uint8_t proto, uint16_t port)
{
	const struct xs_rule_entry *e;
	const struct xs_rule_val *v;

	int pm = proto == 6 ? XS_PORTMAP_TCP : proto == 17 ? XS_PORTMAP_UDP : -1;
	bool named = pm < 0 || ((f->portmap[pm].w[port / 64] >> (port % 64)) & 1);

	/* the port map never hides an entry: named whenever xs_rexact has one */
	cr_assert(named || !rexact(c, src, dst, proto, port), "%u/%u not in the port map", proto,
		  port);
	switch (cls(f, src, dst)) {
	case XS_PAIR_NONE:
		return NULL;
	case XS_PAIR_EXACT:
		return named ? rexact(c, src, dst, proto, port) : NULL;
	case XS_PAIR_WIDE:
		return pair_wide(f, src, dst);
	default:
		v = named ? rexact(c, src, dst, proto, port) : NULL;
		if (v)
			return v;
		e = xs_tables_rule(t, src, dst, proto, port);
		return e ? &e->val : NULL;
	}
}

/* For every pair of segments and a set of services: the entry found by
 * class is the rule table's longest match. */
static void classes_find_the_longest_match(const struct xs_compiled *c, const struct xs_fast *f)
{
	static const struct {
		uint8_t proto;
		uint16_t port;
	} svc[] = { { 6, 0 },	  { 6, 1 },    { 6, 22 },   { 6, 23 },	 { 6, 53 },	{ 6, 443 },
		    { 6, 999 },	  { 6, 1000 }, { 6, 1500 }, { 6, 2000 }, { 6, 2001 },	{ 6, 3389 },
		    { 6, 65535 }, { 17, 0 },   { 17, 53 },  { 17, 54 },	 { 17, 16505 }, { 1, 0 },
		    { 1, 8 },	  { 58, 128 }, { 47, 0 },   { 132, 0 } };
	struct xs_tables t;

	xs_tables_init(&t, c);
	cr_assert_eq(f->npairc, c->nseginfo);
	for (uint16_t s = 0; s < c->nseginfo; s++) {
		for (uint16_t d = 0; d < c->nseginfo; d++) {
			for (size_t k = 0; k < sizeof(svc) / sizeof(svc[0]); k++) {
				const struct xs_rule_entry *e =
					xs_tables_rule(&t, s, d, svc[k].proto, svc[k].port);
				const struct xs_rule_val *v =
					by_class(f, c, &t, s, d, svc[k].proto, svc[k].port);

				cr_assert_eq(v != NULL, e != NULL, "pair %u -> %u %u/%u: class %d",
					     s, d, svc[k].proto, svc[k].port, cls(f, s, d));
				cr_assert(
					!e || !memcmp(v, &e->val, sizeof(*v)),
					"pair %u -> %u %u/%u: class %d finds rule %u, the trie %u",
					s, d, svc[k].proto, svc[k].port, cls(f, s, d), v->rule_id,
					e->val.rule_id);
			}
		}
	}
	/* xs_pairs holds every pair-wide entry, nothing else */
	for (size_t i = 0, n = 0; i <= c->nrules; i++) {
		if (i == c->nrules) {
			cr_assert_eq(f->npairs, n);
			break;
		}
		if (c->rules[i].key.prefixlen != XS_RULE_PLEN_PAIR)
			continue;
		n++;
		cr_assert(!memcmp(pair_wide(f, c->rules[i].key.src_seg, c->rules[i].key.dst_seg),
				  &c->rules[i].val, sizeof(c->rules[i].val)));
	}
}

/* Every pair NONE but those of `want` (triples src, dst, class). */
static void classes_are(const struct xs_fast *f, const uint16_t (*want)[3], size_t n)
{
	for (uint16_t s = 0; s < f->npairc; s++) {
		for (uint16_t d = 0; d < XS_MAX_SEGMENTS; d++) {
			int w = XS_PAIR_NONE;

			for (size_t i = 0; i < n; i++)
				if (want[i][0] == s && want[i][1] == d)
					w = want[i][2];
			cr_assert_eq(cls(f, s, d), w, "pair %u -> %u: class %d, want %d", s, d,
				     cls(f, s, d), w);
		}
	}
}

static const char base_policy[] = "segment a 10.1.0.0/16\n"		 /* 1 */
				  "segment b 10.2.0.0/16\n"		 /* 2 */
				  "segment c 10.3.0.0/16\n"		 /* 3 */
				  "segment d 10.4.0.0/16\n"		 /* 4 */
				  "segment e 10.5.0.0/16, fd00:5::/64\n" /* 5; link-local 6 */
				  "allow a -> b\n"			 /* wide */
				  "allow a -> c : tcp/22, udp/53\n"	 /* single ports */
				  "allow b -> c\n"			 /* ... with a wide one */
				  "deny b -> c : tcp/23\n"		 /*     one port differs */
				  "allow c -> d : tcp/1000-2000\n"	 /* a range */
				  "allow d -> e : udp\n"		 /* protocol-wide */
				  "allow e -> a : icmp/8\n"		 /* an ICMP type */
				  "allow world -> a : tcp/443\n"	 /* from world */
				  "deny c -> b : tcp/22, tcp/23\n"	 /* 22-23: one block */
				  "allow e -> b : tcp/22, tcp/24\n";	 /* two single ports */

Test(fast, pair_classes)
{
	static const uint16_t want[][3] = {
		{ 1, 2, XS_PAIR_WIDE },	 { 1, 3, XS_PAIR_EXACT }, { 2, 3, XS_PAIR_TRIE },
		{ 3, 4, XS_PAIR_TRIE },	 { 4, 5, XS_PAIR_TRIE },  { 5, 1, XS_PAIR_EXACT },
		{ 0, 1, XS_PAIR_EXACT }, { 3, 2, XS_PAIR_TRIE },  { 5, 2, XS_PAIR_EXACT },
	};
	struct xs_compiled *c = compile_ov(base_policy, NULL, 0, NULL, 0);
	struct xs_fast *f = build_ok(c);
	const struct xs_rule_val *v;

	cr_assert_eq(c->nseginfo, 7);
	cr_assert_eq(f->npairc, 7);
	classes_are(f, want, sizeof(want) / sizeof(want[0]));
	/* the pair-wide entries: a -> b allow (rule 1), b -> c allow (rule 3) */
	cr_assert_eq(f->npairs, 2);
	cr_assert_eq(f->pairs[0].key, XS_PAIR_KEY(1, 2));
	cr_assert_eq(f->pairs[1].key, XS_PAIR_KEY(2, 3));
	v = pair_wide(f, 1, 2);
	cr_assert(v->action == XS_ACT_ALLOW && v->rule_id == 1 && !v->flags);
	v = pair_wide(f, 2, 3);
	cr_assert(v->action == XS_ACT_ALLOW && v->rule_id == 3 && !v->flags);
	/* the ports single-port entries name: tcp 22, 23, 24, 443, 2000 (the
	 * range 1000-2000's last block is that one port) and udp 53; not the
	 * rest of the range (the trie's), not ICMP */
	for (unsigned int p = 0; p < 65536; p++) {
		bool tcp = (f->portmap[XS_PORTMAP_TCP].w[p / 64] >> (p % 64)) & 1;
		bool udp = (f->portmap[XS_PORTMAP_UDP].w[p / 64] >> (p % 64)) & 1;

		cr_assert_eq(tcp, p == 22 || p == 23 || p == 24 || p == 443 || p == 2000,
			     "tcp/%u: %d", p, tcp);
		cr_assert_eq(udp, p == 53, "udp/%u: %d", p, udp);
	}
	classes_find_the_longest_match(c, f);
	xs_fast_free(f);
	xs_compiled_free(c);
}

Test(fast, pair_classes_without_rules)
{
	struct xs_compiled *c = compile_ov("segment a 10.1.0.0/16\n"
					   "segment b 10.2.0.0/16\n"
					   "default a in deny out deny\n",
					   NULL, 0, NULL, 0);
	struct xs_fast *f = build_ok(c);

	cr_assert_eq(c->nrules, 0);
	cr_assert_eq(f->npairc, 4); /* world, a, b, link-local */
	classes_are(f, NULL, 0);
	cr_assert_eq(f->npairs, 0);
	xs_fast_free(f);
	xs_compiled_free(c);
}

Test(fast, pair_classes_of_overlays)
{
	const struct xs_overlay_in ov[] = {
		{ .number = 1,
		  .kind = XS_OVERLAY_QUARANTINE,
		  .created = NOW - 10,
		  .text = "quarantine b forensic c : tcp/22",
		  .reason = "" },
		{ .number = 2,
		  .kind = XS_OVERLAY_QUARANTINE,
		  .created = NOW - 10,
		  .text = "quarantine d strict",
		  .reason = "" },
		{ .number = 3,
		  .kind = XS_OVERLAY_GRANT,
		  .created = NOW - 10,
		  .expires = NOW + 60,
		  .text = "grant a -> d : tcp/3389",
		  .reason = "" },
		{ .number = 4,
		  .kind = XS_OVERLAY_GRANT,
		  .created = NOW - 10,
		  .expires = NOW + 60,
		  .text = "grant e -> d : tcp",
		  .reason = "" },
	};
	const struct xs_failsafe_in fs[] = { { "10.1.0.8 : tcp/22", "xdpseg.conf", 1 } };
	struct xs_compiled *c = compile_ov(base_policy, ov, 4, fs, 1);
	struct xs_fast *f = build_ok(c);
	uint16_t x = 7; /* a[10.1.0.8], the failsafe port's derived segment */

	cr_assert_eq(c->nseginfo, 8);
	cr_assert_str_eq(c->policy->segments[x - 1].name, "a[10.1.0.8]");
	/* a quarantine without forensic access adds no entry: d's pairs keep
	 * their classes (the datapath drops by the segment's flag) */
	cr_assert_eq(cls(f, 3, 4), XS_PAIR_TRIE);
	cr_assert_eq(cls(f, 4, 5), XS_PAIR_TRIE);
	cr_assert_eq(cls(f, 4, 1), XS_PAIR_NONE);
	/* forensic access on one port: its single-port entry */
	cr_assert_eq(cls(f, 3, 2), XS_PAIR_EXACT); /* c -> b's block 22-23 split by it */
	cr_assert_eq(cls(f, 1, 2), XS_PAIR_WIDE);
	/* grants: on a port, and protocol-wide */
	cr_assert_eq(cls(f, 1, 4), XS_PAIR_EXACT);
	cr_assert_eq(cls(f, 5, 4), XS_PAIR_TRIE);
	/* the failsafe port: from every segment, itself and world included */
	for (uint16_t s = 0; s < c->nseginfo; s++)
		cr_assert_eq(cls(f, s, x), XS_PAIR_EXACT, "pair %u -> a[10.1.0.8]: class %d", s,
			     cls(f, s, x));
	/* ... and a's rules, both ways */
	cr_assert_eq(cls(f, x, 2), XS_PAIR_WIDE);
	cr_assert_eq(cls(f, x, 3), XS_PAIR_EXACT);
	cr_assert_eq(cls(f, x, 4), XS_PAIR_EXACT); /* the grant */
	cr_assert_eq(cls(f, 2, 1), XS_PAIR_NONE);
	cr_assert_eq(cls(f, 6, 1), XS_PAIR_NONE);
	classes_find_the_longest_match(c, f);
	/* the flags the datapath decides by travel with the entries */
	for (size_t i = 0; i < f->npairs; i++)
		cr_assert_eq(f->pairs[i].val.flags, 0);
	cr_assert_eq(rexact(c, 3, 2, 6, 22)->flags, XS_RULEF_FORENSIC);
	cr_assert_eq(rexact(c, 3, 2, 6, 23)->action, XS_ACT_DENY);
	cr_assert_eq(rexact(c, 1, 4, 6, 3389)->flags & XS_RULEF_GRANT, XS_RULEF_GRANT);
	cr_assert_eq(rexact(c, 0, x, 6, 22)->flags, XS_RULEF_FAILSAFE);
	xs_fast_free(f);
	xs_compiled_free(c);
}

Test(fast, pair_wide_overlays)
{
	/* forensic access to a quarantine without ':' is pair-wide */
	const struct xs_overlay_in ov[] = { { .number = 1,
					      .kind = XS_OVERLAY_QUARANTINE,
					      .created = NOW - 10,
					      .text = "quarantine b forensic a",
					      .reason = "" } };
	struct xs_compiled *c = compile_ov("segment a 10.1.0.0/16\n"
					   "segment b 10.2.0.0/16\n"
					   "allow b -> a : tcp/22\n",
					   ov, 1, NULL, 0);
	struct xs_fast *f = build_ok(c);
	static const uint16_t want[][3] = { { 1, 2, XS_PAIR_WIDE }, { 2, 1, XS_PAIR_EXACT } };
	const struct xs_rule_val *v;

	classes_are(f, want, 2);
	v = pair_wide(f, 1, 2);
	cr_assert_not_null(v);
	cr_assert_eq(v->flags, XS_RULEF_FORENSIC);
	cr_assert_eq(v->action, XS_ACT_ALLOW);
	classes_find_the_longest_match(c, f);
	xs_fast_free(f);
	xs_compiled_free(c);
}

/* Random policies: the segments by DIR and by length, the rule entries by
 * class, as the tables' longest matches. */
Test(fast, random_policies_decide_alike)
{
	struct rng r = { 4242 };
	size_t counts[4] = { 0 };

	for (int p = 0; p < 300; p++) {
		int nseg;
		char *text = p % 2 ? rand_policy_ll(&r, &nseg) : rand_policy(&r, &nseg);
		struct xs_compiled *c = compile_ov(text, NULL, 0, NULL, 0);
		struct xs_fast *f = build_ok(c);
		struct xs_tables t;
		struct xs_lpm6_entry *h;

		cr_assert_eq(f->info.flags & ~(XS_FASTF_SEG6A | XS_FASTF_PAIRA), XS_FASTF_READY);
		cr_assert_eq(!!(f->info.flags & XS_FASTF_SEG6A), c->nv6 > 0);
		cr_assert_eq(!!(f->info.flags & XS_FASTF_PAIRA), f->npairs > 0);
		/* every pair-wide entry is found in the array as in the hash */
		for (size_t i = 0; i < f->npairs; i++)
			cr_assert(!memcmp(xs_fast_paira_find(f, f->pairs[i].key), &f->pairs[i].val,
					  sizeof(f->pairs[i].val)),
				  "pair 0x%x", f->pairs[i].key);
		xs_tables_init(&t, c);
		h = calloc(f->nseg6h + 1, sizeof(*h));
		cr_assert_not_null(h);
		if (f->nseg6h)
			memcpy(h, f->seg6h, f->nseg6h * sizeof(*h));
		qsort(h, f->nseg6h, sizeof(*h), key6_cmp);
		for (int i = 0; i < 300; i++) {
			uint8_t a[16];
			uint8_t family = rnd(&r, 2) ? 4 : 6;
			struct xs_seg_match m;

			rand_addr_ll(&r, nseg, family, a);
			xs_tables_segment(&t, family, a, &m);
			cr_assert_eq(family == 4 ? xs_fast_segment4(f, a) : seg6(f, h, a), m.seg,
				     "policy %d:\n%s", p, text);
		}
		for (uint16_t s = 0; s < c->nseginfo; s++)
			for (uint16_t d = 0; d < c->nseginfo; d++)
				counts[cls(f, s, d)]++;
		classes_find_the_longest_match(c, f);
		free(h);
		xs_fast_free(f);
		xs_compiled_free(c);
		free(text);
	}
	/* the policies have pairs of every class */
	for (int k = 0; k < 4; k++)
		cr_assert_gt(counts[k], 20, "class %d: %zu pairs", k, counts[k]);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fast path's derived tables (include/xdpseg.h, "Fast path"), built from
 * a set's compiled tables: what push writes besides them, and what `verify`
 * builds again from the tables read back to compare with the maps.
 *
 * The DIR-16-8-8 table is painted prefix by prefix in ascending length, so
 * a longer prefix overwrites the shorter ones it lies in: every entry ends
 * with its longest prefix, as the trie answers. A prefix longer than /16
 * (/24) goes into a chunk of the next level under its /16 (/24) entry,
 * made when first needed and filled with the entry's value so far (the
 * covering prefix's segment, or world).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "xdpseg_flow.h"

/* ---- IPv4: DIR-16-8-8 ------------------------------------------------------ */

struct dir {
	struct xs_dir4_chunk *v;
	size_t n, cap;
	bool full; /* more than XS_DIR4_CHUNKS would be needed */
};

/* A new chunk of the next level, every entry `fill`; its index, or -ENOMEM /
 * -E2BIG (the chunk limit). */
static long dir_new(struct dir *d, uint16_t fill)
{
	if (d->n == XS_DIR4_CHUNKS)
		return -E2BIG;
	if (d->n == d->cap) {
		size_t nc = d->cap * 2 > XS_DIR4_CHUNKS ? XS_DIR4_CHUNKS : d->cap * 2;
		struct xs_dir4_chunk *nv = realloc(d->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = nc;
	}
	for (int i = 0; i < 256; i++)
		d->v[d->n].e[i] = fill;
	return (long)d->n++;
}

/* The chunk under entry `byte` of chunk `chunk`, made when the entry holds a
 * segment id. Its index, or -ENOMEM / -E2BIG. */
static long dir_down(struct dir *d, size_t chunk, uint8_t byte)
{
	uint16_t e = d->v[chunk].e[byte];
	long k;

	if (e & XS_DIR4_NEXT)
		return e & (XS_DIR4_NEXT - 1);
	k = dir_new(d, e);
	if (k >= 0)
		d->v[chunk].e[byte] = (uint16_t)(XS_DIR4_NEXT | k);
	return k;
}

/* Entries first..first+count-1 of chunk `chunk` := seg. */
static void dir_paint(struct dir *d, size_t chunk, unsigned int first, unsigned int count,
		      uint16_t seg)
{
	for (unsigned int i = first; i < first + count; i++)
		d->v[chunk].e[i] = seg;
}

/* Paint one prefix (host bits clear) over the table. Every prefix painted
 * before is no longer, so no entry it paints points to a chunk below. */
static int dir_add(struct dir *d, const uint8_t *a, unsigned int len, uint16_t seg)
{
	long c2, c3;

	if (len <= 16) {
		unsigned int first = (unsigned int)a[0] << 8 | a[1], count = 1u << (16 - len);

		/* level-1 entries in a row: chunk i / 256, entry i % 256 */
		for (unsigned int i = first; i < first + count; i++)
			d->v[i >> 8].e[i & 255] = seg;
		return 0;
	}
	c2 = dir_down(d, a[0], a[1]);
	if (c2 < 0)
		return (int)c2;
	if (len <= 24) {
		dir_paint(d, (size_t)c2, a[2], 1u << (24 - len), seg);
		return 0;
	}
	c3 = dir_down(d, (size_t)c2, a[2]);
	if (c3 < 0)
		return (int)c3;
	dir_paint(d, (size_t)c3, a[3], 1u << (32 - len), seg);
	return 0;
}

/* The IPv4 prefixes, by ascending length (a counting sort), into the table. */
static int build_dir4(const struct xs_compiled *c, struct dir *d)
{
	size_t start[34] = { 0 }, *order = NULL;
	int err = 0;

	for (size_t i = 0; i < c->nv4; i++) {
		if (c->v4[i].key.prefixlen > 32 || c->v4[i].val.seg >= XS_MAX_SEGMENTS)
			return -EINVAL;
		start[c->v4[i].key.prefixlen + 1]++;
	}
	for (int l = 1; l < 34; l++)
		start[l] += start[l - 1];
	order = malloc((c->nv4 + 1) * sizeof(*order));
	d->cap = 512;
	d->v = calloc(d->cap, sizeof(*d->v));
	if (!order || !d->v) {
		err = -ENOMEM;
		goto out;
	}
	d->n = 256; /* the first level, world everywhere */
	for (size_t i = 0; i < c->nv4; i++)
		order[start[c->v4[i].key.prefixlen]++] = i;
	for (size_t k = 0; k < c->nv4; k++) {
		const struct xs_lpm4_entry *e = &c->v4[order[k]];
		uint8_t a[4];
		uint32_t len = e->key.prefixlen;

		/* the bits past the length clear, whatever the key holds */
		for (int b = 0; b < 4; b++) {
			unsigned int lo = (unsigned int)b * 8;

			a[b] = len <= lo ? 0
			       : len >= lo + 8
				       ? e->key.addr[b]
				       : (uint8_t)(e->key.addr[b] & (0xff << (lo + 8 - len)));
		}
		err = dir_add(d, a, len, e->val.seg);
		if (err == -E2BIG) {
			d->full = true;
			err = 0;
			break;
		}
		if (err)
			goto out;
	}
out:
	free(order);
	return err;
}

/* ---- IPv6: the prefixes by length ---------------------------------------------- */

static int build_seg6(const struct xs_compiled *c, struct xs_fast *f)
{
	bool seen[129] = { 0 };
	unsigned int n = 0;

	for (size_t i = 0; i < c->nv6; i++) {
		if (c->v6[i].key.prefixlen > 128 || c->v6[i].val.seg >= XS_MAX_SEGMENTS)
			return -EINVAL;
		seen[c->v6[i].key.prefixlen] = true;
	}
	for (int l = 128; l >= 0; l--) {
		if (!seen[l])
			continue;
		if (n == XS_SEG6_LENS) {
			f->info.flags |= XS_FASTF_TRIE6;
			memset(f->info.len6, 0, sizeof(f->info.len6));
			f->info.nlen6 = 0;
			return 0;
		}
		f->info.len6[n++] = (uint8_t)l;
	}
	f->info.nlen6 = (uint8_t)n;
	f->seg6h = calloc(c->nv6 + 1, sizeof(*f->seg6h));
	if (!f->seg6h)
		return -ENOMEM;
	for (size_t i = 0; i < c->nv6; i++) {
		struct xs_lpm6_entry *e = &f->seg6h[i];
		uint32_t len = c->v6[i].key.prefixlen;

		e->key.prefixlen = len;
		for (unsigned int b = 0; b < 16; b++) {
			unsigned int lo = b * 8;

			e->key.addr[b] = len <= lo	 ? 0
					 : len >= lo + 8 ? c->v6[i].key.addr[b]
							 : (uint8_t)(c->v6[i].key.addr[b] &
								     (0xff << (lo + 8 - len)));
		}
		e->val.seg = c->v6[i].val.seg;
	}
	f->nseg6h = c->nv6;
	qsort(f->seg6h, f->nseg6h, sizeof(*f->seg6h), xs_lpm6_cmp);
	return 0;
}

/* ---- IPv6: the prefixes up to /64, open-addressed ------------------------------- */

/* A prefix of up to 64 bits, its first 64 bits as the datapath loads them. */
struct short6 {
	uint64_t hi;
	uint8_t plen;
	uint16_t seg;
};

static uint64_t load_hi(const uint8_t *a)
{
	uint64_t hi;

	memcpy(&hi, a, 8);
	return hi;
}

/* The first n bits of a 64-bit word as loaded from network-order bytes. */
static uint64_t mask_hi(unsigned int n)
{
	uint8_t b[8] = { 0 };

	for (unsigned int i = 0; i < 8; i++)
		b[i] = n >= (i + 1) * 8 ? 0xff
		       : n <= i * 8	? 0
					: (uint8_t)(0xff << ((i + 1) * 8 - n));
	return load_hi(b);
}

static int short6_cmp(const void *a, const void *b)
{
	const struct short6 *x = a, *y = b;

	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

static struct short6 *short6_find(struct short6 *v, size_t n, uint64_t hi, unsigned int plen)
{
	struct short6 k = { .hi = hi, .plen = (uint8_t)plen };

	return bsearch(&k, v, n, sizeof(*v), short6_cmp);
}

/* Put (hi, plen) into its group or the next; 0, or -ENOSPC. */
static int seg6a_place(struct xs_seg6a_group *g, uint64_t hi, unsigned int plen, uint16_t seg,
		       uint8_t flags)
{
	uint32_t first = xs_seg6a_group(hi, plen);

	for (unsigned int p = 0; p < XS_SEG6A_PROBES; p++) {
		struct xs_seg6a_group *grp = &g[(first + p) & (XS_SEG6A_GROUPS - 1)];

		for (unsigned int w = 0; w < XS_SEG6A_WAYS; w++) {
			struct xs_seg6a_slot *sl = &grp->s[w];

			if (sl->flags & XS_SEG6AF_USED)
				continue;
			sl->hi = hi;
			sl->plen = (uint8_t)plen;
			sl->seg = seg;
			sl->flags = XS_SEG6AF_USED | flags;
			return 0;
		}
	}
	return -ENOSPC;
}

/*
 * xs_seg6a: every prefix of up to 64 bits in its slot; every /64 that holds
 * a longer prefix marked XS_SEG6AF_DEEPER (with a slot of its own when no
 * /64 prefix is there, answering the longest shorter prefix that covers it).
 * Prefixes that do not fit two groups: no array (XS_FASTF_SEG6A unset), the
 * datapath asks xs_seg6h alone.
 */
static int build_seg6a(const struct xs_compiled *c, struct xs_fast *f)
{
	struct short6 *sh = NULL, *deep = NULL;
	size_t nsh = 0, ndeep = 0;
	int err = 0;

	if ((f->info.flags & XS_FASTF_TRIE6) || !c->nv6)
		return 0;
	sh = calloc(c->nv6 + 1, sizeof(*sh));
	deep = calloc(c->nv6 + 1, sizeof(*deep));
	f->seg6a = calloc(XS_SEG6A_GROUPS, sizeof(*f->seg6a));
	if (!sh || !deep || !f->seg6a) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->nv6; i++) {
		unsigned int len = c->v6[i].key.prefixlen;
		uint64_t hi = load_hi(c->v6[i].key.addr);

		if (len <= 64)
			sh[nsh++] = (struct short6){ hi & mask_hi(len), (uint8_t)len,
						     c->v6[i].val.seg };
		else
			deep[ndeep++] = (struct short6){ hi, 64, 0 };
	}
	qsort(sh, nsh, sizeof(*sh), short6_cmp);
	qsort(deep, ndeep, sizeof(*deep), short6_cmp);
	for (size_t i = 0; i < nsh; i++) {
		bool has_deep = sh[i].plen == 64 && short6_find(deep, ndeep, sh[i].hi, 64);

		err = seg6a_place(f->seg6a, sh[i].hi, sh[i].plen, sh[i].seg,
				  has_deep ? XS_SEG6AF_DEEPER : 0);
		if (err)
			goto full;
	}
	for (size_t i = 0; i < ndeep; i++) {
		uint16_t seg = XS_SEG_WORLD;

		if ((i && deep[i].hi == deep[i - 1].hi) || short6_find(sh, nsh, deep[i].hi, 64))
			continue; /* one marker per /64; a /64 prefix is marked already */
		for (int l = 63; l >= 0; l--) {
			struct short6 *cov = short6_find(
				sh, nsh, deep[i].hi & mask_hi((unsigned int)l), (unsigned int)l);

			if (cov) {
				seg = cov->seg;
				break;
			}
		}
		err = seg6a_place(f->seg6a, deep[i].hi, 64, seg, XS_SEG6AF_DEEPER);
		if (err)
			goto full;
	}
	f->info.flags |= XS_FASTF_SEG6A;
	goto out;
full:
	err = 0; /* too crowded: xs_seg6h alone */
	free(f->seg6a);
	f->seg6a = NULL;
out:
	free(sh);
	free(deep);
	return err;
}

/* xs_seg6h's longest prefix of `min` bits or more that holds addr, or `none`. */
static uint16_t hash6(const struct xs_fast *f, const uint8_t *addr, unsigned int min, uint16_t none)
{
	for (unsigned int i = 0; i < f->info.nlen6 && f->info.len6[i] >= min; i++) {
		unsigned int len = f->info.len6[i];

		for (size_t j = 0; j < f->nseg6h; j++) {
			const struct xs_lpm6_entry *e = &f->seg6h[j];
			uint8_t m[16];

			if (e->key.prefixlen != len)
				continue;
			for (unsigned int b = 0; b < 16; b++)
				m[b] = len >= (b + 1) * 8 ? addr[b]
				       : len <= b * 8
					       ? 0
					       : (uint8_t)(addr[b] & (0xff << ((b + 1) * 8 - len)));
			if (!memcmp(m, e->key.addr, 16))
				return e->val.seg;
		}
	}
	return none;
}

uint16_t xs_fast_segment6(const struct xs_fast *f, const uint8_t *addr)
{
	uint64_t hi = load_hi(addr);
	const struct xs_seg6a_slot *sl;

	if (!f->seg6a)
		return hash6(f, addr, 0, XS_SEG_WORLD);
	sl = xs_fast_seg6a_find(f, hi, 64);
	if (sl)
		return (sl->flags & XS_SEG6AF_DEEPER) ? hash6(f, addr, 65, sl->seg) : sl->seg;
	for (unsigned int i = 0; i < f->info.nlen6; i++) {
		unsigned int len = f->info.len6[i];

		if (len >= 64)
			continue;
		sl = xs_fast_seg6a_find(f, hi & mask_hi(len), len);
		if (sl)
			return sl->seg;
	}
	return XS_SEG_WORLD;
}

const struct xs_seg6a_slot *xs_fast_seg6a_find(const struct xs_fast *f, uint64_t hi,
					       unsigned int plen)
{
	uint32_t first = xs_seg6a_group(hi, plen);

	for (unsigned int p = 0; p < XS_SEG6A_PROBES; p++) {
		const struct xs_seg6a_group *grp = &f->seg6a[(first + p) & (XS_SEG6A_GROUPS - 1)];

		for (unsigned int w = 0; w < XS_SEG6A_WAYS; w++) {
			const struct xs_seg6a_slot *sl = &grp->s[w];

			if ((sl->flags & XS_SEG6AF_USED) && sl->hi == hi && sl->plen == plen)
				return sl;
		}
	}
	return NULL;
}

/* ---- Segment pairs --------------------------------------------------------------- */

/* What one rule entry says of its pair's class. */
static enum xs_pair_class entry_class(uint32_t prefixlen)
{
	if (prefixlen == XS_RULE_PLEN_PAIR)
		return XS_PAIR_WIDE;
	if (prefixlen == XS_RULE_PLEN_PORT(16))
		return XS_PAIR_EXACT; /* in xs_rexact (user/ctl/push.c) */
	return XS_PAIR_TRIE;
}

/* A pair's class from two of its entries' (or the class so far and an
 * entry's): the same stays, NONE gives way, any two others need the trie
 * (which holds every entry but the single-port ones: a pair-wide entry and
 * single-port ones together are decided by xs_rexact, then the trie). */
static enum xs_pair_class class_merge(enum xs_pair_class a, enum xs_pair_class b)
{
	if (a == XS_PAIR_NONE || a == b)
		return b;
	if (b == XS_PAIR_NONE)
		return a;
	return XS_PAIR_TRIE;
}

/* Note the single-port entry `k` in the port maps. */
static void port_named(struct xs_fast *f, const struct xs_rule_key *k)
{
	unsigned int port = ntohs(k->port);
	int idx = k->proto == 6 ? XS_PORTMAP_TCP : k->proto == 17 ? XS_PORTMAP_UDP : -1;

	if (idx >= 0 && k->prefixlen == XS_RULE_PLEN_PORT(16))
		f->portmap[idx].w[port / 64] |= 1ULL << (port % 64);
}

static int pair_entry_cmp(const void *a, const void *b)
{
	const struct xs_pair_entry *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static int build_pairs(const struct xs_compiled *c, struct xs_fast *f)
{
	size_t nwide = 0;

	f->npairc = c->nseginfo ? c->nseginfo : 1;
	if (f->npairc > XS_MAX_SEGMENTS)
		return -EINVAL;
	f->pairc = calloc(f->npairc, sizeof(*f->pairc));
	if (!f->pairc)
		return -ENOMEM;
	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_key *k = &c->rules[i].key;
		enum xs_pair_class cls = entry_class(k->prefixlen);
		__u64 *w;
		unsigned int shift;

		if (k->src_seg >= f->npairc || k->dst_seg >= f->npairc)
			return -EINVAL;
		w = &f->pairc[k->src_seg].w[k->dst_seg / 32];
		shift = 2 * (k->dst_seg % 32);
		cls = class_merge((enum xs_pair_class)((*w >> shift) & 3), cls);
		*w = (*w & ~(3ULL << shift)) | (__u64)cls << shift;
		nwide += k->prefixlen == XS_RULE_PLEN_PAIR;
		port_named(f, k);
	}
	f->pairs = calloc(nwide + 1, sizeof(*f->pairs));
	if (!f->pairs)
		return -ENOMEM;
	if (nwide > XS_MAX_PAIR_ENTRIES) {
		/* more than xs_pairs holds: the pairs that would use it walk the
		 * trie, which holds the pair-wide entries too */
		for (size_t s = 0; s < f->npairc; s++) {
			for (size_t i = 0; i < XS_MAX_SEGMENTS / 32; i++) {
				__u64 w = f->pairc[s].w[i];

				for (unsigned int b = 0; b < 64; b += 2) {
					__u64 cls = (w >> b) & 3;

					if (cls == XS_PAIR_WIDE)
						w |= (__u64)XS_PAIR_TRIE << b;
				}
				f->pairc[s].w[i] = w;
			}
		}
		return 0;
	}
	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_entry *e = &c->rules[i];

		if (e->key.prefixlen != XS_RULE_PLEN_PAIR)
			continue;
		f->pairs[f->npairs].key = XS_PAIR_KEY(e->key.src_seg, e->key.dst_seg);
		f->pairs[f->npairs].val = e->val;
		f->npairs++;
	}
	qsort(f->pairs, f->npairs, sizeof(*f->pairs), pair_entry_cmp);
	for (size_t i = 1; i < f->npairs; i++)
		if (f->pairs[i].key == f->pairs[i - 1].key)
			return -EINVAL; /* two pair-wide entries of one pair */
	return 0;
}

/* The pair-wide entries open-addressed (xs_paira): each in its group or the
 * next; none that does not fit (XS_FASTF_PAIRA unset: xs_pairs alone). */
static int build_paira(struct xs_fast *f)
{
	if (!f->npairs)
		return 0;
	f->paira = calloc(XS_PAIRA_GROUPS, sizeof(*f->paira));
	if (!f->paira)
		return -ENOMEM;
	for (size_t i = 0; i < f->npairs; i++) {
		uint32_t g = xs_paira_group(f->pairs[i].key);
		bool placed = false;

		for (unsigned int p = 0; p < XS_PAIRA_PROBES && !placed; p++) {
			struct xs_paira_group *grp = &f->paira[(g + p) & (XS_PAIRA_GROUPS - 1)];

			for (unsigned int w = 0; w < XS_PAIRA_WAYS && !placed; w++) {
				if (grp->used & (1U << w))
					continue;
				grp->used |= 1U << w;
				grp->s[w].pair = f->pairs[i].key;
				grp->s[w].val = f->pairs[i].val;
				placed = true;
			}
		}
		if (!placed) {
			free(f->paira);
			f->paira = NULL;
			return 0;
		}
	}
	f->info.flags |= XS_FASTF_PAIRA;
	return 0;
}

const struct xs_rule_val *xs_fast_paira_find(const struct xs_fast *f, uint32_t pair)
{
	uint32_t g = xs_paira_group(pair);

	for (unsigned int p = 0; f->paira && p < XS_PAIRA_PROBES; p++) {
		const struct xs_paira_group *grp = &f->paira[(g + p) & (XS_PAIRA_GROUPS - 1)];

		for (unsigned int w = 0; w < XS_PAIRA_WAYS; w++) {
			if ((grp->used & (1U << w)) && grp->s[w].pair == pair)
				return &grp->s[w].val;
		}
	}
	return NULL;
}

/* ---- The whole -------------------------------------------------------------------- */

int xs_fast_build(const struct xs_compiled *c, struct xs_fast **out)
{
	struct xs_fast *f;
	struct dir d = { 0 };
	int err;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	err = build_dir4(c, &d);
	if (err)
		goto fail;
	if (d.full) {
		f->info.flags |= XS_FASTF_TRIE4;
		free(d.v);
	} else {
		f->dir4 = d.v;
		f->ndir4 = d.n;
	}
	d.v = NULL;
	err = build_seg6(c, f);
	if (!err)
		err = build_seg6a(c, f);
	if (!err)
		err = build_pairs(c, f);
	if (!err)
		err = build_paira(f);
	if (err)
		goto fail;
	f->info.flags |= XS_FASTF_READY;
	*out = f;
	return 0;
fail:
	free(d.v);
	xs_fast_free(f);
	return err;
}

void xs_fast_free(struct xs_fast *f)
{
	if (!f)
		return;
	free(f->dir4);
	free(f->seg6h);
	free(f->seg6a);
	free(f->pairc);
	free(f->pairs);
	free(f->paira);
	free(f);
}

uint16_t xs_fast_segment4(const struct xs_fast *f, const uint8_t *addr)
{
	uint16_t e;

	if (!f->ndir4)
		return XS_SEG_WORLD;
	e = f->dir4[addr[0]].e[addr[1]];
	if ((e & XS_DIR4_NEXT) && (size_t)(e & (XS_DIR4_NEXT - 1)) < f->ndir4) {
		e = f->dir4[e & (XS_DIR4_NEXT - 1)].e[addr[2]];
		if ((e & XS_DIR4_NEXT) && (size_t)(e & (XS_DIR4_NEXT - 1)) < f->ndir4)
			e = f->dir4[e & (XS_DIR4_NEXT - 1)].e[addr[3]];
	}
	return e;
}

int xs_fast_dir4_where(const struct xs_fast *f, size_t chunk, unsigned int entry, uint8_t *addr,
		       unsigned int *len)
{
	memset(addr, 0, 4);
	if (chunk >= f->ndir4 || entry > 255)
		return -ENOENT;
	if (chunk < 256) {
		addr[0] = (uint8_t)chunk;
		addr[1] = (uint8_t)entry;
		*len = 16;
		return 0;
	}
	/* the entry of a first- or second-level chunk that points to it */
	for (size_t p = 0; p < f->ndir4; p++) {
		for (unsigned int i = 0; i < 256; i++) {
			uint16_t e = f->dir4[p].e[i];

			if (!(e & XS_DIR4_NEXT) || (e & (XS_DIR4_NEXT - 1)) != chunk)
				continue;
			if (p < 256) {
				addr[0] = (uint8_t)p;
				addr[1] = (uint8_t)i;
				addr[2] = (uint8_t)entry;
				*len = 24;
				return 0;
			}
			if (xs_fast_dir4_where(f, p, i, addr, len))
				return -ENOENT;
			addr[3] = (uint8_t)entry;
			*len = 32;
			return 0;
		}
	}
	return -ENOENT;
}

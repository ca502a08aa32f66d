/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The segment of an address in a policy set, from the tables derived at
 * push (include/xdpseg.h, "Fast path"): IPv4 by the DIR-16-8-8 array (at
 * most three array lookups, whatever the number of prefixes), IPv6 by the
 * open-addressed array of prefixes up to /64 (the address's /64 first),
 * then one exact hash per longer or shorter length the set uses, longest
 * first. A set whose derived tables are missing or too large for them uses
 * the tries.
 */
#ifndef XS_LIB_SEGMENT_H
#define XS_LIB_SEGMENT_H

#include <bpf/bpf_endian.h>

#include "xdpseg_flow.h"
#include "maps.h"

/* One stack buffer for every key of a decision, used one after the other. */
union xs_key_buf {
	struct xs_lpm4_key k4;
	struct xs_lpm6_key k6;
	struct xs_rule_key rule;
	__u32 idx;
};

/* The set's derived-table facts; NULL when the set has none (the tries). */
static __always_inline const struct xs_fast_info *seg_fast(__u32 set)
{
	const struct xs_fast_info *fi = bpf_map_lookup_elem(&xs_fast, &set);

	return fi && (fi->flags & XS_FASTF_READY) ? fi : NULL;
}

/* The trie's answer (0: world). */
static __always_inline __u16 seg_trie(__u32 set, __u8 family, const __u64 *addr,
				      union xs_key_buf *kb)
{
	struct xs_seg_val *v;

	if (family == 4) {
		kb->k4.prefixlen = 32;
		__builtin_memcpy(kb->k4.addr, addr, 4);
		v = xs_set_lookup(set, xs_seg4_0, xs_seg4_1, &kb->k4);
	} else {
		kb->k6.prefixlen = 128;
		__builtin_memcpy(kb->k6.addr, addr, 16);
		v = xs_set_lookup(set, xs_seg6_0, xs_seg6_1, &kb->k6);
	}
	return v ? v->seg : XS_SEG_WORLD;
}

/* One level of the DIR table: the entry `byte` of chunk `chunk`. A missing
 * chunk (never, the index is masked) answers an id no segment has, which
 * the caller's segment-info lookup turns into a drop. */
static __always_inline __u16 seg_dir4_entry(__u32 set, __u32 chunk, __u8 byte)
{
	struct xs_dir4_chunk *c = xs_set_lookup(set, xs_dir4_0, xs_dir4_1, &chunk);

	return c ? c->e[byte] : (__u16)XS_MAX_SEGMENTS;
}

static __always_inline __u16 seg_dir4(__u32 set, const __u64 *addr)
{
	__u8 b[4];
	__u16 e;

	__builtin_memcpy(b, addr, 4);
	e = seg_dir4_entry(set, b[0], b[1]);
	if (e & XS_DIR4_NEXT) {
		e = seg_dir4_entry(set, e & (XS_DIR4_NEXT - 1), b[2]);
		if (e & XS_DIR4_NEXT)
			e = seg_dir4_entry(set, e & (XS_DIR4_NEXT - 1), b[3]);
	}
	/* a third level holds ids only: a flag left here is no segment's id */
	return e;
}

/* The first n bits of a big-endian 64-bit word. */
static __always_inline __u64 seg_mask64(__u32 n)
{
	return n ? bpf_cpu_to_be64(~0ULL << (64 - n)) : 0;
}

/*
 * The longest of xs_seg6h's prefixes of length `min` to 128 that holds the
 * address (the set's lengths, longest first): its segment, or `none`.
 */
static __always_inline __u16 seg_hash6(__u32 set, const struct xs_fast_info *fi, const __u64 *addr,
				       union xs_key_buf *kb, __u32 min, __u16 none)
{
	struct xs_seg_val *v;
	__u64 w[2];

	for (int i = 0; i < XS_SEG6_LENS; i++) {
		__u32 plen;

		if (i >= fi->nlen6)
			break;
		plen = fi->len6[i] & 0xff;
		if (plen > 128 || plen < min)
			break;
		if (plen >= 64) {
			w[0] = addr[0];
			w[1] = addr[1] & seg_mask64(plen - 64);
		} else {
			w[0] = addr[0] & seg_mask64(plen);
			w[1] = 0;
		}
		kb->k6.prefixlen = plen;
		__builtin_memcpy(kb->k6.addr, w, 16);
		v = xs_set_lookup(set, xs_seg6h_0, xs_seg6h_1, &kb->k6);
		if (v)
			return v->seg;
	}
	return none;
}

/* The slot of prefix (hi, plen) in xs_seg6a, or NULL. */
static __always_inline const struct xs_seg6a_slot *seg6a_find(__u32 set, __u64 hi, __u32 plen)
{
	__u32 g = xs_seg6a_group(hi, plen);

#pragma clang loop unroll(full)
	for (int p = 0; p < XS_SEG6A_PROBES; p++) {
		__u32 idx = (g + p) & (XS_SEG6A_GROUPS - 1);
		const struct xs_seg6a_group *grp = xs_set_lookup(set, xs_seg6a_0, xs_seg6a_1, &idx);

		if (!grp)
			return NULL;
#pragma clang loop unroll(full)
		for (int w = 0; w < XS_SEG6A_WAYS; w++) {
			const struct xs_seg6a_slot *sl = &grp->s[w];

			if ((sl->flags & XS_SEG6AF_USED) && sl->hi == hi && sl->plen == plen)
				return sl;
		}
	}
	return NULL;
}

/* IPv6 by xs_seg6a: the address's /64 first, then the shorter lengths. */
static __always_inline __u16 seg_array6(__u32 set, const struct xs_fast_info *fi, const __u64 *addr,
					union xs_key_buf *kb)
{
	const struct xs_seg6a_slot *sl = seg6a_find(set, addr[0], 64);

	if (sl) {
		__u16 seg = sl->seg;

		if (!(sl->flags & XS_SEG6AF_DEEPER))
			return seg;
		return seg_hash6(set, fi, addr, kb, 65, seg);
	}
	for (int i = 0; i < XS_SEG6_LENS; i++) {
		__u32 plen;

		if (i >= fi->nlen6)
			break;
		plen = fi->len6[i] & 0xff;
		if (plen >= 64)
			continue;
		sl = seg6a_find(set, addr[0] & seg_mask64(plen), plen);
		if (sl)
			return sl->seg;
	}
	return XS_SEG_WORLD;
}

/* Segment of an address (16 bytes, IPv4 in the first 4) in set `set`;
 * `fi` is seg_fast(set). 0 (world) when none. */
static __always_inline __u16 seg_of(__u32 set, const struct xs_fast_info *fi, __u8 family,
				    const __u64 *addr, union xs_key_buf *kb)
{
	if (family == 4) {
		if (fi && !(fi->flags & XS_FASTF_TRIE4))
			return seg_dir4(set, addr);
	} else if (fi && (fi->flags & XS_FASTF_SEG6A)) {
		return seg_array6(set, fi, addr, kb);
	} else if (fi && !(fi->flags & XS_FASTF_TRIE6)) {
		return seg_hash6(set, fi, addr, kb, 0, XS_SEG_WORLD);
	}
	return seg_trie(set, family, addr, kb);
}

/* Segment of an address in set `set` where nothing else is at hand. */
static __always_inline __u16 policy_segment(__u32 set, __u8 family, const __u64 *addr)
{
	union xs_key_buf kb;

	return seg_of(set, seg_fast(set), family, addr, &kb);
}

#endif /* XS_LIB_SEGMENT_H */

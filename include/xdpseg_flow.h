/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The hashes both sides compute. The flow tables' bucket of a normalised
 * tuple (include/xdpseg.h, "Flow table"; tests find an entry's bucket as
 * the datapath does): a seeded mix of 64-bit words (a multiply and a
 * shift per word: an IPv6 tuple is five), and with a random seed
 * (xs_config.flow_seed) a sender cannot choose tuples that land in one
 * bucket without knowing it. The group of an IPv6
 * prefix in xs_seg6a and of a pair in xs_paira ("Fast path"): multiplicative
 * hashes, which userspace places every entry by (a packet adds none).
 */
#ifndef XDPSEG_FLOW_H
#define XDPSEG_FLOW_H

#include "xdpseg.h"

#ifdef __bpf__
#define XS_FLOW_INLINE static __always_inline
#else
#define XS_FLOW_INLINE static inline
#endif

XS_FLOW_INLINE __u64 xs_load64(const void *p)
{
	__u64 w;

	__builtin_memcpy(&w, p, 8);
	return w;
}

/* One 64-bit word into the state: a multiply and a shift, both bijective. */
XS_FLOW_INLINE __u64 xs_hash_word(__u64 h, __u64 w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* The hash of a normalised tuple (xs_tuple): IPv4 reads 4 bytes of each address. */
XS_FLOW_INLINE __u32 xs_flow_hash(__u32 seed, const struct xs_tuple *k)
{
	__u64 h = (__u64)seed << 32 | seed;
	__u64 ports = (__u64)k->port_a << 24 | (__u64)k->port_b << 8 | k->proto;

	if (k->family == 6) {
		h = xs_hash_word(h, xs_load64(k->addr_a));
		h = xs_hash_word(h, xs_load64(k->addr_a + 8));
		h = xs_hash_word(h, xs_load64(k->addr_b));
		h = xs_hash_word(h, xs_load64(k->addr_b + 8));
	} else {
		__u32 a, b;

		__builtin_memcpy(&a, k->addr_a, 4);
		__builtin_memcpy(&b, k->addr_b, 4);
		h = xs_hash_word(h, (__u64)a << 32 | b);
	}
	h = xs_hash_word(h, ports);
	h *= 0xbf58476d1ce4e5b9ULL;
	return (__u32)(h >> 32);
}

/* The bucket of `k` in its family's table. */
XS_FLOW_INLINE __u32 xs_flow_bucket(__u32 seed, const struct xs_tuple *k)
{
	__u32 n = k->family == 6 ? XS_FLOW6_BUCKETS : XS_FLOW4_BUCKETS;

	return xs_flow_hash(seed, k) & (n - 1);
}

/* The xs_seg6a group of the prefix (hi: its first 64 bits, masked; plen). */
XS_FLOW_INLINE __u32 xs_seg6a_group(__u64 hi, __u32 plen)
{
	__u64 h = (hi ^ (__u64)plen << 57 ^ plen) * 0x9e3779b97f4a7c15ULL;

	return (__u32)(h >> 40) & (XS_SEG6A_GROUPS - 1);
}

/* The xs_paira group of pair key `pair` (XS_PAIR_KEY()). */
XS_FLOW_INLINE __u32 xs_paira_group(__u32 pair)
{
	return (pair * 0x9e3779b1U) >> (32 - 15) & (XS_PAIRA_GROUPS - 1);
}

#endif /* XDPSEG_FLOW_H */

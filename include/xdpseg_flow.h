/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The hashes both sides compute. The flow tables' bucket of a normalised
 * tuple (include/xdpseg.h, "Flow table"; tests find an entry's bucket as
 * the datapath does): a seeded 32-bit mix in the manner of MurmurHash3,
 * fast, and with a random seed (xs_config.flow_seed) a sender cannot choose
 * tuples that land in one bucket without knowing it. The group of an IPv6
 * prefix in xs_seg6a ("Fast path"): a multiplicative hash, which userspace
 * places every prefix by (a packet cannot add entries).
 */
#ifndef XDPSEG_FLOW_H
#define XDPSEG_FLOW_H

#include "xdpseg.h"

#ifdef __bpf__
#define XS_FLOW_INLINE static __always_inline
#else
#define XS_FLOW_INLINE static inline
#endif

XS_FLOW_INLINE __u32 xs_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

XS_FLOW_INLINE __u32 xs_hash_word(__u32 h, __u32 w)
{
	w *= 0xcc9e2d51U;
	w = xs_rotl32(w, 15);
	w *= 0x1b873593U;
	h ^= w;
	h = xs_rotl32(h, 13);
	return h * 5 + 0xe6546b64U;
}

XS_FLOW_INLINE __u32 xs_hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

XS_FLOW_INLINE __u32 xs_load32(const void *p)
{
	__u32 w;

	__builtin_memcpy(&w, p, 4);
	return w;
}

/* The hash of a normalised tuple (xs_tuple): IPv4 reads 4 bytes of each address. */
XS_FLOW_INLINE __u32 xs_flow_hash(__u32 seed, const struct xs_tuple *k)
{
	__u32 h = seed;

	h = xs_hash_word(h, xs_load32(k->addr_a));
	h = xs_hash_word(h, xs_load32(k->addr_b));
	if (k->family == 6) {
		h = xs_hash_word(h, xs_load32(k->addr_a + 4));
		h = xs_hash_word(h, xs_load32(k->addr_a + 8));
		h = xs_hash_word(h, xs_load32(k->addr_a + 12));
		h = xs_hash_word(h, xs_load32(k->addr_b + 4));
		h = xs_hash_word(h, xs_load32(k->addr_b + 8));
		h = xs_hash_word(h, xs_load32(k->addr_b + 12));
	}
	h = xs_hash_word(h, (__u32)k->port_a << 16 | k->port_b);
	h = xs_hash_word(h, k->proto);
	return xs_hash_final(h);
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

#endif /* XDPSEG_FLOW_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The hashes both sides compute. The flow tables' bucket of a normalised
 * tuple (include/xdpseg.h, "Flow table"; tests find an entry's bucket as
 * the datapath does): a seeded mix of 64-bit words (a multiply and a
 * shift per word: an IPv6 tuple is five), and with a random seed
 * (xs_config.flow_seed) a sender cannot choose tuples that land in one
 * bucket without knowing it. The group of an IPv6
 * prefix in xs_seg6a and of a pair in xs_paira ("Fast path"): multiplicative
 * hashes, which userspace places every entry by (a packet adds none). And
 * what a flow-table entry has counted ("Flow accounting"), as both read it.
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

/* The fields of a flow-table accumulator (include/xdpseg.h, "Flow accounting"). */
XS_FLOW_INLINE __u8 xs_acc_stamp(__u64 acc)
{
	return (__u8)(acc >> XS_ACC_STAMP_SHIFT);
}

XS_FLOW_INLINE __u64 xs_acc_packets(__u64 acc)
{
	return (acc >> XS_ACC_PKT_SHIFT) & XS_ACC_PKT_MASK;
}

XS_FLOW_INLINE __u64 xs_acc_bytes(__u64 acc)
{
	return acc & XS_ACC_BYTE_MASK;
}

/*
 * What the entry `h` (way `w` of a bucket whose accounting is `a`) has
 * counted: [0] from its initiator, [1] from its responder. `acc_i`, `acc_r`:
 * its accumulators (as read, or taken); an accumulator or a fold that does
 * not hold the entry's stamp is another flow's, and so is the responder's
 * before the flow has a reply (XS_CTF_REPLIED).
 */
XS_FLOW_INLINE void xs_flow_counts(const struct xs_flow_hdr *h, const struct xs_flow_acct *a, int w,
				   __u64 acc_i, __u64 acc_r, __u64 *pk, __u64 *by)
{
	int fold = a->fold_stamp[w] == h->stamp;

	pk[0] = fold ? a->fold[w].packets[0] * XS_ACC_PKT_QUANTUM : 0;
	pk[1] = fold ? a->fold[w].packets[1] * XS_ACC_PKT_QUANTUM : 0;
	by[0] = fold ? a->fold[w].bytes[0] * XS_ACC_BYTE_QUANTUM : 0;
	by[1] = fold ? a->fold[w].bytes[1] * XS_ACC_BYTE_QUANTUM : 0;
	if (xs_acc_stamp(acc_i) == h->stamp) {
		pk[0] += xs_acc_packets(acc_i);
		by[0] += xs_acc_bytes(acc_i);
	}
	if ((h->flags & XS_CTF_REPLIED) && xs_acc_stamp(acc_r) == h->stamp) {
		pk[1] += xs_acc_packets(acc_r);
		by[1] += xs_acc_bytes(acc_r);
	}
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

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow table (include/xdpseg.h, "Flow table"): tracked flows and
 * remembered denials in set-associative buckets, one array per family.
 *
 * Concurrency: every write to a bucket holds the bucket's bpf_spin_lock (in
 * the bucket's first cache line: no extra miss) and makes the bucket's
 * sequence count odd while it writes; nothing under the lock calls a
 * helper. A packet's decision is made outside the lock: a write finds its
 * entry again by key, so two CPUs that insert one flow at once leave one
 * entry (the later write wins), and an entry another CPU evicted meanwhile
 * is simply not there to update. The established fast path reads without
 * the lock, as a seqcount reader: the count even and unchanged around the
 * read, or it takes the lock; a packet whose entry needs a write (a TCP
 * state, the expiry moving by a second) takes the lock. Userspace reads
 * and writes buckets with BPF_F_LOCK (writes only on a quiet table: tests,
 * benchmarks).
 *
 * The operations are global functions (verified once each, whatever the
 * caller's state) over flat arguments: a key, its hash (computed once per
 * packet), a header, and the packet's facts packed in one scalar (XS_FLOW_Q). Inside, everything
 * takes the family as a constant (fam: 4 or 6) and is inlined, so that every offset into a bucket
 * is a constant for the verifier.
 */
#ifndef XS_LIB_FLOW_H
#define XS_LIB_FLOW_H

#include <bpf/bpf_helpers.h>

#include "xdpseg_flow.h"
#include "conntrack.h"
#include "maps.h"
#include "pkt.h"
#include "stats.h"

enum xs_flow_found {
	XS_FLOW_MISS = 0,     /* no entry decides the packet: decide it */
	XS_FLOW_FOLLOWED = 1, /* a tracked flow of this generation: followed, pass */
	XS_FLOW_SLOW = 2,     /* a tracked flow to decide again (older policy, a grant) */
	XS_FLOW_DENIED = 3,   /* a remembered denial of this generation: drop */
};

/* The bucket of hash `hash` (xs_flow_hash() of the key) in the family's
 * table, or NULL (never: the index is masked). */
static __always_inline void *flow_bucket(__u32 hash, int fam)
{
	__u32 i = hash;

	if (fam == 4) {
		i &= XS_FLOW4_BUCKETS - 1;
		return bpf_map_lookup_elem(&xs_flow4, &i);
	}
	i &= XS_FLOW6_BUCKETS - 1;
	return bpf_map_lookup_elem(&xs_flow6, &i);
}

/* The bucket's sequence count (the word after the lock): odd while a writer
 * holding the lock changes the entries. */
static __always_inline volatile __u32 *flow_seq(void *b)
{
	return (volatile __u32 *)(b + 4);
}

/*
 * Memory order: on x86 (TSO) loads are not reordered with older loads nor
 * stores with older stores, so the compiler barrier is all a seqcount needs;
 * elsewhere the reader's second read is an atomic, a full barrier in BPF.
 */
#define flow_barrier() asm volatile("" ::: "memory")

static __always_inline void flow_write_begin(void *b)
{
	*flow_seq(b) = *flow_seq(b) + 1;
	flow_barrier();
}

static __always_inline void flow_write_end(void *b)
{
	flow_barrier();
	*flow_seq(b) = *flow_seq(b) + 1;
}

static __always_inline __u32 flow_read_begin(void *b)
{
	__u32 s = *flow_seq(b);

	flow_barrier();
	return s;
}

/* Did a writer touch the bucket since flow_read_begin() returned `s`? */
static __always_inline int flow_read_retry(void *b, __u32 s)
{
	flow_barrier();
#ifdef __TARGET_ARCH_x86
	return *flow_seq(b) != s;
#else
	return __sync_fetch_and_add((__u32 *)flow_seq(b), 0) != s;
#endif
}

/* Entry `w` of bucket `b` (after the lock and the sequence count). */
static __always_inline struct xs_flow_hdr *flow_way(void *b, int fam, int w)
{
	return (struct xs_flow_hdr *)(b + 8 +
				      w * (fam == 4 ? sizeof(struct xs_flow4)
						    : sizeof(struct xs_flow6)));
}

/* Is `h` (in use) the entry of key `k`? */
static __always_inline int flow_eq(const struct xs_flow_hdr *h, const struct xs_tuple *k, int fam)
{
	const __u8 *a = (const __u8 *)(h + 1);

	if (!h->state || h->proto != k->proto || h->port_a != k->port_a || h->port_b != k->port_b)
		return 0;
	if (fam == 4)
		return *(const __u32 *)a == *(const __u32 *)k->addr_a &&
		       *(const __u32 *)(a + 4) == *(const __u32 *)k->addr_b;
	return *(const __u64 *)a == *(const __u64 *)k->addr_a &&
	       *(const __u64 *)(a + 8) == *(const __u64 *)(k->addr_a + 8) &&
	       *(const __u64 *)(a + 16) == *(const __u64 *)k->addr_b &&
	       *(const __u64 *)(a + 24) == *(const __u64 *)(k->addr_b + 8);
}

/* The way of `b` holding `k`, or -1. Under the lock. */
static __always_inline int flow_find_way(void *b, const struct xs_tuple *k, int fam)
{
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		if (flow_eq(flow_way(b, fam, w), k, fam))
			return w;
	}
	return -1;
}

/* What the flow table needs of a packet, packed in one scalar. */
#define XS_FLOW_Q(gen, from_b, syn_only, proto, tcp_flags, icmp_type)           \
	((__u64)(gen) | (__u64) !!(from_b) << 32 | (__u64) !!(syn_only) << 33 | \
	 (__u64)(__u8)(proto) << 40 | (__u64)(__u8)(tcp_flags) << 48 |          \
	 (__u64)(__u8)(icmp_type) << 56)

struct xs_flow_q {
	__u64 now;
	__u32 gen;
	int from_b;   /* the packet's source is side b of the key */
	int syn_only; /* a lone TCP SYN: follows only its initiator's SYN_SENT entry */
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
};

static __always_inline void flow_q(struct xs_flow_q *q, __u64 bits, __u64 now)
{
	q->now = now;
	q->gen = (__u32)bits;
	q->from_b = (bits >> 32) & 1;
	q->syn_only = (bits >> 33) & 1;
	q->proto = (__u8)(bits >> 40);
	q->tcp_flags = (__u8)(bits >> 48);
	q->icmp_type = (__u8)(bits >> 56);
}

/* Under the lock: what entry `h` (of the packet's key) says of the packet. */
static __always_inline int flow_judge(struct xs_flow_hdr *h, const struct xs_flow_q *q)
{
	int tcp_nonsyn = q->proto == IPPROTO_TCP && !q->syn_only;

	if (h->expires_ns < q->now)
		return XS_FLOW_MISS;
	if (h->state == XS_CT_DENIED)
		return !q->syn_only && ct_denial_holds(h, q->from_b, q->icmp_type, q->gen,
						       tcp_nonsyn)
			       ? XS_FLOW_DENIED
			       : XS_FLOW_MISS;
	/* A SYN opens a connection: only the initiator's retransmission
	 * follows the entry; anything else (the other side, a reused port) is
	 * decided anew. ICMP follows only as request and reply. */
	if (q->syn_only && !(ct_from_initiator(h, q->from_b) && h->state == XS_CT_SYN_SENT))
		return XS_FLOW_MISS;
	if (h->state == XS_CT_ICMP && !ct_icmp_follows(h, q->from_b, q->proto, q->icmp_type))
		return XS_FLOW_MISS;
	if (h->generation != q->gen || h->deadline)
		return XS_FLOW_SLOW;
	ct_follow(h, q->from_b, q->proto, q->tcp_flags, q->now);
	return XS_FLOW_FOLLOWED;
}

/*
 * Without the lock: the verdict on a consistent copy of the entry when it
 * needs no write (the packet changes nothing the entry keeps), else -1.
 */
static __always_inline int flow_lookup_unlocked(void *b, const struct xs_tuple *k,
						const struct xs_flow_q *q, struct xs_flow_hdr *out,
						int fam)
{
	__u32 seq = flow_read_begin(b);
	__u64 expires;
	int found = 0, rc;
	__u8 state, flags;

	if (seq & 1)
		return -1;
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);

		if (!found && flow_eq(h, k, fam)) {
			*out = *h;
			found = 1;
		}
	}
	if (flow_read_retry(b, seq))
		return -1;
	if (!found)
		return XS_FLOW_MISS;
	expires = out->expires_ns;
	state = out->state;
	flags = out->flags;
	rc = flow_judge(out, q); /* on the copy */
	if (rc == XS_FLOW_FOLLOWED &&
	    (out->expires_ns != expires || out->state != state || out->flags != flags))
		return -1;
	return rc;
}

static __always_inline int flow_lookup_fam(__u32 hash, const struct xs_tuple *k,
					   const struct xs_flow_q *q, struct xs_flow_hdr *out,
					   int fam)
{
	void *b = flow_bucket(hash, fam);
	int rc = XS_FLOW_MISS;

	if (!b)
		return XS_FLOW_MISS;
	rc = flow_lookup_unlocked(b, k, q, out, fam);
	if (rc >= 0)
		return rc;
	rc = XS_FLOW_MISS;
	bpf_spin_lock(b);
	flow_write_begin(b);
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);

		if (rc == XS_FLOW_MISS && flow_eq(h, k, fam)) {
			rc = flow_judge(h, q);
			*out = *h;
			break;
		}
	}
	flow_write_end(b);
	bpf_spin_unlock(b);
	return rc;
}

/*
 * Look a packet up by its normalised key `k` (`hash`: xs_flow_hash() of it;
 * `q`: XS_FLOW_Q() of the packet, at `now`): enum xs_flow_found, with a copy of the entry's header
 * (as followed) in `out` unless XS_FLOW_MISS. The common case, a tracked flow of the current
 * policy, is followed here, under one lock.
 */
__attribute__((noinline)) int xs_flow_lookup(const struct xs_tuple *k, struct xs_flow_hdr *out,
					     __u64 q, __u64 now, __u32 hash)
{
	struct xs_flow_q fq;

	if (!k || !out)
		return XS_FLOW_MISS;
	flow_q(&fq, q, now);
	if (k->family == 4)
		return flow_lookup_fam(hash, k, &fq, out, 4);
	return flow_lookup_fam(hash, k, &fq, out, 6);
}

static __always_inline int flow_peek_fam(__u32 hash, const struct xs_tuple *k,
					 struct xs_flow_hdr *out, int fam)
{
	void *b = flow_bucket(hash, fam);
	int found = 0;

	if (!b)
		return 0;
	bpf_spin_lock(b);
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);

		if (!found && flow_eq(h, k, fam)) {
			*out = *h;
			found = 1;
		}
	}
	bpf_spin_unlock(b);
	return found;
}

/* A copy of the entry of `k` whatever its state (1), or 0 when none. */
__attribute__((noinline)) int xs_flow_peek(const struct xs_tuple *k, struct xs_flow_hdr *out,
					   __u32 hash)
{
	if (!k || !out)
		return 0;
	if (k->family == 4)
		return flow_peek_fam(hash, k, out, 4);
	return flow_peek_fam(hash, k, out, 6);
}

static __always_inline void flow_write(struct xs_flow_hdr *h, const struct xs_flow_hdr *nh,
				       const struct xs_tuple *k, int fam)
{
	__u8 *a = (__u8 *)(h + 1);

	*h = *nh;
	h->proto = k->proto;
	h->pad = 0;
	h->port_a = k->port_a;
	h->port_b = k->port_b;
	if (fam == 4) {
		__builtin_memcpy(a, k->addr_a, 4);
		__builtin_memcpy(a + 4, k->addr_b, 4);
	} else {
		__builtin_memcpy(a, k->addr_a, 16);
		__builtin_memcpy(a + 16, k->addr_b, 16);
	}
}

/* Under the lock: the way a new entry of `k` takes (-1: none), and whether
 * it evicts a live flow (*evict). A denial never displaces a live flow. */
static __always_inline int flow_victim(void *b, const struct xs_tuple *k, int fam, __u64 now,
				       int denial, int *evict)
{
	int same = flow_find_way(b, k, fam), victim = -1, oldest = -1;
	__u64 oldest_exp = ~0ULL;

	*evict = 0;
	if (same >= 0) {
		struct xs_flow_hdr *h = flow_way(b, fam, same);

		if (denial && h->state != XS_CT_DENIED && h->expires_ns >= now)
			return -1;
		return same;
	}
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);

		if (victim < 0 && (!h->state || h->expires_ns < now))
			victim = w;
	}
	if (victim >= 0)
		return victim;
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);

		if (victim < 0 && h->state == XS_CT_DENIED)
			victim = w;
		if (h->expires_ns < oldest_exp) {
			oldest_exp = h->expires_ns;
			oldest = w;
		}
	}
	if (victim >= 0 || denial)
		return victim;
	*evict = 1;
	return oldest;
}

static __always_inline int flow_insert_fam(__u32 hash, const struct xs_tuple *k,
					   const struct xs_flow_hdr *nh, __u64 now, int denial,
					   int fam)
{
	void *b = flow_bucket(hash, fam);
	int victim, evict;

	if (!b)
		return -1;
	bpf_spin_lock(b);
	flow_write_begin(b);
	victim = flow_victim(b, k, fam, now, denial, &evict);
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		if (w == victim)
			flow_write(flow_way(b, fam, w), nh, k, fam);
	}
	flow_write_end(b);
	bpf_spin_unlock(b);
	return victim < 0 ? -1 : evict;
}

/*
 * Insert (or replace) the entry of key `k` with header `nh` (its key fields
 * are taken from k) at `now`. `denial`: a remembered denial, which only
 * takes a free, expired or denial slot and never replaces a live flow of its
 * key. Returns 1 when a live flow was evicted (counted), 0 when placed
 * otherwise, -1 when not placed.
 */
__attribute__((noinline)) int xs_flow_insert(const struct xs_tuple *k, const struct xs_flow_hdr *nh,
					     __u64 now, int denial, __u32 hash)
{
	int rc;

	if (!k || !nh)
		return -1;
	if (k->family == 4)
		rc = flow_insert_fam(hash, k, nh, now, denial, 4);
	else
		rc = flow_insert_fam(hash, k, nh, now, denial, 6);
	if (rc > 0)
		stats_misc(XS_STAT_FLOW_EVICTED);
	return rc;
}

/*
 * The entry of `k` decided again: apply `nh`'s decision (generation,
 * deadline, rule, reason, segments, audit flag) and follow the packet
 * (`q`: XS_FLOW_Q() of it, at `now`). An entry gone meanwhile (evicted)
 * stays gone. Returns 0.
 */
static __always_inline void flow_update_fam(__u32 hash, const struct xs_tuple *k,
					    const struct xs_flow_hdr *nh, const struct xs_flow_q *q,
					    int fam)
{
	void *b = flow_bucket(hash, fam);

	if (!b)
		return;
	bpf_spin_lock(b);
	flow_write_begin(b);
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);

		if (flow_eq(h, k, fam) && h->state != XS_CT_DENIED) {
			h->generation = nh->generation;
			h->deadline = nh->deadline;
			h->rule_id = nh->rule_id;
			h->reason = nh->reason;
			h->src_seg = nh->src_seg;
			h->dst_seg = nh->dst_seg;
			h->flags = (h->flags & ~XS_CTF_AUDIT) | (nh->flags & XS_CTF_AUDIT);
			ct_follow(h, q->from_b, q->proto, q->tcp_flags, q->now);
		}
	}
	flow_write_end(b);
	bpf_spin_unlock(b);
}

__attribute__((noinline)) int xs_flow_update(const struct xs_tuple *k, const struct xs_flow_hdr *nh,
					     __u64 q, __u64 now, __u32 hash)
{
	struct xs_flow_q fq;

	if (!k || !nh)
		return 0;
	flow_q(&fq, q, now);
	if (k->family == 4)
		flow_update_fam(hash, k, nh, &fq, 4);
	else
		flow_update_fam(hash, k, nh, &fq, 6);
	return 0;
}

static __always_inline void flow_forget_fam(__u32 hash, const struct xs_tuple *k, int fam)
{
	void *b = flow_bucket(hash, fam);

	if (!b)
		return;
	bpf_spin_lock(b);
	flow_write_begin(b);
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);

		if (flow_eq(h, k, fam)) {
			h->state = 0;
			h->expires_ns = 0;
		}
	}
	flow_write_end(b);
	bpf_spin_unlock(b);
}

/* Remove the entry of `k` (a tracked flow the new policy drops). Returns 0. */
__attribute__((noinline)) int xs_flow_forget(const struct xs_tuple *k, __u32 hash)
{
	if (!k)
		return 0;
	if (k->family == 4)
		flow_forget_fam(hash, k, 4);
	else
		flow_forget_fam(hash, k, 6);
	return 0;
}

#endif /* XS_LIB_FLOW_H */

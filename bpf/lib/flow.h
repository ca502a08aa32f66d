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
 * Accounting (include/xdpseg.h, "Flow accounting"): every packet a flow
 * follows counts towards its entry, the established fast path's too, by one
 * compare-and-swap of its accumulator (the entry's stamp in it) after the
 * consistent read; a failed swap takes the lock. An entry that ends here
 * (TCP's close, a revoke, a new flow taking its slot) has its end record
 * staged under the lock and sent after it (flowrec.h).
 *
 * The operations are global functions (verified once each, whatever the
 * caller's state) over flat arguments: the packet's scratch space (its key,
 * the entry's copy, struct xs_flow_io), the key's hash (computed once per
 * packet), and the packet's facts packed in one scalar (XS_FLOW_Q). Inside,
 * everything takes the family as a constant (fam: 4 or 6) and is inlined,
 * so that every offset into a bucket is a constant for the verifier, or a
 * way's index checked below XS_FLOW_WAYS (one copy of the code for the way
 * an operation writes, rather than three: the verifier's stack limit).
 */
#ifndef XS_LIB_FLOW_H
#define XS_LIB_FLOW_H

#include <bpf/bpf_helpers.h>

#include "xdpseg_flow.h"
#include "conntrack.h"
#include "flowrec.h"
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

/* The accounting of bucket `b` (after its entries). */
static __always_inline struct xs_flow_acct *flow_acct(void *b, int fam)
{
	return (struct xs_flow_acct *)(b + (fam == 4 ? __builtin_offsetof(struct xs_flow4_bkt, a)
						     : __builtin_offsetof(struct xs_flow6_bkt, a)));
}

/* The accumulator of way `w` for packets from its responder (`resp`) or initiator. */
static __always_inline __u64 *flow_acc(struct xs_flow_acct *a, int w, int resp)
{
	return resp ? &a->acc_r[w] : &a->acc_i[w];
}

/* Is a packet from side b (`from_b`) of entry `h`'s key from its responder? */
static __always_inline int flow_resp(const struct xs_flow_hdr *h, int from_b)
{
	return !ct_from_initiator(h, from_b);
}

/*
 * Without the lock: count a packet of `len` bytes into accumulator `acc` of
 * the entry stamped `stamp`. 0 when counted; -1 when not (the slot holds
 * another flow now, another CPU counted into it at the same instant, or it
 * is due a fold): count under the lock.
 */
static __always_inline int flow_acc_try(__u64 *acc, __u8 stamp, __u32 len)
{
	__u64 cur = *(volatile __u64 *)acc;

	if (xs_acc_stamp(cur) != stamp || (cur & (XS_ACC_PKT_FULL | XS_ACC_BYTE_FULL)))
		return -1;
	return __sync_val_compare_and_swap(acc, cur, cur + XS_ACC_ONE(len)) == cur ? 0 : -1;
}

/* Take what accumulator `acc` holds, leaving `fresh` (an atomic exchange: a
 * packet counted without the lock is in what is taken, or fails its swap). */
static __always_inline __u64 flow_acc_take(__u64 *acc, __u64 fresh)
{
	return __sync_lock_test_and_set(acc, fresh);
}

/* An accumulator of the flow stamped `stamp` that has counted nothing. */
static __always_inline __u64 flow_acc_fresh(__u8 stamp)
{
	return (__u64)stamp << XS_ACC_STAMP_SHIFT;
}

/*
 * Under the lock: count a packet of `len` bytes from the responder (`resp`)
 * or initiator into way `w` (entry `h`; `replied`: it had XS_CTF_REPLIED
 * before the packet), unless it is not to be counted (`count` 0: seen at
 * another interface than the flow's). The accumulator's first packet of the
 * flow writes it whole (no packet of this flow can be counting into it
 * without the lock), the responder's first packet even when not counted;
 * one half full in a field gives a quantum of it to the folds first.
 */
static __always_inline void flow_count(struct xs_flow_acct *a, const struct xs_flow_hdr *h, int w,
				       int resp, int replied, __u32 len, int count)
{
	__u64 *acc, cur, quanta = 0;

	resp &= 1;
	acc = flow_acc(a, w, resp);
	if (resp && !replied) {
		*(volatile __u64 *)acc = flow_acc_fresh(h->stamp) + (count ? XS_ACC_ONE(len) : 0);
		return;
	}
	if (!count)
		return;
	cur = *(volatile __u64 *)acc;
	if (xs_acc_stamp(cur) != h->stamp) {
		*(volatile __u64 *)acc = flow_acc_fresh(h->stamp) + XS_ACC_ONE(len);
		return;
	}
	if (cur & (XS_ACC_PKT_FULL | XS_ACC_BYTE_FULL)) {
		if (a->fold_stamp[w] != h->stamp) {
			__builtin_memset(&a->fold[w], 0, sizeof(a->fold[w]));
			a->fold_stamp[w] = h->stamp;
		}
		if (cur & XS_ACC_PKT_FULL) {
			a->fold[w].packets[resp]++;
			quanta += XS_ACC_PKT_FULL;
		}
		if (cur & XS_ACC_BYTE_FULL) {
			a->fold[w].bytes[resp]++;
			quanta += XS_ACC_BYTE_FULL;
		}
	}
	__sync_fetch_and_add(acc, XS_ACC_ONE(len) - quanta);
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

/* (struct xs_flow_q, its unpacked form, is in maps.h: xs_flow_io holds one) */
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
 * Under the lock: entry `h` (way `w` of bucket `b`; `prev`, `prev_flags`:
 * its state and flags before) followed the packet `q`: count it (at the
 * flow's interface: a packet that crosses two attached interfaces counts
 * once), and when the packet closed the TCP flow (FIN both ways, RST), mark
 * the entry ended and stage its end record.
 */
static __always_inline void flow_followed(void *b, struct xs_flow_hdr *h, int w, __u8 prev,
					  __u8 prev_flags, const struct xs_flow_q *q,
					  struct xs_flow_io *io, int fam)
{
	struct xs_flow_acct *a = flow_acct(b, fam);

	flow_count(a, h, w, flow_resp(h, q->from_b), prev_flags & XS_CTF_REPLIED, io->len,
		   a->ifindex[w] == io->ifindex);
	if (h->state != XS_CT_CLOSED || prev == XS_CT_CLOSED || (h->flags & XS_CTF_ENDED))
		return;
	h->flags |= XS_CTF_ENDED;
	xs_flow_counts(h, a, w, *(volatile __u64 *)&a->acc_i[w], *(volatile __u64 *)&a->acc_r[w],
		       io->rec.packets, io->rec.bytes);
	flowrec_stage(&io->rec, h, fam, a->start_ns[w], a->ifindex[w],
		      (q->tcp_flags & XS_TCP_RST) ? XS_FLOW_END_RST : XS_FLOW_END_FIN, q->now);
}

/* A close's record that could not be sent: the entry of `k` (stamped
 * `stamp`) loses its XS_CTF_ENDED, so that userspace reports its end. */
static __always_inline void flow_unmark_fam(__u32 hash, const struct xs_tuple *k, __u8 stamp,
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

		if (flow_eq(h, k, fam) && h->stamp == stamp)
			h->flags &= ~XS_CTF_ENDED;
	}
	flow_write_end(b);
	bpf_spin_unlock(b);
}

/* After the lock: send the record an operation on key `k` staged, if any. */
static __always_inline void flow_send(__u32 hash, const struct xs_tuple *k, struct xs_flow_io *io,
				      __u64 now, int fam)
{
	__u8 cause = io->rec.cause, stamp = io->rec.stamp;

	if (io->rec.kind && !xs_flowrec_send(io, now) &&
	    (cause == XS_FLOW_END_FIN || cause == XS_FLOW_END_RST))
		flow_unmark_fam(hash, k, stamp, fam);
}

/*
 * Without the lock: the verdict on a consistent copy of the entry when it
 * needs no write (the packet changes nothing the entry keeps), else -1.
 */
static __always_inline int flow_lookup_unlocked(void *b, const struct xs_tuple *k,
						const struct xs_flow_q *q, struct xs_flow_hdr *out,
						struct xs_flow_io *io, int fam)
{
	struct xs_flow_acct *a = flow_acct(b, fam);
	__u32 seq = flow_read_begin(b);
	__u64 expires, *acc_i = NULL, *acc_r = NULL;
	__u32 home = 0;
	int found = 0, rc;
	__u8 state, flags;

	if (seq & 1)
		return -1;
#pragma clang loop unroll(full)
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);

		if (!found && flow_eq(h, k, fam)) {
			*out = *h;
			acc_i = &a->acc_i[w];
			acc_r = &a->acc_r[w];
			home = a->ifindex[w];
			found = 1;
		}
	}
	if (flow_read_retry(b, seq))
		return -1;
	if (!found || !acc_i || !acc_r) {
		io->seen = 0;
		return XS_FLOW_MISS;
	}
	io->seen = XS_FLOW_SEEN | out->stamp;
	expires = out->expires_ns;
	state = out->state;
	flags = out->flags;
	rc = flow_judge(out, q); /* on the copy */
	/* counted at the flow's interface only (its two hooks) */
	if (rc == XS_FLOW_FOLLOWED &&
	    (out->expires_ns != expires || out->state != state || out->flags != flags ||
	     (home == io->ifindex &&
	      flow_acc_try(flow_resp(out, q->from_b) ? acc_r : acc_i, out->stamp, io->len))))
		return -1;
	return rc;
}

static __always_inline int flow_lookup_fam(__u32 hash, const struct xs_tuple *k,
					   const struct xs_flow_q *q, struct xs_flow_hdr *out,
					   struct xs_flow_io *io, int fam)
{
	void *b = flow_bucket(hash, fam);
	int rc = XS_FLOW_MISS, w;

	if (!b)
		return XS_FLOW_MISS;
	rc = flow_lookup_unlocked(b, k, q, out, io, fam);
	if (rc >= 0)
		return rc;
	rc = XS_FLOW_MISS;
	io->seen = 0;
	io->rec.kind = 0;
	bpf_spin_lock(b);
	flow_write_begin(b);
	w = flow_find_way(b, k, fam);
	if (w >= 0 && w < XS_FLOW_WAYS) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);
		__u8 prev = h->state, prev_flags = h->flags;

		io->seen = XS_FLOW_SEEN | h->stamp;
		rc = flow_judge(h, q);
		if (rc == XS_FLOW_FOLLOWED)
			flow_followed(b, h, w, prev, prev_flags, q, io, fam);
		*out = *h;
	}
	flow_write_end(b);
	bpf_spin_unlock(b);
	flow_send(hash, k, io, q->now, fam);
	return rc;
}

/*
 * Look a packet up by its normalised key sc->k (`hash`: xs_flow_hash() of
 * it; `q`: XS_FLOW_Q() of the packet, at `now`; sc->io: its length): enum
 * xs_flow_found, with a copy of the entry's header (as followed) in sc->v
 * unless XS_FLOW_MISS, and in sc->io.seen the entry's stamp. The common
 * case, a tracked flow of the current policy, is followed and counted here,
 * without the lock or under one.
 */
__attribute__((noinline)) int xs_flow_lookup(struct xs_scratch *sc, __u64 q, __u64 now, __u32 hash)
{
	if (!sc)
		return XS_FLOW_MISS;
	flow_q(&sc->io.q, q, now); /* (off the stack: the verifier's 512 bytes) */
	if (sc->k.family == 4)
		return flow_lookup_fam(hash, &sc->k, &sc->io.q, &sc->v, &sc->io, 4);
	return flow_lookup_fam(hash, &sc->k, &sc->io.q, &sc->v, &sc->io, 6);
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

/* How a new entry takes its slot. */
enum xs_flow_place {
	XS_PLACE_NEW = 0,   /* a free, expired or denial slot */
	XS_PLACE_SAME = 1,  /* the key's entry, the one the lookup saw: a new flow of the tuple */
	XS_PLACE_JOIN = 2,  /* the key's live entry, made since the lookup (another CPU made it
			     * for the same flow at the same time): that flow, its counts kept */
	XS_PLACE_EVICT = 3, /* a live flow's slot: the one that expires first */
};

/* Under the lock: the way a new entry of `k` takes (-1: none), and how
 * (*how: enum xs_flow_place). `seen`: what the packet's lookup found of the
 * key (struct xs_flow_io). A denial never displaces a live flow. */
static __always_inline int flow_victim(void *b, const struct xs_tuple *k, int fam, __u64 now,
				       int denial, __u16 seen, int *how)
{
	int same = flow_find_way(b, k, fam), victim = -1, oldest = -1;
	__u64 oldest_exp = ~0ULL;

	*how = XS_PLACE_NEW;
	if (same >= 0) {
		struct xs_flow_hdr *h = flow_way(b, fam, same);
		int live = h->state != XS_CT_DENIED && h->expires_ns >= now;

		if (denial && live)
			return -1;
		*how = live && seen != (XS_FLOW_SEEN | h->stamp) ? XS_PLACE_JOIN : XS_PLACE_SAME;
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
	*how = XS_PLACE_EVICT;
	return oldest;
}

/*
 * Under the lock: write the new entry of `k` (header `nh`, the packet's
 * facts in `io`) into way `w`, placed as `how` says. A new flow takes the
 * slot's next stamp and starts its counts with the packet (a denial counts
 * nothing), writing one cache line of the accounting (two for a TCP flow
 * picked up mid-stream). The tracked flow it displaces, unless its end was
 * reported already, has its end record staged when a token was taken for
 * it (io->token), its counts taken from its accumulators so that none of
 * its packets is lost or counted to the new flow; else it is counted as
 * suppressed. A packet of a flow another CPU made since the lookup (JOIN)
 * follows that flow.
 */
static __always_inline void flow_place(void *b, int w, const struct xs_flow_hdr *nh,
				       const struct xs_tuple *k, const struct xs_flow_q *q,
				       struct xs_flow_io *io, int denial, int how, int fam)
{
	struct xs_flow_hdr *h = flow_way(b, fam, w);
	struct xs_flow_acct *a = flow_acct(b, fam);
	__u64 fresh, one, acc_i, acc_r;
	int resp = flow_resp(nh, io->from_b), ended;
	__u8 stamp = h->stamp + 1, prev = h->state, prev_flags = h->flags;

	if (how == XS_PLACE_JOIN) {
		ct_follow(h, q->from_b, q->proto, q->tcp_flags, q->now);
		flow_followed(b, h, w, prev, prev_flags, q, io, fam);
		return;
	}
	fresh = flow_acc_fresh(stamp);
	one = denial ? 0 : XS_ACC_ONE(io->len);
	ended = prev && prev != XS_CT_DENIED && !(prev_flags & XS_CTF_ENDED);
	if (ended && io->token) {
		int expired = h->expires_ns < q->now;

		acc_i = flow_acc_take(&a->acc_i[w], fresh + (resp ? 0 : one));
		acc_r = 0; /* (the line of a flow without a reply is left alone) */
		if (prev_flags & XS_CTF_REPLIED)
			acc_r = flow_acc_take(&a->acc_r[w], fresh + (resp ? one : 0));
		else if (resp || (nh->flags & XS_CTF_REPLIED))
			a->acc_r[w] = fresh + (resp ? one : 0);
		xs_flow_counts(h, a, w, acc_i, acc_r, io->rec.packets, io->rec.bytes);
		flowrec_stage(&io->rec, h, fam, a->start_ns[w], a->ifindex[w],
			      expired		     ? XS_FLOW_END_TIMEOUT
			      : how == XS_PLACE_SAME ? XS_FLOW_END_REPLACED
						     : XS_FLOW_END_EVICTED,
			      expired ? h->expires_ns : q->now);
	} else {
		/* a packet of the old flow counting without the lock now is
		 * overwritten (no record needs it) or fails its swap */
		io->suppressed = ended;
		a->acc_i[w] = fresh + (resp ? 0 : one);
		if (resp || (nh->flags & XS_CTF_REPLIED))
			a->acc_r[w] = fresh + (resp ? one : 0);
	}
	a->start_ns[w] = q->now;
	a->ifindex[w] = io->ifindex;
	a->fold_stamp[w] = stamp - 1; /* not the new flow's: no fold yet */
	flow_write(h, nh, k, fam);
	h->stamp = stamp;
	if (io->egress)
		h->flags |= XS_CTF_EGRESS;
}

static __always_inline int flow_insert_fam(__u32 hash, const struct xs_tuple *k,
					   const struct xs_flow_hdr *nh, const struct xs_flow_q *q,
					   struct xs_flow_io *io, int denial, int fam)
{
	void *b = flow_bucket(hash, fam);
	int victim, how;

	if (!b)
		return -1;
	/* taken before the lock (no helper under it), given back if unused */
	io->token = flowrec_take(XS_EVB_FLOWNEW, q->now);
	io->suppressed = 0;
	io->rec.kind = 0;
	bpf_spin_lock(b);
	flow_write_begin(b);
	victim = flow_victim(b, k, fam, q->now, denial, io->seen, &how);
	if (victim >= 0 && victim < XS_FLOW_WAYS)
		flow_place(b, victim, nh, k, q, io, denial, how, fam);
	flow_write_end(b);
	bpf_spin_unlock(b);
	if (io->suppressed)
		stats_misc(XS_STAT_FLOWREC_SUPPRESSED);
	if (io->rec.kind) /* (its flow is gone: nothing to unmark) */
		xs_flowrec_send(io, q->now);
	else if (io->token)
		flowrec_give_back(XS_EVB_FLOWNEW);
	return victim < 0 ? -1 : how == XS_PLACE_EVICT;
}

/*
 * Insert (or replace) the entry of key sc->k with header sc->v (its key
 * fields are taken from the key), counting the packet (`q`: XS_FLOW_Q() of
 * it, at `now`; sc->io, whose `seen` the packet's lookup left). `denial`: a
 * remembered denial, which only takes a free, expired or denial slot and
 * never replaces a live flow of its key. Returns 1 when a live flow was
 * evicted (counted), 0 when placed otherwise, -1 when not placed.
 */
__attribute__((noinline)) int xs_flow_insert(struct xs_scratch *sc, __u64 q, __u64 now, int denial,
					     __u32 hash)
{
	int rc;

	if (!sc)
		return -1;
	flow_q(&sc->io.q, q, now);
	if (sc->k.family == 4)
		rc = flow_insert_fam(hash, &sc->k, &sc->v, &sc->io.q, &sc->io, denial, 4);
	else
		rc = flow_insert_fam(hash, &sc->k, &sc->v, &sc->io.q, &sc->io, denial, 6);
	if (rc > 0)
		stats_misc(XS_STAT_FLOW_EVICTED);
	return rc;
}

/*
 * The entry of sc->k decided again: apply sc->v's decision (generation,
 * deadline, rule, reason, segments, audit flag) and follow and count the
 * packet (`q`: XS_FLOW_Q() of it, at `now`; sc->io). An entry gone meanwhile
 * (evicted) stays gone. Returns 0.
 */
static __always_inline void flow_update_fam(__u32 hash, const struct xs_tuple *k,
					    const struct xs_flow_hdr *nh, const struct xs_flow_q *q,
					    struct xs_flow_io *io, int fam)
{
	void *b = flow_bucket(hash, fam);
	int w;

	if (!b)
		return;
	io->rec.kind = 0;
	bpf_spin_lock(b);
	flow_write_begin(b);
	w = flow_find_way(b, k, fam);
	if (w >= 0 && w < XS_FLOW_WAYS) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);
		__u8 prev = h->state, prev_flags = h->flags;

		if (prev != XS_CT_DENIED) {
			h->generation = nh->generation;
			h->deadline = nh->deadline;
			h->rule_id = nh->rule_id;
			h->reason = nh->reason;
			h->src_seg = nh->src_seg;
			h->dst_seg = nh->dst_seg;
			h->flags = (h->flags & ~XS_CTF_AUDIT) | (nh->flags & XS_CTF_AUDIT);
			ct_follow(h, q->from_b, q->proto, q->tcp_flags, q->now);
			flow_followed(b, h, w, prev, prev_flags, q, io, fam);
		}
	}
	flow_write_end(b);
	bpf_spin_unlock(b);
	flow_send(hash, k, io, q->now, fam);
}

__attribute__((noinline)) int xs_flow_update(struct xs_scratch *sc, __u64 q, __u64 now, __u32 hash)
{
	if (!sc)
		return 0;
	flow_q(&sc->io.q, q, now);
	if (sc->k.family == 4)
		flow_update_fam(hash, &sc->k, &sc->v, &sc->io.q, &sc->io, 4);
	else
		flow_update_fam(hash, &sc->k, &sc->v, &sc->io.q, &sc->io, 6);
	return 0;
}

static __always_inline void flow_forget_fam(__u32 hash, const struct xs_tuple *k,
					    struct xs_flow_io *io, __u8 cause, __u64 now, int fam)
{
	void *b = flow_bucket(hash, fam);
	struct xs_flow_acct *a;
	__u64 acc_i, acc_r;
	int w;

	if (!b)
		return;
	a = flow_acct(b, fam);
	io->rec.kind = 0;
	bpf_spin_lock(b);
	flow_write_begin(b);
	w = flow_find_way(b, k, fam);
	if (w >= 0 && w < XS_FLOW_WAYS) {
		struct xs_flow_hdr *h = flow_way(b, fam, w);

		if (h->state != XS_CT_DENIED && !(h->flags & XS_CTF_ENDED)) {
			/* taken: a packet counting without the lock is in the
			 * record, or fails its swap and finds no entry */
			acc_i = flow_acc_take(&a->acc_i[w], flow_acc_fresh(h->stamp));
			acc_r = flow_acc_take(&a->acc_r[w], flow_acc_fresh(h->stamp));
			xs_flow_counts(h, a, w, acc_i, acc_r, io->rec.packets, io->rec.bytes);
			flowrec_stage(&io->rec, h, fam, a->start_ns[w], a->ifindex[w], cause, now);
		}
		h->state = 0;
		h->expires_ns = 0;
	}
	flow_write_end(b);
	bpf_spin_unlock(b);
	xs_flowrec_send(io, now); /* (its flow is gone: nothing to unmark) */
}

/* Remove the entry of sc->k (a tracked flow the new policy drops, or whose
 * grant has ended: `cause`, enum xs_flow_cause) at `now`, with its end
 * record. Returns 0. */
__attribute__((noinline)) int xs_flow_forget(struct xs_scratch *sc, __u32 cause, __u64 now,
					     __u32 hash)
{
	if (!sc)
		return 0;
	if (sc->k.family == 4)
		flow_forget_fam(hash, &sc->k, &sc->io, (__u8)cause, now, 4);
	else
		flow_forget_fam(hash, &sc->k, &sc->io, (__u8)cause, now, 6);
	return 0;
}

#endif /* XS_LIB_FLOW_H */

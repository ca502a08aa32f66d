/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fragments: a non-first fragment carries no ports, so it follows the
 * decision its datagram's first fragment got, under the same policy
 * generation only, and never overlaps what that decision read.
 */
#ifndef XS_LIB_FRAG_H
#define XS_LIB_FRAG_H

#include "events.h"
#include "maps.h"
#include "pkt.h"

static __always_inline void frag_key(struct xs_frag_key *k, const struct xs_pkt *p)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->id = p->frag_id;
	k->proto = p->frag_proto;
	k->family = p->family;
	k->pad[0] = 0;
	k->pad[1] = 0;
}

enum xs_frag_op {
	XS_FRAG_ACCEPT = 1, /* a first fragment accepted: let the rest follow */
	XS_FRAG_FORGET = 2, /* a first fragment dropped: its id is no pass any more */
	XS_FRAG_LOOKUP = 3, /* a later fragment: may it pass? */
};

/*
 * The fragment table, in one global function (rare work, out of the hot
 * function's stack and verified once). `op` is an enum xs_frag_op.
 * ACCEPT: `rule_verdict` = rule id << 8 | verdict; the entry remembers how
 * far into the fragmentable part the decision read (extension headers after
 * the fragment header, the L4 header). LOOKUP returns the first fragment's
 * verdict + 1, or 0 (drop) when there is no entry, it expired, it was made
 * under another policy generation, or this fragment starts inside the
 * headers the decision read (an overlap that could rewrite them at
 * reassembly); the last two also remove the entry, so the rest of the
 * datagram is dropped too. ACCEPT and FORGET return 0.
 */
__attribute__((noinline)) int xs_frag_op(struct xs_pkt *p, __u32 op, __u64 rule_verdict,
					 __u32 generation, __u64 now)
{
	struct xs_frag_key k;
	struct xs_frag_val *v, nv = {};

	if (!p)
		return 0;
	frag_key(&k, p);
	switch (op) {
	case XS_FRAG_ACCEPT:
		nv.expires_ns = now + XS_FRAG_TIMEOUT;
		nv.rule_id = (__u32)(rule_verdict >> 8);
		nv.generation = generation;
		nv.hdr_len = (__u16)(p->l4_off + p->l4_len - p->frag_start);
		nv.verdict = (__u8)rule_verdict;
		nv.reason = XS_REASON_FRAGMENT;
		bpf_map_update_elem(&xs_frags, &k, &nv, BPF_ANY);
		return 0;
	case XS_FRAG_FORGET:
		bpf_map_delete_elem(&xs_frags, &k);
		return 0;
	}
	v = bpf_map_lookup_elem(&xs_frags, &k);
	if (!v || v->expires_ns < now)
		return 0;
	if (v->generation != generation || p->frag_off < v->hdr_len) {
		bpf_map_delete_elem(&xs_frags, &k);
		return 0;
	}
	return v->verdict + 1;
}

static __always_inline void frag_accept(struct xs_pkt *p, __u32 rule_id, __u8 verdict,
					__u32 generation, __u64 now)
{
	xs_frag_op(p, XS_FRAG_ACCEPT, (__u64)rule_id << 8 | verdict, generation, now);
}

static __always_inline void frag_forget(struct xs_pkt *p)
{
	xs_frag_op(p, XS_FRAG_FORGET, 0, 0, 0);
}

/* A later fragment: the first fragment's verdict + 1, or 0 (drop). */
static __always_inline int frag_lookup(struct xs_pkt *p, __u32 generation, __u64 now)
{
	return xs_frag_op(p, XS_FRAG_LOOKUP, 0, generation, now);
}

#endif /* XS_LIB_FRAG_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fragments: a non-first fragment carries no ports, so it follows the
 * decision its datagram's first fragment got. Unknown ones are dropped.
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
	k->proto = p->proto;
	k->family = p->family;
	k->pad[0] = 0;
	k->pad[1] = 0;
}

/* The first fragment of an accepted datagram: let the rest follow. */
static __always_inline void frag_accept(const struct xs_pkt *p, __u32 rule_id, __u8 verdict,
					__u64 now)
{
	struct xs_frag_key k;
	struct xs_frag_val v = {
		.expires_ns = now + XS_FRAG_TIMEOUT,
		.rule_id = rule_id,
		.verdict = verdict,
		.reason = XS_REASON_FRAGMENT,
	};

	frag_key(&k, p);
	bpf_map_update_elem(&xs_frags, &k, &v, BPF_ANY);
}

/* A later fragment: its datagram's entry, or NULL (drop). */
static __always_inline struct xs_frag_val *frag_lookup(const struct xs_pkt *p, __u64 now)
{
	struct xs_frag_key k;
	struct xs_frag_val *v;

	frag_key(&k, p);
	v = bpf_map_lookup_elem(&xs_frags, &k);
	if (v && v->expires_ns < now)
		return NULL;
	return v;
}

#endif /* XS_LIB_FRAG_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Ethernet and up to two VLAN tags (802.1Q, 802.1ad). */
#ifndef XS_LIB_ETH_H
#define XS_LIB_ETH_H

#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>

#include "pkt.h"

#define XS_MAX_VLAN_TAGS 2

struct xs_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

static __always_inline int eth_is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/*
 * Parse Ethernet and VLAN tags; c->pos must point at the Ethernet header.
 * On success c->pos points at the L3 header and *proto holds its ethertype.
 * A third tag is refused (XS_PARSE_BAD): what it hides cannot be checked.
 */
static __always_inline int eth_parse(struct xs_cursor *c, __be16 *proto)
{
	struct ethhdr *eth = c->pos;
	__be16 p;

	if ((void *)(eth + 1) > c->end)
		return XS_PARSE_BAD;
	p = eth->h_proto;
	c->pos = eth + 1;
#pragma unroll
	for (int i = 0; i < XS_MAX_VLAN_TAGS; i++) {
		struct xs_vlan_hdr *v = c->pos;

		if (!eth_is_vlan(p))
			break;
		if ((void *)(v + 1) > c->end)
			return XS_PARSE_BAD;
		p = v->encap_proto;
		c->pos = v + 1;
	}
	if (eth_is_vlan(p))
		return XS_PARSE_BAD;
	*proto = p;
	return XS_PARSE_OK;
}

#endif /* XS_LIB_ETH_H */

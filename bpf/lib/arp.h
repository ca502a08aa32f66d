/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ARP for Ethernet and IPv4: the sender protocol address a bound port claims. */
#ifndef XS_LIB_ARP_H
#define XS_LIB_ARP_H

#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>

#include "pkt.h"

#define XS_ARPHRD_ETHER 1 /* <linux/if_arp.h> drags in the libc headers */

struct xs_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

/*
 * The sender and target IPv4 addresses of the ARP packet at c->pos, into
 * p->saddr and p->daddr (family 4), for the check and the event. Anything
 * but Ethernet/IPv4 ARP, or a truncated one, is XS_PARSE_BAD.
 */
static __always_inline int arp_parse(const struct xs_cursor *c, struct xs_pkt *p)
{
	const struct xs_arp *a = c->pos;

	if ((void *)(a + 1) > c->end)
		return XS_PARSE_BAD;
	if (a->htype != bpf_htons(XS_ARPHRD_ETHER) || a->ptype != bpf_htons(ETH_P_IP) ||
	    a->hlen != ETH_ALEN || a->plen != 4)
		return XS_PARSE_BAD;
	p->family = 4;
	__builtin_memcpy(p->saddr, a->spa, 4);
	__builtin_memcpy(p->daddr, a->tpa, 4);
	return XS_PARSE_OK;
}

#endif /* XS_LIB_ARP_H */

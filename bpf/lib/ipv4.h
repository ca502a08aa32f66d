/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv4 header: options honoured through IHL, fragments recognised. */
#ifndef XS_LIB_IPV4_H
#define XS_LIB_IPV4_H

#include <linux/ip.h>
#include <bpf/bpf_endian.h>

#include "pkt.h"

#define XS_IP_MF 0x2000
#define XS_IP_OFFSET 0x1fff

/*
 * Parse the IPv4 header at c->pos. p->l3_len must hold the bytes from here
 * to the end of the packet. On success c->pos points past the options, at
 * the L4 header (or at fragment payload when p->frag == XS_FRAG_LATER).
 */
static __always_inline int ipv4_parse(struct xs_cursor *c, struct xs_pkt *p)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;
	__u16 frag;

	if ((void *)(ip + 1) > c->end)
		return XS_PARSE_BAD;
	if (ip->version != 4 || ip->ihl < 5)
		return XS_PARSE_BAD;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	/* Header beyond the packet, or a total length the packet lacks. */
	if (tot < hlen || tot > p->l3_len)
		return XS_PARSE_BAD;
	if (c->pos + hlen > c->end)
		return XS_PARSE_BAD;

	p->family = 4;
	p->proto = ip->protocol;
	__builtin_memcpy(&p->saddr, &ip->saddr, 4);
	__builtin_memcpy(&p->daddr, &ip->daddr, 4);
	frag = bpf_ntohs(ip->frag_off);
	if (frag & XS_IP_OFFSET)
		p->frag = XS_FRAG_LATER;
	else if (frag & XS_IP_MF)
		p->frag = XS_FRAG_FIRST;
	p->frag_id = bpf_ntohs(ip->id);
	c->pos += hlen;
	return XS_PARSE_OK;
}

#endif /* XS_LIB_IPV4_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv4 header: options honoured through IHL, the datagram bounded by its total length. */
#ifndef XS_LIB_IPV4_H
#define XS_LIB_IPV4_H

#include <linux/ip.h>
#include <bpf/bpf_endian.h>

#include "pkt.h"

#define XS_IP_MF 0x2000
#define XS_IP_OFFSET 0x1fff

/*
 * Parse the IPv4 header at c->pos. `l3_len` is the number of bytes from here
 * to the end of the frame. On success c->pos points past the options, at
 * the L4 header (or at fragment data when p->frag == XS_FRAG_LATER), and
 * p->dgram_end is where the datagram ends: the total length, not the frame
 * (a frame may carry padding past it, which the receiver trims).
 */
static __always_inline int ipv4_parse(struct xs_cursor *c, struct xs_pkt *p, __u32 l3_len)
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
	/* Header beyond the datagram, or a total length the frame lacks. */
	if (tot < hlen || tot > l3_len)
		return XS_PARSE_BAD;
	if (c->pos + hlen > c->end)
		return XS_PARSE_BAD;

	p->family = 4;
	p->proto = ip->protocol;
	p->frag_proto = ip->protocol;
	p->hop = ip->ttl;
	__builtin_memcpy(&p->saddr, &ip->saddr, 4);
	__builtin_memcpy(&p->daddr, &ip->daddr, 4);
	p->l3_off = (__u16)cur_off(c);
	p->dgram_end = p->l3_off + tot;
	frag = bpf_ntohs(ip->frag_off);
	if (frag & XS_IP_OFFSET) {
		p->frag = XS_FRAG_LATER;
		p->frag_off = (__u16)((frag & XS_IP_OFFSET) << 3);
	} else if (frag & XS_IP_MF) {
		p->frag = XS_FRAG_FIRST;
	}
	p->frag_id = bpf_ntohs(ip->id);
	c->pos += hlen;
	p->frag_start = (__u16)cur_off(c);
	return XS_PARSE_OK;
}

#endif /* XS_LIB_IPV4_H */

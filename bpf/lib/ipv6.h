/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv6 header and a bounded walk over its extension headers. */
#ifndef XS_LIB_IPV6_H
#define XS_LIB_IPV6_H

#include <linux/in.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>

#include "pkt.h"

/* More extension headers than this is refused as malformed (fail closed). */
#define XS_IPV6_MAX_EXT 8

struct xs_ipv6_opt {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct xs_ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3 | M flag */
	__be32 id;
};

/*
 * Parse the IPv6 header at c->pos and walk hop-by-hop, routing, fragment,
 * destination-options and AH headers. p->l3_len must hold the bytes from
 * here to the end of the packet. On success p->proto is the upper-layer
 * protocol and c->pos points at it (unless p->frag == XS_FRAG_LATER).
 */
static __always_inline int ipv6_parse(struct xs_cursor *c, struct xs_pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 plen;
	__u8 next;

	if ((void *)(ip6 + 1) > c->end)
		return XS_PARSE_BAD;
	if (ip6->version != 6)
		return XS_PARSE_BAD;
	plen = bpf_ntohs(ip6->payload_len);
	/* payload_len 0 is a jumbogram (hop-by-hop option); else it must fit. */
	if (plen && plen + sizeof(*ip6) > p->l3_len)
		return XS_PARSE_BAD;
	p->family = 6;
	__builtin_memcpy(&p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(&p->daddr, &ip6->daddr, 16);
	next = ip6->nexthdr;
	c->pos = ip6 + 1;

#pragma unroll
	for (int i = 0; i < XS_IPV6_MAX_EXT; i++) {
		struct xs_ipv6_opt *opt = c->pos;
		struct xs_ipv6_frag *fh = c->pos;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if ((void *)(opt + 1) > c->end)
				return XS_PARSE_BAD;
			next = opt->nexthdr;
			c->pos += (opt->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH:
			if ((void *)(opt + 1) > c->end)
				return XS_PARSE_BAD;
			next = opt->nexthdr;
			c->pos += (opt->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if ((void *)(fh + 1) > c->end)
				return XS_PARSE_BAD;
			next = fh->nexthdr;
			p->frag_id = bpf_ntohl(fh->id);
			if (bpf_ntohs(fh->frag_off) & ~7)
				p->frag = XS_FRAG_LATER;
			else if (bpf_ntohs(fh->frag_off) & 1)
				p->frag = XS_FRAG_FIRST;
			c->pos = fh + 1;
			if (p->frag == XS_FRAG_LATER) {
				p->proto = next;
				return XS_PARSE_OK;
			}
			break;
		default:
			p->proto = next;
			return XS_PARSE_OK;
		}
	}
	/* Still an extension header after the bound: refuse. */
	switch (next) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
		return XS_PARSE_BAD;
	}
	p->proto = next;
	return XS_PARSE_OK;
}

#endif /* XS_LIB_IPV6_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv6 header and a bounded walk over its extension headers, inside the datagram. */
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

/* Does a header of `len` bytes at the cursor end inside the datagram? */
static __always_inline int ipv6_fits(const struct xs_cursor *c, const struct xs_pkt *p, __u32 len)
{
	return cur_off(c) + len <= p->dgram_end;
}

/*
 * Parse the IPv6 header at c->pos and walk hop-by-hop, routing, fragment,
 * destination-options and AH headers. `l3_len` is the number of bytes from
 * here to the end of the frame. On success p->proto is the upper-layer
 * protocol and c->pos points at it (unless p->frag == XS_FRAG_LATER). Every
 * extension header must lie whole inside the datagram (payload length): a
 * first fragment without the whole header chain is malformed (RFC 7112).
 * A jumbogram (payload length 0 and a hop-by-hop header) is refused.
 */
static __always_inline int ipv6_parse(struct xs_cursor *c, struct xs_pkt *p, __u32 l3_len)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 plen, len;
	__u8 next, frag_seen = 0;

	if ((void *)(ip6 + 1) > c->end)
		return XS_PARSE_BAD;
	if (ip6->version != 6)
		return XS_PARSE_BAD;
	plen = bpf_ntohs(ip6->payload_len);
	/* 0 with a hop-by-hop header announces a jumbogram: not supported */
	if ((!plen && ip6->nexthdr == IPPROTO_HOPOPTS) || plen + sizeof(*ip6) > l3_len)
		return XS_PARSE_BAD;
	p->family = 6;
	p->hop = ip6->hop_limit;
	__builtin_memcpy(&p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(&p->daddr, &ip6->daddr, 16);
	p->l3_off = (__u16)cur_off(c);
	p->dgram_end = p->l3_off + sizeof(*ip6) + plen;
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
		case IPPROTO_AH:
			if ((void *)(opt + 1) > c->end)
				return XS_PARSE_BAD;
			if (next == IPPROTO_AH)
				len = (opt->hdrlen + 2) * 4;
			else
				len = (opt->hdrlen + 1) * 8;
			if (!ipv6_fits(c, p, len))
				return XS_PARSE_BAD;
			next = opt->nexthdr;
			c->pos += len;
			break;
		case IPPROTO_FRAGMENT:
			/* a second fragment header would be reassembled twice: refuse */
			if (frag_seen || (void *)(fh + 1) > c->end || !ipv6_fits(c, p, sizeof(*fh)))
				return XS_PARSE_BAD;
			frag_seen = 1;
			next = fh->nexthdr;
			p->frag_proto = next;
			p->frag_id = bpf_ntohl(fh->id);
			len = bpf_ntohs(fh->frag_off);
			if (len & ~7) {
				p->frag = XS_FRAG_LATER;
				p->frag_off = (__u16)(len & ~7);
			} else if (len & 1) {
				p->frag = XS_FRAG_FIRST;
			}
			c->pos = fh + 1;
			p->frag_start = (__u16)cur_off(c);
			if (p->frag == XS_FRAG_LATER) {
				p->proto = next;
				return XS_PARSE_OK;
			}
			break;
		default:
			p->proto = next;
			if (p->frag == XS_FRAG_NONE)
				p->frag_start = (__u16)cur_off(c);
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
	if (p->frag == XS_FRAG_NONE)
		p->frag_start = (__u16)cur_off(c);
	return XS_PARSE_OK;
}

#endif /* XS_LIB_IPV6_H */

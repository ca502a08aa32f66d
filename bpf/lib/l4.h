/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP, UDP, ICMP and ICMPv6 headers, and the packet an ICMP error quotes.
 * Every read is bounded by the frame (for the verifier) AND by the IP
 * datagram (p->dgram_end): bytes past the datagram are not there.
 */
#ifndef XS_LIB_L4_H
#define XS_LIB_L4_H

#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "pkt.h"

/* First 8 bytes of an ICMP/ICMPv6 header. */
struct xs_icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 csum;
	__be16 id;
	__be16 seq;
};

#define XS_L4_TCP_LEN 20 /* ports, sequence numbers, data offset, flags */
#define XS_L4_UDP_LEN 8
#define XS_L4_ICMP_LEN 8

/* ICMP query messages (RFC 792, 950): 1 request, 2 reply, 0 neither. */
static __always_inline int icmp4_query_kind(__u8 type)
{
	switch (type) {
	case 8:	 /* echo */
	case 13: /* timestamp */
	case 15: /* information */
	case 17: /* address mask */
		return 1;
	case 0:
	case 14:
	case 16:
	case 18:
		return 2;
	}
	return 0;
}

static __always_inline int icmp6_query_kind(__u8 type)
{
	return type == 128 ? 1 : type == 129 ? 2 : 0;
}

static __always_inline int icmp_query_kind(__u8 proto, __u8 type)
{
	return proto == IPPROTO_ICMP ? icmp4_query_kind(type) : icmp6_query_kind(type);
}

/* The reply type of a query type (echo 8 -> 0, 13 -> 14, 128 -> 129, ...). */
static __always_inline __u8 icmp_reply_type(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMPV6)
		return type + 1;
	return type == 8 ? 0 : type + 1;
}

static __always_inline int icmp4_is_error(__u8 type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static __always_inline int icmp6_is_error(__u8 type)
{
	return type >= 1 && type <= 4;
}

static __always_inline int addr6_link_local(const __u64 *a)
{
	const __u8 *b = (const __u8 *)a;

	return b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
}

/*
 * ICMPv6 the kernel needs, exempt from policy only when it is what the
 * kernel accepts: neighbour discovery (RS 133, RA 134, NS 135, NA 136,
 * redirect 137) with hop limit 255 (RFC 4861 7.1.1, 6.1), MLD (130-132,
 * 143) with hop limit 1 from a link-local or the unspecified source (RFC
 * 3810 5.2.13, 7.4), code 0 and at least the message's minimum length.
 * Anything else of these types is decided by the policy.
 */
static __always_inline int icmp6_exempt(const struct xs_pkt *p, const struct xs_icmp_hdr *ih,
					__u32 len)
{
	if (ih->code)
		return 0;
	switch (ih->type) {
	case 133:
		return p->hop == 255 && len >= 8;
	case 134:
		return p->hop == 255 && len >= 16;
	case 135:
	case 136:
		return p->hop == 255 && len >= 24;
	case 137:
		return p->hop == 255 && len >= 40;
	case 130:
	case 131:
	case 132:
	case 143:
		return p->hop == 1 && len >= 8 &&
		       (addr6_link_local(p->saddr) || addr_unspecified(p->saddr));
	}
	return 0;
}

/* Set the flow ports of an ICMP message (see struct xs_pkt.sport). */
static __always_inline void icmp_ports(struct xs_pkt *p, const struct xs_icmp_hdr *ih)
{
	int kind = icmp_query_kind(p->proto, ih->type);

	if (kind == 1)
		p->sport = ih->id;
	else if (kind == 2)
		p->dport = ih->id;
	if (kind)
		p->icmp_id = ih->id;
}

/*
 * Parse the L4 header at c->pos for p->proto. Protocols without ports get
 * port 0. The header the decision reads must lie whole in the datagram; a
 * first fragment too short for it is malformed (RFC 1858, RFC 3128).
 * Precondition: p->frag != XS_FRAG_LATER.
 */
static __always_inline int l4_parse(struct xs_cursor *c, struct xs_pkt *p)
{
	struct tcphdr *th = c->pos;
	struct udphdr *uh = c->pos;
	struct xs_icmp_hdr *ih = c->pos;
	__u32 avail;

	p->l4_off = (__u16)cur_off(c);
	avail = p->dgram_end - p->l4_off; /* the parsers keep l4_off <= dgram_end */
	switch (p->proto) {
	case IPPROTO_TCP:
		if ((void *)(th + 1) > c->end || avail < XS_L4_TCP_LEN || th->doff < 5)
			return XS_PARSE_BAD;
		/* the whole header, options included, unless this is a fragment */
		if (p->frag == XS_FRAG_NONE && th->doff * 4 > avail)
			return XS_PARSE_BAD;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		p->l4_len = XS_L4_TCP_LEN;
		return XS_PARSE_OK;
	case IPPROTO_UDP:
		if ((void *)(uh + 1) > c->end || avail < XS_L4_UDP_LEN)
			return XS_PARSE_BAD;
		p->sport = uh->source;
		p->dport = uh->dest;
		p->l4_len = XS_L4_UDP_LEN;
		return XS_PARSE_OK;
	case IPPROTO_ICMP:
		if (p->family != 4)
			return XS_PARSE_OK;
		if ((void *)(ih + 1) > c->end || avail < XS_L4_ICMP_LEN)
			return XS_PARSE_BAD;
		p->icmp_type = ih->type;
		p->icmp_code = ih->code;
		icmp_ports(p, ih);
		p->icmp_err = icmp4_is_error(ih->type);
		p->l4_len = XS_L4_ICMP_LEN;
		return XS_PARSE_OK;
	case IPPROTO_ICMPV6:
		if (p->family != 6)
			return XS_PARSE_OK;
		if ((void *)(ih + 1) > c->end || avail < XS_L4_ICMP_LEN)
			return XS_PARSE_BAD;
		p->icmp_type = ih->type;
		p->icmp_code = ih->code;
		icmp_ports(p, ih);
		p->icmp_err = icmp6_is_error(ih->type);
		p->exempt = p->frag == XS_FRAG_NONE && icmp6_exempt(p, ih, avail);
		p->l4_len = XS_L4_ICMP_LEN;
		if (ih->type == 136) { /* neighbour advertisement: its target */
			struct xs_icmp_hdr *t = ih + 1;

			if ((void *)t + 16 > c->end || avail < XS_L4_ICMP_LEN + 16)
				return XS_PARSE_BAD;
			__builtin_memcpy(p->na_target, t, 16);
		}
		return XS_PARSE_OK;
	}
	return XS_PARSE_OK;
}

/*
 * The flow key of the packet an ICMP error quotes (its addresses, protocol
 * and ports or ICMP identifier, as struct xs_pkt would hold them), read
 * inside the outer datagram only. Precondition: p->icmp_err; `data` is the
 * frame's start. Returns XS_PARSE_OK, or XS_PARSE_BAD when too little is
 * quoted to say which flow it belongs to.
 */
static __always_inline int icmp_inner_parse(struct xs_cursor *c, void *data, const struct xs_pkt *p,
					    struct xs_tuple *in)
{
	/* Bounded well below 64 KiB so the verifier can track the offsets. */
	__u32 off = (p->l4_off & 0xfff) + sizeof(struct xs_icmp_hdr), need;
	void *pos = data + off;
	__be16 *ports;

	if (p->l4_off > 0xfff)
		return XS_PARSE_BAD;

	__builtin_memset(in, 0, sizeof(*in));
	in->family = p->family;
	if (p->family == 4) {
		struct iphdr *ip = pos;

		if ((void *)(ip + 1) > c->end || ip->ihl < 5)
			return XS_PARSE_BAD;
		in->proto = ip->protocol;
		__builtin_memcpy(in->addr_a, &ip->saddr, 4);
		__builtin_memcpy(in->addr_b, &ip->daddr, 4);
		need = ip->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = pos;

		if ((void *)(ip6 + 1) > c->end)
			return XS_PARSE_BAD;
		in->proto = ip6->nexthdr;
		__builtin_memcpy(in->addr_a, &ip6->saddr, 16);
		__builtin_memcpy(in->addr_b, &ip6->daddr, 16);
		need = sizeof(*ip6);
	}
	pos += need;
	/* the quoted ports (or ICMP header) too must be inside the datagram */
	if (off + need + XS_L4_ICMP_LEN > p->dgram_end)
		return XS_PARSE_BAD;
	ports = pos;
	if ((void *)(ports + 2) > c->end)
		return XS_PARSE_BAD;
	switch (in->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		in->port_a = ports[0];
		in->port_b = ports[1];
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct xs_icmp_hdr *ih = pos;
		int kind;

		if ((void *)(ih + 1) > c->end || (in->proto == IPPROTO_ICMP) != (in->family == 4))
			break;
		kind = icmp_query_kind(in->proto, ih->type);
		if (kind == 1)
			in->port_a = ih->id;
		else if (kind == 2)
			in->port_b = ih->id;
		break;
	}
	}
	return XS_PARSE_OK;
}

#endif /* XS_LIB_L4_H */

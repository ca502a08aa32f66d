/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* TCP, UDP, ICMP and ICMPv6 headers, and the packet an ICMP error quotes. */
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

static __always_inline int icmp4_is_query(__u8 type)
{
	switch (type) {
	case 0:	 /* echo reply */
	case 8:	 /* echo */
	case 13: /* timestamp */
	case 14:
	case 15: /* information */
	case 16:
	case 17: /* address mask */
	case 18:
		return 1;
	}
	return 0;
}

static __always_inline int icmp4_is_error(__u8 type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static __always_inline int icmp6_is_error(__u8 type)
{
	return type >= 1 && type <= 4;
}

/* MLD (130-132, 143), router/neighbour discovery and redirect (133-137):
 * IPv6 needs them to work, so they are not subject to policy. */
static __always_inline int icmp6_is_exempt(__u8 type)
{
	return (type >= 130 && type <= 137) || type == 143;
}

/*
 * Parse the L4 header at c->pos for p->proto. Protocols without ports get
 * port 0. Precondition: p->frag != XS_FRAG_LATER.
 */
static __always_inline int l4_parse(struct xs_cursor *c, struct xs_pkt *p, void *data)
{
	struct tcphdr *th = c->pos;
	struct udphdr *uh = c->pos;
	struct xs_icmp_hdr *ih = c->pos;

	p->l4_off = (__u32)(c->pos - data);
	switch (p->proto) {
	case IPPROTO_TCP:
		if ((void *)(th + 1) > c->end || th->doff < 5)
			return XS_PARSE_BAD;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return XS_PARSE_OK;
	case IPPROTO_UDP:
		if ((void *)(uh + 1) > c->end)
			return XS_PARSE_BAD;
		p->sport = uh->source;
		p->dport = uh->dest;
		return XS_PARSE_OK;
	case IPPROTO_ICMP:
		if (p->family != 4)
			return XS_PARSE_OK;
		if ((void *)(ih + 1) > c->end)
			return XS_PARSE_BAD;
		p->icmp_type = ih->type;
		p->icmp_code = ih->code;
		if (icmp4_is_query(ih->type)) {
			p->sport = ih->id;
			p->dport = ih->id;
		}
		p->icmp_err = icmp4_is_error(ih->type);
		return XS_PARSE_OK;
	case IPPROTO_ICMPV6:
		if (p->family != 6)
			return XS_PARSE_OK;
		if ((void *)(ih + 1) > c->end)
			return XS_PARSE_BAD;
		p->icmp_type = ih->type;
		p->icmp_code = ih->code;
		if (ih->type == 128 || ih->type == 129) {
			p->sport = ih->id;
			p->dport = ih->id;
		}
		p->icmp_err = icmp6_is_error(ih->type);
		p->exempt = icmp6_is_exempt(ih->type);
		return XS_PARSE_OK;
	}
	return XS_PARSE_OK;
}

/*
 * The packet quoted by an ICMP error: its addresses, protocol and ports
 * (or ICMP identifier). Precondition: p->icmp_err; `data` is the packet start.
 * Returns XS_PARSE_OK, or XS_PARSE_BAD when too little is quoted to say
 * which flow it belongs to.
 */
static __always_inline int icmp_inner_parse(struct xs_cursor *c, void *data, const struct xs_pkt *p,
					    struct xs_pkt *in)
{
	/* Bounded well below 64 KiB so the verifier can track the offsets. */
	__u32 off = p->l4_off & 0xfff;
	void *pos = data + off + sizeof(struct xs_icmp_hdr);
	__be16 *ports;

	if (p->l4_off > 0xfff)
		return XS_PARSE_BAD;

	in->family = p->family;
	if (p->family == 4) {
		struct iphdr *ip = pos;

		if ((void *)(ip + 1) > c->end || ip->ihl < 5)
			return XS_PARSE_BAD;
		in->proto = ip->protocol;
		__builtin_memcpy(&in->saddr, &ip->saddr, 4);
		__builtin_memcpy(&in->daddr, &ip->daddr, 4);
		pos += ip->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = pos;

		if ((void *)(ip6 + 1) > c->end)
			return XS_PARSE_BAD;
		in->proto = ip6->nexthdr;
		__builtin_memcpy(&in->saddr, &ip6->saddr, 16);
		__builtin_memcpy(&in->daddr, &ip6->daddr, 16);
		pos = ip6 + 1;
	}
	ports = pos;
	if ((void *)(ports + 2) > c->end)
		return XS_PARSE_BAD;
	switch (in->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		in->sport = ports[0];
		in->dport = ports[1];
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct xs_icmp_hdr *ih = pos;

		if ((void *)(ih + 1) > c->end)
			return XS_PARSE_BAD;
		in->icmp_type = ih->type;
		if ((in->proto == IPPROTO_ICMP && icmp4_is_query(ih->type)) ||
		    (in->proto == IPPROTO_ICMPV6 && (ih->type == 128 || ih->type == 129))) {
			in->sport = ih->id;
			in->dport = ih->id;
		}
		break;
	}
	}
	return XS_PARSE_OK;
}

#endif /* XS_LIB_L4_H */

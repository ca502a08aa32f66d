// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Packet builder for the BPF_PROG_RUN tests (see pkt.h). */
#include "pkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

int pkt_addr(const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, text, out) == 1)
		return 6;
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* Echo request/reply (v4 8/0, v6 128/129) and other query types carry an id. */
static bool icmp_is_error(const struct pkt_spec *s)
{
	if (s->proto == IPPROTO_ICMP)
		return s->icmp_type == 3 || s->icmp_type == 4 || s->icmp_type == 5 ||
		       s->icmp_type == 11 || s->icmp_type == 12;
	return s->icmp_type < 128;
}

/* The L4 header and payload at `p`; returns the bytes written. */
static size_t put_l4(uint8_t *p, const struct pkt_spec *s)
{
	size_t n = 0;

	if (s->raw) {
		memcpy(p, s->raw, s->raw_len);
		return s->raw_len;
	}
	if (s->frag && s->frag_off) {
		/* a non-first fragment: data only */
	} else if (s->proto == IPPROTO_TCP) {
		memset(p, 0, 20);
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put32(p + 4, 1000);
		put32(p + 8, (s->tcp_flags & TH_ACK) ? 2000 : 0);
		p[12] = 5 << 4;
		p[13] = s->tcp_flags;
		put16(p + 14, 65535);
		n = 20;
	} else if (s->proto == IPPROTO_UDP) {
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put16(p + 4, (uint16_t)(8 + s->payload));
		put16(p + 6, 0);
		n = 8;
	} else if (is_icmp(s->proto)) {
		p[0] = s->icmp_type;
		p[1] = s->icmp_code;
		put16(p + 2, 0);
		if (icmp_is_error(s)) {
			put32(p + 4, 0);
		} else {
			put16(p + 4, s->icmp_id);
			put16(p + 6, 1);
		}
		n = 8;
		if (s->quote_len) {
			memcpy(p + n, s->quote, s->quote_len);
			n += s->quote_len;
		}
	}
	for (size_t i = 0; i < s->payload; i++)
		p[n + i] = (uint8_t)(0xa0 + i);
	n += s->payload;
	if (is_icmp(s->proto) && !(s->frag && s->frag_off))
		put16(p + 2, csum(p, n));
	return n;
}

static size_t l4_estimate(const struct pkt_spec *s)
{
	return 20 + s->quote_len + s->payload + s->raw_len;
}

static uint8_t ttl_of(const struct pkt_spec *s)
{
	return s->ttl ? s->ttl : 64;
}

static size_t put_ip4(uint8_t *p, const struct pkt_spec *s, const uint8_t *sa, const uint8_t *da)
{
	size_t hl = 20 + s->ip4_optlen, n;
	uint16_t off = 0;

	memset(p, 0, hl);
	p[0] = 0x40 | (uint8_t)(hl / 4);
	put16(p + 4, (uint16_t)s->frag_id);
	if (s->frag) {
		off = s->frag_off & 0x1fff;
		if (s->more_frags)
			off |= 0x2000;
	}
	put16(p + 6, off);
	p[8] = ttl_of(s);
	p[9] = s->proto;
	memcpy(p + 12, sa, 4);
	memcpy(p + 16, da, 4);
	/* options: NOPs, then an end-of-list */
	for (size_t i = 20; i < hl; i++)
		p[i] = i + 1 == hl ? 0 : 1;
	n = put_l4(p + hl, s);
	put16(p + 2, (uint16_t)(hl + n - (s->cut < n ? s->cut : n)));
	put16(p + 10, csum(p, hl));
	return hl + n;
}

/* One 8-byte extension header of type `type` at *off, chained from *nh. */
static void put_ext(uint8_t *p, size_t *off, uint8_t **nh, uint8_t type)
{
	**nh = type;
	memset(p + *off, 0, 8);
	*nh = p + *off;
	if (type == IPPROTO_ROUTING) {
		p[*off + 2] = 0; /* type 0, segments left 0 */
	} else {
		p[*off + 2] = 1; /* PadN, 4 bytes */
		p[*off + 3] = 4;
	}
	*off += 8;
}

static size_t put_ip6(uint8_t *p, const struct pkt_spec *s, const uint8_t *sa, const uint8_t *da,
		      size_t *l4off)
{
	size_t off = 40, n;
	uint8_t *nh = p + 6;

	memset(p, 0, 40);
	p[0] = 0x60;
	p[7] = ttl_of(s);
	memcpy(p + 8, sa, 16);
	memcpy(p + 24, da, 16);
	for (int i = 0; i < s->next && !s->ext_after_frag; i++)
		put_ext(p, &off, &nh, s->ext[i]);
	if (s->frag) {
		uint16_t fo = (uint16_t)(s->frag_off << 3) | (s->more_frags ? 1 : 0);

		*nh = IPPROTO_FRAGMENT;
		memset(p + off, 0, 8);
		nh = p + off;
		put16(p + off + 2, fo);
		put32(p + off + 4, s->frag_id);
		off += 8;
	}
	if (s->ext_after_frag && s->next && s->frag && s->frag_off) {
		/* a later fragment: the headers after the fragment header went in
		 * the first one, the fragment header names the first of them */
		*nh = s->ext[0];
		*l4off = off;
		n = put_l4(p + off, s);
		put16(p + 4, (uint16_t)(off - 40 + n));
		return off + n;
	}
	for (int i = 0; i < s->next && s->ext_after_frag; i++)
		put_ext(p, &off, &nh, s->ext[i]);
	*nh = s->proto;
	*l4off = off;
	n = put_l4(p + off, s);
	put16(p + 4, (uint16_t)(off - 40 + n - (s->cut < off - 40 + n ? s->cut : off - 40 + n)));
	return off + n;
}

int pkt_build(struct pkt *p, const struct pkt_spec *s)
{
	uint8_t sa[16], da[16];
	int fs = pkt_addr(s->src, sa), fd = pkt_addr(s->dst, da);
	size_t off = 12, l4off = 0;

	memset(p, 0, sizeof(*p));
	if (!fs || fs != fd || s->nvlan > PKT_MAX_VLAN || s->next > PKT_MAX_EXT ||
	    s->ip4_optlen > 40 || s->ip4_optlen % 4)
		return -EINVAL;
	if (14 + 4 * PKT_MAX_VLAN + 40 + 8 * (PKT_MAX_EXT + 1) + l4_estimate(s) > PKT_MAX)
		return -EINVAL;
	p->family = fs;
	/* dst 02:00:00:00:00:02, src 02:00:00:00:00:01 */
	p->data[0] = 0x02, p->data[5] = 0x02;
	p->data[6] = 0x02, p->data[11] = 0x01;
	for (int i = 0; i < s->nvlan; i++) {
		put16(p->data + off, s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100);
		put16(p->data + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	put16(p->data + off, fs == 4 ? 0x0800 : 0x86dd);
	off += 2;
	p->l3 = off;
	if (fs == 4) {
		p->l4 = off + 20 + s->ip4_optlen;
		p->len = off + put_ip4(p->data + off, s, sa, da);
	} else {
		p->len = off + put_ip6(p->data + off, s, sa, da, &l4off);
		p->l4 = off + l4off;
	}
	return 0;
}

int pkt_build_arp(struct pkt *p, const char *sender, const char *target, uint16_t op)
{
	uint8_t sa[16], ta[16];

	memset(p, 0, sizeof(*p));
	if (pkt_addr(sender, sa) != 4 || pkt_addr(target, ta) != 4)
		return -EINVAL;
	p->data[0] = 0xff, p->data[1] = 0xff, p->data[2] = 0xff; /* broadcast */
	p->data[3] = 0xff, p->data[4] = 0xff, p->data[5] = 0xff;
	p->data[6] = 0x02, p->data[11] = 0x01;
	put16(p->data + 12, 0x0806);
	p->l3 = 14;
	put16(p->data + 14, 1);	     /* Ethernet */
	put16(p->data + 16, 0x0800); /* IPv4 */
	p->data[18] = 6;
	p->data[19] = 4;
	put16(p->data + 20, op);
	p->data[22] = 0x02, p->data[27] = 0x01; /* sender MAC */
	memcpy(p->data + 28, sa, 4);
	memcpy(p->data + 38, ta, 4);
	p->len = 42;
	p->l4 = 42;
	p->family = 4;
	return 0;
}

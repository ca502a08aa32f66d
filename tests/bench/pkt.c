// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Crafted frames for the benchmark. */
#include "pkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <string.h>

/* One's complement sum of `len` bytes in network order, added to `sum`. */
static uint32_t sum16(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *b = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

/* The folded, inverted sum as a header field (network order). */
static uint16_t fold16(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static uint16_t csum16(const void *data, size_t len)
{
	return fold16(sum16(0, data, len));
}

/* Write the L4 header at `l4`; returns its length. */
static size_t put_l4(uint8_t *l4, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t flags,
		     size_t payload)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *t = (struct tcphdr *)l4;

		t->source = htons(sport);
		t->dest = htons(dport);
		t->seq = htonl(1000);
		t->ack_seq = htonl(flags & PKT_ACK ? 2000 : 0);
		t->doff = sizeof(*t) / 4;
		l4[13] = flags;
		t->window = htons(65535);
		return sizeof(*t);
	}
	struct udphdr *u = (struct udphdr *)l4;

	u->source = htons(sport);
	u->dest = htons(dport);
	u->len = htons((uint16_t)(sizeof(*u) + payload));
	return sizeof(*u);
}

int pkt_build(struct pkt *p, const char *src, const char *dst, uint8_t proto, uint16_t sport,
	      uint16_t dport, uint8_t flags)
{
	return pkt_build_payload(p, src, dst, proto, sport, dport, flags, PKT_PAYLOAD);
}

int pkt_build_payload(struct pkt *p, const char *src, const char *dst, uint8_t proto,
		      uint16_t sport, uint16_t dport, uint8_t flags, size_t payload)
{
	static const uint8_t smac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t dmac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 2 };
	struct ethhdr *eth = (struct ethhdr *)p->data;
	size_t l4len;

	memset(p, 0, sizeof(*p));
	/* the largest headers: Ethernet, IPv6, TCP */
	if (payload > PKT_MAX - sizeof(*eth) - sizeof(struct ipv6hdr) - sizeof(struct tcphdr))
		return -EINVAL;
	memcpy(eth->h_source, smac, ETH_ALEN);
	memcpy(eth->h_dest, dmac, ETH_ALEN);
	if (strchr(src, ':')) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		ip6->version = 6;
		ip6->nexthdr = proto;
		ip6->hop_limit = 64;
		if (inet_pton(AF_INET6, src, &ip6->saddr) != 1 ||
		    inet_pton(AF_INET6, dst, &ip6->daddr) != 1)
			return -EINVAL;
		l4len = put_l4((uint8_t *)(ip6 + 1), proto, sport, dport, flags, payload);
		ip6->payload_len = htons((uint16_t)(l4len + payload));
		p->len = sizeof(*eth) + sizeof(*ip6) + l4len + payload;
		return 0;
	}
	struct iphdr *ip = (struct iphdr *)(eth + 1);

	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->id = htons(1);
	ip->frag_off = htons(0x4000); /* DF */
	if (inet_pton(AF_INET, src, &ip->saddr) != 1 || inet_pton(AF_INET, dst, &ip->daddr) != 1)
		return -EINVAL;
	l4len = put_l4((uint8_t *)(ip + 1), proto, sport, dport, flags, payload);
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + l4len + payload));
	ip->check = csum16(ip, sizeof(*ip));
	p->len = sizeof(*eth) + sizeof(*ip) + l4len + payload;
	return 0;
}

void pkt_l4_csum(struct pkt *p)
{
	const struct ethhdr *eth = (const struct ethhdr *)p->data;
	uint8_t *l4, proto;
	uint32_t sum;
	size_t len;

	if (eth->h_proto == htons(ETH_P_IPV6)) {
		const struct ipv6hdr *ip6 = (const struct ipv6hdr *)(eth + 1);

		l4 = (uint8_t *)(ip6 + 1);
		proto = ip6->nexthdr;
		sum = sum16(0, &ip6->saddr, 32);
	} else {
		const struct iphdr *ip = (const struct iphdr *)(eth + 1);

		l4 = (uint8_t *)(ip + 1);
		proto = ip->protocol;
		sum = sum16(0, &ip->saddr, 8);
	}
	len = p->len - (size_t)(l4 - p->data);
	sum += proto + (uint32_t)len; /* the rest of the pseudo-header */
	if (proto == IPPROTO_TCP) {
		struct tcphdr *t = (struct tcphdr *)l4;

		t->check = 0;
		t->check = fold16(sum16(sum, l4, len));
	} else {
		struct udphdr *u = (struct udphdr *)l4;

		u->check = 0;
		u->check = fold16(sum16(sum, l4, len));
		if (!u->check)
			u->check = 0xffff; /* 0 would mean "no checksum" */
	}
}

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

static uint16_t csum16(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Write the L4 header at `l4`; returns its length. */
static size_t put_l4(uint8_t *l4, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t flags)
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
	u->len = htons(sizeof(*u) + PKT_PAYLOAD);
	return sizeof(*u);
}

int pkt_build(struct pkt *p, const char *src, const char *dst, uint8_t proto, uint16_t sport,
	      uint16_t dport, uint8_t flags)
{
	static const uint8_t smac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t dmac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 2 };
	struct ethhdr *eth = (struct ethhdr *)p->data;
	size_t l4len;

	memset(p, 0, sizeof(*p));
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
		l4len = put_l4((uint8_t *)(ip6 + 1), proto, sport, dport, flags);
		ip6->payload_len = htons((uint16_t)(l4len + PKT_PAYLOAD));
		p->len = sizeof(*eth) + sizeof(*ip6) + l4len + PKT_PAYLOAD;
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
	l4len = put_l4((uint8_t *)(ip + 1), proto, sport, dport, flags);
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + l4len + PKT_PAYLOAD));
	ip->check = csum16(ip, sizeof(*ip));
	p->len = sizeof(*eth) + sizeof(*ip) + l4len + PKT_PAYLOAD;
	return 0;
}

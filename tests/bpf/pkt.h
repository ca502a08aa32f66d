/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet builder for the BPF_PROG_RUN tests: Ethernet, 0-3 VLAN tags, IPv4
 * (with options) or IPv6 (with extension headers), TCP/UDP/ICMP/ICMPv6,
 * fragments, and ICMP errors quoting another packet.
 */
#ifndef XS_TEST_PKT_H
#define XS_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 2048

/* TCP flags (byte 13 of the header). */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#define PKT_MAX_VLAN 3
#define PKT_MAX_EXT 12

struct pkt_spec {
	const char *src, *dst; /* textual addresses; the family follows from them */
	uint8_t proto;	       /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 or another number */
	uint16_t sport, dport; /* host order (TCP/UDP) */
	uint8_t tcp_flags;     /* TH_*; 0 builds a bare ACK-less segment */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id; /* echo identifier (host order) */
	size_t payload;	  /* bytes of payload after the L4 header (pattern) */
	/* VLAN tags, outermost first: TPID 0x8100 or 0x88a8 */
	int nvlan;
	uint16_t vlan_tpid[PKT_MAX_VLAN];
	/* IPv4: option bytes (multiple of 4, <= 40), filled with NOP + EOL */
	uint8_t ip4_optlen;
	/* IPv6: extension headers before the L4 (or fragment) header, in order:
	 * IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS */
	int next;
	uint8_t ext[PKT_MAX_EXT];
	/* Fragment: IPv4 flags/offset, or an IPv6 fragment header after ext[] */
	bool frag;
	bool more_frags;
	uint16_t frag_off; /* in 8-byte units; non-zero: no L4 header is built */
	uint32_t frag_id;
	/* IPv6: ext[] come after the fragment header (in the fragmentable part) */
	bool ext_after_frag;
	/* ICMP error: quote these bytes (an IP packet) after the ICMP header;
	 * other ICMP types: the message body after the first 8 bytes */
	const uint8_t *quote;
	size_t quote_len;
	/* The L4 part (or a later fragment's data) is exactly these bytes */
	const uint8_t *raw;
	size_t raw_len;
	/* IPv4 TTL / IPv6 hop limit (0: 64) */
	uint8_t ttl;
	/* The last `cut` bytes of the datagram are left out of its IP length:
	 * they stay in the frame as padding past the datagram */
	size_t cut;
};

struct pkt {
	uint8_t data[PKT_MAX];
	size_t len;
	size_t l3; /* offset of the IP header */
	size_t l4; /* offset of the L4 header (or fragment data) */
	int family;
};

/* Shorthands for the common specs (modify the result for the rest). */
#define PKT_TCP(s_, sp_, d_, dp_, fl_)      \
	((struct pkt_spec){ .src = (s_),    \
			    .dst = (d_),    \
			    .proto = 6,     \
			    .sport = (sp_), \
			    .dport = (dp_), \
			    .tcp_flags = (fl_) })
#define PKT_UDP(s_, sp_, d_, dp_) \
	((struct pkt_spec){ .src = (s_), .dst = (d_), .proto = 17, .sport = (sp_), .dport = (dp_) })
#define PKT_ICMP(s_, d_, type_, id_) \
	((struct pkt_spec){          \
		.src = (s_), .dst = (d_), .proto = 1, .icmp_type = (type_), .icmp_id = (id_) })
#define PKT_ICMP6(s_, d_, type_, id_) \
	((struct pkt_spec){           \
		.src = (s_), .dst = (d_), .proto = 58, .icmp_type = (type_), .icmp_id = (id_) })

/* Build `s` into `p`. Returns 0, or -EINVAL (bad address, too long). */
int pkt_build(struct pkt *p, const struct pkt_spec *s);

/* An Ethernet ARP packet (op 1 request, 2 reply) from sender to target IPv4. */
int pkt_build_arp(struct pkt *p, const char *sender, const char *target, uint16_t op);

/* Parse a textual v4/v6 address into 16 bytes (v4 in the first four);
 * returns the family (4 or 6) or 0. */
int pkt_addr(const char *text, uint8_t out[16]);

#endif /* XS_TEST_PKT_H */

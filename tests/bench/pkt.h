/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Crafted frames for the benchmark: Ethernet + IPv4/IPv6 + TCP/UDP. */
#ifndef XS_BENCH_PKT_H
#define XS_BENCH_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 128
#define PKT_PAYLOAD 10 /* an IPv4 TCP frame is then 64 bytes (without FCS) */

/* TCP flags (byte 13 of the header). */
#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_ACK 0x10

/* The frame starts 2 bytes into a 4-byte aligned block, so its IP header
 * (at 14) is aligned, as a NIC's buffers place it (NET_IP_ALIGN). */
struct pkt {
	uint8_t align[2];
	uint8_t data[PKT_MAX];
	size_t len;
} __attribute__((aligned(4)));

/*
 * Build a frame from `src`:sport to `dst`:dport (textual addresses, both of
 * one family). proto is IPPROTO_TCP (with `flags`) or IPPROTO_UDP. Returns
 * 0, or -EINVAL on a bad address.
 */
int pkt_build(struct pkt *p, const char *src, const char *dst, uint8_t proto, uint16_t sport,
	      uint16_t dport, uint8_t flags);

/* The same with `payload` zero bytes after the L4 header (pkt_build():
 * PKT_PAYLOAD); -EINVAL when the frame would exceed PKT_MAX. */
int pkt_build_payload(struct pkt *p, const char *src, const char *dst, uint8_t proto,
		      uint16_t sport, uint16_t dport, uint8_t flags, size_t payload);

/* Fill the TCP or UDP checksum of a frame pkt_build*() made (the bench's
 * BPF_PROG_RUN frames go without; a live receiver's stack checks it). */
void pkt_l4_csum(struct pkt *p);

#endif /* XS_BENCH_PKT_H */

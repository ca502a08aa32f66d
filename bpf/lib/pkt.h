/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the parser extracts from a packet, and the cursor it walks with. */
#ifndef XS_LIB_PKT_H
#define XS_LIB_PKT_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/types.h>

#include "xdpseg.h"

/*
 * `pos` walks the frame; `end` is the frame's end (what the verifier knows);
 * `data` is the frame's start, so that offsets can be compared with the IP
 * datagram's end (struct xs_pkt.dgram_end): bytes of the frame past the
 * datagram are padding the receiver never sees, and nothing reads them.
 */
struct xs_cursor {
	void *pos;
	void *end;
	void *data;
};

/* Offset of the cursor from the frame's start. */
static __always_inline __u32 cur_off(const struct xs_cursor *c)
{
	return (__u32)(c->pos - c->data);
}

enum xs_frag_kind {
	XS_FRAG_NONE = 0,
	XS_FRAG_FIRST = 1, /* offset 0, more fragments follow: carries the ports */
	XS_FRAG_LATER = 2, /* offset > 0: no L4 header */
};

/* Parser results beyond "parsed": */
#define XS_PARSE_OK 0
#define XS_PARSE_NOT_IP 1 /* not IPv4/IPv6: not subject to policy */
#define XS_PARSE_BAD (-1) /* truncated or malformed: drop */

struct xs_pkt {
	__u64 saddr[2]; /* network order bytes; IPv4 in the first 4 */
	__u64 daddr[2];
	/* TCP/UDP ports. ICMP queries: the identifier on the requester's side
	 * (sport of a request, dport of a reply) and 0 on the other, so a flow
	 * key tells who asked; other ICMP: 0. */
	__be16 sport;
	__be16 dport;
	__be16 icmp_id;	 /* ICMP query identifier (events) */
	__be16 l2_proto; /* ethertype after the VLAN tags */
	__u8 family;	 /* 4 or 6 */
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 frag;	 /* enum xs_frag_kind */
	__u8 icmp_err;	 /* ICMP error: quotes another packet */
	__u8 exempt;	 /* ICMPv6 ND/MLD the kernel needs: not subject to policy */
	__u8 hop;	 /* IPv4 TTL, IPv6 hop limit */
	__u8 frag_proto; /* what the fragments carry: IPv4 protocol, IPv6 fragment header's next */
	__u8 l4_len;	 /* bytes of the L4 header the decision reads */
	__u8 inner_ok;	 /* an ICMP error quoting a flow: `inner` holds it */
	__u8 arp_bad;	 /* ARP, but not Ethernet/IPv4, or truncated */
	__u8 pad;
	__u16 frag_off; /* a later fragment's offset in bytes, in the fragmentable part */
	__u32 frag_id;
	__u16 l3_off;	  /* offset of the L3 header from the frame's start */
	__u16 frag_start; /* offset of the fragmentable part (the L4 header; IPv6: after the
			   * fragment header and any extension header before it) */
	__u16 l4_off;	  /* offset of the L4 header */
	__u16 pad2;
	__u32 dgram_end; /* offset of the end of the IP datagram: nothing past it is read */
	union {
		struct xs_tuple inner; /* an ICMP error's quoted flow, directional */
		__u64 na_target[2];    /* a neighbour advertisement's target address */
	};
};

/* TCP flag bits (byte 13 of the header). */
#define XS_TCP_FIN 0x01
#define XS_TCP_SYN 0x02
#define XS_TCP_RST 0x04
#define XS_TCP_ACK 0x10

/* Is a 16-byte address (IPv4 in the first 4 bytes) all zero? */
static __always_inline int addr_unspecified(const __u64 *a)
{
	return !(a[0] | a[1]);
}

#endif /* XS_LIB_PKT_H */

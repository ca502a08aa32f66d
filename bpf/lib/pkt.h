/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the parser extracts from a packet, and the cursor it walks with. */
#ifndef XS_LIB_PKT_H
#define XS_LIB_PKT_H

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/types.h>

struct xs_cursor {
	void *pos;
	void *end;
};

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
	__be16 sport; /* ICMP queries: the identifier; other ICMP: 0 */
	__be16 dport;
	__u8 family; /* 4 or 6 */
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 frag;     /* enum xs_frag_kind */
	__u8 icmp_err; /* ICMP error: the inner tuple is in `inner` */
	__u8 exempt;   /* ICMPv6 ND/MLD: not subject to policy */
	__u32 frag_id;
	__u32 l3_len; /* bytes from the L3 header to the end of the packet */
	__u32 l4_off; /* offset of the L4 header from the packet start */
};

/* TCP flag bits (byte 13 of the header). */
#define XS_TCP_FIN 0x01
#define XS_TCP_SYN 0x02
#define XS_TCP_RST 0x04
#define XS_TCP_ACK 0x10

#endif /* XS_LIB_PKT_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One packet context for XDP and TC, so the library is hook-agnostic. */
#ifndef XS_LIB_CTX_H
#define XS_LIB_CTX_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "xdpseg.h"

enum xs_action_ret {
	XS_PASS = 0,
	XS_DROP = 1,
};

/*
 * What the decision knows of a packet besides its headers (struct xs_pkt):
 * the hook, the interface, the length and how parsing ended; and back from
 * the decision, whether an event waits. No frame pointers: the decision
 * never reads the packet, the parser did (and the entry point copies an
 * event's bytes).
 */
struct xs_ctx {
	__u32 len; /* whole packet length, for counters and events */
	__u32 ifindex;
	__u8 hook;   /* enum xs_hook */
	__u8 parsed; /* XS_PARSE_OK, XS_PARSE_NOT_IP, or XS_PARSED_BAD */
	__u8 ev;     /* set by the decision: an event waits in xs_evrec (ev_flush()) */
	__u8 pad;
};

#define XS_PARSED_BAD 2 /* XS_PARSE_BAD, as stored in xs_ctx.parsed */

#endif /* XS_LIB_CTX_H */

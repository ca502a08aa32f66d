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

struct xs_ctx {
	void *data;
	void *data_end;
	__u32 len; /* whole packet length, for counters and events */
	__u32 ifindex;
	__u8 hook; /* enum xs_hook */
};

#endif /* XS_LIB_CTX_H */

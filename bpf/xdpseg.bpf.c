// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Placeholder: the datapath issue fills this in. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdpseg.h"

SEC("xdp")
int xs_xdp_ingress(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

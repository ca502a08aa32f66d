/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters: per verdict and reason, and per rule of a policy set. */
#ifndef XS_LIB_STATS_H
#define XS_LIB_STATS_H

#include "maps.h"

static __always_inline void stats_count(__u32 verdict, __u32 reason, __u32 len)
{
	__u32 idx = XS_STAT_IDX(verdict, reason);
	struct xs_counter *c = bpf_map_lookup_elem(&xs_stats, &idx);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline void stats_misc(__u32 idx)
{
	struct xs_counter *c = bpf_map_lookup_elem(&xs_stats, &idx);

	if (c)
		c->packets++;
}

/* Count a packet against a rule (or default) of policy set `set`; a new
 * flow also counts as a flow. */
static __always_inline void stats_rule(__u32 set, __u32 rule_id, __u32 len, int new_flow)
{
	struct xs_rule_counter *c;

	if (!rule_id)
		return;
	c = xs_set_lookup(set, xs_rstats_0, xs_rstats_1, &rule_id);
	if (!c)
		return;
	c->flows += new_flow ? 1 : 0;
	c->packets++;
	c->bytes += len;
}

#endif /* XS_LIB_STATS_H */

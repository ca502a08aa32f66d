/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters: per verdict and reason, and per rule of a policy set. */
#ifndef XS_LIB_STATS_H
#define XS_LIB_STATS_H

#include "maps.h"

/* The outcome of the packet's event is counted later: by ev_send() in the
 * returned slot, or by ev_flush() once the ring buffer took it or not. */
#define XS_EV_LATER XS_EV__OUTCOMES

/*
 * Count a packet of `verdict` and `reason`, and what became of its event
 * (`outcome`: an enum xs_ev_outcome, or XS_EV_LATER). Returns the packet's
 * slot (NULL if the lookup fails), where ev_send() counts the outcome.
 */
static __always_inline struct xs_counter *stats_count(__u32 verdict, __u32 reason, __u32 len,
						      __u32 outcome)
{
	__u32 idx = XS_STAT_IDX(verdict, reason);
	struct xs_counter *c = bpf_map_lookup_elem(&xs_stats, &idx);

	if (c) {
		c->packets++;
		c->bytes += len;
		if (outcome < XS_EV__OUTCOMES)
			c->ev[outcome]++;
	}
	return c;
}

/* The outcome of a packet's event sent after its decision (ev_flush()),
 * counted in the packet's slot `idx`. */
static __always_inline void stats_event(__u32 idx, __u32 outcome)
{
	struct xs_counter *c = bpf_map_lookup_elem(&xs_stats, &idx);

	if (c && outcome < XS_EV__OUTCOMES)
		c->ev[outcome]++;
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

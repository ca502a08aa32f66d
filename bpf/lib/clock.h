/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's clocks, both advanced by xs_config.clock_offset_ns (0 in
 * production; tests move time forward with it): the coarse monotonic clock
 * for timeouts and the commit-confirm deadline, and CLOCK_TAI (wall-clock
 * time, as grants carry their deadlines) read only when a grant is in play.
 */
#ifndef XS_LIB_CLOCK_H
#define XS_LIB_CLOCK_H

#include <bpf/bpf_helpers.h>

#include "maps.h"

static __always_inline __u64 clock_mono(const struct xs_config *cfg)
{
	return bpf_ktime_get_coarse_ns() + (__u64)cfg->clock_offset_ns;
}

static __always_inline __u64 clock_tai(const struct xs_config *cfg)
{
	return bpf_ktime_get_tai_ns() + (__u64)cfg->clock_offset_ns;
}

/* CLOCK_TAI in seconds, as grants count. */
static __always_inline __u64 clock_tai_s(const struct xs_config *cfg)
{
	return clock_tai(cfg) / XS_NS_PER_SEC;
}

/* The same where the configuration is not at hand (0 if it cannot be read:
 * a grant then counts as in force for this one packet, as it was before). */
static __always_inline __u64 clock_tai_s_lookup(void)
{
	__u32 zero = 0;
	const struct xs_config *cfg = bpf_map_lookup_elem(&xs_config, &zero);

	return cfg ? clock_tai_s(cfg) : 0;
}

#endif /* XS_LIB_CLOCK_H */

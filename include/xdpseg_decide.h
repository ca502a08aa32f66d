/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy decision of a new flow, from what the lookups found: shared
 * by the datapath (bpf/lib/policy.h) and userspace (`verify`, `diff`,
 * `apply --dry-run`, user/policy/lookup.c), so both decide alike by
 * construction. The lookups themselves differ (BPF maps, sorted tables);
 * what they find, and this function, do not.
 *
 * Precedence, highest first (policies/README.md, "Precedence"):
 *   1. quarantine: a flow to or from a quarantined segment passes only by a
 *      forensic entry (reason forensic), else drops (reason quarantine);
 *      monitor mode does not soften it;
 *   2. the rule-table entry, every other precedence resolved by the
 *      compiler: a failsafe port, a grant in force (until its deadline;
 *      then what it covered), deny, allow;
 *   3. the defaults: the source segment's `out`, the destination's `in`;
 *   4. monitor mode: a drop touching a segment in monitor mode passes as
 *      an audit.
 */
#ifndef XDPSEG_DECIDE_H
#define XDPSEG_DECIDE_H

#include "xdpseg.h"

#ifdef __bpf__
#define XS_DECIDE_INLINE static __always_inline
#else
#define XS_DECIDE_INLINE static inline
#endif

/* A decision about a flow, as the datapath reports it (events, conntrack)
 * and userspace computes it (verify, the reference evaluator). */
struct xs_decision {
	__u32 rule_id;	/* the deciding rule or default's origin (0: none) */
	__u32 deadline; /* accepted by a grant: its end, CLOCK_TAI seconds (0: none) */
	__u16 src_seg;
	__u16 dst_seg;
	__u8 verdict; /* enum xs_verdict */
	__u8 reason;  /* enum xs_reason */
	__u8 pad[2];
};

/* Does entry `r` need the clock (CLOCK_TAI seconds) to decide? Then the
 * caller reads it; otherwise any `now` will do. */
XS_DECIDE_INLINE int xs_decide_needs_clock(const struct xs_rule_val *r)
{
	return r && (r->flags & XS_RULEF_GRANT);
}

/*
 * Decide a new flow into `d` (all but its segments) from `r`, the rule
 * table's longest match for its key (NULL: none), and the infos of its
 * source and destination segments, at CLOCK_TAI second `now` (read when
 * xs_decide_needs_clock(r)).
 */
XS_DECIDE_INLINE void xs_decide_entry(const struct xs_rule_val *r, const struct xs_seg_info *si,
				      const struct xs_seg_info *di, __u64 now,
				      struct xs_decision *d)
{
	__u8 action = r ? r->action : XS_ACT_NONE;
	__u32 rule_id = r ? r->rule_id : 0;
	__u8 reason = XS_REASON_RULE;

	d->deadline = 0;
	if ((si->flags | di->flags) & XS_SEGF_QUARANTINE) {
		if (r && (r->flags & XS_RULEF_FORENSIC) && action == XS_ACT_ALLOW) {
			d->verdict = XS_VERDICT_ALLOW;
			d->reason = XS_REASON_FORENSIC;
			d->rule_id = rule_id;
		} else {
			d->verdict = XS_VERDICT_DROP;
			d->reason = XS_REASON_QUARANTINE;
			d->rule_id = (di->flags & XS_SEGF_QUARANTINE) ? di->quar_rule_id
								      : si->quar_rule_id;
		}
		return;
	}
	if (r && (r->flags & XS_RULEF_GRANT)) {
		if (now < r->expires) {
			d->verdict = XS_VERDICT_ALLOW;
			d->reason = XS_REASON_GRANT;
			d->rule_id = rule_id;
			d->deadline = (r->flags & XS_RULEF_DRAIN) ? 0 : r->expires;
			return;
		}
		/* over: the entry it covered, or none */
		action = r->fb_action;
		rule_id = r->fb_rule_id;
	} else if (r && (r->flags & XS_RULEF_FAILSAFE)) {
		reason = XS_REASON_FAILSAFE;
	}

	if (action == XS_ACT_DENY) {
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_DENY_RULE;
		d->rule_id = rule_id;
	} else if (action == XS_ACT_ALLOW) {
		d->verdict = XS_VERDICT_ALLOW;
		d->reason = reason;
		d->rule_id = rule_id;
		return;
	} else if (si->out_action == XS_ACT_DENY) {
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_DEFAULT_OUT;
		d->rule_id = si->out_rule_id;
	} else if (di->in_action == XS_ACT_DENY) {
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_DEFAULT_IN;
		d->rule_id = di->in_rule_id;
	} else {
		d->verdict = XS_VERDICT_ALLOW;
		d->reason = XS_REASON_DEFAULT;
		d->rule_id = di->in_rule_id;
		return;
	}
	if (si->monitor || di->monitor)
		d->verdict = XS_VERDICT_AUDIT;
}

#endif /* XDPSEG_DECIDE_H */

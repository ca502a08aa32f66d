// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Each observation judged under a policy's compiled tables: its segments by
 * the tries, the decision of a new flow like it by xs_tables_decide(), the
 * datapath's and `verify`'s code. The store does not keep which port a flow
 * crossed, so no end is classified by a bound port (as `verify` without
 * --src-iface / --dst-iface).
 */
#include <string.h>

#include "learn.h"

/* The id of the segment named `name` in c, XS_SEG_WORLD when none. */
static uint16_t segment_named(const struct xs_compiled *c, const char *name)
{
	for (size_t id = 1; id < c->nseginfo; id++) {
		const char *n = xs_compiled_segment_name(c, (uint16_t)id);

		if (n && !strcmp(n, name))
			return (uint16_t)id;
	}
	return XS_SEG_WORLD;
}

void learn_judge(struct learn_set *s, const struct xs_tables *t, uint64_t now_tai)
{
	for (size_t i = 0; i < s->n; i++) {
		struct learn_flow *f = &s->v[i];
		struct xs_flow q;

		memset(&f->lk, 0, sizeof(f->lk));
		if (f->r.aggregate) {
			f->judged = false;
			f->src_seg = segment_named(t->c, f->r.src_segment);
			f->dst_seg = segment_named(t->c, f->r.dst_segment);
			continue;
		}
		memset(&q, 0, sizeof(q));
		q.family = f->r.family;
		q.proto = f->r.proto;
		q.dport = f->r.port < 0 ? 0 : (uint16_t)f->r.port;
		memcpy(q.saddr, f->r.src, sizeof(q.saddr));
		memcpy(q.daddr, f->r.dst, sizeof(q.daddr));
		q.now = now_tai;
		xs_tables_decide(t, &q, now_tai, &f->lk);
		f->judged = true;
		f->src_seg = f->lk.d.src_seg;
		f->dst_seg = f->lk.d.dst_seg;
	}
}

bool learn_passes(uint8_t verdict)
{
	return verdict == XS_VERDICT_ALLOW || verdict == XS_VERDICT_AUDIT;
}

bool learn_by_rule(const struct xs_compiled *c, const struct xs_lookup *lk)
{
	(void)c;
	return lk->d.verdict == XS_VERDICT_ALLOW && lk->d.reason == XS_REASON_RULE;
}

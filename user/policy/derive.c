// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Derived segments (an overlay's address or prefix, `PARENT[PREFIX]`): the
 * segment whose rules they take, the segments an overlay naming a segment
 * reaches (it and the derived segments inside it), and which segments are
 * quarantined. Shared by the compiler and the artefact's checks.
 */
#include <string.h>

#include "internal.h"

static const struct xs_segment *seg_at(const struct xs_policy *p, uint16_t seg)
{
	return seg && seg <= p->nsegments ? &p->segments[seg - 1] : NULL;
}

uint16_t xs_seg_root(const struct xs_policy *p, uint16_t seg)
{
	const struct xs_segment *s;

	/* parents have lower ids (the artefact's reader checks it): this ends */
	while ((s = seg_at(p, seg)) && s->derived)
		seg = s->parent;
	return seg;
}

bool xs_seg_within(const struct xs_policy *p, uint16_t seg, uint16_t x)
{
	const struct xs_segment *s;

	for (;;) {
		if (seg == x)
			return true;
		s = seg_at(p, seg);
		if (!s || !s->derived)
			return false;
		seg = s->parent;
	}
}

bool xs_seg_within_any(const struct xs_policy *p, uint16_t seg, const uint16_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (xs_seg_within(p, seg, v[i]))
			return true;
	return false;
}

void xs_quarantine_state(const struct xs_policy *p, uint32_t *quar, bool *strict)
{
	memset(quar, 0, (p->nsegments + 1) * sizeof(*quar));
	memset(strict, 0, (p->nsegments + 1) * sizeof(*strict));
	for (size_t i = 0; i < p->noverlay_rules; i++) {
		const struct xs_overlay_rule *o = &p->overlay_rules[i];

		if (o->kind != XS_ORIGIN_QUARANTINE)
			continue;
		for (size_t s = 0; s <= p->nsegments; s++) {
			if (!xs_seg_within_any(p, (uint16_t)s, o->dst, o->ndst))
				continue;
			if (!quar[s] || o->rule_id < quar[s])
				quar[s] = o->rule_id;
			if (o->flags & XS_OVR_STRICT)
				strict[s] = true;
		}
	}
}

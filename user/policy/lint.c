// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Warnings of a policy without errors: shadowed and repeated allows, unused names. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- Warnings: shadowed and repeated rules ----------------------------------- */

static bool ep_covers(uint32_t outer, uint32_t inner)
{
	return outer == XS_ENDPOINT_ANY || outer == inner;
}

/* Does rule `o` match every flow of spec `ps` (NULL: every protocol)? */
static bool rule_covers_spec(const struct xs_rule *o, const struct xs_portspec *ps)
{
	if (!o->nports)
		return true;
	if (!ps)
		return false;
	for (size_t i = 0; i < o->nports; i++) {
		const struct xs_portspec *q = &o->ports[i];

		if ((q->proto == 0 || q->proto == ps->proto) && q->lo <= ps->lo && ps->hi <= q->hi)
			return true;
	}
	return false;
}

/*
 * First rule among `action` rules (other than r, and before r when
 * `earlier`) that alone covers each piece of r; NULL if some piece is not
 * covered by a single such rule.
 */
static const struct xs_rule *covering(const struct xs_policy *p, const struct xs_rule *r,
				      uint8_t action, bool earlier)
{
	const struct xs_rule *first = NULL;
	size_t npieces = r->nports ? r->nports : 1;

	for (size_t k = 0; k < npieces; k++) {
		const struct xs_portspec *ps = r->nports ? &r->ports[k] : NULL;
		const struct xs_rule *found = NULL;

		for (size_t i = 0; i < p->nrules && !found; i++) {
			const struct xs_rule *o = &p->rules[i];

			if (o == r || !o->id || o->action != action || (earlier && o->id >= r->id))
				continue;
			if (ep_covers(o->src, r->src) && ep_covers(o->dst, r->dst) &&
			    rule_covers_spec(o, ps))
				found = o;
		}
		if (!found)
			return NULL;
		if (!first || found->id < first->id)
			first = found;
	}
	return first;
}

void xs_lint(struct parser *P)
{
	const struct xs_policy *p = P->pol;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *r = &p->rules[i], *o;

		if (!r->id || r->action != XS_ACT_ALLOW)
			continue;
		o = covering(p, r, XS_ACT_DENY, false);
		if (o) {
			warn_at(P, r->loc, "this allow is fully shadowed by the deny at %s:%d",
				o->loc.file, o->loc.line);
			continue;
		}
		o = covering(p, r, XS_ACT_ALLOW, true);
		if (o)
			warn_at(P, r->loc, "this allow repeats the allow at %s:%d", o->loc.file,
				o->loc.line);
	}
	for (size_t i = 0; i < P->nsvcs; i++)
		/* a file of rules warns of its unused services; a service library does not */
		if (!P->svcs[i].used && P->svcs[i].top && !P->svcs[i].broken && P->nrules)
			warn_at(P, P->svcs[i].loc, "service '%s' is never used", P->svcs[i].name);
	for (size_t i = 0; i < p->nsegments; i++)
		if (!P->segx[i].used)
			warn_at(P, p->segments[i].loc, "segment '%s' is never used",
				p->segments[i].name);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The second pass: resolve names (declarations may follow their use),
 * flatten services, check segments, rules, defaults and modes, and number
 * the origins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool add_flat(struct svc *s, const struct xs_portspec *ps)
{
	struct xs_portspec *d = xs_push(&s->flat, &s->nflat, &s->capflat, sizeof(*d));

	if (!d)
		return false;
	*d = *ps;
	return true;
}

/* Flatten a service into port specs; reports unknown names and cycles. */
static void resolve_svc(struct parser *P, struct svc *s, struct svc **path, int depth)
{
	if (s->state == 2)
		return;
	s->state = 1;
	path[depth] = s;
	for (size_t i = 0; i < s->nitems && !s->broken; i++) {
		struct item *it = &s->items[i];
		struct svc *t;

		if (it->is_spec) {
			if (!add_flat(s, &it->spec))
				P->nomem = true;
			continue;
		}
		if (!it->name)
			continue;
		t = xs_find_svc(P, it->name);
		if (!t) {
			xs_unknown_svc(P, it);
			s->broken = true;
			break;
		}
		t->used = true;
		if (t->state == 1) {
			char chain[1024] = "";
			size_t o = 0;
			int j = 0;

			while (path[j] != t)
				j++;
			for (; j <= depth && o < sizeof(chain); j++)
				o += snprintf(chain + o, sizeof(chain) - o, "%s -> ",
					      path[j]->name);
			if (o < sizeof(chain))
				snprintf(chain + o, sizeof(chain) - o, "%s", t->name);
			err_at(P, it->loc, "service cycle: %s", chain);
			for (j = 0; j <= depth; j++)
				path[j]->broken = true;
			break;
		}
		resolve_svc(P, t, path, depth + 1);
		if (t->broken) {
			s->broken = true;
			break;
		}
		for (size_t k = 0; k < t->nflat; k++)
			if (!add_flat(s, &t->flat[k]))
				P->nomem = true;
	}
	s->state = 2;
}

void xs_check_services(struct parser *P)
{
	struct svc **path = calloc(P->nsvcs + 1, sizeof(*path));

	if (!path) {
		P->nomem = true;
		return;
	}
	for (size_t i = 0; i < P->nsvcs; i++) {
		struct svc *s = &P->svcs[i];

		if (!strcmp(s->name, "any") || !strcmp(s->name, "world")) {
			err_at(P, s->loc, "'%s' is reserved and cannot name a service", s->name);
			s->broken = true;
		} else if (xs_is_proto_name(s->name, (int)strlen(s->name))) {
			err_at(P, s->loc, "'%s' is a protocol and cannot name a service", s->name);
			s->broken = true;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(P->svcs[j].name, s->name)) {
				err_at(P, s->loc,
				       "duplicate service '%s' (first declared at %s:%d)", s->name,
				       P->svcs[j].loc.file, P->svcs[j].loc.line);
				break;
			}
		}
	}
	for (size_t i = 0; i < P->nsvcs; i++)
		resolve_svc(P, &P->svcs[i], path, 0);
	free(path);
}

struct pfx_ref {
	const struct xs_prefix *p;
	const struct xs_segment *seg;
};

static int pfx_ref_cmp(const void *a, const void *b)
{
	const struct pfx_ref *x = a, *y = b;
	int c;

	if (x->p->family != y->p->family)
		return x->p->family - y->p->family;
	if (x->p->len != y->p->len)
		return x->p->len - y->p->len;
	c = memcmp(x->p->addr, y->p->addr, 16);
	if (c)
		return c;
	/* equal prefixes: the earlier declaration first */
	if (x->seg->id != y->seg->id)
		return x->seg->id - y->seg->id;
	return x->p->loc.line - y->p->loc.line;
}

void xs_check_segments(struct parser *P)
{
	struct xs_policy *pol = P->pol;
	struct pfx_ref *refs;
	size_t n = 0, total = 0;

	for (size_t i = 0; i < pol->nsegments; i++) {
		struct xs_segment *s = &pol->segments[i];

		if (!strcmp(s->name, "any") || !strcmp(s->name, "world"))
			err_at(P, s->loc, "'%s' is reserved and cannot name a segment", s->name);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(pol->segments[j].name, s->name)) {
				err_at(P, s->loc,
				       "duplicate segment '%s' (first declared at %s:%d)", s->name,
				       pol->segments[j].loc.file, pol->segments[j].loc.line);
				break;
			}
		}
		if (i + 1 == XS_MAX_SEGMENTS)
			err_at(P, s->loc, "too many segments: at most %d segments per policy",
			       XS_MAX_SEGMENTS - 1);
		total += s->nprefixes;
	}
	refs = calloc(total + 1, sizeof(*refs));
	if (!refs) {
		P->nomem = true;
		return;
	}
	for (size_t i = 0; i < pol->nsegments; i++)
		for (size_t j = 0; j < pol->segments[i].nprefixes; j++)
			refs[n++] = (struct pfx_ref){ &pol->segments[i].prefixes[j],
						      &pol->segments[i] };
	qsort(refs, n, sizeof(*refs), pfx_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		char buf[80];

		if (refs[i].p->family != refs[i - 1].p->family ||
		    refs[i].p->len != refs[i - 1].p->len ||
		    memcmp(refs[i].p->addr, refs[i - 1].p->addr, 16))
			continue;
		xs_format_prefix(buf, sizeof(buf), refs[i].p);
		err_at(P, refs[i].p->loc, "prefix %s is already in segment '%s' (%s:%d)", buf,
		       refs[i - 1].seg->name, refs[i - 1].p->loc.file, refs[i - 1].p->loc.line);
	}
	free(refs);
}

void xs_check_rules(struct parser *P)
{
	struct xs_policy *pol = P->pol;

	pol->rules = calloc(P->nrules + 1, sizeof(*pol->rules));
	if (!pol->rules) {
		P->nomem = true;
		return;
	}
	for (size_t i = 0; i < P->nrules; i++) {
		struct rrule *rr = &P->rules[i];
		struct xs_rule *r = &pol->rules[pol->nrules];
		long src, dst;
		bool bad = rr->broken;
		size_t cap = 0;

		if (i + 1 == XS_MAX_RULES)
			err_at(P, rr->loc, "too many rules: rule ids end at %d", XS_MAX_RULES - 1);
		src = xs_resolve_seg(P, rr->src, rr->src_loc, true);
		dst = xs_resolve_seg(P, rr->dst, rr->dst_loc, true);
		if (src == -2 || dst == -2)
			bad = true;
		else if (src == XS_SEG_WORLD && dst == XS_SEG_WORLD)
			err_at(P, rr->src_loc,
			       "a rule from 'world' to 'world' is not allowed: xdpseg governs "
			       "flows that touch a segment");
		for (size_t j = 0; j < rr->nitems; j++) {
			struct item *it = &rr->items[j];
			struct svc *s;

			if (it->is_spec) {
				struct xs_portspec *d =
					xs_push(&r->ports, &r->nports, &cap, sizeof(*d));

				if (!d) {
					P->nomem = true;
					return;
				}
				*d = it->spec;
				continue;
			}
			if (!it->name)
				continue;
			s = xs_find_svc(P, it->name);
			if (!s) {
				xs_unknown_svc(P, it);
				bad = true;
				continue;
			}
			s->used = true;
			if (s->broken) {
				bad = true;
				continue;
			}
			for (size_t k = 0; k < s->nflat; k++) {
				struct xs_portspec *d =
					xs_push(&r->ports, &r->nports, &cap, sizeof(*d));

				if (!d) {
					P->nomem = true;
					return;
				}
				*d = s->flat[k];
			}
		}
		r->id = (uint32_t)(i + 1);
		r->action = rr->action;
		r->src = (uint32_t)src;
		r->dst = (uint32_t)dst;
		r->text = rr->text;
		rr->text = NULL;
		r->loc = rr->loc;
		pol->nrules++;
		if (bad || (rr->has_ports && !r->nports))
			r->id = 0; /* dropped: errors already reported */
	}
}

void xs_check_defaults(struct parser *P)
{
	struct xs_policy *pol = P->pol;

	for (size_t i = 0; i < P->ndefs; i++) {
		struct rdef *d = &P->defs[i];
		long id = xs_resolve_seg(P, d->seg, d->seg_loc, false);
		struct segx *x;
		struct xs_segment *s;

		if (id < 0)
			continue;
		s = &pol->segments[id - 1];
		x = &P->segx[id - 1];
		if ((d->in && x->in_set) || (d->out && x->out_set)) {
			struct xs_src_loc f = d->in && x->in_set ? x->in_loc : x->out_loc;

			err_at(P, d->loc, "duplicate default for segment '%s' (first at %s:%d)",
			       s->name, f.file, f.line);
			continue;
		}
		if (d->in) {
			x->in_set = true;
			x->in_loc = d->loc;
			s->in_action = d->in;
		}
		if (d->out) {
			x->out_set = true;
			x->out_loc = d->loc;
			s->out_action = d->out;
		}
		d->id = 1; /* marks a valid statement; the real id is given later */
	}
	for (size_t i = 0; i < P->nmodes; i++) {
		struct rmode *m = &P->modes[i];
		long id = xs_resolve_seg(P, m->seg, m->seg_loc, false);
		struct segx *x;

		if (id < 0)
			continue;
		x = &P->segx[id - 1];
		if (x->mode_set) {
			err_at(P, m->loc, "duplicate mode for segment '%s' (first at %s:%d)",
			       pol->segments[id - 1].name, x->mode_loc.file, x->mode_loc.line);
			continue;
		}
		x->mode_set = true;
		x->mode_loc = m->loc;
		pol->segments[id - 1].monitor = m->monitor;
	}
}

/* ---- Origins ------------------------------------------------------------------ */

static struct xs_origin_entry *add_origin(struct parser *P, size_t *cap)
{
	struct xs_policy *pol = P->pol;
	struct xs_origin_entry *o = xs_push(&pol->origins, &pol->norigins, cap, sizeof(*o));

	if (!o) {
		P->nomem = true;
		return NULL;
	}
	o->rule_id = (uint32_t)pol->norigins;
	return o;
}

void xs_build_origins(struct parser *P)
{
	struct xs_policy *pol = P->pol;
	struct xs_origin_entry *o;
	size_t cap = 0;

	for (size_t i = 0; i < pol->nrules; i++) {
		struct xs_rule *r = &pol->rules[i];

		if (!(o = add_origin(P, &cap)))
			return;
		o->kind = XS_ORIGIN_RULE;
		o->file = r->loc.file;
		o->line = r->loc.line;
		o->text = strdup(r->text ? r->text : "");
	}
	for (size_t i = 0; i < P->ndefs; i++) {
		struct rdef *d = &P->defs[i];
		long id = xs_find_seg(P, d->seg);

		if (!d->id || id <= 0)
			continue;
		if (!(o = add_origin(P, &cap)))
			return;
		o->kind = XS_ORIGIN_DEFAULT;
		o->file = d->loc.file;
		o->line = d->loc.line;
		o->text = strdup(d->text ? d->text : "");
		if (d->in)
			pol->segments[id - 1].in_rule_id = o->rule_id;
		if (d->out)
			pol->segments[id - 1].out_rule_id = o->rule_id;
	}
	for (size_t i = 0; i < pol->nsegments; i++) {
		struct xs_segment *s = &pol->segments[i];

		if (s->in_rule_id && s->out_rule_id)
			continue;
		if (!(o = add_origin(P, &cap)))
			return;
		o->kind = XS_ORIGIN_IMPLICIT;
		o->file = s->loc.file;
		o->line = s->loc.line;
		if (asprintf(&o->text, "segment %s (implicit default in %s out %s)", s->name,
			     s->in_action == XS_ACT_DENY ? "deny" : "allow",
			     s->out_action == XS_ACT_DENY ? "deny" : "allow") < 0)
			o->text = NULL;
		if (!s->in_rule_id)
			s->in_rule_id = o->rule_id;
		if (!s->out_rule_id)
			s->out_rule_id = o->rule_id;
	}
	if (!(o = add_origin(P, &cap)))
		return;
	o->kind = XS_ORIGIN_IMPLICIT;
	o->file = P->top;
	o->line = 0;
	o->text = strdup("world (implicit default in allow out allow)");
	pol->world_in_rule_id = pol->world_out_rule_id = o->rule_id;
	if (pol->norigins >= XS_MAX_RULES)
		xs_diag_add(P->diags, XS_SEV_ERROR, P->top, 0, 0, NULL,
			    "too many rules and defaults: %zu rule ids needed, the limit is %d",
			    pol->norigins, XS_MAX_RULES - 1);
}

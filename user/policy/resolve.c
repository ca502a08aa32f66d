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

/*
 * Append v[0..n) to the specs *dst (count *ndst, capacity *cap) of a service
 * or rule; false after reporting the limit on specs in a policy (at `loc`,
 * naming `what`) or running out of memory.
 */
static bool add_specs(struct parser *P, struct xs_portspec **dst, size_t *ndst, size_t *cap,
		      const struct xs_portspec *v, size_t n, struct xs_src_loc loc,
		      const char *what)
{
	if (n > XS_MAX_FLAT_SPECS - P->nflat_specs) {
		err_at(P, loc,
		       "%s expands to too many port specs (at most %d in a policy): do services "
		       "name each other over and over?",
		       what, XS_MAX_FLAT_SPECS);
		return false;
	}
	P->nflat_specs += n;
	for (size_t i = 0; i < n; i++) {
		struct xs_portspec *d = xs_push(dst, ndst, cap, sizeof(*d));

		if (!d) {
			P->nomem = true;
			return false;
		}
		*d = v[i];
	}
	return true;
}

static bool add_flat(struct parser *P, struct svc *s, const struct xs_portspec *v, size_t n,
		     struct xs_src_loc loc)
{
	char what[96];

	snprintf(what, sizeof(what), "service '%.64s'", s->name);
	return add_specs(P, &s->flat, &s->nflat, &s->capflat, v, n, loc, what);
}

static void report_cycle(struct parser *P, struct svc **stack, int depth, const struct svc *t,
			 const struct item *it)
{
	char chain[1024] = "";
	size_t o = 0;
	int j = 0;

	while (stack[j] != t)
		j++;
	for (; j <= depth && o < sizeof(chain); j++)
		o += snprintf(chain + o, sizeof(chain) - o, "%s -> ", stack[j]->name);
	if (o < sizeof(chain))
		snprintf(chain + o, sizeof(chain) - o, "%s", t->name);
	err_at(P, it->loc, "service cycle: %s", chain);
	for (j = 0; j <= depth; j++)
		stack[j]->broken = true;
}

/*
 * Flatten a service into port specs, depth first without recursion (a chain
 * of services is as long as the input): stack[0..depth] are the services
 * being resolved, next[k] the item stack[k] is at. A service comes back to
 * the item that named an unresolved service once that one is done.
 */
static void resolve_svc(struct parser *P, struct svc *root, struct svc **stack, size_t *next)
{
	int depth = 0;

	if (root->state == 2)
		return;
	root->state = 1;
	stack[0] = root;
	next[0] = 0;
	while (depth >= 0) {
		struct svc *s = stack[depth], *t;
		struct item *it;

		if (s->broken || next[depth] == s->nitems) {
			s->state = 2;
			depth--;
			continue;
		}
		it = &s->items[next[depth]];
		if (it->is_spec || !it->name) {
			if (it->is_spec && !add_flat(P, s, &it->spec, 1, it->loc))
				s->broken = true;
			next[depth]++;
			continue;
		}
		t = xs_find_svc(P, it->name);
		if (!t) {
			xs_unknown_svc(P, it);
			s->broken = true;
			continue;
		}
		t->used = true;
		if (t->state == 1) {
			report_cycle(P, stack, depth, t, it);
			continue;
		}
		if (t->state == 0) {
			t->state = 1;
			stack[++depth] = t;
			next[depth] = 0;
			continue;
		}
		if (t->broken || !add_flat(P, s, t->flat, t->nflat, it->loc))
			s->broken = true;
		next[depth]++;
	}
}

void xs_check_services(struct parser *P)
{
	struct svc **stack = calloc(P->nsvcs + 1, sizeof(*stack));
	size_t *next = calloc(P->nsvcs + 1, sizeof(*next));

	if (!stack || !next) {
		P->nomem = true;
		goto out;
	}
	for (size_t i = 0; i < P->nsvcs; i++) {
		struct svc *s = &P->svcs[i];
		long first = xs_map_get(&P->svc_map, s->name);

		if (!strcmp(s->name, "any") || !strcmp(s->name, "world")) {
			err_at(P, s->loc, "'%s' is reserved and cannot name a service", s->name);
			s->broken = true;
		} else if (xs_is_proto_name(s->name, (int)strlen(s->name))) {
			err_at(P, s->loc, "'%s' is a protocol and cannot name a service", s->name);
			s->broken = true;
		}
		if (first >= 0 && (size_t)first != i)
			err_at(P, s->loc, "duplicate service '%s' (first declared at %s:%d)",
			       s->name, P->svcs[first].loc.file, P->svcs[first].loc.line);
	}
	for (size_t i = 0; i < P->nsvcs && !P->nomem; i++)
		resolve_svc(P, &P->svcs[i], stack, next);
out:
	free(stack);
	free(next);
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
	if (x->p->loc.line != y->p->loc.line)
		return x->p->loc.line - y->p->loc.line;
	return x->p->loc.col - y->p->loc.col;
}

void xs_add_linklocal(struct parser *P)
{
	static const struct xs_prefix ll[] = {
		{ .family = 4, .len = 16, .addr = { 169, 254 } },
		{ .family = 6, .len = 10, .addr = { 0xfe, 0x80 } },
	};
	struct xs_segment *s = xs_new_segment(P);

	if (!s || !(s->name = strdup(XS_LINKLOCAL)) || !(s->prefixes = malloc(sizeof(ll)))) {
		P->nomem = true;
		return;
	}
	memcpy(s->prefixes, ll, sizeof(ll));
	s->nprefixes = 2;
	s->builtin = true;
	s->loc = (struct xs_src_loc){ .file = P->top };
	for (size_t i = 0; i < s->nprefixes; i++)
		s->prefixes[i].loc = s->loc;
	P->pol->linklocal_seg = s->id;
}

/* A name a declared segment cannot have; reports it. */
static bool reserved_segment(struct parser *P, const struct xs_segment *s)
{
	if (!strcmp(s->name, "any") || !strcmp(s->name, "world")) {
		err_at(P, s->loc, "'%s' is reserved and cannot name a segment", s->name);
		return true;
	}
	if (!strcmp(s->name, XS_LINKLOCAL)) {
		err_at(P, s->loc,
		       "'%s' is reserved: it names the built-in segment of fe80::/10 and "
		       "169.254.0.0/16 (rules, defaults and modes may use it)",
		       s->name);
		return true;
	}
	return false;
}

static bool same_prefix(const struct xs_prefix *a, const struct xs_prefix *b)
{
	return a->family == b->family && a->len == b->len && !memcmp(a->addr, b->addr, 16);
}

/* Equal prefixes refs[from..to) (the earlier declaration first): the ones
 * after the first are errors; against the built-in segment, all of them. */
static void same_prefixes(struct parser *P, const struct pfx_ref *refs, size_t from, size_t to)
{
	const struct pfx_ref *first = &refs[from];
	char buf[80];

	xs_format_prefix(buf, sizeof(buf), first->p);
	if (refs[to - 1].seg->builtin) {
		for (size_t i = from; i + 1 < to; i++)
			err_at(P, refs[i].p->loc,
			       "prefix %s is the built-in segment '%s': " XS_HINT
			       "declare a longer prefix inside it, or write rules for '%s'",
			       buf, XS_LINKLOCAL, XS_LINKLOCAL);
		return;
	}
	for (size_t i = from + 1; i < to; i++)
		err_at(P, refs[i].p->loc, "prefix %s is already in segment '%s' (%s:%d)", buf,
		       first->seg->name, first->p->loc.file, first->p->loc.line);
}

void xs_check_segments(struct parser *P)
{
	struct xs_policy *pol = P->pol;
	struct pfx_ref *refs;
	size_t n = 0, total = 0, declared = 0;

	for (size_t i = 0; i < pol->nsegments; i++) {
		struct xs_segment *s = &pol->segments[i];
		long first;

		total += s->nprefixes;
		if (s->builtin)
			continue;
		if (++declared == XS_MAX_SEGMENTS - 1)
			err_at(P, s->loc,
			       "too many segments: at most %d segments per policy (%d with the "
			       "built-in '%s')",
			       XS_MAX_SEGMENTS - 2, XS_MAX_SEGMENTS - 1, XS_LINKLOCAL);
		if (reserved_segment(P, s))
			continue;
		first = xs_map_get(&P->seg_map, s->name);
		if (first >= 0 && (size_t)first != i)
			err_at(P, s->loc, "duplicate segment '%s' (first declared at %s:%d)",
			       s->name, pol->segments[first].loc.file,
			       pol->segments[first].loc.line);
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
	if (n)
		qsort(refs, n, sizeof(*refs), pfx_ref_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && same_prefix(refs[j].p, refs[i].p))
			j++;
		if (j - i > 1)
			same_prefixes(P, refs, i, j);
		i = j;
	}
	free(refs);
}

/* ---- Nesting: `segment NAME PREFIX... inside SEGMENT, ...` ------------------------- */

/* The `inside` entries of every segment, resolved: entry k of segment i is
 * at ids[base[i] + k] (0: in error), found when one of its prefixes is in it. */
struct inside_check {
	struct parser *P;
	size_t *base;
	uint16_t *ids;
	bool *found;
};

/* A segment named after `inside`: a declared segment, not itself, not twice;
 * its id, or 0 after an error. */
static uint16_t inside_id(struct parser *P, size_t i, size_t k)
{
	const struct segx *x = &P->segx[i];
	const struct rend *e = &x->inside[k];
	bool used;
	long id;

	if (!strcmp(e->name, "world") || !strcmp(e->name, "any")) {
		err_at(P, e->loc, "'%s' has no prefixes: a segment cannot be inside it", e->name);
		return 0;
	}
	/* a container named here is not "used" by it: no rule names it */
	id = xs_find_seg(P, e->name);
	used = id > 0 && P->segx[id - 1].used;
	id = xs_resolve_seg(P, e->name, e->loc, false);
	if (id < 0)
		return 0;
	P->segx[id - 1].used = used;
	if ((size_t)id == i + 1) {
		err_at(P, e->loc, "segment '%s' cannot be inside itself", e->name);
		return 0;
	}
	for (size_t j = 0; j < k; j++) {
		if (!strcmp(x->inside[j].name, e->name)) {
			err_at(P, e->loc, "'%s' is listed twice", e->name);
			return 0;
		}
	}
	return (uint16_t)id;
}

static void inside_found(void *ctx, const struct xs_pfx_ref *r,
			 const struct xs_pfx_ref *const *outer, size_t n)
{
	struct inside_check *ic = ctx;
	size_t i = r->seg - 1, b = ic->base[i];

	for (size_t k = 0; k < ic->P->segx[i].ninside; k++)
		for (size_t j = 0; j < n && !ic->found[b + k]; j++)
			ic->found[b + k] =
				outer[j]->seg == ic->ids[b + k] && outer[j]->p->len < r->p->len;
}

void xs_check_inside(struct parser *P)
{
	const struct xs_policy *p = P->pol;
	struct inside_check ic = { .P = P };
	struct xs_pfx_index ix = { 0 };
	size_t total = 0;

	for (size_t i = 0; i < p->nsegments; i++)
		total += P->segx[i].ninside;
	if (!total)
		return;
	ic.base = calloc(p->nsegments, sizeof(*ic.base));
	ic.ids = calloc(total, sizeof(*ic.ids));
	ic.found = calloc(total, sizeof(*ic.found));
	if (!ic.base || !ic.ids || !ic.found || xs_pfx_index_build(&ix, p)) {
		P->nomem = true;
		goto out;
	}
	total = 0;
	for (size_t i = 0; i < p->nsegments; i++) {
		ic.base[i] = total;
		for (size_t k = 0; k < P->segx[i].ninside; k++)
			ic.ids[total++] = inside_id(P, i, k);
	}
	if (xs_pfx_nesting(&ix, inside_found, &ic)) {
		P->nomem = true;
		goto out;
	}
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct segx *x = &P->segx[i];

		for (size_t k = 0; k < x->ninside; k++)
			if (ic.ids[ic.base[i] + k] && !ic.found[ic.base[i] + k])
				err_at(P, x->inside[k].loc,
				       "segment '%s' is declared inside '%s', but none of its "
				       "prefixes is in '%s'",
				       p->segments[i].name, x->inside[k].name, x->inside[k].name);
	}
out:
	xs_pfx_index_free(&ix);
	free(ic.base);
	free(ic.ids);
	free(ic.found);
}

/* Not an endpoint (set before resolving). */
#define NO_ENDPOINT 0xfffffffeu

/*
 * One side of a rule: each name resolved into out[i] (NO_ENDPOINT after an
 * error). In a list, `any` (every segment and `world` already) and a name
 * given twice are errors. False after any error.
 */
static bool resolve_side(struct parser *P, const struct rend *v, size_t n, uint32_t *out)
{
	bool ok = true;

	for (size_t i = 0; i < n; i++) {
		long id = xs_resolve_seg(P, v[i].name, v[i].loc, true);

		out[i] = NO_ENDPOINT;
		if (id == -2) {
			ok = false;
			continue;
		}
		if (n > 1 && id == XS_ENDPOINT_ANY) {
			err_at(P, v[i].loc,
			       "'any' cannot be in a list: it is every segment and 'world' "
			       "already (" XS_HINT "write it alone" XS_HINT ")");
			ok = false;
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			if (out[k] == (uint32_t)id) {
				err_at(P, v[i].loc, "'%s' is listed twice", v[i].name);
				ok = false;
				id = -2;
				break;
			}
		}
		if (id != -2)
			out[i] = (uint32_t)id;
	}
	return ok;
}

/* The port specs of a rule statement's items into *ports; false after an error. */
static bool rule_specs(struct parser *P, struct rrule *rr, struct xs_portspec **ports,
		       size_t *nports)
{
	size_t cap = 0;
	bool ok = true;

	for (size_t j = 0; j < rr->nitems; j++) {
		struct item *it = &rr->items[j];
		struct svc *s;

		if (it->is_spec) {
			if (!add_specs(P, ports, nports, &cap, &it->spec, 1, it->loc, "the rule"))
				ok = false;
			continue;
		}
		if (!it->name)
			continue;
		s = xs_find_svc(P, it->name);
		if (!s) {
			xs_unknown_svc(P, it);
			ok = false;
			continue;
		}
		s->used = true;
		if (s->broken) {
			ok = false;
			continue;
		}
		if (!add_specs(P, ports, nports, &cap, s->flat, s->nflat, it->loc, "the rule"))
			ok = false;
	}
	return ok;
}

/*
 * The entries of rule statement `rr` (id `id`): one per (source,
 * destination) pair, sources outer, each with its own copy of the specs
 * and of the text. Every pair counts against the policy's port specs.
 */
static void add_pairs(struct parser *P, struct rrule *rr, uint32_t id, const uint32_t *src,
		      const uint32_t *dst, const struct xs_portspec *ports, size_t nports,
		      size_t *cap)
{
	struct xs_policy *pol = P->pol;
	size_t npairs = rr->nsrc * rr->ndst, each = nports ? nports : 1;

	if (npairs > 1 && (npairs - 1) * each > XS_MAX_FLAT_SPECS - P->nflat_specs) {
		err_at(P, rr->loc,
		       "the rule's lists make %zu source-destination pairs of %zu port specs each: "
		       "more than %d port specs in a policy",
		       npairs, each, XS_MAX_FLAT_SPECS);
		return;
	}
	if (npairs > 1)
		P->nflat_specs += (npairs - 1) * each;
	for (size_t s = 0; s < rr->nsrc; s++) {
		for (size_t d = 0; d < rr->ndst; d++) {
			struct xs_rule *r = xs_push(&pol->rules, &pol->nrules, cap, sizeof(*r));

			if (!r) {
				P->nomem = true;
				return;
			}
			r->id = id;
			r->action = rr->action;
			r->src = src[s];
			r->dst = dst[d];
			r->loc = rr->loc;
			r->text = strdup(rr->text ? rr->text : "");
			r->ports = nports ? malloc(nports * sizeof(*r->ports)) : NULL;
			if (!r->text || (nports && !r->ports)) {
				P->nomem = true;
				return;
			}
			if (nports)
				memcpy(r->ports, ports, nports * sizeof(*r->ports));
			r->nports = nports;
		}
	}
}

void xs_check_rules(struct parser *P)
{
	size_t cap = 0;

	for (size_t i = 0; i < P->nrules && !P->nomem; i++) {
		struct rrule *rr = &P->rules[i];
		uint32_t *src = calloc(rr->nsrc, sizeof(*src)),
			 *dst = calloc(rr->ndst, sizeof(*dst));
		struct xs_portspec *ports = NULL;
		size_t nports = 0;
		bool ok = !rr->broken;

		if (!src || !dst) {
			P->nomem = true;
			goto next;
		}
		if (i + 1 == XS_MAX_RULES)
			err_at(P, rr->loc, "too many rules: rule ids end at %d", XS_MAX_RULES - 1);
		ok &= resolve_side(P, rr->src, rr->nsrc, src);
		ok &= resolve_side(P, rr->dst, rr->ndst, dst);
		for (size_t s = 0; s < rr->nsrc; s++) {
			for (size_t d = 0; d < rr->ndst; d++) {
				if (src[s] != XS_SEG_WORLD || dst[d] != XS_SEG_WORLD)
					continue;
				err_at(P, rr->src[s].loc,
				       "a rule from 'world' to 'world' is not allowed: xdpseg "
				       "governs "
				       "flows that touch a segment");
				s = rr->nsrc; /* once per statement */
				break;
			}
		}
		ok &= rule_specs(P, rr, &ports, &nports);
		/* a ':' whose services are all empty matches nothing: dropped */
		if (ok && !(rr->has_ports && !nports))
			add_pairs(P, rr, (uint32_t)(i + 1), src, dst, ports, nports, &cap);
	next:
		free(src);
		free(dst);
		free(ports);
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

/* The implicit default of segment s, for the sides no statement set; false
 * when out of memory. */
static bool implicit_origin(struct parser *P, struct xs_segment *s, size_t *cap)
{
	const char *in = s->in_action == XS_ACT_DENY ? "deny" : "allow";
	const char *out = s->out_action == XS_ACT_DENY ? "deny" : "allow";
	struct xs_origin_entry *o;
	int r;

	if (s->in_rule_id && s->out_rule_id)
		return true;
	if (!(o = add_origin(P, cap)))
		return false;
	o->kind = XS_ORIGIN_IMPLICIT;
	o->file = s->loc.file;
	o->line = s->loc.line;
	if (s->builtin)
		r = asprintf(
			&o->text,
			"%s (built in: fe80::/10, 169.254.0.0/16; implicit default in %s out %s)",
			s->name, in, out);
	else
		r = asprintf(&o->text, "segment %s (implicit default in %s out %s)", s->name, in,
			     out);
	if (r < 0)
		o->text = NULL;
	if (!s->in_rule_id)
		s->in_rule_id = o->rule_id;
	if (!s->out_rule_id)
		s->out_rule_id = o->rule_id;
	return true;
}

void xs_build_origins(struct parser *P)
{
	struct xs_policy *pol = P->pol;
	struct xs_origin_entry *o;
	size_t cap = 0;

	for (size_t i = 0; i < pol->nrules; i++) {
		struct xs_rule *r = &pol->rules[i];

		/* one id per statement: its entries (one per pair) follow each other */
		if (i && r->id == pol->rules[i - 1].id)
			continue;
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
	for (size_t i = 0; i < pol->nsegments; i++)
		if (!pol->segments[i].builtin && !implicit_origin(P, &pol->segments[i], &cap))
			return;
	if (!(o = add_origin(P, &cap)))
		return;
	o->kind = XS_ORIGIN_IMPLICIT;
	o->file = P->top;
	o->line = 0;
	o->text = strdup("world (implicit default in allow out allow)");
	pol->world_in_rule_id = pol->world_out_rule_id = o->rule_id;
	/* after world's, so that the ids of a policy from before them stay */
	if (pol->linklocal_seg && !implicit_origin(P, &pol->segments[pol->linklocal_seg - 1], &cap))
		return;
	for (size_t i = 0; i < pol->nbindings; i++) {
		struct xs_binding *b = &pol->bindings[i];

		if (!(o = add_origin(P, &cap)))
			return;
		o->kind = XS_ORIGIN_BIND;
		o->file = b->loc.file;
		o->line = b->loc.line;
		o->text = strdup(b->text ? b->text : "");
		b->rule_id = o->rule_id;
	}
	if (pol->norigins >= XS_MAX_RULES)
		xs_diag_add(P->diags, XS_SEV_ERROR, P->top, 0, 0, NULL,
			    "too many rules and defaults: %zu rule ids needed, the limit is %d",
			    pol->norigins, XS_MAX_RULES - 1);
}

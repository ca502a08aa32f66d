// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Overlays, parsed (overlay.c), into the source form: the derived segments
 * `PARENT[PREFIX]` their addresses and prefixes ask for (ids after every
 * declared segment), then their rules (policy->overlay_rules), origins and
 * records, which compile.c compiles with the policy's rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "overlay_int.h"

struct xs_overlay_rule *xs_ovr_push(struct parser *P)
{
	struct xs_policy *pol = P->pol;
	struct xs_overlay_rule *v =
		realloc(pol->overlay_rules, (pol->noverlay_rules + 1) * sizeof(*v));

	if (!v) {
		P->nomem = true;
		return NULL;
	}
	pol->overlay_rules = v;
	v = &v[pol->noverlay_rules++];
	memset(v, 0, sizeof(*v));
	return v;
}

struct xs_origin_entry *xs_origin_push(struct parser *P, enum xs_origin_kind kind, const char *file,
				       int line, const char *text)
{
	struct xs_policy *pol = P->pol;
	struct xs_origin_entry *v = realloc(pol->origins, (pol->norigins + 1) * sizeof(*v));

	if (!v) {
		P->nomem = true;
		return NULL;
	}
	pol->origins = v;
	v = &v[pol->norigins++];
	memset(v, 0, sizeof(*v));
	v->rule_id = (uint32_t)pol->norigins;
	v->kind = kind;
	v->file = file;
	v->line = line;
	v->text = strdup(text ? text : "");
	if (!v->text)
		P->nomem = true;
	return v;
}

/* ---- Derived segments ----------------------------------------------------------- */

static int px_cmp(const struct xs_prefix *a, const struct xs_prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int pend_cmp(const void *x, const void *y)
{
	return px_cmp(&((const struct pend *)x)->px, &((const struct pend *)y)->px);
}

/* `PARENT[ADDRESS]` (a host) or `PARENT[PREFIX/LEN]`. */
static char *derived_name(const char *parent, const struct xs_prefix *px)
{
	char a[INET6_ADDRSTRLEN], *s;

	inet_ntop(px->family == 4 ? AF_INET : AF_INET6, px->addr, a, sizeof(a));
	if (px->len == (px->family == 4 ? 32 : 128)) {
		if (asprintf(&s, "%s[%s]", parent, a) < 0)
			return NULL;
	} else if (asprintf(&s, "%s[%s/%u]", parent, a, px->len) < 0) {
		return NULL;
	}
	return s;
}

static void add_pends(struct plist *all, const struct plist *l, bool *nomem)
{
	for (size_t i = 0; i < l->n; i++) {
		struct pend *d;

		if (l->v[i].seg >= 0)
			continue;
		d = xs_push(&all->v, &all->n, &all->cap, sizeof(*d));
		if (!d) {
			*nomem = true;
			return;
		}
		*d = l->v[i];
	}
}

/*
 * Every prefix the overlays name becomes one derived segment, in prefix
 * order (a prefix holding another comes first, so a parent's id is lower),
 * after the policy's segments. Returns the sorted prefixes (their ids are
 * first_id + index), or NULL after an error or when there are none.
 */
struct pend *xs_ov_derive(struct parser *P, struct opass *S, size_t *nd)
{
	struct xs_policy *pol = P->pol;
	struct plist all = { 0 };
	uint16_t *stack;
	size_t n = 0, top = 0, first = pol->nsegments + 1;

	*nd = 0;
	for (size_t i = 0; i < S->n; i++) {
		struct pov *o = &S->v[i];

		add_pends(&all, &o->a, &P->nomem);
		add_pends(&all, &o->b, &P->nomem);
		for (size_t k = 0; k < o->ncl; k++)
			add_pends(&all, &o->cl[k].src, &P->nomem);
	}
	if (P->nomem || !all.n) {
		free(all.v);
		return NULL;
	}
	qsort(all.v, all.n, sizeof(*all.v), pend_cmp);
	for (size_t i = 0; i < all.n; i++)
		if (!n || px_cmp(&all.v[n - 1].px, &all.v[i].px))
			all.v[n++] = all.v[i];
	if (pol->nsegments + n > XS_MAX_SEGMENTS - 1) {
		xs_diag_add(P->diags, XS_SEV_ERROR, pol->files[0], 0, 0, NULL,
			    "the overlays name %zu addresses and prefixes: with the policy's %zu "
			    "segments, more than %d segments",
			    n, pol->nsegments, XS_MAX_SEGMENTS - 1);
		free(all.v);
		return NULL;
	}
	stack = calloc(n + 1, sizeof(*stack));
	if (!stack) {
		P->nomem = true;
		free(all.v);
		return NULL;
	}
	for (size_t i = 0; i < n && !P->nomem; i++) {
		const struct pend *e = &all.v[i];
		const struct xs_segment *root = e->root ? &pol->segments[e->root - 1] : NULL;
		struct xs_segment *s = xs_new_segment(P);

		/* the derived prefixes before it that hold it, innermost on top */
		while (top && !xs_prefix_contains(&all.v[stack[top - 1] - first].px, &e->px))
			top--;
		if (!s) {
			P->nomem = true;
			break;
		}
		root = e->root ? &pol->segments[e->root - 1] : NULL; /* segments may have moved */
		s->derived = true;
		s->parent = top ? stack[top - 1] : e->root;
		s->name = derived_name(root ? root->name : "world", &e->px);
		s->prefixes = malloc(sizeof(*s->prefixes));
		if (!s->name || !s->prefixes) {
			P->nomem = true;
			break;
		}
		s->prefixes[0] = e->px;
		s->nprefixes = 1;
		s->in_action = root ? root->in_action : XS_ACT_ALLOW;
		s->out_action = root ? root->out_action : XS_ACT_ALLOW;
		s->in_rule_id = root ? root->in_rule_id : pol->world_in_rule_id;
		s->out_rule_id = root ? root->out_rule_id : pol->world_out_rule_id;
		s->monitor = root ? root->monitor : false;
		s->loc = root ? root->loc : (struct xs_src_loc){ .file = P->top };
		s->prefixes[0].loc = s->loc;
		stack[top++] = s->id;
	}
	free(stack);
	*nd = n;
	return all.v;
}

/* The segment ids of l (derived ones found in d[0..nd), ids from first). */
static uint16_t *ids_of(struct parser *P, const struct plist *l, const struct pend *d, size_t nd,
			size_t first)
{
	uint16_t *v = calloc(l->n + 1, sizeof(*v));

	if (!v) {
		P->nomem = true;
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct pend *e = &l->v[i], *hit;

		if (e->seg >= 0) {
			v[i] = (uint16_t)e->seg;
			continue;
		}
		hit = bsearch(e, d, nd, sizeof(*d), pend_cmp);
		v[i] = hit ? (uint16_t)(first + (size_t)(hit - d)) : XS_SEG_WORLD;
	}
	return v;
}

static struct xs_portspec *copy_ports(struct parser *P, const struct xs_portspec *v, size_t n)
{
	struct xs_portspec *c = malloc((n + 1) * sizeof(*c));

	if (!c) {
		P->nomem = true;
		return NULL;
	}
	if (n)
		memcpy(c, v, n * sizeof(*c));
	return c;
}

/* An overlay rule from o's lists: src (may be NULL), dst, ports (copied). */
static struct xs_overlay_rule *add_rule(struct parser *P, uint8_t kind, uint32_t id,
					const struct plist *src, const struct plist *dst,
					const struct xs_portspec *ports, size_t nports,
					const struct pend *d, size_t nd, size_t first)
{
	struct xs_overlay_rule *r = xs_ovr_push(P);

	if (!r)
		return NULL;
	r->kind = kind;
	r->rule_id = id;
	if (src) {
		r->src = ids_of(P, src, d, nd, first);
		r->nsrc = src->n;
	}
	r->dst = ids_of(P, dst, d, nd, first);
	r->ndst = dst->n;
	r->ports = copy_ports(P, ports, nports);
	r->nports = nports;
	return r;
}

/* The record of overlay `in`, its origin `id`. */
static void fill_record(struct xs_overlay_entry *e, const struct xs_overlay_in *in, uint32_t id)
{
	memset(e, 0, sizeof(*e));
	e->rule_id = id;
	e->rec.created = in->created;
	e->rec.expires = in->expires;
	e->rec.number = in->number;
	e->rec.uid = in->uid;
	e->rec.kind = in->kind;
	e->rec.flags = in->flags;
	strncpy(e->rec.text, in->text ? in->text : "", sizeof(e->rec.text) - 1);
	strncpy(e->rec.reason, in->reason ? in->reason : "", sizeof(e->rec.reason) - 1);
}

/* The overlays' origins, rules and records, now that derived segments have ids. */
void xs_ov_emit(struct parser *P, struct opass *S, const struct pend *d, size_t nd, size_t first,
		const struct xs_compile_opts *opts, struct xs_overlay_entry *rec, size_t *nrec)
{
	struct xs_policy *pol = P->pol;
	size_t ndecl = pol->noverlay_rules;

	for (size_t i = 0; i < S->n && !P->nomem; i++) {
		const struct pov *o = &S->v[i];
		struct xs_origin_entry *org =
			xs_origin_push(P, o->kind, o->file, o->in ? 1 : o->fs->line, o->text);
		struct xs_overlay_rule *r;
		uint32_t id;

		if (!org)
			return;
		id = org->rule_id;
		if (o->in)
			fill_record(&rec[(*nrec)++], o->in, id);
		if (o->kind == XS_ORIGIN_GRANT) {
			r = add_rule(P, XS_ORIGIN_GRANT, id, &o->a, &o->b, o->ports, o->nports, d,
				     nd, first);
			if (r) {
				r->flags = o->in->flags & XS_RULEF_DRAIN;
				r->expires = (uint32_t)((int64_t)o->in->expires + opts->tai_offset);
			}
			continue;
		}
		if (o->kind == XS_ORIGIN_FAILSAFE) {
			add_rule(P, XS_ORIGIN_FAILSAFE, id, NULL, &o->a, o->ports, o->nports, d, nd,
				 first);
			continue;
		}
		r = add_rule(P, XS_ORIGIN_QUARANTINE, id, NULL, &o->a, NULL, 0, d, nd, first);
		if (r && o->mode == MODE_STRICT)
			r->flags = XS_OVR_STRICT;
		if (o->mode == MODE_DEFAULT) {
			/* the policy's declarations, into these targets */
			for (size_t k = 0; k < ndecl && !P->nomem; k++) {
				const struct xs_overlay_rule *dc = &pol->overlay_rules[k];
				struct xs_overlay_rule *f;

				if (dc->kind != XS_ORIGIN_FORENSIC || dc->ndst)
					continue;
				f = add_rule(P, XS_ORIGIN_FORENSIC, dc->rule_id, NULL, &o->a,
					     dc->ports, dc->nports, d, nd, first);
				dc = &pol->overlay_rules[k]; /* the array may have moved */
				if (!f)
					break;
				f->src = malloc((dc->nsrc + 1) * sizeof(*f->src));
				if (!f->src) {
					P->nomem = true;
					break;
				}
				memcpy(f->src, dc->src, dc->nsrc * sizeof(*f->src));
				f->nsrc = dc->nsrc;
			}
		}
		for (size_t k = 0; k < o->ncl && !P->nomem; k++) {
			struct xs_origin_entry *fo =
				xs_origin_push(P, XS_ORIGIN_FORENSIC, o->file, 1, o->text);

			if (fo)
				add_rule(P, XS_ORIGIN_FORENSIC, fo->rule_id, &o->cl[k].src, &o->a,
					 o->cl[k].ports, o->cl[k].nports, d, nd, first);
		}
	}
}

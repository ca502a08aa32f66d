// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpseg suggest`: the text. The header, the services used (or the
 * presets' include), the segments (the policy's and the proposed ones),
 * the binds, the rules with their evidence, and as comments what is not
 * suggested: dropped flows, flows a rule cannot name, aggregate rows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "suggest_int.h"
#include "text.h"

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void print_evidence(FILE *out, const struct evidence *ev)
{
	char a[32], b[32];

	learn_date(a, sizeof(a), ev->first);
	learn_date(b, sizeof(b), ev->last);
	fprintf(out, "%llu %s", (unsigned long long)ev->conns,
		plural(ev->conns, "connection", "connections"));
	if (ev->audited)
		fprintf(out, " (%llu audited)", (unsigned long long)ev->audited);
	fprintf(out, ", %zu %s, %zu %s, first %s, last %s", ev->clients,
		plural(ev->clients, "client", "clients"), ev->days, plural(ev->days, "day", "days"),
		a, b);
}

/* Is catalog service s the presets' own (so `include` declares it)? */
static bool from_presets(const struct learn_catalog *cat, const struct learn_service *s)
{
	const struct xs_policy *pp = cat->owned[1] ? cat->owned[1]->policy : NULL;

	for (size_t i = 0; pp && i < pp->nservices; i++) {
		const struct xs_service *ps = &pp->services[i];

		if (!strcmp(ps->name, s->name))
			return ps->nspecs == s->nspecs &&
			       !memcmp(ps->specs, s->specs, s->nspecs * sizeof(*s->specs));
	}
	return false;
}

static bool preset_named(const struct learn_catalog *cat, const char *name)
{
	const struct xs_policy *pp = cat->owned[1] ? cat->owned[1]->policy : NULL;

	for (size_t i = 0; pp && i < pp->nservices; i++)
		if (!strcmp(pp->services[i].name, name))
			return true;
	return false;
}

static void print_services(FILE *out, const struct ctx *x)
{
	const struct learn_catalog *cat = x->cat;
	bool include = false, clash = false;

	for (size_t i = 0; i < cat->n; i++) {
		if (!x->svc_used[i])
			continue;
		if (from_presets(cat, &cat->v[i]))
			include = true;
		else if (preset_named(cat, cat->v[i].name))
			clash = true;
	}
	if (include && !clash)
		fprintf(out, "include \"%s\"\n\n", cat->presets_name);
	else if (include)
		fprintf(out, "# the services are written out: one of them is not the presets' "
			     "of that name\n");
	for (size_t i = 0; i < cat->n; i++) {
		const struct learn_service *s = &cat->v[i];

		if (!x->svc_used[i] || (include && !clash && from_presets(cat, s)))
			continue;
		fprintf(out, "service %s ", s->name);
		for (size_t k = 0; k < s->nspecs; k++) {
			char t[64];

			learn_spec_text(t, sizeof(t), &s->specs[k]);
			fprintf(out, "%s%s", k ? ", " : "", t);
		}
		fputc('\n', out);
	}
}

/* A segment's prefix as an output segment holds it. */
struct opfx {
	uint32_t ep;
	uint8_t family;
	const uint8_t *addr;
	unsigned int len;
};

/* The endpoints whose prefixes hold one of ep's nearest (the longest such
 * prefix of another segment): its `inside` list. */
static void print_inside(FILE *out, const struct ctx *x, const struct opfx *v, size_t n,
			 uint32_t ep)
{
	uint32_t outer[64];
	size_t no = 0;

	for (size_t i = 0; i < n; i++) {
		const struct opfx *in = &v[i], *best = NULL;
		bool dup = false;

		if (in->ep != ep)
			continue;
		for (size_t k = 0; k < n; k++)
			if (v[k].ep != ep && v[k].family == in->family && v[k].len < in->len &&
			    sg_prefix_holds(v[k].addr, v[k].len, in->addr) &&
			    (!best || v[k].len > best->len))
				best = &v[k];
		if (!best || best->ep == x->p->linklocal_seg)
			continue;
		for (size_t k = 0; k < no; k++)
			dup |= outer[k] == best->ep;
		if (!dup && no < sizeof(outer) / sizeof(outer[0]))
			outer[no++] = best->ep;
	}
	for (size_t k = 0; k < no; k++)
		fprintf(out, "%s%s", k ? ", " : " inside ", sg_ep_name(x, outer[k]));
}

static bool printable_segment(const struct xs_segment *s)
{
	return !s->builtin && !s->derived && sg_name_ok(s->name) && s->nprefixes;
}

static int print_segments(FILE *out, const struct ctx *x)
{
	const struct xs_policy *p = x->p;
	struct opfx *v = NULL;
	size_t n = 0, cap = 0;
	char since[32];

	learn_date(since, sizeof(since), x->s->since);
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct xs_segment *s = &p->segments[i];

		if (s->derived)
			continue;
		for (size_t k = 0; k < s->nprefixes; k++) {
			struct opfx o = { s->id, s->prefixes[k].family, s->prefixes[k].addr,
					  s->prefixes[k].len };

			if (sg_push(&v, &n, &cap, sizeof(o), &o))
				return -ENOMEM;
		}
	}
	for (size_t g = 0; g < x->ng; g++) {
		const struct proposal *pr = &x->g[g];

		for (size_t k = 0; k < (pr->hosts ? pr->n : 1); k++) {
			const struct waddr *w = &x->wa[pr->first + k];
			struct opfx o = { PROPOSED + (uint32_t)g, pr->family,
					  pr->hosts ? w->addr : pr->addr,
					  pr->hosts ? (pr->family == 6 ? 128u : 32u) : pr->len };

			if (sg_push(&v, &n, &cap, sizeof(o), &o))
				return -ENOMEM;
		}
	}
	fprintf(out, "\n# segments of the policy judged under\n");
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct xs_segment *s = &p->segments[i];

		if (!printable_segment(s))
			continue;
		fprintf(out, "segment %s ", s->name);
		for (size_t k = 0; k < s->nprefixes; k++) {
			char t[64];

			learn_prefix(t, sizeof(t), s->prefixes[k].family, s->prefixes[k].addr,
				     s->prefixes[k].len);
			fprintf(out, "%s%s", k ? ", " : "", t);
		}
		print_inside(out, x, v, n, s->id);
		fputc('\n', out);
		if (x->ruled[s->id])
			continue;
		/* written out so that the segment is used (no warning); the
		 * implicit defaults: nothing in */
		if (x->only && s->id != x->only)
			fprintf(out, "# segment %s: its rules are not shown (--segment %s)\n",
				s->name, x->o->segment);
		else if (!x->seen[s->id])
			fprintf(out,
				"# segment %s: no traffic observed since %s: no rule suggested\n",
				s->name, since);
		else
			fprintf(out,
				"# segment %s: only traffic that was dropped or that a rule cannot "
				"name observed since %s: no rule suggested\n",
				s->name, since);
		fprintf(out, "default %s in deny out allow\n", s->name);
	}
	for (size_t g = 0; g < x->ng; g++) {
		const struct proposal *pr = &x->g[g];
		const char *pol = x->o->policy ? x->o->policy : "the policy";

		fprintf(out, "# proposed: %zu %s seen, in no segment of ", pr->n,
			plural(pr->n, "host", "hosts"));
		learn_print_safe(out, pol);
		fprintf(out, ": review before applying%s\n",
			pr->hosts ? " (their prefix would cover a whole private range: the "
				    "addresses)"
				  : "");
		fprintf(out, "segment %s ", pr->name);
		for (size_t k = 0; k < (pr->hosts ? pr->n : 1); k++) {
			const struct waddr *w = &x->wa[pr->first + k];
			char t[64];

			learn_prefix(t, sizeof(t), pr->family, pr->hosts ? w->addr : pr->addr,
				     pr->hosts ? (pr->family == 6 ? 128u : 32u) : pr->len);
			fprintf(out, "%s%s", k ? ", " : "", t);
		}
		print_inside(out, x, v, n, PROPOSED + (uint32_t)g);
		fputc('\n', out);
	}
	free(v);
	return 0;
}

static void print_binds(FILE *out, const struct ctx *x)
{
	bool any = false;

	for (size_t i = 0; i < x->p->nbindings; i++) {
		const struct xs_binding *b = &x->p->bindings[i];
		bool ok = b->text && *b->text;

		for (const char *q = b->text; ok && *q; q++)
			ok = (*q >= 0x20 && *q < 0x7f && *q != '#') || *q == '\t';
		if (!any)
			fprintf(out, "\n# the policy's bound ports\n");
		any = true;
		if (ok && !strncmp(b->text, "bind ", 5)) {
			fprintf(out, "%s\n", b->text);
		} else {
			fprintf(out, "# a bind statement that cannot be written back: ");
			learn_print_safe(out, b->text ? b->text : "");
			fputc('\n', out);
		}
	}
}

static void print_rules(FILE *out, const struct ctx *x)
{
	for (size_t i = 0; i < x->nrules; i++) {
		const struct rule *r = &x->rules[i];
		char t[128];

		if (!i || r->src != x->rules[i - 1].src || r->dst != x->rules[i - 1].dst)
			fprintf(out, "\n# %s -> %s\n", sg_ep_name(x, r->src),
				sg_ep_name(x, r->dst));
		sg_item_text(t, sizeof(t), &r->it);
		fprintf(out, "# ");
		print_evidence(out, &r->ev);
		fprintf(out, ": %s\n", r->ev.days < x->o->min_days ? "learning" : "stable");
		fprintf(out, "allow %s -> %s : %s\n", sg_ep_name(x, r->src), sg_ep_name(x, r->dst),
			t);
	}
}

/* The flows of e[0..n) (sorted) per (source, destination, port), as comments. */
static int print_flow_block(FILE *out, const struct ctx *x, struct entry *e, size_t n,
			    const char *title)
{
	if (!n)
		return 0;
	sg_sort_entries(x, e, n);
	fprintf(out, "\n# %s\n", title);
	for (size_t i = 0, j; i < n; i = j) {
		const struct learn_service *s =
			sg_nameable(e[i].proto, e[i].port)
				? learn_port_service(x->cat, e[i].proto, e[i].port)
				: NULL;
		struct evidence ev;
		char port[32];

		for (j = i + 1; j < n && e[j].src == e[i].src && e[j].dst == e[i].dst &&
				e[j].proto == e[i].proto && e[j].port == e[i].port;
		     j++)
			;
		if (sg_evidence(&e[i], j - i, NULL, &ev))
			return -ENOMEM;
		learn_port_text(port, sizeof(port), e[i].proto, e[i].port);
		fprintf(out, "#   %s -> %s %s", sg_ep_name(x, e[i].src), sg_ep_name(x, e[i].dst),
			port);
		if (s)
			fprintf(out, " (%s)", s->name);
		fprintf(out, ": ");
		print_evidence(out, &ev);
		fputc('\n', out);
	}
	return 0;
}

struct agg {
	const struct xs_store_row *r;
};

static int agg_cmp(const void *x, const void *y)
{
	const struct xs_store_row *a = ((const struct agg *)x)->r, *b = ((const struct agg *)y)->r;
	int d = strcmp(a->src_segment, b->src_segment);

	if (!d)
		d = strcmp(a->dst_segment, b->dst_segment);
	if (!d)
		d = a->proto - b->proto;
	if (!d)
		d = a->decision - b->decision;
	return d;
}

/* Aggregate rows: the segments' names as the store recorded them
 * (untrusted: only in comments, made safe). */
static int print_aggregates(FILE *out, const struct ctx *x)
{
	struct agg *v = calloc(x->naggregate + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < x->s->n; i++) {
		const struct learn_flow *f = &x->s->v[i];
		uint16_t src = sg_declared(x->p, f->src_seg), dst = sg_declared(x->p, f->dst_seg);

		if ((f->r.aggregate || !f->judged) &&
		    (!x->only || src == x->only || dst == x->only) && n < x->naggregate)
			v[n++].r = &f->r;
	}
	if (n) {
		qsort(v, n, sizeof(*v), agg_cmp);
		fprintf(out,
			"\n# %zu aggregate %s (a store's cap of keyed rows for a day was reached: "
			"addresses and ports unknown), %llu %s: never turned into rules\n",
			n, plural(n, "row", "rows"), (unsigned long long)x->aggregate_conns,
			plural(x->aggregate_conns, "connection", "connections"));
	}
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t conns = 0;
		char proto[32];

		for (j = i; j < n && !agg_cmp(&v[i], &v[j]); j++)
			conns += v[j].r->connections;
		learn_port_text(proto, sizeof(proto), v[i].r->proto, -1);
		fprintf(out, "#   ");
		learn_print_safe(out, v[i].r->src_segment);
		fprintf(out, " -> ");
		learn_print_safe(out, v[i].r->dst_segment);
		fprintf(out, " %s %s: %llu %s\n", proto, xs_store_decision_name(v[i].r->decision),
			(unsigned long long)conns, plural(conns, "connection", "connections"));
	}
	free(v);
	return 0;
}

static void print_header(FILE *out, const struct ctx *x)
{
	char a[32], b[32];
	size_t stable = 0;

	for (size_t i = 0; i < x->nrules; i++)
		stable += x->rules[i].ev.days >= x->o->min_days;
	learn_date(a, sizeof(a), x->s->since);
	learn_date(b, sizeof(b), x->s->now);
	fprintf(out, "# xdpseg suggest: a policy allowing what was observed, nothing broader\n");
	fprintf(out, "# window: %s to %s UTC", a, b);
	if (x->o->window) {
		fprintf(out, " (--since ");
		learn_print_safe(out, x->o->window);
		fputc(')', out);
	}
	fputc('\n', out);
	for (size_t i = 0; i < x->o->nstores; i++) {
		fprintf(out, "# store: ");
		learn_print_safe(out, x->o->stores[i]);
		fputc('\n', out);
	}
	fprintf(out, "# judged under: ");
	learn_print_safe(out, x->o->policy ? x->o->policy : "-");
	fputc('\n', out);
	if (x->only)
		fprintf(out, "# only rules with segment %s on one side (--segment)\n",
			x->o->segment);
	fprintf(out,
		"# flows: %zu passed (allow, audit), %zu dropped, %zu passed but not nameable, "
		"%zu aggregate\n",
		x->npass, x->ndrop, x->nodd, x->naggregate);
	fprintf(out,
		"# rules: %zu (%zu stable, %zu learning: seen on fewer than %u days); %zu "
		"proposed %s\n",
		x->nrules, stable, x->nrules - stable, x->o->min_days, x->ng,
		plural(x->ng, "segment", "segments"));
	fprintf(out, "# defaults are the language's (in deny out allow): a segment may still "
		     "open new flows to\n# addresses in no segment; mode enforce\n");
	fprintf(out, "# review, then: xdpseg check FILE && xdpseg replay FILE\n\n");
}

int sg_print(FILE *out, const struct ctx *x)
{
	int ret;

	print_header(out, x);
	print_services(out, x);
	ret = print_segments(out, x);
	if (!ret) {
		print_binds(out, x);
		print_rules(out, x);
		ret = print_flow_block(out, x, x->drop, x->ndrop,
				       "seen and dropped, not suggested:");
	}
	if (!ret)
		ret = print_flow_block(out, x, x->odd, x->nodd,
				       "seen and passed, not suggested: a rule cannot name these "
				       "(a rule without ':' would allow every protocol):");
	if (!ret)
		ret = print_aggregates(out, x);
	return ret;
}

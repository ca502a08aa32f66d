// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpseg suggest`: the observations, judged under a policy, as policy text
 * that allows what passed at the time and nothing broader.
 *
 * This file: the flows sorted out (passed, dropped, not nameable,
 * aggregate), the rules (one per source, destination and item) and
 * learn_suggest(). Below it: the items of a pair (the services fitted to
 * the ports observed): suggest_items.c; the segments proposed for addresses
 * in no segment: suggest_propose.c; the text: suggest_print.c; the names,
 * evidence and order they all use: suggest_state.c; what they share:
 * suggest_int.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "suggest_int.h"

void learn_suggest_defaults(struct learn_suggest_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->min_days = LEARN_SUGGEST_MIN_DAYS;
	o->max_prefix4 = LEARN_SUGGEST_PREFIX4;
	o->max_prefix6 = LEARN_SUGGEST_PREFIX6;
}

static int sort_flows(struct ctx *x)
{
	size_t cp = 0, cd = 0, co = 0, cw = 0;

	for (size_t i = 0; i < x->s->n; i++) {
		const struct learn_flow *f = &x->s->v[i];
		uint16_t src = sg_declared(x->p, f->src_seg), dst = sg_declared(x->p, f->dst_seg);
		struct entry e = {
			.src = src, .dst = dst, .proto = f->r.proto, .port = f->r.port, .f = f
		};
		bool passed = f->r.decision != XS_STORE_DROP;

		if (x->only && src != x->only && dst != x->only)
			continue;
		x->seen[src] = x->seen[dst] = true;
		if (f->r.aggregate || !f->judged) {
			x->naggregate++;
			x->aggregate_conns += f->r.connections;
			continue;
		}
		if (!passed) {
			if (sg_push(&x->drop, &x->ndrop, &cd, sizeof(e), &e))
				return -ENOMEM;
			continue;
		}
		if (!sg_nameable(f->r.proto, f->r.port) ||
		    (src && !sg_name_ok(xs_compiled_segment_name(x->c, src))) ||
		    (dst && !sg_name_ok(xs_compiled_segment_name(x->c, dst)))) {
			if (sg_push(&x->odd, &x->nodd, &co, sizeof(e), &e))
				return -ENOMEM;
			continue;
		}
		if (sg_push(&x->pass, &x->npass, &cp, sizeof(e), &e))
			return -ENOMEM;
		for (int side = 0; side < 2; side++) {
			struct waddr w = { .family = f->r.family };

			if (side ? dst : src)
				continue;
			memcpy(w.addr, side ? f->r.dst : f->r.src, 16);
			if (sg_push(&x->wa, &x->nwa, &cw, sizeof(w), &w))
				return -ENOMEM;
		}
	}
	return 0;
}

static int make_rules(struct ctx *x)
{
	int ret = 0;

	sg_sort_entries(x, x->pass, x->npass);
	for (size_t i = 0, j; i < x->npass && !ret; i = j) {
		struct port *P = calloc(x->npass - i, sizeof(*P));
		struct item *items = NULL;
		size_t n = 0, ni = 0;

		if (!P)
			return -ENOMEM;
		for (j = i; j < x->npass && x->pass[j].src == x->pass[i].src &&
			    x->pass[j].dst == x->pass[i].dst;
		     j++)
			if (!n || P[n - 1].proto != x->pass[j].proto ||
			    P[n - 1].port != x->pass[j].port)
				P[n++] = (struct port){ .proto = x->pass[j].proto,
							.port = x->pass[j].port };
		ret = sg_choose(x, P, n, &items, &ni);
		for (size_t k = 0; k < ni && !ret; k++) {
			struct rule r = { .src = x->pass[i].src,
					  .dst = x->pass[i].dst,
					  .it = items[k] };

			ret = sg_evidence(&x->pass[i], j - i, &items[k], &r.ev);
			if (!ret)
				ret = sg_push(&x->rules, &x->nrules, &x->cap_rules, sizeof(r), &r);
			if (!ret && r.it.svc)
				x->svc_used[r.it.svc - x->cat->v] = true;
			if (!ret && r.src < PROPOSED)
				x->ruled[r.src] = true;
			if (!ret && r.dst < PROPOSED)
				x->ruled[r.dst] = true;
		}
		free(items);
		free(P);
	}
	return ret;
}

static int check_segment(struct ctx *x, char *err, size_t errlen)
{
	const struct xs_policy *p = x->p;
	size_t len;

	for (size_t i = 0; i < p->nsegments; i++)
		if (!p->segments[i].derived && !strcmp(p->segments[i].name, x->o->segment)) {
			x->only = p->segments[i].id;
			return 0;
		}
	len = (size_t)snprintf(err, errlen, "unknown segment '%s': the policy's segments are",
			       x->o->segment);
	for (size_t i = 0; i < p->nsegments && len < errlen; i++)
		if (!p->segments[i].derived)
			len += (size_t)snprintf(err + len, errlen - len, "%s %s", i ? "," : "",
						p->segments[i].name);
	return -ENOENT;
}

int learn_suggest(FILE *out, const struct learn_set *s, const struct xs_compiled *c,
		  const struct learn_catalog *cat, const struct learn_suggest_opts *o, char *err,
		  size_t errlen)
{
	struct ctx x = { .s = s, .c = c, .p = c->policy, .cat = cat, .o = o };
	int ret;

	if (o->segment) {
		ret = check_segment(&x, err, errlen);
		if (ret)
			return ret;
	}
	x.svc_used = calloc(cat->n + 1, sizeof(*x.svc_used));
	x.seen = calloc(x.p->nsegments + 1, sizeof(*x.seen));
	x.ruled = calloc(x.p->nsegments + 1, sizeof(*x.ruled));
	ret = !x.svc_used || !x.seen || !x.ruled ? -ENOMEM : 0;
	if (!ret)
		ret = sort_flows(&x);
	if (!ret)
		ret = sg_propose(&x);
	if (!ret)
		ret = make_rules(&x);
	if (!ret)
		ret = sg_print(out, &x);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(x.wa);
	free(x.g);
	free(x.pass);
	free(x.drop);
	free(x.odd);
	free(x.rules);
	free(x.svc_used);
	free(x.seen);
	free(x.ruled);
	return ret;
}

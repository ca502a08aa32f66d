// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpseg suggest`: the items of a pair, the services and specs its rules
 * name.
 *
 * Per (source segment, destination segment), the items that name the
 * observed (protocol, port) set P:
 *  (a) a range service of the catalog (every spec of it a range, as
 *      rpc-dynamic: so it allows nothing outside the range it is chosen for)
 *      holding 2 or more ports of P not yet named (1 with --ranges): the
 *      smallest, again while one qualifies;
 *  (b) then the catalog's services of at most LEARN_SUGGEST_SERVICE_PORTS
 *      ports all of which are in P (a range spec of theirs counts when a
 *      range chosen in (a) holds it: ad-domain-join with rpc-dynamic),
 *      largest first, ties to the first declared, each only when it names a
 *      port of P not yet named; a range of (a) that a service of (b) holds
 *      is left out;
 *  (c) the rest as single specs (--ranges: consecutive ports as LO-HI).
 * The port is the responder's as the datapath tracked it (store.h): an
 * ephemeral client port never reaches P.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "suggest_int.h"
#include "text.h"

static int port_cmp(const void *x, const void *y)
{
	const struct port *a = x, *b = y;

	if (a->proto != b->proto)
		return a->proto - b->proto;
	return (a->port > b->port) - (a->port < b->port);
}

static bool in_ports(const struct port *P, size_t n, uint8_t proto, int32_t port)
{
	struct port key = { .proto = proto, .port = port };

	return bsearch(&key, P, n, sizeof(key), port_cmp) != NULL;
}

static uint64_t spec_ports(const struct xs_portspec *p)
{
	return (uint64_t)p->hi - p->lo + 1;
}

static bool range_only(const struct learn_service *s)
{
	for (size_t i = 0; i < s->nspecs; i++)
		if (!s->specs[i].proto || spec_ports(&s->specs[i]) < LEARN_RANGE_MIN)
			return false;
	return s->nspecs > 0;
}

static bool spec_within(const struct xs_portspec *a, const struct learn_service *s)
{
	for (size_t i = 0; i < s->nspecs; i++)
		if (s->specs[i].proto == a->proto && s->specs[i].lo <= a->lo &&
		    a->hi <= s->specs[i].hi)
			return true;
	return false;
}

bool sg_item_holds(const struct item *it, uint8_t proto, int32_t port)
{
	if (it->svc)
		return learn_service_holds(it->svc, proto, port);
	return it->spec.proto == proto && port >= it->spec.lo && port <= it->spec.hi;
}

/* Name the ports of P it holds; how many were not named yet. */
static size_t name_ports(struct port *P, size_t n, const struct item *it, bool mark)
{
	size_t fresh = 0;

	for (size_t i = 0; i < n; i++)
		if (sg_item_holds(it, P[i].proto, P[i].port)) {
			fresh += !P[i].named;
			if (mark)
				P[i].named = true;
		}
	return fresh;
}

/* (b): may service s name ports of P? Its small specs all observed, its
 * range specs held by a range chosen in (a). */
static bool fits(const struct learn_service *s, const struct port *P, size_t n,
		 const struct item *items, size_t nitems)
{
	uint64_t small = 0;

	if (range_only(s) || !s->nspecs)
		return false;
	for (size_t i = 0; i < s->nspecs; i++) {
		const struct xs_portspec *sp = &s->specs[i];
		bool held = false;

		if (!sp->proto)
			return false;
		if (spec_ports(sp) >= LEARN_RANGE_MIN) {
			for (size_t k = 0; k < nitems && !held; k++)
				held = items[k].range && spec_within(sp, items[k].svc);
			if (!held)
				return false;
			continue;
		}
		small += spec_ports(sp);
		if (small > LEARN_SUGGEST_SERVICE_PORTS)
			return false;
		for (uint32_t port = sp->lo; port <= sp->hi; port++)
			if (!in_ports(P, n, sp->proto, (int32_t)port))
				return false;
	}
	return small > 0;
}

static int svc_cmp(const void *x, const void *y)
{
	const struct learn_service *a = *(const struct learn_service *const *)x;
	const struct learn_service *b = *(const struct learn_service *const *)y;

	if (a->nports != b->nports)
		return a->nports > b->nports ? -1 : 1;
	return (a->order > b->order) - (a->order < b->order);
}

void sg_item_text(char *buf, size_t size, const struct item *it)
{
	if (it->svc)
		snprintf(buf, size, "%s", it->svc->name);
	else
		learn_spec_text(buf, size, &it->spec);
}

static int item_cmp(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	char ta[128], tb[128];

	if (a->kproto != b->kproto)
		return a->kproto - b->kproto;
	if (a->kport != b->kport)
		return (a->kport > b->kport) - (a->kport < b->kport);
	sg_item_text(ta, sizeof(ta), a);
	sg_item_text(tb, sizeof(tb), b);
	return strcmp(ta, tb);
}

/* The items naming P (sorted, distinct), in rule order; *nout of them. */
int sg_choose(const struct ctx *x, struct port *P, size_t n, struct item **out, size_t *nout)
{
	const struct learn_catalog *cat = x->cat;
	struct item *items = calloc(n + cat->n + 1, sizeof(*items));
	const struct learn_service **cand = calloc(cat->n + 1, sizeof(*cand));
	size_t ni = 0, nc = 0, keep = 0;

	if (!items || !cand) {
		free(items);
		free(cand);
		return -ENOMEM;
	}
	/* (a) */
	for (;;) {
		const struct learn_service *best = NULL;

		for (size_t i = 0; i < cat->n; i++) {
			const struct learn_service *s = &cat->v[i];
			struct item t = { .svc = s };

			if (!range_only(s) ||
			    name_ports(P, n, &t, false) < (x->o->ranges ? 1u : 2u))
				continue;
			if (!best || s->nports < best->nports ||
			    (s->nports == best->nports && s->order < best->order))
				best = s;
		}
		if (!best)
			break;
		items[ni] = (struct item){ .svc = best, .range = true };
		name_ports(P, n, &items[ni++], true);
	}
	/* (b) */
	for (size_t i = 0; i < cat->n; i++)
		if (fits(&cat->v[i], P, n, items, ni))
			cand[nc++] = &cat->v[i];
	if (nc)
		qsort(cand, nc, sizeof(*cand), svc_cmp);
	for (size_t i = 0; i < nc; i++) {
		struct item t = { .svc = cand[i] };

		if (!name_ports(P, n, &t, false))
			continue;
		items[ni] = t;
		name_ports(P, n, &items[ni++], true);
	}
	for (size_t a = 0; a < ni; a++) {
		for (size_t b = 0; items[a].range && b < ni && !items[a].gone; b++) {
			bool all = !items[b].range;

			for (size_t k = 0; all && k < items[a].svc->nspecs; k++)
				all = spec_within(&items[a].svc->specs[k], items[b].svc);
			items[a].gone = all;
		}
	}
	/* (c) */
	for (size_t i = 0; i < n; i++) {
		struct item t = { .spec = { .proto = P[i].proto,
					    .lo = (uint16_t)P[i].port,
					    .hi = (uint16_t)P[i].port } };

		if (P[i].named)
			continue;
		while (x->o->ranges && i + 1 < n && !P[i + 1].named &&
		       P[i + 1].proto == P[i].proto && P[i + 1].port == P[i].port + 1)
			t.spec.hi = (uint16_t)P[++i].port;
		items[ni++] = t;
	}
	for (size_t i = 0; i < ni; i++) {
		if (items[i].gone)
			continue;
		for (size_t k = 0; k < n; k++)
			if (sg_item_holds(&items[i], P[k].proto, P[k].port)) {
				items[i].kproto = P[k].proto;
				items[i].kport = P[k].port;
				break;
			}
		items[keep++] = items[i];
	}
	if (keep)
		qsort(items, keep, sizeof(*items), item_cmp);
	free(cand);
	*out = items;
	*nout = keep;
	return 0;
}

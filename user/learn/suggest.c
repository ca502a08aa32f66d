// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpseg suggest`: the observations, judged under a policy, as policy text
 * that allows what passed at the time and nothing broader.
 *
 * This file: the suggestion's state (the flows sorted out: passed, dropped,
 * not nameable, aggregate), the evidence of a rule, the rules (one per
 * source, destination and item) and learn_suggest(). The items of a pair
 * (the services fitted to the ports observed): suggest_items.c; the
 * segments proposed for addresses in no segment: suggest_propose.c; the
 * text: suggest_print.c; what they share: suggest_int.h.
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

/* ---- The suggestion's state ------------------------------------------------- */

/* The declared segment a (derived) segment belongs to; 0: world. */
uint16_t sg_declared(const struct xs_policy *p, uint16_t seg)
{
	for (int guard = 0; seg && seg <= p->nsegments && p->segments[seg - 1].derived; guard++) {
		if (guard > 4096)
			return 0;
		seg = p->segments[seg - 1].parent;
	}
	return seg <= p->nsegments ? seg : 0;
}

/* A name the language reads as a segment's (a read-back policy's too). */
bool sg_name_ok(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (const char *q = s; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '_' || *q == '-' || *q == '.'))
			return false;
	return strlen(s) < 120;
}

const char *sg_ep_name(const struct ctx *x, uint32_t ep)
{
	const char *n;

	if (ep >= PROPOSED)
		return x->g[ep - PROPOSED].name;
	if (!ep)
		return "world";
	n = xs_compiled_segment_name(x->c, (uint16_t)ep);
	return n ? n : "world";
}

/* Can a rule name (proto, port)? tcp/udp 1-65535, icmp/icmpv6 types 0-255. */
bool sg_nameable(uint8_t proto, int32_t port)
{
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		return port >= 1 && port <= 65535;
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		return port >= 0 && port <= 255;
	return false;
}

int sg_push(void *vp, size_t *n, size_t *cap, size_t size, const void *e)
{
	void **v = vp;

	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		void *nv = realloc(*v, c * size);

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	memcpy((char *)*v + *n * size, e, size);
	(*n)++;
	return 0;
}

/* The flows sorted out: passed (nameable or not), dropped, aggregate; the
 * world addresses of the passing ones. */
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

/* ---- Evidence ------------------------------------------------------------------ */

static int addr_cmp(const void *x, const void *y)
{
	return memcmp(x, y, 17);
}

static int day_cmp(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

static size_t distinct(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	size_t k = 0;

	if (!n)
		return 0;
	qsort(v, n, size, cmp);
	for (size_t i = 0; i < n; i++)
		if (!k || cmp((char *)v + (k - 1) * size, (char *)v + i * size))
			memmove((char *)v + k++ * size, (char *)v + i * size, size);
	return k;
}

/* The evidence of the flows e[0..n) that `it` holds (it NULL: all of them). */
int sg_evidence(const struct entry *e, size_t n, const struct item *it, struct evidence *ev)
{
	uint8_t(*addrs)[17] = calloc(n + 1, sizeof(*addrs));
	int64_t *days = calloc(n + 1, sizeof(*days));
	size_t k = 0;

	memset(ev, 0, sizeof(*ev));
	ev->first = -1;
	if (!addrs || !days) {
		free(addrs);
		free(days);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct xs_store_row *r = &e[i].f->r;

		if (it && !sg_item_holds(it, e[i].proto, e[i].port))
			continue;
		ev->conns += r->connections;
		if (r->decision == XS_STORE_AUDIT)
			ev->audited += r->connections;
		if (ev->first < 0 || r->first_seen < ev->first)
			ev->first = r->first_seen;
		if (r->last_seen > ev->last)
			ev->last = r->last_seen;
		addrs[k][0] = r->family;
		memcpy(&addrs[k][1], r->src, 16);
		days[k++] = r->day;
	}
	ev->clients = distinct(addrs, k, sizeof(*addrs), addr_cmp);
	ev->days = distinct(days, k, sizeof(*days), day_cmp);
	free(addrs);
	free(days);
	return 0;
}

/* ---- The rules ----------------------------------------------------------------- */

static const struct ctx *sort_ctx;

static int entry_cmp(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	int d = strcmp(sg_ep_name(sort_ctx, a->src), sg_ep_name(sort_ctx, b->src));

	if (!d)
		d = strcmp(sg_ep_name(sort_ctx, a->dst), sg_ep_name(sort_ctx, b->dst));
	if (!d)
		d = a->proto - b->proto;
	if (!d)
		d = (a->port > b->port) - (a->port < b->port);
	return d;
}

void sg_sort_entries(const struct ctx *x, struct entry *e, size_t n)
{
	sort_ctx = x;
	if (n)
		qsort(e, n, sizeof(*e), entry_cmp);
	sort_ctx = NULL;
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

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpseg suggest`, the bottom of it (suggest.c): what every part uses:
 * segment and endpoint names, the growth of arrays, the evidence of a rule
 * (connections, clients, days, first and last) and the order of entries.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "suggest_int.h"

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

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpseg suggest`: the observations, judged under a policy, as policy text
 * that allows what passed at the time and nothing broader.
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
 *
 * An address in no segment of the policy (world) gets a proposed segment:
 * the addresses of the flows' world ends grouped by a prefix of the limit's
 * length, each group the smallest prefix covering what was seen in it,
 * never a whole private range or wider (then the addresses themselves).
 * Proposed segments are active statements (with a comment to review them),
 * so the text compiles and replays as it reads.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"
#include "text.h"

/* Endpoint ids past any policy's segments: proposed segment k is PROPOSED + k. */
#define PROPOSED 0x10000u

void learn_suggest_defaults(struct learn_suggest_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->min_days = LEARN_SUGGEST_MIN_DAYS;
	o->max_prefix4 = LEARN_SUGGEST_PREFIX4;
	o->max_prefix6 = LEARN_SUGGEST_PREFIX6;
}

/* ---- Addresses in no segment, and the segments proposed for them ------------ */

struct waddr {
	uint8_t family;
	uint8_t addr[16];
	uint32_t group;
};

struct proposal {
	uint8_t family;
	uint8_t addr[16]; /* the covering prefix, host bits clear */
	unsigned int len;
	size_t first, n; /* its addresses in the sorted waddrs */
	bool hosts;	 /* the prefix would be a whole private range: the addresses */
	char name[32];
};

/* The ranges a proposal never covers whole: RFC 1918, RFC 6598, ULA, link-local. */
static const struct {
	uint8_t family;
	uint8_t addr[16];
	unsigned int len;
} private_ranges[] = {
	{ 4, { 10 }, 8 },	{ 4, { 172, 16 }, 12 }, { 4, { 192, 168 }, 16 },
	{ 4, { 100, 64 }, 10 }, { 6, { 0xfc }, 7 },	{ 6, { 0xfe, 0x80 }, 10 },
};

static bool prefix_holds(const uint8_t *pfx, unsigned int len, const uint8_t *addr)
{
	unsigned int full = len / 8, rest = len % 8;

	if (memcmp(pfx, addr, full))
		return false;
	return !rest || !((pfx[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest)));
}

static void prefix_clear(uint8_t *addr, unsigned int len, unsigned int bytes)
{
	for (unsigned int b = 0; b < bytes; b++) {
		if (b * 8 >= len)
			addr[b] = 0;
		else if (b * 8 + 8 > len)
			addr[b] &= (uint8_t)(0xff << (8 - (len - b * 8)));
	}
}

static unsigned int common_len(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int n = 0;

	while (n < bits && !((a[n / 8] ^ b[n / 8]) & (0x80 >> (n % 8))))
		n++;
	return n;
}

static int waddr_cmp(const void *x, const void *y)
{
	const struct waddr *a = x, *b = y;

	if (a->family != b->family)
		return a->family - b->family;
	return memcmp(a->addr, b->addr, 16);
}

/* ---- The suggestion's state ------------------------------------------------- */

/* One side of a flow, one flow of a pair. */
struct entry {
	uint32_t src, dst; /* segment ids (0: world), or PROPOSED + k */
	uint8_t proto;
	int32_t port;
	const struct learn_flow *f;
};

struct item {
	const struct learn_service *svc; /* or a spec: */
	struct xs_portspec spec;
	uint8_t kproto; /* the lowest observed (protocol, port) it holds */
	int32_t kport;
	bool range; /* chosen by (a) */
	bool gone;
};

struct evidence {
	uint64_t conns, audited;
	size_t clients, days;
	int64_t first, last;
};

struct rule {
	uint32_t src, dst;
	struct item it;
	struct evidence ev;
};

struct ctx {
	const struct learn_set *s;
	const struct xs_compiled *c;
	const struct xs_policy *p;
	const struct learn_catalog *cat;
	const struct learn_suggest_opts *o;
	uint16_t only; /* --segment's id; 0: every segment */
	struct waddr *wa;
	size_t nwa;
	struct proposal *g;
	size_t ng;
	struct entry *pass, *drop, *odd; /* passed; dropped; passed but unnameable */
	size_t npass, ndrop, nodd;
	size_t naggregate;
	uint64_t aggregate_conns;
	struct rule *rules;
	size_t nrules, cap_rules;
	bool *svc_used;	    /* per catalog service */
	bool *seen, *ruled; /* per segment id: any flow; a rule suggested */
};

/* The declared segment a (derived) segment belongs to; 0: world. */
static uint16_t declared(const struct xs_policy *p, uint16_t seg)
{
	for (int guard = 0; seg && seg <= p->nsegments && p->segments[seg - 1].derived; guard++) {
		if (guard > 4096)
			return 0;
		seg = p->segments[seg - 1].parent;
	}
	return seg <= p->nsegments ? seg : 0;
}

/* A name the language reads as a segment's (a read-back policy's too). */
static bool name_ok(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (const char *q = s; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '_' || *q == '-' || *q == '.'))
			return false;
	return strlen(s) < 120;
}

static const char *ep_name(const struct ctx *x, uint32_t ep)
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
static bool nameable(uint8_t proto, int32_t port)
{
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		return port >= 1 && port <= 65535;
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		return port >= 0 && port <= 255;
	return false;
}

static int push(void *vp, size_t *n, size_t *cap, size_t size, const void *e)
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
		uint16_t src = declared(x->p, f->src_seg), dst = declared(x->p, f->dst_seg);
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
			if (push(&x->drop, &x->ndrop, &cd, sizeof(e), &e))
				return -ENOMEM;
			continue;
		}
		if (!nameable(f->r.proto, f->r.port) ||
		    (src && !name_ok(xs_compiled_segment_name(x->c, src))) ||
		    (dst && !name_ok(xs_compiled_segment_name(x->c, dst)))) {
			if (push(&x->odd, &x->nodd, &co, sizeof(e), &e))
				return -ENOMEM;
			continue;
		}
		if (push(&x->pass, &x->npass, &cp, sizeof(e), &e))
			return -ENOMEM;
		for (int side = 0; side < 2; side++) {
			struct waddr w = { .family = f->r.family };

			if (side ? dst : src)
				continue;
			memcpy(w.addr, side ? f->r.dst : f->r.src, 16);
			if (push(&x->wa, &x->nwa, &cw, sizeof(w), &w))
				return -ENOMEM;
		}
	}
	return 0;
}

/* Group the world addresses into proposed segments, and name each side of
 * the passing flows by its endpoint. */
static int propose(struct ctx *x)
{
	size_t n = 0, cap = 0, k = 1;

	if (x->nwa)
		qsort(x->wa, x->nwa, sizeof(*x->wa), waddr_cmp);
	for (size_t i = 0; i < x->nwa; i++)
		if (!n || waddr_cmp(&x->wa[n - 1], &x->wa[i]))
			x->wa[n++] = x->wa[i];
	x->nwa = n;
	for (size_t i = 0, j; i < x->nwa; i = j) {
		const struct waddr *a = &x->wa[i];
		unsigned int bits = a->family == 6 ? 128 : 32;
		unsigned int lim = a->family == 6 ? x->o->max_prefix6 : x->o->max_prefix4;
		struct proposal g = { .family = a->family, .first = i };

		if (lim > bits)
			lim = bits;
		for (j = i + 1; j < x->nwa && x->wa[j].family == a->family &&
				common_len(a->addr, x->wa[j].addr, bits) >= lim;
		     j++)
			;
		g.n = j - i;
		g.len = common_len(a->addr, x->wa[j - 1].addr, bits);
		memcpy(g.addr, a->addr, 16);
		prefix_clear(g.addr, g.len, 16);
		for (size_t r = 0; r < sizeof(private_ranges) / sizeof(private_ranges[0]); r++)
			if (private_ranges[r].family == g.family &&
			    g.len <= private_ranges[r].len &&
			    prefix_holds(g.addr, g.len, private_ranges[r].addr))
				g.hosts = true;
		for (;; k++) {
			bool taken = false;

			snprintf(g.name, sizeof(g.name), "unsegmented-%zu", k);
			for (size_t s = 0; s < x->p->nsegments && !taken; s++)
				taken = !strcmp(x->p->segments[s].name, g.name);
			if (!taken)
				break;
		}
		k++;
		for (size_t m = i; m < j; m++)
			x->wa[m].group = (uint32_t)x->ng;
		if (push(&x->g, &x->ng, &cap, sizeof(g), &g))
			return -ENOMEM;
	}
	for (size_t i = 0; i < x->npass; i++) {
		struct entry *e = &x->pass[i];

		for (int side = 0; side < 2; side++) {
			struct waddr key = { .family = e->f->r.family };
			const struct waddr *w;

			if (side ? e->dst : e->src)
				continue;
			memcpy(key.addr, side ? e->f->r.dst : e->f->r.src, 16);
			w = bsearch(&key, x->wa, x->nwa, sizeof(key), waddr_cmp);
			if (!w)
				return -EINVAL; /* every passing world end was collected */
			*(side ? &e->dst : &e->src) = PROPOSED + w->group;
		}
	}
	return 0;
}

/* ---- Items of a pair ---------------------------------------------------------- */

struct port {
	uint8_t proto;
	int32_t port;
	bool named;
};

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

static bool item_holds(const struct item *it, uint8_t proto, int32_t port)
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
		if (item_holds(it, P[i].proto, P[i].port)) {
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

static void item_text(char *buf, size_t size, const struct item *it)
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
	item_text(ta, sizeof(ta), a);
	item_text(tb, sizeof(tb), b);
	return strcmp(ta, tb);
}

/* The items naming P (sorted, distinct), in rule order; *nout of them. */
static int choose(const struct ctx *x, struct port *P, size_t n, struct item **out, size_t *nout)
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
			if (item_holds(&items[i], P[k].proto, P[k].port)) {
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
static int evidence(const struct entry *e, size_t n, const struct item *it, struct evidence *ev)
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

		if (it && !item_holds(it, e[i].proto, e[i].port))
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

/* ---- The rules ----------------------------------------------------------------- */

static const struct ctx *sort_ctx;

static int entry_cmp(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	int d = strcmp(ep_name(sort_ctx, a->src), ep_name(sort_ctx, b->src));

	if (!d)
		d = strcmp(ep_name(sort_ctx, a->dst), ep_name(sort_ctx, b->dst));
	if (!d)
		d = a->proto - b->proto;
	if (!d)
		d = (a->port > b->port) - (a->port < b->port);
	return d;
}

static void sort_entries(const struct ctx *x, struct entry *e, size_t n)
{
	sort_ctx = x;
	if (n)
		qsort(e, n, sizeof(*e), entry_cmp);
	sort_ctx = NULL;
}

static int make_rules(struct ctx *x)
{
	int ret = 0;

	sort_entries(x, x->pass, x->npass);
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
		ret = choose(x, P, n, &items, &ni);
		for (size_t k = 0; k < ni && !ret; k++) {
			struct rule r = { .src = x->pass[i].src,
					  .dst = x->pass[i].dst,
					  .it = items[k] };

			ret = evidence(&x->pass[i], j - i, &items[k], &r.ev);
			if (!ret)
				ret = push(&x->rules, &x->nrules, &x->cap_rules, sizeof(r), &r);
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

/* ---- Printing ------------------------------------------------------------------- */

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
			    prefix_holds(v[k].addr, v[k].len, in->addr) &&
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
		fprintf(out, "%s%s", k ? ", " : " inside ", ep_name(x, outer[k]));
}

static bool printable_segment(const struct xs_segment *s)
{
	return !s->builtin && !s->derived && name_ok(s->name) && s->nprefixes;
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

			if (push(&v, &n, &cap, sizeof(o), &o))
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

			if (push(&v, &n, &cap, sizeof(o), &o))
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
			fprintf(out, "\n# %s -> %s\n", ep_name(x, r->src), ep_name(x, r->dst));
		item_text(t, sizeof(t), &r->it);
		fprintf(out, "# ");
		print_evidence(out, &r->ev);
		fprintf(out, ": %s\n", r->ev.days < x->o->min_days ? "learning" : "stable");
		fprintf(out, "allow %s -> %s : %s\n", ep_name(x, r->src), ep_name(x, r->dst), t);
	}
}

/* The flows of e[0..n) (sorted) per (source, destination, port), as comments. */
static int print_flow_block(FILE *out, const struct ctx *x, struct entry *e, size_t n,
			    const char *title)
{
	if (!n)
		return 0;
	sort_entries(x, e, n);
	fprintf(out, "\n# %s\n", title);
	for (size_t i = 0, j; i < n; i = j) {
		const struct learn_service *s =
			nameable(e[i].proto, e[i].port)
				? learn_port_service(x->cat, e[i].proto, e[i].port)
				: NULL;
		struct evidence ev;
		char port[32];

		for (j = i + 1; j < n && e[j].src == e[i].src && e[j].dst == e[i].dst &&
				e[j].proto == e[i].proto && e[j].port == e[i].port;
		     j++)
			;
		if (evidence(&e[i], j - i, NULL, &ev))
			return -ENOMEM;
		learn_port_text(port, sizeof(port), e[i].proto, e[i].port);
		fprintf(out, "#   %s -> %s %s", ep_name(x, e[i].src), ep_name(x, e[i].dst), port);
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
		uint16_t src = declared(x->p, f->src_seg), dst = declared(x->p, f->dst_seg);

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
		ret = propose(&x);
	if (!ret)
		ret = make_rules(&x);
	if (!ret) {
		print_header(out, &x);
		print_services(out, &x);
		ret = print_segments(out, &x);
	}
	if (!ret) {
		print_binds(out, &x);
		print_rules(out, &x);
		ret = print_flow_block(out, &x, x.drop, x.ndrop,
				       "seen and dropped, not suggested:");
	}
	if (!ret)
		ret = print_flow_block(out, &x, x.odd, x.nodd,
				       "seen and passed, not suggested: a rule cannot name these "
				       "(a rule without ':' would allow every protocol):");
	if (!ret)
		ret = print_aggregates(out, &x);
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

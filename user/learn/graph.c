// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpseg map`: the observed segment graph, as text and JSON. The flows are
 * sorted once by (source segment, destination segment, service, decision,
 * client) and walked: each run of a pair is an edge, each run of a service
 * and decision in it a service, each change of source address a client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/show.h"
#include "graph.h"
#include "json.h"

const char *learn_class_name(unsigned int cls)
{
	static const char *const n[] = { "allow", "audit", "drop" };

	return cls < LEARN_NCLASSES ? n[cls] : "?";
}

const char *learn_graph_seg(const struct learn_graph *g, uint16_t seg, char *buf, size_t size)
{
	const char *n = xs_compiled_segment_name(g->c, seg);

	if (n)
		return n;
	snprintf(buf, size, "seg-%u", seg);
	return buf;
}

/* ---- Building -------------------------------------------------------------- */

/* A flow, and where the walk put it. */
struct ref {
	const struct learn_flow *f;
	const char *sn, *dn; /* segment names ("" unknown: then by id) */
	uint8_t cls;
	size_t edge, svc;  /* svc: SIZE_MAX for an aggregate row */
	size_t hsrc, hdst; /* --addresses: in g->hosts */
};

static uint8_t class_of(uint8_t verdict)
{
	return verdict == XS_VERDICT_ALLOW   ? LEARN_ALLOWED
	       : verdict == XS_VERDICT_AUDIT ? LEARN_AUDIT
					     : LEARN_DROPPED;
}

static const char *seg_name(const struct xs_compiled *c, uint16_t seg)
{
	const char *n = xs_compiled_segment_name(c, seg);

	return n ? n : "";
}

#define CMP(a, b)                                  \
	do {                                       \
		if ((a) != (b))                    \
			return (a) < (b) ? -1 : 1; \
	} while (0)

static int cmp_pair(const struct ref *x, const struct ref *y)
{
	int r = strcmp(x->sn, y->sn);

	if (r)
		return r;
	CMP(x->f->src_seg, y->f->src_seg);
	r = strcmp(x->dn, y->dn);
	if (r)
		return r;
	CMP(x->f->dst_seg, y->f->dst_seg);
	return 0;
}

/* The service and decision a keyed row counts under. */
static int cmp_service(const struct ref *x, const struct ref *y)
{
	CMP(x->f->r.aggregate, y->f->r.aggregate);
	CMP(x->f->r.proto, y->f->r.proto);
	CMP(x->f->r.port, y->f->r.port);
	CMP(x->cls, y->cls);
	CMP(x->f->lk.d.reason, y->f->lk.d.reason);
	CMP(x->f->lk.d.rule_id, y->f->lk.d.rule_id);
	return 0;
}

static int cmp_client(const struct learn_flow *x, const struct learn_flow *y)
{
	CMP(x->r.family, y->r.family);
	return memcmp(x->r.src, y->r.src, sizeof(x->r.src));
}

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int r = cmp_pair(x, y);

	if (!r)
		r = cmp_service(x, y);
	if (!r)
		r = cmp_client(x->f, y->f);
	return r;
}

static int client_cmp(const void *a, const void *b)
{
	return cmp_client(*(const struct learn_flow *const *)a,
			  *(const struct learn_flow *const *)b);
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 8;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

static void seen(int64_t *first, int64_t *last, const struct xs_store_row *r, bool empty)
{
	if (empty || r->first_seen < *first)
		*first = r->first_seen;
	if (empty || r->last_seen > *last)
		*last = r->last_seen;
}

static void new_service(struct learn_gsvc *sv, const struct learn_graph *g, const struct ref *x,
			const struct learn_catalog *cat)
{
	const struct learn_flow *f = x->f;
	const struct learn_service *s = cat ? learn_port_service(cat, f->r.proto, f->r.port) : NULL;
	const struct xs_compiled *c = g->c;
	char port[32];

	memset(sv, 0, sizeof(*sv));
	sv->proto = f->r.proto;
	sv->port = f->r.port;
	sv->name = s ? s->name : NULL;
	sv->cls = x->cls;
	sv->d = f->lk.d;
	learn_port_text(port, sizeof(port), f->r.proto, f->r.port);
	if (sv->name) {
		snprintf(sv->label, sizeof(sv->label), "%s (%s)", sv->name, port);
		snprintf(sv->short_label, sizeof(sv->short_label), "%s", sv->name);
	} else {
		snprintf(sv->label, sizeof(sv->label), "%s", port);
		snprintf(sv->short_label, sizeof(sv->short_label), "%s", port);
	}
	if (sv->cls == LEARN_AUDIT) {
		bool src_mon =
			c->seginfo && f->src_seg < c->nseginfo && c->seginfo[f->src_seg].monitor;

		sv->monitor_seg = src_mon ? f->src_seg : f->dst_seg;
	}
	sv->first_seen = f->r.first_seen;
	sv->last_seen = f->r.last_seen;
}

/* Distinct sources of the keyed rows refs[a..b). */
static int count_clients(const struct ref *refs, size_t a, size_t b, uint64_t *n)
{
	const struct learn_flow **v = calloc(b - a + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = a; i < b; i++)
		if (!refs[i].f->r.aggregate)
			v[k++] = refs[i].f;
	qsort(v, k, sizeof(*v), client_cmp);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		*n += !i || cmp_client(v[i - 1], v[i]);
	free(v);
	return 0;
}

/* The walk: edges, services, clients. */
static int walk(struct learn_graph *g, struct ref *refs, size_t n, const struct learn_catalog *cat)
{
	size_t ecap = 0, scap = 0, start = 0;
	int ret;

	for (size_t i = 0; i < n; i++) {
		struct ref *x = &refs[i];
		const struct xs_store_row *r = &x->f->r;
		bool new_edge = !i || cmp_pair(&refs[i - 1], x);
		struct learn_edge *e;
		struct learn_gsvc *sv;

		if (new_edge) {
			if (i &&
			    (ret = count_clients(refs, start, i, &g->edges[g->nedges - 1].clients)))
				return ret;
			start = i;
			if (grow((void **)&g->edges, &ecap, g->nedges, sizeof(*g->edges)))
				return -ENOMEM;
			e = &g->edges[g->nedges++];
			memset(e, 0, sizeof(*e));
			e->src_seg = x->f->src_seg;
			e->dst_seg = x->f->dst_seg;
			scap = 0;
		}
		e = &g->edges[g->nedges - 1];
		x->edge = g->nedges - 1;
		seen(&e->first_seen, &e->last_seen, r, new_edge);
		if (r->aggregate) {
			e->agg[r->decision < 3 ? r->decision : XS_STORE_DROP] += r->connections;
			e->agg_connections += r->connections;
			x->svc = SIZE_MAX;
			continue;
		}
		e->connections += r->connections;
		if (new_edge || cmp_service(&refs[i - 1], x)) {
			if (grow((void **)&e->svc, &scap, e->nsvc, sizeof(*e->svc)))
				return -ENOMEM;
			new_service(&e->svc[e->nsvc++], g, x, cat);
		}
		x->svc = e->nsvc - 1;
		sv = &e->svc[x->svc];
		sv->connections += r->connections;
		sv->packets += r->packets;
		sv->bytes += r->bytes;
		seen(&sv->first_seen, &sv->last_seen, r, false);
		sv->clients +=
			new_edge || cmp_service(&refs[i - 1], x) || cmp_client(refs[i - 1].f, x->f);
	}
	if (n)
		return count_clients(refs, start, n, &g->edges[g->nedges - 1].clients);
	return 0;
}

static int seg_cmp(const struct xs_compiled *c, uint16_t a, uint16_t b)
{
	int r = strcmp(seg_name(c, a), seg_name(c, b));

	return r ? r : (a > b) - (a < b);
}

/* The segments of the edges, by name. */
static int segments(struct learn_graph *g)
{
	size_t cap = 0;

	for (size_t i = 0; i < g->nedges; i++) {
		uint16_t s[2] = { g->edges[i].src_seg, g->edges[i].dst_seg };

		for (int k = 0; k < 2; k++) {
			size_t at = 0;

			while (at < g->nsegs && seg_cmp(g->c, g->segs[at], s[k]) < 0)
				at++;
			if (at < g->nsegs && g->segs[at] == s[k])
				continue;
			if (grow((void **)&g->segs, &cap, g->nsegs, sizeof(*g->segs)))
				return -ENOMEM;
			memmove(&g->segs[at + 1], &g->segs[at], (g->nsegs - at) * sizeof(*g->segs));
			g->segs[at] = s[k];
			g->nsegs++;
		}
	}
	return 0;
}

/* ---- Hosts (--addresses) ------------------------------------------------------- */

/* A host key: the host (world: its prefix) and the address it was made of. */
struct hkey {
	struct learn_host h;
	const char *name;
	uint8_t raw[16];
};

static const struct xs_compiled *hkey_c; /* for the comparators (one build at a time) */

static int host_cmp(const struct learn_host *x, const struct learn_host *y)
{
	int r = seg_cmp(hkey_c, x->seg, y->seg);

	if (r)
		return r;
	CMP(x->family, y->family);
	r = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (r)
		return r;
	CMP(x->plen, y->plen);
	return 0;
}

static int hkey_cmp(const void *a, const void *b)
{
	const struct hkey *x = a, *y = b;
	int r = host_cmp(&x->h, &y->h);

	return r ? r : memcmp(x->raw, y->raw, sizeof(x->raw));
}

static int host_bsearch_cmp(const void *key, const void *elt)
{
	return host_cmp(key, elt);
}

/* world's addresses by /24 (IPv4) or /48 (IPv6), any other segment's alone */
static void host_of(struct hkey *k, uint16_t seg, uint8_t family, const uint8_t *addr)
{
	unsigned int plen = family == 4 ? 32 : 128;

	memset(k, 0, sizeof(*k));
	k->h.seg = seg;
	k->h.family = family;
	memcpy(k->raw, addr, 16);
	memcpy(k->h.addr, addr, family == 4 ? 4 : 16);
	if (seg == XS_SEG_WORLD) {
		plen = family == 4 ? 24 : 48;
		memset(k->h.addr + plen / 8, 0, 16 - plen / 8);
	}
	k->h.plen = (uint8_t)plen;
	k->h.naddrs = 1;
}

static int hosts(struct learn_graph *g, struct ref *refs, size_t n)
{
	struct hkey *v = calloc(2 * n + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	hkey_c = g->c;
	for (size_t i = 0; i < n; i++) {
		const struct learn_flow *f = refs[i].f;

		if (f->r.aggregate)
			continue;
		host_of(&v[k++], f->src_seg, f->r.family, f->r.src);
		host_of(&v[k++], f->dst_seg, f->r.family, f->r.dst);
	}
	qsort(v, k, sizeof(*v), hkey_cmp);
	g->hosts = calloc(k + 1, sizeof(*g->hosts));
	if (!g->hosts) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		if (i && !host_cmp(&v[i - 1].h, &v[i].h)) {
			g->hosts[g->nhosts - 1].naddrs += !!memcmp(v[i - 1].raw, v[i].raw, 16);
			continue;
		}
		g->hosts[g->nhosts++] = v[i].h;
	}
	for (size_t i = 0; i < n; i++) {
		const struct learn_flow *f = refs[i].f;
		struct hkey s, d;

		if (f->r.aggregate)
			continue;
		host_of(&s, f->src_seg, f->r.family, f->r.src);
		host_of(&d, f->dst_seg, f->r.family, f->r.dst);
		refs[i].hsrc = (size_t)((const struct learn_host *)bsearch(
						&s.h, g->hosts, g->nhosts, sizeof(*g->hosts),
						host_bsearch_cmp) -
					g->hosts);
		refs[i].hdst = (size_t)((const struct learn_host *)bsearch(
						&d.h, g->hosts, g->nhosts, sizeof(*g->hosts),
						host_bsearch_cmp) -
					g->hosts);
	}
	free(v);
	return 0;
}

/* A host line's member: (edge, src host, dst host, class, service). */
struct lkey {
	size_t edge, src, dst, svc;
	uint8_t cls;
	uint64_t connections;
};

static int lkey_line_cmp(const struct lkey *x, const struct lkey *y)
{
	CMP(x->edge, y->edge);
	CMP(x->src, y->src);
	CMP(x->dst, y->dst);
	CMP(x->cls, y->cls);
	return 0;
}

static int lkey_cmp(const void *a, const void *b)
{
	const struct lkey *x = a, *y = b;
	int r = lkey_line_cmp(x, y);

	if (r)
		return r;
	CMP(x->svc, y->svc);
	return 0;
}

static int lines(struct learn_graph *g, const struct ref *refs, size_t n)
{
	struct lkey *v = calloc(n + 1, sizeof(*v));
	size_t k = 0, lcap = 0, scap = 0;
	int ret = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (refs[i].svc == SIZE_MAX)
			continue;
		v[k++] = (struct lkey){ .edge = refs[i].edge,
					.src = refs[i].hsrc,
					.dst = refs[i].hdst,
					.svc = refs[i].svc,
					.cls = refs[i].cls,
					.connections = refs[i].f->r.connections };
	}
	qsort(v, k, sizeof(*v), lkey_cmp);
	for (size_t i = 0; i < k && !ret; i++) {
		struct learn_edge *e = &g->edges[v[i].edge];
		struct learn_gline *l;

		if (!i || lkey_line_cmp(&v[i - 1], &v[i])) {
			if (!i || v[i - 1].edge != v[i].edge)
				lcap = 0;
			ret = grow((void **)&e->lines, &lcap, e->nlines, sizeof(*e->lines));
			if (ret)
				break;
			l = &e->lines[e->nlines++];
			memset(l, 0, sizeof(*l));
			l->src = v[i].src;
			l->dst = v[i].dst;
			l->cls = v[i].cls;
			scap = 0;
		}
		l = &e->lines[e->nlines - 1];
		l->connections += v[i].connections;
		if (l->nsvc && l->svc[l->nsvc - 1] == v[i].svc)
			continue;
		ret = grow((void **)&l->svc, &scap, l->nsvc, sizeof(*l->svc));
		if (!ret)
			l->svc[l->nsvc++] = v[i].svc;
	}
	free(v);
	return ret;
}

int learn_graph_build(struct learn_graph *g, const struct learn_set *s, const struct xs_compiled *c,
		      const struct learn_catalog *cat, bool addresses)
{
	struct ref *refs = calloc(s->n + 1, sizeof(*refs));
	int ret;

	memset(g, 0, sizeof(*g));
	g->c = c;
	g->addresses = addresses;
	g->since = s->since;
	g->now = s->now;
	g->flows = s->n;
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const struct learn_flow *f = &s->v[i];

		refs[i].f = f;
		refs[i].sn = seg_name(c, f->src_seg);
		refs[i].dn = seg_name(c, f->dst_seg);
		/* an aggregate row is not judged: its class is what was recorded */
		refs[i].cls = f->judged ? class_of(f->lk.d.verdict) : LEARN_DROPPED;
	}
	qsort(refs, s->n, sizeof(*refs), ref_cmp);
	ret = walk(g, refs, s->n, cat);
	if (!ret)
		ret = segments(g);
	if (!ret && addresses)
		ret = hosts(g, refs, s->n);
	if (!ret && addresses)
		ret = lines(g, refs, s->n);
	free(refs);
	if (ret)
		learn_graph_free(g);
	return ret;
}

void learn_graph_free(struct learn_graph *g)
{
	for (size_t i = 0; i < g->nedges; i++) {
		for (size_t k = 0; k < g->edges[i].nlines; k++)
			free(g->edges[i].lines[k].svc);
		free(g->edges[i].lines);
		free(g->edges[i].svc);
	}
	free(g->edges);
	free(g->segs);
	free(g->hosts);
	memset(g, 0, sizeof(*g));
}

/* ---- Naming -------------------------------------------------------------------- */

void learn_host_text(char *buf, size_t size, const struct learn_host *h)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(h->family == 4 ? AF_INET : AF_INET6, h->addr, a, sizeof(a));
	if (h->plen == (h->family == 4 ? 32 : 128))
		snprintf(buf, size, "%s", a);
	else
		snprintf(buf, size, "%s/%u", a, h->plen);
}

void learn_origin_text(char *buf, size_t size, const struct xs_compiled *c, uint32_t id)
{
	const struct xs_origin_entry *o = xs_compiled_origin(c, id);

	if (o && o->line > 0)
		snprintf(buf, size, "%s:%d: %s", o->file ? o->file : "", o->line,
			 o->text ? o->text : "");
	else if (o) /* world's defaults: no line of any file */
		snprintf(buf, size, "%s", o->text ? o->text : "");
	else
		snprintf(buf, size, "#%u", id);
}

void learn_why_text(char *buf, size_t size, const struct learn_graph *g, const struct learn_edge *e,
		    const struct learn_gsvc *sv)
{
	char o[512], head[160], b1[32], b2[32];
	const char *sn = learn_graph_seg(g, e->src_seg, b1, sizeof(b1));
	const char *dn = learn_graph_seg(g, e->dst_seg, b2, sizeof(b2));
	const char *who = NULL;

	learn_origin_text(o, sizeof(o), g->c, sv->d.rule_id);
	if (sv->cls == LEARN_ALLOWED)
		snprintf(head, sizeof(head), "allowed");
	else if (sv->cls == LEARN_DROPPED)
		snprintf(head, sizeof(head), "dropped");
	else
		snprintf(head, sizeof(head),
			 "would be dropped when enforcing (%s is in monitor mode)",
			 sv->monitor_seg == e->src_seg ? sn : dn);
	switch (sv->d.reason) {
	case XS_REASON_RULE:
		snprintf(buf, size, "%s by %s", head, o);
		return;
	case XS_REASON_DENY_RULE:
		snprintf(buf, size, "%s: denied by %s", head, o);
		return;
	case XS_REASON_DEFAULT:
		snprintf(buf, size, "%s: no rule; both defaults allow: %s", head, o);
		return;
	case XS_REASON_DEFAULT_IN:
		who = dn;
		break;
	case XS_REASON_DEFAULT_OUT:
		who = sn;
		break;
	case XS_REASON_FAILSAFE:
		snprintf(buf, size, "%s: a failsafe port (no rule may drop it): %s", head, o);
		return;
	case XS_REASON_GRANT:
		snprintf(buf, size, "%s: granted: %s", head, o);
		return;
	case XS_REASON_FORENSIC:
		snprintf(buf, size, "%s: forensic access into a quarantine: %s", head, o);
		return;
	case XS_REASON_QUARANTINE:
		snprintf(buf, size, "%s: quarantined: %s", head, o);
		return;
	default:
		snprintf(buf, size, "%s: %s: %s", head, xs_reason_name(sv->d.reason), o);
		return;
	}
	snprintf(buf, size, "%s: no rule; %s denies by default: %s", head, who, o);
}

/* ---- Text ------------------------------------------------------------------------ */

/* "2025-01-01 10:00:00 UTC", "2025-01-01 10:00:00 .. 11:30:00 UTC" (one
 * day), "2025-01-01 10:00:00 UTC .. 2025-01-03 09:00:00 UTC" */
static void put_span(FILE *out, int64_t first, int64_t last)
{
	char a[64], b[64];

	xs_show_time((uint64_t)first, a, sizeof(a));
	xs_show_time((uint64_t)last, b, sizeof(b));
	if (first == last)
		fprintf(out, "%s", a);
	else if (strlen(a) > 15 && !strncmp(a, b, 11))
		fprintf(out, "%.*s .. %s", (int)(strlen(a) - 4), a, b + 11);
	else
		fprintf(out, "%s .. %s", a, b);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void text_segments(FILE *out, const struct learn_graph *g)
{
	char b[32], h[64];

	fprintf(out, "hosts:\n");
	for (size_t i = 0; i < g->nsegs; i++) {
		const char *sep = "";

		fprintf(out, "  ");
		xs_print_escaped(out, learn_graph_seg(g, g->segs[i], b, sizeof(b)));
		fprintf(out, ":");
		for (size_t k = 0; k < g->nhosts; k++) {
			const struct learn_host *x = &g->hosts[k];

			if (x->seg != g->segs[i])
				continue;
			learn_host_text(h, sizeof(h), x);
			fprintf(out, "%s %s", sep, h);
			if (x->plen != (x->family == 4 ? 32 : 128))
				fprintf(out, " (%llu %s)", (unsigned long long)x->naddrs,
					plural(x->naddrs, "address", "addresses"));
			sep = ",";
		}
		fprintf(out, "\n");
	}
	fprintf(out, "\n");
}

static void text_lines(FILE *out, const struct learn_graph *g, const struct learn_edge *e)
{
	char a[64], b[64];

	fprintf(out, "  hosts:\n");
	for (size_t i = 0; i < e->nlines; i++) {
		const struct learn_gline *l = &e->lines[i];

		learn_host_text(a, sizeof(a), &g->hosts[l->src]);
		learn_host_text(b, sizeof(b), &g->hosts[l->dst]);
		fprintf(out, "    %-5s  %s -> %s:", learn_class_name(l->cls), a, b);
		for (size_t k = 0; k < l->nsvc; k++) {
			fprintf(out, "%s ", k ? "," : "");
			xs_print_escaped(out, e->svc[l->svc[k]].short_label);
		}
		fprintf(out, "; %llu %s\n", (unsigned long long)l->connections,
			plural(l->connections, "connection", "connections"));
	}
}

static void text_aggregate(FILE *out, const struct learn_edge *e)
{
	const char *sep = "";

	fprintf(out,
		"  flood  %llu %s aggregated (flood): no addresses or ports kept; decided then:",
		(unsigned long long)e->agg_connections,
		plural(e->agg_connections, "connection", "connections"));
	for (unsigned int d = 0; d < 3; d++) {
		if (!e->agg[d])
			continue;
		fprintf(out, "%s %llu %s", sep, (unsigned long long)e->agg[d], learn_class_name(d));
		sep = ",";
	}
	fprintf(out, "\n");
}

void learn_graph_text(FILE *out, const struct learn_graph *g)
{
	uint64_t ncls[LEARN_NCLASSES] = { 0 }, nsvc = 0, agg = 0;
	char b1[32], b2[32], why[1024];

	for (size_t i = 0; i < g->nedges; i++) {
		for (size_t k = 0; k < g->edges[i].nsvc; k++)
			ncls[g->edges[i].svc[k].cls]++;
		nsvc += g->edges[i].nsvc;
		agg += g->edges[i].agg_connections;
	}
	fprintf(out,
		"%zu segment %s, %llu %s: %llu allowed, %llu audit (dropped when enforcing), "
		"%llu dropped",
		g->nedges, plural(g->nedges, "pair", "pairs"), (unsigned long long)nsvc,
		plural(nsvc, "service", "services"), (unsigned long long)ncls[LEARN_ALLOWED],
		(unsigned long long)ncls[LEARN_AUDIT], (unsigned long long)ncls[LEARN_DROPPED]);
	if (agg)
		fprintf(out, "; %llu %s aggregated (flood)", (unsigned long long)agg,
			plural(agg, "connection", "connections"));
	fprintf(out, "\n\n");
	if (g->addresses)
		text_segments(out, g);
	for (size_t i = 0; i < g->nedges; i++) {
		const struct learn_edge *e = &g->edges[i];

		xs_print_escaped(out, learn_graph_seg(g, e->src_seg, b1, sizeof(b1)));
		fprintf(out, " -> ");
		xs_print_escaped(out, learn_graph_seg(g, e->dst_seg, b2, sizeof(b2)));
		fprintf(out, ": %llu %s from %llu %s, ", (unsigned long long)e->connections,
			plural(e->connections, "connection", "connections"),
			(unsigned long long)e->clients, plural(e->clients, "client", "clients"));
		put_span(out, e->first_seen, e->last_seen);
		fprintf(out, "\n");
		for (size_t k = 0; k < e->nsvc; k++) {
			const struct learn_gsvc *sv = &e->svc[k];

			fprintf(out, "  %-5s  ", learn_class_name(sv->cls));
			xs_print_escaped(out, sv->label);
			fprintf(out, ": %llu %s, %llu %s, ", (unsigned long long)sv->connections,
				plural(sv->connections, "connection", "connections"),
				(unsigned long long)sv->clients,
				plural(sv->clients, "client", "clients"));
			put_span(out, sv->first_seen, sv->last_seen);
			learn_why_text(why, sizeof(why), g, e, sv);
			fprintf(out, "\n         ");
			xs_print_escaped(out, why);
			fprintf(out, "\n");
		}
		if (e->agg_connections)
			text_aggregate(out, e);
		if (g->addresses && e->nlines)
			text_lines(out, g, e);
		if (i + 1 < g->nedges)
			fprintf(out, "\n");
	}
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_origin(FILE *out, const struct xs_compiled *c, uint32_t id)
{
	const struct xs_origin_entry *o = xs_compiled_origin(c, id);

	fprintf(out, "{\"rule_id\":%u,\"file\":", id);
	json_print_str(out, o ? o->file : NULL);
	fprintf(out, ",\"line\":%d,\"text\":", o ? o->line : 0);
	json_print_str(out, o ? o->text : NULL);
	fprintf(out, "}");
}

static void json_seg(FILE *out, const struct learn_graph *g, const char *key, uint16_t seg)
{
	char b[32];

	fprintf(out, "\"%s\":", key);
	json_print_str(out, learn_graph_seg(g, seg, b, sizeof(b)));
}

static void json_service(FILE *out, const struct learn_graph *g, const struct learn_edge *e,
			 const struct learn_gsvc *sv)
{
	char port[32], why[1024];

	learn_port_text(port, sizeof(port), sv->proto, sv->port);
	learn_why_text(why, sizeof(why), g, e, sv);
	fprintf(out, "{\"service\":");
	if (sv->name)
		json_print_str(out, sv->name);
	else
		fprintf(out, "null");
	fprintf(out, ",\"port_text\":\"%s\",\"proto\":%u,\"port\":%d,\"class\":\"%s\"", port,
		sv->proto, sv->port, learn_class_name(sv->cls));
	fprintf(out,
		",\"verdict\":\"%s\",\"reason\":\"%s\",\"origin\":", xs_verdict_name(sv->d.verdict),
		xs_reason_name(sv->d.reason));
	json_origin(out, g->c, sv->d.rule_id);
	if (sv->cls == LEARN_AUDIT) {
		fprintf(out, ",");
		json_seg(out, g, "monitor_segment", sv->monitor_seg);
	}
	fprintf(out, ",\"why\":");
	json_print_str(out, why);
	fprintf(out,
		",\"connections\":%llu,\"clients\":%llu,\"packets\":%llu,\"bytes\":%llu,"
		"\"first_seen\":%lld,\"last_seen\":%lld}",
		(unsigned long long)sv->connections, (unsigned long long)sv->clients,
		(unsigned long long)sv->packets, (unsigned long long)sv->bytes,
		(long long)sv->first_seen, (long long)sv->last_seen);
}

static void json_host(FILE *out, const struct learn_host *h)
{
	char t[64];

	learn_host_text(t, sizeof(t), h);
	json_print_str(out, t);
}

static void json_lines(FILE *out, const struct learn_graph *g, const struct learn_edge *e)
{
	fprintf(out, ",\"hosts\":[");
	for (size_t i = 0; i < e->nlines; i++) {
		const struct learn_gline *l = &e->lines[i];

		fprintf(out, "%s{\"src\":", i ? "," : "");
		json_host(out, &g->hosts[l->src]);
		fprintf(out, ",\"dst\":");
		json_host(out, &g->hosts[l->dst]);
		fprintf(out, ",\"class\":\"%s\",\"connections\":%llu,\"services\":[",
			learn_class_name(l->cls), (unsigned long long)l->connections);
		for (size_t k = 0; k < l->nsvc; k++) {
			fprintf(out, "%s", k ? "," : "");
			json_print_str(out, e->svc[l->svc[k]].short_label);
		}
		fprintf(out, "]}");
	}
	fprintf(out, "]");
}

void learn_graph_json(FILE *out, const struct learn_graph *g)
{
	fprintf(out, "\"segments\":[");
	for (size_t i = 0; i < g->nsegs; i++) {
		fprintf(out, "%s{", i ? "," : "");
		json_seg(out, g, "name", g->segs[i]);
		fprintf(out, ",\"id\":%u", g->segs[i]);
		if (g->addresses) {
			const char *sep = "";

			fprintf(out, ",\"hosts\":[");
			for (size_t k = 0; k < g->nhosts; k++) {
				if (g->hosts[k].seg != g->segs[i])
					continue;
				fprintf(out, "%s{\"host\":", sep);
				json_host(out, &g->hosts[k]);
				fprintf(out, ",\"addresses\":%llu}",
					(unsigned long long)g->hosts[k].naddrs);
				sep = ",";
			}
			fprintf(out, "]");
		}
		fprintf(out, "}");
	}
	fprintf(out, "],\"edges\":[");
	for (size_t i = 0; i < g->nedges; i++) {
		const struct learn_edge *e = &g->edges[i];

		fprintf(out, "%s{", i ? "," : "");
		json_seg(out, g, "src", e->src_seg);
		fprintf(out, ",");
		json_seg(out, g, "dst", e->dst_seg);
		fprintf(out,
			",\"connections\":%llu,\"clients\":%llu,\"first_seen\":%lld,"
			"\"last_seen\":%lld,\"services\":[",
			(unsigned long long)e->connections, (unsigned long long)e->clients,
			(long long)e->first_seen, (long long)e->last_seen);
		for (size_t k = 0; k < e->nsvc; k++) {
			fprintf(out, "%s", k ? "," : "");
			json_service(out, g, e, &e->svc[k]);
		}
		fprintf(out,
			"],\"aggregated\":{\"connections\":%llu,\"allow\":%llu,\"audit\":%llu,"
			"\"drop\":%llu}",
			(unsigned long long)e->agg_connections, (unsigned long long)e->agg[0],
			(unsigned long long)e->agg[1], (unsigned long long)e->agg[2]);
		if (g->addresses)
			json_lines(out, g, e);
		fprintf(out, "}");
	}
	fprintf(out, "]");
}

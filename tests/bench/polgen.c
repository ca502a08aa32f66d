// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark policy generator (see polgen.h). */
#include "polgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFILL 400 /* filler segments f0001..f0400 */
#define NBENCH 3  /* bsrc, bdst, bbad: ids 1, 2, 3 */
#define SEG_BSRC 1
#define SEG_BDST 2
#define SEG_BBAD 3
#define PORTS_PER_RULE 50
#define NBENCH_ENTRIES 3

/* ---- Deterministic randomness (xorshift64*) ------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). Precondition: n > 0. */
static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)((rnd() >> 32) % n);
}

/* ---- A growable text buffer -------------------------------------------- */

struct sbuf {
	char *s;
	size_t len, cap;
	int err;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap ? b->cap * 2 : 65536;
		while (ncap - b->len <= (size_t)n)
			ncap *= 2;
		char *ns = realloc(b->s, ncap);
		if (!ns) {
			b->err = -ENOMEM;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
}

/* ---- Prefixes ------------------------------------------------------------- */

struct pfx {
	uint8_t family, len;
	uint8_t addr[16];
	uint16_t seg;
};

/* Open-addressing set of prefixes, to draw distinct ones. */
#define PSET_SLOTS 65536 /* power of two, > 4 * POLGEN_PREFIXES */

static uint32_t pfx_hash(const struct pfx *p)
{
	uint32_t h = 2166136261u ^ p->family ^ ((uint32_t)p->len << 8);

	for (int i = 0; i < 16; i++)
		h = (h ^ p->addr[i]) * 16777619u;
	return h;
}

/* Insert p (by value) unless present. Returns true if it was new.
 * Precondition: the set is less than full. */
static bool pset_add(struct pfx **set, const struct pfx *p)
{
	uint32_t i = pfx_hash(p) & (PSET_SLOTS - 1);

	while (set[i]) {
		if (set[i]->family == p->family && set[i]->len == p->len &&
		    !memcmp(set[i]->addr, p->addr, 16))
			return false;
		i = (i + 1) & (PSET_SLOTS - 1);
	}
	set[i] = (struct pfx *)p;
	return true;
}

static void mask_addr(uint8_t *addr, unsigned int len, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int bits = len > i * 8 ? len - i * 8 : 0;

		if (bits >= 8)
			continue;
		addr[i] &= (uint8_t)(0xff00u >> bits);
	}
}

/* Is p inside (or equal to) one of the bench prefixes? Those must stay
 * the longest match of the bench addresses. */
static bool in_bench(const struct pfx *p)
{
	if (p->family == 4)
		return p->len >= 24 && p->addr[0] == 10 && p->addr[1] == 77 && p->addr[2] >= 1 &&
		       p->addr[2] <= 3;
	/* fd00:77:N::/64 = fd 00 00 77 00 0N 00 00 */
	static const uint8_t head[5] = { 0xfd, 0x00, 0x00, 0x77, 0x00 };
	return p->len >= 64 && !memcmp(p->addr, head, 5) && p->addr[5] >= 1 && p->addr[5] <= 3 &&
	       !p->addr[6] && !p->addr[7];
}

/* A random v4 prefix in 10.0.0.0/8, mostly /24 and /32 (a farm's subnets
 * and hosts), some /16, /20, /28. */
static void rand_pfx4(struct pfx *p)
{
	static const uint8_t lens[10] = { 16, 20, 20, 24, 24, 24, 24, 28, 32, 32 };
	uint32_t a = 0x0a000000u | (uint32_t)(rnd() & 0x00ffffffu);

	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->len = lens[rnd_below(10)];
	a = htonl(a);
	memcpy(p->addr, &a, 4);
	mask_addr(p->addr, p->len, 4);
}

/* A random v6 prefix in fd00::/16, mostly /64, some /48, /56, /128. */
static void rand_pfx6(struct pfx *p)
{
	static const uint8_t lens[10] = { 48, 48, 56, 64, 64, 64, 64, 64, 128, 128 };

	memset(p, 0, sizeof(*p));
	p->family = 6;
	p->len = lens[rnd_below(10)];
	p->addr[0] = 0xfd;
	for (int i = 2; i < 16; i++)
		p->addr[i] = (uint8_t)rnd();
	/* Keep the upper 48 bits in a small space so prefixes nest and share
	 * trie paths (fd00:0-ff:0-f::), like a real site plan. */
	p->addr[2] = 0;
	p->addr[4] = 0;
	p->addr[5] &= 0x0f;
	mask_addr(p->addr, p->len, 16);
}

static void fmt_pfx(struct sbuf *b, const struct pfx *p)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, s, sizeof(s));
	sb_printf(b, "%s/%u", s, p->len);
}

/* Draw the filler prefixes (distinct, none inside a bench prefix), assign
 * them round-robin to the filler segments. */
static int make_prefixes(struct pfx **out, size_t *nout)
{
	size_t nfill = POLGEN_PREFIXES - 2 * NBENCH, n6 = POLGEN_PREFIXES6 - NBENCH;
	struct pfx **set = NULL, *v;
	int err = 0;

	v = calloc(nfill, sizeof(*v));
	set = calloc(PSET_SLOTS, sizeof(*set));
	if (!v || !set) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nfill;) {
		if (i < nfill - n6)
			rand_pfx4(&v[i]);
		else
			rand_pfx6(&v[i]);
		if (in_bench(&v[i]) || !pset_add(set, &v[i]))
			continue;
		v[i].seg = (uint16_t)(NBENCH + 1 + i % NFILL);
		i++;
	}
	*out = v;
	*nout = nfill;
	v = NULL;
out:
	free(set);
	free(v);
	return err;
}

/* ---- Rules ------------------------------------------------------------------ */

struct rule_line {
	uint16_t src, dst;
	uint16_t nports;
	uint16_t ports[PORTS_PER_RULE];
};

/* Distinct random (src, dst) pairs of filler rules; about one in ten
 * starts at bsrc or ends at bdst, so the rule trie is dense around the
 * bench keys. Never (bsrc, bdst) or (bbad, bdst): those are the bench's. */
static void pick_pair(uint8_t *used, uint16_t nseg, uint16_t *src, uint16_t *dst)
{
	for (;;) {
		uint16_t s = (uint16_t)(1 + rnd_below(nseg)), d = (uint16_t)(1 + rnd_below(nseg));
		uint32_t r = rnd_below(20);

		if (r == 0)
			s = SEG_BSRC;
		else if (r == 1)
			d = SEG_BDST;
		if (d == SEG_BDST && (s == SEG_BSRC || s == SEG_BBAD))
			continue;
		size_t bit = (size_t)s * (nseg + 1) + d;
		if (used[bit / 8] & (1u << (bit % 8)))
			continue;
		used[bit / 8] |= (uint8_t)(1u << (bit % 8));
		*src = s;
		*dst = d;
		return;
	}
}

static void pick_ports(struct rule_line *r, uint16_t n)
{
	r->nports = 0;
	while (r->nports < n) {
		uint16_t p = (uint16_t)(1 + rnd_below(65535));
		bool dup = false;

		for (uint16_t i = 0; i < r->nports; i++)
			dup |= r->ports[i] == p;
		if (!dup)
			r->ports[r->nports++] = p;
	}
}

/* ---- The generator ------------------------------------------------------------ */

static void put_rule(struct polgen *g, uint16_t src, uint16_t dst, uint8_t proto, uint16_t port,
		     uint32_t plen, uint32_t rule_id, uint8_t action)
{
	struct xs_rule_entry *e = &g->rules[g->nrules++];

	memset(e, 0, sizeof(*e));
	e->key.prefixlen = plen;
	e->key.src_seg = src;
	e->key.dst_seg = dst;
	e->key.proto = proto;
	e->key.port = htons(port);
	e->val.rule_id = rule_id;
	e->val.action = action;
}

static void put_pfx(struct polgen *g, const struct pfx *p)
{
	if (p->family == 4) {
		struct xs_lpm4_entry *e = &g->v4[g->nv4++];

		memset(e, 0, sizeof(*e));
		e->key.prefixlen = p->len;
		memcpy(e->key.addr, p->addr, 4);
		e->val.seg = p->seg;
	} else {
		struct xs_lpm6_entry *e = &g->v6[g->nv6++];

		memset(e, 0, sizeof(*e));
		e->key.prefixlen = p->len;
		memcpy(e->key.addr, p->addr, 16);
		e->val.seg = p->seg;
	}
}

static const char *seg_name(uint16_t id, char *buf, size_t size)
{
	static const char *const bench[NBENCH] = { "bsrc", "bdst", "bbad" };

	if (id >= 1 && id <= NBENCH)
		return bench[id - 1];
	snprintf(buf, size, "f%04u", (unsigned int)(id - NBENCH));
	return buf;
}

int polgen_make(struct polgen *g, size_t entries)
{
	static const char *const bench_pfx[NBENCH][2] = {
		{ "10.77.1.0/24", "fd00:77:1::/64" },
		{ "10.77.2.0/24", "fd00:77:2::/64" },
		{ "10.77.3.0/24", "fd00:77:3::/64" },
	};
	const uint16_t nseg = NBENCH + NFILL;
	size_t nfill_entries, nlines, npfx = 0;
	struct rule_line *lines = NULL;
	struct pfx *pfx = NULL;
	struct sbuf b = { 0 };
	uint8_t *used = NULL;
	uint32_t next_id;
	char n1[16], n2[16];
	int err;

	/* Precondition: room for the bench rules. */
	if (entries < NBENCH_ENTRIES || entries > XS_MAX_RULE_ENTRIES)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	rng_state = 0x9e3779b97f4a7c15ULL;

	err = make_prefixes(&pfx, &npfx);
	if (err)
		goto out;
	nfill_entries = entries - NBENCH_ENTRIES;
	nlines = (nfill_entries + PORTS_PER_RULE - 1) / PORTS_PER_RULE;
	lines = calloc(nlines ? nlines : 1, sizeof(*lines));
	used = calloc(((size_t)(nseg + 1) * (nseg + 1)) / 8 + 1, 1);
	g->v4 = calloc(POLGEN_PREFIXES, sizeof(*g->v4));
	g->v6 = calloc(POLGEN_PREFIXES, sizeof(*g->v6));
	g->rules = calloc(entries, sizeof(*g->rules));
	g->seginfo = calloc(nseg + 2, sizeof(*g->seginfo)); /* world, segments, link-local */
	g->binds = calloc(1, sizeof(*g->binds));	    /* [0] only: no bind */
	if (!lines || !used || !g->v4 || !g->v6 || !g->rules || !g->seginfo || !g->binds) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nlines; i++) {
		size_t left = nfill_entries - i * PORTS_PER_RULE;

		pick_pair(used, nseg, &lines[i].src, &lines[i].dst);
		pick_ports(&lines[i], (uint16_t)(left < PORTS_PER_RULE ? left : PORTS_PER_RULE));
	}

	sb_printf(&b, "# xdpseg-bench: %zu rule-table entries, %d segment prefixes\n", entries,
		  POLGEN_PREFIXES);
	for (uint16_t s = 1; s <= NBENCH; s++) {
		struct pfx p = { .seg = s };

		sb_printf(&b, "segment %s %s, %s\n", seg_name(s, n1, sizeof(n1)),
			  bench_pfx[s - 1][0], bench_pfx[s - 1][1]);
		for (int f = 0; f < 2; f++) {
			char a[INET6_ADDRSTRLEN];

			snprintf(a, sizeof(a), "%s", bench_pfx[s - 1][f]);
			*strchr(a, '/') = '\0';
			p.family = f ? 6 : 4;
			p.len = f ? 64 : 24;
			inet_pton(f ? AF_INET6 : AF_INET, a, p.addr);
			put_pfx(g, &p);
		}
	}
	for (uint16_t s = NBENCH + 1; s <= nseg; s++) {
		bool first = true;

		sb_printf(&b, "segment %s ", seg_name(s, n1, sizeof(n1)));
		for (size_t i = s - NBENCH - 1; i < npfx; i += NFILL) {
			sb_printf(&b, "%s", first ? "" : ", ");
			fmt_pfx(&b, &pfx[i]);
			put_pfx(g, &pfx[i]);
			first = false;
		}
		sb_printf(&b, "\n");
	}
	/* the built-in link-local segment, after the declared ones */
	for (int f = 0; f < 2; f++) {
		struct pfx p = { .seg = nseg + 1, .family = f ? 6 : 4, .len = f ? 10 : 16 };

		p.addr[0] = f ? 0xfe : 169;
		p.addr[1] = f ? 0x80 : 254;
		put_pfx(g, &p);
	}

	/* The bench port: "lo" (where BPF_PROG_RUN runs) sends as the bench source
	 * (est4b, est6b bind it; the other rows run unbound). */
	sb_printf(&b, "bind bsrc lo %s, %s\n", BENCH_SRC4, BENCH_SRC6);

	/* Rule ids: the bench rules, then the filler rules, in source order. */
	sb_printf(&b, "allow bsrc -> bdst : tcp/%d, udp/%d\n", BENCH_ALLOW_TCP, BENCH_ALLOW_UDP);
	put_rule(g, SEG_BSRC, SEG_BDST, IPPROTO_TCP, BENCH_ALLOW_TCP, XS_RULE_PLEN_PORT(16), 1,
		 XS_ACT_ALLOW);
	put_rule(g, SEG_BSRC, SEG_BDST, IPPROTO_UDP, BENCH_ALLOW_UDP, XS_RULE_PLEN_PORT(16), 1,
		 XS_ACT_ALLOW);
	sb_printf(&b, "deny bbad -> bdst\n");
	put_rule(g, SEG_BBAD, SEG_BDST, 0, 0, XS_RULE_PLEN_PAIR, 2, XS_ACT_DENY);
	next_id = 3;
	for (size_t i = 0; i < nlines; i++, next_id++) {
		const struct rule_line *r = &lines[i];

		sb_printf(&b, "allow %s -> %s :", seg_name(r->src, n1, sizeof(n1)),
			  seg_name(r->dst, n2, sizeof(n2)));
		for (uint16_t k = 0; k < r->nports; k++) {
			sb_printf(&b, "%s tcp/%u", k ? "," : "", r->ports[k]);
			put_rule(g, r->src, r->dst, IPPROTO_TCP, r->ports[k], XS_RULE_PLEN_PORT(16),
				 next_id, XS_ACT_ALLOW);
		}
		sb_printf(&b, "\n");
	}
	err = b.err;
	if (err)
		goto out;

	/* Implicit defaults: a declared segment and link-local are `in deny out
	 * allow`, world `in allow out allow`; each default gets its own origin id. */
	g->nsegments = nseg;
	g->nseginfo = (size_t)nseg + 2;
	g->nrule_lines = 2 + nlines;
	for (size_t s = 0; s <= (size_t)nseg + 1; s++) {
		struct xs_seg_info *si = &g->seginfo[s];

		si->in_action = s ? XS_ACT_DENY : XS_ACT_ALLOW;
		si->out_action = XS_ACT_ALLOW;
		si->in_rule_id = next_id++;
		si->out_rule_id = next_id++;
	}
	g->text = b.s;
	g->len = b.len;
	b.s = NULL;
out:
	free(b.s);
	free(pfx);
	free(lines);
	free(used);
	if (err)
		polgen_free(g);
	return err;
}

void polgen_free(struct polgen *g)
{
	free(g->text);
	free(g->v4);
	free(g->v6);
	free(g->rules);
	free(g->seginfo);
	free(g->binds);
	memset(g, 0, sizeof(*g));
}

void polgen_as_compiled(const struct polgen *g, struct xs_policy *pol, struct xs_compiled *c)
{
	memset(pol, 0, sizeof(*pol));
	pol->nrules = g->nrule_lines;
	c->policy = pol;
	c->v4 = g->v4;
	c->nv4 = g->nv4;
	c->v6 = g->v6;
	c->nv6 = g->nv6;
	c->rules = g->rules;
	c->nrules = g->nrules;
	c->seginfo = g->seginfo;
	c->nseginfo = g->nseginfo;
	c->setinfo.ll_seg = (uint16_t)(g->nsegments + 1);
	pol->linklocal_seg = c->setinfo.ll_seg;
	c->binds = g->binds;
	c->nbinds = 1;
}

/* ---- Large policies for the compile benchmark ------------------------------ */

char *polgen_big(enum polgen_big kind, size_t *len, size_t *nrules)
{
	struct sbuf b = { 0 };
	int nseg = kind == POLGEN_SPREAD_PORTS ? 64 : 2;
	/* single ports: as many rules as rule ids allow next to the implicit
	 * defaults of the segments, world's and link-local's */
	size_t n = kind == POLGEN_WIDE_RULES ? 4000 : (size_t)(XS_MAX_RULES - 1 - nseg - 2);

	sb_printf(&b, "# xdpseg-bench --compile\n");
	for (int i = 0; i < nseg; i++)
		sb_printf(&b, "segment s%d 10.%d.0.0/16\n", i, i);
	for (size_t r = 0; r < n; r++) {
		if (kind == POLGEN_SINGLE_PORTS) {
			sb_printf(&b, "allow s0 -> s1 : tcp/%zu\n", r + 1);
		} else if (kind == POLGEN_SPREAD_PORTS) {
			sb_printf(&b, "allow s%zu -> s%zu : tcp/%zu\n", r % 64, r / 64 % 64, r + 1);
		} else {
			/* 30 ports each, all distinct: tcp, then udp */
			sb_printf(&b, "allow s0 -> s1 :");
			for (size_t k = 0; k < 30; k++) {
				size_t p = r * 30 + k;

				sb_printf(&b, "%s %s/%zu", k ? "," : "", p < 65535 ? "tcp" : "udp",
					  p % 65535 + 1);
			}
			sb_printf(&b, "\n");
		}
	}
	if (b.err) {
		free(b.s);
		return NULL;
	}
	*len = b.len;
	*nrules = n;
	return b.s;
}

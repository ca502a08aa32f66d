// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Lookups over the compiled tables: a flow decided the way the datapath
 * decides it (bpf/lib/policy.h, bpf/xdpseg.bpf.c), from the same entries
 * (a file's, or the running policy's read back from the kernel), ending in
 * the same code (xs_decide_entry(), include/xdpseg_decide.h).
 *
 * The kernel's LPM tries answer "the longest prefix holding this key". Over
 * sorted arrays the same answer is: for each prefix length the table holds,
 * longest first, an exact search of the key cut to that length. Tables hold
 * few distinct lengths (a policy's /16s, /24s, /32s; the rule table's port
 * blocks), so a lookup is a handful of binary searches.
 */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- Bits --------------------------------------------------------------- */

/* Clear the bits of b[0..n) from bit `bits` on (most significant first). */
static void mask_bits(uint8_t *b, size_t n, unsigned int bits)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int lo = (unsigned int)i * 8;

		if (bits <= lo)
			b[i] = 0;
		else if (bits < lo + 8)
			b[i] &= (uint8_t)(0xff << (lo + 8 - bits));
	}
}

/* The rule key's data (what the trie matches: 8 bytes after prefixlen) cut to plen. */
static void rule_key_mask(struct xs_rule_key *k, unsigned int plen)
{
	uint8_t d[8];

	memcpy(d, &k->src_seg, sizeof(d));
	mask_bits(d, sizeof(d), plen);
	memcpy(&k->src_seg, d, sizeof(d));
}

/* ---- Orders (the compiler's, so read-back tables hash as compiled ones) -- */

/* compile.c's entry order (src, dst, protocol, port, length); the pad byte,
 * always 0 from the compiler, last, so that exact searches see it. */
static int rule_key_cmp(const struct xs_rule_key *x, const struct xs_rule_key *y)
{
	if (x->src_seg != y->src_seg)
		return x->src_seg < y->src_seg ? -1 : 1;
	if (x->dst_seg != y->dst_seg)
		return x->dst_seg < y->dst_seg ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return ntohs(x->port) < ntohs(y->port) ? -1 : 1;
	if (x->prefixlen != y->prefixlen)
		return x->prefixlen < y->prefixlen ? -1 : 1;
	return (int)x->pad - (int)y->pad;
}

static int rule_cmp(const void *a, const void *b)
{
	return rule_key_cmp(&((const struct xs_rule_entry *)a)->key,
			    &((const struct xs_rule_entry *)b)->key);
}

static int overlay_cmp(const void *a, const void *b)
{
	const struct xs_overlay_entry *x = a, *y = b;

	if (x->rec.number != y->rec.number)
		return x->rec.number < y->rec.number ? -1 : 1;
	return x->rule_id < y->rule_id ? -1 : x->rule_id > y->rule_id;
}

void xs_compiled_sort(struct xs_compiled *c)
{
	for (size_t i = 0; i < c->nv4; i++)
		mask_bits(c->v4[i].key.addr, 4, c->v4[i].key.prefixlen);
	for (size_t i = 0; i < c->nv6; i++)
		mask_bits(c->v6[i].key.addr, 16, c->v6[i].key.prefixlen);
	for (size_t i = 0; i < c->nrules; i++)
		rule_key_mask(&c->rules[i].key, c->rules[i].key.prefixlen);
	for (size_t i = 0; i < c->nbind4; i++)
		if (c->bind4[i].key.prefixlen >= 32)
			mask_bits(c->bind4[i].key.addr, 4, c->bind4[i].key.prefixlen - 32);
	for (size_t i = 0; i < c->nbind6; i++)
		if (c->bind6[i].key.prefixlen >= 32)
			mask_bits(c->bind6[i].key.addr, 16, c->bind6[i].key.prefixlen - 32);
	if (c->nv4)
		qsort(c->v4, c->nv4, sizeof(*c->v4), xs_lpm4_cmp);
	if (c->nv6)
		qsort(c->v6, c->nv6, sizeof(*c->v6), xs_lpm6_cmp);
	if (c->nrules)
		qsort(c->rules, c->nrules, sizeof(*c->rules), rule_cmp);
	if (c->nbind4)
		qsort(c->bind4, c->nbind4, sizeof(*c->bind4), xs_bind4_cmp);
	if (c->nbind6)
		qsort(c->bind6, c->nbind6, sizeof(*c->bind6), xs_bind6_cmp);
	if (c->noverlays)
		qsort(c->overlays, c->noverlays, sizeof(*c->overlays), overlay_cmp);
}

int xs_compiled_rehash(const struct xs_compiled *c, uint8_t out[32])
{
	return xs_compiled_hash(c, out);
}

/* ---- The lengths a table holds ------------------------------------------- */

/* Record the length of each entry in seen[0..max]; then list them longest first. */
static uint8_t lengths(const bool *seen, unsigned int max, uint8_t *out)
{
	uint8_t n = 0;

	for (unsigned int l = max + 1; l-- > 0;)
		if (seen[l])
			out[n++] = (uint8_t)l;
	return n;
}

void xs_tables_init(struct xs_tables *t, const struct xs_compiled *c)
{
	bool s4[33] = { 0 }, s6[129] = { 0 }, sr[65] = { 0 }, sb4[33] = { 0 }, sb6[129] = { 0 };

	memset(t, 0, sizeof(*t));
	t->c = c;
	for (size_t i = 0; i < c->nv4; i++)
		if (c->v4[i].key.prefixlen <= 32)
			s4[c->v4[i].key.prefixlen] = true;
	for (size_t i = 0; i < c->nv6; i++)
		if (c->v6[i].key.prefixlen <= 128)
			s6[c->v6[i].key.prefixlen] = true;
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].key.prefixlen <= 64)
			sr[c->rules[i].key.prefixlen] = true;
	for (size_t i = 0; i < c->nbind4; i++)
		if (c->bind4[i].key.prefixlen >= 32 && c->bind4[i].key.prefixlen <= 64)
			sb4[c->bind4[i].key.prefixlen - 32] = true;
	for (size_t i = 0; i < c->nbind6; i++)
		if (c->bind6[i].key.prefixlen >= 32 && c->bind6[i].key.prefixlen <= 160)
			sb6[c->bind6[i].key.prefixlen - 32] = true;
	t->n4 = lengths(s4, 32, t->len4);
	t->n6 = lengths(s6, 128, t->len6);
	t->nr = lengths(sr, 64, t->lenr);
	t->nb4 = lengths(sb4, 32, t->lenb4);
	t->nb6 = lengths(sb6, 128, t->lenb6);
}

/* ---- Segments ------------------------------------------------------------ */

void xs_tables_segment(const struct xs_tables *t, uint8_t family, const uint8_t *addr,
		       struct xs_seg_match *m)
{
	const struct xs_compiled *c = t->c;

	memset(m, 0, sizeof(*m));
	m->family = family;
	m->len = -1;
	if (family == 4) {
		struct xs_lpm4_entry k = { 0 }, *e;

		for (unsigned int i = 0; i < t->n4; i++) {
			k.key.prefixlen = t->len4[i];
			memcpy(k.key.addr, addr, 4);
			mask_bits(k.key.addr, 4, k.key.prefixlen);
			e = bsearch(&k, c->v4, c->nv4, sizeof(*c->v4), xs_lpm4_cmp);
			if (e) {
				m->seg = e->val.seg;
				m->len = (int16_t)k.key.prefixlen;
				memcpy(m->prefix, k.key.addr, 4);
				return;
			}
		}
	} else {
		struct xs_lpm6_entry k = { 0 }, *e;

		for (unsigned int i = 0; i < t->n6; i++) {
			k.key.prefixlen = t->len6[i];
			memcpy(k.key.addr, addr, 16);
			mask_bits(k.key.addr, 16, k.key.prefixlen);
			e = bsearch(&k, c->v6, c->nv6, sizeof(*c->v6), xs_lpm6_cmp);
			if (e) {
				m->seg = e->val.seg;
				m->len = (int16_t)k.key.prefixlen;
				memcpy(m->prefix, k.key.addr, 16);
				return;
			}
		}
	}
}

/* ---- The rule table --------------------------------------------------------- */

const struct xs_rule_entry *xs_tables_rule(const struct xs_tables *t, uint16_t src, uint16_t dst,
					   uint8_t proto, uint16_t port)
{
	const struct xs_compiled *c = t->c;

	/* the datapath: the single-port hash (xs_rexact), then the trie (xs_rules);
	 * a single-port entry is the longest possible, so both are "longest first" */
	for (unsigned int i = 0; i < t->nr; i++) {
		struct xs_rule_entry k = { 0 };
		const struct xs_rule_entry *e;

		k.key.prefixlen = t->lenr[i];
		k.key.src_seg = src;
		k.key.dst_seg = dst;
		k.key.proto = proto;
		k.key.port = htons(port);
		rule_key_mask(&k.key, k.key.prefixlen);
		e = bsearch(&k, c->rules, c->nrules, sizeof(*c->rules), rule_cmp);
		if (e)
			return e;
	}
	return NULL;
}

/* ---- Bound ports ------------------------------------------------------------- */

uint32_t xs_tables_bind_for(const struct xs_compiled *c, const char *ifname)
{
	/* as apply binds a recorded interface (user/ctl/push.c): the first match */
	for (size_t i = 1; i < c->nbinds; i++) {
		char pat[XS_BIND_PATTERN_LEN + 1];

		memcpy(pat, c->binds[i].pattern, XS_BIND_PATTERN_LEN);
		pat[XS_BIND_PATTERN_LEN] = '\0';
		if (c->binds[i].seg && pat[0] && fnmatch(pat, ifname, 0) == 0)
			return (uint32_t)i;
	}
	return 0;
}

/* Is addr one of bind `bind`'s addresses (as the datapath asks in bpf/lib/bind.h)? */
static bool tables_bind_has(const struct xs_tables *t, uint32_t bind, uint8_t family,
			    const uint8_t *addr)
{
	const struct xs_compiled *c = t->c;

	if (family == 4) {
		for (unsigned int i = 0; i < t->nb4; i++) {
			struct xs_bind4_entry k = { 0 }, *e;

			k.key.prefixlen = XS_BIND_PLEN(t->lenb4[i]);
			k.key.bind = bind;
			memcpy(k.key.addr, addr, 4);
			mask_bits(k.key.addr, 4, t->lenb4[i]);
			e = bsearch(&k, c->bind4, c->nbind4, sizeof(*c->bind4), xs_bind4_cmp);
			if (e)
				return e->val != 0;
		}
		return false;
	}
	for (unsigned int i = 0; i < t->nb6; i++) {
		struct xs_bind6_entry k = { 0 }, *e;

		k.key.prefixlen = XS_BIND_PLEN(t->lenb6[i]);
		k.key.bind = bind;
		memcpy(k.key.addr, addr, 16);
		mask_bits(k.key.addr, 16, t->lenb6[i]);
		e = bsearch(&k, c->bind6, c->nbind6, sizeof(*c->bind6), xs_bind6_cmp);
		if (e)
			return e->val != 0;
	}
	return false;
}

bool xs_tables_bind_allows(const struct xs_tables *t, uint32_t bind, uint8_t family,
			   const uint8_t *addr)
{
	struct xs_seg_match m;

	if (tables_bind_has(t, bind, family, addr))
		return true;
	/* or, as in the datapath, a link-local address */
	xs_tables_segment(t, family, addr, &m);
	return m.seg == t->c->setinfo.ll_seg;
}

/* ---- The decision ------------------------------------------------------------ */

/* The segment info the datapath reads for `seg`: every slot of the array is
 * written by apply, those past the policy's segments zero. */
static const struct xs_seg_info *seginfo(const struct xs_compiled *c, uint16_t seg)
{
	static const struct xs_seg_info zero;

	return seg < c->nseginfo ? &c->seginfo[seg] : &zero;
}

void xs_tables_decide(const struct xs_tables *t, const struct xs_flow *f, uint64_t now_tai,
		      struct xs_lookup *r)
{
	const struct xs_compiled *c = t->c;
	uint16_t ll = c->setinfo.ll_seg, src, dst;
	const struct xs_rule_val *v;

	memset(r, 0, sizeof(*r));
	xs_tables_segment(t, f->family, f->saddr, &r->src);
	xs_tables_segment(t, f->family, f->daddr, &r->dst);
	/* as in the datapath: an end in link-local behind a bound port is the port's */
	src = r->src.seg;
	dst = r->dst.seg;
	if (f->src_port_seg && src == ll) {
		src = f->src_port_seg;
		r->src_by_port = true;
	}
	if (f->dst_port_seg && dst == ll) {
		dst = f->dst_port_seg;
		r->dst_by_port = true;
	}
	r->entry = xs_tables_rule(t, src, dst, f->proto, f->dport);
	v = r->entry ? &r->entry->val : NULL;
	xs_decide_entry(v, seginfo(c, src), seginfo(c, dst), now_tai, &r->d);
	r->d.src_seg = src;
	r->d.dst_seg = dst;
}

const struct xs_origin_entry *xs_compiled_origin(const struct xs_compiled *c, uint32_t rule_id)
{
	const struct xs_policy *p = c->policy;

	if (!p || !rule_id || rule_id > p->norigins)
		return NULL;
	if (p->origins[rule_id - 1].rule_id != rule_id)
		return NULL;
	return &p->origins[rule_id - 1];
}

const struct xs_overlay_entry *xs_compiled_overlay(const struct xs_compiled *c, uint32_t rule_id)
{
	for (size_t i = 0; i < c->noverlays; i++)
		if (c->overlays[i].rule_id == rule_id)
			return &c->overlays[i];
	return NULL;
}

const char *xs_compiled_segment_name(const struct xs_compiled *c, uint16_t seg)
{
	const struct xs_policy *p = c->policy;

	if (seg == XS_SEG_WORLD)
		return "world";
	if (!p || seg > p->nsegments || !p->segments[seg - 1].name)
		return NULL;
	return p->segments[seg - 1].name;
}

void xs_print_escaped(FILE *out, const char *s)
{
	xs_put_escaped(out, s ? s : "");
}

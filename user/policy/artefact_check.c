// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The compiled artefact's tables, checked once read: each trie and the rule
 * table in the compiler's order, with valid prefixes and ids; the
 * per-segment and bind tables matching the declarations; then each
 * segment's prefixes, rebuilt from the tries.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artefact.h"

/* ---- The tables ---- */

static int lpm_cmp(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen, size_t n)
{
	int c = memcmp(a, b, n);

	return c ? c : (alen > blen) - (alen < blen);
}

static void check_tries(struct reader *R)
{
	const struct xs_compiled *c = R->c;
	struct rd *r = &R->r;

	r->sect = S_IPV4;
	for (size_t i = 0; i < c->nv4 && !r->failed; i++) {
		const struct xs_lpm4_entry *e = &c->v4[i];
		uint8_t a[16] = { 0 };

		r->rec = i + 1;
		memcpy(a, e->key.addr, 4);
		if (!art_prefix_ok(a, e->key.prefixlen, 32))
			art_fail(r, "not a prefix");
		else if (!e->val.seg || e->val.seg > c->policy->nsegments || e->val.pad)
			art_fail(r, "segment %u is not one of the policy's", e->val.seg);
		else if (i && lpm_cmp(c->v4[i - 1].key.addr, c->v4[i - 1].key.prefixlen,
				      e->key.addr, e->key.prefixlen, 4) >= 0)
			art_fail(r, "not after the entry before it");
	}
	r->sect = S_IPV6;
	for (size_t i = 0; i < c->nv6 && !r->failed; i++) {
		const struct xs_lpm6_entry *e = &c->v6[i];

		r->rec = i + 1;
		if (!art_prefix_ok(e->key.addr, e->key.prefixlen, 128))
			art_fail(r, "not a prefix");
		else if (!e->val.seg || e->val.seg > c->policy->nsegments || e->val.pad)
			art_fail(r, "segment %u is not one of the policy's", e->val.seg);
		else if (i && lpm_cmp(c->v6[i - 1].key.addr, c->v6[i - 1].key.prefixlen,
				      e->key.addr, e->key.prefixlen, 16) >= 0)
			art_fail(r, "not after the entry before it");
	}
}

/* Rule-table order: src, dst, protocol, port, prefix length. */
static int rule_key_cmp(const struct xs_rule_key *x, const struct xs_rule_key *y)
{
	uint64_t a = (uint64_t)x->src_seg << 48 | (uint64_t)x->dst_seg << 32 |
		     (uint64_t)x->proto << 24 | (uint64_t)ntohs(x->port) << 8;
	uint64_t b = (uint64_t)y->src_seg << 48 | (uint64_t)y->dst_seg << 32 |
		     (uint64_t)y->proto << 24 | (uint64_t)ntohs(y->port) << 8;

	if (a != b)
		return a < b ? -1 : 1;
	return (x->prefixlen > y->prefixlen) - (x->prefixlen < y->prefixlen);
}

/* The origin of `id` is of kind `kind`; else the reason names `what`. */
static bool origin_kind_ok(struct reader *R, uint32_t id, enum xs_origin_kind kind,
			   const char *what)
{
	if (!art_rule_id_ok(R, id, what))
		return false;
	if (R->c->policy->origins[id - 1].kind == kind)
		return true;
	art_fail(&R->r, "%s %u is not a %s's", what, id,
		 kind == XS_ORIGIN_RULE	      ? "rule"
		 : kind == XS_ORIGIN_GRANT    ? "grant"
		 : kind == XS_ORIGIN_FORENSIC ? "forensic access"
					      : "failsafe port");
	return false;
}

/*
 * An entry's value as the compiler makes it: a rule's decision (allow or
 * deny, its origin a rule's), a grant (allow until its end, then the
 * rules' decision or none), forensic access or a failsafe port (allow).
 */
static void check_rule_val(struct reader *R, const struct xs_rule_val *v)
{
	struct rd *r = &R->r;
	uint8_t kind = v->flags & (XS_RULEF_GRANT | XS_RULEF_FORENSIC | XS_RULEF_FAILSAFE);

	if (v->flags & ~(XS_RULEF_GRANT | XS_RULEF_DRAIN | XS_RULEF_FORENSIC | XS_RULEF_FAILSAFE) ||
	    (kind & (kind - 1)) || ((v->flags & XS_RULEF_DRAIN) && kind != XS_RULEF_GRANT)) {
		art_fail(r, "flags 0x%x are not an entry's", v->flags);
		return;
	}
	if (kind != XS_RULEF_GRANT && (v->fb_action || v->fb_rule_id || v->expires)) {
		art_fail(r, "a fallback or an end in an entry that is not a grant's");
		return;
	}
	if (!kind) {
		if (art_action_ok(r, v->action, "the action"))
			origin_kind_ok(R, v->rule_id, XS_ORIGIN_RULE, "the origin");
		return;
	}
	if (v->action != XS_ACT_ALLOW) {
		art_fail(r, "an overlay's entry that does not allow");
		return;
	}
	if (kind == XS_RULEF_FORENSIC) {
		origin_kind_ok(R, v->rule_id, XS_ORIGIN_FORENSIC, "the origin");
		return;
	}
	if (kind == XS_RULEF_FAILSAFE) {
		origin_kind_ok(R, v->rule_id, XS_ORIGIN_FAILSAFE, "the origin");
		return;
	}
	if (!origin_kind_ok(R, v->rule_id, XS_ORIGIN_GRANT, "the origin"))
		return;
	if (!v->expires)
		art_fail(r, "a grant's entry without an end");
	else if (!v->fb_action != !v->fb_rule_id)
		art_fail(r, "a grant's fallback %u with origin %u", v->fb_action, v->fb_rule_id);
	else if (v->fb_action && art_action_ok(r, v->fb_action, "the fallback"))
		origin_kind_ok(R, v->fb_rule_id, XS_ORIGIN_RULE, "the fallback's origin");
}

static void check_rule_table(struct reader *R)
{
	const struct xs_compiled *c = R->c;
	struct rd *r = &R->r;

	r->sect = S_RULE_TABLE;
	for (size_t i = 0; i < c->nrules && !r->failed; i++) {
		const struct xs_rule_entry *e = &c->rules[i];
		const struct xs_rule_key *k = &e->key;
		uint32_t plen = k->prefixlen, port = ntohs(k->port);

		r->rec = i + 1;
		if (plen != XS_RULE_PLEN_PAIR &&
		    (plen < XS_RULE_PLEN_PROTO || plen > XS_RULE_PLEN_PORT(16)))
			art_fail(r, "prefix length %u is not a rule key's", plen);
		else if (plen == XS_RULE_PLEN_PAIR && (k->proto || port))
			art_fail(r, "a pair's entry names a protocol or port");
		else if (plen != XS_RULE_PLEN_PAIR && !xs_proto_name(k->proto))
			art_fail(r, "protocol %u is not one a policy can name", k->proto);
		else if (plen != XS_RULE_PLEN_PAIR && plen < XS_RULE_PLEN_PORT(16) &&
			 (port & ((1u << (XS_RULE_PLEN_PORT(16) - plen)) - 1)))
			art_fail(r, "port %u has bits past the prefix length %u", port, plen);
		else if (k->src_seg > c->policy->nsegments || k->dst_seg > c->policy->nsegments)
			art_fail(r, "segment pair %u -> %u is not the policy's", k->src_seg,
				 k->dst_seg);
		else if (k->pad || e->val.pad)
			art_fail(r, "padding is not zero");
		else if (i && rule_key_cmp(&c->rules[i - 1].key, k) >= 0)
			art_fail(r, "not after the entry before it");
		else
			check_rule_val(R, &e->val);
	}
}

/* seginfo and setinfo say what the segments, the quarantines and the bindings say. */
static void check_infos(struct reader *R)
{
	const struct xs_compiled *c = R->c;
	const struct xs_policy *p = c->policy;
	const struct xs_seg_info *w = &c->seginfo[0];
	struct rd *r = &R->r;
	struct xs_set_info si = { .ll_seg = p->linklocal_seg,
				  .flags = p->nbindings ? XS_SETF_BINDS : 0,
				  .nbinds = (uint32_t)p->nbindings };
	uint32_t *quar;
	bool *strict;

	r->sect = S_SEGINFO;
	r->rec = 0;
	if (c->nseginfo != p->nsegments + 1) {
		art_fail(r, "%zu entries for %zu segments and world", c->nseginfo, p->nsegments);
		return;
	}
	quar = art_alloc_n(r, c->nseginfo, sizeof(*quar));
	strict = quar ? art_alloc_n(r, c->nseginfo, sizeof(*strict)) : NULL;
	if (!strict) {
		free(quar);
		return;
	}
	xs_quarantine_state(p, quar, strict);
	r->rec = 1;
	if (w->in_action != XS_ACT_ALLOW || w->out_action != XS_ACT_ALLOW || w->monitor ||
	    w->flags || w->quar_rule_id || w->in_rule_id != p->world_in_rule_id ||
	    w->out_rule_id != p->world_out_rule_id)
		art_fail(r, "world's entry is not world's defaults");
	for (size_t i = 1; i < c->nseginfo && !r->failed; i++) {
		const struct xs_seg_info *e = &c->seginfo[i];
		const struct xs_segment *s = &p->segments[i - 1];

		r->rec = i + 1;
		if (e->in_action != s->in_action || e->out_action != s->out_action ||
		    e->monitor != s->monitor || e->in_rule_id != s->in_rule_id ||
		    e->out_rule_id != s->out_rule_id)
			art_fail(r, "not what segment %zu declares", i);
		else if (e->flags != (quar[i] ? XS_SEGF_QUARANTINE : 0) ||
			 e->quar_rule_id != quar[i])
			art_fail(r, "segment %zu's quarantine is not its overlays'", i);
	}
	free(quar);
	free(strict);
	r->sect = S_SETINFO;
	r->rec = 0;
	if (!r->failed && memcmp(&c->setinfo, &si, sizeof(si)))
		art_fail(r, "not the policy's link-local id and bindings");
}

static void check_binds(struct reader *R)
{
	const struct xs_compiled *c = R->c;
	const struct xs_policy *p = c->policy;
	static const struct xs_bind_info zero;
	struct rd *r = &R->r;

	r->sect = S_BINDS;
	r->rec = 0;
	if (c->nbinds != p->nbindings + 1) {
		art_fail(r, "%zu entries for %zu bindings", c->nbinds, p->nbindings);
		return;
	}
	r->rec = 1;
	if (memcmp(&c->binds[0], &zero, sizeof(zero)))
		art_fail(r, "entry 0 is not zero");
	for (size_t i = 1; i < c->nbinds && !r->failed; i++) {
		const struct xs_bind_info *e = &c->binds[i];
		const struct xs_binding *b = &p->bindings[i - 1];
		struct xs_bind_info want = { .rule_id = b->rule_id, .seg = b->seg };

		r->rec = i + 1;
		memcpy(want.pattern, b->pattern, strlen(b->pattern));
		/* the first host address of each family, as bind.c picks them */
		for (size_t k = 0; k < b->nprefixes; k++) {
			const struct xs_prefix *px = &b->prefixes[k];

			if (px->family == 4 && px->len == 32 && !(want.flags & XS_BINDF_HOST4)) {
				memcpy(want.host4, px->addr, 4);
				want.flags |= XS_BINDF_HOST4;
			} else if (px->family == 6 && px->len == 128 &&
				   !(want.flags & XS_BINDF_HOST6)) {
				memcpy(want.host6, px->addr, 16);
				want.flags |= XS_BINDF_HOST6;
			}
		}
		if (memcmp(e, &want, sizeof(want)))
			art_fail(r, "not what bind statement %zu says", i);
	}
	r->sect = S_BIND4;
	for (size_t i = 0; i < c->nbind4 && !r->failed; i++) {
		const struct xs_bind4_entry *e = &c->bind4[i], *q = i ? e - 1 : NULL;
		uint8_t a[16] = { 0 };

		r->rec = i + 1;
		memcpy(a, e->key.addr, 4);
		if (e->key.prefixlen < XS_BIND_PLEN(0) ||
		    !art_prefix_ok(a, e->key.prefixlen - XS_BIND_PLEN(0), 32))
			art_fail(r, "not a prefix");
		else if (!e->key.bind || e->key.bind > p->nbindings ||
			 (e->val && e->val != e->key.bind))
			art_fail(r, "bind id %u -> %u is not the policy's", e->key.bind, e->val);
		else if (q && (q->key.bind > e->key.bind ||
			       (q->key.bind == e->key.bind &&
				lpm_cmp(q->key.addr, q->key.prefixlen, e->key.addr,
					e->key.prefixlen, 4) >= 0)))
			art_fail(r, "not after the entry before it");
	}
	r->sect = S_BIND6;
	for (size_t i = 0; i < c->nbind6 && !r->failed; i++) {
		const struct xs_bind6_entry *e = &c->bind6[i], *q = i ? e - 1 : NULL;

		r->rec = i + 1;
		if (e->key.prefixlen < XS_BIND_PLEN(0) ||
		    !art_prefix_ok(e->key.addr, e->key.prefixlen - XS_BIND_PLEN(0), 128))
			art_fail(r, "not a prefix");
		else if (!e->key.bind || e->key.bind > p->nbindings ||
			 (e->val && e->val != e->key.bind))
			art_fail(r, "bind id %u -> %u is not the policy's", e->key.bind, e->val);
		else if (q && (q->key.bind > e->key.bind ||
			       (q->key.bind == e->key.bind &&
				lpm_cmp(q->key.addr, q->key.prefixlen, e->key.addr,
					e->key.prefixlen, 16) >= 0)))
			art_fail(r, "not after the entry before it");
	}
}

/* Each segment's prefixes, from the tries (the compiler made the tries from them). */
static void segment_prefixes(struct reader *R)
{
	struct xs_compiled *c = R->c;
	struct xs_policy *p = c->policy;

	for (size_t i = 0; i < p->nsegments; i++) {
		p->segments[i].prefixes = NULL;
		p->segments[i].nprefixes = 0;
	}
	for (int pass = 0; pass < 2 && !R->r.failed; pass++) {
		for (size_t i = 0; i < c->nv4 + c->nv6; i++) {
			bool v4 = i < c->nv4;
			uint16_t seg = v4 ? c->v4[i].val.seg : c->v6[i - c->nv4].val.seg;
			struct xs_segment *s = &p->segments[seg - 1];
			struct xs_prefix *px;

			if (!pass) {
				s->nprefixes++;
				continue;
			}
			px = &s->prefixes[s->nprefixes++];
			px->family = v4 ? 4 : 6;
			px->len = (uint8_t)(v4 ? c->v4[i].key.prefixlen
					       : c->v6[i - c->nv4].key.prefixlen);
			memcpy(px->addr, v4 ? c->v4[i].key.addr : c->v6[i - c->nv4].key.addr,
			       v4 ? 4 : 16);
			px->loc = s->loc;
		}
		for (size_t i = 0; !pass && i < p->nsegments; i++) {
			struct xs_segment *s = &p->segments[i];

			if (s->derived && s->nprefixes != 1) {
				R->r.sect = S_SEGMENTS;
				R->r.rec = i + 1;
				art_fail(&R->r, "a derived segment with %zu prefixes",
					 s->nprefixes);
				return;
			}
			s->prefixes = art_alloc_n(&R->r, s->nprefixes, sizeof(*s->prefixes));
			s->nprefixes = 0;
			if (!s->prefixes)
				return;
		}
	}
}

void art_check_tables(struct reader *R)
{
	struct rd *r = &R->r;

	if (!r->failed)
		check_tries(R);
	if (!r->failed)
		check_rule_table(R);
	if (!r->failed)
		check_infos(R);
	if (!r->failed)
		check_binds(R);
	if (!r->failed)
		segment_prefixes(R);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The reference evaluator: decides a flow straight from the source form, by
 * the semantics of policies/README.md (overlays included: "Overlays",
 * "Precedence"). It never looks at the compiled tables, so tests can hold
 * the compiler (and the datapath) against it.
 */
#include <fnmatch.h>
#include <string.h>

#include "internal.h"

/* Does `pfx` contain `addr` (same family)? */
static bool prefix_contains(const struct xs_prefix *pfx, const uint8_t *addr)
{
	int full = pfx->len / 8, rest = pfx->len % 8;

	if (memcmp(pfx->addr, addr, full))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		return (pfx->addr[full] & mask) == (addr[full] & mask);
	}
	return true;
}

uint16_t xs_policy_segment_of(const struct xs_policy *p, uint8_t family, const uint8_t *addr)
{
	uint16_t best = XS_SEG_WORLD;
	int best_len = -1;

	for (size_t i = 0; i < p->nsegments; i++) {
		const struct xs_segment *s = &p->segments[i];

		for (size_t j = 0; j < s->nprefixes; j++) {
			const struct xs_prefix *pfx = &s->prefixes[j];

			if (pfx->family == family && pfx->len > best_len &&
			    prefix_contains(pfx, addr)) {
				best = s->id;
				best_len = pfx->len;
			}
		}
	}
	return best;
}

const char *xs_policy_segment_name(const struct xs_policy *p, uint16_t id)
{
	if (id == XS_SEG_WORLD)
		return "world";
	if (id > p->nsegments)
		return "?";
	return p->segments[id - 1].name;
}

static bool endpoint_matches(uint32_t ep, uint16_t seg)
{
	return ep == XS_ENDPOINT_ANY || ep == seg;
}

static bool specs_match(const struct xs_portspec *v, size_t n, uint8_t proto, uint16_t port)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++) {
		const struct xs_portspec *ps = &v[i];

		if ((ps->proto == 0 || ps->proto == proto) && ps->lo <= port && port <= ps->hi)
			return true;
	}
	return false;
}

static bool ports_match(const struct xs_rule *r, uint8_t proto, uint16_t port)
{
	return specs_match(r->ports, r->nports, proto, port);
}

/* A derived segment's parent; false for the others (the walk's end). */
static bool up(const struct xs_policy *p, uint16_t *seg)
{
	const struct xs_segment *s = *seg && *seg <= p->nsegments ? &p->segments[*seg - 1] : NULL;

	if (!s || !s->derived)
		return false;
	*seg = s->parent;
	return true;
}

/* The declared segment (or world) whose rules a segment has. */
static uint16_t rules_segment(const struct xs_policy *p, uint16_t seg)
{
	while (up(p, &seg))
		;
	return seg;
}

/* Does an overlay naming v[0..n) reach seg: one of them, or derived inside one? */
static bool reaches(const struct xs_policy *p, const uint16_t *v, size_t n, uint16_t seg)
{
	do {
		for (size_t i = 0; i < n; i++)
			if (v[i] == seg)
				return true;
	} while (up(p, &seg));
	return false;
}

/*
 * The segment of one side of a flow: by longest prefix; a link-local address
 * behind a bound port (port_seg) belongs to the port's segment.
 */
static uint16_t side_segment(const struct xs_policy *p, uint8_t family, const uint8_t *addr,
			     uint16_t port_seg)
{
	uint16_t seg = xs_policy_segment_of(p, family, addr);

	if (seg && seg == p->linklocal_seg && port_seg)
		return port_seg;
	return seg;
}

/*
 * Quarantine (precedence 1): true when the flow touches a quarantined
 * segment, decided: forensic access (a forensic overlay rule from a source
 * not quarantined itself into a destination no strict quarantine holds),
 * else a drop naming the destination's quarantine, else the source's.
 */
static bool quarantine(const struct xs_policy *p, const struct xs_flow *f, struct xs_decision *d)
{
	uint32_t qs = 0, qd = 0, fo = 0;
	bool strict = false;

	for (size_t i = 0; i < p->noverlay_rules; i++) {
		const struct xs_overlay_rule *o = &p->overlay_rules[i];

		if (o->kind != XS_ORIGIN_QUARANTINE)
			continue;
		if (reaches(p, o->dst, o->ndst, d->src_seg) && (!qs || o->rule_id < qs))
			qs = o->rule_id;
		if (reaches(p, o->dst, o->ndst, d->dst_seg)) {
			if (!qd || o->rule_id < qd)
				qd = o->rule_id;
			strict = strict || (o->flags & XS_OVR_STRICT);
		}
	}
	if (!qs && !qd)
		return false;
	for (size_t i = 0; qd && !qs && !strict && i < p->noverlay_rules; i++) {
		const struct xs_overlay_rule *o = &p->overlay_rules[i];

		if (o->kind == XS_ORIGIN_FORENSIC && reaches(p, o->src, o->nsrc, d->src_seg) &&
		    reaches(p, o->dst, o->ndst, d->dst_seg) &&
		    specs_match(o->ports, o->nports, f->proto, f->dport) &&
		    (!fo || o->rule_id < fo))
			fo = o->rule_id;
	}
	if (fo) {
		d->verdict = XS_VERDICT_ALLOW;
		d->reason = XS_REASON_FORENSIC;
		d->rule_id = fo;
	} else {
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_QUARANTINE;
		d->rule_id = qd ? qd : qs;
	}
	return true;
}

/*
 * A failsafe port (precedence 2), else a grant in force (3): true when one
 * decides. Among grants the one that ends last is named (it covers the
 * others); after its end the flow is decided as if it had none.
 */
static bool failsafe_or_grant(const struct xs_policy *p, const struct xs_flow *f,
			      struct xs_decision *d)
{
	const struct xs_overlay_rule *g = NULL;
	uint32_t fs = 0;

	for (size_t i = 0; i < p->noverlay_rules; i++) {
		const struct xs_overlay_rule *o = &p->overlay_rules[i];

		if ((o->kind != XS_ORIGIN_FAILSAFE && o->kind != XS_ORIGIN_GRANT) ||
		    !reaches(p, o->dst, o->ndst, d->dst_seg) ||
		    !specs_match(o->ports, o->nports, f->proto, f->dport))
			continue;
		if (o->kind == XS_ORIGIN_FAILSAFE) {
			if (!fs || o->rule_id < fs)
				fs = o->rule_id;
		} else if (reaches(p, o->src, o->nsrc, d->src_seg) &&
			   (!g || o->expires > g->expires ||
			    (o->expires == g->expires && o->rule_id < g->rule_id))) {
			g = o;
		}
	}
	if (fs) {
		d->verdict = XS_VERDICT_ALLOW;
		d->reason = XS_REASON_FAILSAFE;
		d->rule_id = fs;
		return true;
	}
	if (g && f->now < g->expires) {
		d->verdict = XS_VERDICT_ALLOW;
		d->reason = XS_REASON_GRANT;
		d->rule_id = g->rule_id;
		d->deadline = (g->flags & XS_RULEF_DRAIN) ? 0 : g->expires;
		return true;
	}
	return false;
}

void xs_policy_evaluate(const struct xs_policy *p, const struct xs_flow *f, struct xs_decision *d)
{
	uint32_t deny = 0, allow = 0;
	uint8_t sin, sout, din, dout;
	uint16_t rs, rd;
	bool monitor = false;

	memset(d, 0, sizeof(*d));
	d->src_seg = side_segment(p, f->family, f->saddr, f->src_port_seg);
	d->dst_seg = side_segment(p, f->family, f->daddr, f->dst_port_seg);
	if (quarantine(p, f, d) || failsafe_or_grant(p, f, d))
		return;

	/* a derived segment has its declared segment's rules */
	rs = rules_segment(p, d->src_seg);
	rd = rules_segment(p, d->dst_seg);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *r = &p->rules[i];
		uint32_t *best = r->action == XS_ACT_DENY ? &deny : &allow;

		if (!r->id || !endpoint_matches(r->src, rs) || !endpoint_matches(r->dst, rd) ||
		    !ports_match(r, f->proto, f->dport))
			continue;
		if (!*best || r->id < *best)
			*best = r->id;
	}

	if (deny) {
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_DENY_RULE;
		d->rule_id = deny;
	} else if (allow) {
		d->verdict = XS_VERDICT_ALLOW;
		d->reason = XS_REASON_RULE;
		d->rule_id = allow;
	} else {
		const struct xs_segment *s = d->src_seg ? &p->segments[d->src_seg - 1] : NULL;
		const struct xs_segment *t = d->dst_seg ? &p->segments[d->dst_seg - 1] : NULL;
		uint32_t s_out_id = s ? s->out_rule_id : p->world_out_rule_id;
		uint32_t t_in_id = t ? t->in_rule_id : p->world_in_rule_id;

		sout = s ? s->out_action : XS_ACT_ALLOW;
		sin = s ? s->in_action : XS_ACT_ALLOW;
		din = t ? t->in_action : XS_ACT_ALLOW;
		dout = t ? t->out_action : XS_ACT_ALLOW;
		(void)sin;
		(void)dout;
		if (sout == XS_ACT_DENY) {
			/* both deny: the source's `out` is named */
			d->verdict = XS_VERDICT_DROP;
			d->reason = XS_REASON_DEFAULT_OUT;
			d->rule_id = s_out_id;
		} else if (din == XS_ACT_DENY) {
			d->verdict = XS_VERDICT_DROP;
			d->reason = XS_REASON_DEFAULT_IN;
			d->rule_id = t_in_id;
		} else {
			/* both allow: the destination's `in` is named */
			d->verdict = XS_VERDICT_ALLOW;
			d->reason = XS_REASON_DEFAULT;
			d->rule_id = t_in_id;
		}
	}

	if (d->src_seg && p->segments[d->src_seg - 1].monitor)
		monitor = true;
	if (d->dst_seg && p->segments[d->dst_seg - 1].monitor)
		monitor = true;
	if (d->verdict == XS_VERDICT_DROP && monitor)
		d->verdict = XS_VERDICT_AUDIT;
}

const struct xs_binding *xs_policy_binding_for(const struct xs_policy *p, const char *ifname)
{
	for (size_t i = 0; i < p->nbindings; i++)
		if (!fnmatch(p->bindings[i].pattern, ifname, 0))
			return &p->bindings[i];
	return NULL;
}

bool xs_policy_bind_allows(const struct xs_policy *p, const struct xs_binding *b, uint8_t family,
			   const uint8_t *addr)
{
	uint16_t seg = xs_policy_segment_of(p, family, addr);

	if (seg && seg == p->linklocal_seg)
		return true;
	if (!b->nprefixes)
		return rules_segment(p, seg) == b->seg; /* an overlay's address is its segment's */
	for (size_t i = 0; i < b->nprefixes; i++)
		if (b->prefixes[i].family == family && prefix_contains(&b->prefixes[i], addr))
			return true;
	return false;
}

const char *xs_reason_name(enum xs_reason r)
{
	switch (r) {
	case XS_REASON_NONE:
		return "none";
	case XS_REASON_RULE:
		return "rule";
	case XS_REASON_DENY_RULE:
		return "deny-rule";
	case XS_REASON_DEFAULT:
		return "default";
	case XS_REASON_DEFAULT_IN:
		return "default-in";
	case XS_REASON_DEFAULT_OUT:
		return "default-out";
	case XS_REASON_ESTABLISHED:
		return "established";
	case XS_REASON_RELATED:
		return "related";
	case XS_REASON_MALFORMED:
		return "malformed";
	case XS_REASON_FRAGMENT:
		return "fragment";
	case XS_REASON_NOT_IP:
		return "not-ip";
	case XS_REASON_ND:
		return "nd";
	case XS_REASON_NO_POLICY:
		return "no-policy";
	case XS_REASON_SPOOFED:
		return "spoofed";
	case XS_REASON_QUARANTINE:
		return "quarantine";
	case XS_REASON_FORENSIC:
		return "forensic";
	case XS_REASON_GRANT:
		return "grant";
	case XS_REASON_GRANT_EXPIRED:
		return "grant-expired";
	case XS_REASON_FAILSAFE:
		return "failsafe";
	default:
		return "?";
	}
}

const char *xs_verdict_name(enum xs_verdict v)
{
	switch (v) {
	case XS_VERDICT_ALLOW:
		return "allow";
	case XS_VERDICT_DROP:
		return "drop";
	case XS_VERDICT_AUDIT:
		return "audit";
	default:
		return "?";
	}
}

const char *xs_proto_name(uint8_t proto)
{
	switch (proto) {
	case 0:
		return "any";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	default:
		return NULL;
	}
}

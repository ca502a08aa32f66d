// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The compiled artefact, read as hostile input: every length is checked
 * against what is left before it is used, every count is capped and paid
 * for in bytes before anything is allocated for it, every string is bounded
 * and NUL-free, every index is in range; then the tables are checked
 * (artefact_check.c) and must hash, as the compiler hashes them, to the hash
 * the artefact carries.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artefact.h"

/* Are k more bytes in the section? */
static bool need(struct rd *r, size_t k)
{
	if (r->failed)
		return false;
	if (r->end - r->o >= k)
		return true;
	art_fail(r, "%zu bytes needed, %zu left", k, r->end - r->o);
	return false;
}

static void get(struct rd *r, void *d, size_t k)
{
	if (!need(r, k)) {
		memset(d, 0, k);
		return;
	}
	memcpy(d, r->p + r->o, k);
	r->o += k;
}

static uint8_t get_u8(struct rd *r)
{
	uint8_t v;

	get(r, &v, 1);
	return v;
}

static uint16_t get_u16(struct rd *r)
{
	uint16_t v;

	get(r, &v, 2);
	return v;
}

static uint32_t get_u32(struct rd *r)
{
	uint32_t v;

	get(r, &v, 4);
	return v;
}

static int32_t get_i32(struct rd *r)
{
	int32_t v;

	get(r, &v, 4);
	return v;
}

/* A string of at most `max` bytes, none of them NUL; malloc'd (NULL on failure). */
static char *get_str(struct rd *r, size_t max, const char *what)
{
	uint32_t len = get_u32(r);
	char *s;

	if (r->failed)
		return NULL;
	if (len > max) {
		art_fail(r, "%s of %u bytes (at most %zu)", what, len, max);
		return NULL;
	}
	if (!need(r, len))
		return NULL;
	if (memchr(r->p + r->o, 0, len)) {
		art_fail(r, "%s holds a NUL byte", what);
		return NULL;
	}
	s = malloc((size_t)len + 1);
	if (!s) {
		art_nomem(r);
		return NULL;
	}
	memcpy(s, r->p + r->o, len);
	s[len] = '\0';
	r->o += len;
	return s;
}

/* Zero padding, as the writer writes it. */
static void get_pad(struct rd *r, size_t k)
{
	uint8_t z[4] = { 0 }, v[4];

	get(r, v, k);
	if (!r->failed && memcmp(v, z, k))
		art_fail(r, "padding is not zero");
}

/*
 * The count of a section whose records take at least `min` bytes each:
 * at most `max`, and paid for by the bytes the section has, so that no
 * count makes the reader allocate more than its input justifies.
 */
static bool count_ok(struct rd *r, uint32_t count, size_t max, size_t min)
{
	if (r->failed)
		return false;
	if (count > max) {
		art_fail(r, "%u records (at most %zu)", count, max);
		return false;
	}
	if ((uint64_t)count * min > r->end - r->o) {
		art_fail(r, "%u records cannot fit in %zu bytes", count, r->end - r->o);
		return false;
	}
	return true;
}

/* Open section `tag`: its header, then its body as r->p[o..end). */
static bool section(struct reader *R, int tag)
{
	struct rd *r = &R->r;
	uint32_t t;
	uint64_t bytes;
	size_t limit = R->len - ART_TRAILER;

	if (r->failed)
		return false;
	r->sect = 0;
	r->rec = 0;
	if (limit - R->next < ART_SECTION_HEADER) {
		art_fail(r, "truncated: no header for section '%s'", art_sect_names[tag]);
		return false;
	}
	memcpy(&t, R->buf + R->next, 4);
	memcpy(&R->count, R->buf + R->next + 4, 4);
	memcpy(&bytes, R->buf + R->next + 8, 8);
	r->sect = tag;
	if (t != (uint32_t)tag) {
		art_fail(r, "found tag %u where tag %d was expected", t, tag);
		return false;
	}
	R->next += ART_SECTION_HEADER;
	if (bytes > limit - R->next) {
		art_fail(r, "%llu bytes long, only %zu left", (unsigned long long)bytes,
			 limit - R->next);
		return false;
	}
	r->o = R->next;
	r->end = R->next + (size_t)bytes;
	R->next = r->end;
	return true;
}

/* The section's body must be consumed exactly. */
static void section_done(struct reader *R)
{
	struct rd *r = &R->r;

	r->rec = 0;
	if (!r->failed && r->o != r->end)
		art_fail(r, "%zu bytes left over", r->end - r->o);
}

/* A table: exactly count entries of sz bytes, at most max. */
static void *table(struct reader *R, int tag, size_t sz, size_t max, size_t *n)
{
	struct rd *r = &R->r;
	void *v;

	*n = 0;
	if (!section(R, tag))
		return NULL;
	if (R->count > max) {
		art_fail(r, "%u entries (at most %zu)", R->count, max);
		return NULL;
	}
	if ((uint64_t)R->count * sz != r->end - r->o) {
		art_fail(r, "%u entries of %zu bytes cannot be %zu bytes", R->count, sz,
			 r->end - r->o);
		return NULL;
	}
	v = art_alloc_n(r, R->count, sz);
	if (!v)
		return NULL;
	get(r, v, (size_t)R->count * sz);
	*n = R->count;
	section_done(R);
	return v;
}

/* ---- The source form ---- */

static const char *file_at(struct reader *R, uint32_t i)
{
	const struct xs_policy *p = R->c->policy;

	if (i >= p->nfiles) {
		art_fail(&R->r, "file index %u is out of range (%zu files)", i, p->nfiles);
		return NULL;
	}
	return p->files[i];
}

static void get_loc(struct reader *R, struct xs_src_loc *loc, bool with_col)
{
	struct rd *r = &R->r;

	loc->file = file_at(R, get_u32(r));
	loc->line = get_i32(r);
	loc->col = with_col ? get_i32(r) : 0;
	if (!r->failed && (loc->line < 0 || loc->col < 0))
		art_fail(r, "negative line or column");
}

static void read_files(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;

	if (!section(R, S_FILES) || !count_ok(r, R->count, 1u << 24, 4))
		return;
	if (!R->count) {
		art_fail(r, "no files (a policy has its top-level file)");
		return;
	}
	p->files = art_alloc_n(r, R->count, sizeof(*p->files));
	if (!p->files)
		return;
	for (uint32_t i = 0; i < R->count && !r->failed; i++) {
		r->rec = i + 1;
		p->nfiles++;
		p->files[i] = get_str(r, ART_MAX_STR, "a file name");
	}
	section_done(R);
}

static void read_origins(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;

	if (!section(R, S_ORIGINS) || !count_ok(r, R->count, XS_MAX_RULES - 1, 16))
		return;
	p->origins = art_alloc_n(r, R->count, sizeof(*p->origins));
	if (!p->origins)
		return;
	for (uint32_t i = 0; i < R->count && !r->failed; i++) {
		struct xs_origin_entry *o = &p->origins[i];
		struct xs_src_loc loc;
		uint32_t kind;

		r->rec = i + 1;
		p->norigins++;
		kind = get_u32(r);
		get_loc(R, &loc, false);
		o->text = get_str(r, ART_MAX_STR, "the text");
		if (r->failed)
			break;
		o->rule_id = i + 1;
		o->kind = (enum xs_origin_kind)kind;
		o->file = loc.file;
		o->line = loc.line;
		if (kind < XS_ORIGIN_RULE || kind > XS_ORIGIN_FAILSAFE || kind == XS_ORIGIN_SEGMENT)
			art_fail(r, "kind %u is not a rule origin's", kind);
	}
	section_done(R);
	if (!r->failed && !p->norigins) {
		r->rec = 0;
		art_fail(r, "no origins (world's default has one)");
	}
}

static void read_policy(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;

	if (!section(R, S_POLICY))
		return;
	if (R->count != 1) {
		art_fail(r, "%u records, expected 1", R->count);
		return;
	}
	p->nservices = get_u32(r);
	p->world_in_rule_id = get_u32(r);
	p->world_out_rule_id = get_u32(r);
	p->linklocal_seg = get_u16(r);
	get_pad(r, 2);
	section_done(R);
	art_rule_id_ok(R, p->world_in_rule_id, "world's in default");
	art_rule_id_ok(R, p->world_out_rule_id, "world's out default");
}

static void read_segments(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;

	if (!section(R, S_SEGMENTS) || !count_ok(r, R->count, XS_MAX_SEGMENTS - 1, 32))
		return;
	p->segments = art_alloc_n(r, R->count, sizeof(*p->segments));
	if (!p->segments)
		return;
	for (uint32_t i = 0; i < R->count && !r->failed; i++) {
		struct xs_segment *s = &p->segments[i];
		uint8_t kind, builtin, monitor;

		r->rec = i + 1;
		p->nsegments++;
		kind = get_u8(r);
		s->in_action = get_u8(r);
		s->out_action = get_u8(r);
		monitor = get_u8(r);
		s->in_rule_id = get_u32(r);
		s->out_rule_id = get_u32(r);
		s->parent = get_u16(r);
		get_pad(r, 2);
		get_loc(R, &s->loc, true);
		s->name = get_str(r, ART_MAX_STR, "the name");
		if (r->failed)
			break;
		s->id = (uint16_t)(i + 1);
		builtin = kind == ART_SEG_BUILTIN;
		s->builtin = builtin;
		s->derived = kind == ART_SEG_DERIVED;
		s->monitor = monitor;
		if (kind > ART_SEG_DERIVED)
			art_fail(r, "kind %u is not a segment's", kind);
		else if (monitor > 1)
			art_fail(r, "a flag is neither 0 nor 1");
		else if (s->derived ? s->parent >= s->id || (i && !p->segments[i - 1].derived &&
							     !p->segments[i - 1].builtin)
				    : s->parent || (i && p->segments[i - 1].derived))
			art_fail(r, "a derived segment not after the others, or with parent %u",
				 s->parent);
		else if (!s->name[0])
			art_fail(r, "an empty name");
		else if (builtin != (s->id == p->linklocal_seg))
			art_fail(r, "id %u is %sbuilt in, and link-local's id is %u", s->id,
				 builtin ? "" : "not ", p->linklocal_seg);
		else if (art_action_ok(r, s->in_action, "the in default") &&
			 art_action_ok(r, s->out_action, "the out default") &&
			 art_rule_id_ok(R, s->in_rule_id, "the in default's origin"))
			art_rule_id_ok(R, s->out_rule_id, "the out default's origin");
	}
	section_done(R);
	if (!r->failed && (!p->linklocal_seg || p->linklocal_seg > p->nsegments)) {
		r->rec = 0;
		art_fail(r, "link-local's id %u is not one of the %zu segments", p->linklocal_seg,
			 p->nsegments);
	}
	/* a derived segment: its declared segment's defaults and mode (world's) */
	for (size_t i = 0; i < p->nsegments && !r->failed; i++) {
		const struct xs_segment *s = &p->segments[i];
		uint16_t root = xs_seg_root(p, s->id);
		const struct xs_segment *o = root ? &p->segments[root - 1] : NULL;

		r->rec = i + 1;
		if (!s->derived)
			continue;
		if (root == p->linklocal_seg)
			art_fail(r, "derived from link-local");
		else if (s->in_action != (o ? o->in_action : XS_ACT_ALLOW) ||
			 s->out_action != (o ? o->out_action : XS_ACT_ALLOW) ||
			 s->monitor != (o ? o->monitor : false) ||
			 s->in_rule_id != (o ? o->in_rule_id : p->world_in_rule_id) ||
			 s->out_rule_id != (o ? o->out_rule_id : p->world_out_rule_id))
			art_fail(r, "not the defaults and mode of segment %u", root);
	}
}

/* An endpoint of a rule: a segment (not a derived one), world or any. */
static bool endpoint_ok(const struct xs_policy *p, uint32_t e)
{
	return e == XS_ENDPOINT_ANY || e == XS_SEG_WORLD ||
	       (e <= p->nsegments && !p->segments[e - 1].derived);
}

static void read_rules(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;
	uint64_t nspecs = 0;

	/* a statement has an entry per (source, destination) pair: each counts
	 * one of the policy's port specs at least */
	if (!section(R, S_RULES) || !count_ok(r, R->count, XS_MAX_FLAT_SPECS, 20))
		return;
	p->rules = art_alloc_n(r, R->count, sizeof(*p->rules));
	if (!p->rules)
		return;
	for (uint32_t i = 0, id = 0; i < R->count && !r->failed; i++) {
		struct xs_rule *ru = &p->rules[i];
		const struct xs_origin_entry *o;
		uint8_t same;
		uint32_t n;

		r->rec = i + 1;
		p->nrules++;
		ru->action = get_u8(r);
		same = get_u8(r);
		get_pad(r, 2);
		if (r->failed)
			break;
		if (same > 1) {
			art_fail(r, "its statement flag %u is neither 0 nor 1", same);
			break;
		}
		if (same && !i) {
			art_fail(r, "the first rule continues no statement");
			break;
		}
		if (same && ru->action != p->rules[i - 1].action) {
			art_fail(r, "its action is not its statement's");
			break;
		}
		id += !same;
		if (id > p->norigins) {
			art_fail(r, "rule id %u has no origin", id);
			break;
		}
		o = &p->origins[id - 1];
		ru->src = get_u32(r);
		ru->dst = get_u32(r);
		ru->loc.col = get_i32(r);
		n = get_u32(r);
		nspecs += n;
		if (!count_ok(r, n, XS_MAX_FLAT_SPECS, 6) || nspecs > XS_MAX_FLAT_SPECS) {
			art_fail(r, "more than %d port specs", XS_MAX_FLAT_SPECS);
			break;
		}
		ru->ports = art_alloc_n(r, n, sizeof(*ru->ports));
		if (!ru->ports)
			break;
		ru->text = strdup(o->text);
		if (!ru->text) {
			art_nomem(r);
			break;
		}
		ru->id = id;
		ru->loc.file = o->file;
		ru->loc.line = o->line;
		for (uint32_t k = 0; k < n && !r->failed; k++) {
			struct xs_portspec *ps = &ru->ports[k];

			ps->proto = get_u8(r);
			get_pad(r, 1);
			ps->lo = get_u16(r);
			ps->hi = get_u16(r);
			ru->nports++;
			if (r->failed)
				break;
			if (ps->proto && !xs_proto_name(ps->proto))
				art_fail(r, "protocol %u is not one a policy can name", ps->proto);
			else if (ps->lo > ps->hi)
				art_fail(r, "port range %u-%u is inverted", ps->lo, ps->hi);
		}
		if (r->failed)
			break;
		if (o->kind != XS_ORIGIN_RULE)
			art_fail(r, "its origin %u is not a rule's", ru->id);
		else if (art_action_ok(r, ru->action, "the action") &&
			 (!endpoint_ok(p, ru->src) || !endpoint_ok(p, ru->dst)))
			art_fail(r, "endpoint %u -> %u is not a segment, world or any", ru->src,
				 ru->dst);
	}
	section_done(R);
}

static void read_bindings(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;

	if (!section(R, S_BINDINGS) || !count_ok(r, R->count, XS_MAX_BINDS - 1, 32))
		return;
	p->bindings = art_alloc_n(r, R->count, sizeof(*p->bindings));
	if (!p->bindings)
		return;
	for (uint32_t i = 0; i < R->count && !r->failed; i++) {
		struct xs_binding *b = &p->bindings[i];
		uint32_t n;

		r->rec = i + 1;
		p->nbindings++;
		b->rule_id = get_u32(r);
		b->seg = get_u16(r);
		get_pad(r, 2);
		get_loc(R, &b->loc, true);
		b->pattern = get_str(r, XS_BIND_PATTERN_LEN - 1, "the pattern");
		b->text = get_str(r, ART_MAX_STR, "the text");
		n = get_u32(r);
		if (!count_ok(r, n, XS_MAX_BIND_PREFIXES, 20))
			break;
		b->prefixes = art_alloc_n(r, n, sizeof(*b->prefixes));
		if (!b->prefixes)
			break;
		b->id = i + 1;
		for (uint32_t k = 0; k < n && !r->failed; k++) {
			struct xs_prefix *px = &b->prefixes[k];

			px->family = get_u8(r);
			px->len = get_u8(r);
			get_pad(r, 2);
			get(r, px->addr, 16);
			px->loc = b->loc;
			b->nprefixes++;
			if (!r->failed &&
			    ((px->family != 4 && px->family != 6) ||
			     !art_prefix_ok(px->addr, px->len, px->family == 4 ? 32 : 128)))
				art_fail(r, "address %u is not a prefix", k + 1);
		}
		if (r->failed)
			break;
		if (!b->pattern[0])
			art_fail(r, "an empty pattern");
		else if (!b->seg || b->seg > p->nsegments || b->seg == p->linklocal_seg ||
			 p->segments[b->seg - 1].derived)
			art_fail(r, "segment %u is not a declared segment", b->seg);
		else if (art_rule_id_ok(R, b->rule_id, "its origin") &&
			 p->origins[b->rule_id - 1].kind != XS_ORIGIN_BIND)
			art_fail(r, "its origin %u is not a bind statement's", b->rule_id);
	}
	section_done(R);
}

/* n segment ids (a segment or world); false after a failure. */
static bool get_segs(struct reader *R, uint16_t **v, uint32_t n)
{
	struct rd *r = &R->r;

	*v = art_alloc_n(r, n, sizeof(**v));
	if (!*v)
		return false;
	for (uint32_t i = 0; i < n && !r->failed; i++) {
		(*v)[i] = get_u16(r);
		if (!r->failed && (*v)[i] > R->c->policy->nsegments)
			art_fail(r, "segment %u is not one of the policy's", (*v)[i]);
	}
	return !r->failed;
}

/* What an overlay rule of each kind has: sources, destinations, ports, flags. */
static void overlay_rule_ok(struct reader *R, const struct xs_overlay_rule *o)
{
	struct rd *r = &R->r;
	const struct xs_policy *p = R->c->policy;
	bool has_src = o->kind == XS_ORIGIN_FORENSIC || o->kind == XS_ORIGIN_GRANT;
	uint8_t flags = o->kind == XS_ORIGIN_QUARANTINE ? XS_OVR_STRICT
			: o->kind == XS_ORIGIN_GRANT	? XS_RULEF_DRAIN
							: 0;

	if (o->kind < XS_ORIGIN_QUARANTINE || o->kind > XS_ORIGIN_FAILSAFE)
		art_fail(r, "kind %u is not an overlay's", o->kind);
	else if (!art_rule_id_ok(R, o->rule_id, "its origin"))
		return;
	else if (p->origins[o->rule_id - 1].kind != o->kind)
		art_fail(r, "its origin %u is of another kind", o->rule_id);
	else if (o->flags & ~flags)
		art_fail(r, "flags 0x%x are not its kind's", o->flags);
	else if ((o->kind == XS_ORIGIN_GRANT) != (o->expires != 0))
		art_fail(r, "an end %u (a grant has one, nothing else does)", o->expires);
	else if (has_src != (o->nsrc != 0))
		art_fail(r, "%zu sources", o->nsrc);
	else if (!o->ndst && o->kind != XS_ORIGIN_FORENSIC)
		art_fail(r, "no destination");
	else if (o->kind == XS_ORIGIN_QUARANTINE ? o->nports != 0
						 : o->kind != XS_ORIGIN_FORENSIC && !o->nports)
		art_fail(r, "%zu port specs", o->nports);
}

static void read_overlay_rules(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;
	uint64_t nspecs = 0;

	if (!section(R, S_OVERLAY_RULES) || !count_ok(r, R->count, 1u << 22, 24))
		return;
	p->overlay_rules = art_alloc_n(r, R->count, sizeof(*p->overlay_rules));
	if (!p->overlay_rules)
		return;
	for (uint32_t i = 0; i < R->count && !r->failed; i++) {
		struct xs_overlay_rule *o = &p->overlay_rules[i];
		uint32_t nsrc, ndst, nports;

		r->rec = i + 1;
		p->noverlay_rules++;
		o->kind = get_u8(r);
		o->flags = get_u8(r);
		get_pad(r, 2);
		o->rule_id = get_u32(r);
		o->expires = get_u32(r);
		nsrc = get_u32(r);
		ndst = get_u32(r);
		nports = get_u32(r);
		if (!count_ok(r, nsrc, XS_MAX_SEGMENTS, 2) || !get_segs(R, &o->src, nsrc))
			break;
		o->nsrc = nsrc;
		if (!count_ok(r, ndst, XS_MAX_SEGMENTS, 2) || !get_segs(R, &o->dst, ndst))
			break;
		o->ndst = ndst;
		nspecs += nports;
		if (!count_ok(r, nports, XS_MAX_FLAT_SPECS, 6) || nspecs > XS_MAX_FLAT_SPECS) {
			art_fail(r, "more than %d port specs", XS_MAX_FLAT_SPECS);
			break;
		}
		o->ports = art_alloc_n(r, nports, sizeof(*o->ports));
		if (!o->ports)
			break;
		for (uint32_t k = 0; k < nports && !r->failed; k++) {
			struct xs_portspec *ps = &o->ports[k];

			ps->proto = get_u8(r);
			get_pad(r, 1);
			ps->lo = get_u16(r);
			ps->hi = get_u16(r);
			o->nports++;
			if (r->failed)
				break;
			if (!ps->proto || !xs_proto_name(ps->proto))
				art_fail(r, "protocol %u is not one a policy can name", ps->proto);
			else if (ps->lo > ps->hi)
				art_fail(r, "port range %u-%u is inverted", ps->lo, ps->hi);
		}
		if (!r->failed)
			overlay_rule_ok(R, o);
	}
	section_done(R);
}

/* A NUL-terminated string in a fixed field, zero after its end. */
static bool field_ok(const char *f, size_t size)
{
	const char *e = memchr(f, 0, size);

	if (!e)
		return false;
	for (; e < f + size; e++)
		if (*e)
			return false;
	return true;
}

static void read_overlays(struct reader *R)
{
	struct xs_compiled *c = R->c;
	const struct xs_policy *p = c->policy;
	struct rd *r = &R->r;
	static const uint8_t zero[6];

	if (!section(R, S_OVERLAYS) || !count_ok(r, R->count, XS_MAX_OVERLAYS, 420))
		return;
	c->overlays = art_alloc_n(r, R->count, sizeof(*c->overlays));
	if (!c->overlays)
		return;
	for (uint32_t i = 0; i < R->count && !r->failed; i++) {
		struct xs_overlay_entry *e = &c->overlays[i];
		const struct xs_overlay *o = &e->rec;
		uint32_t kind;

		r->rec = i + 1;
		e->rule_id = get_u32(r);
		get(r, &e->rec, sizeof(e->rec));
		c->noverlays++;
		if (r->failed)
			break;
		kind = o->kind == XS_OVERLAY_GRANT ? XS_ORIGIN_GRANT : XS_ORIGIN_QUARANTINE;
		if (o->kind != XS_OVERLAY_GRANT && o->kind != XS_OVERLAY_QUARANTINE)
			art_fail(r, "kind %u is not an overlay's", o->kind);
		else if (!o->number || (i && o->number <= c->overlays[i - 1].rec.number))
			art_fail(r, "number %u is not after the one before it", o->number);
		else if (o->flags & ~(o->kind == XS_OVERLAY_GRANT ? XS_RULEF_DRAIN : 0))
			art_fail(r, "flags 0x%x", o->flags);
		else if (o->kind == XS_OVERLAY_GRANT && !o->expires)
			art_fail(r, "a grant without an end");
		else if (memcmp(o->pad, zero, sizeof(o->pad)))
			art_fail(r, "padding is not zero");
		else if (!field_ok(o->text, sizeof(o->text)) || !o->text[0] ||
			 !field_ok(o->reason, sizeof(o->reason)))
			art_fail(r, "its text or reason is not a string");
		else if (art_rule_id_ok(R, e->rule_id, "its origin") &&
			 p->origins[e->rule_id - 1].kind != kind)
			art_fail(r, "its origin %u is not a %s's", e->rule_id,
				 kind == XS_ORIGIN_GRANT ? "grant" : "quarantine");
	}
	section_done(R);
	/* each quarantine and grant of the source form has its record */
	for (size_t i = 0; i < p->noverlay_rules && !r->failed; i++) {
		const struct xs_overlay_rule *o = &p->overlay_rules[i];
		bool found = false;

		if (o->kind != XS_ORIGIN_QUARANTINE && o->kind != XS_ORIGIN_GRANT)
			continue;
		for (size_t k = 0; k < c->noverlays && !found; k++)
			found = c->overlays[k].rule_id == o->rule_id;
		if (!found) {
			r->rec = 0;
			art_fail(r, "overlay rule %zu (origin %u) has no record", i + 1,
				 o->rule_id);
		}
	}
}

static void read_sources(struct reader *R)
{
	struct xs_compiled *c = R->c;
	struct rd *r = &R->r;

	if (!section(R, S_SOURCES) || !count_ok(r, R->count, 1u << 24, 12))
		return;
	c->sources = art_alloc_n(r, R->count, sizeof(*c->sources));
	if (!c->sources)
		return;
	for (uint32_t i = 0; i < R->count && !r->failed; i++) {
		struct xs_file *f = &c->sources[i];
		char *id;
		uint32_t len;

		r->rec = i + 1;
		c->nsources++;
		f->path = get_str(r, ART_MAX_STR, "the file name");
		id = get_str(r, XS_FILE_ID_LEN - 1, "the file's identity");
		if (id)
			memcpy(f->id, id, strlen(id) + 1);
		free(id);
		len = get_u32(r);
		if (r->failed)
			break;
		if (len > XS_MAX_FILE_BYTES) {
			art_fail(r, "%u bytes (a policy file has at most %u)", len,
				 XS_MAX_FILE_BYTES);
			break;
		}
		if (!need(r, len))
			break;
		f->text = malloc((size_t)len + 1);
		if (!f->text) {
			art_nomem(r);
			break;
		}
		memcpy(f->text, r->p + r->o, len);
		f->text[len] = '\0';
		f->len = len;
		r->o += len;
		if (!f->path[0])
			art_fail(r, "an empty file name");
	}
	section_done(R);
}

static void read_header(struct reader *R, uint8_t hash[32])
{
	struct rd *r = &R->r;
	uint32_t bom, version, nsect, reserved;
	uint64_t length;
	uint8_t sum[32];

	if (memcmp(R->buf, ART_MAGIC, R->len < ART_MAGIC_LEN ? R->len : ART_MAGIC_LEN)) {
		art_fail(r, "not an xdpseg compiled policy (bad magic)");
		return;
	}
	if (R->len < ART_HEADER + ART_TRAILER) {
		art_fail(r, "truncated: %zu bytes, fewer than a header and a checksum (%u)", R->len,
			 ART_HEADER + ART_TRAILER);
		return;
	}
	memcpy(&bom, R->buf + 8, 4);
	memcpy(&version, R->buf + 12, 4);
	memcpy(&length, R->buf + 16, 8);
	memcpy(hash, R->buf + 24, 32);
	memcpy(&nsect, R->buf + 56, 4);
	memcpy(&reserved, R->buf + 60, 4);
	if (bom == __builtin_bswap32(ART_BOM)) {
		art_fail(r, "written on a host of the other byte order");
		return;
	}
	if (bom != ART_BOM) {
		art_fail(r, "not an xdpseg compiled policy (bad byte-order mark)");
		return;
	}
	if (version != ART_VERSION) {
		art_fail(r, "format version %u; this xdpseg reads version %u", version,
			 ART_VERSION);
		return;
	}
	if (length > R->len) {
		art_fail(r, "truncated: %zu of %llu bytes", R->len, (unsigned long long)length);
		return;
	}
	if (length < R->len) {
		art_fail(r, "%zu bytes where the header says %llu", R->len,
			 (unsigned long long)length);
		return;
	}
	xs_sha256(R->buf, R->len - ART_TRAILER, sum);
	if (memcmp(sum, R->buf + R->len - ART_TRAILER, ART_TRAILER)) {
		art_fail(r, "corrupt: its bytes do not match their checksum");
		return;
	}
	if (nsect != ART_NSECTIONS || reserved)
		art_fail(r, "%u sections (format version %u has %u)", nsect, ART_VERSION,
			 ART_NSECTIONS);
}

int xs_compiled_deserialize(const void *buf, size_t len, struct xs_compiled **out, char **file,
			    char *err, size_t errlen)
{
	struct reader R = { .r = { .p = buf, .err = err, .errlen = errlen },
			    .buf = buf,
			    .len = len };
	struct rd *r = &R.r;
	struct xs_compiled *c;
	uint8_t hash[32], got[32];
	size_t n;

	*out = NULL;
	*file = NULL;
	if (errlen)
		err[0] = '\0';
	if (len > ART_MAX_BYTES) {
		art_fail(r, "%zu bytes: larger than any compiled policy (%llu MiB)", len,
			 ART_MAX_BYTES >> 20);
		return -EINVAL;
	}
	read_header(&R, hash);
	if (r->failed)
		return -EINVAL;
	c = R.c = calloc(1, sizeof(*c));
	if (!c || !(c->policy = calloc(1, sizeof(*c->policy)))) {
		free(c);
		art_fail(r, "out of memory");
		return -ENOMEM;
	}
	R.next = ART_HEADER;
	if (section(&R, S_SOURCE)) {
		if (R.count != 1)
			art_fail(r, "%u records, expected 1", R.count);
		R.source = get_str(r, ART_MAX_STR, "the file name");
		section_done(&R);
	}
	read_files(&R);
	read_origins(&R);
	read_policy(&R);
	read_segments(&R);
	read_rules(&R);
	read_bindings(&R);
	c->v4 = table(&R, S_IPV4, sizeof(*c->v4), XS_MAX_PREFIXES4, &c->nv4);
	c->v6 = table(&R, S_IPV6, sizeof(*c->v6), XS_MAX_PREFIXES6, &c->nv6);
	c->rules = table(&R, S_RULE_TABLE, sizeof(*c->rules), XS_MAX_RULE_ENTRIES, &c->nrules);
	c->seginfo = table(&R, S_SEGINFO, sizeof(*c->seginfo), XS_MAX_SEGMENTS, &c->nseginfo);
	if (!r->failed) {
		struct xs_set_info *si = table(&R, S_SETINFO, sizeof(c->setinfo), 1, &n);

		if (si && n != 1)
			art_fail(r, "%zu entries, expected 1", n);
		if (si)
			c->setinfo = *si;
		free(si);
	}
	c->binds = table(&R, S_BINDS, sizeof(*c->binds), XS_MAX_BINDS, &c->nbinds);
	c->bind4 = table(&R, S_BIND4, sizeof(*c->bind4), XS_MAX_BIND_PREFIXES, &c->nbind4);
	c->bind6 = table(&R, S_BIND6, sizeof(*c->bind6), XS_MAX_BIND_PREFIXES, &c->nbind6);
	read_overlay_rules(&R);
	read_overlays(&R);
	read_sources(&R);
	if (!r->failed && R.next != len - ART_TRAILER) {
		r->sect = 0;
		art_fail(r, "%zu bytes after the last section", len - ART_TRAILER - R.next);
	}
	art_check_tables(&R);
	if (!r->failed) {
		r->sect = 0;
		if (xs_compiled_hash(c, got))
			art_nomem(r);
		else if (memcmp(got, hash, sizeof(got))) {
			char hex[65];

			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", hash[i]);
			art_fail(r, "its tables do not match the hash it carries (%s)", hex);
		}
	}
	if (r->failed) {
		xs_compiled_free(c);
		free(R.source);
		return r->nomem ? -ENOMEM : -EINVAL;
	}
	memcpy(c->hash, hash, sizeof(hash));
	*out = c;
	*file = R.source;
	return 0;
}

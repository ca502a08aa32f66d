// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The compiled artefact, written: the header, the sections in their fixed
 * order, the checksum (artefact.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artefact.h"

struct wbuf {
	uint8_t *p;
	size_t n, cap;
	bool nomem;
};

static void put(struct wbuf *w, const void *d, size_t k)
{
	if (w->nomem)
		return;
	if (w->cap - w->n < k) {
		size_t nc = w->cap ? w->cap : 4096;
		uint8_t *np;

		while (nc - w->n < k)
			nc *= 2;
		np = realloc(w->p, nc);
		if (!np) {
			w->nomem = true;
			return;
		}
		w->p = np;
		w->cap = nc;
	}
	if (k)
		memcpy(w->p + w->n, d, k);
	w->n += k;
}

static void put_u8(struct wbuf *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_u16(struct wbuf *w, uint16_t v)
{
	put(w, &v, 2);
}

static void put_u32(struct wbuf *w, uint32_t v)
{
	put(w, &v, 4);
}

static void put_i32(struct wbuf *w, int32_t v)
{
	put(w, &v, 4);
}

static void put_u64(struct wbuf *w, uint64_t v)
{
	put(w, &v, 8);
}

static void put_str(struct wbuf *w, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	put_u32(w, (uint32_t)len);
	put(w, s, len);
}

/* A section's header (its length patched by sect_end); returns where it is. */
static size_t sect_begin(struct wbuf *w, uint32_t tag, size_t count)
{
	size_t at = w->n;

	put_u32(w, tag);
	put_u32(w, (uint32_t)count);
	put_u64(w, 0);
	return at;
}

static void sect_end(struct wbuf *w, size_t at)
{
	uint64_t bytes = w->n - at - ART_SECTION_HEADER;

	if (!w->nomem)
		memcpy(w->p + at + 8, &bytes, 8);
}

static void put_table(struct wbuf *w, uint32_t tag, const void *v, size_t n, size_t sz)
{
	size_t at = sect_begin(w, tag, n);

	put(w, v, n * sz);
	sect_end(w, at);
}

/* The index of a location's file in files[]: every location of a compiled
 * policy is in one of its files (0, the top-level file, for none). */
static uint32_t file_index(const struct xs_name_map *m, const char *file)
{
	long i = file ? xs_map_get(m, file) : -1;

	return i < 0 ? 0 : (uint32_t)i;
}

static void put_loc(struct wbuf *w, const struct xs_name_map *m, const char *file, int line,
		    int col, bool with_col)
{
	put_u32(w, file_index(m, file));
	put_i32(w, line);
	if (with_col)
		put_i32(w, col);
}

static void put_prefix(struct wbuf *w, const struct xs_prefix *px)
{
	put_u8(w, px->family);
	put_u8(w, px->len);
	put_u16(w, 0);
	put(w, px->addr, 16);
}

static void put_policy(struct wbuf *w, const struct xs_policy *p, const struct xs_name_map *m)
{
	size_t at;

	at = sect_begin(w, S_FILES, p->nfiles);
	for (size_t i = 0; i < p->nfiles; i++)
		put_str(w, p->files[i]);
	sect_end(w, at);

	at = sect_begin(w, S_ORIGINS, p->norigins);
	for (size_t i = 0; i < p->norigins; i++) {
		const struct xs_origin_entry *o = &p->origins[i];

		put_u32(w, (uint32_t)o->kind);
		put_loc(w, m, o->file, o->line, 0, false);
		put_str(w, o->text);
	}
	sect_end(w, at);

	at = sect_begin(w, S_POLICY, 1);
	put_u32(w, (uint32_t)p->nservices);
	put_u32(w, p->world_in_rule_id);
	put_u32(w, p->world_out_rule_id);
	put_u16(w, p->linklocal_seg);
	put_u16(w, 0);
	sect_end(w, at);

	at = sect_begin(w, S_SEGMENTS, p->nsegments);
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct xs_segment *s = &p->segments[i];

		put_u8(w, s->derived   ? ART_SEG_DERIVED
			  : s->builtin ? ART_SEG_BUILTIN
				       : ART_SEG_DECLARED);
		put_u8(w, s->in_action);
		put_u8(w, s->out_action);
		put_u8(w, s->monitor);
		put_u32(w, s->in_rule_id);
		put_u32(w, s->out_rule_id);
		put_u16(w, s->derived ? s->parent : 0);
		put_u16(w, 0);
		put_loc(w, m, s->loc.file, s->loc.line, s->loc.col, true);
		put_str(w, s->name);
	}
	sect_end(w, at);

	at = sect_begin(w, S_RULES, p->nrules);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *r = &p->rules[i];

		put_u8(w, r->action);
		/* 1: the same statement (rule id) as the record before (a list's pair) */
		put_u8(w, i && r->id == p->rules[i - 1].id);
		put(w, "\0\0", 2);
		put_u32(w, r->src);
		put_u32(w, r->dst);
		put_i32(w, r->loc.col);
		put_u32(w, (uint32_t)r->nports);
		for (size_t k = 0; k < r->nports; k++) {
			put_u8(w, r->ports[k].proto);
			put_u8(w, 0);
			put_u16(w, r->ports[k].lo);
			put_u16(w, r->ports[k].hi);
		}
	}
	sect_end(w, at);

	at = sect_begin(w, S_BINDINGS, p->nbindings);
	for (size_t i = 0; i < p->nbindings; i++) {
		const struct xs_binding *b = &p->bindings[i];

		put_u32(w, b->rule_id);
		put_u16(w, b->seg);
		put_u16(w, 0);
		put_loc(w, m, b->loc.file, b->loc.line, b->loc.col, true);
		put_str(w, b->pattern);
		put_str(w, b->text);
		put_u32(w, (uint32_t)b->nprefixes);
		for (size_t k = 0; k < b->nprefixes; k++)
			put_prefix(w, &b->prefixes[k]);
	}
	sect_end(w, at);
}

static void put_segs(struct wbuf *w, const uint16_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_u16(w, v[i]);
}

static void put_overlays(struct wbuf *w, const struct xs_compiled *c)
{
	const struct xs_policy *p = c->policy;
	size_t at = sect_begin(w, S_OVERLAY_RULES, p->noverlay_rules);

	for (size_t i = 0; i < p->noverlay_rules; i++) {
		const struct xs_overlay_rule *o = &p->overlay_rules[i];

		put_u8(w, o->kind);
		put_u8(w, o->flags);
		put_u16(w, 0);
		put_u32(w, o->rule_id);
		put_u32(w, o->expires);
		put_u32(w, (uint32_t)o->nsrc);
		put_u32(w, (uint32_t)o->ndst);
		put_u32(w, (uint32_t)o->nports);
		put_segs(w, o->src, o->nsrc);
		put_segs(w, o->dst, o->ndst);
		for (size_t k = 0; k < o->nports; k++) {
			put_u8(w, o->ports[k].proto);
			put_u8(w, 0);
			put_u16(w, o->ports[k].lo);
			put_u16(w, o->ports[k].hi);
		}
	}
	sect_end(w, at);

	at = sect_begin(w, S_OVERLAYS, c->noverlays);
	for (size_t i = 0; i < c->noverlays; i++) {
		put_u32(w, c->overlays[i].rule_id);
		put(w, &c->overlays[i].rec, sizeof(c->overlays[i].rec));
	}
	sect_end(w, at);

	at = sect_begin(w, S_SOURCES, c->nsources);
	for (size_t i = 0; i < c->nsources; i++) {
		const struct xs_file *f = &c->sources[i];

		put_str(w, f->path);
		put_str(w, f->id);
		put_u32(w, (uint32_t)f->len);
		put(w, f->text, f->len);
	}
	sect_end(w, at);
}

int xs_compiled_serialize(const struct xs_compiled *c, const char *file, void **buf, size_t *len)
{
	const struct xs_policy *p = c->policy;
	struct xs_name_map files = { 0 };
	struct wbuf w = { 0 };
	uint64_t total;
	size_t at;

	*buf = NULL;
	*len = 0;
	for (size_t i = 0; i < p->nfiles; i++)
		if (xs_map_put(&files, p->files[i], (long)i) == -ENOMEM)
			w.nomem = true;

	put(&w, ART_MAGIC, ART_MAGIC_LEN);
	put_u32(&w, ART_BOM);
	put_u32(&w, ART_VERSION);
	put_u64(&w, 0); /* the length, patched below */
	put(&w, c->hash, sizeof(c->hash));
	put_u32(&w, ART_NSECTIONS);
	put_u32(&w, 0);

	at = sect_begin(&w, S_SOURCE, 1);
	put_str(&w, file);
	sect_end(&w, at);
	put_policy(&w, p, &files);
	put_table(&w, S_IPV4, c->v4, c->nv4, sizeof(*c->v4));
	put_table(&w, S_IPV6, c->v6, c->nv6, sizeof(*c->v6));
	put_table(&w, S_RULE_TABLE, c->rules, c->nrules, sizeof(*c->rules));
	put_table(&w, S_SEGINFO, c->seginfo, c->nseginfo, sizeof(*c->seginfo));
	put_table(&w, S_SETINFO, &c->setinfo, 1, sizeof(c->setinfo));
	put_table(&w, S_BINDS, c->binds, c->nbinds, sizeof(*c->binds));
	put_table(&w, S_BIND4, c->bind4, c->nbind4, sizeof(*c->bind4));
	put_table(&w, S_BIND6, c->bind6, c->nbind6, sizeof(*c->bind6));
	put_overlays(&w, c);
	xs_map_free(&files);

	total = w.n + ART_TRAILER;
	if (!w.nomem)
		memcpy(w.p + 16, &total, 8);
	if (!w.nomem) {
		uint8_t sum[32];

		xs_sha256(w.p, w.n, sum);
		put(&w, sum, sizeof(sum));
	}
	if (w.nomem) {
		free(w.p);
		return -ENOMEM;
	}
	*buf = w.p;
	*len = w.n;
	return 0;
}

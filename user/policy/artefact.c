// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The compiled artefact: a compiled policy as one self-checking byte string
 * and back (policies/README.md, "The compiled artefact"). The reader treats
 * its input as hostile: every length is checked against what is left before
 * it is used, every count is capped and paid for in bytes before anything
 * is allocated for it, every string is bounded and NUL-free, every index is
 * in range, and the tables must hash, as the compiler hashes them, to the
 * hash the artefact carries.
 *
 * Layout: a 64-byte header, then the sections in a fixed order, each a
 * 16-byte header (tag, count, bytes) and its body, then a SHA-256 of every
 * byte before it. Integers are in the writing host's byte order, which the
 * header's byte-order mark records (the tables are the kernel ABI's structs
 * as the maps take them, and the hash is over those bytes).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ART_MAGIC "\x89XSC\r\n\x1a\n"
#define ART_MAGIC_LEN 8
#define ART_BOM 0x01020304u
#define ART_VERSION 1u
#define ART_HEADER 64u
#define ART_SECTION_HEADER 16u
#define ART_TRAILER 32u
/* Far above the largest policy the compiler accepts (about 100 MiB). */
#define ART_MAX_BYTES (512ull << 20)
/* A string is at most a policy file (a rule's text is one of its lines). */
#define ART_MAX_STR XS_MAX_FILE_BYTES

enum {
	S_SOURCE = 1, /* the file it was applied from */
	S_FILES,      /* every file the compiler read */
	S_ORIGINS,    /* rule id -> kind, file, line, text */
	S_POLICY,     /* counts and ids of the source form */
	S_SEGMENTS,   /* names, defaults, modes, declarations */
	S_RULES,      /* the source rules (for the reference evaluator) */
	S_BINDINGS,   /* bind statements */
	S_IPV4,	      /* the tables, as xs_policy_compile() made them */
	S_IPV6,
	S_RULE_TABLE,
	S_SEGINFO,
	S_SETINFO,
	S_BINDS,
	S_BIND4,
	S_BIND6,
	S__END,
};
#define ART_NSECTIONS (S__END - 1)

static const char *const sect_names[S__END] = {
	[S_SOURCE] = "source",	       [S_FILES] = "files",	  [S_ORIGINS] = "origins",
	[S_POLICY] = "policy",	       [S_SEGMENTS] = "segments", [S_RULES] = "rules",
	[S_BINDINGS] = "bindings",     [S_IPV4] = "ipv4",	  [S_IPV6] = "ipv6",
	[S_RULE_TABLE] = "rule-table", [S_SEGINFO] = "seginfo",	  [S_SETINFO] = "setinfo",
	[S_BINDS] = "binds",	       [S_BIND4] = "bind4",	  [S_BIND6] = "bind6",
};

/* ---- Writing -------------------------------------------------------------------- */

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

		put_u8(w, s->builtin);
		put_u8(w, s->in_action);
		put_u8(w, s->out_action);
		put_u8(w, s->monitor);
		put_u32(w, s->in_rule_id);
		put_u32(w, s->out_rule_id);
		put_loc(w, m, s->loc.file, s->loc.line, s->loc.col, true);
		put_str(w, s->name);
	}
	sect_end(w, at);

	at = sect_begin(w, S_RULES, p->nrules);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *r = &p->rules[i];

		put_u8(w, r->action);
		put(w, "\0\0\0", 3);
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

/* ---- Reading ---------------------------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t o, end; /* the section's body: p[o..end) */
	int sect;      /* S_*, 0: the header */
	size_t rec;    /* the record being read, +1 (0: none) */
	char *err;
	size_t errlen;
	bool failed, nomem;
};

static void fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first reason only: "section 'NAME', record N: WHY". */
static void fail(struct rd *r, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!r->sect)
		snprintf(r->err, r->errlen, "%s", why);
	else if (r->rec)
		snprintf(r->err, r->errlen, "section '%s', record %zu: %s", sect_names[r->sect],
			 r->rec, why);
	else
		snprintf(r->err, r->errlen, "section '%s': %s", sect_names[r->sect], why);
}

static bool nomem(struct rd *r)
{
	r->nomem = true;
	fail(r, "out of memory");
	return false;
}

/* Are k more bytes in the section? */
static bool need(struct rd *r, size_t k)
{
	if (r->failed)
		return false;
	if (r->end - r->o >= k)
		return true;
	fail(r, "%zu bytes needed, %zu left", k, r->end - r->o);
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
		fail(r, "%s of %u bytes (at most %zu)", what, len, max);
		return NULL;
	}
	if (!need(r, len))
		return NULL;
	if (memchr(r->p + r->o, 0, len)) {
		fail(r, "%s holds a NUL byte", what);
		return NULL;
	}
	s = malloc((size_t)len + 1);
	if (!s) {
		nomem(r);
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
		fail(r, "padding is not zero");
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
		fail(r, "%u records (at most %zu)", count, max);
		return false;
	}
	if ((uint64_t)count * min > r->end - r->o) {
		fail(r, "%u records cannot fit in %zu bytes", count, r->end - r->o);
		return false;
	}
	return true;
}

/* calloc(n + 1, sz): never NULL for n = 0. */
static void *alloc_n(struct rd *r, size_t n, size_t sz)
{
	void *v = calloc(n + 1, sz);

	if (!v)
		nomem(r);
	return v;
}

struct reader {
	struct rd r;
	const uint8_t *buf;
	size_t len;	/* of the whole artefact */
	size_t next;	/* offset of the next section header */
	uint32_t count; /* of the section being read */
	struct xs_compiled *c;
	char *source;
};

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
		fail(r, "truncated: no header for section '%s'", sect_names[tag]);
		return false;
	}
	memcpy(&t, R->buf + R->next, 4);
	memcpy(&R->count, R->buf + R->next + 4, 4);
	memcpy(&bytes, R->buf + R->next + 8, 8);
	r->sect = tag;
	if (t != (uint32_t)tag) {
		fail(r, "found tag %u where tag %d was expected", t, tag);
		return false;
	}
	R->next += ART_SECTION_HEADER;
	if (bytes > limit - R->next) {
		fail(r, "%llu bytes long, only %zu left", (unsigned long long)bytes,
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
		fail(r, "%zu bytes left over", r->end - r->o);
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
		fail(r, "%u entries (at most %zu)", R->count, max);
		return NULL;
	}
	if ((uint64_t)R->count * sz != r->end - r->o) {
		fail(r, "%u entries of %zu bytes cannot be %zu bytes", R->count, sz, r->end - r->o);
		return NULL;
	}
	v = alloc_n(r, R->count, sz);
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
		fail(&R->r, "file index %u is out of range (%zu files)", i, p->nfiles);
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
		fail(r, "negative line or column");
}

/* A rule id the policy's origins define. */
static bool rule_id_ok(struct reader *R, uint32_t id, const char *what)
{
	if (R->r.failed)
		return false;
	if (id == 0 || id > R->c->policy->norigins) {
		fail(&R->r, "%s %u is not a rule id of the policy (1..%zu)", what, id,
		     R->c->policy->norigins);
		return false;
	}
	return true;
}

static bool action_ok(struct rd *r, uint8_t a, const char *what)
{
	if (a == XS_ACT_ALLOW || a == XS_ACT_DENY)
		return true;
	fail(r, "%s %u is neither allow nor deny", what, a);
	return false;
}

static void read_files(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;

	if (!section(R, S_FILES) || !count_ok(r, R->count, 1u << 24, 4))
		return;
	if (!R->count) {
		fail(r, "no files (a policy has its top-level file)");
		return;
	}
	p->files = alloc_n(r, R->count, sizeof(*p->files));
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
	p->origins = alloc_n(r, R->count, sizeof(*p->origins));
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
		if (kind != XS_ORIGIN_RULE && kind != XS_ORIGIN_DEFAULT &&
		    kind != XS_ORIGIN_IMPLICIT && kind != XS_ORIGIN_BIND)
			fail(r, "kind %u is not a rule origin's", kind);
	}
	section_done(R);
	if (!r->failed && !p->norigins) {
		r->rec = 0;
		fail(r, "no origins (world's default has one)");
	}
}

static void read_policy(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;

	if (!section(R, S_POLICY))
		return;
	if (R->count != 1) {
		fail(r, "%u records, expected 1", R->count);
		return;
	}
	p->nservices = get_u32(r);
	p->world_in_rule_id = get_u32(r);
	p->world_out_rule_id = get_u32(r);
	p->linklocal_seg = get_u16(r);
	get_pad(r, 2);
	section_done(R);
	rule_id_ok(R, p->world_in_rule_id, "world's in default");
	rule_id_ok(R, p->world_out_rule_id, "world's out default");
}

static void read_segments(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;

	if (!section(R, S_SEGMENTS) || !count_ok(r, R->count, XS_MAX_SEGMENTS - 1, 28))
		return;
	p->segments = alloc_n(r, R->count, sizeof(*p->segments));
	if (!p->segments)
		return;
	for (uint32_t i = 0; i < R->count && !r->failed; i++) {
		struct xs_segment *s = &p->segments[i];
		uint8_t builtin, monitor;

		r->rec = i + 1;
		p->nsegments++;
		builtin = get_u8(r);
		s->in_action = get_u8(r);
		s->out_action = get_u8(r);
		monitor = get_u8(r);
		s->in_rule_id = get_u32(r);
		s->out_rule_id = get_u32(r);
		get_loc(R, &s->loc, true);
		s->name = get_str(r, ART_MAX_STR, "the name");
		if (r->failed)
			break;
		s->id = (uint16_t)(i + 1);
		s->builtin = builtin;
		s->monitor = monitor;
		if (builtin > 1 || monitor > 1)
			fail(r, "a flag is neither 0 nor 1");
		else if (!s->name[0])
			fail(r, "an empty name");
		else if (builtin != (s->id == p->linklocal_seg))
			fail(r, "id %u is %sbuilt in, and link-local's id is %u", s->id,
			     builtin ? "" : "not ", p->linklocal_seg);
		else if (action_ok(r, s->in_action, "the in default") &&
			 action_ok(r, s->out_action, "the out default") &&
			 rule_id_ok(R, s->in_rule_id, "the in default's origin"))
			rule_id_ok(R, s->out_rule_id, "the out default's origin");
	}
	section_done(R);
	if (!r->failed && (!p->linklocal_seg || p->linklocal_seg > p->nsegments)) {
		r->rec = 0;
		fail(r, "link-local's id %u is not one of the %zu segments", p->linklocal_seg,
		     p->nsegments);
	}
}

/* An endpoint of a rule: a segment, world or any. */
static bool endpoint_ok(const struct xs_policy *p, uint32_t e)
{
	return e == XS_ENDPOINT_ANY || e <= p->nsegments;
}

static void read_rules(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;
	uint64_t nspecs = 0;

	if (!section(R, S_RULES) || !count_ok(r, R->count, p->norigins, 20))
		return;
	p->rules = alloc_n(r, R->count, sizeof(*p->rules));
	if (!p->rules)
		return;
	for (uint32_t i = 0; i < R->count && !r->failed; i++) {
		struct xs_rule *ru = &p->rules[i];
		const struct xs_origin_entry *o = &p->origins[i];
		uint32_t n;

		r->rec = i + 1;
		p->nrules++;
		ru->action = get_u8(r);
		get_pad(r, 3);
		ru->src = get_u32(r);
		ru->dst = get_u32(r);
		ru->loc.col = get_i32(r);
		n = get_u32(r);
		nspecs += n;
		if (!count_ok(r, n, XS_MAX_FLAT_SPECS, 6) || nspecs > XS_MAX_FLAT_SPECS) {
			fail(r, "more than %d port specs", XS_MAX_FLAT_SPECS);
			break;
		}
		ru->ports = alloc_n(r, n, sizeof(*ru->ports));
		if (!ru->ports)
			break;
		ru->text = strdup(o->text);
		if (!ru->text) {
			nomem(r);
			break;
		}
		ru->id = i + 1;
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
				fail(r, "protocol %u is not one a policy can name", ps->proto);
			else if (ps->lo > ps->hi)
				fail(r, "port range %u-%u is inverted", ps->lo, ps->hi);
		}
		if (r->failed)
			break;
		if (o->kind != XS_ORIGIN_RULE)
			fail(r, "its origin %u is not a rule's", ru->id);
		else if (action_ok(r, ru->action, "the action") &&
			 (!endpoint_ok(p, ru->src) || !endpoint_ok(p, ru->dst)))
			fail(r, "endpoint %u -> %u is not a segment, world or any", ru->src,
			     ru->dst);
	}
	section_done(R);
}

/* A prefix: family 4 or 6, its length in range, no host bits. */
static bool prefix_ok(const uint8_t *addr, unsigned int len, unsigned int bits)
{
	if (len > bits)
		return false;
	for (unsigned int b = len; b < 128; b++)
		if (addr[b / 8] & (0x80 >> (b % 8)))
			return false;
	return true;
}

static void read_bindings(struct reader *R)
{
	struct xs_policy *p = R->c->policy;
	struct rd *r = &R->r;

	if (!section(R, S_BINDINGS) || !count_ok(r, R->count, XS_MAX_BINDS - 1, 32))
		return;
	p->bindings = alloc_n(r, R->count, sizeof(*p->bindings));
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
		b->prefixes = alloc_n(r, n, sizeof(*b->prefixes));
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
			     !prefix_ok(px->addr, px->len, px->family == 4 ? 32 : 128)))
				fail(r, "address %u is not a prefix", k + 1);
		}
		if (r->failed)
			break;
		if (!b->pattern[0])
			fail(r, "an empty pattern");
		else if (!b->seg || b->seg > p->nsegments || b->seg == p->linklocal_seg)
			fail(r, "segment %u is not a declared segment", b->seg);
		else if (rule_id_ok(R, b->rule_id, "its origin") &&
			 p->origins[b->rule_id - 1].kind != XS_ORIGIN_BIND)
			fail(r, "its origin %u is not a bind statement's", b->rule_id);
	}
	section_done(R);
}

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
		if (!prefix_ok(a, e->key.prefixlen, 32))
			fail(r, "not a prefix");
		else if (!e->val.seg || e->val.seg > c->policy->nsegments || e->val.pad)
			fail(r, "segment %u is not one of the policy's", e->val.seg);
		else if (i && lpm_cmp(c->v4[i - 1].key.addr, c->v4[i - 1].key.prefixlen,
				      e->key.addr, e->key.prefixlen, 4) >= 0)
			fail(r, "not after the entry before it");
	}
	r->sect = S_IPV6;
	for (size_t i = 0; i < c->nv6 && !r->failed; i++) {
		const struct xs_lpm6_entry *e = &c->v6[i];

		r->rec = i + 1;
		if (!prefix_ok(e->key.addr, e->key.prefixlen, 128))
			fail(r, "not a prefix");
		else if (!e->val.seg || e->val.seg > c->policy->nsegments || e->val.pad)
			fail(r, "segment %u is not one of the policy's", e->val.seg);
		else if (i && lpm_cmp(c->v6[i - 1].key.addr, c->v6[i - 1].key.prefixlen,
				      e->key.addr, e->key.prefixlen, 16) >= 0)
			fail(r, "not after the entry before it");
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
			fail(r, "prefix length %u is not a rule key's", plen);
		else if (plen == XS_RULE_PLEN_PAIR && (k->proto || port))
			fail(r, "a pair's entry names a protocol or port");
		else if (plen != XS_RULE_PLEN_PAIR && !xs_proto_name(k->proto))
			fail(r, "protocol %u is not one a policy can name", k->proto);
		else if (plen != XS_RULE_PLEN_PAIR && plen < XS_RULE_PLEN_PORT(16) &&
			 (port & ((1u << (XS_RULE_PLEN_PORT(16) - plen)) - 1)))
			fail(r, "port %u has bits past the prefix length %u", port, plen);
		else if (k->src_seg > c->policy->nsegments || k->dst_seg > c->policy->nsegments)
			fail(r, "segment pair %u -> %u is not the policy's", k->src_seg,
			     k->dst_seg);
		else if (k->pad || e->val.pad[0] || e->val.pad[1] || e->val.pad[2])
			fail(r, "padding is not zero");
		else if (i && rule_key_cmp(&c->rules[i - 1].key, k) >= 0)
			fail(r, "not after the entry before it");
		else if (action_ok(r, e->val.action, "the action"))
			rule_id_ok(R, e->val.rule_id, "the origin");
	}
}

/* seginfo and setinfo say what the segments and the bindings say. */
static void check_infos(struct reader *R)
{
	const struct xs_compiled *c = R->c;
	const struct xs_policy *p = c->policy;
	const struct xs_seg_info *w = &c->seginfo[0];
	struct rd *r = &R->r;
	struct xs_set_info si = { .ll_seg = p->linklocal_seg,
				  .flags = p->nbindings ? XS_SETF_BINDS : 0,
				  .nbinds = (uint32_t)p->nbindings };

	r->sect = S_SEGINFO;
	r->rec = 0;
	if (c->nseginfo != p->nsegments + 1) {
		fail(r, "%zu entries for %zu segments and world", c->nseginfo, p->nsegments);
		return;
	}
	r->rec = 1;
	if (w->in_action != XS_ACT_ALLOW || w->out_action != XS_ACT_ALLOW || w->monitor || w->pad ||
	    w->in_rule_id != p->world_in_rule_id || w->out_rule_id != p->world_out_rule_id)
		fail(r, "world's entry is not world's defaults");
	for (size_t i = 1; i < c->nseginfo && !r->failed; i++) {
		const struct xs_seg_info *e = &c->seginfo[i];
		const struct xs_segment *s = &p->segments[i - 1];

		r->rec = i + 1;
		if (e->in_action != s->in_action || e->out_action != s->out_action ||
		    e->monitor != s->monitor || e->pad || e->in_rule_id != s->in_rule_id ||
		    e->out_rule_id != s->out_rule_id)
			fail(r, "not what segment %zu declares", i);
	}
	r->sect = S_SETINFO;
	r->rec = 0;
	if (!r->failed && memcmp(&c->setinfo, &si, sizeof(si)))
		fail(r, "not the policy's link-local id and bindings");
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
		fail(r, "%zu entries for %zu bindings", c->nbinds, p->nbindings);
		return;
	}
	r->rec = 1;
	if (memcmp(&c->binds[0], &zero, sizeof(zero)))
		fail(r, "entry 0 is not zero");
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
			fail(r, "not what bind statement %zu says", i);
	}
	r->sect = S_BIND4;
	for (size_t i = 0; i < c->nbind4 && !r->failed; i++) {
		const struct xs_bind4_entry *e = &c->bind4[i], *q = i ? e - 1 : NULL;
		uint8_t a[16] = { 0 };

		r->rec = i + 1;
		memcpy(a, e->key.addr, 4);
		if (e->key.prefixlen < XS_BIND_PLEN(0) ||
		    !prefix_ok(a, e->key.prefixlen - XS_BIND_PLEN(0), 32))
			fail(r, "not a prefix");
		else if (!e->key.bind || e->key.bind > p->nbindings ||
			 (e->val && e->val != e->key.bind))
			fail(r, "bind id %u -> %u is not the policy's", e->key.bind, e->val);
		else if (q && (q->key.bind > e->key.bind ||
			       (q->key.bind == e->key.bind &&
				lpm_cmp(q->key.addr, q->key.prefixlen, e->key.addr,
					e->key.prefixlen, 4) >= 0)))
			fail(r, "not after the entry before it");
	}
	r->sect = S_BIND6;
	for (size_t i = 0; i < c->nbind6 && !r->failed; i++) {
		const struct xs_bind6_entry *e = &c->bind6[i], *q = i ? e - 1 : NULL;

		r->rec = i + 1;
		if (e->key.prefixlen < XS_BIND_PLEN(0) ||
		    !prefix_ok(e->key.addr, e->key.prefixlen - XS_BIND_PLEN(0), 128))
			fail(r, "not a prefix");
		else if (!e->key.bind || e->key.bind > p->nbindings ||
			 (e->val && e->val != e->key.bind))
			fail(r, "bind id %u -> %u is not the policy's", e->key.bind, e->val);
		else if (q && (q->key.bind > e->key.bind ||
			       (q->key.bind == e->key.bind &&
				lpm_cmp(q->key.addr, q->key.prefixlen, e->key.addr,
					e->key.prefixlen, 16) >= 0)))
			fail(r, "not after the entry before it");
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

			s->prefixes = alloc_n(&R->r, s->nprefixes, sizeof(*s->prefixes));
			s->nprefixes = 0;
			if (!s->prefixes)
				return;
		}
	}
}

static void read_header(struct reader *R, uint8_t hash[32])
{
	struct rd *r = &R->r;
	uint32_t bom, version, nsect, reserved;
	uint64_t length;
	uint8_t sum[32];

	if (memcmp(R->buf, ART_MAGIC, R->len < ART_MAGIC_LEN ? R->len : ART_MAGIC_LEN)) {
		fail(r, "not an xdpseg compiled policy (bad magic)");
		return;
	}
	if (R->len < ART_HEADER + ART_TRAILER) {
		fail(r, "truncated: %zu bytes, fewer than a header and a checksum (%u)", R->len,
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
		fail(r, "written on a host of the other byte order");
		return;
	}
	if (bom != ART_BOM) {
		fail(r, "not an xdpseg compiled policy (bad byte-order mark)");
		return;
	}
	if (version != ART_VERSION) {
		fail(r, "format version %u; this xdpseg reads version %u", version, ART_VERSION);
		return;
	}
	if (length > R->len) {
		fail(r, "truncated: %zu of %llu bytes", R->len, (unsigned long long)length);
		return;
	}
	if (length < R->len) {
		fail(r, "%zu bytes where the header says %llu", R->len, (unsigned long long)length);
		return;
	}
	xs_sha256(R->buf, R->len - ART_TRAILER, sum);
	if (memcmp(sum, R->buf + R->len - ART_TRAILER, ART_TRAILER)) {
		fail(r, "corrupt: its bytes do not match their checksum");
		return;
	}
	if (nsect != ART_NSECTIONS || reserved)
		fail(r, "%u sections (format version %u has %u)", nsect, ART_VERSION,
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
		fail(r, "%zu bytes: larger than any compiled policy (%llu MiB)", len,
		     ART_MAX_BYTES >> 20);
		return -EINVAL;
	}
	read_header(&R, hash);
	if (r->failed)
		return -EINVAL;
	c = R.c = calloc(1, sizeof(*c));
	if (!c || !(c->policy = calloc(1, sizeof(*c->policy)))) {
		free(c);
		fail(r, "out of memory");
		return -ENOMEM;
	}
	R.next = ART_HEADER;
	if (section(&R, S_SOURCE)) {
		if (R.count != 1)
			fail(r, "%u records, expected 1", R.count);
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
			fail(r, "%zu entries, expected 1", n);
		if (si)
			c->setinfo = *si;
		free(si);
	}
	c->binds = table(&R, S_BINDS, sizeof(*c->binds), XS_MAX_BINDS, &c->nbinds);
	c->bind4 = table(&R, S_BIND4, sizeof(*c->bind4), XS_MAX_BIND_PREFIXES, &c->nbind4);
	c->bind6 = table(&R, S_BIND6, sizeof(*c->bind6), XS_MAX_BIND_PREFIXES, &c->nbind6);
	if (!r->failed && R.next != len - ART_TRAILER) {
		r->sect = 0;
		fail(r, "%zu bytes after the last section", len - ART_TRAILER - R.next);
	}
	if (!r->failed)
		check_tries(&R);
	if (!r->failed)
		check_rule_table(&R);
	if (!r->failed)
		check_infos(&R);
	if (!r->failed)
		check_binds(&R);
	if (!r->failed)
		segment_prefixes(&R);
	if (!r->failed) {
		r->sect = 0;
		if (xs_compiled_hash(c, got))
			nomem(r);
		else if (memcmp(got, hash, sizeof(got))) {
			char hex[65];

			for (int i = 0; i < 32; i++)
				snprintf(hex + 2 * i, 3, "%02x", hash[i]);
			fail(r, "its tables do not match the hash it carries (%s)", hex);
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

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Overlays (policies/README.md, "Overlays"): a policy's `quarantine
 * forensic` declarations; the runtime overlays (`xdpseg quarantine`,
 * `grant`), each one statement of text checked against the policy as if it
 * were a line of it (file "<quarantine N>" / "<grant N>", line 1); the
 * failsafe ports of the configuration. An address or prefix they name is a
 * derived segment `PARENT[PREFIX]`. What comes out is the source form
 * (policy->overlay_rules, derived segments, origins) and the overlays'
 * records; compile.c compiles it with the rules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "overlay_int.h"

/* ---- Growing the policy's arrays one element at a time ---------------------- */

static bool append_specs(struct parser *P, struct xs_portspec **v, size_t *n, size_t *cap,
			 const struct xs_portspec *add, size_t nadd, struct xs_src_loc loc)
{
	if (nadd > XS_MAX_FLAT_SPECS - P->nflat_specs) {
		err_at(P, loc, "too many port specs (at most %d in a policy)", XS_MAX_FLAT_SPECS);
		return false;
	}
	P->nflat_specs += nadd;
	for (size_t i = 0; i < nadd; i++) {
		struct xs_portspec *d = xs_push(v, n, cap, sizeof(*d));

		if (!d) {
			P->nomem = true;
			return false;
		}
		*d = add[i];
	}
	return true;
}

/* Items (services and specs) as port specs; false after an error. */
static bool flatten_items(struct parser *P, const struct item *items, size_t nitems,
			  struct xs_portspec **v, size_t *n)
{
	size_t cap = *n;
	bool ok = true;

	for (size_t i = 0; i < nitems; i++) {
		const struct item *it = &items[i];
		struct svc *s;

		if (it->is_spec) {
			ok = append_specs(P, v, n, &cap, &it->spec, 1, it->loc) && ok;
			continue;
		}
		if (!it->name) {
			ok = false;
			continue;
		}
		s = xs_find_svc(P, it->name);
		if (!s) {
			xs_unknown_svc(P, it);
			ok = false;
			continue;
		}
		s->used = true;
		if (s->broken) {
			ok = false;
			continue;
		}
		ok = append_specs(P, v, n, &cap, s->flat, s->nflat, it->loc) && ok;
	}
	return ok;
}

static void free_items(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i].name);
	free(items);
}

/* The end of a comma-separated list of words starting at t[i]: the index
 * after its last word (a missing word or a trailing ',' is left to the
 * caller's parser to report). */
static int list_end(const struct tok *t, int i, int n)
{
	while (i < n && t[i].type != T_COLON && t[i].type != T_ARROW) {
		i++;
		if (i < n && t[i].type == T_COMMA)
			i++;
		else
			break;
	}
	return i;
}

/* ---- The policy's declarations: quarantine forensic SEG, ... [: ITEM, ...] --- */

#define FORENSIC_USAGE                                                                        \
	"expected: quarantine forensic SEGMENT[, SEGMENT...] [: SERVICE|PROTO/PORT, ...] (a " \
	"policy declares its forensic tools; 'xdpseg quarantine' quarantines)"

void xs_stmt_quarantine(struct parser *P, struct tok *t, int n, const char *line)
{
	struct rforensic *f;
	int i = 2, end;

	if (n < 3 || !xs_tok_is(&t[1], "forensic") || t[2].type != T_WORD) {
		int bad = n < 2 || !xs_tok_is(&t[1], "forensic") ? 1 : 2;

		err_at(P, xs_here(P, bad < n ? t[bad].col : t[n - 1].col + t[n - 1].len),
		       FORENSIC_USAGE);
		return;
	}
	end = list_end(t, 2, n);
	if (end < n && t[end].type != T_COLON) {
		err_at(P, xs_here(P, t[end].col), "expected ',' or ':' before '%.*s'", t[end].len,
		       t[end].s);
		return;
	}
	f = xs_push(&P->fors, &P->nfors, &P->capfors, sizeof(*f));
	if (!f || !(f->text = xs_fold(line))) {
		P->nomem = true;
		return;
	}
	f->loc = xs_here(P, t[0].col);
	for (i = 2; i < end; i++) {
		struct rfseg *s;

		if (t[i].type == T_COMMA)
			continue;
		if (t[i].type != T_WORD) {
			err_at(P, xs_here(P, t[i].col), "expected a segment, found '%.*s'",
			       t[i].len, t[i].s);
			f->broken = true;
			break;
		}
		s = xs_push(&f->segs, &f->nsegs, &f->capsegs, sizeof(*s));
		if (!s || !(s->name = xs_tokdup(&t[i]))) {
			P->nomem = true;
			return;
		}
		s->loc = xs_here(P, t[i].col);
	}
	if (!f->broken && end > 2 && t[end - 1].type == T_COMMA) {
		err_at(P, xs_here(P, t[end - 1].col), "trailing ','");
		f->broken = true;
	}
	if (end < n) {
		f->has_ports = true;
		if (!xs_parse_items(P, t, end + 1, n, &f->items, &f->nitems, &f->capitems, "':'"))
			f->broken = true;
	}
}

void xs_check_forensic(struct parser *P)
{
	for (size_t i = 0; i < P->nfors && !P->nomem; i++) {
		struct rforensic *f = &P->fors[i];
		struct xs_overlay_rule *o;
		bool bad = f->broken;
		uint16_t *src = calloc(f->nsegs + 1, sizeof(*src));
		struct xs_portspec *ports = NULL;
		size_t nports = 0;

		if (!src) {
			P->nomem = true;
			return;
		}
		for (size_t k = 0; k < f->nsegs; k++) {
			long id = xs_resolve_seg(P, f->segs[k].name, f->segs[k].loc, true);

			if (id == (long)XS_ENDPOINT_ANY) {
				err_at(P, f->segs[k].loc,
				       "'any' cannot be a forensic tool: name its segments");
				id = -2;
			}
			if (id < 0)
				bad = true;
			else
				src[k] = (uint16_t)id;
		}
		if (!flatten_items(P, f->items, f->nitems, &ports, &nports) ||
		    (f->has_ports && !nports))
			bad = true;
		if (bad || !(o = xs_ovr_push(P))) {
			free(src);
			free(ports);
			f->rule = SIZE_MAX;
			continue;
		}
		o->kind = XS_ORIGIN_FORENSIC;
		o->src = src;
		o->nsrc = f->nsegs;
		o->ports = ports;
		o->nports = nports;
		f->rule = P->pol->noverlay_rules - 1;
	}
}

void xs_forensic_origins(struct parser *P)
{
	for (size_t i = 0; i < P->nfors && !P->nomem; i++) {
		struct rforensic *f = &P->fors[i];
		struct xs_origin_entry *o;

		if (f->rule == SIZE_MAX)
			continue;
		o = xs_origin_push(P, XS_ORIGIN_FORENSIC, f->loc.file, f->loc.line, f->text);
		if (o)
			P->pol->overlay_rules[f->rule].rule_id = o->rule_id;
	}
}

void xs_forensic_free(struct parser *P)
{
	for (size_t i = 0; i < P->nfors; i++) {
		struct rforensic *f = &P->fors[i];

		for (size_t k = 0; k < f->nsegs; k++)
			free(f->segs[k].name);
		free(f->segs);
		free_items(f->items, f->nitems);
		free(f->text);
	}
	free(P->fors);
}

/* ---- Overlay statements ------------------------------------------------------ */
static void plist_free(struct plist *l)
{
	free(l->v);
}

static void pov_free(struct pov *o)
{
	plist_free(&o->a);
	plist_free(&o->b);
	for (size_t i = 0; i < o->ncl; i++) {
		plist_free(&o->cl[i].src);
		free(o->cl[i].ports);
	}
	free(o->cl);
	free(o->ports);
	free(o->text);
}

struct inside_ctx {
	const struct xs_pfx_ref *hit;
};

static bool first_inside(void *ctx, const struct xs_pfx_ref *r)
{
	((struct inside_ctx *)ctx)->hit = r;
	return false;
}

/* A word with a ':' that is no address: "bastion:rdp" wants blanks around ':'. */
static bool colon_glued(const struct tok *t)
{
	const char *c = memchr(t->s, ':', t->len), *slash = memchr(t->s, '/', t->len);
	struct tok head = *t;
	char a[64];
	uint8_t buf[16];
	int alen = slash ? (int)(slash - t->s) : t->len;

	if (!c)
		return false;
	if (alen < (int)sizeof(a)) {
		memcpy(a, t->s, alen);
		a[alen] = '\0';
		if (inet_pton(AF_INET6, a, buf) == 1)
			return false; /* an address (or prefix) */
	}
	head.len = (int)(c - t->s);
	return head.len > 0 && xs_valid_name(&head);
}

/*
 * One endpoint word: a segment's name (names: false for addresses only;
 * world: false where `world` is not one), or an address or prefix, placed
 * in the declared segment holding it (or the segment it is the only prefix
 * of). Returns false after an error.
 */
static bool parse_endpoint(struct parser *P, struct opass *S, const struct tok *t, bool names,
			   bool world, struct pend *e)
{
	struct xs_src_loc loc = xs_here(P, t->col);
	const struct xs_policy *pol = P->pol;
	const struct xs_pfx_ref *refs[1];
	struct inside_ctx in = { 0 };
	char buf[80], buf2[80];
	size_t nref;

	memset(e, 0, sizeof(*e));
	if (xs_valid_name(t)) {
		char *name;
		long id;

		if (!names) {
			err_at(P, loc, "expected an address or prefix, found '%.*s'", t->len, t->s);
			return false;
		}
		name = xs_tokdup(t);
		if (!name) {
			P->nomem = true;
			return false;
		}
		id = xs_resolve_seg(P, name, loc, true);
		free(name);
		if (id == (long)XS_ENDPOINT_ANY) {
			err_at(P, loc, "'any' is not a segment: name segments or addresses");
			return false;
		}
		if (id == XS_SEG_WORLD && !world) {
			err_at(P, loc, "'world' cannot be quarantined: name its addresses");
			return false;
		}
		e->seg = id;
		return id >= 0;
	}
	if (colon_glued(t)) {
		err_at(P, loc,
		       "'%.*s': write ' : ' with blanks before the services (':' is part of "
		       "an IPv6 address)",
		       t->len, t->s);
		return false;
	}
	if (!xs_parse_prefix(P, t, &e->px))
		return false;
	e->px.loc = (struct xs_src_loc){ 0 };
	xs_format_prefix(buf, sizeof(buf), &e->px);
	nref = xs_pfx_containers(&S->ix, &e->px, refs, 1);
	if (nref && refs[0]->seg == pol->linklocal_seg) {
		err_at(P, loc,
		       "%s is link-local: name the segment ('%s', or the segment of the port "
		       "it is behind)",
		       buf, XS_LINKLOCAL);
		return false;
	}
	if (nref && refs[0]->p->len == e->px.len) {
		const struct xs_segment *s = &pol->segments[refs[0]->seg - 1];

		if (s->nprefixes == 1) {
			e->seg = s->id; /* the segment itself */
			return true;
		}
		err_at(P, loc,
		       "%s is one of the prefixes of segment '%s': name the segment, or an "
		       "address or a longer prefix inside it",
		       buf, s->name);
		return false;
	}
	xs_pfx_inside(&S->ix, &e->px, first_inside, &in);
	if (in.hit) {
		xs_format_prefix(buf2, sizeof(buf2), in.hit->p);
		err_at(P, loc,
		       "%s holds %s of segment '%s': an address or prefix names a part of one "
		       "segment",
		       buf, buf2, pol->segments[in.hit->seg - 1].name);
		return false;
	}
	e->seg = -1;
	e->root = nref ? refs[0]->seg : XS_SEG_WORLD;
	return true;
}

/*
 * A list of endpoints from t[*i]: E[, E]... Stops before a word that does
 * not follow a ','. Returns false after a syntax error (reported); an
 * endpoint with an error (reported) is left out, and the list goes on.
 */
static bool parse_list(struct parser *P, struct opass *S, const struct tok *t, int *i, int n,
		       bool names, bool world, struct plist *l, const char *usage)
{
	for (;;) {
		struct pend e, *d;

		if (*i >= n || t[*i].type != T_WORD) {
			err_at(P, xs_here(P, *i < n ? t[*i].col : t[n - 1].col + t[n - 1].len),
			       "%s", usage);
			return false;
		}
		if (parse_endpoint(P, S, &t[*i], names, world, &e)) {
			d = xs_push(&l->v, &l->n, &l->cap, sizeof(*d));
			if (!d) {
				P->nomem = true;
				return false;
			}
			*d = e;
		}
		(*i)++;
		if (*i < n && t[*i].type == T_COMMA) {
			(*i)++;
			if (*i == n) {
				err_at(P, xs_here(P, t[*i - 1].col), "trailing ','");
				return false;
			}
			continue;
		}
		return true;
	}
}

/* Services from t[i] up to the end of their list: *i moves past it.
 * Returns false after a syntax error; an unknown service is reported. */
static bool parse_services(struct parser *P, struct tok *t, int *i, int n,
			   struct xs_portspec **ports, size_t *nports)
{
	struct item *items = NULL;
	size_t nitems = 0, cap = 0;
	int end = list_end(t, *i, n);
	bool ok = xs_parse_items(P, t, *i, end, &items, &nitems, &cap, "':'");

	if (ok)
		flatten_items(P, items, nitems, ports, nports);
	free_items(items, nitems);
	*i = end;
	return ok;
}

#define QUARANTINE_USAGE                                                                          \
	"expected: quarantine TARGET[, TARGET...] [strict | forensic SEGMENT[, ...] [: SERVICE, " \
	"...] ...]"
#define GRANT_USAGE "expected: grant FROM[, FROM...] -> TO[, TO...] : SERVICE|PROTO/PORT, ..."
#define FAILSAFE_USAGE "expected: ADDRESS[/LENGTH][, ...] : SERVICE|PROTO/PORT, ..."

static void parse_quarantine(struct parser *P, struct opass *S, struct pov *o, struct tok *t, int n)
{
	int i = 1;

	if (!parse_list(P, S, t, &i, n, true, false, &o->a, QUARANTINE_USAGE))
		return;
	if (i == n) {
		o->mode = MODE_DEFAULT;
		o->ok = true;
		return;
	}
	if (xs_tok_is(&t[i], "strict")) {
		if (i + 1 < n) {
			err_at(P, xs_here(P, t[i + 1].col),
			       "nothing follows 'strict' (a strict quarantine has no forensic "
			       "access)");
			return;
		}
		o->mode = MODE_STRICT;
		o->ok = true;
		return;
	}
	o->mode = MODE_FORENSIC;
	while (i < n) {
		struct pclause *c;

		if (!xs_tok_is(&t[i], "forensic")) {
			err_at(P, xs_here(P, t[i].col), QUARANTINE_USAGE);
			return;
		}
		c = xs_push(&o->cl, &o->ncl, &o->capcl, sizeof(*c));
		if (!c) {
			P->nomem = true;
			return;
		}
		i++;
		if (!parse_list(P, S, t, &i, n, true, true, &c->src, QUARANTINE_USAGE))
			return;
		if (i < n && t[i].type == T_COLON) {
			i++;
			if (!parse_services(P, t, &i, n, &c->ports, &c->nports))
				return;
		}
	}
	o->ok = true;
}

/* Does every endpoint of l lie in world? */
static bool all_world(const struct plist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].seg > 0 || (l->v[i].seg < 0 && l->v[i].root != XS_SEG_WORLD))
			return false;
	return true;
}

static void parse_grant(struct parser *P, struct opass *S, struct pov *o, struct tok *t, int n)
{
	size_t errors = P->diags->errors;
	int i = 1;

	if (!parse_list(P, S, t, &i, n, true, true, &o->a, GRANT_USAGE))
		return;
	if (i >= n || t[i].type != T_ARROW) {
		err_at(P, xs_here(P, i < n ? t[i].col : t[n - 1].col + t[n - 1].len), GRANT_USAGE);
		return;
	}
	i++;
	if (!parse_list(P, S, t, &i, n, true, true, &o->b, GRANT_USAGE))
		return;
	if (i >= n || t[i].type != T_COLON) {
		err_at(P, xs_here(P, i < n ? t[i].col : t[n - 1].col + t[n - 1].len), GRANT_USAGE);
		return;
	}
	i++;
	if (!parse_services(P, t, &i, n, &o->ports, &o->nports))
		return;
	if (i < n) {
		err_at(P, xs_here(P, t[i].col), "expected ',' before '%.*s'", t[i].len, t[i].s);
		return;
	}
	if (P->diags->errors == errors && all_world(&o->a) && all_world(&o->b)) {
		err_at(P, xs_here(P, t[0].col),
		       "a grant from 'world' to 'world' changes nothing: xdpseg governs flows "
		       "that touch a segment");
		return;
	}
	o->ok = true;
}

static void parse_failsafe(struct parser *P, struct opass *S, struct pov *o, struct tok *t, int n)
{
	int i = 0;

	if (!parse_list(P, S, t, &i, n, false, true, &o->a, FAILSAFE_USAGE))
		return;
	if (i >= n || t[i].type != T_COLON) {
		err_at(P, xs_here(P, i < n ? t[i].col : t[n - 1].col + t[n - 1].len),
		       FAILSAFE_USAGE);
		return;
	}
	i++;
	if (!parse_services(P, t, &i, n, &o->ports, &o->nports))
		return;
	if (i < n) {
		err_at(P, xs_here(P, t[i].col), "expected ',' before '%.*s'", t[i].len, t[i].s);
		return;
	}
	o->ok = true;
}

/*
 * Make `path` a file of the policy (once) whose only line is `text` (NULL:
 * no lines: the diagnostics show none), and parse there: P->cur, line 1.
 * Returns the policy's copy of the path, or NULL (out of memory).
 */
static const char *enter_file(struct parser *P, const char *path, const char *text, int line)
{
	struct xs_policy *pol = P->pol;
	long i = xs_map_get(&P->file_paths, path);
	struct srcfile *f;
	char **pp;

	if (i < 0) {
		pp = xs_push(&pol->files, &pol->nfiles, &P->cappaths, sizeof(*pp));
		if (!pp || !(*pp = strdup(path))) {
			if (pp)
				pol->nfiles--;
			P->nomem = true;
			return NULL;
		}
		f = xs_push(&P->files, &P->nfiles, &P->capfiles, sizeof(*f));
		if (!f) {
			P->nomem = true;
			return NULL;
		}
		f->path = *pp;
		f->id = strdup(*pp);
		if (!f->id || xs_map_put(&P->file_paths, f->path, (long)P->nfiles - 1) == -ENOMEM) {
			P->nomem = true;
			return NULL;
		}
		if (text) {
			f->len = strlen(text);
			f->text = malloc(f->len + 1);
			if (!f->text) {
				P->nomem = true;
				return NULL;
			}
			memcpy(f->text, text, f->len + 1);
			if (xs_read_lines(P, f)) {
				P->nomem = true;
				return NULL;
			}
		}
		i = (long)P->nfiles - 1;
	}
	P->cur = &P->files[i];
	P->lineno = line;
	return P->files[i].path;
}

/* Lex `line` with ':' in words (IPv6), then a ':' standing alone separates. */
static int lex_overlay(struct parser *P, const char *line)
{
	char *code = strdup(line);
	bool instr = false;
	int n;

	if (!code) {
		P->nomem = true;
		return -1;
	}
	for (char *p = code; *p; p++) {
		if (*p == '"')
			instr = !instr;
		if (*p == '#' && !instr) {
			*p = '\0';
			break;
		}
	}
	n = xs_lex(P, code, true, -1, P->toks);
	for (int i = 0; i < n; i++) {
		struct tok *t = &P->toks[i];

		t->s = line + (t->s - code); /* tokens point into the caller's line */
		if (t->type == T_WORD && t->len == 1 && t->s[0] == ':')
			t->type = T_COLON;
	}
	free(code);
	return n;
}

static const char *kind_word(uint8_t kind)
{
	return kind == XS_OVERLAY_GRANT ? "grant" : "quarantine";
}

static void overlay_note(struct parser *P, const struct pov *o)
{
	uint32_t num = o->in->number;

	if (o->in->kind == XS_OVERLAY_GRANT)
		xs_diag_add(P->diags, XS_SEV_NOTE, o->file, 0, 0, NULL,
			    "this policy cannot hold grant %u: revoke it ('xdpseg revoke %u'), or "
			    "apply a policy that has what it names",
			    num, num);
	else
		xs_diag_add(P->diags, XS_SEV_NOTE, o->file, 0, 0, NULL,
			    "this policy cannot hold quarantine %u: release it ('xdpseg release "
			    "%u'), or apply a policy that has what it names",
			    num, num);
}

/* The UTC time of unix second t, "2025-01-31T08:00:00Z". */
static void fmt_time(char *buf, size_t size, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%llu", (unsigned long long)t);
}

/* An overlay's statement, checked and parsed into o. */
static void parse_one(struct parser *P, struct opass *S, const struct xs_compile_opts *opts,
		      struct pov *o)
{
	const struct xs_overlay_in *in = o->in;
	char name[48];
	const char *text = in->text ? in->text : "";
	struct tok *t = P->toks;
	int n;

	snprintf(name, sizeof(name), "<%s %u>", kind_word(in->kind), in->number);
	o->file = enter_file(P, name, text, 1);
	if (!o->file)
		return;
	o->kind = in->kind == XS_OVERLAY_GRANT ? XS_ORIGIN_GRANT : XS_ORIGIN_QUARANTINE;
	if (in->kind != XS_OVERLAY_GRANT && in->kind != XS_OVERLAY_QUARANTINE) {
		xs_diag_add(P->diags, XS_SEV_ERROR, o->file, 0, 0, NULL,
			    "overlay %u is of kind %u: neither a quarantine nor a grant",
			    in->number, in->kind);
		return;
	}
	if (strlen(text) >= XS_OVERLAY_TEXT_LEN) {
		xs_diag_add(P->diags, XS_SEV_ERROR, o->file, 0, 0, NULL,
			    "the statement is %zu bytes long: an overlay's is at most %d",
			    strlen(text), XS_OVERLAY_TEXT_LEN - 1);
		return;
	}
	if (in->flags & ~(in->kind == XS_OVERLAY_GRANT ? XS_RULEF_DRAIN : 0)) {
		xs_diag_add(P->diags, XS_SEV_ERROR, o->file, 0, 0, NULL,
			    "flags 0x%x are not a %s's", in->flags, kind_word(in->kind));
		return;
	}
	if (in->kind == XS_OVERLAY_GRANT) {
		int64_t end = (int64_t)in->expires + opts->tai_offset;

		if (!in->expires || end <= 0 || end > (int64_t)UINT32_MAX) {
			xs_diag_add(P->diags, XS_SEV_ERROR, o->file, 0, 0, NULL,
				    "grant %u ends at %llu: not a time a grant can end at",
				    in->number, (unsigned long long)in->expires);
			return;
		}
	}
	if (!P->cur->nlines || !P->cur->lines[0]) {
		if (!P->cur->nlines)
			xs_diag_add(P->diags, XS_SEV_ERROR, o->file, 0, 0, NULL,
				    "an empty statement");
		return; /* a bad byte: reported */
	}
	if (P->cur->nlines > 1) {
		xs_diag_add(P->diags, XS_SEV_ERROR, o->file, 2, 1, NULL,
			    "an overlay is one statement on one line");
		return;
	}
	n = lex_overlay(P, P->cur->lines[0]);
	if (n <= 0) {
		if (n == 0)
			xs_diag_add(P->diags, XS_SEV_ERROR, o->file, 0, 0, NULL,
				    "an empty statement");
		return;
	}
	o->text = xs_fold(P->cur->lines[0]);
	if (!o->text) {
		P->nomem = true;
		return;
	}
	if (!xs_tok_is(&t[0], kind_word(in->kind))) {
		err_at(P, xs_here(P, t[0].col), "expected '%s' (overlay %u is a %s)",
		       kind_word(in->kind), in->number, kind_word(in->kind));
		return;
	}
	if (in->kind == XS_OVERLAY_GRANT)
		parse_grant(P, S, o, t, n);
	else
		parse_quarantine(P, S, o, t, n);
}

static void parse_failsafe_in(struct parser *P, struct opass *S, struct pov *o)
{
	const struct xs_failsafe_in *fs = o->fs;
	const char *text = fs->text ? fs->text : "";
	size_t errors = P->diags->errors;
	int n;

	o->kind = XS_ORIGIN_FAILSAFE;
	o->file = enter_file(P, fs->file ? fs->file : "<failsafe>", NULL, fs->line);
	if (!o->file)
		return;
	if (asprintf(&o->text, "failsafe = %s", text) < 0) {
		o->text = NULL;
		P->nomem = true;
		return;
	}
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < ' ' || c >= 0x7f) {
			err_at(P, xs_here(P, (int)(p - text) + 1),
			       "byte 0x%02x in a failsafe port: its value is ASCII text", c);
			return;
		}
	}
	n = lex_overlay(P, text);
	if (n == 0)
		err_at(P, xs_here(P, 1), FAILSAFE_USAGE);
	if (n > 0)
		parse_failsafe(P, S, o, P->toks, n);
	if (P->diags->errors != errors)
		o->ok = false;
}

static int in_cmp(const void *x, const void *y)
{
	const struct xs_overlay_in *a = *(const struct xs_overlay_in *const *)x;
	const struct xs_overlay_in *b = *(const struct xs_overlay_in *const *)y;

	return a->number < b->number ? -1 : a->number > b->number;
}

void xs_parse_overlays(struct parser *P, const struct xs_compile_opts *opts,
		       struct xs_overlay_entry **ov, size_t *nov)
{
	struct xs_policy *pol = P->pol;
	const struct xs_overlay_in **order = NULL;
	struct opass S = { 0 };
	struct pend *d = NULL;
	size_t errors = P->diags->errors, nd = 0, first;
	char when[40];

	*ov = NULL;
	*nov = 0;
	if (!opts || (!opts->noverlays && !opts->nfailsafe))
		return;
	order = calloc(opts->noverlays + 1, sizeof(*order));
	if (!order || xs_pfx_index_build(&S.ix, pol)) {
		P->nomem = true;
		goto out;
	}
	for (size_t i = 0; i < opts->noverlays; i++)
		order[i] = &opts->overlays[i];
	qsort(order, opts->noverlays, sizeof(*order), in_cmp);
	for (size_t i = 0; i < opts->noverlays && !P->nomem; i++) {
		const struct xs_overlay_in *in = order[i];
		struct pov *o;
		size_t e0 = P->diags->errors;
		char name[48];

		snprintf(name, sizeof(name), "<%s %u>", kind_word(in->kind), in->number);
		if (!in->number || (i && order[i - 1]->number == in->number)) {
			xs_diag_add(P->diags, XS_SEV_ERROR, name, 0, 0, NULL,
				    in->number ? "overlay number %u is given twice"
					       : "overlay number %u: numbers start at 1",
				    in->number);
			continue;
		}
		if (in->kind == XS_OVERLAY_GRANT && opts->now && in->expires &&
		    in->expires <= opts->now) {
			fmt_time(when, sizeof(when), in->expires);
			xs_diag_add(P->diags, XS_SEV_NOTE, name, 0, 0, NULL,
				    "grant %u ended at %s: left out", in->number, when);
			continue;
		}
		o = xs_push(&S.v, &S.n, &S.cap, sizeof(*o));
		if (!o) {
			P->nomem = true;
			break;
		}
		o->in = in;
		parse_one(P, &S, opts, o);
		if (P->diags->errors != e0 || !o->ok) {
			o->ok = false;
			if (o->file)
				overlay_note(P, o);
		}
	}
	for (size_t i = 0; i < opts->nfailsafe && !P->nomem; i++) {
		struct pov *o = xs_push(&S.v, &S.n, &S.cap, sizeof(*o));

		if (!o) {
			P->nomem = true;
			break;
		}
		o->fs = &opts->failsafe[i];
		parse_failsafe_in(P, &S, o);
	}
	P->cur = NULL;
	if (!P->nomem && S.n - opts->nfailsafe > XS_MAX_OVERLAYS)
		xs_diag_add(P->diags, XS_SEV_ERROR, P->top, 0, 0, NULL,
			    "%zu quarantines and grants: at most %d are in force at a time",
			    S.n - opts->nfailsafe, XS_MAX_OVERLAYS);
	if (P->nomem || P->diags->errors != errors)
		goto out;
	first = pol->nsegments + 1;
	d = xs_ov_derive(P, &S, &nd);
	if (P->nomem || P->diags->errors != errors)
		goto out;
	*ov = calloc(opts->noverlays + 1, sizeof(**ov));
	if (!*ov) {
		P->nomem = true;
		goto out;
	}
	xs_ov_emit(P, &S, d, nd, first, opts, *ov, nov);
	if (pol->norigins >= XS_MAX_RULES)
		xs_diag_add(P->diags, XS_SEV_ERROR, P->top, 0, 0, NULL,
			    "too many rules, defaults and overlays: %zu rule ids needed, the limit "
			    "is %d",
			    pol->norigins, XS_MAX_RULES - 1);
out:
	for (size_t i = 0; i < S.n; i++)
		pov_free(&S.v[i]);
	free(S.v);
	free(d);
	free(order);
	xs_pfx_index_free(&S.ix);
}

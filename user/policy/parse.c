// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy parser: text (through the resolver) in, the source form (struct
 * xs_policy) or diagnostics out. Two passes: the first (here) reads every
 * statement of every file (includes resolved in place), the second
 * (resolve.c) resolves names, so declarations may follow their use.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const keywords[] = { "include", "service", "segment", "allow",     "deny",
					"default", "mode",    "bind",	 "quarantine" };

/* ---- Statements ------------------------------------------------------------ */

static int parse_file(struct parser *P, const char *name, const char *from,
		      struct xs_src_loc inc_loc);

static void stmt_include(struct parser *P, struct tok *t, int n)
{
	char *name;

	if (n != 2 || t[1].type != T_STR) {
		err_at(P, xs_here(P, n > 1 ? t[1].col : t[0].col + t[0].len),
		       "expected: include \"FILE\"");
		return;
	}
	name = xs_tokdup(&t[1]);
	if (!name) {
		P->nomem = true;
		return;
	}
	parse_file(P, name, P->cur->path, xs_here(P, t[1].col));
	free(name);
}

static void stmt_service(struct parser *P, struct tok *t, int n)
{
	struct svc *s;

	if (n < 2 || !xs_valid_name(&t[1])) {
		err_at(P, xs_here(P, n > 1 ? t[1].col : t[0].col + t[0].len),
		       "expected: service NAME SPEC[, SPEC...]");
		return;
	}
	s = xs_push(&P->svcs, &P->nsvcs, &P->capsvcs, sizeof(*s));
	if (!s) {
		P->nomem = true;
		return;
	}
	s->name = xs_tokdup(&t[1]);
	s->loc = xs_here(P, t[1].col);
	s->top = P->depth == 1;
	if (!xs_parse_items(P, t, 2, n, &s->items, &s->nitems, &s->capitems, "the service name"))
		s->broken = true;
}

/*
 * Addresses or prefixes "P, P, ..." from t[i..n) appended to *v. Each bad
 * one is reported; a syntax error ends the list. Returns false when out of
 * memory.
 */
static bool parse_prefixes(struct parser *P, struct tok *t, int i, int n, struct xs_prefix **v,
			   size_t *nv)
{
	size_t cap = *nv;

	for (; i < n; i++) {
		struct xs_prefix px, *d;

		if (t[i].type != T_WORD) {
			err_at(P, xs_here(P, t[i].col),
			       "expected an address or prefix, found '%.*s'", t[i].len, t[i].s);
			return true;
		}
		if (xs_parse_prefix(P, &t[i], &px)) {
			d = xs_push(v, nv, &cap, sizeof(*d));
			if (!d)
				return false;
			*d = px;
		}
		if (i + 1 < n) {
			if (t[i + 1].type != T_COMMA) {
				err_at(P, xs_here(P, t[i + 1].col), "expected ',' before '%.*s'",
				       t[i + 1].len, t[i + 1].s);
				return true;
			}
			i++;
			if (i + 1 == n) {
				err_at(P, xs_here(P, t[i].col), "trailing ','");
				return true;
			}
		}
	}
	return true;
}

static bool parse_endpoints(struct parser *P, struct tok *t, int *i, int n, struct rend **v,
			    size_t *nv);

/* segment NAME PREFIX[, PREFIX]... [inside SEGMENT[, SEGMENT]...] */
static void stmt_segment(struct parser *P, struct tok *t, int n)
{
	struct xs_segment *s;
	struct segx *x;
	int end = n, i;

	if (n < 2 || !xs_valid_name(&t[1])) {
		err_at(P, xs_here(P, n > 1 ? t[1].col : t[0].col + t[0].len),
		       "expected: segment NAME PREFIX[, PREFIX...] [inside SEGMENT[, SEGMENT...]]");
		return;
	}
	/* `inside` is no address: it ends the prefixes */
	for (i = 2; i < n && end == n; i++)
		if (xs_tok_is(&t[i], "inside"))
			end = i;
	if (end < 3) {
		err_at(P, xs_here(P, t[1].col + t[1].len),
		       "expected an address or prefix after '%.*s'", t[1].len, t[1].s);
		xs_poison(P, 's', &t[1]);
		return;
	}
	s = xs_new_segment(P);
	if (!s || !(s->name = xs_tokdup(&t[1]))) {
		P->nomem = true;
		return;
	}
	s->loc = xs_here(P, t[1].col);
	if (!parse_prefixes(P, t, 2, end, &s->prefixes, &s->nprefixes))
		P->nomem = true;
	if (end == n || P->nomem)
		return;
	x = &P->segx[P->pol->nsegments - 1];
	i = end + 1;
	if (!parse_endpoints(P, t, &i, n, &x->inside, &x->ninside) || i != n) {
		int col = i < n ? t[i].col : t[n - 1].col + t[n - 1].len;

		if (!P->nomem)
			err_at(P, xs_here(P, col),
			       "expected: segment NAME PREFIX[, PREFIX...] [inside SEGMENT[, "
			       "SEGMENT...]]");
	}
}

/*
 * Endpoints "E[, E]..." from t[*i..n) into *v (names and places); *i ends
 * past them. Returns false at the first token that is not one (the caller
 * reports it at t[*i], or at the end of the line when *i == n).
 */
static bool parse_endpoints(struct parser *P, struct tok *t, int *i, int n, struct rend **v,
			    size_t *nv)
{
	size_t cap = 0;

	for (;;) {
		struct rend *e;

		if (*i >= n || t[*i].type != T_WORD)
			return false;
		e = xs_push(v, nv, &cap, sizeof(*e));
		if (!e || !(e->name = xs_tokdup(&t[*i]))) {
			P->nomem = true;
			return false;
		}
		e->loc = xs_here(P, t[*i].col);
		if (*i + 1 >= n || t[*i + 1].type != T_COMMA) {
			(*i)++;
			return true;
		}
		*i += 2;
	}
}

/* allow|deny SRC[, SRC]... -> DST[, DST]... [: ITEM, ...] */
static void free_endpoints(struct rend *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static void stmt_rule(struct parser *P, struct tok *t, int n, uint8_t action, const char *line)
{
	struct rend *src = NULL, *dst = NULL;
	size_t nsrc = 0, ndst = 0;
	struct rrule *r;
	int i = 1;

	if (!parse_endpoints(P, t, &i, n, &src, &nsrc) || i >= n || t[i].type != T_ARROW ||
	    (i++, !parse_endpoints(P, t, &i, n, &dst, &ndst))) {
		int col = i < n ? t[i].col : t[n - 1].col + t[n - 1].len;

		if (!P->nomem)
			err_at(P, xs_here(P, col),
			       "expected: %s SRC[, SRC...] -> DST[, DST...] [: SERVICE|PROTO/PORT, "
			       "...]",
			       action == XS_ACT_ALLOW ? "allow" : "deny");
		goto fail;
	}
	if (i < n && t[i].type != T_COLON) {
		err_at(P, xs_here(P, t[i].col), "expected ':' before '%.*s'", t[i].len, t[i].s);
		goto fail;
	}
	r = xs_push(&P->rules, &P->nrules, &P->caprules, sizeof(*r));
	if (!r) {
		P->nomem = true;
		goto fail;
	}
	r->action = action;
	r->loc = xs_here(P, t[0].col);
	r->src = src;
	r->nsrc = nsrc;
	r->dst = dst;
	r->ndst = ndst;
	r->text = xs_fold(line);
	if (i < n) {
		r->has_ports = true;
		if (!xs_parse_items(P, t, i + 1, n, &r->items, &r->nitems, &r->capitems, "':'"))
			r->broken = true;
	}
	return;
fail:
	free_endpoints(src, nsrc);
	free_endpoints(dst, ndst);
}

static int parse_action(const struct tok *t)
{
	if (xs_tok_is(t, "allow"))
		return XS_ACT_ALLOW;
	if (xs_tok_is(t, "deny"))
		return XS_ACT_DENY;
	return -1;
}

static void stmt_default(struct parser *P, struct tok *t, int n, const char *line)
{
	struct rdef *d;
	uint8_t in = 0, out = 0;
	int i;

	if (n < 2 || t[1].type != T_WORD) {
		err_at(P, xs_here(P, n > 1 ? t[1].col : t[0].col + t[0].len),
		       "expected: default SEGMENT in allow|deny out allow|deny");
		return;
	}
	if (n == 2) {
		err_at(P, xs_here(P, t[1].col + t[1].len), "expected 'in' or 'out' after '%.*s'",
		       t[1].len, t[1].s);
		return;
	}
	for (i = 2; i < n; i += 2) {
		bool is_in = xs_tok_is(&t[i], "in"), is_out = xs_tok_is(&t[i], "out");
		int a;

		if (!is_in && !is_out) {
			err_at(P, xs_here(P, t[i].col), "expected 'in' or 'out', found '%.*s'",
			       t[i].len, t[i].s);
			return;
		}
		if (i + 1 >= n || (a = parse_action(&t[i + 1])) < 0) {
			err_at(P, xs_here(P, i + 1 < n ? t[i + 1].col : t[i].col + t[i].len),
			       "expected 'allow' or 'deny' after '%.*s'", t[i].len, t[i].s);
			return;
		}
		if ((is_in && in) || (is_out && out)) {
			err_at(P, xs_here(P, t[i].col), "'%.*s' given twice", t[i].len, t[i].s);
			return;
		}
		if (is_in)
			in = (uint8_t)a;
		else
			out = (uint8_t)a;
	}
	d = xs_push(&P->defs, &P->ndefs, &P->capdefs, sizeof(*d));
	if (!d) {
		P->nomem = true;
		return;
	}
	d->seg = xs_tokdup(&t[1]);
	d->loc = xs_here(P, t[0].col);
	d->seg_loc = xs_here(P, t[1].col);
	d->in = in;
	d->out = out;
	d->text = xs_fold(line);
}

static void stmt_mode(struct parser *P, struct tok *t, int n)
{
	struct rmode *m;

	if (n != 3 || t[1].type != T_WORD ||
	    !(xs_tok_is(&t[2], "monitor") || xs_tok_is(&t[2], "enforce"))) {
		int col = n < 2 ? t[0].col + t[0].len : n < 3 ? t[1].col + t[1].len : t[2].col;

		if (n > 3 && (xs_tok_is(&t[2], "monitor") || xs_tok_is(&t[2], "enforce")))
			col = t[3].col;
		if (n == 3 && t[2].type == T_WORD) {
			static const char *const modes[] = { "monitor", "enforce" };
			char *w = xs_tokdup(&t[2]);
			const char *s = w ? xs_closest(w, modes, 2) : NULL;

			if (s) {
				err_at(P, xs_here(P, col),
				       "unknown mode '%s'; " XS_HINT "did you mean '%s'?", w, s);
				free(w);
				return;
			}
			free(w);
		}
		err_at(P, xs_here(P, col), "expected: mode SEGMENT monitor|enforce");
		return;
	}
	m = xs_push(&P->modes, &P->nmodes, &P->capmodes, sizeof(*m));
	if (!m) {
		P->nomem = true;
		return;
	}
	m->seg = xs_tokdup(&t[1]);
	m->loc = xs_here(P, t[0].col);
	m->seg_loc = xs_here(P, t[1].col);
	m->monitor = xs_tok_is(&t[2], "monitor");
}

/* The characters of an interface pattern an interface name cannot have (or
 * that end a pattern early): reports the first. */
static bool bad_pattern(struct parser *P, const struct tok *t)
{
	struct xs_src_loc loc = xs_here(P, t->col);
	int open = -1;

	if (!t->len) {
		err_at(P, loc, "empty interface pattern");
		return true;
	}
	if (t->len >= XS_BIND_PATTERN_LEN) {
		err_at(P, loc,
		       "interface pattern '%.*s' is %d bytes long: interface names have at most %d",
		       t->len, t->s, t->len, XS_BIND_PATTERN_LEN - 1);
		return true;
	}
	if ((t->len == 1 && t->s[0] == '.') || (t->len == 2 && !strncmp(t->s, "..", 2))) {
		err_at(P, loc, "'%.*s' is not an interface name", t->len, t->s);
		return true;
	}
	for (int i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->s[i];

		if (c == '/' || c == ':' || c <= ' ' || c >= 0x7f) {
			loc.col = t->col + i + (t->type == T_STR);
			if (c > ' ' && c < 0x7f)
				err_at(P, loc, "'%c' cannot be in an interface name", c);
			else
				err_at(P, loc, "byte 0x%02x cannot be in an interface name", c);
			return true;
		}
		if (c == '[' && open < 0)
			open = i;
		else if (c == ']' && open >= 0 && i > open + 1 + (t->s[open + 1] == '!'))
			open = -1;
	}
	if (open >= 0) {
		loc.col = t->col + open + (t->type == T_STR);
		err_at(P, loc, "unclosed '[' in interface pattern '%.*s'", t->len, t->s);
		return true;
	}
	return false;
}

/* bind SEGMENT IFACE-PATTERN [ADDRESS[/LEN], ...] */
static void stmt_bind(struct parser *P, struct tok *t, int n, const char *line)
{
	struct rbind *b;
	size_t errors;

	if (n < 3 || t[1].type != T_WORD || (t[2].type != T_WORD && t[2].type != T_STR)) {
		int bad = n < 2 || t[1].type != T_WORD ? 1 : 2;

		err_at(P, xs_here(P, bad < n ? t[bad].col : t[n - 1].col + t[n - 1].len),
		       "expected: bind SEGMENT IFACE-PATTERN [ADDRESS, ...]");
		return;
	}
	b = xs_push(&P->binds, &P->nbinds, &P->capbinds, sizeof(*b));
	if (!b || !(b->seg = xs_tokdup(&t[1])) || !(b->pattern = xs_tokdup(&t[2])) ||
	    !(b->text = xs_fold(line))) {
		P->nomem = true;
		return;
	}
	b->loc = xs_here(P, t[0].col);
	b->seg_loc = xs_here(P, t[1].col);
	b->pattern_loc = xs_here(P, t[2].col + (t[2].type == T_STR));
	errors = P->diags->errors;
	if (!parse_prefixes(P, t, 3, n, &b->prefixes, &b->nprefixes))
		P->nomem = true;
	b->broken = bad_pattern(P, &t[2]) || P->diags->errors != errors;
}

/* Does the line's first word say `w`? */
static bool first_word_is(const char *line, const char *w)
{
	size_t n = strlen(w);

	line += strspn(line, " \t");
	return !strncmp(line, w, n) && (!line[n] || strchr(" \t#\"", line[n]));
}

static void parse_line(struct parser *P, const char *line)
{
	struct tok *toks = P->toks;
	char *code = strdup(line);
	bool instr = false;
	int n;

	if (!code) {
		P->nomem = true;
		return;
	}
	for (char *p = code; *p; p++) {
		if (*p == '"')
			instr = !instr;
		if (*p == '#' && !instr) {
			*p = '\0';
			break;
		}
	}
	/* the third word of a bind statement is a glob */
	n = xs_lex(P, code, true, first_word_is(code, "bind") ? 2 : -1, toks);
	if (n <= 0)
		goto out;
	if (toks[0].type != T_WORD) {
		err_at(P, xs_here(P, toks[0].col), "expected a statement, found '%.*s'",
		       toks[0].len, toks[0].s);
		goto out;
	}
	if (xs_tok_is(&toks[0], "allow") || xs_tok_is(&toks[0], "deny")) {
		uint8_t a = xs_tok_is(&toks[0], "allow") ? XS_ACT_ALLOW : XS_ACT_DENY;

		n = xs_lex(P, code, false, -1, toks);
		if (n > 0)
			stmt_rule(P, toks, n, a, line);
	} else if (xs_tok_is(&toks[0], "include")) {
		stmt_include(P, toks, n);
	} else if (xs_tok_is(&toks[0], "service")) {
		stmt_service(P, toks, n);
	} else if (xs_tok_is(&toks[0], "segment")) {
		stmt_segment(P, toks, n);
	} else if (xs_tok_is(&toks[0], "default")) {
		stmt_default(P, toks, n, line);
	} else if (xs_tok_is(&toks[0], "mode")) {
		stmt_mode(P, toks, n);
	} else if (xs_tok_is(&toks[0], "bind")) {
		stmt_bind(P, toks, n, line);
	} else if (xs_tok_is(&toks[0], "quarantine")) {
		n = xs_lex(P, code, false, -1, toks);
		if (n > 0)
			xs_stmt_quarantine(P, toks, n, line);
	} else {
		char *w = xs_tokdup(&toks[0]);
		const char *s =
			w ? xs_closest(w, keywords, sizeof(keywords) / sizeof(keywords[0])) : NULL;

		if (s && n > 1 && xs_valid_name(&toks[1]) &&
		    (!strcmp(s, "segment") || !strcmp(s, "service")))
			xs_poison(P, s[2] == 'g' ? 's' : 'v', &toks[1]);
		if (s)
			err_at(P, xs_here(P, toks[0].col),
			       "unknown statement '%s'; " XS_HINT "did you mean '%s'?", w, s);
		else
			err_at(P, xs_here(P, toks[0].col),
			       "unknown statement '%.*s' (expected include, service, segment, "
			       "allow, deny, default, mode, bind or quarantine)",
			       toks[0].len, toks[0].s);
		free(w);
	}
out:
	free(code);
}

/* MiB, for messages about the size limits. */
#define MIB(bytes) ((unsigned)((bytes) >> 20))

/* A file the resolver could not give: report it. */
static void unreadable(struct parser *P, const char *name, const char *from,
		       struct xs_src_loc inc_loc, int err, const struct xs_file *in, size_t limit)
{
	char why[sizeof(in->err) + 64];

	if (err == -EFBIG && limit == XS_MAX_FILE_BYTES)
		snprintf(why, sizeof(why), "it is larger than %u MiB (the limit per file)",
			 MIB(XS_MAX_FILE_BYTES));
	else if (err == -EFBIG)
		snprintf(why, sizeof(why),
			 "the policy's files would be larger than %u MiB together (the limit "
			 "per policy)",
			 MIB(XS_MAX_POLICY_BYTES));
	else if (err == -ELOOP)
		snprintf(why, sizeof(why), "a loop of symbolic links");
	else
		snprintf(why, sizeof(why), "%s", in->err[0] ? in->err : strerror(-err));
	if (from && !P->failed_includes++) {
		/* names it would have declared are not reported (xs_note_unreported) */
		P->failed_loc = inc_loc;
		P->failed_name = strdup(name);
	}
	if (!from)
		xs_diag_add(P->diags, XS_SEV_ERROR, name, 0, 0, NULL, "cannot read the policy: %s",
			    why);
	else if (err == -ELOOP)
		err_at(P, inc_loc, "include cycle: %s -> %s (%s)", from, name, why);
	else
		err_at(P, inc_loc, "cannot include '%s': %s", name, why);
}

/* Is the file `id` being read? Report the cycle back to it. */
static bool cycle(struct parser *P, const char *id, const char *path, struct xs_src_loc inc_loc)
{
	for (int i = 0; i < P->depth; i++) {
		const struct srcfile *first = &P->files[P->stack[i]];
		char chain[1024] = "";
		size_t o = 0;

		if (strcmp(first->id, id))
			continue;
		/* the chain from the first occurrence back to this file */
		for (int j = i; j < P->depth && o < sizeof(chain); j++)
			o += snprintf(chain + o, sizeof(chain) - o, "%s -> ",
				      P->files[P->stack[j]].path);
		if (o < sizeof(chain))
			o += snprintf(chain + o, sizeof(chain) - o, "%s", path);
		if (o < sizeof(chain) && strcmp(path, first->path))
			snprintf(chain + o, sizeof(chain) - o, " (the same file as %s)",
				 first->path);
		err_at(P, inc_loc, "include cycle: %s", chain);
		return true;
	}
	return false;
}

/* Take the file over (path and text) as files[], or -ENOMEM. */
static int add_file(struct parser *P, struct xs_file *in)
{
	struct xs_policy *pol = P->pol;
	char **path = xs_push(&pol->files, &pol->nfiles, &P->cappaths, sizeof(*path));
	struct srcfile *f;

	if (!path)
		return -ENOMEM;
	*path = in->path;
	in->path = NULL;
	f = xs_push(&P->files, &P->nfiles, &P->capfiles, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->path = *path;
	f->text = in->text;
	f->len = in->len;
	in->text = NULL;
	f->id = strdup(in->id[0] ? in->id : f->path);
	if (!f->id || xs_map_put(&P->file_ids, f->id, (long)P->nfiles - 1) == -ENOMEM ||
	    xs_map_put(&P->file_paths, f->path, (long)P->nfiles - 1) == -ENOMEM)
		return -ENOMEM;
	return xs_read_lines(P, f);
}

/*
 * Read `name` (included from `from` at `inc_loc`, or the top-level file when
 * `from` is NULL) and parse each of its lines. Returns 0, or a negative
 * errno when the top-level file cannot be read.
 */
static int parse_file(struct parser *P, const char *name, const char *from,
		      struct xs_src_loc inc_loc)
{
	/* the including file by index: P->files moves as files are added */
	size_t saved = P->cur ? (size_t)(P->cur - P->files) : SIZE_MAX;
	int saved_line = P->lineno, err;
	struct xs_file in = { 0 };
	size_t limit = XS_MAX_POLICY_BYTES - P->bytes, fi;

	if (P->depth == MAX_INCLUDE_DEPTH) {
		err_at(P, inc_loc, "includes nested too deeply (at most %d)", MAX_INCLUDE_DEPTH);
		if (!P->failed_includes++) {
			P->failed_loc = inc_loc;
			P->failed_name = strdup(name);
		}
		return 0;
	}
	if (limit > XS_MAX_FILE_BYTES)
		limit = XS_MAX_FILE_BYTES;
	err = P->resolve(P->ctx, from, name, limit, &in);
	if (!err && (!in.path || !in.text))
		err = -EIO;
	if (!err && in.len > limit)
		err = -EFBIG; /* a resolver that read too much */
	if (err) {
		unreadable(P, name, from, inc_loc, err, &in, limit);
		goto out;
	}
	P->bytes += in.len; /* every read counts, a file read again too */
	if (cycle(P, in.id[0] ? in.id : in.path, in.path, inc_loc) ||
	    xs_map_get(&P->file_ids, in.id[0] ? in.id : in.path) >= 0)
		goto out; /* a cycle, or already included (not a cycle): include once */
	err = add_file(P, &in);
	if (err) {
		P->nomem = true;
		goto out;
	}
	fi = P->nfiles - 1;
	if (!from)
		P->top = P->files[fi].path;
	P->stack[P->depth++] = fi;
	/* P->files may move while included files are added: index, not pointer. */
	for (size_t l = 0; l < P->files[fi].nlines && !P->nomem; l++) {
		P->cur = &P->files[fi];
		P->lineno = (int)l + 1;
		if (P->files[fi].lines[l])
			parse_line(P, P->files[fi].lines[l]);
	}
	P->depth--;
	P->cur = saved == SIZE_MAX ? NULL : &P->files[saved];
	P->lineno = saved_line;
out:
	free(in.path);
	free(in.text);
	return from ? 0 : err;
}

/* ---- Entry point ---------------------------------------------------------------- */

void xs_policy_free(struct xs_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsegments; i++) {
		free(p->segments[i].name);
		free(p->segments[i].prefixes);
	}
	free(p->segments);
	for (size_t i = 0; p->services && i < p->nservices; i++) {
		free(p->services[i].name);
		free(p->services[i].specs);
	}
	free(p->services);
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].ports);
		free(p->rules[i].text);
	}
	free(p->rules);
	for (size_t i = 0; i < p->norigins; i++)
		free(p->origins[i].text);
	free(p->origins);
	for (size_t i = 0; i < p->nbindings; i++) {
		free(p->bindings[i].pattern);
		free(p->bindings[i].prefixes);
		free(p->bindings[i].text);
	}
	free(p->bindings);
	for (size_t i = 0; i < p->noverlay_rules; i++) {
		free(p->overlay_rules[i].src);
		free(p->overlay_rules[i].dst);
		free(p->overlay_rules[i].ports);
	}
	free(p->overlay_rules);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	free(p);
}

static void free_items(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i].name);
	free(items);
}

static void parser_free(struct parser *P)
{
	for (size_t i = 0; i < P->nfiles; i++) {
		free(P->files[i].id);
		free(P->files[i].text);
		free(P->files[i].lines);
	}
	free(P->files);
	xs_map_free(&P->file_ids);
	xs_map_free(&P->file_paths);
	for (size_t i = 0; i < P->nsvcs; i++) {
		free(P->svcs[i].name);
		free_items(P->svcs[i].items, P->svcs[i].nitems);
		free(P->svcs[i].flat);
	}
	free(P->svcs);
	for (size_t i = 0; P->segx && P->pol && i < P->pol->nsegments; i++)
		free_endpoints(P->segx[i].inside, P->segx[i].ninside);
	free(P->segx);
	for (size_t i = 0; i < P->nrules; i++) {
		free_endpoints(P->rules[i].src, P->rules[i].nsrc);
		free_endpoints(P->rules[i].dst, P->rules[i].ndst);
		free(P->rules[i].text);
		free_items(P->rules[i].items, P->rules[i].nitems);
	}
	free(P->rules);
	for (size_t i = 0; i < P->ndefs; i++) {
		free(P->defs[i].seg);
		free(P->defs[i].text);
	}
	free(P->defs);
	for (size_t i = 0; i < P->nmodes; i++)
		free(P->modes[i].seg);
	free(P->modes);
	for (size_t i = 0; i < P->nbinds; i++) {
		free(P->binds[i].seg);
		free(P->binds[i].pattern);
		free(P->binds[i].prefixes);
		free(P->binds[i].text);
	}
	free(P->binds);
	free(P->toks);
	for (size_t i = 0; i < P->npoison; i++)
		free(P->poison[i]);
	free(P->poison);
	xs_map_free(&P->poison_seg);
	xs_map_free(&P->poison_svc);
	xs_map_free(&P->seg_map);
	xs_map_free(&P->svc_map);
	free(P->seg_names);
	free(P->svc_names);
	free(P->failed_name);
	xs_forensic_free(P);
}

/* The services, flattened, into the source form. */
static int keep_services(struct parser *P)
{
	struct xs_service *v = calloc(P->nsvcs + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	P->pol->services = v;
	for (size_t i = 0; i < P->nsvcs; i++) {
		const struct svc *s = &P->svcs[i];

		v[i].name = strdup(s->name);
		v[i].specs = calloc(s->nflat + 1, sizeof(*v[i].specs));
		if (!v[i].name || !v[i].specs)
			return -ENOMEM;
		memcpy(v[i].specs, s->flat, s->nflat * sizeof(*s->flat));
		v[i].nspecs = s->nflat;
		v[i].leaf = true;
		for (size_t j = 0; j < s->nitems; j++)
			v[i].leaf &= s->items[j].is_spec;
		v[i].loc = s->loc;
	}
	return 0;
}

int xs_policy_parse(const char *path, xs_resolve_fn resolve, void *ctx, struct xs_policy **out,
		    struct xs_diags *diags)
{
	return xs_policy_parse_opts(path, resolve, ctx, NULL, out, NULL, NULL, diags);
}

int xs_policy_parse_opts(const char *path, xs_resolve_fn resolve, void *ctx,
			 const struct xs_compile_opts *o, struct xs_policy **out,
			 struct xs_overlay_entry **ov, size_t *nov, struct xs_diags *diags)
{
	struct xs_overlay_entry *recs = NULL;
	size_t nrecs = 0;
	struct parser P;
	struct xs_src_loc none = { 0 };
	size_t errors0 = diags->errors, warnings0 = diags->n;
	int err;

	memset(&P, 0, sizeof(P));
	P.diags = diags;
	P.resolve = resolve;
	P.ctx = ctx;
	P.pol = calloc(1, sizeof(*P.pol));
	P.toks = calloc(MAX_TOKENS, sizeof(*P.toks));
	if (!P.pol || !P.toks) {
		free(P.pol);
		free(P.toks);
		return -ENOMEM;
	}
	err = parse_file(&P, path, NULL, none);
	if (err)
		goto fail;
	if (!P.nomem)
		xs_add_linklocal(&P);
	if (!P.nomem && xs_index_names(&P))
		P.nomem = true;
	if (!P.nomem) {
		xs_check_services(&P);
		xs_check_segments(&P);
		xs_check_inside(&P);
		xs_check_rules(&P);
		xs_check_defaults(&P);
		xs_check_binds(&P);
		xs_check_forensic(&P);
	}
	if (!P.nomem)
		xs_note_unreported(&P);
	if (!P.nomem && diags->errors == errors0)
		xs_lint(&P);
	if (!P.nomem && diags->errors == errors0) {
		xs_build_origins(&P);
		xs_forensic_origins(&P);
	}
	xs_diags_sort(diags, warnings0, P.pol->files, P.pol->nfiles);
	/* the overlays' diagnostics in their order (each one's note after its errors) */
	if (!P.nomem && diags->errors == errors0)
		xs_parse_overlays(&P, o, &recs, &nrecs);
	if (P.nomem) {
		err = -ENOMEM;
		goto fail;
	}
	if (diags->errors != errors0) {
		err = -EINVAL;
		goto fail;
	}
	P.pol->nservices = P.nsvcs;
	if (keep_services(&P)) {
		err = -ENOMEM;
		goto fail;
	}
	parser_free(&P);
	*out = P.pol;
	if (ov) {
		*ov = recs;
		*nov = nrecs;
	} else {
		free(recs);
	}
	return 0;
fail:
	free(recs);
	parser_free(&P);
	xs_policy_free(P.pol);
	return err;
}

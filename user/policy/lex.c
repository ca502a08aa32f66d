// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The lexer: a file's bytes into lines, a line into tokens. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

char *xs_tokdup(const struct tok *t)
{
	return strndup(t->s, t->len);
}

bool xs_tok_is(const struct tok *t, const char *w)
{
	return t->type == T_WORD && (int)strlen(w) == t->len && !strncmp(t->s, w, t->len);
}

bool xs_word_char(char c, bool colon_word, bool glob)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == '/' ||
	       (colon_word && c == ':') || (glob && c && strchr("*?[]!", c));
}

int xs_lex(struct parser *P, const char *line, bool colon_word, int glob_tok, struct tok *toks)
{
	int n = 0;

	for (const char *p = line; *p;) {
		struct tok *t = &toks[n];
		int col = (int)(p - line) + 1;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (n == MAX_TOKENS) {
			err_at(P, xs_here(P, col), "statement too long (at most %d tokens)",
			       MAX_TOKENS);
			return -1;
		}
		t->s = p;
		t->col = col;
		if (*p == ',') {
			t->type = T_COMMA, t->len = 1, p++;
		} else if (*p == ':' && !colon_word) {
			t->type = T_COLON, t->len = 1, p++;
		} else if (p[0] == '-' && p[1] == '>') {
			t->type = T_ARROW, t->len = 2, p += 2;
		} else if (*p == '"') {
			const char *e = strchr(p + 1, '"');

			if (!e) {
				err_at(P, xs_here(P, col), "missing closing '\"'");
				return -1;
			}
			t->type = T_STR;
			t->s = p + 1;
			t->len = (int)(e - p - 1);
			p = e + 1;
		} else if (xs_word_char(*p, colon_word, n == glob_tok)) {
			t->type = T_WORD;
			while (xs_word_char(*p, colon_word, n == glob_tok) &&
			       !(p[0] == '-' && p[1] == '>'))
				p++;
			t->len = (int)(p - t->s);
		} else {
			err_at(P, xs_here(P, col), "unexpected character '%c'", *p);
			return -1;
		}
		n++;
	}
	return n;
}

/* Whitespace-folded copy of the line without its comment. */
char *xs_fold(const char *line)
{
	size_t n = strlen(line);
	char *out = malloc(n + 1), *o = out;
	bool space = false, instr = false;

	if (!out)
		return NULL;
	for (const char *p = line; *p; p++) {
		if (*p == '"')
			instr = !instr;
		if (*p == '#' && !instr)
			break;
		if (isspace((unsigned char)*p)) {
			space = o != out;
			continue;
		}
		if (space)
			*o++ = ' ';
		space = false;
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* ---- A file's bytes into lines ----------------------------------------------- */

/* Lines with a bad byte reported per file; past them, nothing of it is read. */
#define MAX_BAD_LINES 10

/*
 * The first byte of line s[0..n) (without its line end) that a policy may
 * not hold: NUL, a control character but TAB, DEL, or a byte >= 0x80 outside
 * a comment or a "string". Returns its offset, or n.
 */
static size_t bad_byte(const unsigned char *s, size_t n)
{
	bool instr = false, comment = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return i;
		if (c >= 0x80 && !instr && !comment)
			return i;
		if (!comment && c == '"')
			instr = !instr;
		else if (!instr && c == '#')
			comment = true;
	}
	return n;
}

/* The line for a diagnostic: a NUL cannot be in a C string, so each one is
 * written as the four characters \x00 (after the reported column). */
static char *shown_line(const char *s, size_t n)
{
	size_t nuls = 0;
	char *out, *o;

	for (size_t i = 0; i < n; i++)
		nuls += !s[i];
	out = o = malloc(n + 3 * nuls + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i]) {
			*o++ = s[i];
			continue;
		}
		memcpy(o, "\\x00", 4);
		o += 4;
	}
	*o = '\0';
	return out;
}

static void report_byte(struct parser *P, const struct srcfile *f, size_t line, const char *s,
			size_t n, size_t at)
{
	unsigned char c = (unsigned char)s[at];
	char *shown = shown_line(s, n);

	if (!shown) {
		P->nomem = true;
		return;
	}
	if (!c)
		xs_diag_add(P->diags, XS_SEV_ERROR, f->path, (int)line, (int)at + 1, shown,
			    "NUL byte: a policy is text (is this a binary file?)");
	else if (c < 0x80)
		xs_diag_add(P->diags, XS_SEV_ERROR, f->path, (int)line, (int)at + 1, shown,
			    "control character 0x%02x: a policy is text (tabs, newlines and CR LF "
			    "line ends only)",
			    c);
	else
		xs_diag_add(P->diags, XS_SEV_ERROR, f->path, (int)line, (int)at + 1, shown,
			    "byte 0x%02x outside a comment or a \"string\": statements are ASCII",
			    c);
	free(shown);
}

int xs_read_lines(struct parser *P, struct srcfile *f)
{
	char *p = f->text, *end = f->text + f->len;
	size_t cap = 0, bad = 0;

	while (p < end) {
		char *e = memchr(p, '\n', (size_t)(end - p)), *stop = e ? e : end;
		size_t n = (size_t)(stop - p), at;
		char **slot = xs_push(&f->lines, &f->nlines, &cap, sizeof(char *));

		if (!slot)
			return -ENOMEM;
		if (e && n && p[n - 1] == '\r')
			n--; /* CR LF */
		at = bad_byte((const unsigned char *)p, n);
		if (at < n) {
			if (++bad <= MAX_BAD_LINES)
				report_byte(P, f, f->nlines, p, n, at);
			else if (bad == MAX_BAD_LINES + 1)
				xs_diag_add(
					P->diags, XS_SEV_ERROR, f->path, (int)f->nlines,
					(int)at + 1, NULL,
					"more lines with such bytes follow: nothing of %s is read "
					"(is it a text file?)",
					f->path);
			*slot = NULL; /* not parsed */
		} else {
			p[n] = '\0';
			*slot = p;
		}
		p = e ? e + 1 : end;
	}
	if (bad > MAX_BAD_LINES)
		for (size_t i = 0; i < f->nlines; i++)
			f->lines[i] = NULL;
	return 0;
}

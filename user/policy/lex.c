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

static bool is_word_char(char c, bool colon_word)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == '/' ||
	       (colon_word && c == ':');
}

/*
 * Split one line (comment already cut) into tokens. Returns the count, or -1
 * after reporting an error. In rule statements ':' separates; elsewhere it is
 * part of a word (IPv6 addresses).
 */
int xs_lex(struct parser *P, const char *line, bool colon_word, struct tok *toks)
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
		} else if (is_word_char(*p, colon_word)) {
			t->type = T_WORD;
			while (is_word_char(*p, colon_word) && !(p[0] == '-' && p[1] == '>'))
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

/* Split text into lines in place. */
int xs_split_lines(struct srcfile *f)
{
	size_t cap = 0;
	char *p = f->text;

	while (*p) {
		char *e = strchr(p, '\n');

		if (!xs_push(&f->lines, &f->nlines, &cap, sizeof(char *)))
			return -ENOMEM;
		f->lines[f->nlines - 1] = p;
		if (!e)
			break;
		*e = '\0';
		if (e > p && e[-1] == '\r')
			e[-1] = '\0';
		p = e + 1;
	}
	return 0;
}

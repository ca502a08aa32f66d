// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Diagnostics: collection and gcc-style printing. Policy text is untrusted:
 * what is printed never carries a raw control byte, an invalid UTF-8
 * sequence or a bidirectional override to the terminal (see put_escaped).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"

/* Longest message and source excerpt kept per diagnostic: a policy line or
 * an include name may be megabytes long. */
#define MSG_MAX 1024
#define EXCERPT_BEFORE 160
#define EXCERPT_AFTER 160
#define EXCERPT_MAX (EXCERPT_BEFORE + EXCERPT_AFTER)

void xs_diags_init(struct xs_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void xs_diags_free(struct xs_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
		free(d->v[i].line_text);
		free(d->v[i].hint);
	}
	free(d->v);
	xs_diags_init(d);
}

/* The source line, or a window of a long one around `col` ("..." marks
 * what is cut); *text_col is the column in what is kept. */
static char *excerpt(const char *line, int col, int *text_col)
{
	size_t start, n;
	char *out;

	*text_col = col;
	if (strnlen(line, EXCERPT_MAX + 1) <= EXCERPT_MAX)
		return strdup(line);
	/* col - 1 is at most the line's length: nothing past its end is read */
	start = col > EXCERPT_BEFORE + 1 ? (size_t)col - 1 - EXCERPT_BEFORE : 0;
	n = strnlen(line + start, EXCERPT_MAX + 1);
	if (asprintf(&out, "%s%.*s%s", start ? "..." : "", (int)(n > EXCERPT_MAX ? EXCERPT_MAX : n),
		     line + start, n > EXCERPT_MAX ? "..." : "") < 0)
		return NULL;
	*text_col = col - (int)start + (start ? 3 : 0);
	return out;
}

/* Bytes fmt[0..n) format to, with ap's arguments (a copy of it). */
static int formatted_len(const char *fmt, size_t n, va_list ap)
{
	char *prefix = strndup(fmt, n);
	va_list aq;
	int len;

	if (!prefix)
		return -1;
	va_copy(aq, ap);
	/* the arguments past the prefix's conversions are ignored (C11 7.21.6.1) */
	len = vsnprintf(NULL, 0, prefix, aq);
	va_end(aq);
	free(prefix);
	return len;
}

/*
 * The hint between the XS_HINT markers of fmt, as formatted in msg (which
 * loses its markers): the markers' places in msg are the lengths fmt
 * formats to up to them (an argument may hold the marker's byte too).
 */
static char *take_hint(char *msg, const char *fmt, va_list ap)
{
	const char *m1 = strchr(fmt, XS_HINT[0]), *m2 = m1 ? strchr(m1 + 1, XS_HINT[0]) : NULL;
	int a = m1 ? formatted_len(fmt, (size_t)(m1 - fmt), ap) : -1;
	int b = m2 ? formatted_len(fmt, (size_t)(m2 - fmt), ap) : (int)strlen(msg);
	size_t len = strlen(msg);
	char *hint;

	if (a < 0 || b < 0 || (size_t)b > len || b <= a || msg[a] != XS_HINT[0] ||
	    (m2 && msg[b] != XS_HINT[0]))
		return NULL;
	hint = strndup(msg + a + 1, (size_t)(b - a - 1));
	if (m2)
		memmove(msg + b, msg + b + 1, len - (size_t)b);
	memmove(msg + a, msg + a + 1, len - (size_t)a);
	return hint;
}

/* Cut a message or hint longer than MSG_MAX to it, with "...". */
static void cut(char *s)
{
	if (s && strlen(s) > MSG_MAX)
		strcpy(s + MSG_MAX - 3, "...");
}

void xs_diag_addv(struct xs_diags *d, enum xs_severity sev, const char *file, int line, int col,
		  const char *line_text, const char *fmt, va_list ap)
{
	struct xs_diag *g;
	va_list aq;

	if (sev == XS_SEV_ERROR)
		d->errors++;
	else if (sev == XS_SEV_WARNING)
		d->warnings++;
	if (d->n >= XS_MAX_DIAGS) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct xs_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return; /* out of memory: the diagnostic is lost, the count is not */
		d->v = v;
		d->cap = cap;
	}
	g = &d->v[d->n];
	memset(g, 0, sizeof(*g));
	g->severity = sev;
	g->file = strdup(file ? file : "");
	g->line = line;
	g->col = col;
	g->line_text = line_text ? excerpt(line_text, col, &g->text_col) : NULL;
	va_copy(aq, ap);
	if (vasprintf(&g->msg, fmt, aq) < 0)
		g->msg = NULL;
	va_end(aq);
	if (g->msg && strchr(fmt, XS_HINT[0]))
		g->hint = take_hint(g->msg, fmt, ap);
	cut(g->msg);
	cut(g->hint);
	if (!g->file || !g->msg) {
		free(g->file);
		free(g->msg);
		free(g->line_text);
		free(g->hint);
	} else {
		d->n++;
	}
}

void xs_diag_add(struct xs_diags *d, enum xs_severity sev, const char *file, int line, int col,
		 const char *line_text, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xs_diag_addv(d, sev, file, line, col, line_text, fmt, ap);
	va_end(ap);
}

struct sort_key {
	size_t file, idx;
	int line, col;
};

static int key_cmp(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx; /* stable */
}

void xs_diags_sort(struct xs_diags *d, size_t from, char *const *files, size_t nfiles)
{
	size_t n = d->n > from ? d->n - from : 0;
	struct sort_key *k = calloc(n + 1, sizeof(*k));
	struct xs_diag *v = calloc(n + 1, sizeof(*v));

	if (!k || !v)
		goto out; /* out of memory: left in the order they came */
	for (size_t i = 0; i < n; i++) {
		const struct xs_diag *g = &d->v[from + i];

		k[i] = (struct sort_key){
			.file = nfiles, .idx = i, .line = g->line, .col = g->col
		};
		for (size_t f = 0; f < nfiles; f++) {
			if (!strcmp(files[f], g->file)) {
				k[i].file = f;
				break;
			}
		}
	}
	qsort(k, n, sizeof(*k), key_cmp);
	for (size_t i = 0; i < n; i++)
		v[i] = d->v[from + k[i].idx];
	if (n)
		memcpy(d->v + from, v, n * sizeof(*v));
out:
	free(k);
	free(v);
}

/* ---- Printing ------------------------------------------------------------------ */

/*
 * Length of the character at s[0..n) (n >= 1), and whether it must be
 * escaped: C0 controls but TAB, DEL, invalid UTF-8 (each byte alone), C1
 * controls (U+0080-U+009F) and the bidirectional embeddings, overrides and
 * isolates (U+202A-U+202E, U+2066-U+2069), which can make a line read
 * differently from what it is.
 */
static size_t utf8_char(const unsigned char *s, size_t n, bool *escape)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xbf;
	size_t len;
	uint32_t cp;

	*escape = false;
	if (b < 0x80) {
		*escape = (b < 0x20 && b != '\t') || b == 0x7f;
		return 1;
	}
	*escape = true;
	if (b >= 0xc2 && b <= 0xdf)
		len = 2, cp = b & 0x1f;
	else if (b >= 0xe0 && b <= 0xef)
		len = 3, cp = b & 0x0f;
	else if (b >= 0xf0 && b <= 0xf4)
		len = 4, cp = b & 0x07;
	else
		return 1;
	/* no overlong forms, surrogates or code points past U+10FFFF */
	if (b == 0xe0)
		lo = 0xa0;
	else if (b == 0xed)
		hi = 0x9f;
	else if (b == 0xf0)
		lo = 0x90;
	else if (b == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 1;
	for (size_t i = 1; i < len; i++) {
		if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf))
			return 1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*escape = cp <= 0x9f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
	return len;
}

void xs_put_escaped(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n) {
		bool esc;
		size_t len = utf8_char(p, n, &esc);

		for (size_t i = 0; i < len; i++) {
			if (esc)
				fprintf(out, "\\x%02x", p[i]);
			else
				fputc(p[i], out);
		}
		p += len;
		n -= len;
	}
}

/* Blanks under line[0..col-1) as xs_put_escaped() prints it (tabs kept), so
 * that a caret after them stands under byte col - 1. */
static void put_caret_pad(FILE *out, const char *line, int col)
{
	const unsigned char *p = (const unsigned char *)line;
	size_t n = strlen(line), at = 0;

	while (at < n && at + 1 < (size_t)col) {
		bool esc;
		size_t len = utf8_char(p + at, n - at, &esc);

		if (esc)
			fprintf(out, "%*s", (int)(4 * len), "");
		else
			fputc(p[at] == '\t' ? '\t' : ' ', out);
		at += len;
	}
}

static const char *sev_name(enum xs_severity s)
{
	switch (s) {
	case XS_SEV_ERROR:
		return "error";
	case XS_SEV_WARNING:
		return "warning";
	default:
		return "note";
	}
}

static const char *sev_color(enum xs_severity s)
{
	switch (s) {
	case XS_SEV_ERROR:
		return "\033[1;31m";
	case XS_SEV_WARNING:
		return "\033[1;35m";
	default:
		return "\033[1;36m";
	}
}

void xs_diags_print(FILE *out, const struct xs_diags *d, bool color)
{
	const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";

	for (size_t i = 0; i < d->n; i++) {
		const struct xs_diag *g = &d->v[i];

		fputs(bold, out);
		xs_put_escaped(out, g->file);
		if (g->line > 0)
			fprintf(out, ":%d:%d:%s ", g->line, g->col, reset);
		else
			fprintf(out, ":%s ", reset);
		fprintf(out, "%s%s:%s ", color ? sev_color(g->severity) : "", sev_name(g->severity),
			reset);
		xs_put_escaped(out, g->msg);
		fputc('\n', out);
		if (!g->line_text || g->line <= 0)
			continue;
		xs_put_escaped(out, g->line_text);
		fputc('\n', out);
		put_caret_pad(out, g->line_text, g->text_col);
		fprintf(out, "%s^%s\n", color ? sev_color(g->severity) : "", reset);
	}
	if (d->dropped)
		fprintf(out,
			"%snote:%s %zu more errors and warnings are not shown (the first %d are)\n",
			color ? sev_color(XS_SEV_NOTE) : "", reset, d->dropped, XS_MAX_DIAGS);
}

void xs_json_escaped(FILE *out, const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (m) {
		xs_put_escaped(m, s);
		if (fclose(m))
			buf = (free(buf), NULL);
	}
	json_print_str(out, buf ? buf : "");
	free(buf);
}

void xs_diags_print_json(FILE *out, const struct xs_diags *d, bool *first)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct xs_diag *g = &d->v[i];

		fputs(*first ? "{" : ",{", out);
		*first = false;
		json_print_key(out, "file", 1);
		xs_json_escaped(out, g->file);
		json_print_key(out, "line", 0);
		if (g->line > 0)
			fprintf(out, "%d", g->line);
		else
			fputs("null", out);
		json_print_key(out, "column", 0);
		if (g->line > 0)
			fprintf(out, "%d", g->col);
		else
			fputs("null", out);
		json_print_key(out, "severity", 0);
		json_print_str(out, sev_name(g->severity));
		json_print_key(out, "message", 0);
		xs_json_escaped(out, g->msg);
		json_print_key(out, "hint", 0);
		if (g->hint)
			xs_json_escaped(out, g->hint);
		else
			fputs("null", out);
		fputc('}', out);
	}
}

int xs_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[65];

	if (la > 64 || lb > 64)
		return 1000;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];

		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

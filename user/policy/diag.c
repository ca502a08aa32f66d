// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Diagnostics: collection and gcc-style printing. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
	}
	free(d->v);
	xs_diags_init(d);
}

void xs_diag_add(struct xs_diags *d, enum xs_severity sev, const char *file, int line, int col,
		 const char *line_text, const char *fmt, ...)
{
	struct xs_diag *g;
	va_list ap;

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
	g->line_text = line_text ? strdup(line_text) : NULL;
	va_start(ap, fmt);
	if (vasprintf(&g->msg, fmt, ap) < 0)
		g->msg = NULL;
	va_end(ap);
	if (!g->file || !g->msg) {
		free(g->file);
		free(g->msg);
		free(g->line_text);
	} else {
		d->n++;
	}
	if (sev == XS_SEV_ERROR)
		d->errors++;
	else if (sev == XS_SEV_WARNING)
		d->warnings++;
}

static size_t file_index(char *const *files, size_t nfiles, const char *file)
{
	for (size_t i = 0; i < nfiles; i++)
		if (!strcmp(files[i], file))
			return i;
	return nfiles;
}

void xs_diags_sort(struct xs_diags *d, size_t from, char *const *files, size_t nfiles)
{
	struct xs_diag *v = d->v;

	for (size_t i = from + 1; i < d->n; i++) {
		struct xs_diag g = v[i];
		size_t fi = file_index(files, nfiles, g.file), j = i;

		while (j > from) {
			const struct xs_diag *e = &v[j - 1];
			size_t fe = file_index(files, nfiles, e->file);

			if (fe < fi || (fe == fi && (e->line < g.line ||
						     (e->line == g.line && e->col <= g.col))))
				break;
			v[j] = v[j - 1];
			j--;
		}
		v[j] = g;
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
	for (size_t i = 0; i < d->n; i++) {
		const struct xs_diag *g = &d->v[i];
		const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";

		if (g->line > 0)
			fprintf(out, "%s%s:%d:%d:%s ", bold, g->file, g->line, g->col, reset);
		else
			fprintf(out, "%s%s:%s ", bold, g->file, reset);
		fprintf(out, "%s%s:%s %s\n", color ? sev_color(g->severity) : "",
			sev_name(g->severity), reset, g->msg);
		if (!g->line_text || g->line <= 0)
			continue;
		fprintf(out, "%s\n", g->line_text);
		/* Caret under the column; tabs kept so it lines up. */
		for (int c = 1; c < g->col && g->line_text[c - 1]; c++)
			fputc(g->line_text[c - 1] == '\t' ? '\t' : ' ', out);
		fprintf(out, "%s^%s\n", color ? sev_color(g->severity) : "", reset);
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

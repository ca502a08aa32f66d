// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The parser's bookkeeping, shared by every pass: growable arrays, where the
 * parser is, diagnostics at a place, a new segment. Depends on no other
 * pass, so the passes stack above it without a circle.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Grow *arr (element size sz) to hold one more element; return it zeroed or NULL. */
void *xs_push(void *arr_p, size_t *n, size_t *cap, size_t sz)
{
	void **arr = arr_p;
	char *v = *arr;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;

		v = realloc(*arr, nc * sz);
		if (!v)
			return NULL;
		*arr = v;
		*cap = nc;
	}
	memset(v + *n * sz, 0, sz);
	return v + (*n)++ * sz;
}

const char *xs_line_text(struct parser *P, const char *file, int line)
{
	long i = file ? xs_map_get(&P->file_paths, file) : -1;

	if (i < 0 || line < 1 || (size_t)line > P->files[i].nlines)
		return NULL;
	return P->files[i].lines[line - 1];
}

void xs_diag_at(struct parser *P, enum xs_severity sev, struct xs_src_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xs_diag_addv(P->diags, sev, loc.file, loc.line, loc.col,
		     xs_line_text(P, loc.file, loc.line), fmt, ap);
	va_end(ap);
}

struct xs_src_loc xs_here(struct parser *P, int col)
{
	struct xs_src_loc l = { .file = P->cur->path, .line = P->lineno, .col = col };

	return l;
}

struct xs_segment *xs_new_segment(struct parser *P)
{
	struct xs_policy *pol = P->pol;
	size_t cap = P->capsegs;
	struct xs_segment *s = xs_push(&pol->segments, &pol->nsegments, &P->capsegs, sizeof(*s));

	if (!s)
		return NULL;
	if (P->capsegs != cap) {
		struct segx *nx = realloc(P->segx, P->capsegs * sizeof(*nx));

		if (!nx) {
			pol->nsegments--;
			return NULL;
		}
		P->segx = nx;
	}
	memset(&P->segx[pol->nsegments - 1], 0, sizeof(*P->segx));
	s->id = (uint16_t)pol->nsegments; /* capped later: > 4095 is an error */
	s->in_action = XS_ACT_DENY;
	s->out_action = XS_ACT_ALLOW;
	return s;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Segment and service names: validity, lookups, suggestions, no cascades. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Edit-distance cells (length x length) spent on suggestions per policy:
 * past this, unknown names are reported without one (a policy of errors
 * checks in linear time). */
#define SUGGEST_BUDGET (64u << 20)

/* ---- Names ------------------------------------------------------------------ */

/* Remember a name whose declaration failed; kind 's' segment, 'v' service. */
void xs_poison(struct parser *P, char kind, const struct tok *t)
{
	char **slot = xs_push(&P->poison, &P->npoison, &P->cappoison, sizeof(char *));

	if (!slot || !(*slot = xs_tokdup(t)) ||
	    xs_map_put(kind == 's' ? &P->poison_seg : &P->poison_svc, *slot, 1) == -ENOMEM)
		P->nomem = true;
}

bool xs_poisoned(const struct parser *P, char kind, const char *name)
{
	return xs_map_get(kind == 's' ? &P->poison_seg : &P->poison_svc, name) >= 0;
}

bool xs_valid_name(const struct tok *t)
{
	if (t->type != T_WORD || !(isalpha((unsigned char)t->s[0]) || t->s[0] == '_'))
		return false;
	for (int i = 0; i < t->len; i++)
		if (!(isalnum((unsigned char)t->s[i]) || t->s[i] == '_' || t->s[i] == '-' ||
		      t->s[i] == '.'))
			return false;
	return true;
}

const char *xs_closest(const char *word, const char *const *cands, size_t n)
{
	size_t budget = SIZE_MAX;

	return xs_closest_budget(word, cands, n, &budget);
}

const char *xs_closest_budget(const char *word, const char *const *cands, size_t n, size_t *budget)
{
	const char *best = NULL;
	size_t wl = strlen(word);
	int bestd = 1000, limit = (int)wl / 3 + 1;

	if (limit > 3)
		limit = 3;
	for (size_t i = 0; i < n; i++) {
		size_t cl = strlen(cands[i]), cost = (wl + 1) * (cl + 1);
		int d;

		/* the distance is at least the difference in length */
		if (cl > wl + (size_t)limit || wl > cl + (size_t)limit)
			continue;
		if (cost > *budget)
			return NULL;
		*budget -= cost;
		d = xs_edit_distance(word, cands[i]);
		if (d < bestd && d <= limit && d < (int)cl) {
			bestd = d;
			best = cands[i];
		}
	}
	return best;
}

/* ---- Lookups ------------------------------------------------------------------ */

struct svc *xs_find_svc(struct parser *P, const char *name)
{
	long i = xs_map_get(&P->svc_map, name);

	return i < 0 ? NULL : &P->svcs[i];
}

int xs_find_seg(struct parser *P, const char *name)
{
	long i = xs_map_get(&P->seg_map, name);

	return i < 0 ? -1 : (int)i + 1;
}

int xs_index_names(struct parser *P)
{
	const struct xs_policy *pol = P->pol;

	P->svc_names = calloc(P->nsvcs + 1, sizeof(*P->svc_names));
	P->seg_names = calloc(pol->nsegments + 3, sizeof(*P->seg_names));
	if (!P->svc_names || !P->seg_names)
		return -ENOMEM;
	for (size_t i = 0; i < P->nsvcs; i++) {
		P->svc_names[i] = P->svcs[i].name;
		if (xs_map_put(&P->svc_map, P->svcs[i].name, (long)i) == -ENOMEM)
			return -ENOMEM;
	}
	for (size_t i = 0; i < pol->nsegments; i++) {
		const struct xs_segment *s = &pol->segments[i];

		P->seg_names[i] = s->name;
		/* a declared `link-local` is an error: the name is the built-in's */
		if (!s->builtin && !strcmp(s->name, XS_LINKLOCAL))
			continue;
		if (xs_map_put(&P->seg_map, s->name, (long)i) == -ENOMEM)
			return -ENOMEM;
	}
	P->seg_names[pol->nsegments] = "any";
	P->seg_names[pol->nsegments + 1] = "world";
	P->suggest_budget = SUGGEST_BUDGET;
	return 0;
}

void xs_unknown_svc(struct parser *P, const struct item *it)
{
	const char *s;

	if (xs_poisoned(P, 'v', it->name))
		return; /* its declaration already has an error */
	if (P->failed_includes) {
		P->unreported++; /* it may be declared in a file that could not be read */
		return;
	}
	s = xs_closest_budget(it->name, P->svc_names, P->nsvcs, &P->suggest_budget);
	if (s)
		err_at(P, it->loc, "unknown service '%s'; " XS_HINT "did you mean '%s'?", it->name,
		       s);
	else
		err_at(P, it->loc, "unknown service '%s'", it->name);
}

/* Resolve a segment name in a rule/default/mode; -2 after an error. */
long xs_resolve_seg(struct parser *P, const char *name, struct xs_src_loc loc, bool endpoint)
{
	const char *s;
	int id;

	if (endpoint && !strcmp(name, "any"))
		return XS_ENDPOINT_ANY;
	if (endpoint && !strcmp(name, "world"))
		return XS_SEG_WORLD;
	id = xs_find_seg(P, name);
	if (id > 0) {
		P->segx[id - 1].used = true;
		return id;
	}
	if (xs_poisoned(P, 's', name))
		return -2; /* its declaration already has an error */
	if (!endpoint && (!strcmp(name, "world") || !strcmp(name, "any"))) {
		err_at(P, loc, "'%s' has fixed defaults (in allow out allow) and no mode", name);
		return -2;
	}
	if (P->failed_includes) {
		P->unreported++; /* it may be declared in a file that could not be read */
		return -2;
	}
	s = xs_closest_budget(name, P->seg_names, P->pol->nsegments + (endpoint ? 2 : 0),
			      &P->suggest_budget);
	if (s)
		err_at(P, loc, "unknown segment '%s'; " XS_HINT "did you mean '%s'?", name, s);
	else
		err_at(P, loc, "unknown segment '%s'", name);
	return -2;
}

void xs_note_unreported(struct parser *P)
{
	const struct xs_src_loc *l = &P->failed_loc;

	if (!P->unreported)
		return;
	if (P->failed_includes == 1)
		xs_diag_add(P->diags, XS_SEV_NOTE, l->file, l->line, l->col, NULL,
			    "%zu use%s of unknown segment or service names %s not reported: they "
			    "may be declared in '%s', which could not be included",
			    P->unreported, P->unreported == 1 ? "" : "s",
			    P->unreported == 1 ? "is" : "are",
			    P->failed_name ? P->failed_name : "");
	else
		xs_diag_add(P->diags, XS_SEV_NOTE, l->file, l->line, l->col, NULL,
			    "%zu use%s of unknown segment or service names %s not reported: they "
			    "may be declared in the %zu files that could not be included",
			    P->unreported, P->unreported == 1 ? "" : "s",
			    P->unreported == 1 ? "is" : "are", P->failed_includes);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Segment and service names: validity, lookups, suggestions, no cascades. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- Names ---------------------------------------------------------------- */

/* Remember a name whose declaration failed; kind 's' segment, 'v' service. */
void xs_poison(struct parser *P, char kind, const struct tok *t)
{
	char **slot = xs_push(&P->poison, &P->npoison, &P->cappoison, sizeof(char *));

	if (!slot || asprintf(slot, "%c%.*s", kind, t->len, t->s) < 0) {
		if (slot)
			*slot = NULL;
		P->nomem = true;
	}
}

bool xs_poisoned(const struct parser *P, char kind, const char *name)
{
	for (size_t i = 0; i < P->npoison; i++)
		if (P->poison[i] && P->poison[i][0] == kind && !strcmp(P->poison[i] + 1, name))
			return true;
	return false;
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

/* Closest candidate by edit distance, or NULL when none is close. */
const char *xs_closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	int bestd = 1000, limit = (int)strlen(word) / 3 + 1;

	if (limit > 3)
		limit = 3;
	for (size_t i = 0; i < n; i++) {
		int d = xs_edit_distance(word, cands[i]);

		if (d < bestd && d <= limit && d < (int)strlen(cands[i])) {
			bestd = d;
			best = cands[i];
		}
	}
	return best;
}

/* ---- Second pass: names ------------------------------------------------------ */

struct svc *xs_find_svc(struct parser *P, const char *name)
{
	for (size_t i = 0; i < P->nsvcs; i++)
		if (!strcmp(P->svcs[i].name, name))
			return &P->svcs[i];
	return NULL;
}

int xs_find_seg(struct parser *P, const char *name)
{
	for (size_t i = 0; i < P->pol->nsegments; i++)
		if (!strcmp(P->pol->segments[i].name, name))
			return (int)i + 1;
	return -1;
}

void xs_unknown_svc(struct parser *P, const struct item *it)
{
	const char **names;
	const char *s;

	if (xs_poisoned(P, 'v', it->name))
		return; /* its declaration already has an error */
	names = calloc(P->nsvcs + 1, sizeof(*names));

	for (size_t i = 0; names && i < P->nsvcs; i++)
		names[i] = P->svcs[i].name;
	s = names ? xs_closest(it->name, names, P->nsvcs) : NULL;
	if (s)
		err_at(P, it->loc, "unknown service '%s'; did you mean '%s'?", it->name, s);
	else
		err_at(P, it->loc, "unknown service '%s'", it->name);
	free(names);
}

/* Resolve a segment name in a rule/default/mode; -2 after an error. */
long xs_resolve_seg(struct parser *P, const char *name, struct xs_src_loc loc, bool endpoint)
{
	const char **names;
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
	names = calloc(P->pol->nsegments + 2, sizeof(*names));
	if (!names) {
		P->nomem = true;
		return -2;
	}
	for (size_t i = 0; i < P->pol->nsegments; i++)
		names[i] = P->pol->segments[i].name;
	names[P->pol->nsegments] = "any";
	names[P->pol->nsegments + 1] = "world";
	s = xs_closest(name, names, P->pol->nsegments + (endpoint ? 2 : 0));
	if (s)
		err_at(P, loc, "unknown segment '%s'; did you mean '%s'?", name, s);
	else
		err_at(P, loc, "unknown segment '%s'", name);
	free(names);
	return -2;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The observations: every row of one or more flow stores over a window. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"

struct load_ctx {
	struct learn_set *set;
	size_t cap;
	size_t store;
};

static int add_row(void *arg, const struct xs_store_row *r)
{
	struct load_ctx *x = arg;
	struct learn_set *s = x->set;

	if (s->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		struct learn_flow *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		x->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	s->v[s->n].r = *r;
	s->v[s->n].store = x->store;
	s->n++;
	return 0;
}

int learn_load(const char *const *paths, size_t npaths, int64_t since, int64_t now,
	       struct learn_set *out, char *err, size_t errlen)
{
	struct load_ctx x = { .set = out };
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->since = since;
	out->now = now;
	for (size_t i = 0; i < npaths && !ret; i++) {
		struct xs_store *st = NULL;

		ret = xs_store_open(paths[i], false, NULL, &st, err, errlen);
		if (ret)
			break;
		x.store = i;
		ret = xs_store_each(st, since, add_row, &x);
		if (ret)
			snprintf(err, errlen, "%s: reading the flow store: %s", paths[i],
				 strerror(-ret));
		xs_store_close(st);
	}
	if (ret)
		learn_set_free(out);
	return ret;
}

void learn_set_free(struct learn_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

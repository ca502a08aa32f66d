// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A map from names to ints (open addressing, first insert wins): every name lookup of the parser.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int map_grow(struct xs_name_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct xs_name_slot *v = calloc(cap, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		const struct xs_name_slot *o = &m->v[i];
		size_t j = o->hash & (cap - 1);

		if (!o->name)
			continue;
		while (v[j].name)
			j = (j + 1) & (cap - 1);
		v[j] = *o;
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
	return 0;
}

static struct xs_name_slot *map_slot(const struct xs_name_map *m, const char *name, uint32_t h)
{
	size_t j = h & (m->cap - 1);

	while (m->v[j].name && (m->v[j].hash != h || strcmp(m->v[j].name, name)))
		j = (j + 1) & (m->cap - 1);
	return &m->v[j];
}

long xs_map_get(const struct xs_name_map *m, const char *name)
{
	const struct xs_name_slot *s;

	if (!m->cap)
		return -1;
	s = map_slot(m, name, name_hash(name));
	return s->name ? s->val : -1;
}

long xs_map_put(struct xs_name_map *m, const char *name, long val)
{
	uint32_t h = name_hash(name);
	struct xs_name_slot *s;

	if ((m->n + 1) * 2 > m->cap && map_grow(m))
		return -ENOMEM;
	s = map_slot(m, name, h);
	if (s->name)
		return s->val;
	s->name = name;
	s->hash = h;
	s->val = val;
	m->n++;
	return -1;
}

void xs_map_free(struct xs_name_map *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The datapath's counters summed over the CPUs, and carried from one policy set to the next. */
#include "counters.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "readback.h"

/* Entries per batch: bounds the buffer (entries x CPUs x value size). */
#define CHUNK 256

int xs_percpu_read(int fd, uint32_t first, uint32_t n, size_t vsz, uint64_t *sums)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t words = vsz / 8;
	uint32_t *keys = NULL, prev = first - 1, done = 0;
	uint64_t *vals = NULL;
	bool have_prev = first > 0;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	memset(sums, 0, (size_t)n * words * sizeof(*sums));
	keys = malloc(CHUNK * sizeof(*keys));
	vals = malloc((size_t)CHUNK * (size_t)ncpu * words * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (done < n) {
		__u32 count = n - done < CHUNK ? n - done : CHUNK;

		/* an array's batch token is the last key read (the next batch
		 * starts after it) */
		if (bpf_map_lookup_batch(fd, have_prev ? &prev : NULL, &prev, keys, vals, &count,
					 NULL) &&
		    errno != ENOENT) {
			err = -errno;
			goto out;
		}
		if (!count) {
			err = -ENOENT; /* past the array's end */
			goto out;
		}
		have_prev = true;
		for (__u32 i = 0; i < count; i++) {
			uint64_t *s = sums + (size_t)(keys[i] - first) * words;

			if (keys[i] < first || keys[i] - first >= n) {
				err = -EIO;
				goto out;
			}
			for (int c = 0; c < ncpu; c++)
				for (size_t f = 0; f < words; f++)
					s[f] += vals[((size_t)i * (size_t)ncpu + (size_t)c) *
							     words +
						     f];
		}
		done += count;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int xs_stats_read(const struct xs_maps *m, struct xs_counter out[XS_STAT__MAX])
{
	return xs_percpu_read(m->stats, 0, XS_STAT__MAX, sizeof(*out), (uint64_t *)out);
}

int xs_rule_counters_read(const struct xs_maps *m, uint32_t set, uint32_t n,
			  struct xs_rule_counter *out)
{
	if (set >= XS_POLICY_SETS || n > XS_MAX_RULES)
		return -EINVAL;
	return xs_percpu_read(m->rstats[set], 0, n, sizeof(*out), (uint64_t *)out);
}

/* Entries keys[0..n) of per-CPU array `fd` := sums[key] (vsz bytes each,
 * indexed by key) in CPU 0's slot, zero in every other. */
static int percpu_write(int fd, const uint32_t *keys, uint32_t n, size_t vsz, const uint64_t *sums)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t words = vsz / 8;
	uint64_t *vals;
	int err = 0;

	if (ncpu < 0)
		return ncpu;
	vals = calloc((size_t)CHUNK * (size_t)ncpu, vsz);
	if (!vals)
		return -ENOMEM;
	for (uint32_t at = 0; at < n;) {
		__u32 count = n - at < CHUNK ? n - at : CHUNK;

		for (__u32 i = 0; i < count; i++)
			memcpy(vals + (size_t)i * (size_t)ncpu * words,
			       sums + (size_t)keys[at + i] * words, vsz);
		if (bpf_map_update_batch(fd, keys + at, vals, &count, NULL)) {
			err = -errno;
			break;
		}
		at += count;
	}
	free(vals);
	return err;
}

/* A rule's identity in a set: (kind, stored text), and its id. */
struct ident {
	uint32_t id;
	uint32_t kind;
	const char *text;
};

static int ident_key_cmp(const struct ident *x, const struct ident *y)
{
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->text, y->text);
}

static int ident_cmp(const void *a, const void *b)
{
	const struct ident *x = a, *y = b;
	int c = ident_key_cmp(x, y);

	return c ? c : (x->id < y->id ? -1 : x->id > y->id);
}

/* One set's rules (segment names left out), sorted by identity then id. */
struct idents {
	struct ident *v;
	size_t n;
	uint32_t top; /* the highest id + 1 */
};

/*
 * The rules of sets `a` and `b` from one read of xs_origins (it holds both
 * sets: reading it once costs half); *recs owns the texts.
 */
static int idents_of(const struct xs_maps *m, uint32_t a, uint32_t b, struct xs_origin_rec **recs,
		     struct idents *ia, struct idents *ib)
{
	size_t nrec = 0;
	int err;

	err = xs_map_records(m->origins, sizeof(struct xs_origin_key), sizeof(struct xs_origin),
			     2 * (XS_MAX_RULES + XS_MAX_SEGMENTS), (void **)recs, &nrec,
			     sizeof(**recs), offsetof(struct xs_origin_rec, o));
	if (err)
		return err;
	ia->v = calloc(nrec + 1, sizeof(*ia->v));
	ib->v = calloc(nrec + 1, sizeof(*ib->v));
	if (!ia->v || !ib->v)
		return -ENOMEM;
	ia->n = ib->n = 0;
	ia->top = ib->top = 1;
	for (size_t i = 0; i < nrec; i++) {
		struct xs_origin_rec *r = &(*recs)[i];
		uint32_t id = r->k.rule_id;
		struct idents *s = r->k.set == a ? ia : r->k.set == b ? ib : NULL;

		if (!s || !id || id >= XS_MAX_RULES)
			continue; /* another set, or a segment's name (XS_ORIGIN_SEG_KEY()) */
		r->o.text[sizeof(r->o.text) - 1] = '\0';
		s->v[s->n++] = (struct ident){ id, r->o.kind, r->o.text };
		if (id + 1 > s->top)
			s->top = id + 1;
	}
	qsort(ia->v, ia->n, sizeof(*ia->v), ident_cmp);
	qsort(ib->v, ib->n, sizeof(*ib->v), ident_cmp);
	return 0;
}

static void counter_max(struct xs_rule_counter *to, const struct xs_rule_counter *from)
{
	to->flows = from->flows > to->flows ? from->flows : to->flows;
	to->packets = from->packets > to->packets ? from->packets : to->packets;
	to->bytes = from->bytes > to->bytes ? from->bytes : to->bytes;
}

int xs_rstats_carry(const struct xs_maps *m, int from, uint32_t to, uint32_t nto,
		    enum xs_carry_mode mode, size_t *carried)
{
	struct xs_origin_rec *recs = NULL;
	struct idents fi = { 0 }, ti = { 0 };
	struct xs_rule_counter *fsum = NULL, *tsum = NULL;
	uint32_t *keys = NULL, nkeys = 0;
	size_t kept = 0;
	bool *changed = NULL;
	int err;

	if (to >= XS_POLICY_SETS || from >= XS_POLICY_SETS || (uint32_t)from == to ||
	    nto > XS_MAX_RULES)
		return -EINVAL;
	tsum = calloc(nto + 1, sizeof(*tsum));
	changed = calloc(nto + 1, sizeof(*changed));
	keys = calloc(nto + 1, sizeof(*keys));
	if (!tsum || !changed || !keys) {
		err = -ENOMEM;
		goto out;
	}
	if (from >= 0) {
		/* the identities first: the old set is read as late as can be */
		err = idents_of(m, (uint32_t)from, to, &recs, &fi, &ti);
		if (err)
			goto out;
		fsum = calloc(fi.top, sizeof(*fsum));
		if (!fsum) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (mode == XS_CARRY_MERGE) {
		err = xs_rule_counters_read(m, to, nto, tsum);
		if (err)
			goto out;
	}
	if (from >= 0) {
		err = xs_rule_counters_read(m, (uint32_t)from, fi.top, fsum);
		if (err)
			goto out;
		/* both sorted by identity, then id: equal identities pair in
		 * id order */
		for (size_t i = 0, j = 0; i < fi.n && j < ti.n;) {
			int c = ident_key_cmp(&fi.v[i], &ti.v[j]);

			if (c < 0) {
				i++;
				continue;
			}
			if (c > 0) {
				j++;
				continue;
			}
			if (ti.v[j].id < nto) {
				if (mode == XS_CARRY_FRESH)
					tsum[ti.v[j].id] = fsum[fi.v[i].id];
				else
					counter_max(&tsum[ti.v[j].id], &fsum[fi.v[i].id]);
				changed[ti.v[j].id] = true;
				kept++;
			}
			i++;
			j++;
		}
	}
	/* an apply writes every id (the set's counts from before are stale),
	 * a rollback only what it merged */
	for (uint32_t id = 0; id < nto; id++)
		if (mode == XS_CARRY_FRESH || changed[id])
			keys[nkeys++] = id;
	err = percpu_write(m->rstats[to], keys, nkeys, sizeof(*tsum), (const uint64_t *)tsum);
	if (!err && carried)
		*carried = kept;
out:
	free(recs);
	free(fi.v);
	free(ti.v);
	free(fsum);
	free(tsum);
	free(changed);
	free(keys);
	return err;
}

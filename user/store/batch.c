// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flow store's batch: the observations since the last flush, merged
 * per key in a hash of at most ST_BATCH_KEYS entries (a flood of new keys
 * between two flushes goes into aggregate entries past it), the names they
 * carry interned (a batch holds a few distinct rules, segments and
 * interfaces, not one copy per entry).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ST_BUCKETS 65536u /* a power of two, >= ST_BATCH_KEYS + ST_BATCH_AGG */
#define ST_STR_BUCKETS 4096u

_Static_assert(ST_BUCKETS >= ST_BATCH_KEYS + ST_BATCH_AGG, "at most one entry per bucket, mostly");

/* FNV-1a. */
static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int64_t st_day(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

int st_batch_init(struct xs_store *s)
{
	s->buckets = calloc(ST_BUCKETS, sizeof(*s->buckets));
	s->strs = calloc(ST_STR_BUCKETS, sizeof(*s->strs));
	if (!s->buckets || !s->strs)
		return -ENOMEM;
	return 0;
}

static void strs_clear(struct xs_store *s)
{
	for (size_t i = 0; s->strs && i < ST_STR_BUCKETS; i++) {
		while (s->strs[i]) {
			struct st_str *n = s->strs[i];

			s->strs[i] = n->next;
			free(n);
		}
	}
	s->nstrs = 0;
	s->empty = NULL;
}

void st_batch_clear(struct xs_store *s)
{
	if (s->buckets && s->npend)
		memset(s->buckets, 0, ST_BUCKETS * sizeof(*s->buckets));
	s->npend = s->nkeyed = s->nagg = 0;
	s->pending = 0;
	strs_clear(s);
	/* a flood's array goes back to the allocator */
	if (s->cappend > 1024) {
		free(s->pend);
		s->pend = NULL;
		s->cappend = 0;
	}
}

void st_batch_free(struct xs_store *s)
{
	strs_clear(s);
	free(s->strs);
	free(s->buckets);
	free(s->pend);
	s->strs = NULL;
	s->buckets = NULL;
	s->pend = NULL;
}

/* `str` interned ("" for NULL); past ST_STRINGS_MAX distinct ones, "". NULL: no memory. */
static const char *intern(struct xs_store *s, const char *str)
{
	size_t len, b;
	struct st_str *n;

	if (!s->empty) {
		n = calloc(1, sizeof(*n) + 1);
		if (!n)
			return NULL;
		n->next = s->strs[0];
		s->strs[0] = n;
		s->nstrs++;
		s->empty = n->s;
	}
	if (!str || !*str)
		return s->empty;
	len = strlen(str);
	b = hash_bytes(str, len) & (ST_STR_BUCKETS - 1);
	for (n = s->strs[b]; n; n = n->next) {
		if (!strcmp(n->s, str))
			return n->s;
	}
	if (s->nstrs >= ST_STRINGS_MAX)
		return s->empty;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy(n->s, str, len + 1);
	n->next = s->strs[b];
	s->strs[b] = n;
	s->nstrs++;
	return n->s;
}

static uint32_t key_bucket(const struct st_key *k)
{
	return (uint32_t)(hash_bytes(k, sizeof(*k)) & (ST_BUCKETS - 1));
}

static struct st_pend *find(struct xs_store *s, const struct st_key *k)
{
	for (uint32_t i = s->buckets[key_bucket(k)]; i; i = s->pend[i - 1].next) {
		if (!memcmp(&s->pend[i - 1].k, k, sizeof(*k)))
			return &s->pend[i - 1];
	}
	return NULL;
}

static struct st_pend *insert(struct xs_store *s, const struct st_key *k)
{
	uint32_t b = key_bucket(k);
	struct st_pend *p;

	if (s->npend == s->cappend) {
		uint32_t cap = s->cappend ? s->cappend * 2 : 256;

		if (cap > ST_BATCH_KEYS + ST_BATCH_AGG)
			cap = ST_BATCH_KEYS + ST_BATCH_AGG;
		p = realloc(s->pend, cap * sizeof(*p));
		if (!p)
			return NULL;
		s->pend = p;
		s->cappend = cap;
	}
	p = &s->pend[s->npend];
	memset(p, 0, sizeof(*p));
	p->k = *k;
	p->first = INT64_MAX;
	p->last = INT64_MIN;
	p->next = s->buckets[b];
	s->buckets[b] = ++s->npend;
	return p;
}

int xs_store_add(struct xs_store *s, const struct xs_store_obs *o)
{
	const char *rule, *sseg, *dseg, *iface;
	size_t alen = o->family == 6 ? 16 : 4;
	struct st_pend *p;
	struct st_key k;

	if (!s || !s->writable)
		return -EROFS;
	if ((o->family != 4 && o->family != 6) || o->decision > XS_STORE_DROP)
		return -EINVAL;
	rule = intern(s, o->rule);
	sseg = intern(s, o->src_segment);
	dseg = intern(s, o->dst_segment);
	iface = intern(s, o->iface);
	if (!rule || !sseg || !dseg || !iface)
		return -ENOMEM;
	memset(&k, 0, sizeof(k));
	k.day = st_day(o->time);
	k.family = o->family;
	k.proto = o->proto;
	k.decision = o->decision;
	k.port = o->port < 0 || o->port > 65535 ? -1 : o->port;
	memcpy(k.src, o->src, alen);
	memcpy(k.dst, o->dst, alen);
	p = find(s, &k);
	if (!p && s->nkeyed < ST_BATCH_KEYS) {
		p = insert(s, &k);
		if (!p)
			return -ENOMEM;
		s->nkeyed++;
	}
	if (!p) {
		/* the batch is full of keys: this one's segment pair aggregates */
		memset(&k.src, 0, sizeof(k.src));
		memset(&k.dst, 0, sizeof(k.dst));
		k.port = -1;
		k.aggregate = 1;
		k.agg_src = sseg;
		k.agg_dst = dseg;
		p = find(s, &k);
		if (!p && s->nagg >= ST_BATCH_AGG / 2) {
			/* and past half of those, one per protocol, decision, day */
			k.agg_src = k.agg_dst = s->empty;
			p = find(s, &k);
		}
		if (!p && s->nagg >= ST_BATCH_AGG) {
			s->lost++; /* thousands of those between two flushes */
			return -ENOBUFS;
		}
		if (!p) {
			p = insert(s, &k);
			if (!p)
				return -ENOMEM;
			s->nagg++;
		}
		s->aggregated++;
	}
	if (o->time < p->first)
		p->first = o->time;
	if (o->time >= p->last) {
		p->last = o->time;
		p->rule = rule;
		p->generation = o->generation;
		p->src_seg = sseg;
		p->dst_seg = dseg;
		if (*iface || !p->iface)
			p->iface = iface;
	}
	p->connections += o->connections;
	p->packets += o->packets;
	p->bytes += o->bytes;
	p->nobs++;
	s->pending++;
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The policy in force, read back from the pinned maps (see readback.h). */
#include "readback.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "flows.h"
#include "show.h"

/* The kernel's "operation not supported" (no batch operations for the map type). */
#define XS_ENOTSUPP 524

/* ---- Clocks ---------------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * XS_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t xs_datapath_mono_ns(const struct xs_config *cfg)
{
	/* bpf_ktime_get_coarse_ns() */
	return clock_ns(CLOCK_MONOTONIC_COARSE) + (uint64_t)cfg->clock_offset_ns;
}

uint64_t xs_datapath_tai_s(const struct xs_config *cfg)
{
	/* bpf_ktime_get_tai_ns() */
	return (clock_ns(CLOCK_TAI) + (uint64_t)cfg->clock_offset_ns) / XS_NS_PER_SEC;
}

uint32_t xs_generation_in_force(const struct xs_config *cfg, bool *rolled_back)
{
	bool back = cfg->confirm_deadline_ns &&
		    (cfg->rolled_back || xs_datapath_mono_ns(cfg) >= cfg->confirm_deadline_ns);

	if (rolled_back)
		*rolled_back = back;
	return back ? cfg->rollback_generation : cfg->generation;
}

/* ---- Reading maps ------------------------------------------------------------- */

void xs_say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Every (key, value) of a hash or LPM map, at most `max`: keys and values in
 * two malloc'd arrays of ksz / vsz bytes each. `keep` (may be NULL) filters
 * by key. The batch interface first (one call per 4096 entries), the
 * key-by-key walk where the map type has none (LPM tries).
 */
static int dump(int fd, size_t ksz, size_t vsz, size_t max, bool (*keep)(const void *, void *),
		void *ctx, void **keys_out, void **vals_out, size_t *n_out)
{
	enum { CHUNK = 4096 };
	char *keys = NULL, *vals = NULL, *k, *v, *prev = NULL, *bk = NULL, *bv = NULL;
	size_t n = 0, cap = 0;
	__u32 batch = 0, count;
	bool first = true, done = false, batched = true;
	int err = 0;

	k = malloc(ksz);
	v = malloc(vsz);
	bk = malloc(CHUNK * ksz);
	bv = malloc(CHUNK * vsz);
	if (!k || !v || !bk || !bv) {
		err = -ENOMEM;
		goto out;
	}
	while (!done) {
		size_t got;

		if (batched) {
			count = CHUNK;
			if (bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, bk, bv, &count,
						 NULL)) {
				if (first && (errno == EINVAL || errno == ENOTSUP ||
					      errno == EOPNOTSUPP || errno == XS_ENOTSUPP)) {
					batched = false;
					continue;
				}
				if (errno != ENOENT) {
					err = -errno;
					goto out;
				}
				done = true;
			}
			first = false;
			got = count;
		} else {
			if (bpf_map_get_next_key(fd, prev, k)) {
				if (errno != ENOENT) {
					err = -errno;
					goto out;
				}
				break;
			}
			if (bpf_map_lookup_elem(fd, k, v)) {
				/* deleted meanwhile: the walk goes on from it */
				if (errno != ENOENT) {
					err = -errno;
					goto out;
				}
			}
			memcpy(bk, k, ksz);
			memcpy(bv, v, vsz);
			got = 1;
			if (!prev)
				prev = malloc(ksz);
			if (!prev) {
				err = -ENOMEM;
				goto out;
			}
			memcpy(prev, k, ksz);
		}
		for (size_t i = 0; i < got; i++) {
			if (keep && !keep(bk + i * ksz, ctx))
				continue;
			if (n == max) {
				err = -E2BIG;
				goto out;
			}
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 256;
				char *nk = realloc(keys, nc * ksz), *nv;

				if (!nk) {
					err = -ENOMEM;
					goto out;
				}
				keys = nk;
				nv = realloc(vals, nc * vsz);
				if (!nv) {
					err = -ENOMEM;
					goto out;
				}
				vals = nv;
				cap = nc;
			}
			memcpy(keys + n * ksz, bk + i * ksz, ksz);
			memcpy(vals + n * vsz, bv + i * vsz, vsz);
			n++;
		}
	}
out:
	free(k);
	free(v);
	free(bk);
	free(bv);
	free(prev);
	if (err) {
		free(keys);
		free(vals);
		return err;
	}
	*keys_out = keys;
	*vals_out = vals;
	*n_out = n;
	return 0;
}

/* Keys of a set's entries in xs_origins / xs_overlays: (set, id) first. */
static bool in_set(const void *key, void *ctx)
{
	return *(const __u32 *)key == *(const __u32 *)ctx;
}

int xs_map_records(int fd, size_t ksz, size_t vsz, size_t max, void **out, size_t *n, size_t rsz,
		   size_t voff)
{
	void *keys, *vals;
	char *rec;
	int err;

	err = dump(fd, ksz, vsz, max, NULL, NULL, &keys, &vals, n);
	if (err)
		return err;
	rec = calloc(*n + 1, rsz);
	if (!rec) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < *n; i++) {
		memcpy(rec + i * rsz, (char *)keys + i * ksz, ksz);
		memcpy(rec + i * rsz + voff, (char *)vals + i * vsz, vsz);
	}
	free(keys);
	free(vals);
	*out = rec;
	return 0;
}

int xs_origins_read(const struct xs_maps *m, uint32_t set, struct xs_origin_rec **out, size_t *n)
{
	struct xs_origin_key *keys = NULL;
	struct xs_origin *vals = NULL;
	struct xs_origin_rec *recs;
	int err;

	err = dump(m->origins, sizeof(*keys), sizeof(*vals), 2 * (XS_MAX_RULES + XS_MAX_SEGMENTS),
		   in_set, &set, (void **)&keys, (void **)&vals, n);
	if (err)
		return err;
	recs = calloc(*n + 1, sizeof(*recs));
	if (!recs) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < *n; i++) {
		recs[i].k = keys[i];
		recs[i].o = vals[i];
		recs[i].o.file[sizeof(recs[i].o.file) - 1] = '\0';
		recs[i].o.text[sizeof(recs[i].o.text) - 1] = '\0';
	}
	*out = recs;
out:
	free(keys);
	free(vals);
	return err;
}

/* ---- The policy part --------------------------------------------------------- */

/* The index of `file` in p->files, added when new; -1 when out of memory. */
static long file_index(struct xs_policy *p, const char *file)
{
	char **nf;

	for (size_t i = 0; i < p->nfiles; i++)
		if (!strcmp(p->files[i], file))
			return (long)i;
	nf = realloc(p->files, (p->nfiles + 1) * sizeof(*nf));
	if (!nf)
		return -1;
	p->files = nf;
	p->files[p->nfiles] = strdup(file);
	if (!p->files[p->nfiles])
		return -1;
	return (long)p->nfiles++;
}

static int origin_cmp(const void *a, const void *b)
{
	const struct xs_origin_rec *x = a, *y = b;

	return x->k.rule_id < y->k.rule_id ? -1 : x->k.rule_id > y->k.rule_id;
}

/* Origins and segment names of the set: p->origins (index rule id - 1),
 * p->segments (names, locations; nsegments = the highest named id). */
static int read_origins(const struct xs_maps *m, uint32_t set, struct xs_policy *p, char *err,
			size_t errlen)
{
	struct xs_origin_rec *recs = NULL;
	uint32_t maxrule = 0, maxseg = 0;
	size_t n = 0;
	int rc;

	rc = xs_origins_read(m, set, &recs, &n);
	if (rc) {
		xs_say(err, errlen, "reading xs_origins: %s", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		if (recs[i].k.rule_id & 0x80000000u) {
			uint32_t seg = recs[i].k.rule_id & 0x7fffffffu;

			if (seg && seg < XS_MAX_SEGMENTS && seg > maxseg)
				maxseg = seg;
		} else if (recs[i].k.rule_id < XS_MAX_RULES && recs[i].k.rule_id > maxrule) {
			maxrule = recs[i].k.rule_id;
		}
	}
	qsort(recs, n, sizeof(*recs), origin_cmp); /* files in rule order */
	p->origins = calloc(maxrule + 1, sizeof(*p->origins));
	p->segments = calloc(maxseg + 1, sizeof(*p->segments));
	if (!p->origins || !p->segments) {
		rc = -ENOMEM;
		goto out;
	}
	p->norigins = maxrule;
	p->nsegments = maxseg;
	for (uint32_t s = 1; s <= maxseg; s++)
		p->segments[s - 1].id = (uint16_t)s;
	for (size_t i = 0; i < n; i++) {
		const struct xs_origin_rec *r = &recs[i];
		long fi = file_index(p, r->o.file);
		char *text = strdup(r->o.text);

		if (fi < 0 || !text) {
			free(text);
			rc = -ENOMEM;
			goto out;
		}
		if (r->k.rule_id & 0x80000000u) {
			uint32_t seg = r->k.rule_id & 0x7fffffffu;
			struct xs_segment *s;

			if (!seg || seg > maxseg) {
				free(text);
				continue;
			}
			s = &p->segments[seg - 1];
			free(s->name);
			s->name = text;
			s->loc.file = p->files[fi];
			s->loc.line = (int)r->o.line;
		} else if (r->k.rule_id && r->k.rule_id <= maxrule) {
			struct xs_origin_entry *o = &p->origins[r->k.rule_id - 1];

			o->rule_id = r->k.rule_id;
			o->kind = (enum xs_origin_kind)r->o.kind;
			o->file = p->files[fi];
			o->line = (int)r->o.line;
			o->text = text;
		} else {
			free(text);
		}
	}
	/* a gap in the names (never from our push): a placeholder */
	for (uint32_t s = 1; s <= maxseg; s++) {
		struct xs_segment *sg = &p->segments[s - 1];
		char buf[32];

		if (sg->name)
			continue;
		snprintf(buf, sizeof(buf), "seg-%u", s);
		sg->name = strdup(buf);
		if (!sg->name) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	if (rc == -ENOMEM)
		xs_say(err, errlen, "out of memory");
	free(recs);
	return rc;
}

/* The segments' prefixes, defaults and modes from the tables. */
static int fill_segments(struct xs_compiled *c)
{
	struct xs_policy *p = c->policy;

	for (size_t i = 0; i < c->nv4 + c->nv6; i++) {
		bool v4 = i < c->nv4;
		uint16_t seg = v4 ? c->v4[i].val.seg : c->v6[i - c->nv4].val.seg;
		struct xs_segment *s;
		struct xs_prefix *px, *np;

		if (!seg || seg > p->nsegments)
			continue;
		s = &p->segments[seg - 1];
		np = realloc(s->prefixes, (s->nprefixes + 1) * sizeof(*np));
		if (!np)
			return -ENOMEM;
		s->prefixes = np;
		px = &s->prefixes[s->nprefixes++];
		memset(px, 0, sizeof(*px));
		if (v4) {
			px->family = 4;
			px->len = (uint8_t)c->v4[i].key.prefixlen;
			memcpy(px->addr, c->v4[i].key.addr, 4);
		} else {
			px->family = 6;
			px->len = (uint8_t)c->v6[i - c->nv4].key.prefixlen;
			memcpy(px->addr, c->v6[i - c->nv4].key.addr, 16);
		}
		px->loc = s->loc;
	}
	for (size_t i = 0; i < p->nsegments; i++) {
		struct xs_segment *s = &p->segments[i];
		const struct xs_seg_info *si = &c->seginfo[s->id];

		s->in_action = si->in_action;
		s->out_action = si->out_action;
		s->monitor = si->monitor;
		s->in_rule_id = si->in_rule_id;
		s->out_rule_id = si->out_rule_id;
		s->builtin = s->id == c->setinfo.ll_seg;
	}
	p->world_in_rule_id = c->seginfo[0].in_rule_id;
	p->world_out_rule_id = c->seginfo[0].out_rule_id;
	p->linklocal_seg = c->setinfo.ll_seg;
	return 0;
}

/* The bindings: pattern, segment and origin from xs_binds, the addresses
 * the compiled entries give it (value = its id). */
static int fill_bindings(struct xs_compiled *c)
{
	struct xs_policy *p = c->policy;

	if (c->nbinds < 2)
		return 0;
	p->bindings = calloc(c->nbinds - 1, sizeof(*p->bindings));
	if (!p->bindings)
		return -ENOMEM;
	for (size_t i = 1; i < c->nbinds; i++) {
		const struct xs_bind_info *bi = &c->binds[i];
		struct xs_binding *b = &p->bindings[p->nbindings++];
		const struct xs_origin_entry *o = xs_compiled_origin(c, bi->rule_id);
		char pat[XS_BIND_PATTERN_LEN + 1];

		memcpy(pat, bi->pattern, XS_BIND_PATTERN_LEN);
		pat[XS_BIND_PATTERN_LEN] = '\0';
		b->id = (uint32_t)i;
		b->rule_id = bi->rule_id;
		b->seg = bi->seg;
		b->pattern = strdup(pat);
		b->text = strdup(o && o->text ? o->text : "");
		if (!b->pattern || !b->text)
			return -ENOMEM;
		if (o) {
			b->loc.file = o->file;
			b->loc.line = o->line;
		}
		for (size_t k = 0; k < c->nbind4 + c->nbind6; k++) {
			bool v4 = k < c->nbind4;
			uint32_t val = v4 ? c->bind4[k].val : c->bind6[k - c->nbind4].val;
			uint32_t bind =
				v4 ? c->bind4[k].key.bind : c->bind6[k - c->nbind4].key.bind;
			struct xs_prefix *np;

			if (bind != i || val != i)
				continue;
			np = realloc(b->prefixes, (b->nprefixes + 1) * sizeof(*np));
			if (!np)
				return -ENOMEM;
			b->prefixes = np;
			np = &b->prefixes[b->nprefixes++];
			memset(np, 0, sizeof(*np));
			np->family = v4 ? 4 : 6;
			if (v4) {
				np->len = (uint8_t)(c->bind4[k].key.prefixlen - 32);
				memcpy(np->addr, c->bind4[k].key.addr, 4);
			} else {
				np->len = (uint8_t)(c->bind6[k - c->nbind4].key.prefixlen - 32);
				memcpy(np->addr, c->bind6[k - c->nbind4].key.addr, 16);
			}
		}
	}
	return 0;
}

struct overlay_rec {
	struct xs_overlay_key k;
	struct xs_overlay o;
};

/* The set's overlays (quarantines, grants) into c->overlays. */
static int read_overlays(const struct xs_maps *m, uint32_t set, struct xs_compiled *c)
{
	struct xs_overlay_key *keys = NULL;
	struct xs_overlay *vals = NULL;
	size_t n = 0;
	int rc;

	if (m->overlays < 0)
		return 0;
	rc = dump(m->overlays, sizeof(*keys), sizeof(*vals), 2 * XS_MAX_OVERLAYS, in_set, &set,
		  (void **)&keys, (void **)&vals, &n);
	if (rc)
		return rc;
	if (n) {
		c->overlays = calloc(n, sizeof(*c->overlays));
		if (!c->overlays) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			c->overlays[i].rule_id = keys[i].rule_id;
			c->overlays[i].rec = vals[i];
			c->overlays[i].rec.text[XS_OVERLAY_TEXT_LEN - 1] = '\0';
			c->overlays[i].rec.reason[XS_OVERLAY_REASON_LEN - 1] = '\0';
		}
		c->noverlays = n;
	}
out:
	free(keys);
	free(vals);
	return rc;
}

/* ---- The set ------------------------------------------------------------------ */

static int read_tables(const struct xs_maps *m, uint32_t set, struct xs_compiled *c, char *err,
		       size_t errlen)
{
	struct xs_rule_entry *exact = NULL, *nr;
	size_t nexact = 0;
	void *out;
	int rc;

#define TRY(what, call)                                                             \
	do {                                                                        \
		rc = (call);                                                        \
		if (rc) {                                                           \
			xs_say(err, errlen, "reading %s: %s", what, strerror(-rc)); \
			goto fail;                                                  \
		}                                                                   \
	} while (0)

	TRY("xs_seg4", xs_map_records(m->seg4[set], sizeof(struct xs_lpm4_key),
				      sizeof(struct xs_seg_val), XS_MAX_PREFIXES4, &out, &c->nv4,
				      sizeof(*c->v4), offsetof(struct xs_lpm4_entry, val)));
	c->v4 = out;
	TRY("xs_seg6", xs_map_records(m->seg6[set], sizeof(struct xs_lpm6_key),
				      sizeof(struct xs_seg_val), XS_MAX_PREFIXES6, &out, &c->nv6,
				      sizeof(*c->v6), offsetof(struct xs_lpm6_entry, val)));
	c->v6 = out;
	TRY("xs_rules",
	    xs_map_records(m->rules[set], sizeof(struct xs_rule_key), sizeof(struct xs_rule_val),
			   XS_MAX_RULE_ENTRIES, &out, &c->nrules, sizeof(*c->rules),
			   offsetof(struct xs_rule_entry, val)));
	c->rules = out;
	TRY("xs_rexact",
	    xs_map_records(m->rexact[set], sizeof(struct xs_rule_key), sizeof(struct xs_rule_val),
			   XS_MAX_RULE_ENTRIES, &out, &nexact, sizeof(*exact),
			   offsetof(struct xs_rule_entry, val)));
	exact = out;
	if (c->nrules + nexact > XS_MAX_RULE_ENTRIES) {
		rc = -E2BIG;
		xs_say(err, errlen, "more rule entries than XS_MAX_RULE_ENTRIES");
		goto fail;
	}
	nr = realloc(c->rules, (c->nrules + nexact + 1) * sizeof(*nr));
	if (!nr) {
		rc = -ENOMEM;
		xs_say(err, errlen, "out of memory");
		goto fail;
	}
	c->rules = nr;
	if (nexact)
		memcpy(c->rules + c->nrules, exact, nexact * sizeof(*exact));
	c->nrules += nexact;
	free(exact);
	exact = NULL;

	if (bpf_map_lookup_elem(m->sets, &set, &c->setinfo)) {
		rc = -errno;
		xs_say(err, errlen, "reading xs_sets: %s", strerror(errno));
		goto fail;
	}
	if (c->setinfo.nbinds >= XS_MAX_BINDS) {
		rc = -EBADMSG;
		xs_say(err, errlen, "xs_sets says %u binds (at most %d)", c->setinfo.nbinds,
		       XS_MAX_BINDS - 1);
		goto fail;
	}
	c->nbinds = c->setinfo.nbinds + 1;
	c->binds = calloc(c->nbinds, sizeof(*c->binds));
	if (!c->binds) {
		rc = -ENOMEM;
		goto fail;
	}
	for (__u32 i = 1; i < c->nbinds; i++) {
		if (bpf_map_lookup_elem(m->binds[set], &i, &c->binds[i])) {
			rc = -errno;
			xs_say(err, errlen, "reading xs_binds: %s", strerror(errno));
			goto fail;
		}
	}
	TRY("xs_bind4", xs_map_records(m->bind4[set], sizeof(struct xs_bind4_key), sizeof(__u32),
				       XS_MAX_BIND_PREFIXES, &out, &c->nbind4, sizeof(*c->bind4),
				       offsetof(struct xs_bind4_entry, val)));
	c->bind4 = out;
	TRY("xs_bind6", xs_map_records(m->bind6[set], sizeof(struct xs_bind6_key), sizeof(__u32),
				       XS_MAX_BIND_PREFIXES, &out, &c->nbind6, sizeof(*c->bind6),
				       offsetof(struct xs_bind6_entry, val)));
	c->bind6 = out;
	return 0;
#undef TRY
fail:
	free(exact);
	return rc;
}

int xs_readback_set(const struct xs_maps *m, uint32_t set, struct xs_compiled **out, char *err,
		    size_t errlen)
{
	struct xs_policy_meta meta;
	struct xs_compiled *c;
	uint8_t hash[32];
	int rc;

	*out = NULL;
	if (set >= XS_POLICY_SETS)
		return -EINVAL;
	memset(&meta, 0, sizeof(meta));
	if (bpf_map_lookup_elem(m->meta, &set, &meta)) {
		xs_say(err, errlen, "reading xs_meta: %s", strerror(errno));
		return -errno;
	}
	if (!meta.generation) {
		xs_say(err, errlen, "policy set %u holds no policy", set);
		return -ENOENT;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->policy = calloc(1, sizeof(*c->policy));
	if (!c->policy) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = read_tables(m, set, c, err, errlen);
	if (rc)
		goto fail;
	rc = read_origins(m, set, c->policy, err, errlen);
	if (rc)
		goto fail;
	/* seginfo: every named segment and world (the datapath's array has
	 * XS_MAX_SEGMENTS slots, those past the policy's zero) */
	c->nseginfo = c->policy->nsegments + 1;
	c->seginfo = calloc(c->nseginfo, sizeof(*c->seginfo));
	if (!c->seginfo) {
		rc = -ENOMEM;
		goto fail;
	}
	for (__u32 i = 0; i < c->nseginfo; i++) {
		if (bpf_map_lookup_elem(m->seginfo[set], &i, &c->seginfo[i])) {
			rc = -errno;
			xs_say(err, errlen, "reading xs_seginfo: %s", strerror(errno));
			goto fail;
		}
	}
	rc = read_overlays(m, set, c);
	if (rc) {
		xs_say(err, errlen, "reading xs_overlays: %s", strerror(-rc));
		goto fail;
	}
	xs_compiled_sort(c);
	rc = fill_segments(c);
	if (!rc)
		rc = fill_bindings(c);
	if (rc) {
		xs_say(err, errlen, "out of memory");
		goto fail;
	}
	/* byte for byte what apply pushed: the tables hash to the metadata's hash */
	rc = xs_compiled_rehash(c, hash);
	if (rc) {
		xs_say(err, errlen, "out of memory");
		goto fail;
	}
	if (memcmp(hash, meta.hash, sizeof(hash))) {
		rc = -EBADMSG;
		xs_say(err, errlen,
		       "the tables of policy set %u do not hash to its recorded SHA-256 (written "
		       "by "
		       "another xdpseg version?): apply the policy again",
		       set);
		goto fail;
	}
	memcpy(c->hash, meta.hash, sizeof(c->hash));
	*out = c;
	return 0;
fail:
	xs_compiled_free(c);
	return rc;
}

int xs_readback(const struct xs_maps *m, struct xs_compiled **out, struct xs_readback *info,
		char *err, size_t errlen)
{
	struct xs_readback rb;
	int rc = -EAGAIN;

	*out = NULL;
	/* an apply writes the inactive set, then flips: a read during which the
	 * generation stayed is of one whole policy */
	for (int tries = 0; tries < 8 && rc == -EAGAIN; tries++) {
		struct xs_config again;
		bool back2;

		memset(&rb, 0, sizeof(rb));
		rc = xs_config_read(m, &rb.cfg);
		if (rc) {
			xs_say(err, errlen, "reading xs_config: %s", strerror(-rc));
			return rc;
		}
		rb.generation = xs_generation_in_force(&rb.cfg, &rb.rolled_back);
		if (!rb.generation) {
			xs_say(err, errlen, "no policy is applied");
			return -ENOENT;
		}
		rb.set = rb.generation & 1;
		rc = xs_readback_set(m, rb.set, out, err, errlen);
		if (!rc) {
			rc = xs_meta_get(m, rb.set, &rb.meta);
			if (rc)
				xs_say(err, errlen, "reading xs_meta: %s", strerror(-rc));
		}
		if (xs_config_read(m, &again) == 0 &&
		    (again.generation != rb.cfg.generation ||
		     xs_generation_in_force(&again, &back2) != rb.generation)) {
			xs_compiled_free(*out);
			*out = NULL;
			rc = -EAGAIN;
		}
	}
	if (rc == -EAGAIN)
		xs_say(err, errlen, "the policy changed again and again while it was read");
	if (!rc && info)
		*info = rb;
	return rc;
}

/* ---- Conntrack ---------------------------------------------------------------- */

struct ct_collect {
	uint64_t now;
	struct xs_ct_entry *v;
	size_t n, cap;
};

static int ct_collect_one(const struct xs_flow_entry *fe, void *arg)
{
	const struct xs_flow_hdr *h = &fe->h;
	struct ct_collect *c = arg;
	struct xs_ct_entry *e;

	if (h->state == XS_CT_DENIED || h->expires_ns < c->now)
		return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 256;
		struct xs_ct_entry *nv = realloc(c->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->v = nv;
		c->cap = ncap;
	}
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	e->k = fe->key;
	e->start_ns = fe->start_ns;
	memcpy(e->packets, fe->packets, sizeof(e->packets));
	memcpy(e->bytes, fe->bytes, sizeof(e->bytes));
	e->v.expires_ns = h->expires_ns;
	e->v.rule_id = h->rule_id;
	e->v.generation = h->generation;
	e->v.src_seg = h->src_seg;
	e->v.dst_seg = h->dst_seg;
	e->v.state = h->state;
	e->v.flags = h->flags;
	e->v.reason = h->reason;
	e->v.icmp_type = h->icmp_type;
	e->v.deadline = h->deadline;
	return 0;
}

int xs_ct_read(const struct xs_maps *m, uint64_t now, struct xs_ct_entry **out, size_t *n)
{
	struct ct_collect c = { .now = now };
	int rc;

	*out = NULL;
	*n = 0;
	rc = xs_flows_walk(m, ct_collect_one, &c);
	if (rc) {
		free(c.v);
		return rc;
	}
	*out = c.v ? c.v : calloc(1, sizeof(*c.v));
	if (!*out)
		return -ENOMEM;
	*n = c.n;
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The atomic policy push (two policy sets, one generation): the compiled tables, the fast
 * path's derived ones, origins, overlays; the port bindings of the set in force. */
#include "push.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "counters.h"

/* Delete every key of a hash or LPM map. key_size bytes per key. */
static int map_clear(int fd, size_t key_size)
{
	char *keys = NULL, *key, *prev = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	key = malloc(key_size);
	if (!key)
		return -ENOMEM;
	/* Collect first: deleting while iterating can restart the walk. */
	while (bpf_map_get_next_key(fd, prev, key) == 0) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			char *nk = realloc(keys, ncap * key_size);

			if (!nk) {
				err = -ENOMEM;
				goto out;
			}
			keys = nk;
			cap = ncap;
		}
		memcpy(keys + n * key_size, key, key_size);
		prev = keys + n * key_size;
		n++;
	}
	if (errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (bpf_map_delete_elem(fd, keys + i * key_size) && errno != ENOENT) {
			err = -errno;
			goto out;
		}
	}
out:
	free(keys);
	free(key);
	return err;
}

/* Delete the origins of one set. */
static int origins_clear(int fd, __u32 set)
{
	struct xs_origin_key *keys = NULL, key, *prev = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	while (bpf_map_get_next_key(fd, prev, &key) == 0) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct xs_origin_key *nk = realloc(keys, ncap * sizeof(*keys));

			if (!nk) {
				err = -ENOMEM;
				goto out;
			}
			keys = nk;
			cap = ncap;
		}
		keys[n] = key;
		prev = &keys[n];
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		if (keys[i].set != set)
			continue;
		if (bpf_map_delete_elem(fd, &keys[i]) && errno != ENOENT) {
			err = -errno;
			goto out;
		}
	}
out:
	free(keys);
	return err;
}

/*
 * The overlays of set `set` (xs_overlays): every record of that set not in
 * `c` deleted (a released quarantine, a revoked or expired grant), then
 * c's written.
 */
static int push_overlays(const struct xs_maps *m, const struct xs_compiled *c, __u32 set)
{
	struct xs_overlay_key *keys = NULL, key, cur;
	size_t n = 0, cap = 0;
	bool first = true;
	int err = 0;

	while (bpf_map_get_next_key(m->overlays, first ? NULL : &cur, &key) == 0) {
		first = false;
		cur = key;
		if (key.set != set)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct xs_overlay_key *nk = realloc(keys, ncap * sizeof(*keys));

			if (!nk) {
				err = -ENOMEM;
				goto out;
			}
			keys = nk;
			cap = ncap;
		}
		keys[n++] = key;
	}
	for (size_t i = 0; i < n; i++) {
		bool keep = false;

		for (size_t k = 0; k < c->noverlays && !keep; k++)
			keep = c->overlays[k].rule_id == keys[i].rule_id;
		if (!keep && bpf_map_delete_elem(m->overlays, &keys[i]) && errno != ENOENT) {
			err = -errno;
			goto out;
		}
	}
	for (size_t i = 0; i < c->noverlays; i++) {
		struct xs_overlay_key k = { .set = set, .rule_id = c->overlays[i].rule_id };

		if (bpf_map_update_elem(m->overlays, &k, &c->overlays[i].rec, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
out:
	free(keys);
	return err;
}

/* Copy src into a fixed field, keeping the tail when it is too long. */
static void copy_tail(char *dst, size_t size, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len < size) {
		memcpy(dst, src ? src : "", len + 1);
		return;
	}
	memcpy(dst, "...", 3);
	memcpy(dst + 3, src + len - (size - 4), size - 4);
	dst[size - 1] = '\0';
}

static void copy_head(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static int push_origins(const struct xs_maps *m, const struct xs_policy *p, __u32 set)
{
	struct xs_origin o;
	int err;

	err = origins_clear(m->origins, set);
	if (err)
		return err;
	for (size_t i = 0; i < p->norigins; i++) {
		const struct xs_origin_entry *e = &p->origins[i];
		struct xs_origin_key k = { .set = set, .rule_id = e->rule_id };

		memset(&o, 0, sizeof(o));
		o.line = e->line;
		o.kind = e->kind;
		copy_tail(o.file, sizeof(o.file), e->file);
		/* normalised: the rule's identity across applies (counters.h) */
		if (xs_origin_text(e->kind, e->text, o.text))
			return -ENOMEM;
		if (bpf_map_update_elem(m->origins, &k, &o, BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct xs_segment *s = &p->segments[i];
		struct xs_origin_key k = { .set = set, .rule_id = XS_ORIGIN_SEG_KEY(s->id) };

		memset(&o, 0, sizeof(o));
		o.line = s->loc.line;
		o.kind = XS_ORIGIN_SEGMENT;
		copy_tail(o.file, sizeof(o.file), s->loc.file);
		copy_head(o.text, sizeof(o.text), s->name);
		if (bpf_map_update_elem(m->origins, &k, &o, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int push_seginfo(int fd, const struct xs_compiled *c)
{
	struct xs_seg_info *vals;
	__u32 *keys;
	__u32 count = XS_MAX_SEGMENTS;
	int err = 0;

	if (c->nseginfo > XS_MAX_SEGMENTS)
		return -E2BIG;
	vals = calloc(XS_MAX_SEGMENTS, sizeof(*vals));
	keys = calloc(XS_MAX_SEGMENTS, sizeof(*keys));
	if (!vals || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (__u32 i = 0; i < XS_MAX_SEGMENTS; i++)
		keys[i] = i;
	memcpy(vals, c->seginfo, c->nseginfo * sizeof(*vals));
	/* Every slot is written, so ids unused by this policy read as zero. */
	if (bpf_map_update_batch(fd, keys, vals, &count, NULL)) {
		err = -errno;
		goto out;
	}
out:
	free(vals);
	free(keys);
	return err;
}

/* Every slot of a set's xs_binds: ids unused by this policy read as zero. */
static int push_binds(int fd, const struct xs_compiled *c)
{
	struct xs_bind_info *vals;
	__u32 *keys, count = XS_MAX_BINDS;
	int err = 0;

	if (c->nbinds > XS_MAX_BINDS)
		return -E2BIG;
	vals = calloc(XS_MAX_BINDS, sizeof(*vals));
	keys = calloc(XS_MAX_BINDS, sizeof(*keys));
	if (!vals || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (__u32 i = 0; i < XS_MAX_BINDS; i++)
		keys[i] = i;
	if (c->nbinds)
		memcpy(vals, c->binds, c->nbinds * sizeof(*vals));
	if (bpf_map_update_batch(fd, keys, vals, &count, NULL))
		err = -errno;
out:
	free(vals);
	free(keys);
	return err;
}

/* The bind id of interface `name` under compiled bindings binds[1..n). */
static __u32 bind_match(const struct xs_bind_info *binds, size_t n, const char *name)
{
	for (size_t i = 1; i < n; i++) {
		char pat[XS_BIND_PATTERN_LEN + 1];

		memcpy(pat, binds[i].pattern, XS_BIND_PATTERN_LEN);
		pat[XS_BIND_PATTERN_LEN] = '\0';
		if (binds[i].seg && pat[0] && fnmatch(pat, name, 0) == 0)
			return (__u32)i;
	}
	return 0;
}

/* The bind id of `ifindex` in set `set` (0: not bound): the array or the hash. */
static __u32 ifbind_get(const struct xs_maps *m, __u32 set, __u32 ifindex)
{
	__u32 id = 0;

	if (ifindex < XS_IFBIND_DIRECT)
		bpf_map_lookup_elem(m->ifbind[set], &ifindex, &id);
	else if (bpf_map_lookup_elem(m->ifbindx[set], &ifindex, &id))
		id = 0;
	return id;
}

/* Bind `ifindex` to bind id `id` in set `set` (0: not bound). */
static int ifbind_put(const struct xs_maps *m, __u32 set, __u32 ifindex, __u32 id)
{
	if (ifindex < XS_IFBIND_DIRECT)
		return bpf_map_update_elem(m->ifbind[set], &ifindex, &id, BPF_ANY) ? -errno : 0;
	if (id)
		return bpf_map_update_elem(m->ifbindx[set], &ifindex, &id, BPF_ANY) ? -errno : 0;
	if (bpf_map_delete_elem(m->ifbindx[set], &ifindex) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Zero a whole array of __u32 values (every key below `n`). */
static int array_zero(int fd, __u32 n)
{
	__u32 *keys = calloc(n, sizeof(*keys)), *vals = calloc(n, sizeof(*vals)), count = n;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (__u32 i = 0; i < n; i++)
		keys[i] = i;
	if (bpf_map_update_batch(fd, keys, vals, &count, NULL))
		err = -errno;
out:
	free(keys);
	free(vals);
	return err;
}

/* Set `set`'s interface bindings from scratch for every recorded interface,
 * under bindings binds[0..n). */
static int push_ifbind(const struct xs_maps *m, __u32 set, const struct xs_bind_info *binds,
		       size_t n)
{
	__u32 key, *prev = NULL;
	struct xs_iface e;
	int err;

	err = array_zero(m->ifbind[set], XS_IFBIND_DIRECT);
	if (!err)
		err = map_clear(m->ifbindx[set], sizeof(__u32));
	while (!err && bpf_map_get_next_key(m->ifaces, prev, &key) == 0) {
		__u32 id;

		prev = &key;
		if (bpf_map_lookup_elem(m->ifaces, &key, &e))
			continue;
		e.name[sizeof(e.name) - 1] = '\0';
		id = bind_match(binds, n, e.name);
		if (id)
			err = ifbind_put(m, set, key, id);
	}
	return err;
}

/* ---- The fast path's derived tables (include/xdpseg.h, "Fast path") ---------- */

/* Keys 0..n-1 of an array map := vals[0..n) (its value size each), one batch. */
static int array_put(int fd, const void *vals, __u32 n)
{
	__u32 *keys, count = n;
	int err = 0;

	if (!n)
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++)
		keys[i] = i;
	if (bpf_map_update_batch(fd, keys, vals, &count, NULL))
		err = -errno;
	free(keys);
	return err;
}

/*
 * Insert n records (key at offset 0, ksz bytes; value at voff, vsz bytes;
 * rsz bytes apart) into a hash map, in batches.
 */
static int hash_put(int fd, const void *recs, size_t rsz, size_t n, size_t ksz, size_t voff,
		    size_t vsz)
{
	enum { BATCH = 8192 };
	char *keys, *vals;
	int err = 0;

	keys = malloc(BATCH * ksz);
	vals = malloc(BATCH * vsz);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t at = 0; at < n;) {
		__u32 count = (__u32)(n - at < BATCH ? n - at : BATCH);

		for (__u32 i = 0; i < count; i++) {
			const char *r = (const char *)recs + (at + i) * rsz;

			memcpy(keys + i * ksz, r, ksz);
			memcpy(vals + i * vsz, r + voff, vsz);
		}
		if (bpf_map_update_batch(fd, keys, vals, &count, NULL)) {
			err = -errno;
			goto out;
		}
		at += count;
	}
out:
	free(keys);
	free(vals);
	return err;
}

/*
 * Delete every entry of a hash map (ksz-byte keys, vsz-byte values) in
 * batches (LPM tries have no batch operations: map_clear()). Its cost is
 * mostly the walk over the map's buckets, however few entries it holds.
 */
static int hash_clear(int fd, size_t ksz, size_t vsz)
{
	enum { BATCH = 4096 };
	char *keys, *vals, token[8];
	bool first = true;
	int err = 0;

	keys = malloc(BATCH * ksz);
	vals = malloc(BATCH * vsz);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = BATCH;

		/* the token of a hash map is a bucket number (a __u32) */
		if (bpf_map_lookup_and_delete_batch(fd, first ? NULL : token, token, keys, vals,
						    &count, NULL)) {
			if (errno != ENOENT)
				err = -errno;
			break;
		}
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

/*
 * The derived tables of set `set` from `c`: the DIR chunks in use (those
 * past them are never reached), the IPv6 prefixes by length and the
 * pair-wide entries (each hash cleared first), the pair rows of the
 * policy's source segments (no other row is read), and last xs_fast[set],
 * which tells the datapath they are there (XS_FASTF_READY).
 */
static int push_fast(const struct xs_maps *m, const struct xs_compiled *c, __u32 set)
{
	struct xs_fast *f = NULL;
	int err;

	err = xs_fast_build(c, &f);
	if (err)
		return err;
	err = array_put(m->dir4[set], f->dir4, (__u32)f->ndir4);
	if (!err)
		err = hash_clear(m->seg6h[set], sizeof(struct xs_lpm6_key),
				 sizeof(struct xs_seg_val));
	if (!err)
		err = hash_put(m->seg6h[set], f->seg6h, sizeof(*f->seg6h), f->nseg6h,
			       sizeof(struct xs_lpm6_key), offsetof(struct xs_lpm6_entry, val),
			       sizeof(struct xs_seg_val));
	if (!err && f->seg6a) /* every group: those the last policy used too */
		err = array_put(m->seg6a[set], f->seg6a, XS_SEG6A_GROUPS);
	if (!err && f->paira) /* every group: those the last policy used too */
		err = array_put(m->paira[set], f->paira, XS_PAIRA_GROUPS);
	if (!err)
		err = array_put(m->portmap[set], f->portmap, XS_PORTMAPS);
	if (!err)
		err = array_put(m->pairc[set], f->pairc, (__u32)f->npairc);
	if (!err)
		err = hash_clear(m->pairs[set], sizeof(__u32), sizeof(struct xs_rule_val));
	if (!err)
		err = hash_put(m->pairs[set], f->pairs, sizeof(*f->pairs), f->npairs, sizeof(__u32),
			       offsetof(struct xs_pair_entry, val), sizeof(struct xs_rule_val));
	if (!err && bpf_map_update_elem(m->fast, &set, &f->info, BPF_ANY))
		err = -errno;
	xs_fast_free(f);
	return err;
}

static int push_meta(const struct xs_maps *m, const struct xs_compiled *c, const char *file,
		     __u32 set, __u32 generation)
{
	struct xs_policy_meta meta;

	memset(&meta, 0, sizeof(meta));
	meta.applied_at = (__u64)time(NULL);
	meta.generation = generation;
	meta.nrules = (__u32)c->policy->norigins;
	memcpy(meta.hash, c->hash, sizeof(meta.hash));
	copy_tail(meta.file, sizeof(meta.file), file);
	if (bpf_map_update_elem(m->meta, &set, &meta, BPF_ANY))
		return -errno;
	return 0;
}

int xs_policy_push(const struct xs_maps *m, const struct xs_compiled *c, const char *file,
		   struct xs_push_result *res)
{
	struct xs_config cfg;
	__u32 zero = 0, next, set;
	int err;

	err = xs_config_read(m, &cfg);
	if (err)
		return err;
	next = cfg.generation + 1;
	if (next == 0) /* 0 means "no policy": skip it, keeping the parity */
		next = 2;
	set = next & 1;

	/* No program may still be using the set we are about to rewrite. */
	err = xs_maps_barrier(m);
	if (err)
		return err;

	err = map_clear(m->seg4[set], sizeof(struct xs_lpm4_key));
	if (!err)
		err = map_clear(m->seg6[set], sizeof(struct xs_lpm6_key));
	if (!err)
		err = map_clear(m->rules[set], sizeof(struct xs_rule_key));
	if (!err)
		err = map_clear(m->rexact[set], sizeof(struct xs_rule_key));
	if (!err)
		err = map_clear(m->bind4[set], sizeof(struct xs_bind4_key));
	if (!err)
		err = map_clear(m->bind6[set], sizeof(struct xs_bind6_key));
	if (err)
		return err;
	for (size_t i = 0; i < c->nv4; i++) {
		if (bpf_map_update_elem(m->seg4[set], &c->v4[i].key, &c->v4[i].val, BPF_NOEXIST))
			return -errno;
	}
	for (size_t i = 0; i < c->nv6; i++) {
		if (bpf_map_update_elem(m->seg6[set], &c->v6[i].key, &c->v6[i].val, BPF_NOEXIST))
			return -errno;
	}
	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_key *k = &c->rules[i].key;
		int fd = k->prefixlen == XS_RULE_PLEN_PORT(16) ? m->rexact[set] : m->rules[set];

		if (bpf_map_update_elem(fd, k, &c->rules[i].val, BPF_NOEXIST))
			return -errno;
	}
	for (size_t i = 0; i < c->nbind4; i++) {
		if (bpf_map_update_elem(m->bind4[set], &c->bind4[i].key, &c->bind4[i].val,
					BPF_NOEXIST))
			return -errno;
	}
	for (size_t i = 0; i < c->nbind6; i++) {
		if (bpf_map_update_elem(m->bind6[set], &c->bind6[i].key, &c->bind6[i].val,
					BPF_NOEXIST))
			return -errno;
	}
	err = push_seginfo(m->seginfo[set], c);
	if (!err)
		err = push_binds(m->binds[set], c);
	if (!err)
		err = push_ifbind(m, set, c->binds, c->nbinds);
	if (!err && bpf_map_update_elem(m->sets, &set, &c->setinfo, BPF_ANY))
		err = -errno;
	if (err)
		return err;
	err = push_origins(m, c->policy, set);
	if (err)
		return err;
	err = push_overlays(m, c, set);
	if (err)
		return err;
	err = push_fast(m, c, set);
	if (err)
		return err;
	err = push_meta(m, c, file, set, next);
	if (err)
		return err;
	/* Last before the flip (the fewer packets the old set counts after
	 * the copy, the fewer are not carried): the rules the policy in force
	 * has too keep their counts, the others start at 0. */
	err = xs_rstats_carry(m, cfg.generation ? (int)(cfg.generation & 1) : -1, set,
			      (__u32)c->policy->norigins + 1, XS_CARRY_FRESH, NULL);
	if (err)
		return err;

	/* The flip: one aligned 32-bit field, read once per packet. */
	cfg.generation = next;
	if (bpf_map_update_elem(m->config, &zero, &cfg, BPF_EXIST))
		return -errno;

	/* When we return, no packet is decided by the old policy any more. */
	err = xs_maps_barrier(m);
	if (err)
		return err;
	if (res) {
		res->generation = next;
		res->set = set;
	}
	return 0;
}

int xs_iface_bind(const struct xs_maps *m, uint32_t ifindex, const char *name)
{
	struct xs_bind_info *binds = NULL;
	struct xs_set_info si;
	struct xs_config cfg;
	__u32 set, key = ifindex, id = 0, n;
	int err;

	err = xs_config_read(m, &cfg);
	if (err || !cfg.generation)
		return err;
	set = cfg.generation & 1;
	if (bpf_map_lookup_elem(m->sets, &set, &si))
		return -errno;
	n = si.nbinds + 1;
	if (si.nbinds && n <= XS_MAX_BINDS) {
		binds = calloc(n, sizeof(*binds));
		if (!binds)
			return -ENOMEM;
		for (__u32 i = 1; i < n; i++) {
			if (bpf_map_lookup_elem(m->binds[set], &i, &binds[i])) {
				err = -errno;
				goto out;
			}
		}
		id = bind_match(binds, n, name);
	}
	err = ifbind_put(m, set, key, id);
out:
	free(binds);
	return err ? err : (int)id;
}

void xs_iface_unbind(const struct xs_maps *m, uint32_t ifindex)
{
	__u32 key = ifindex;

	for (int set = 0; set < XS_POLICY_SETS; set++)
		ifbind_put(m, (__u32)set, key, 0);
}

uint32_t xs_iface_binding(const struct xs_maps *m, uint32_t ifindex, struct xs_bind_info *bi)
{
	struct xs_config cfg;
	__u32 set, key = ifindex, id;

	if (xs_config_read(m, &cfg) || !cfg.generation)
		return 0;
	set = cfg.generation & 1;
	id = ifbind_get(m, set, key);
	if (!id)
		return 0;
	if (bpf_map_lookup_elem(m->binds[set], &id, bi))
		return 0;
	return id;
}

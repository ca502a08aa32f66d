// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The derived tables of a set checked against its policy (see fastcheck.h). */
#include "fastcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

/* What every difference ends with: the fix. */
#define AGAIN "; the datapath decides new flows by it: apply the policy again"

/* ---- Reading ------------------------------------------------------------------- */

/* Keys 0..n-1 of an array map into vals (vsz bytes each), in batches. */
static int array_read(int fd, void *vals, size_t vsz, __u32 n)
{
	__u32 *keys, token = 0, got = 0;
	bool first = true;
	int err = 0;

	keys = calloc((size_t)n + 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	while (got < n) {
		__u32 count = n - got;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys + got,
					      (char *)vals + (size_t)got * vsz, &count, NULL);

		if (rc && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		got += count;
		first = false;
		if (rc)
			break; /* the end of the array */
	}
	for (__u32 i = 0; i < n && !err; i++)
		if (i >= got || keys[i] != i)
			err = -EIO;
out:
	free(keys);
	return err;
}

/* ---- Naming what differs ---------------------------------------------------------- */

/* A segment as messages name it: "5 (web)" (a name read back from the maps
 * is untrusted: only printable ASCII of it). */
static const char *seg_text(const struct xs_compiled *c, uint16_t seg, char *buf, size_t size)
{
	const char *name = xs_compiled_segment_name(c, seg);
	size_t k;

	k = (size_t)snprintf(buf, size, "%u (", seg);
	if (!name)
		name = "no segment of the policy";
	for (; *name && k + 2 < size; name++)
		buf[k++] = *name > 0x20 && *name < 0x7f ? *name : '?';
	buf[k++] = ')';
	buf[k] = '\0';
	return buf;
}

static const char *class_name(unsigned int cls)
{
	static const char *const names[] = { "none (no rule entry)", "wide (one pair-wide entry)",
					     "exact (single ports)", "trie (ranges)" };

	return names[cls & 3];
}

/* ---- The tables ---------------------------------------------------------------------- */

static void len6_text(const struct xs_fast_info *fi, char *buf, size_t size)
{
	size_t k = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < fi->nlen6 && i < XS_SEG6_LENS && k + 6 < size; i++)
		k += (size_t)snprintf(buf + k, size - k, " /%u", fi->len6[i]);
}

static int check_info(const struct xs_fast_info *got, const struct xs_fast_info *want, uint32_t set,
		      char *err, size_t errlen)
{
	char g[80], w[80];

	if (!memcmp(got, want, sizeof(*got)))
		return 0;
	len6_text(got, g, sizeof(g));
	len6_text(want, w, sizeof(w));
	xs_say(err, errlen,
	       "xs_fast[%u] holds flags 0x%x and %u IPv6 lengths%s; the policy in force gives "
	       "flags "
	       "0x%x and %u lengths%s" AGAIN,
	       set, got->flags, got->nlen6, g, want->flags, want->nlen6, w);
	return -EBADMSG;
}

static void dir_value(const struct xs_compiled *c, uint16_t e, char *buf, size_t size)
{
	char s[96];

	if (e & XS_DIR4_NEXT)
		snprintf(buf, size, "a pointer to chunk %u", e & (XS_DIR4_NEXT - 1));
	else
		snprintf(buf, size, "segment %s", seg_text(c, e, s, sizeof(s)));
}

static int check_dir4(const struct xs_maps *m, uint32_t set, const struct xs_compiled *c,
		      const struct xs_fast *f, char *err, size_t errlen)
{
	struct xs_dir4_chunk *got;
	int rc;

	if (!f->ndir4)
		return 0; /* XS_FASTF_TRIE4: the datapath reads no chunk */
	got = calloc(f->ndir4, sizeof(*got));
	if (!got)
		return -ENOMEM;
	rc = array_read(m->dir4[set], got, sizeof(*got), (__u32)f->ndir4);
	if (rc) {
		xs_say(err, errlen, "reading xs_dir4_%u: %s", set, strerror(-rc));
		goto out;
	}
	/* the policy's chunks are those reachable from the first level: equal
	 * entries point to equal chunk numbers */
	for (size_t k = 0; k < f->ndir4; k++) {
		char where[32] = "?", g[128], w[128];
		uint8_t a[4];
		unsigned int len = 0, i = 0;

		if (!memcmp(&got[k], &f->dir4[k], sizeof(got[k])))
			continue;
		while (got[k].e[i] == f->dir4[k].e[i])
			i++;
		if (!xs_fast_dir4_where(f, k, i, a, &len))
			snprintf(where, sizeof(where), "%u.%u.%u.%u/%u", a[0], a[1], a[2], a[3],
				 len);
		dir_value(c, got[k].e[i], g, sizeof(g));
		dir_value(c, f->dir4[k].e[i], w, sizeof(w));
		xs_say(err, errlen,
		       "xs_dir4_%u chunk %zu entry %u (the addresses %s) holds %s; the policy in "
		       "force "
		       "gives %s" AGAIN,
		       set, k, i, where, g, w);
		rc = -EBADMSG;
		goto out;
	}
out:
	free(got);
	return rc;
}

static int key6_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct xs_lpm6_key));
}

static void prefix6_text(const struct xs_lpm6_key *k, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, k->addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, k->prefixlen);
}

static int check_seg6h(const struct xs_maps *m, uint32_t set, const struct xs_compiled *c,
		       const struct xs_fast *f, char *err, size_t errlen)
{
	struct xs_lpm6_entry *got = NULL, *want = NULL;
	size_t ngot = 0, i = 0, j = 0;
	char p[80], s1[96], s2[96];
	int rc;

	rc = xs_map_records(m->seg6h[set], sizeof(struct xs_lpm6_key), sizeof(struct xs_seg_val),
			    XS_MAX_PREFIXES6, (void **)&got, &ngot, sizeof(*got),
			    offsetof(struct xs_lpm6_entry, val));
	if (rc) {
		xs_say(err, errlen, "reading xs_seg6h_%u: %s", set, strerror(-rc));
		return rc;
	}
	want = calloc(f->nseg6h + 1, sizeof(*want));
	if (!want) {
		rc = -ENOMEM;
		goto out;
	}
	if (f->nseg6h)
		memcpy(want, f->seg6h, f->nseg6h * sizeof(*want));
	qsort(got, ngot, sizeof(*got), key6_cmp);
	qsort(want, f->nseg6h, sizeof(*want), key6_cmp);
	/* both ways: one walk over the two sorted lists */
	while (i < ngot || j < f->nseg6h) {
		int d = i == ngot ? 1 : j == f->nseg6h ? -1 : key6_cmp(&got[i].key, &want[j].key);

		if (d < 0) {
			prefix6_text(&got[i].key, p, sizeof(p));
			xs_say(err, errlen,
			       "xs_seg6h_%u holds %s (segment %s), a prefix the policy in force "
			       "does "
			       "not have" AGAIN,
			       set, p, seg_text(c, got[i].val.seg, s1, sizeof(s1)));
			rc = -EBADMSG;
			goto out;
		}
		if (d > 0) {
			prefix6_text(&want[j].key, p, sizeof(p));
			xs_say(err, errlen,
			       "xs_seg6h_%u lacks %s (segment %s) of the policy in force" AGAIN,
			       set, p, seg_text(c, want[j].val.seg, s2, sizeof(s2)));
			rc = -EBADMSG;
			goto out;
		}
		if (memcmp(&got[i].val, &want[j].val, sizeof(got[i].val))) {
			prefix6_text(&got[i].key, p, sizeof(p));
			xs_say(err, errlen,
			       "xs_seg6h_%u holds %s as segment %s; the policy in force gives "
			       "segment "
			       "%s" AGAIN,
			       set, p, seg_text(c, got[i].val.seg, s1, sizeof(s1)),
			       seg_text(c, want[j].val.seg, s2, sizeof(s2)));
			rc = -EBADMSG;
			goto out;
		}
		i++;
		j++;
	}
out:
	free(got);
	free(want);
	return rc;
}

/* xs_seg6a: every group as rebuilt (all of them: an empty group must be empty). */
static int check_seg6a(const struct xs_maps *m, uint32_t set, const struct xs_compiled *c,
		       const struct xs_fast *f, char *err, size_t errlen)
{
	struct xs_seg6a_group *got;
	char s1[96], s2[96], a[INET6_ADDRSTRLEN];
	int rc;

	if (!f->seg6a)
		return 0; /* not in use (the flags said so, checked already) */
	got = calloc(XS_SEG6A_GROUPS, sizeof(*got));
	if (!got)
		return -ENOMEM;
	rc = array_read(m->seg6a[set], got, sizeof(*got), XS_SEG6A_GROUPS);
	if (rc) {
		xs_say(err, errlen, "reading xs_seg6a_%u: %s", set, strerror(-rc));
		goto out;
	}
	for (uint32_t g = 0; g < XS_SEG6A_GROUPS; g++) {
		for (int w = 0; w < XS_SEG6A_WAYS; w++) {
			const struct xs_seg6a_slot *x = &got[g].s[w], *y = &f->seg6a[g].s[w];
			uint8_t b[16] = { 0 };

			if (!memcmp(x, y, sizeof(*x)))
				continue;
			memcpy(b, (x->flags & XS_SEG6AF_USED) ? &x->hi : &y->hi, 8);
			inet_ntop(AF_INET6, b, a, sizeof(a));
			xs_say(err, errlen,
			       "xs_seg6a_%u group %u slot %d holds %s/%u as segment %s (flags "
			       "0x%x); "
			       "the policy in force gives %s/%u, segment %s (flags 0x%x)" AGAIN,
			       set, g, w, a, x->plen, seg_text(c, x->seg, s1, sizeof(s1)), x->flags,
			       a, y->plen, seg_text(c, y->seg, s2, sizeof(s2)), y->flags);
			rc = -EBADMSG;
			goto out;
		}
	}
out:
	free(got);
	return rc;
}

/* xs_paira: every group as rebuilt. */
static int check_paira(const struct xs_maps *m, uint32_t set, const struct xs_compiled *c,
		       const struct xs_fast *f, char *err, size_t errlen)
{
	struct xs_paira_group *got;
	char s1[96], s2[96];
	int rc;

	if (!f->paira)
		return 0;
	got = calloc(XS_PAIRA_GROUPS, sizeof(*got));
	if (!got)
		return -ENOMEM;
	rc = array_read(m->paira[set], got, sizeof(*got), XS_PAIRA_GROUPS);
	if (rc) {
		xs_say(err, errlen, "reading xs_paira_%u: %s", set, strerror(-rc));
		goto out;
	}
	for (uint32_t g = 0; g < XS_PAIRA_GROUPS; g++) {
		const struct xs_paira_group *x = &got[g], *y = &f->paira[g];
		uint32_t pair;

		if (!memcmp(x, y, sizeof(*x)))
			continue;
		pair = y->used ? y->s[0].pair : x->s[0].pair;
		for (int w = 0; w < XS_PAIRA_WAYS; w++) {
			if (((x->used ^ y->used) & (1U << w)) ||
			    memcmp(&x->s[w], &y->s[w], sizeof(x->s[w]))) {
				pair = (y->used & (1U << w)) ? y->s[w].pair : x->s[w].pair;
				break;
			}
		}
		xs_say(err, errlen,
		       "xs_paira_%u group %u differs from the policy in force at the pair %s -> %s "
		       "(its pair-wide rule entry)" AGAIN,
		       set, g, seg_text(c, (uint16_t)(pair >> 16), s1, sizeof(s1)),
		       seg_text(c, (uint16_t)pair, s2, sizeof(s2)));
		rc = -EBADMSG;
		goto out;
	}
out:
	free(got);
	return rc;
}

/* xs_portmap: both protocols' maps as rebuilt. */
static int check_portmap(const struct xs_maps *m, uint32_t set, const struct xs_fast *f, char *err,
			 size_t errlen)
{
	static const char *const names[XS_PORTMAPS] = { "tcp", "udp" };
	struct xs_port_map got[XS_PORTMAPS];
	int rc;

	rc = array_read(m->portmap[set], got, sizeof(got[0]), XS_PORTMAPS);
	if (rc) {
		xs_say(err, errlen, "reading xs_portmap_%u: %s", set, strerror(-rc));
		return rc;
	}
	for (int i = 0; i < XS_PORTMAPS; i++) {
		for (unsigned int p = 0; p < 65536; p++) {
			unsigned int a = (got[i].w[p / 64] >> (p % 64)) & 1;
			unsigned int b = (f->portmap[i].w[p / 64] >> (p % 64)) & 1;

			if (a == b)
				continue;
			xs_say(err, errlen,
			       "xs_portmap_%u marks %s/%u as the port of %s; the policy in force "
			       "%s" AGAIN,
			       set, names[i], p, a ? "a single-port rule" : "no single-port rule",
			       b ? "has one" : "has none");
			return -EBADMSG;
		}
	}
	return 0;
}

static int check_pairc(const struct xs_maps *m, uint32_t set, const struct xs_compiled *c,
		       const struct xs_fast *f, char *err, size_t errlen)
{
	struct xs_pair_row *got;
	char s1[96], s2[96];
	int rc;

	got = calloc(f->npairc, sizeof(*got));
	if (!got)
		return -ENOMEM;
	rc = array_read(m->pairc[set], got, sizeof(*got), (__u32)f->npairc);
	if (rc) {
		xs_say(err, errlen, "reading xs_pairc_%u: %s", set, strerror(-rc));
		goto out;
	}
	for (uint16_t s = 0; s < f->npairc; s++) {
		uint16_t d = 0;

		if (!memcmp(&got[s], &f->pairc[s], sizeof(got[s])))
			continue;
		while (xs_pair_class_of(&got[s], d) == xs_pair_class_of(&f->pairc[s], d))
			d++;
		xs_say(err, errlen,
		       "xs_pairc_%u row %u: the pair %s -> %s is of class %s; the policy in force "
		       "makes it %s" AGAIN,
		       set, s, seg_text(c, s, s1, sizeof(s1)), seg_text(c, d, s2, sizeof(s2)),
		       class_name(xs_pair_class_of(&got[s], d)),
		       class_name(xs_pair_class_of(&f->pairc[s], d)));
		rc = -EBADMSG;
		goto out;
	}
out:
	free(got);
	return rc;
}

static int pair_cmp(const void *x, const void *y)
{
	__u32 a = ((const struct xs_pair_entry *)x)->key,
	      b = ((const struct xs_pair_entry *)y)->key;

	return a < b ? -1 : a > b;
}

static void rule_text(const struct xs_rule_val *v, char *buf, size_t size)
{
	snprintf(buf, size, "rule %u (%s, flags 0x%x)", v->rule_id,
		 v->action == XS_ACT_ALLOW  ? "allow"
		 : v->action == XS_ACT_DENY ? "deny"
					    : "no action",
		 v->flags);
}

static int check_pairs(const struct xs_maps *m, uint32_t set, const struct xs_compiled *c,
		       const struct xs_fast *f, char *err, size_t errlen)
{
	struct xs_pair_entry *got = NULL;
	size_t ngot = 0, i = 0, j = 0;
	char s1[96], s2[96], r1[64], r2[64];
	int rc;

	rc = xs_map_records(m->pairs[set], sizeof(__u32), sizeof(struct xs_rule_val),
			    XS_MAX_PAIR_ENTRIES, (void **)&got, &ngot, sizeof(*got),
			    offsetof(struct xs_pair_entry, val));
	if (rc) {
		xs_say(err, errlen, "reading xs_pairs_%u: %s", set, strerror(-rc));
		return rc;
	}
	qsort(got, ngot, sizeof(*got), pair_cmp); /* f->pairs is by key */
	while (i < ngot || j < f->npairs) {
		int d = i == ngot ? 1 : j == f->npairs ? -1 : pair_cmp(&got[i], &f->pairs[j]);
		const struct xs_pair_entry *e = d <= 0 ? &got[i] : &f->pairs[j];
		uint16_t src = (uint16_t)(e->key >> 16), dst = (uint16_t)e->key;

		seg_text(c, src, s1, sizeof(s1));
		seg_text(c, dst, s2, sizeof(s2));
		if (d < 0) {
			rule_text(&got[i].val, r1, sizeof(r1));
			xs_say(err, errlen,
			       "xs_pairs_%u holds %s for the pair %s -> %s, which has no pair-wide "
			       "entry in the policy in force" AGAIN,
			       set, r1, s1, s2);
			rc = -EBADMSG;
			break;
		}
		if (d > 0) {
			rule_text(&f->pairs[j].val, r2, sizeof(r2));
			xs_say(err, errlen,
			       "xs_pairs_%u lacks the pair-wide entry of %s -> %s, %s" AGAIN, set,
			       s1, s2, r2);
			rc = -EBADMSG;
			break;
		}
		if (memcmp(&got[i].val, &f->pairs[j].val, sizeof(got[i].val))) {
			rule_text(&got[i].val, r1, sizeof(r1));
			rule_text(&f->pairs[j].val, r2, sizeof(r2));
			xs_say(err, errlen,
			       "xs_pairs_%u holds %s for the pair %s -> %s; the policy in force "
			       "gives "
			       "%s" AGAIN,
			       set, r1, s1, s2, r2);
			rc = -EBADMSG;
			break;
		}
		i++;
		j++;
	}
	free(got);
	return rc;
}

int xs_fast_check(const struct xs_maps *m, uint32_t set, const struct xs_compiled *c, char *err,
		  size_t errlen)
{
	struct xs_fast_info info;
	struct xs_fast *f = NULL;
	int rc;

	if (set >= XS_POLICY_SETS)
		return -EINVAL;
	if (bpf_map_lookup_elem(m->fast, &set, &info)) {
		rc = -errno;
		xs_say(err, errlen, "reading xs_fast: %s", strerror(errno));
		return rc;
	}
	if (!(info.flags & XS_FASTF_READY))
		return 0; /* the tries decide: what verify reads back */
	rc = xs_fast_build(c, &f);
	if (rc) {
		xs_say(err, errlen, "deriving the fast path's tables of the policy in force: %s",
		       rc == -EINVAL ? "its tables hold entries no compiler makes" : strerror(-rc));
		return rc == -EINVAL ? -EBADMSG : rc;
	}
	rc = check_info(&info, &f->info, set, err, errlen);
	if (!rc)
		rc = check_dir4(m, set, c, f, err, errlen);
	if (!rc)
		rc = check_seg6h(m, set, c, f, err, errlen);
	if (!rc)
		rc = check_seg6a(m, set, c, f, err, errlen);
	if (!rc)
		rc = check_paira(m, set, c, f, err, errlen);
	if (!rc)
		rc = check_portmap(m, set, f, err, errlen);
	if (!rc)
		rc = check_pairc(m, set, c, f, err, errlen);
	if (!rc)
		rc = check_pairs(m, set, c, f, err, errlen);
	xs_fast_free(f);
	return rc;
}

int xs_readback_checked(const struct xs_maps *m, struct xs_compiled **out, struct xs_readback *info,
			char *err, size_t errlen)
{
	for (int tries = 0; tries < 8; tries++) {
		struct xs_readback rb;
		struct xs_config again;
		int rc;

		rc = xs_readback(m, out, &rb, err, errlen);
		if (rc)
			return rc;
		rc = xs_fast_check(m, rb.set, *out, err, errlen);
		/* the set checked is still the one in force: one generation */
		if (xs_config_read(m, &again) == 0 && again.generation == rb.cfg.generation &&
		    xs_generation_in_force(&again, NULL) == rb.generation) {
			if (rc) {
				xs_compiled_free(*out);
				*out = NULL;
			} else if (info) {
				*info = rb;
			}
			return rc;
		}
		xs_compiled_free(*out);
		*out = NULL;
	}
	xs_say(err, errlen, "the policy changed again and again while it was read");
	return -EAGAIN;
}

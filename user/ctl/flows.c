// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The flow tables from userspace: scans, statistics, one entry, its counts. */
#include "flows.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdpseg_flow.h"

/* One table's geometry. */
struct flow_table {
	int fd;
	__u32 buckets;
	size_t bsize; /* bytes per bucket */
	size_t esize; /* bytes per entry */
	size_t aoff;  /* offset of the bucket's accounting */
	size_t alen;  /* bytes per address */
	__u8 family;
};

static void tables(const struct xs_maps *m, struct flow_table t[2])
{
	t[0] = (struct flow_table){ .fd = m->flow4,
				    .buckets = XS_FLOW4_BUCKETS,
				    .bsize = sizeof(struct xs_flow4_bucket),
				    .esize = sizeof(struct xs_flow4),
				    .aoff = offsetof(struct xs_flow4_bucket, a),
				    .alen = 4,
				    .family = 4 };
	t[1] = (struct flow_table){ .fd = m->flow6,
				    .buckets = XS_FLOW6_BUCKETS,
				    .bsize = sizeof(struct xs_flow6_bucket),
				    .esize = sizeof(struct xs_flow6),
				    .aoff = offsetof(struct xs_flow6_bucket, a),
				    .alen = 16,
				    .family = 6 };
}

static const struct xs_flow_hdr *way(const struct flow_table *t, const char *bucket, int w)
{
	return (const struct xs_flow_hdr *)(bucket + 8 + (size_t)w * t->esize);
}

/* The normalised key of entry `h`. */
static void entry_key(const struct flow_table *t, const struct xs_flow_hdr *h, struct xs_tuple *k)
{
	const __u8 *a = (const __u8 *)(h + 1);

	memset(k, 0, sizeof(*k));
	memcpy(k->addr_a, a, t->alen);
	memcpy(k->addr_b, a + t->alen, t->alen);
	k->port_a = h->port_a;
	k->port_b = h->port_b;
	k->proto = h->proto;
	k->family = t->family;
}

/* Entry `w` of `bucket` with its counts. */
static void entry_fill(const struct flow_table *t, const char *bucket, int w,
		       struct xs_flow_entry *e)
{
	const struct xs_flow_hdr *h = way(t, bucket, w);
	const struct xs_flow_acct *a = (const struct xs_flow_acct *)(bucket + t->aoff);
	__u64 pk[2], by[2];

	memset(e, 0, sizeof(*e));
	entry_key(t, h, &e->key);
	e->h = *h;
	xs_flow_counts(h, a, w, a->acc_i[w], a->acc_r[w], pk, by);
	for (int i = 0; i < 2; i++) {
		e->packets[i] = pk[i];
		e->bytes[i] = by[i];
	}
	e->start_ns = a->start_ns[w];
	e->ifindex = a->ifindex[w];
}

/* Called for entry `w` (in use) of `bucket`; non-zero stops the scan. */
typedef int (*visit_fn)(const struct flow_table *t, const char *bucket, int w, void *arg);

static int scan_table(const struct flow_table *t, visit_fn fn, void *arg)
{
	enum { CHUNK = 2048 };
	char *vals = malloc(CHUNK * t->bsize);
	__u32 *keys = malloc(CHUNK * sizeof(*keys));
	__u32 batch = 0, count;
	bool first = true, done = false;
	int rc = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_F_LOCK);

	if (!vals || !keys) {
		rc = -ENOMEM;
		goto out;
	}
	while (!done) {
		count = CHUNK;
		if (bpf_map_lookup_batch(t->fd, first ? NULL : &batch, &batch, keys, vals, &count,
					 &opts)) {
			if (errno != ENOENT) {
				rc = -errno;
				goto out;
			}
			done = true;
		}
		first = false;
		for (__u32 i = 0; i < count && !rc; i++) {
			for (int w = 0; w < XS_FLOW_WAYS && !rc; w++) {
				if (way(t, vals + i * t->bsize, w)->state)
					rc = fn(t, vals + i * t->bsize, w, arg);
			}
		}
		if (rc)
			goto out;
	}
out:
	free(vals);
	free(keys);
	return rc;
}

static int scan_both(const struct xs_maps *m, visit_fn fn, void *arg)
{
	struct flow_table t[2];
	int rc;

	tables(m, t);
	rc = scan_table(&t[0], fn, arg);
	if (!rc)
		rc = scan_table(&t[1], fn, arg);
	return rc;
}

struct scan_ctx {
	xs_flow_fn fn;
	xs_flow_entry_fn efn;
	void *arg;
};

static int visit_hdr(const struct flow_table *t, const char *bucket, int w, void *arg)
{
	const struct scan_ctx *c = arg;
	const struct xs_flow_hdr *h = way(t, bucket, w);
	struct xs_tuple k;

	entry_key(t, h, &k);
	return c->fn(&k, h, c->arg);
}

static int visit_entry(const struct flow_table *t, const char *bucket, int w, void *arg)
{
	const struct scan_ctx *c = arg;
	struct xs_flow_entry e;

	entry_fill(t, bucket, w, &e);
	return c->efn(&e, c->arg);
}

int xs_flows_scan(const struct xs_maps *m, xs_flow_fn fn, void *arg)
{
	struct scan_ctx c = { .fn = fn, .arg = arg };

	return scan_both(m, visit_hdr, &c);
}

int xs_flows_walk(const struct xs_maps *m, xs_flow_entry_fn fn, void *arg)
{
	struct scan_ctx c = { .efn = fn, .arg = arg };

	return scan_both(m, visit_entry, &c);
}

struct stats_ctx {
	uint64_t now;
	struct xs_flow_stats *st;
};

static int count_one(const struct xs_tuple *k, const struct xs_flow_hdr *h, void *arg)
{
	struct stats_ctx *c = arg;

	if (h->expires_ns < c->now)
		c->st->stale++;
	else if (h->state == XS_CT_DENIED)
		c->st->denials++;
	else if (k->family == 4)
		c->st->live4++;
	else
		c->st->live6++;
	return 0;
}

int xs_flows_stats(const struct xs_maps *m, uint64_t now, struct xs_flow_stats *st)
{
	struct stats_ctx c = { .now = now, .st = st };
	const struct {
		__u32 idx;
		uint64_t *out;
	} misc[] = {
		{ XS_STAT_FLOW_EVICTED, &st->evicted },
		{ XS_STAT_FLOWREC_SENT, &st->records_sent },
		{ XS_STAT_FLOWREC_SUPPRESSED, &st->records_suppressed },
		{ XS_STAT_FLOWREC_LOST, &st->records_lost },
	};
	int ncpus = libbpf_num_possible_cpus();
	struct xs_counter *per;
	int rc;

	memset(st, 0, sizeof(*st));
	st->slots4 = (uint64_t)XS_FLOW4_BUCKETS * XS_FLOW_WAYS;
	st->slots6 = (uint64_t)XS_FLOW6_BUCKETS * XS_FLOW_WAYS;
	rc = xs_flows_scan(m, count_one, &c);
	if (rc)
		return rc;
	if (ncpus < 0)
		return ncpus;
	per = calloc((size_t)ncpus, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (size_t j = 0; j < sizeof(misc) / sizeof(misc[0]); j++) {
		if (bpf_map_lookup_elem(m->stats, &misc[j].idx, per)) {
			rc = -errno;
			goto out;
		}
		for (int i = 0; i < ncpus; i++)
			*misc[j].out += per[i].packets;
	}
out:
	free(per);
	return rc;
}

/* Read the bucket of `k` (under its lock) into `buf`; its table in *t and
 * index in *idx. */
static int read_bucket(const struct xs_maps *m, const struct xs_tuple *k, struct flow_table *t,
		       __u32 *idx, struct xs_flow6_bucket *buf)
{
	struct flow_table all[2];
	struct xs_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->config, &zero, &cfg))
		return -errno;
	tables(m, all);
	*t = all[k->family == 6];
	*idx = xs_flow_bucket(cfg.flow_seed, k);
	if (bpf_map_lookup_elem_flags(t->fd, idx, buf, BPF_F_LOCK))
		return -errno;
	return 0;
}

/* The way of the bucket `buf` holding `k`, or -1. */
static int find_way(const struct flow_table *t, const char *buf, const struct xs_tuple *k)
{
	for (int w = 0; w < XS_FLOW_WAYS; w++) {
		const struct xs_flow_hdr *h = way(t, buf, w);
		struct xs_tuple e;

		if (!h->state)
			continue;
		entry_key(t, h, &e);
		if (!memcmp(e.addr_a, k->addr_a, 16) && !memcmp(e.addr_b, k->addr_b, 16) &&
		    e.port_a == k->port_a && e.port_b == k->port_b && e.proto == k->proto)
			return w;
	}
	return -1;
}

/* Read the bucket of `k` into `buf` and find k's way: the way, or -ENOENT
 * (or another negative errno); its table in *t and bucket index in *idx. */
static int locate(const struct xs_maps *m, const struct xs_tuple *k, struct flow_table *t,
		  __u32 *idx, struct xs_flow6_bucket *buf)
{
	int rc = read_bucket(m, k, t, idx, buf), w;

	if (rc)
		return rc;
	w = find_way(t, (const char *)buf, k);
	return w < 0 ? -ENOENT : w;
}

int xs_flow_find(const struct xs_maps *m, const struct xs_tuple *k, struct xs_flow_hdr *out)
{
	struct xs_flow6_bucket buf; /* the larger of the two */
	struct flow_table t;
	__u32 idx;
	int w = locate(m, k, &t, &idx, &buf);

	if (w < 0)
		return w;
	*out = *way(&t, (const char *)&buf, w);
	return 0;
}

int xs_flow_get(const struct xs_maps *m, const struct xs_tuple *k, struct xs_flow_entry *out)
{
	struct xs_flow6_bucket buf;
	struct flow_table t;
	__u32 idx;
	int w = locate(m, k, &t, &idx, &buf);

	if (w < 0)
		return w;
	entry_fill(&t, (const char *)&buf, w, out);
	return 0;
}

bool xs_flow_timed_out(const struct xs_flow_entry *e, uint64_t now)
{
	return e->h.state && e->h.state != XS_CT_DENIED && !(e->h.flags & XS_CTF_ENDED) &&
	       e->h.expires_ns < now;
}

void xs_flow_record(const struct xs_flow_entry *e, uint8_t cause, uint64_t end_ns,
		    struct xs_flow_end *rec)
{
	bool ib = e->h.flags & XS_CTF_INIT_B; /* the initiator is side b */

	memset(rec, 0, sizeof(*rec));
	rec->kind = XS_REC_FLOW_END;
	rec->cause = cause;
	rec->family = e->key.family;
	rec->ifindex = e->ifindex;
	rec->start_ns = e->start_ns;
	rec->end_ns = end_ns;
	memcpy(rec->packets, e->packets, sizeof(rec->packets));
	memcpy(rec->bytes, e->bytes, sizeof(rec->bytes));
	rec->generation = e->h.generation;
	rec->rule_id = e->h.rule_id;
	rec->src_seg = e->h.src_seg;
	rec->dst_seg = e->h.dst_seg;
	rec->sport = ntohs(ib ? e->key.port_b : e->key.port_a);
	rec->dport = ntohs(ib ? e->key.port_a : e->key.port_b);
	rec->proto = e->h.proto;
	rec->state = e->h.state;
	rec->flags = e->h.flags;
	rec->reason = e->h.reason;
	rec->icmp_type = e->h.icmp_type;
	rec->stamp = e->h.stamp;
	memcpy(rec->saddr, ib ? e->key.addr_b : e->key.addr_a, 16);
	memcpy(rec->daddr, ib ? e->key.addr_a : e->key.addr_b, 16);
}

const char *xs_flow_cause_name(uint8_t cause)
{
	static const char *const names[] = {
		[XS_FLOW_END_NONE] = "none",
		[XS_FLOW_END_FIN] = "fin",
		[XS_FLOW_END_RST] = "rst",
		[XS_FLOW_END_REVOKED] = "revoked",
		[XS_FLOW_END_GRANT_EXPIRED] = "grant-expired",
		[XS_FLOW_END_EVICTED] = "evicted",
		[XS_FLOW_END_TIMEOUT] = "timeout",
		[XS_FLOW_END_REPLACED] = "replaced",
	};

	return cause < sizeof(names) / sizeof(names[0]) ? names[cause] : NULL;
}

int xs_flow_delete(const struct xs_maps *m, const struct xs_tuple *k)
{
	struct xs_flow6_bucket buf;
	struct xs_flow_hdr *h;
	struct flow_table t;
	__u32 idx;
	int w = locate(m, k, &t, &idx, &buf);

	if (w < 0)
		return w;
	h = (struct xs_flow_hdr *)way(&t, (const char *)&buf, w);
	h->state = 0;
	h->expires_ns = 0;
	if (bpf_map_update_elem(t.fd, &idx, &buf, BPF_F_LOCK))
		return -errno;
	return 0;
}

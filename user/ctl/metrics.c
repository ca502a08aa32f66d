// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The Prometheus exposition of the pinned maps, and its atomic textfile. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "confirm.h"
#include "counters.h"
#include "flows.h"
#include "hooks.h"
#include "policy.h"
#include "readback.h"
#include "show.h"
#include "util.h"

const char *xs_apply_outcome_name(enum xs_apply_outcome o)
{
	static const char *const names[XS_APPLY__COUNT] = {
		[XS_APPLY_APPLIED] = "applied",		[XS_APPLY_EXTERNAL] = "external",
		[XS_APPLY_ROLLED_BACK] = "rolled_back", [XS_APPLY_REJECTED] = "rejected",
		[XS_APPLY_FAILED] = "failed",
	};

	return o < XS_APPLY__COUNT ? names[o] : "?";
}

/* ---- Text ------------------------------------------------------------------ */

/* Bytes of the valid UTF-8 sequence at p (0: not one). */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

void xs_metrics_label(FILE *out, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	bool plain = true;

	/* the usual case, printable ASCII with nothing to escape: one write */
	for (const unsigned char *q = p; *q && plain; q++)
		plain = *q >= 0x20 && *q < 0x7f && *q != '\\' && *q != '"';
	if (plain) {
		fputs(value, out);
		return;
	}
	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '"')
			fputs("\\\"", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20 || *p == 0x7f || !n)
			fprintf(out, "\\\\x%02x", *p); /* the text \xNN */
		else
			fwrite(p, 1, n, out);
		p += n ? n : 1;
	}
}

/* Copy [s, e) into buf at *o without its blanks. */
static void put_packed(char *buf, size_t size, size_t *o, const char *s, const char *e)
{
	for (; s < e && *o + 1 < size; s++)
		if (*s != ' ')
			buf[(*o)++] = *s;
	buf[*o] = '\0';
}

/* Word number `n` (0: the first) of a text of blank-separated words. */
static void word(const char *text, int n, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	while (n-- > 0) {
		text = strchr(text, ' ');
		if (!text)
			return;
		text++;
	}
	put_packed(buf, size, &o, text, text + strcspn(text, " "));
}

void xs_metrics_segment_pair(uint32_t kind, const char *text, char *buf, size_t size)
{
	const char *src, *arrow, *dst, *colon, *cut, *end;
	size_t o = 0;

	buf[0] = '\0';
	switch (kind) {
	case XS_ORIGIN_RULE:
		/* allow|deny SRC[, SRC] -> DST[, DST] [: ITEMS] */
		src = strchr(text, ' ');
		arrow = src ? strstr(src, " -> ") : NULL;
		if (!arrow)
			return;
		dst = arrow + 4;
		colon = strstr(dst, " : ");
		cut = strstr(dst, " ... #"); /* a long text's head (xs_origin_text()) */
		end = colon && (!cut || colon < cut) ? colon : cut ? cut : dst + strlen(dst);
		put_packed(buf, size, &o, src + 1, arrow);
		put_packed(buf, size, &o, "->", "->" + 2);
		put_packed(buf, size, &o, dst, end);
		if (end == cut)
			put_packed(buf, size, &o, "...", "..." + 3);
		return;
	case XS_ORIGIN_DEFAULT: /* default SEGMENT ... */
	case XS_ORIGIN_BIND:	/* bind SEGMENT PATTERN ... */
		word(text, 1, buf, size);
		return;
	case XS_ORIGIN_IMPLICIT: /* segment NAME (implicit ...), world (...), link-local (...) */
		word(text, strncmp(text, "segment ", 8) ? 0 : 1, buf, size);
		return;
	default: /* overlays: their targets may be addresses */
		return;
	}
}

static const char *origin_kind_name(uint32_t kind)
{
	switch (kind) {
	case XS_ORIGIN_RULE:
		return "rule";
	case XS_ORIGIN_DEFAULT:
		return "default";
	case XS_ORIGIN_IMPLICIT:
		return "implicit";
	case XS_ORIGIN_BIND:
		return "bind";
	case XS_ORIGIN_QUARANTINE:
		return "quarantine";
	case XS_ORIGIN_FORENSIC:
		return "forensic";
	case XS_ORIGIN_GRANT:
		return "grant";
	case XS_ORIGIN_FAILSAFE:
		return "failsafe";
	default:
		return "other";
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- The per-rule series ------------------------------------------------------ */

struct rule_row {
	char rule[XS_ORIGIN_FILE_LEN + 16]; /* FILE:LINE */
	const char *kind;
	char pair[XS_ORIGIN_TEXT_LEN];
	uint64_t c[3]; /* flows, packets, bytes */
};

static int row_cmp(const void *a, const void *b)
{
	const struct rule_row *x = a, *y = b;
	int c = strcmp(x->rule, y->rule);

	if (!c)
		c = strcmp(x->kind, y->kind);
	return c ? c : strcmp(x->pair, y->pair);
}

/* One row per origin of `set`, sorted by labels; rows with the same labels
 * summed into one (a series per label set). */
static int rule_rows(const struct xs_maps *m, uint32_t set, struct rule_row **out, size_t *n)
{
	struct xs_origin_rec *recs = NULL;
	struct xs_rule_counter *cnt = NULL;
	struct rule_row *v = NULL;
	uint32_t top = 1;
	size_t nrec = 0, k = 0;
	int err;

	*n = 0;
	err = xs_origins_read(m, set, &recs, &nrec);
	if (err)
		return err;
	for (size_t i = 0; i < nrec; i++)
		if (recs[i].k.rule_id < XS_MAX_RULES && recs[i].k.rule_id + 1 > top)
			top = recs[i].k.rule_id + 1;
	cnt = calloc(top, sizeof(*cnt));
	v = calloc(nrec + 1, sizeof(*v));
	if (!cnt || !v) {
		err = -ENOMEM;
		goto out;
	}
	err = xs_rule_counters_read(m, set, top, cnt);
	if (err)
		goto out;
	for (size_t i = 0; i < nrec; i++) {
		uint32_t id = recs[i].k.rule_id;
		struct rule_row *r = &v[k];

		if (!id || id >= XS_MAX_RULES)
			continue; /* a segment's name */
		snprintf(r->rule, sizeof(r->rule), "%s:%u", recs[i].o.file, recs[i].o.line);
		r->kind = origin_kind_name(recs[i].o.kind);
		xs_metrics_segment_pair(recs[i].o.kind, recs[i].o.text, r->pair, sizeof(r->pair));
		r->c[0] = cnt[id].flows;
		r->c[1] = cnt[id].packets;
		r->c[2] = cnt[id].bytes;
		k++;
	}
	qsort(v, k, sizeof(*v), row_cmp);
	*n = 0;
	for (size_t i = 0; i < k; i++) {
		if (*n && !row_cmp(&v[*n - 1], &v[i])) {
			for (int f = 0; f < 3; f++)
				v[*n - 1].c[f] += v[i].c[f];
			continue;
		}
		v[(*n)++] = v[i];
	}
	*out = v;
	v = NULL;
out:
	free(recs);
	free(cnt);
	free(v);
	return err;
}

static void rule_family(FILE *f, const struct rule_row *v, size_t n, int field, const char *name,
			const char *help)
{
	family(f, name, "counter", help);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s{rule=\"", name);
		xs_metrics_label(f, v[i].rule);
		fprintf(f, "\",kind=\"%s\",segment_pair=\"", v[i].kind);
		xs_metrics_label(f, v[i].pair);
		fprintf(f, "\"} %llu\n", (unsigned long long)v[i].c[field]);
	}
}

/* ---- Map entries ------------------------------------------------------------------ */

/* How many entries map `fd` holds, and its max_entries. */
static int map_entries(int fd, uint64_t *entries, uint64_t *max)
{
	enum { BATCH = 1024 };
	struct bpf_map_info info;
	__u32 ilen = sizeof(info), token = 0;
	char *keys = NULL, *vals = NULL, *prev = NULL;
	bool first = true;
	int err = 0;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return -errno;
	*max = info.max_entries;
	*entries = 0;
	keys = malloc((size_t)BATCH * info.key_size);
	vals = malloc((size_t)BATCH * info.value_size);
	prev = malloc(info.key_size);
	if (!keys || !vals || !prev) {
		err = -ENOMEM;
		goto out;
	}
	if (info.type != BPF_MAP_TYPE_LPM_TRIE) {
		/* a hash's batch token is a bucket number */
		for (;;) {
			__u32 count = BATCH;
			int rc = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, vals,
						      &count, NULL);

			if (rc && errno != ENOENT)
				break; /* e.g. ENOSPC (a crowded bucket): walk the keys */
			*entries += count;
			first = false;
			if (rc)
				goto out;
		}
		*entries = 0;
		first = true;
	}
	/* LPM tries have no batch operations */
	while (bpf_map_get_next_key(fd, first ? NULL : prev, keys) == 0) {
		memcpy(prev, keys, info.key_size);
		first = false;
		(*entries)++;
	}
	if (errno != ENOENT)
		err = -errno;
out:
	free(keys);
	free(vals);
	free(prev);
	return err;
}

/* The set in force's maps, in struct xs_metrics_cache's order. */
static const char *const set_maps[XS_METRICS_SET_MAPS] = {
	"xs_seg4",   "xs_seg6",	 "xs_seg6h", "xs_rules",
	"xs_rexact", "xs_pairs", "xs_bind4", "xs_bind6",
};

static int set_map_fd(const struct xs_maps *m, uint32_t set, int i)
{
	const int fds[XS_METRICS_SET_MAPS] = {
		m->seg4[set],	m->seg6[set],  m->seg6h[set], m->rules[set],
		m->rexact[set], m->pairs[set], m->bind4[set], m->bind6[set],
	};

	return fds[i];
}

/* ---- The flow tables -------------------------------------------------------------- */

struct flow_count {
	uint64_t now;
	uint64_t used[2], live[2], denials; /* [0] IPv4, [1] IPv6 */
};

static int flow_one(const struct xs_tuple *k, const struct xs_flow_hdr *h, void *arg)
{
	struct flow_count *c = arg;
	int f = k->family == 6;

	c->used[f]++;
	if (h->expires_ns < c->now)
		return 0; /* expired, still in its slot */
	if (h->state == XS_CT_DENIED)
		c->denials++;
	else
		c->live[f]++;
	return 0;
}

/* ---- The build ---------------------------------------------------------------------- */

static void verdict_families(FILE *f, const struct xs_counter *st)
{
	static const char *const names[2] = { "xdpseg_packets_total", "xdpseg_bytes_total" };
	static const char *const help[2] = {
		"Packets the datapath decided, by verdict and reason.",
		"Bytes of the packets the datapath decided, by verdict and reason.",
	};

	for (int field = 0; field < 2; field++) {
		family(f, names[field], "counter", help[field]);
		for (unsigned int vd = 0; vd < XS_VERDICT__MAX; vd++) {
			for (unsigned int r = 0; r < XS_REASON__MAX; r++) {
				const struct xs_counter *c = &st[XS_STAT_IDX(vd, r)];
				const char *name = xs_show_reason(r);
				uint64_t val = field ? c->bytes : c->packets;

				/* every named reason, 0 or not (an alert sees 0,
				 * not an absent series); others only when counted */
				if ((r == XS_REASON_NONE || !strcmp(name, "?")) && !c->packets)
					continue;
				if (!strcmp(name, "?"))
					fprintf(f, "%s{verdict=\"%s\",reason=\"reason-%u\"} %llu\n",
						names[field], xs_show_verdict(vd), r,
						(unsigned long long)val);
				else
					fprintf(f, "%s{verdict=\"%s\",reason=\"%s\"} %llu\n",
						names[field], xs_show_verdict(vd), name,
						(unsigned long long)val);
			}
		}
	}
}

/* What became of each packet's event, by verdict and reason: for every pair,
 * the outcomes sum to xdpseg_packets_total (xdpseg(8), stats). */
static void event_family(FILE *f, const struct xs_counter *st)
{
	static const char *const outcome[XS_EV__OUTCOMES] = {
		[XS_EV_SENT] = "sent",
		[XS_EV_RATELIMITED] = "ratelimited",
		[XS_EV_LOST] = "lost",
		[XS_EV_NONE] = "none",
	};

	family(f, "xdpseg_packet_events_total", "counter",
	       "What became of each packet's event, by verdict, reason and outcome (sent, "
	       "ratelimited, lost, none); the outcomes of a verdict and reason sum to its "
	       "packets.");
	for (unsigned int vd = 0; vd < XS_VERDICT__MAX; vd++) {
		for (unsigned int r = 0; r < XS_REASON__MAX; r++) {
			const struct xs_counter *c = &st[XS_STAT_IDX(vd, r)];
			const char *name = xs_show_reason(r);

			if (!c->packets)
				continue;
			for (int o = 0; o < XS_EV__OUTCOMES; o++) {
				if (!strcmp(name, "?"))
					fprintf(f,
						"xdpseg_packet_events_total{verdict=\"%s\","
						"reason=\"reason-%u\",outcome=\"%s\"} %llu\n",
						xs_show_verdict(vd), r, outcome[o],
						(unsigned long long)c->ev[o]);
				else
					fprintf(f,
						"xdpseg_packet_events_total{verdict=\"%s\","
						"reason=\"%s\",outcome=\"%s\"} %llu\n",
						xs_show_verdict(vd), name, outcome[o],
						(unsigned long long)c->ev[o]);
			}
		}
	}
}

static void counter1(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* The state of record `e` now; with the agent's link table when it has one. */
static enum xs_live iface_state(const struct xs_ctl *ctl, const struct xs_metrics_agent *agent,
				const struct xs_iface *e)
{
	struct xs_iface_live l;
	char name[IF_NAMESIZE + 1];
	unsigned int ifindex = 0;
	uint32_t drv = 0, skb = 0;
	struct xs_hooks h;

	if (!agent || !agent->link) {
		xs_iface_live(ctl, e, &l);
		return l.state;
	}
	snprintf(name, sizeof(name), "%.*s", (int)sizeof(e->name), e->name);
	if (!agent->link(agent->ctx, name, &ifindex, &drv, &skb))
		return XS_LIVE_GONE;
	if (ifindex != e->ifindex)
		return XS_LIVE_REPLACED;
	xs_hooks_query_xdp_known(ifindex, drv, skb, &h);
	xs_iface_live_hooks(ctl, e, &h, &l);
	return l.state;
}

static int interfaces_family(FILE *f, const struct xs_ctl *ctl,
			     const struct xs_metrics_agent *agent)
{
	static const enum xs_live states[] = { XS_LIVE_PROTECTED,   XS_LIVE_PARTIAL,
					       XS_LIVE_UNPROTECTED, XS_LIVE_ATTACHING,
					       XS_LIVE_REPLACED,    XS_LIVE_GONE };
	uint64_t n[XS_LIVE_GONE + 1] = { 0 };
	struct xs_iface *v = NULL;
	size_t nv = 0;
	int err;

	err = xs_ifaces_list(&ctl->maps, &v, &nv);
	if (err)
		return err;
	for (size_t i = 0; i < nv; i++)
		n[iface_state(ctl, agent, &v[i])]++;
	free(v);
	if (agent)
		n[XS_LIVE_UNPROTECTED] += agent->unrecorded;
	family(f, "xdpseg_interfaces", "gauge",
	       "Interfaces by state, each checked against the live link as `xdpseg status` "
	       "does (the agent's selected interfaces not attached count as unprotected).");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		fprintf(f, "xdpseg_interfaces{state=\"%s\"} %llu\n", xs_live_name(states[i]),
			(unsigned long long)n[states[i]]);
	return 0;
}

static int maps_family(FILE *f, const struct xs_ctl *ctl, uint32_t gen,
		       struct xs_metrics_cache *cache, const struct flow_count *fc)
{
	static const struct {
		const char *name;
		size_t off;
	} global[] = {
		{ "xs_frags", offsetof(struct xs_maps, frags) },
		{ "xs_origins", offsetof(struct xs_maps, origins) },
		{ "xs_overlays", offsetof(struct xs_maps, overlays) },
		{ "xs_ifaces", offsetof(struct xs_maps, ifaces) },
	};
	struct xs_metrics_cache local;
	uint64_t ent[4], max[4];
	uint32_t set = gen & 1;
	int err;

	for (size_t i = 0; i < 4; i++) {
		err = map_entries(*(const int *)((const char *)&ctl->maps + global[i].off), &ent[i],
				  &max[i]);
		if (err)
			return err;
	}
	if (!cache) {
		memset(&local, 0, sizeof(local));
		cache = &local;
	}
	if (gen && (cache->generation != gen || cache->prog_id != ctl->prog_id[XS_PROG_XDP])) {
		for (int i = 0; i < XS_METRICS_SET_MAPS; i++) {
			err = map_entries(set_map_fd(&ctl->maps, set, i), &cache->entries[i],
					  &cache->max_entries[i]);
			if (err) {
				cache->generation = 0;
				return err;
			}
		}
		cache->generation = gen;
		cache->prog_id = ctl->prog_id[XS_PROG_XDP];
	}
	family(f, "xdpseg_map_entries", "gauge",
	       "Entries a map holds (a policy set's maps: the set in force's; the flow tables: "
	       "the slots in use).");
	fprintf(f, "xdpseg_map_entries{map=\"xs_flow4\"} %llu\n", (unsigned long long)fc->used[0]);
	fprintf(f, "xdpseg_map_entries{map=\"xs_flow6\"} %llu\n", (unsigned long long)fc->used[1]);
	for (size_t i = 0; i < 4; i++)
		fprintf(f, "xdpseg_map_entries{map=\"%s\"} %llu\n", global[i].name,
			(unsigned long long)ent[i]);
	for (int i = 0; gen && i < XS_METRICS_SET_MAPS; i++)
		fprintf(f, "xdpseg_map_entries{map=\"%s\"} %llu\n", set_maps[i],
			(unsigned long long)cache->entries[i]);
	family(f, "xdpseg_map_max_entries", "gauge",
	       "The most entries a map can hold (the flow tables: their slots).");
	fprintf(f, "xdpseg_map_max_entries{map=\"xs_flow4\"} %llu\n",
		(unsigned long long)XS_FLOW4_BUCKETS * XS_FLOW_WAYS);
	fprintf(f, "xdpseg_map_max_entries{map=\"xs_flow6\"} %llu\n",
		(unsigned long long)XS_FLOW6_BUCKETS * XS_FLOW_WAYS);
	for (size_t i = 0; i < 4; i++)
		fprintf(f, "xdpseg_map_max_entries{map=\"%s\"} %llu\n", global[i].name,
			(unsigned long long)max[i]);
	for (int i = 0; gen && i < XS_METRICS_SET_MAPS; i++)
		fprintf(f, "xdpseg_map_max_entries{map=\"%s\"} %llu\n", set_maps[i],
			(unsigned long long)cache->max_entries[i]);
	return 0;
}

/* Everything read from the maps. */
static int datapath_families(FILE *f, const struct xs_ctl *ctl,
			     const struct xs_metrics_agent *agent, struct xs_metrics_cache *cache)
{
	const struct xs_maps *m = &ctl->maps;
	struct xs_counter st[XS_STAT__MAX];
	struct xs_counter ev;
	struct xs_policy_meta meta;
	struct flow_count fc;
	struct rule_row *rows = NULL;
	struct xs_confirm conf;
	struct xs_config cfg;
	char hash[65];
	size_t nrows = 0;
	uint32_t gen;
	int err;

	err = xs_config_read(m, &cfg);
	if (!err)
		err = xs_stats_read(m, st);
	if (!err)
		err = xs_confirm_read(m, &conf);
	if (err)
		return err;
	/* the set the datapath decides with (a missed confirm: the one before) */
	gen = xs_generation_in_force(&cfg, NULL);
	memset(&meta, 0, sizeof(meta));
	if (gen) {
		err = xs_meta_get(m, gen & 1, &meta);
		if (!err)
			err = rule_rows(m, gen & 1, &rows, &nrows);
		if (err)
			goto out;
	}
	memset(&fc, 0, sizeof(fc));
	fc.now = xs_datapath_mono_ns(&cfg);
	err = xs_flows_scan(m, flow_one, &fc);
	if (err)
		goto out;

	family(f, "xdpseg_policy_generation", "gauge",
	       "The policy generation the datapath decides with (0: no policy applied).");
	fprintf(f, "xdpseg_policy_generation %u\n", gen);
	if (gen) {
		family(f, "xdpseg_policy_info", "gauge",
		       "The policy in force: its SHA-256 (as `xdpseg status` shows it).");
		xs_hex(meta.hash, sizeof(meta.hash), hash);
		fprintf(f, "xdpseg_policy_info{sha256=\"%s\"} 1\n", hash);
		family(f, "xdpseg_policy_applied_timestamp_seconds", "gauge",
		       "When the policy in force was applied (unix seconds).");
		fprintf(f, "xdpseg_policy_applied_timestamp_seconds %llu\n",
			(unsigned long long)meta.applied_at);
	}
	family(f, "xdpseg_policy_confirm_pending", "gauge",
	       "1 while an apply --confirm waits for `xdpseg confirm`.");
	fprintf(f, "xdpseg_policy_confirm_pending %d\n", conf.state == XS_CONFIRM_PENDING);

	verdict_families(f, st);
	rule_family(f, rows, nrows, 1, "xdpseg_rule_hits_total",
		    "Packets of the flows a rule or default decided (it keeps them across "
		    "applies that keep the rule).");
	rule_family(f, rows, nrows, 0, "xdpseg_rule_flows_total",
		    "New flows a rule or default decided.");
	rule_family(f, rows, nrows, 2, "xdpseg_rule_bytes_total",
		    "Bytes of the flows a rule or default decided.");
	event_family(f, st);
	xs_event_sum(st, &ev);
	counter1(f, "xdpseg_events_lost_total", "Events lost: the ring buffer was full.",
		 ev.ev[XS_EV_LOST]);
	counter1(f, "xdpseg_events_ratelimited_total",
		 "Events not sent: their token bucket was empty (drops, allows).",
		 ev.ev[XS_EV_RATELIMITED]);
	counter1(f, "xdpseg_flow_evictions_total",
		 "Live flows whose flow-table slot went to a new flow (their bucket was full).",
		 st[XS_STAT_FLOW_EVICTED].packets);
	counter1(f, "xdpseg_conntrack_created_total", "Flows the flow tables started tracking.",
		 st[XS_STAT_CT_CREATED].packets);
	counter1(f, "xdpseg_conntrack_revalidated_total",
		 "Tracked flows decided again under a new policy (after an apply).",
		 st[XS_STAT_CT_REVALIDATED].packets);
	family(f, "xdpseg_conntrack_entries", "gauge", "Tracked flows not expired, by family.");
	fprintf(f, "xdpseg_conntrack_entries{family=\"ipv4\"} %llu\n",
		(unsigned long long)fc.live[0]);
	fprintf(f, "xdpseg_conntrack_entries{family=\"ipv6\"} %llu\n",
		(unsigned long long)fc.live[1]);
	family(f, "xdpseg_conntrack_denials", "gauge",
	       "Denials the flow tables remember (not expired).");
	fprintf(f, "xdpseg_conntrack_denials %llu\n", (unsigned long long)fc.denials);
	err = maps_family(f, ctl, gen, cache, &fc);
	if (!err)
		err = interfaces_family(f, ctl, agent);
out:
	free(rows);
	return err;
}

int xs_metrics_build(const struct xs_ctl *ctl, const struct xs_metrics_agent *agent,
		     struct xs_metrics_cache *cache, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f;
	int err = 0;

	*out = NULL;
	*len = 0;
	f = open_memstream(&buf, &n);
	if (!f)
		return -errno;
	family(f, "xdpseg_up", "gauge",
	       "1 when xdpseg's datapath is loaded and its maps were read, else 0.");
	fprintf(f, "xdpseg_up %d\n", ctl != NULL);
	family(f, "xdpseg_build_info", "gauge", "The version of xdpseg serving these metrics.");
	fprintf(f, "xdpseg_build_info{version=\"%s\"} 1\n", XS_VERSION);
	if (ctl)
		err = datapath_families(f, ctl, agent, cache);
	if (!err && agent) {
		family(f, "xdpseg_policy_applies_total", "counter",
		       "Policy changes the agent made or saw, by outcome (since it started).");
		for (int o = 0; o < XS_APPLY__COUNT; o++)
			fprintf(f, "xdpseg_policy_applies_total{outcome=\"%s\"} %llu\n",
				xs_apply_outcome_name((enum xs_apply_outcome)o),
				(unsigned long long)agent->applies[o]);
	}
	if (!err && agent && agent->fleet) {
		const struct {
			const char *name, *type, *help;
			uint64_t v;
		} fl[] = {
			{ "xdpseg_fleet_connected", "gauge",
			  "1 when the agent reads and watches its fleet's pointer in etcd, 0 "
			  "during "
			  "an outage (the policy in force stays).",
			  agent->fleet_connected },
			{ "xdpseg_fleet_generation", "gauge",
			  "The fleet generation this host enforces (0: none of the fleet's yet).",
			  agent->fleet_generation },
			{ "xdpseg_fleet_applies_total", "counter",
			  "Fleet bundles fetched, verified and applied (since the agent started).",
			  agent->fleet_applies },
			{ "xdpseg_fleet_failures_total", "counter",
			  "Fleet bundles that could not be verified or applied, and bad pointers.",
			  agent->fleet_failures },
			{ "xdpseg_fleet_reconnects_total", "counter",
			  "Outages of etcd the agent recovered from.", agent->fleet_reconnects },
		};

		for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
			family(f, fl[i].name, fl[i].type, fl[i].help);
			fprintf(f, "%s %llu\n", fl[i].name, (unsigned long long)fl[i].v);
		}
	}
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return 0;
}

int xs_metrics_write_file(const char *path, const char *text, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	char tmp[PATH_MAX];
	size_t o = 0;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX", (int)dlen, path, path + dlen) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (o < len) {
		ssize_t w = write(fd, text + o, len - o);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		o += (size_t)w;
	}
	/* node_exporter may run as another user: readable by all */
	if (!err && (fchmod(fd, 0644) || fsync(fd)))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow records: the bookkeeping (flowlog.h). Two tables, both chained hashes
 * keyed by fixed-size keys: the flows this agent has told of (until a scan
 * no longer shows them), and the current interval's denials.
 */
#include "flowlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "ctl/flows.h"
#include "policy.h"

const char *flowlog_cause_name(enum flowlog_cause c)
{
	const char *n = c == FLOWLOG_END_REMOVED ? NULL : xs_flow_cause_name((uint8_t)c);

	return n && (int)c != XS_FLOW_END_NONE ? n : "removed";
}

/* A flow's identity: its key and when it began (a slot reused by the same
 * tuple later is another flow). */
struct flow_id {
	struct xs_tuple key;
	uint64_t start_ns;
};

struct known {
	struct flow_id id;
	struct flowlog_flow last; /* as last seen */
	uint64_t told_ns;	  /* when its last record (begin or update) went out */
	uint64_t told_packets;	  /* both ways, as last observed */
	uint64_t told_bytes;
	uint64_t scan; /* the last scan that showed it */
	bool ended;    /* its end went out: kept only until no scan shows it */
	bool untold;   /* learnt while records were off: no begin record yet */
	struct known *next;
};

/* A denial's identity within an interval. */
struct deny_id {
	uint8_t family;
	uint8_t proto;
	uint16_t dport;
	uint8_t src[16];
	uint8_t dst[16];
};

struct deny {
	struct deny_id id;
	struct flowlog_drop last; /* names, segments, rule: the last drop's */
	uint64_t first_ns;
	uint64_t count;
	uint64_t bytes;
	struct deny *next;
};

/* A name callback's answer, kept for the scan (a flood of drops asks the
 * same names once). */
#define NAME_SLOTS 16

struct name_slot {
	bool valid;
	uint16_t rule_id, src_seg, dst_seg;
	uint32_t generation, ifindex;
	struct flowlog_names n;
};

struct flowlog {
	struct flowlog_opts o;
	char *host;
	bool records; /* rendered and emitted */
	struct name_slot names[NAME_SLOTS];

	struct known **flows;
	size_t nflows_buckets, nflows;
	uint64_t scan;	 /* scans begun */
	uint64_t now_ns; /* of the scan in progress */

	struct deny **denies;
	size_t ndeny_buckets, ndenies;
	uint64_t window_ns; /* start of the deny interval (0: none open) */
	uint64_t overflow_count, overflow_bytes;
	uint64_t overflow_first_ns, overflow_last_ns;
};

/* FNV-1a over a key's bytes. */
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

static size_t flow_bucket(const struct flowlog *fl, const struct flow_id *id)
{
	return hash_bytes(id, sizeof(*id)) & (fl->nflows_buckets - 1);
}

static size_t deny_bucket(const struct flowlog *fl, const struct deny_id *id)
{
	return hash_bytes(id, sizeof(*id)) & (fl->ndeny_buckets - 1);
}

struct flowlog *flowlog_new(const struct flowlog_opts *o)
{
	struct flowlog *fl = calloc(1, sizeof(*fl));

	if (!fl)
		return NULL;
	fl->o = *o;
	fl->records = true;
	fl->host = strdup(o->host ? o->host : "");
	fl->nflows_buckets = 1u << 12;
	fl->flows = calloc(fl->nflows_buckets, sizeof(*fl->flows));
	fl->ndeny_buckets = 1u << 10;
	fl->denies = calloc(fl->ndeny_buckets, sizeof(*fl->denies));
	if (!fl->host || !fl->flows || !fl->denies) {
		flowlog_free(fl);
		return NULL;
	}
	fl->o.host = fl->host;
	return fl;
}

static void free_denies(struct flowlog *fl)
{
	for (size_t i = 0; i < fl->ndeny_buckets; i++) {
		while (fl->denies[i]) {
			struct deny *d = fl->denies[i];

			fl->denies[i] = d->next;
			free(d);
		}
	}
	fl->ndenies = 0;
}

void flowlog_free(struct flowlog *fl)
{
	if (!fl)
		return;
	if (fl->flows) {
		for (size_t i = 0; i < fl->nflows_buckets; i++) {
			while (fl->flows[i]) {
				struct known *k = fl->flows[i];

				fl->flows[i] = k->next;
				free(k);
			}
		}
	}
	if (fl->denies)
		free_denies(fl);
	free(fl->flows);
	free(fl->denies);
	free(fl->host);
	free(fl);
}

void flowlog_set_clock(struct flowlog *fl, int64_t mono_to_real_ns)
{
	fl->o.mono_to_real_ns = mono_to_real_ns;
}

void flowlog_set_records(struct flowlog *fl, bool on)
{
	if (!on && fl->records) { /* the open interval's denials: told to nobody */
		free_denies(fl);
		fl->overflow_count = fl->overflow_bytes = 0;
		fl->window_ns = 0;
	}
	if (on && !fl->records) { /* the flows known: their begin records at the next scan */
		for (size_t i = 0; i < fl->nflows_buckets; i++) {
			for (struct known *k = fl->flows[i]; k; k = k->next)
				k->untold = !k->ended;
		}
	}
	fl->records = on;
}

size_t flowlog_live(const struct flowlog *fl)
{
	size_t n = 0;

	for (size_t i = 0; i < fl->nflows_buckets; i++) {
		for (const struct known *k = fl->flows[i]; k; k = k->next)
			n += !k->ended;
	}
	return n;
}

/* Double the flow table when it holds two entries per bucket (kept only
 * when the memory is there: a longer chain is slower, not wrong). */
static void flows_grow(struct flowlog *fl)
{
	size_t n = fl->nflows_buckets * 2;
	struct known **t;

	if (fl->nflows < fl->nflows_buckets * 2)
		return;
	t = calloc(n, sizeof(*t));
	if (!t)
		return;
	for (size_t i = 0; i < fl->nflows_buckets; i++) {
		while (fl->flows[i]) {
			struct known *k = fl->flows[i];
			size_t b;

			fl->flows[i] = k->next;
			b = hash_bytes(&k->id, sizeof(k->id)) & (n - 1);
			k->next = t[b];
			t[b] = k;
		}
	}
	free(fl->flows);
	fl->flows = t;
	fl->nflows_buckets = n;
}

static struct known *flow_find(struct flowlog *fl, const struct flow_id *id)
{
	for (struct known *k = fl->flows[flow_bucket(fl, id)]; k; k = k->next) {
		if (!memcmp(&k->id, id, sizeof(*id)))
			return k;
	}
	return NULL;
}

static struct known *flow_add(struct flowlog *fl, const struct flow_id *id)
{
	struct known *k = calloc(1, sizeof(*k));
	size_t b;

	if (!k)
		return NULL;
	k->id = *id;
	b = flow_bucket(fl, id);
	k->next = fl->flows[b];
	fl->flows[b] = k;
	fl->nflows++;
	flows_grow(fl);
	return k;
}

/* A flow's identity in the initiator's direction: a table entry (keyed by
 * its normalised tuple) and the datapath's record of its end (the
 * initiator's direction) name it alike. */
static void flow_id_of(const struct flowlog_flow *f, struct flow_id *id)
{
	const struct xs_tuple *k = &f->key;

	memset(id, 0, sizeof(*id));
	id->key.family = k->family;
	id->key.proto = k->proto;
	memcpy(id->key.addr_a, f->init_b ? k->addr_b : k->addr_a, sizeof(id->key.addr_a));
	memcpy(id->key.addr_b, f->init_b ? k->addr_a : k->addr_b, sizeof(id->key.addr_b));
	id->key.port_a = f->init_b ? k->port_b : k->port_a;
	id->key.port_b = f->init_b ? k->port_a : k->port_b;
	id->start_ns = f->start_ns;
}

void flowlog_set_intervals(struct flowlog *fl, unsigned int update_s, unsigned int deny_s)
{
	fl->o.update_s = update_s;
	fl->o.deny_s = deny_s;
}

/* ---- Rendering ---------------------------------------------------------- */

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v && *v ? json_object_new_string(v) : NULL);
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* RFC 3339, UTC, milliseconds, of the datapath's time `ns`. */
static void add_time(const struct flowlog *fl, struct json_object *o, const char *key, uint64_t ns)
{
	int64_t real = (int64_t)ns + fl->o.mono_to_real_ns;
	time_t secs = (time_t)(real / 1000000000);
	char buf[40], date[32];
	struct tm tm;

	if (real < 0) {
		json_object_object_add(o, key, NULL);
		return;
	}
	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), "%s.%03dZ", date, (int)((real % 1000000000) / 1000000));
	json_object_object_add(o, key, json_object_new_string(buf));
}

static void addr_str(uint8_t family, const uint8_t *a, char *buf, size_t size)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

static const char *proto_str(uint8_t proto, char *buf, size_t size)
{
	const char *n = xs_proto_name(proto);

	if (n && proto)
		return n;
	snprintf(buf, size, "%u", proto);
	return buf;
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

static const char *ct_state_name(uint8_t s)
{
	switch (s) {
	case XS_CT_SYN_SENT:
		return "syn-sent";
	case XS_CT_ESTABLISHED:
		return "established";
	case XS_CT_CLOSING:
		return "closing";
	case XS_CT_CLOSED:
		return "closed";
	case XS_CT_UDP:
		return "udp";
	case XS_CT_ICMP:
		return "icmp";
	case XS_CT_OTHER:
		return "other";
	default:
		return "unknown";
	}
}

/* The fields every record has, in order. */
static struct json_object *record_new(const struct flowlog *fl, const char *kind, const char *state,
				      uint64_t at_ns)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "schema", json_object_new_int(FLOWLOG_SCHEMA));
	add_str(o, "kind", kind);
	add_str(o, "state", state);
	add_time(fl, o, "time", at_ns);
	add_str(o, "host", fl->host);
	return o;
}

/* What the name callback says of these ids (kept until the next scan). */
static const struct flowlog_names *names_of(struct flowlog *fl, uint32_t generation,
					    uint16_t rule_id, uint16_t src_seg, uint16_t dst_seg,
					    uint32_t ifindex)
{
	uint32_t key[4] = { generation, rule_id, (uint32_t)src_seg << 16 | dst_seg, ifindex };
	struct name_slot *e = &fl->names[hash_bytes(key, sizeof(key)) & (NAME_SLOTS - 1)];

	if (e->valid && e->generation == generation && e->rule_id == rule_id &&
	    e->src_seg == src_seg && e->dst_seg == dst_seg && e->ifindex == ifindex)
		return &e->n;
	memset(e, 0, sizeof(*e));
	if (fl->o.name)
		fl->o.name(fl->o.arg, generation, rule_id, src_seg, dst_seg, ifindex, &e->n);
	e->valid = true;
	e->generation = generation;
	e->rule_id = rule_id;
	e->src_seg = src_seg;
	e->dst_seg = dst_seg;
	e->ifindex = ifindex;
	return &e->n;
}

static void add_names(struct flowlog *fl, struct json_object *o, uint32_t generation,
		      uint16_t rule_id, uint16_t src_seg, uint16_t dst_seg, uint32_t ifindex,
		      uint8_t hook)
{
	const struct flowlog_names *n =
		names_of(fl, generation, rule_id, src_seg, dst_seg, ifindex);

	add_str(o, "iface", n->iface);
	add_str(o, "direction", ifindex ? (hook == XS_HOOK_EGRESS ? "egress" : "ingress") : NULL);
	add_str(o, "src_segment", n->src_seg);
	add_str(o, "dst_segment", n->dst_seg);
	add_str(o, "rule", n->rule);
	add_str(o, "policy_hash", n->policy_hash);
	json_object_object_add(o, "generation", json_object_new_int64(generation));
}

static void emit(struct flowlog *fl, const char *kind, struct json_object *o)
{
	const char *line = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	if (fl->o.emit && line)
		fl->o.emit(fl->o.arg, kind, line);
	json_object_put(o);
}

/*
 * A flow's record: `kind` begin, update or end (then `cause`), at `at_ns`.
 * The 5-tuple is in the initiator's direction.
 */
static void emit_flow(struct flowlog *fl, const char *kind, const struct flowlog_flow *f,
		      uint64_t at_ns, const char *cause)
{
	const struct xs_tuple *k = &f->key;
	const uint8_t *src = f->init_b ? k->addr_b : k->addr_a;
	const uint8_t *dst = f->init_b ? k->addr_a : k->addr_b;
	uint16_t sport = ntohs(f->init_b ? k->port_b : k->port_a);
	uint16_t dport = ntohs(f->init_b ? k->port_a : k->port_b);
	const char *state = !strcmp(kind, "begin") ? "B" : !strcmp(kind, "update") ? "C" : "E";
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], pbuf[8];
	uint64_t dur = at_ns > f->start_ns ? at_ns - f->start_ns : 0;
	struct json_object *o;

	if (!fl->records)
		return;
	o = record_new(fl, kind, state, at_ns);

	addr_str(k->family, src, a, sizeof(a));
	addr_str(k->family, dst, b, sizeof(b));
	add_str(o, "proto", proto_str(k->proto, pbuf, sizeof(pbuf)));
	add_str(o, "src", a);
	json_object_object_add(o, "sport", is_icmp(k->proto) ? NULL : json_object_new_int(sport));
	add_str(o, "dst", b);
	json_object_object_add(o, "dport", is_icmp(k->proto) ? NULL : json_object_new_int(dport));
	add_names(fl, o, f->generation, f->rule_id, f->src_seg, f->dst_seg, f->ifindex, f->hook);
	add_str(o, "verdict", xs_verdict_name((enum xs_verdict)f->verdict));
	add_str(o, "ct_state", ct_state_name(f->ct_state));
	if (cause)
		add_str(o, "cause", cause);
	add_time(fl, o, "start", f->start_ns);
	add_u64(o, "duration_ms", dur / 1000000);
	add_u64(o, "packets_fwd", f->packets[0]);
	add_u64(o, "bytes_fwd", f->bytes[0]);
	add_u64(o, "packets_rev", f->packets[1]);
	add_u64(o, "bytes_rev", f->bytes[1]);
	emit(fl, kind, o);
}

/* ---- Observations ------------------------------------------------------- */

/* The wall clock's second of the datapath's time `ns`. */
static int64_t wall_s(const struct flowlog *fl, uint64_t ns)
{
	int64_t real = (int64_t)ns + fl->o.mono_to_real_ns;

	return real >= 0 ? real / 1000000000 : 0;
}

/* The port a flow is stored under: the responder's, the ICMP type, or none. */
static int32_t obs_port(uint8_t proto, uint16_t port, uint8_t icmp_type)
{
	if (is_icmp(proto))
		return icmp_type;
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ? port : -1;
}

static void observe_flow(struct flowlog *fl, const struct flowlog_flow *f, uint64_t at_ns,
			 uint64_t connections, uint64_t packets, uint64_t bytes)
{
	const struct xs_tuple *k = &f->key;
	struct flowlog_obs o;

	memset(&o, 0, sizeof(o));
	o.family = k->family;
	o.proto = k->proto;
	o.verdict = f->verdict;
	memcpy(o.src, f->init_b ? k->addr_b : k->addr_a, sizeof(o.src));
	memcpy(o.dst, f->init_b ? k->addr_a : k->addr_b, sizeof(o.dst));
	o.port = obs_port(k->proto, ntohs(f->init_b ? k->port_a : k->port_b), f->icmp_type);
	o.generation = f->generation;
	o.time = wall_s(fl, at_ns);
	o.connections = connections;
	o.packets = packets;
	o.bytes = bytes;
	o.names = names_of(fl, f->generation, f->rule_id, f->src_seg, f->dst_seg, f->ifindex);
	fl->o.observe(fl->o.arg, &o);
}

/* A flow begun at `at_ns`: one connection, what it carried so far. */
static void observe_begin(struct flowlog *fl, struct known *k, const struct flowlog_flow *f,
			  uint64_t at_ns)
{
	uint64_t p = f->packets[0] + f->packets[1], b = f->bytes[0] + f->bytes[1];

	if (k) {
		k->told_packets = p;
		k->told_bytes = b;
	}
	if (fl->o.observe)
		observe_flow(fl, f, at_ns, 1, p, b);
}

/* What a known flow carried since it was last observed, if anything. */
static void observe_more(struct flowlog *fl, struct known *k, const struct flowlog_flow *f,
			 uint64_t at_ns)
{
	uint64_t p = f->packets[0] + f->packets[1], b = f->bytes[0] + f->bytes[1];
	uint64_t dp = p > k->told_packets ? p - k->told_packets : 0;
	uint64_t db = b > k->told_bytes ? b - k->told_bytes : 0;

	if (!dp && !db)
		return;
	k->told_packets += dp;
	k->told_bytes += db;
	if (fl->o.observe)
		observe_flow(fl, f, at_ns, 0, dp, db);
}

/* ---- Flows ---------------------------------------------------------------- */

void flowlog_scan_begin(struct flowlog *fl, uint64_t now_ns)
{
	fl->scan++;
	fl->now_ns = now_ns;
	/* names may change between scans (a renamed interface) */
	memset(fl->names, 0, sizeof(fl->names));
}

void flowlog_scan_entry(struct flowlog *fl, const struct flowlog_flow *f)
{
	struct flow_id id;
	struct known *k;
	bool expired = f->expires_ns < fl->now_ns;
	uint64_t at;

	if (f->ct_state == XS_CT_DENIED || !f->ct_state)
		return;
	flow_id_of(f, &id);
	k = flow_find(fl, &id);
	if (!k) {
		k = flow_add(fl, &id);
		if (!k)
			return; /* out of memory: told at the next scan */
		at = f->start_ns > fl->now_ns ? fl->now_ns : f->start_ns;
		emit_flow(fl, "begin", f, at, NULL);
		observe_begin(fl, k, f, at);
		k->told_ns = fl->now_ns;
	}
	k->scan = fl->scan;
	if (k->ended)
		return;
	if (k->untold) {
		k->untold = false;
		emit_flow(fl, "begin", f, f->start_ns > fl->now_ns ? fl->now_ns : f->start_ns,
			  NULL);
		k->told_ns = fl->now_ns;
	}
	k->last = *f;
	if (expired) {
		/* ended when it went idle: its expiry is the best time there is */
		emit_flow(fl, "end", f, f->expires_ns, flowlog_cause_name(FLOWLOG_END_TIMEOUT));
		observe_more(fl, k, f, f->expires_ns);
		k->ended = true;
		return;
	}
	observe_more(fl, k, f, fl->now_ns);
	if (fl->o.update_s && fl->now_ns - k->told_ns >= (uint64_t)fl->o.update_s * 1000000000ULL) {
		emit_flow(fl, "update", f, fl->now_ns, NULL);
		k->told_ns = fl->now_ns;
	}
}

void flowlog_scan_end(struct flowlog *fl)
{
	for (size_t i = 0; i < fl->nflows_buckets; i++) {
		struct known **pp = &fl->flows[i];

		while (*pp) {
			struct known *k = *pp;

			if (k->scan == fl->scan) {
				pp = &k->next;
				continue;
			}
			if (!k->ended) {
				emit_flow(fl, "end", &k->last, fl->now_ns,
					  flowlog_cause_name(FLOWLOG_END_REMOVED));
				observe_more(fl, k, &k->last, fl->now_ns);
			}
			*pp = k->next;
			free(k);
			fl->nflows--;
		}
	}
}

void flowlog_ended(struct flowlog *fl, const struct flowlog_flow *f, enum flowlog_cause cause,
		   uint64_t end_ns)
{
	struct flow_id id;
	struct known *k;

	flow_id_of(f, &id);
	k = flow_find(fl, &id);
	if (k && k->ended)
		return;
	if (!k) {
		k = flow_add(fl, &id);
		emit_flow(fl, "begin", f, f->start_ns, NULL);
		observe_begin(fl, k, f, f->start_ns);
		if (!k) { /* out of memory: the end still goes out */
			emit_flow(fl, "end", f, end_ns, flowlog_cause_name(cause));
			return;
		}
		/* kept, ended, until a scan no longer shows it */
		k->scan = fl->scan;
	}
	if (k->untold) {
		k->untold = false;
		emit_flow(fl, "begin", f, f->start_ns, NULL);
	}
	k->last = *f;
	k->ended = true;
	emit_flow(fl, "end", f, end_ns, flowlog_cause_name(cause));
	observe_more(fl, k, f, end_ns);
}

/* ---- Denials -------------------------------------------------------------- */

static void emit_deny(struct flowlog *fl, const struct deny *d, uint64_t end_ns)
{
	const struct flowlog_drop *x = &d->last;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], pbuf[8];
	struct json_object *o;

	if (!fl->records)
		return;
	o = record_new(fl, "deny", "D", end_ns);

	addr_str(x->family, x->src, a, sizeof(a));
	addr_str(x->family, x->dst, b, sizeof(b));
	add_str(o, "proto", proto_str(x->proto, pbuf, sizeof(pbuf)));
	add_str(o, "src", a);
	json_object_object_add(o, "sport", NULL);
	add_str(o, "dst", b);
	if (is_icmp(x->proto)) {
		json_object_object_add(o, "dport", NULL);
		json_object_object_add(o, "icmp_type", json_object_new_int(x->dport));
	} else {
		json_object_object_add(o, "dport", json_object_new_int(x->dport));
	}
	add_names(fl, o, x->generation, x->rule_id, x->src_seg, x->dst_seg, x->ifindex, x->hook);
	add_str(o, "verdict", "drop");
	add_str(o, "reason", xs_reason_name((enum xs_reason)x->reason));
	add_time(fl, o, "start", d->first_ns);
	add_time(fl, o, "last", x->ts_ns);
	add_u64(o, "interval_s", fl->o.deny_s);
	add_u64(o, "count", d->count);
	add_u64(o, "bytes", d->bytes);
	emit(fl, "deny", o);
}

/* The drops past max_deny_keys distinct denials, in one record. */
static void emit_overflow(struct flowlog *fl, uint64_t end_ns)
{
	struct json_object *o;

	if (!fl->records)
		return;
	o = record_new(fl, "deny", "D", end_ns);

	json_object_object_add(o, "overflow", json_object_new_boolean(1));
	add_str(o, "verdict", "drop");
	add_time(fl, o, "start", fl->overflow_first_ns);
	add_time(fl, o, "last", fl->overflow_last_ns);
	add_u64(o, "interval_s", fl->o.deny_s);
	add_u64(o, "count", fl->overflow_count);
	add_u64(o, "bytes", fl->overflow_bytes);
	emit(fl, "deny", o);
}

/* Every deny record of the open interval, then a fresh interval. */
static void deny_flush(struct flowlog *fl, uint64_t end_ns)
{
	for (size_t i = 0; i < fl->ndeny_buckets; i++) {
		for (const struct deny *d = fl->denies[i]; d; d = d->next)
			emit_deny(fl, d, end_ns);
	}
	if (fl->overflow_count)
		emit_overflow(fl, end_ns);
	free_denies(fl);
	fl->overflow_count = fl->overflow_bytes = 0;
	fl->window_ns = 0;
}

void flowlog_dropped(struct flowlog *fl, const struct flowlog_drop *x)
{
	struct deny_id id;
	struct deny *d;
	size_t b;

	if (fl->o.observe) {
		struct flowlog_obs o = {
			.family = x->family,
			.proto = x->proto,
			.verdict = XS_VERDICT_DROP,
			.port = obs_port(x->proto, x->dport, (uint8_t)x->dport),
			.generation = x->generation,
			.time = wall_s(fl, x->ts_ns),
			.connections = 1,
			.packets = 1,
			.bytes = x->len,
		};

		memcpy(o.src, x->src, sizeof(o.src));
		memcpy(o.dst, x->dst, sizeof(o.dst));
		o.names =
			names_of(fl, x->generation, x->rule_id, x->src_seg, x->dst_seg, x->ifindex);
		fl->o.observe(fl->o.arg, &o);
	}
	if (!fl->records)
		return;
	memset(&id, 0, sizeof(id));
	id.family = x->family;
	id.proto = x->proto;
	id.dport = x->dport;
	memcpy(id.src, x->src, sizeof(id.src));
	memcpy(id.dst, x->dst, sizeof(id.dst));
	if (!fl->window_ns)
		fl->window_ns = x->ts_ns ? x->ts_ns : 1;
	b = deny_bucket(fl, &id);
	for (d = fl->denies[b]; d; d = d->next) {
		if (!memcmp(&d->id, &id, sizeof(id)))
			break;
	}
	if (!d && fl->ndenies < fl->o.max_deny_keys) {
		d = calloc(1, sizeof(*d));
		if (d) {
			d->id = id;
			d->first_ns = x->ts_ns;
			d->next = fl->denies[b];
			fl->denies[b] = d;
			fl->ndenies++;
		}
	}
	if (!d) { /* past the bound (or out of memory): counted all the same */
		if (!fl->overflow_count)
			fl->overflow_first_ns = x->ts_ns;
		fl->overflow_count++;
		fl->overflow_bytes += x->len;
		fl->overflow_last_ns = x->ts_ns;
		return;
	}
	d->last = *x;
	d->count++;
	d->bytes += x->len;
}

void flowlog_tick(struct flowlog *fl, uint64_t now_ns)
{
	if (fl->window_ns && now_ns - fl->window_ns >= (uint64_t)fl->o.deny_s * 1000000000ULL)
		deny_flush(fl, now_ns);
}

void flowlog_flush(struct flowlog *fl)
{
	uint64_t last = 0;

	if (!fl->window_ns)
		return;
	for (size_t i = 0; i < fl->ndeny_buckets; i++) {
		for (const struct deny *d = fl->denies[i]; d; d = d->next)
			last = d->last.ts_ns > last ? d->last.ts_ns : last;
	}
	if (fl->overflow_last_ns > last)
		last = fl->overflow_last_ns;
	deny_flush(fl, last);
}

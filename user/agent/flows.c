// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's flow records (xdpseg(8), FLOW RECORDS): flowlog.c's
 * bookkeeping fed from the datapath (a walk of the flow tables every
 * FLOWS_SCAN_S seconds; the flow-end records and the drop events of the
 * ring buffer, as a records.c sink), its records sent to the sinks the
 * configuration names (flowsink.c: the file, syslog) and to every `flows`
 * stream on the socket, and its observations to the flow store (flowstore.c,
 * flushed after every walk). Nothing is kept or walked while nobody listens
 * (no file, no syslog, no stream, no store): the table's walk costs a read
 * of every bucket; no record is rendered while only the store listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/flowlog.h"
#include "agent/flows.h"
#include "agent/flowsink.h"
#include "agent/flowstore.h"
#include "agent/log.h"
#include "agent/records.h"
#include "agent/server.h"
#include "ctl/evview.h"
#include "ctl/flows.h"
#include "ctl/readback.h"
#include "ctl/show.h"
#include "util.h"

#define FLOWS_SCAN_S 5
#define FLOWS_MAX_DENY_KEYS 4096

struct agent_flows {
	struct flowlog *fl;	    /* NULL while nobody listens */
	struct flowsink_file *file; /* flow-log, open */
	char file_path[PATH_MAX];   /* ... as opened, and its rotation */
	uint64_t file_size;
	unsigned int file_keep;
	char file_error[PATH_MAX + 128]; /* the last failure to open or write it ("": none) */
	bool syslog;
	struct xs_ctl ctl; /* the maps the names come from (opened at each walk) */
	bool ctl_open;
	unsigned long last_walk; /* a->ticks */
	uint64_t records[4];	 /* sent, by kind: begin, update, end, deny */
	uint64_t walks;
	char host[256];
};

static const char *const kinds[4] = { "begin", "update", "end", "deny" };

/* ---- Names ----------------------------------------------------------------- */

static void names(void *arg, uint32_t gen, uint16_t rule_id, uint16_t src_seg, uint16_t dst_seg,
		  uint32_t ifindex, struct flowlog_names *n)
{
	struct agent *a = arg;
	struct agent_flows *f = a->flows;
	const struct xs_maps *m = &f->ctl.maps;
	struct xs_policy_meta meta;
	struct xs_origin o;

	if (!f->ctl_open)
		return;
	xs_segment_name(m, gen & 1, src_seg, n->src_seg, sizeof(n->src_seg));
	xs_segment_name(m, gen & 1, dst_seg, n->dst_seg, sizeof(n->dst_seg));
	if (ifindex)
		xs_evview_iface(m, ifindex, n->iface, sizeof(n->iface));
	if (xs_evview_origin(m, gen, rule_id, &o))
		snprintf(n->rule, sizeof(n->rule), "%.*s:%u", (int)sizeof(o.file), o.file, o.line);
	if (gen && xs_meta_get(m, gen & 1, &meta) == 0 && meta.generation == gen)
		xs_hex(meta.hash, sizeof(meta.hash), n->policy_hash);
}

/* ---- Sinks ------------------------------------------------------------------- */

static void send_line(struct agent *a, struct agent_client *c, void *ctx, void *arg)
{
	const char *line = arg;

	server_stream_send(a, c, line, strlen(line));
}

static void close_ctx(struct agent *a, void *ctx)
{
}

static const struct agent_stream_ops flows_ops = {
	.kind = "flows",
	.close = close_ctx,
};

static void emit(void *arg, const char *kind, const char *line)
{
	struct agent *a = arg;
	struct agent_flows *f = a->flows;
	int err;

	for (int i = 0; i < 4; i++) {
		if (!strcmp(kind, kinds[i]))
			f->records[i]++;
	}
	if (f->file) {
		err = flowsink_file_write(f->file, line);
		if (err && !f->file_error[0]) {
			snprintf(f->file_error, sizeof(f->file_error), "writing %s: %s",
				 f->file_path, strerror(-err));
			agent_log(LOG_ERR, "flow records: %s", f->file_error);
		} else if (!err) {
			f->file_error[0] = '\0';
		}
	}
	if (f->syslog)
		flowsink_syslog_write(kind, line);
	server_streams_each(a, &flows_ops, send_line, (void *)line);
}

static void count_one(struct agent *a, struct agent_client *c, void *ctx, void *arg)
{
	(*(size_t *)arg)++;
}

/* Does some client follow the records? */
static bool followed(struct agent *a)
{
	size_t n = 0;

	server_streams_each(a, &flows_ops, count_one, &n);
	return n > 0;
}

/* ---- The datapath's clock -------------------------------------------------- */

/* CLOCK_REALTIME - the datapath's clock (its offset included). */
static int64_t mono_to_real(const struct xs_config *cfg)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - m.tv_sec) * 1000000000LL + ((int64_t)r.tv_nsec - m.tv_nsec) -
	       (int64_t)cfg->clock_offset_ns;
}

/* ---- Feeding the bookkeeping ----------------------------------------------- */

static void flow_of_entry(const struct xs_flow_entry *e, struct flowlog_flow *out)
{
	memset(out, 0, sizeof(*out));
	out->key = e->key;
	out->init_b = e->h.flags & XS_CTF_INIT_B;
	out->ct_state = e->h.state;
	out->verdict = (e->h.flags & XS_CTF_AUDIT) ? XS_VERDICT_AUDIT : XS_VERDICT_ALLOW;
	out->hook = (e->h.flags & XS_CTF_EGRESS) ? XS_HOOK_EGRESS : XS_HOOK_INGRESS;
	out->icmp_type = e->h.icmp_type;
	out->rule_id = e->h.rule_id;
	out->src_seg = e->h.src_seg;
	out->dst_seg = e->h.dst_seg;
	out->generation = e->h.generation;
	out->ifindex = e->ifindex;
	out->start_ns = e->start_ns;
	out->expires_ns = e->h.expires_ns;
	memcpy(out->packets, e->packets, sizeof(out->packets));
	memcpy(out->bytes, e->bytes, sizeof(out->bytes));
}

/* A datapath record (struct xs_flow_end, the initiator's direction) as a flow. */
static void flow_of_record(const struct xs_flow_end *r, struct flowlog_flow *out)
{
	memset(out, 0, sizeof(*out));
	out->key.family = r->family;
	out->key.proto = r->proto;
	memcpy(out->key.addr_a, r->saddr, sizeof(out->key.addr_a));
	memcpy(out->key.addr_b, r->daddr, sizeof(out->key.addr_b));
	out->key.port_a = htons(r->sport);
	out->key.port_b = htons(r->dport);
	out->init_b = false;
	out->ct_state = r->state;
	out->verdict = (r->flags & XS_CTF_AUDIT) ? XS_VERDICT_AUDIT : XS_VERDICT_ALLOW;
	out->hook = (r->flags & XS_CTF_EGRESS) ? XS_HOOK_EGRESS : XS_HOOK_INGRESS;
	out->icmp_type = r->icmp_type;
	out->rule_id = (uint16_t)r->rule_id;
	out->src_seg = r->src_seg;
	out->dst_seg = r->dst_seg;
	out->generation = r->generation;
	out->ifindex = r->ifindex;
	out->start_ns = r->start_ns;
	memcpy(out->packets, r->packets, sizeof(out->packets));
	memcpy(out->bytes, r->bytes, sizeof(out->bytes));
}

struct walk {
	struct agent_flows *f;
	uint64_t now;
};

static int walk_one(const struct xs_flow_entry *e, void *arg)
{
	struct walk *w = arg;
	struct flowlog_flow fl;

	if (e->h.state == XS_CT_DENIED || !e->h.state)
		return 0;
	flow_of_entry(e, &fl);
	flowlog_scan_entry(w->f->fl, &fl);
	return 0;
}

/* A walk of the flow tables: begin, update and timeout records. */
static void walk(struct agent *a)
{
	struct agent_flows *f = a->flows;
	struct xs_config cfg;
	struct walk w = { .f = f };
	int err;

	if (f->ctl_open) {
		xs_ctl_close(&f->ctl);
		f->ctl_open = false;
	}
	if (dp_open(a, &f->ctl))
		return; /* nothing loaded: nothing to tell */
	f->ctl_open = true;
	if (xs_config_read(&f->ctl.maps, &cfg))
		return;
	w.now = xs_datapath_mono_ns(&cfg);
	flowlog_set_clock(f->fl, mono_to_real(&cfg));
	flowlog_scan_begin(f->fl, w.now);
	err = xs_flows_walk(&f->ctl.maps, walk_one, &w);
	if (err) {
		agent_log(LOG_WARNING, "flow records: reading the flow tables: %s", strerror(-err));
		return; /* no scan_end: a flow not read is not ended */
	}
	flowlog_scan_end(f->fl);
	flowlog_tick(f->fl, w.now);
	f->walks++;
}

/* records.c's sink: the datapath's flow ends, and the drops. */
static void on_record(struct agent *a, const void *rec, size_t size, void *arg)
{
	struct agent_flows *f = a->flows;
	const struct agent_record_info *info;
	uint16_t kind;

	if (!f || !f->fl || size < sizeof(kind))
		return;
	memcpy(&kind, rec, sizeof(kind));
	if (kind == XS_REC_FLOW_END && size >= sizeof(struct xs_flow_end)) {
		const struct xs_flow_end *r = rec;
		struct flowlog_flow fl;

		flow_of_record(r, &fl);
		flowlog_ended(f->fl, &fl, (enum flowlog_cause)r->cause, r->end_ns);
		return;
	}
	info = agent_records_current(a);
	if (kind == XS_REC_EVENT && info && info->ev && !info->buffered &&
	    info->ev->e.verdict == XS_VERDICT_DROP && !(info->ev->e.flags & XS_EVF_ROLLBACK)) {
		const struct xs_event *e = &info->ev->e;
		struct flowlog_drop d = {
			.family = e->family,
			.proto = e->proto,
			.hook = e->hook,
			.reason = e->reason,
			.dport = (e->proto == IPPROTO_ICMP || e->proto == IPPROTO_ICMPV6)
					 ? e->icmp_type
					 : e->dport,
			.rule_id = (uint16_t)e->rule_id,
			.src_seg = e->src_seg,
			.dst_seg = e->dst_seg,
			.generation = e->generation,
			.ifindex = e->ifindex,
			.len = e->pkt_len,
			.ts_ns = e->ts_ns,
		};

		memcpy(d.src, e->saddr, sizeof(d.src));
		memcpy(d.dst, e->daddr, sizeof(d.dst));
		flowlog_dropped(f->fl, &d);
	}
}

/* ---- Life ------------------------------------------------------------------ */

static void activate(struct agent *a);

static void close_file(struct agent_flows *f)
{
	flowsink_file_close(f->file);
	f->file = NULL;
	f->file_path[0] = '\0';
}

/* The sinks the configuration names now. */
static void configure(struct agent *a)
{
	struct agent_flows *f = a->flows;
	const struct agent_config *c = &a->cfg;
	char err[256];

	if (f->file && (strcmp(f->file_path, c->flow_log) || f->file_size != c->flow_log_size ||
			f->file_keep != c->flow_log_keep))
		close_file(f);
	if (c->flow_log[0] && !f->file) {
		if (flowsink_file_open(&f->file, c->flow_log, c->flow_log_size, c->flow_log_keep,
				       err, sizeof(err))) {
			snprintf(f->file_error, sizeof(f->file_error), "%s", err);
			agent_log(LOG_ERR, "flow records: %s (no file until a reload)", err);
		} else {
			snprintf(f->file_path, sizeof(f->file_path), "%s", c->flow_log);
			f->file_size = c->flow_log_size;
			f->file_keep = c->flow_log_keep;
			f->file_error[0] = '\0';
		}
	}
	if (c->flow_syslog && !f->syslog)
		flowsink_syslog_open();
	else if (!c->flow_syslog && f->syslog)
		flowsink_syslog_close();
	f->syslog = c->flow_syslog;
	if (f->fl)
		flowlog_set_intervals(f->fl, c->flow_update, c->flow_deny);
}

int agent_flows_init(struct agent *a)
{
	struct agent_flows *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	a->flows = f;
	if (gethostname(f->host, sizeof(f->host) - 1))
		snprintf(f->host, sizeof(f->host), "?");
	configure(a);
	if (flowstore_init(a))
		return -ENOMEM;
	activate(a); /* the store listens from the start */
	return agent_records_sink_add(a, on_record, NULL);
}

void agent_flows_reconfigure(struct agent *a)
{
	if (!a->flows)
		return;
	configure(a);
	flowstore_reconfigure(a);
	activate(a); /* a store or sink the reload added listens from now on */
}

/* Start or stop the bookkeeping as listeners come and go; records only
 * while some sink reads them. */
static void activate(struct agent *a)
{
	struct agent_flows *f = a->flows;
	bool records = f->file || f->syslog || followed(a);
	bool want = records || flowstore_on(a);

	if (f->fl)
		flowlog_set_records(f->fl, records);
	if (want && !f->fl) {
		struct flowlog_opts o = {
			.update_s = a->cfg.flow_update,
			.deny_s = a->cfg.flow_deny,
			.max_deny_keys = FLOWS_MAX_DENY_KEYS,
			.host = f->host,
			.name = names,
			.emit = emit,
			.observe = flowstore_observe,
			.arg = a,
		};

		f->fl = flowlog_new(&o);
		if (!f->fl) {
			agent_log(LOG_ERR, "flow records: out of memory");
			return;
		}
		flowlog_set_records(f->fl, records);
		walk(a);
		flowstore_flush(a);
		f->last_walk = a->ticks;
	} else if (!want && f->fl) {
		flowlog_flush(f->fl);
		flowlog_free(f->fl);
		f->fl = NULL;
	}
}

void agent_flows_tick(struct agent *a)
{
	struct agent_flows *f = a->flows;

	if (!f)
		return;
	activate(a);
	if (f->fl && a->ticks - f->last_walk >= FLOWS_SCAN_S) {
		walk(a);
		flowstore_flush(a);
		f->last_walk = a->ticks;
	} else if (!f->fl && a->ticks % FLOWS_SCAN_S == 0) {
		flowstore_flush(a); /* retention, a store to open again */
	}
}

void agent_flows_walk_now(struct agent *a)
{
	struct agent_flows *f = a->flows;

	if (!f)
		return;
	activate(a);
	if (f->fl) {
		walk(a);
		f->last_walk = a->ticks;
	}
}

void agent_flows_stop(struct agent *a)
{
	struct agent_flows *f = a->flows;

	if (!f)
		return;
	if (f->fl) {
		flowlog_flush(f->fl);  /* the deny records counted so far */
		if (flowstore_on(a)) { /* what the flows carried since the last walk */
			flowlog_set_records(f->fl, false);
			walk(a);
		}
		flowlog_free(f->fl);
	}
	flowstore_stop(a);
	close_file(f);
	if (f->syslog)
		flowsink_syslog_close();
	if (f->ctl_open)
		xs_ctl_close(&f->ctl);
	free(f);
	a->flows = NULL;
}

int agent_flows_follow(struct agent *a, struct agent_client *c, struct json_object *reply)
{
	int err = server_stream_start(a, c, &flows_ops, NULL);

	if (err)
		return err;
	json_object_object_add(reply, "continues", json_object_new_boolean(1));
	json_object_object_add(reply, "stream", json_object_new_string("flows"));
	json_object_object_add(reply, "schema", json_object_new_int(FLOWLOG_SCHEMA));
	/* the current flows' begin records come with the next walk */
	if (a->flows && a->flows->fl) {
		flowlog_set_records(a->flows->fl, true);
		a->flows->last_walk = 0;
	}
	return 0;
}

struct json_object *agent_flows_status(struct agent *a)
{
	struct agent_flows *f = a->flows;
	struct json_object *o = json_object_new_object(), *rec;

	if (!f)
		return o;
	json_object_object_add(o, "active", json_object_new_boolean(f->fl != NULL));
	json_object_object_add(o, "live",
			       json_object_new_int64(f->fl ? (int64_t)flowlog_live(f->fl) : 0));
	json_object_object_add(o, "walks", json_object_new_int64((int64_t)f->walks));
	rec = json_object_new_object();
	for (int i = 0; i < 4; i++)
		json_object_object_add(rec, kinds[i],
				       json_object_new_int64((int64_t)f->records[i]));
	json_object_object_add(o, "records", rec);
	json_object_object_add(o, "file", f->file ? json_object_new_string(f->file_path) : NULL);
	if (f->file)
		json_object_object_add(
			o, "file_rotations",
			json_object_new_int64((int64_t)flowsink_file_rotations(f->file)));
	json_object_object_add(o, "file_error",
			       f->file_error[0] ? json_object_new_string(f->file_error) : NULL);
	json_object_object_add(o, "syslog", json_object_new_boolean(f->syslog));
	return o;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow records' bookkeeping (user/agent/flowlog.c) and file sink
 * (flowsink.c): which records a sequence of scans, end records and drops
 * gives, their exact text, the deny aggregation and its bound, and the
 * file's rotation by size.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent/flowlog.h"
#include "agent/flowsink.h"

#define SEC 1000000000ULL
#define MAXREC 64

static char rec[MAXREC][1024];
static char kinds[MAXREC][16];
static int nrec;

static void on_emit(void *arg, const char *kind, const char *line)
{
	(void)arg;
	cr_assert_lt(nrec, MAXREC);
	snprintf(rec[nrec], sizeof(rec[nrec]), "%s", line);
	snprintf(kinds[nrec], sizeof(kinds[nrec]), "%s", kind);
	nrec++;
}

static void on_name(void *arg, uint32_t gen, uint16_t rule_id, uint16_t src_seg, uint16_t dst_seg,
		    uint32_t ifindex, struct flowlog_names *n)
{
	(void)arg;
	snprintf(n->rule, sizeof(n->rule), "farm.policy:%u", rule_id);
	snprintf(n->src_seg, sizeof(n->src_seg), "seg%u", src_seg);
	snprintf(n->dst_seg, sizeof(n->dst_seg), "seg%u", dst_seg);
	if (ifindex)
		snprintf(n->iface, sizeof(n->iface), "vnet%u", ifindex);
	snprintf(n->policy_hash, sizeof(n->policy_hash), "h%u", gen);
}

static struct flowlog *fl_new(unsigned int update_s, unsigned int deny_s, size_t max_keys)
{
	struct flowlog_opts o = {
		.update_s = update_s,
		.deny_s = deny_s,
		.max_deny_keys = max_keys,
		.host = "hv1",
		/* datapath time 0 is 2026-11-26T00:00:00Z */
		.mono_to_real_ns = 1795651200LL * (int64_t)SEC,
		.name = on_name,
		.emit = on_emit,
	};
	struct flowlog *fl = flowlog_new(&o);

	cr_assert(fl);
	nrec = 0;
	return fl;
}

/* TCP 10.0.0.1:40000 -> 10.0.0.2:445 (side a is 10.0.0.1: the initiator). */
static struct flowlog_flow tcp_flow(uint64_t start, uint64_t expires)
{
	struct flowlog_flow f;

	memset(&f, 0, sizeof(f));
	f.key.family = 4;
	f.key.proto = IPPROTO_TCP;
	inet_pton(AF_INET, "10.0.0.1", f.key.addr_a);
	inet_pton(AF_INET, "10.0.0.2", f.key.addr_b);
	f.key.port_a = htons(40000);
	f.key.port_b = htons(445);
	f.ct_state = XS_CT_ESTABLISHED;
	f.verdict = XS_VERDICT_ALLOW;
	f.rule_id = 7;
	f.src_seg = 2;
	f.dst_seg = 3;
	f.generation = 4;
	f.ifindex = 5;
	f.start_ns = start;
	f.expires_ns = expires;
	return f;
}

static struct json_object *parse(int i)
{
	struct json_object *o = json_tokener_parse(rec[i]);

	cr_assert(o, "record %d is not JSON: %s", i, rec[i]);
	return o;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return json_object_get_string(v);
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return json_object_get_int64(v);
}

Test(flowlog, begin_record_exact_text)
{
	struct flowlog *fl = fl_new(60, 60, 16);
	struct flowlog_flow f = tcp_flow(10 * SEC, 100 * SEC);

	f.packets[0] = 3;
	f.bytes[0] = 180;
	f.packets[1] = 2;
	f.bytes[1] = 120;
	flowlog_scan_begin(fl, 11 * SEC);
	flowlog_scan_entry(fl, &f);
	flowlog_scan_end(fl);
	cr_assert_eq(nrec, 1);
	cr_assert_str_eq(kinds[0], "begin");
	cr_assert_str_eq(
		rec[0],
		"{\"schema\":1,\"kind\":\"begin\",\"state\":\"B\",\"time\":\"2026-11-26T00:00:10."
		"000Z\","
		"\"host\":\"hv1\",\"proto\":\"tcp\",\"src\":\"10.0.0.1\",\"sport\":40000,"
		"\"dst\":\"10.0.0.2\",\"dport\":445,\"iface\":\"vnet5\",\"direction\":\"ingress\","
		"\"src_segment\":\"seg2\",\"dst_segment\":\"seg3\",\"rule\":\"farm.policy:7\","
		"\"policy_hash\":\"h4\",\"generation\":4,\"verdict\":\"allow\","
		"\"ct_state\":\"established\",\"start\":\"2026-11-26T00:00:10.000Z\","
		"\"duration_ms\":0,\"packets_fwd\":3,\"bytes_fwd\":180,\"packets_rev\":2,"
		"\"bytes_rev\":120}");
	flowlog_free(fl);
}

Test(flowlog, update_after_interval_then_end_when_expired)
{
	struct flowlog *fl = fl_new(60, 60, 16);
	struct flowlog_flow f = tcp_flow(0, 1000 * SEC);
	struct json_object *o;

	for (uint64_t t = 5; t <= 125; t += 5) { /* a scan every 5 s */
		f.packets[0] = t;
		flowlog_scan_begin(fl, t * SEC);
		flowlog_scan_entry(fl, &f);
		flowlog_scan_end(fl);
	}
	/* begin at the first scan, an update at 65 s and 125 s */
	cr_assert_eq(nrec, 3);
	cr_assert_str_eq(kinds[0], "begin");
	cr_assert_str_eq(kinds[1], "update");
	cr_assert_str_eq(kinds[2], "update");
	o = parse(1);
	cr_assert_str_eq(str(o, "state"), "C");
	cr_assert_eq(num(o, "packets_fwd"), 65);
	cr_assert_eq(num(o, "duration_ms"), 65000);
	json_object_put(o);

	/* idle: its expiry passes */
	f.expires_ns = 126 * SEC;
	flowlog_scan_begin(fl, 130 * SEC);
	flowlog_scan_entry(fl, &f);
	flowlog_scan_end(fl);
	cr_assert_eq(nrec, 4);
	o = parse(3);
	cr_assert_str_eq(str(o, "kind"), "end");
	cr_assert_str_eq(str(o, "state"), "E");
	cr_assert_str_eq(str(o, "cause"), "timeout");
	cr_assert_str_eq(str(o, "time"), "2026-11-26T00:02:06.000Z");
	cr_assert_eq(num(o, "duration_ms"), 126000);
	json_object_put(o);
	cr_assert_eq(flowlog_live(fl), 0);

	/* still in its slot at the next scans: nothing more; then gone: nothing */
	flowlog_scan_begin(fl, 135 * SEC);
	flowlog_scan_entry(fl, &f);
	flowlog_scan_end(fl);
	flowlog_scan_begin(fl, 140 * SEC);
	flowlog_scan_end(fl);
	cr_assert_eq(nrec, 4);
	flowlog_free(fl);
}

Test(flowlog, datapath_end_record_then_scans)
{
	struct flowlog *fl = fl_new(60, 60, 16);
	struct flowlog_flow f = tcp_flow(10 * SEC, 200 * SEC);
	struct json_object *o;

	flowlog_scan_begin(fl, 11 * SEC);
	flowlog_scan_entry(fl, &f);
	flowlog_scan_end(fl);
	f.packets[0] = 10;
	f.bytes[0] = 5000;
	f.packets[1] = 8;
	f.bytes[1] = 70000;
	f.ct_state = XS_CT_CLOSED;
	flowlog_ended(fl, &f, FLOWLOG_END_FIN, 12 * SEC);
	cr_assert_eq(nrec, 2);
	o = parse(1);
	cr_assert_str_eq(str(o, "cause"), "fin");
	cr_assert_str_eq(str(o, "ct_state"), "closed");
	cr_assert_eq(num(o, "bytes_rev"), 70000);
	cr_assert_eq(num(o, "duration_ms"), 2000);
	json_object_put(o);
	/* a second record for the same flow (a retransmitted FIN): ignored */
	flowlog_ended(fl, &f, FLOWLOG_END_FIN, 13 * SEC);
	/* the closed entry stays in its slot until it expires: no record */
	flowlog_scan_begin(fl, 15 * SEC);
	flowlog_scan_entry(fl, &f);
	flowlog_scan_end(fl);
	cr_assert_eq(nrec, 2);
	flowlog_free(fl);
}

Test(flowlog, end_of_a_flow_no_scan_saw_has_its_begin)
{
	struct flowlog *fl = fl_new(60, 60, 16);
	struct flowlog_flow f = tcp_flow(10 * SEC, 200 * SEC);

	f.init_b = true; /* 10.0.0.2:445 started it */
	flowlog_ended(fl, &f, FLOWLOG_END_RST, 11 * SEC);
	cr_assert_eq(nrec, 2);
	cr_assert_str_eq(kinds[0], "begin");
	cr_assert_str_eq(kinds[1], "end");
	struct json_object *o = parse(1);
	cr_assert_str_eq(str(o, "src"), "10.0.0.2");
	cr_assert_eq(num(o, "sport"), 445);
	cr_assert_str_eq(str(o, "dst"), "10.0.0.1");
	cr_assert_str_eq(str(o, "cause"), "rst");
	json_object_put(o);
	flowlog_free(fl);
}

Test(flowlog, vanished_flow_ends_removed_and_reused_slot_is_a_new_flow)
{
	struct flowlog *fl = fl_new(60, 60, 16);
	struct flowlog_flow f = tcp_flow(10 * SEC, 200 * SEC);
	struct flowlog_flow g = f;

	g.start_ns = 20 * SEC; /* the same tuple again, later */
	flowlog_scan_begin(fl, 11 * SEC);
	flowlog_scan_entry(fl, &f);
	flowlog_scan_end(fl);
	flowlog_scan_begin(fl, 21 * SEC);
	flowlog_scan_entry(fl, &g);
	flowlog_scan_end(fl);
	cr_assert_eq(nrec, 3);
	cr_assert_str_eq(kinds[1], "begin");
	cr_assert_str_eq(kinds[2], "end");
	struct json_object *o = parse(2);
	cr_assert_str_eq(str(o, "cause"), "removed");
	cr_assert_str_eq(str(o, "start"), "2026-11-26T00:00:10.000Z");
	json_object_put(o);
	cr_assert_eq(flowlog_live(fl), 1);
	flowlog_free(fl);
}

Test(flowlog, denied_flood_is_one_record_per_interval)
{
	struct flowlog *fl = fl_new(60, 10, 16);
	struct flowlog_drop d;
	struct json_object *o;

	memset(&d, 0, sizeof(d));
	d.family = 4;
	d.proto = IPPROTO_TCP;
	d.reason = XS_REASON_DEFAULT_IN;
	inet_pton(AF_INET, "10.9.0.1", d.src);
	inet_pton(AF_INET, "10.0.0.2", d.dst);
	d.dport = 23;
	d.rule_id = 0;
	d.generation = 4;
	d.ifindex = 5;
	d.len = 60;
	for (int i = 0; i < 5000; i++) {
		d.ts_ns = 100 * SEC + (uint64_t)i * 1000000; /* 5 s of drops */
		flowlog_dropped(fl, &d);
		flowlog_tick(fl, d.ts_ns);
	}
	cr_assert_eq(nrec, 0);
	flowlog_tick(fl, 110 * SEC);
	cr_assert_eq(nrec, 1);
	o = parse(0);
	cr_assert_str_eq(str(o, "kind"), "deny");
	cr_assert_str_eq(str(o, "state"), "D");
	cr_assert_str_eq(str(o, "src"), "10.9.0.1");
	cr_assert_eq(num(o, "dport"), 23);
	cr_assert_eq(num(o, "count"), 5000);
	cr_assert_eq(num(o, "bytes"), 300000);
	cr_assert_eq(num(o, "interval_s"), 10);
	cr_assert_str_eq(str(o, "reason"), "default-in");
	cr_assert_str_eq(str(o, "start"), "2026-11-26T00:01:40.000Z");
	json_object_put(o);
	flowlog_free(fl);
}

Test(flowlog, denials_past_the_bound_are_one_overflow_record)
{
	struct flowlog *fl = fl_new(60, 10, 4);
	struct flowlog_drop d;
	int deny = 0, over = 0;
	int64_t counted = 0;

	memset(&d, 0, sizeof(d));
	d.family = 4;
	d.proto = IPPROTO_TCP;
	d.dport = 23;
	inet_pton(AF_INET, "10.0.0.2", d.dst);
	for (int i = 0; i < 100; i++) { /* 100 spoofed sources */
		d.src[0] = 10;
		d.src[1] = 99;
		d.src[3] = (uint8_t)i;
		d.ts_ns = SEC + (uint64_t)i;
		d.len = 60;
		flowlog_dropped(fl, &d);
	}
	flowlog_flush(fl);
	for (int i = 0; i < nrec; i++) {
		struct json_object *o = parse(i), *v;

		counted += num(o, "count");
		if (json_object_object_get_ex(o, "overflow", &v)) {
			over++;
			cr_assert_eq(num(o, "count"), 96);
		} else {
			deny++;
		}
		json_object_put(o);
	}
	cr_assert_eq(deny, 4);
	cr_assert_eq(over, 1);
	cr_assert_eq(counted, 100);
	flowlog_free(fl);
}

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/xs-flowsink-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* Lines of a file (each checked to be one whole JSON object), -1: none. */
static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct json_object *o;

		cr_assert(strchr(line, '\n'), "a cut line in %s", path);
		o = json_tokener_parse(line);
		cr_assert(o, "not JSON in %s: %s", path, line);
		json_object_put(o);
		n++;
	}
	fclose(f);
	return n;
}

Test(flowsink, rotates_by_size_and_keeps_n, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct flowsink_file *f;
	char path[128], p[160], err[256];
	int total = 0;

	snprintf(path, sizeof(path), "%s/flows.ndjson", dir);
	cr_assert_eq(flowsink_file_open(&f, path, 100, 2, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 10; i++) { /* 30-byte lines: 3 per file */
		char line[64];

		snprintf(line, sizeof(line), "{\"schema\":1,\"n\":%d,\"x\":\"abcd\"}", i);
		cr_assert_eq(strlen(line), 29);
		cr_assert_eq(flowsink_file_write(f, line), 0);
	}
	cr_assert_eq(flowsink_file_records(f), 10);
	cr_assert_eq(flowsink_file_rotations(f), 3);
	flowsink_file_close(f);
	cr_assert_eq(count_lines(path), 1); /* record 9 */
	snprintf(p, sizeof(p), "%s.1", path);
	cr_assert_eq(count_lines(p), 3); /* 6..8 */
	snprintf(p, sizeof(p), "%s.2", path);
	cr_assert_eq(count_lines(p), 3); /* 3..5 */
	snprintf(p, sizeof(p), "%s.3", path);
	cr_assert_eq(count_lines(p), -1);
	total = count_lines(path);
	cr_assert_eq(total, 1);
}

Test(flowsink, unwritable_path_is_a_clear_error, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct flowsink_file *f;
	char path[128], err[256], want[256];

	snprintf(path, sizeof(path), "%s/missing/flows.ndjson", dir);
	cr_assert_eq(flowsink_file_open(&f, path, 0, 0, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "cannot open the flow log %s: No such file or directory",
		 path);
	cr_assert_str_eq(err, want);
	cr_assert_null(f);
}

/* ---- Observations (the flow store's) ---------------------------------------- */

#define MAXOBS 16
static struct flowlog_obs obs[MAXOBS];
static char obs_rule[MAXOBS][600];
static int nobs;

static void on_observe(void *arg, const struct flowlog_obs *o)
{
	(void)arg;
	cr_assert_lt(nobs, MAXOBS);
	obs[nobs] = *o;
	snprintf(obs_rule[nobs], sizeof(obs_rule[nobs]), "%s %s>%s %s", o->names->rule,
		 o->names->src_seg, o->names->dst_seg, o->names->iface);
	obs[nobs].names = NULL;
	nobs++;
}

static struct flowlog *fl_observing(void)
{
	struct flowlog_opts o = {
		.update_s = 60,
		.deny_s = 60,
		.max_deny_keys = 16,
		.host = "hv1",
		.mono_to_real_ns = 1795651200LL * (int64_t)SEC,
		.name = on_name,
		.emit = on_emit,
		.observe = on_observe,
	};
	struct flowlog *fl = flowlog_new(&o);

	cr_assert(fl);
	nrec = nobs = 0;
	return fl;
}

static void scan(struct flowlog *fl, uint64_t now, const struct flowlog_flow *f)
{
	flowlog_scan_begin(fl, now);
	if (f)
		flowlog_scan_entry(fl, f);
	flowlog_scan_end(fl);
}

Test(flowlog, observations_begin_then_deltas_with_the_initiator_as_source)
{
	struct flowlog *fl = fl_observing();
	struct flowlog_flow f = tcp_flow(10 * SEC, 1000 * SEC);

	/* side b initiated: 10.0.0.2:445 is the client, 10.0.0.1:40000 the server */
	f.init_b = true;
	f.packets[0] = 3;
	f.bytes[0] = 300;
	f.packets[1] = 2;
	f.bytes[1] = 100;
	scan(fl, 12 * SEC, &f);
	cr_assert_eq(nobs, 1);
	cr_assert_eq(obs[0].connections, 1);
	cr_assert_eq(obs[0].packets, 5);
	cr_assert_eq(obs[0].bytes, 400);
	cr_assert_eq(obs[0].port, 40000, "the responder's port, not the initiator's");
	cr_assert_eq(memcmp(obs[0].src, "\x0a\x00\x00\x02", 4), 0);
	cr_assert_eq(memcmp(obs[0].dst, "\x0a\x00\x00\x01", 4), 0);
	cr_assert_eq(obs[0].time, 1795651200LL + 10);
	cr_assert_eq(obs[0].verdict, XS_VERDICT_ALLOW);
	cr_assert_eq(obs[0].generation, 4);
	cr_assert_str_eq(obs_rule[0], "farm.policy:7 seg2>seg3 vnet5");

	scan(fl, 17 * SEC, &f); /* nothing new: nothing observed */
	cr_assert_eq(nobs, 1);
	f.packets[1] = 7;
	f.bytes[1] = 600;
	scan(fl, 22 * SEC, &f); /* every scan, not only with an update record */
	cr_assert_eq(nobs, 2);
	cr_assert_eq(obs[1].connections, 0);
	cr_assert_eq(obs[1].packets, 5);
	cr_assert_eq(obs[1].bytes, 500);
	cr_assert_eq(obs[1].time, 1795651200LL + 22);
	cr_assert_eq(nrec, 1, "only the begin record went out");

	/* ended by the datapath with more packets: the last delta */
	f.packets[0] = 4;
	f.bytes[0] = 360;
	flowlog_ended(fl, &f, FLOWLOG_END_FIN, 25 * SEC);
	cr_assert_eq(nobs, 3);
	cr_assert_eq(obs[2].packets, 1);
	cr_assert_eq(obs[2].bytes, 60);
	cr_assert_eq(obs[2].time, 1795651200LL + 25);
	scan(fl, 27 * SEC, &f);
	scan(fl, 32 * SEC, NULL);
	cr_assert_eq(nobs, 3);
	flowlog_free(fl);
}

Test(flowlog, observations_of_icmp_other_protocols_and_drops)
{
	struct flowlog *fl = fl_observing();
	struct flowlog_flow f = tcp_flow(10 * SEC, 1000 * SEC);
	struct flowlog_drop d;

	f.key.proto = IPPROTO_ICMP;
	f.key.port_a = f.key.port_b = htons(777); /* the echo's identifier */
	f.icmp_type = 8;
	f.verdict = XS_VERDICT_AUDIT;
	scan(fl, 11 * SEC, &f);
	cr_assert_eq(nobs, 1);
	cr_assert_eq(obs[0].port, 8, "ICMP: the type");
	cr_assert_eq(obs[0].verdict, XS_VERDICT_AUDIT);
	f = tcp_flow(10 * SEC, 1000 * SEC);
	f.key.proto = 47; /* GRE: no ports */
	f.key.port_a = f.key.port_b = 0;
	scan(fl, 12 * SEC, &f);
	cr_assert_eq(nobs, 2);
	cr_assert_eq(obs[1].port, -1);

	/* records off (only the store listens): observations only */
	flowlog_set_records(fl, false);
	memset(&d, 0, sizeof(d));
	d.family = 4;
	d.proto = IPPROTO_UDP;
	inet_pton(AF_INET, "10.0.0.9", d.src);
	inet_pton(AF_INET, "10.0.0.2", d.dst);
	d.dport = 9999;
	d.rule_id = 1;
	d.src_seg = 0;
	d.dst_seg = 3;
	d.generation = 4;
	d.len = 52;
	d.ts_ns = 13 * SEC;
	nrec = 0;
	flowlog_dropped(fl, &d);
	flowlog_dropped(fl, &d);
	flowlog_flush(fl);
	cr_assert_eq(nrec, 0, "no deny record while records are off");
	cr_assert_eq(nobs, 4, "one observation per dropped packet");
	cr_assert_eq(obs[2].verdict, XS_VERDICT_DROP);
	cr_assert_eq(obs[2].connections, 1);
	cr_assert_eq(obs[2].packets, 1);
	cr_assert_eq(obs[2].bytes, 52);
	cr_assert_eq(obs[2].port, 9999);
	cr_assert_eq(obs[2].time, 1795651200LL + 13);
	cr_assert_eq(memcmp(obs[2].src, "\x0a\x00\x00\x09", 4), 0);
	cr_assert_str_eq(obs_rule[2], "farm.policy:1 seg0>seg3 ");
	d.proto = IPPROTO_ICMP;
	d.dport = 8;
	flowlog_dropped(fl, &d);
	cr_assert_eq(obs[4].port, 8);
	flowlog_set_records(fl, true);
	flowlog_dropped(fl, &d);
	flowlog_flush(fl);
	cr_assert_eq(nrec, 1, "records on again: the deny record");
	flowlog_free(fl);
}

Test(flowlog, records_turned_on_tell_the_known_flows_begin)
{
	struct flowlog *fl = fl_observing();
	struct flowlog_flow f = tcp_flow(10 * SEC, 1000 * SEC), g = tcp_flow(10 * SEC, 1000 * SEC);

	g.key.port_a = htons(40001);
	flowlog_set_records(fl, false); /* only the store listens */
	flowlog_scan_begin(fl, 13 * SEC);
	flowlog_scan_entry(fl, &f);
	flowlog_scan_entry(fl, &g);
	flowlog_scan_end(fl);
	cr_assert_eq(nrec, 0);
	cr_assert_eq(nobs, 2);
	flowlog_set_records(fl, true);			  /* a follower came */
	flowlog_ended(fl, &g, FLOWLOG_END_FIN, 16 * SEC); /* g: its begin, then its end */
	cr_assert_eq(nrec, 2);
	cr_assert_str_eq(kinds[0], "begin");
	cr_assert_str_eq(kinds[1], "end");
	scan(fl, 17 * SEC, &f); /* f: its begin at the next scan */
	cr_assert_eq(nrec, 3);
	cr_assert_str_eq(kinds[2], "begin");
	scan(fl, 22 * SEC, &f);
	cr_assert_eq(nrec, 3, "told once");
	cr_assert_eq(nobs, 2, "nothing new carried: nothing observed");
	flowlog_free(fl);
}

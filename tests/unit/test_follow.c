// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A host following its fleet (user/fleet/follow.c) against a real etcd
 * (tests/unit/follow.sh starts it: XS_ETCD_URL): a pointer put by the test
 * reaches apply() with exactly the artefact's bytes (three chunks, in
 * order), and the report lands under status/HOST with a lease and under
 * seen/HOST without; a bundle whose bytes do not hash to the pointer's hash
 * is never applied and is reported failing; a watch compacted past its
 * revision reads again; an etcd stopped is LOST (once), and started again
 * on the same port the follower catches up. Each test has a fleet of its
 * own (Criterion runs them side by side).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet/etcd.h"
#include "fleet/fleet.h"
#include "fleet/follow.h"

/* What the follower did, as its callbacks saw it. */
struct seen {
	int applies;
	unsigned char *bytes; /* the last artefact applied */
	size_t len;
	uint64_t generation;
	int events[XS_FOLLOW_REPORT_FAILED + 1];
	int reported;
	char last_state[16];
	char last_hash[65];
	int apply_ret; /* what apply() answers */
	/* compaction test: at the first CONNECTED, compact past the read */
	bool compact_at_connect;
	struct xs_etcd_sync *sync;
	const char *fleet;
};

static CURLM *multi;
static struct xs_etcd *etcd;
static struct xs_etcd_sync *sync_c;
static char url[256];
static pid_t own_etcd; /* a test's own etcd (the outage test) */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int op_apply(void *arg, const struct xs_fleet_pointer *p, const void *b, size_t len,
		    char *err, size_t errlen)
{
	struct seen *s = arg;

	if (s->apply_ret) {
		snprintf(err, errlen, "refused by the test");
		return s->apply_ret;
	}
	free(s->bytes);
	s->bytes = malloc(len);
	cr_assert(s->bytes);
	memcpy(s->bytes, b, len);
	s->len = len;
	s->generation = p->generation;
	s->applies++;
	return 0;
}

static void op_event(void *arg, enum xs_follow_event ev, const char *msg)
{
	struct seen *s = arg;
	struct xs_etcd_result r = { 0 };
	char key[256];

	s->events[ev]++;
	if (ev == XS_FOLLOW_CONNECTED && s->compact_at_connect) {
		/* The watch is asked for, not sent yet: move the store on and
		 * compact past the read's revision. */
		s->compact_at_connect = false;
		snprintf(key, sizeof(key), "/xdpseg/v1/%s/unrelated", s->fleet);
		cr_assert_eq(xs_etcd_sync_put(s->sync, key, "x", 1, 0, &r), 0, "%s", r.msg);
		cr_assert_eq(xs_etcd_sync_put(s->sync, key, "y", 1, 0, &r), 0, "%s", r.msg);
		cr_assert_eq(xs_etcd_sync_compact(s->sync, r.revision, &r), 0, "%s", r.msg);
		xs_etcd_result_free(&r);
	}
}

static void op_reported(void *arg, const struct xs_fleet_report *r, int64_t now)
{
	struct seen *s = arg;

	s->reported++;
	snprintf(s->last_state, sizeof(s->last_state), "%s", r->state);
	snprintf(s->last_hash, sizeof(s->last_hash), "%s", r->hash);
}

static const struct xs_follow_ops ops = {
	.apply = op_apply,
	.event = op_event,
	.reported = op_reported,
};

static void client_new(void)
{
	struct xs_etcd_opts o = { 0 };
	char err[XS_ETCD_ERR_LEN], buf[256];

	snprintf(buf, sizeof(buf), "%s", url);
	cr_assert_eq(xs_etcd_parse_endpoints(buf, &o, err, sizeof(err)), 0, "%s", err);
	o.timeout_ms = 2000;
	o.connect_timeout_ms = 500;
	multi = curl_multi_init();
	cr_assert(multi);
	cr_assert_eq(xs_etcd_new(multi, &o, &etcd, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(xs_etcd_sync_new(&o, &sync_c, err, sizeof(err)), 0, "%s", err);
}

static void setup(void)
{
	const char *u = getenv("XS_ETCD_URL");

	cr_assert(u, "run by tests/unit/follow.sh (XS_ETCD_URL)");
	snprintf(url, sizeof(url), "%s", u);
	client_new();
}

static void stop_own_etcd(void)
{
	if (own_etcd <= 0)
		return;
	kill(own_etcd, SIGTERM);
	for (int i = 0; i < 100 && kill(own_etcd, 0) == 0; i++)
		usleep(50000);
	own_etcd = 0;
}

static void teardown(void)
{
	xs_etcd_sync_free(sync_c);
	xs_etcd_free(etcd);
	if (multi)
		curl_multi_cleanup(multi);
	stop_own_etcd();
}

/* Drive the multi and the follower until cond(s) or `ms` passed. */
static bool run_until(struct xs_follow *f, struct seen *s, bool (*cond)(struct seen *, void *),
		      void *ctx, int ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end) {
		int64_t next = xs_follow_next_ms(f), wait;
		CURLMsg *m;
		int running, left;

		xs_follow_tick(f, now_ms());
		if (cond(s, ctx))
			return true;
		wait = next - now_ms();
		wait = wait < 0 ? 0 : wait > 50 ? 50 : wait;
		curl_multi_poll(multi, NULL, 0, (int)wait, NULL);
		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &left)))
			if (m->msg == CURLMSG_DONE)
				xs_etcd_done(etcd, m->easy_handle, m->data.result);
	}
	return cond(s, ctx);
}

static bool applied_n(struct seen *s, void *ctx)
{
	return s->applies >= *(int *)ctx;
}

static bool event_n(struct seen *s, void *ctx)
{
	const int *want = ctx; /* {event, count} */

	return s->events[want[0]] >= want[1];
}

static bool reported_hash(struct seen *s, void *ctx)
{
	return s->reported && !strcmp(s->last_hash, ctx) && !strcmp(s->last_state, "current");
}

static bool reported_state(struct seen *s, void *ctx)
{
	return s->reported && !strcmp(s->last_state, ctx);
}

/* Bytes that are not all alike (a chunk out of order would show). */
static unsigned char *artefact(size_t len, unsigned int seed)
{
	unsigned char *b = malloc(len);

	cr_assert(b);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (unsigned char)(seed >> 16);
	}
	return b;
}

/*
 * Publish by hand: the chunks of `b`, then the pointer (generation `gen`);
 * `hash` NULL: b's own, else the one the pointer claims.
 */
static void publish(const char *fleet, const unsigned char *b, size_t len, uint64_t gen,
		    const char *hash, char out_hash[65])
{
	struct xs_fleet_pointer p = { 0 };
	struct xs_etcd_result r = { 0 };
	char key[256], real[65];
	char *json = NULL;

	xs_fleet_hash(b, len, real);
	snprintf(p.hash, sizeof(p.hash), "%s", hash ? hash : real);
	p.generation = gen;
	p.size = len;
	p.chunks = (uint32_t)((len + XS_FLEET_CHUNK - 1) / XS_FLEET_CHUNK);
	snprintf(p.author, sizeof(p.author), "test_follow");
	p.time_ms = (int64_t)time(NULL) * 1000;
	p.time = p.time_ms / 1000;
	snprintf(p.file, sizeof(p.file), "test.policy");
	for (uint32_t i = 0; i < p.chunks; i++) {
		size_t o = (size_t)i * XS_FLEET_CHUNK, n = len - o;

		n = n > XS_FLEET_CHUNK ? XS_FLEET_CHUNK : n;
		xs_fleet_key_chunk(key, sizeof(key), fleet, p.hash, i);
		cr_assert_eq(xs_etcd_sync_put(sync_c, key, b + o, n, 0, &r), 0, "%s", r.msg);
		xs_etcd_result_free(&r);
	}
	cr_assert_eq(xs_fleet_pointer_json(&p, &json), 0);
	xs_fleet_key_current(key, sizeof(key), fleet);
	cr_assert_eq(xs_etcd_sync_put(sync_c, key, json, strlen(json), 0, &r), 0, "%s", r.msg);
	xs_etcd_result_free(&r);
	free(json);
	if (out_hash)
		snprintf(out_hash, 65, "%s", p.hash);
}

static struct xs_follow *follower(const char *fleet, struct seen *s)
{
	struct xs_follow_opts o = {
		.fleet = fleet,
		.host = "h1",
		.report_s = 1,
		.ttl_s = 3,
		.backoff_min_ms = 100,
		.backoff_max_ms = 800,
		.seed = 7,
	};
	struct xs_follow *f;

	s->fleet = fleet;
	s->sync = sync_c;
	cr_assert_eq(xs_follow_new(etcd, &o, &ops, s, &f), 0);
	return f;
}

/* The report under KEY: present, parsed; its lease. */
static int64_t report_at(const char *key, struct xs_fleet_report *rep)
{
	struct xs_etcd_result r = { 0 };
	char err[256];
	int64_t lease;

	cr_assert_eq(xs_etcd_sync_range(sync_c, key, false, 0, &r), 0, "%s", r.msg);
	cr_assert_eq(r.nkvs, 1, "%s: no report", key);
	cr_assert_eq(xs_fleet_report_parse(r.kvs[0].value, r.kvs[0].len, rep, err, sizeof(err)), 0,
		     "%s", err);
	lease = r.kvs[0].lease;
	xs_etcd_result_free(&r);
	return lease;
}

TestSuite(follow, .init = setup, .fini = teardown, .timeout = 60);

Test(follow, applies_the_bytes_and_reports)
{
	size_t len = 2 * XS_FLEET_CHUNK + 1000; /* three chunks */
	unsigned char *b1 = artefact(len, 1), *b2 = artefact(5000, 2);
	struct seen s = { 0 };
	struct xs_fleet_report rep;
	struct xs_follow_status st;
	char h1[65], h2[65], key[256];
	struct xs_follow *f;
	int one = 1, two = 2;

	publish("t-apply", b1, len, 1, NULL, h1);
	f = follower("t-apply", &s);
	xs_follow_start(f, now_ms());
	cr_assert(run_until(f, &s, applied_n, &one, 10000), "not applied");
	cr_assert_eq(s.len, len);
	cr_assert_eq(memcmp(s.bytes, b1, len), 0, "apply() got other bytes");
	cr_assert_eq(s.generation, 1);
	cr_assert(run_until(f, &s, reported_hash, h1, 5000), "no report of %s", h1);

	xs_fleet_key_status(key, sizeof(key), "t-apply", "h1");
	cr_assert_neq(report_at(key, &rep), 0, "status/h1 without a lease");
	cr_assert_str_eq(rep.hash, h1);
	cr_assert_str_eq(rep.state, "current");
	cr_assert_eq(rep.generation, 1);
	cr_assert_str_eq(rep.host, "h1");
	xs_fleet_key_seen(key, sizeof(key), "t-apply", "h1");
	cr_assert_eq(report_at(key, &rep), 0, "seen/h1 with a lease");
	cr_assert_str_eq(rep.hash, h1);

	/* A second publish comes through the watch. */
	publish("t-apply", b2, 5000, 2, NULL, h2);
	cr_assert(run_until(f, &s, applied_n, &two, 10000), "generation 2 not applied");
	cr_assert_eq(s.len, 5000);
	cr_assert_eq(memcmp(s.bytes, b2, 5000), 0);
	cr_assert(run_until(f, &s, reported_hash, h2, 5000));
	xs_follow_status(f, &st);
	cr_assert(st.connected);
	cr_assert_eq(st.generation, 2);
	cr_assert_str_eq(st.hash, h2);
	cr_assert_eq(st.applies, 2);
	cr_assert_eq(st.failures, 0);
	cr_assert_eq(s.events[XS_FOLLOW_LOST], 0);
	cr_assert_eq(s.events[XS_FOLLOW_CONNECTED], 1);

	/* A follower that enforces the current hash already fetches nothing. */
	{
		struct xs_follow_opts o = { .fleet = "t-apply", .host = "h2", .last_hash = h2 };
		struct seen s2 = { 0 };
		struct xs_follow *g;

		cr_assert_eq(xs_follow_new(etcd, &o, &ops, &s2, &g), 0);
		xs_follow_start(g, now_ms());
		cr_assert(run_until(g, &s2, reported_hash, h2, 5000));
		cr_assert_eq(s2.applies, 0);
		xs_follow_free(g);
	}
	xs_follow_free(f);
	free(s.bytes);
	free(b1);
	free(b2);
}

Test(follow, a_hash_mismatch_is_never_applied)
{
	unsigned char *good = artefact(3000, 3), *other = artefact(3000, 4);
	struct seen s = { 0 };
	struct xs_fleet_report rep;
	struct xs_follow_status st;
	char claimed[65], key[256], h[65];
	struct xs_follow *f;
	int failed[2] = { XS_FOLLOW_FAILED, 1 }, one = 1;

	/* The pointer claims `good`'s hash; the chunks hold other bytes. */
	xs_fleet_hash(good, 3000, claimed);
	publish("t-mismatch", other, 3000, 1, claimed, NULL);
	f = follower("t-mismatch", &s);
	xs_follow_start(f, now_ms());
	cr_assert(run_until(f, &s, event_n, failed, 10000), "no FAILED");
	cr_assert(run_until(f, &s, reported_state, "failing", 5000), "not reported failing");
	cr_assert_eq(s.applies, 0, "a mismatching bundle was applied");
	xs_fleet_key_status(key, sizeof(key), "t-mismatch", "h1");
	report_at(key, &rep);
	cr_assert_str_eq(rep.state, "failing");
	cr_assert(strstr(rep.error, "hash mismatch"), "error: %s", rep.error);
	cr_assert_str_eq(rep.hash, "");
	xs_follow_status(f, &st);
	cr_assert_eq(st.failures, 1);

	/* Not tried again until the pointer moves (reports go on: >= 2 s). */
	run_until(f, &s, event_n, (int[]){ XS_FOLLOW_FAILED, 2 }, 2500);
	cr_assert_eq(s.events[XS_FOLLOW_FAILED], 1, "the same hash was tried again");

	/* An apply that fails: reported failing with its error, not retried. */
	s.apply_ret = -EIO;
	publish("t-mismatch", good, 3000, 2, NULL, h);
	cr_assert(run_until(f, &s, event_n, (int[]){ XS_FOLLOW_FAILED, 2 }, 10000));
	run_until(f, &s, reported_state, "never", 1500);
	report_at(key, &rep);
	cr_assert_str_eq(rep.state, "failing");
	cr_assert(strstr(rep.error, "refused by the test"), "error: %s", rep.error);
	cr_assert_eq(s.events[XS_FOLLOW_FAILED], 2);

	/* The pointer moves: a good bundle applies, the error is gone. */
	s.apply_ret = 0;
	publish("t-mismatch", other, 3000, 3, NULL, h);
	cr_assert(run_until(f, &s, applied_n, &one, 10000));
	cr_assert(run_until(f, &s, reported_hash, h, 5000));
	report_at(key, &rep);
	cr_assert_str_eq(rep.error, "");
	xs_follow_free(f);
	free(s.bytes);
	free(good);
	free(other);
}

Test(follow, a_compacted_watch_reads_again)
{
	unsigned char *b1 = artefact(1000, 5), *b2 = artefact(1000, 6);
	struct seen s = { 0 };
	struct xs_follow_status st;
	struct xs_follow *f;
	char h2[65];
	int comp[2] = { XS_FOLLOW_COMPACTED, 1 }, two = 2, one = 1;

	publish("t-compact", b1, 1000, 1, NULL, NULL);
	f = follower("t-compact", &s);
	s.compact_at_connect = true;
	xs_follow_start(f, now_ms());
	cr_assert(run_until(f, &s, event_n, comp, 10000), "no COMPACTED");
	cr_assert(run_until(f, &s, applied_n, &one, 10000));
	/* Watching again from the new read: a publish still arrives. */
	publish("t-compact", b2, 1000, 2, NULL, h2);
	cr_assert(run_until(f, &s, applied_n, &two, 10000), "nothing after the compaction");
	cr_assert_eq(memcmp(s.bytes, b2, 1000), 0);
	xs_follow_status(f, &st);
	cr_assert_eq(st.compactions, 1);
	cr_assert_eq(s.events[XS_FOLLOW_LOST], 0, "a compaction is not an outage");
	xs_follow_free(f);
	free(s.bytes);
	free(b1);
	free(b2);
}

/* Start (or start again, on `port`) an etcd of this test's own. */
static void own_start(const char *dir, const char *port)
{
	char cmd[1024], line[512];
	FILE *p;
	int pid = 0;

	snprintf(cmd, sizeof(cmd), "%s start %s %s", getenv("XS_ETCD_CTL"), dir, port ? port : "");
	p = popen(cmd, "r");
	cr_assert(p);
	cr_assert(fgets(line, sizeof(line), p), "etcd did not start");
	pclose(p);
	cr_assert_eq(sscanf(line, "%255s %d", url, &pid), 2, "%s", line);
	own_etcd = pid;
}

Test(follow, an_outage_is_lost_then_caught_up)
{
	unsigned char *b1 = artefact(1000, 7), *b2 = artefact(1000, 8);
	const char *tmp = getenv("XS_TEST_TMP");
	struct xs_follow_status st;
	struct seen s = { 0 };
	char dir[512], port[16], h2[65];
	struct xs_follow *f;
	int lost[2] = { XS_FOLLOW_LOST, 1 }, one = 1, two = 2;

	cr_assert(tmp && getenv("XS_ETCD_CTL"));
	snprintf(dir, sizeof(dir), "%s/own", tmp);
	/* this test's etcd, not the shared one */
	xs_etcd_sync_free(sync_c);
	xs_etcd_free(etcd);
	curl_multi_cleanup(multi);
	own_start(dir, NULL);
	snprintf(port, sizeof(port), "%s", strrchr(url, ':') + 1);
	client_new();

	publish("t-outage", b1, 1000, 1, NULL, NULL);
	f = follower("t-outage", &s);
	xs_follow_start(f, now_ms());
	cr_assert(run_until(f, &s, applied_n, &one, 10000));

	stop_own_etcd();
	cr_assert(run_until(f, &s, event_n, lost, 10000), "no LOST");
	xs_follow_status(f, &st);
	cr_assert(!st.connected);
	cr_assert_eq(st.generation, 1, "an outage changed what is enforced");
	/* Failed retries and reports: LOST said once. */
	run_until(f, &s, event_n, (int[]){ XS_FOLLOW_LOST, 2 }, 2000);
	cr_assert_eq(s.events[XS_FOLLOW_LOST], 1);

	own_start(dir, port);
	publish("t-outage", b2, 1000, 2, NULL, h2);
	cr_assert(run_until(f, &s, applied_n, &two, 10000), "not caught up");
	cr_assert(run_until(f, &s, reported_hash, h2, 5000));
	xs_follow_status(f, &st);
	cr_assert(st.connected);
	cr_assert_eq(st.generation, 2);
	cr_assert_geq(st.reconnects, 1);
	cr_assert_eq(s.events[XS_FOLLOW_CONNECTED], 2);
	xs_follow_free(f);
	free(s.bytes);
	free(b1);
	free(b2);
}

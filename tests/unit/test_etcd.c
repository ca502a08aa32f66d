// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* user/fleet/etcd.c against a real etcd ($ETCD_URL), one whose auth is
 * turned on here ($ETCD_AUTH_URL), and a hostile fake ($ETCD_FAKE, python):
 * run by etcd-unit.sh, one test at a time. Each test keeps to its own keys. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fleet/etcd.h"
#include "obs/b64.h"

static char err[256];

static const char *url(const char *var)
{
	const char *u = getenv(var);

	cr_assert(u && *u, "%s is not set (run through etcd-unit.sh)", var);
	return u;
}

static struct xs_etcd_sync *sync_client(const char *const *eps, size_t n, const char *user,
					const char *password, const char *token)
{
	struct xs_etcd_opts o = {
		.nendpoints = n, .user = user, .password = password, .token = token
	};
	struct xs_etcd_sync *s;

	for (size_t i = 0; i < n; i++)
		o.endpoints[i] = eps[i];
	cr_assert_eq(xs_etcd_sync_new(&o, &s, err, sizeof(err)), 0, "%s", err);
	return s;
}

static struct xs_etcd_sync *sync_main(void)
{
	const char *ep = url("ETCD_URL");

	return sync_client(&ep, 1, NULL, NULL, NULL);
}

static int64_t put(struct xs_etcd_sync *s, const char *key, const char *value)
{
	struct xs_etcd_result r;

	cr_assert_eq(xs_etcd_sync_put(s, key, value, strlen(value), 0, &r), 0, "%s", r.msg);
	cr_assert_gt(r.revision, 0);
	return r.revision;
}

static int64_t del(struct xs_etcd_sync *s, const char *key)
{
	struct xs_etcd_op op = { .kind = XS_ETCD_DELETE, .key = key };
	struct xs_etcd_result r;

	cr_assert_eq(xs_etcd_sync_txn(s, NULL, 0, &op, 1, &r), 0, "%s", r.msg);
	cr_assert(r.succeeded);
	return r.revision;
}

/* The value of `key` (NULL: no such key), its length in *len. */
static char *get(struct xs_etcd_sync *s, const char *key, size_t *len)
{
	struct xs_etcd_result r;
	char *v = NULL;

	cr_assert_eq(xs_etcd_sync_range(s, key, false, 0, &r), 0, "%s", r.msg);
	cr_assert_leq(r.nkvs, 1);
	if (r.nkvs) {
		cr_assert_str_eq(r.kvs[0].key, key);
		v = r.kvs[0].value;
		r.kvs[0].value = NULL;
		if (len)
			*len = r.kvs[0].len;
	}
	xs_etcd_result_free(&r);
	return v;
}

/* ---- An asynchronous client on a multi of the test's ---------------------- */

struct loop {
	CURLM *multi;
	struct xs_etcd *e;
};

static void loop_open(struct loop *l, const char *const *eps, size_t n, const char *user,
		      const char *password)
{
	struct xs_etcd_opts o = { .nendpoints = n, .user = user, .password = password };

	for (size_t i = 0; i < n; i++)
		o.endpoints[i] = eps[i];
	l->multi = curl_multi_init();
	cr_assert_not_null(l->multi);
	cr_assert_eq(xs_etcd_new(l->multi, &o, &l->e, err, sizeof(err)), 0, "%s", err);
}

static void loop_close(struct loop *l)
{
	xs_etcd_free(l->e);
	curl_multi_cleanup(l->multi);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drive the multi until *flag or ms pass; returns *flag. */
static bool loop_until(struct loop *l, const bool *flag, int ms)
{
	int64_t end = now_ms() + ms;

	while (!*flag && now_ms() < end) {
		struct CURLMsg *m;
		int running, left;

		cr_assert_eq(curl_multi_perform(l->multi, &running), CURLM_OK);
		while ((m = curl_multi_info_read(l->multi, &left)))
			if (m->msg == CURLMSG_DONE)
				cr_assert(xs_etcd_done(l->e, m->easy_handle, m->data.result));
		if (!*flag)
			curl_multi_poll(l->multi, NULL, 0, 20, NULL);
	}
	return *flag;
}

/* One answer, copied (kvs and all). */
struct answer {
	bool done;
	struct xs_etcd_result r;
};

static void answer_cb(void *arg, const struct xs_etcd_result *r)
{
	struct answer *a = arg;

	a->r = *r;
	a->r.kvs = NULL;
	a->r.nkvs = 0;
	a->done = true;
}

/* What a watch saw: every event, and its end. */
struct seen {
	char keys[32][64];
	char values[32][64];
	int64_t mod[32];
	size_t n;
	size_t batches;
	bool ended;
	int err;
	int64_t revision;
	char msg[XS_ETCD_ERR_LEN];
	/* in ev: start a range of this key (a request from inside a watch) */
	struct xs_etcd *e;
	const char *also;
	struct answer also_got;
};

static void seen_cb(void *arg, const struct xs_etcd_result *r)
{
	struct seen *s = arg;

	cr_assert(!s->ended, "a callback after the end");
	if (r->err) {
		s->ended = true;
		s->err = r->err;
		s->revision = r->revision;
		snprintf(s->msg, sizeof(s->msg), "%s", r->msg);
		return;
	}
	s->batches++;
	for (size_t i = 0; i < r->nkvs && s->n < 32; i++, s->n++) {
		snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", r->kvs[i].key);
		snprintf(s->values[s->n], sizeof(s->values[0]), "%s", r->kvs[i].value);
		cr_assert_eq(strlen(r->kvs[i].value), r->kvs[i].len);
		s->mod[s->n] = r->kvs[i].mod_revision;
	}
	if (s->also) {
		cr_assert_eq(xs_etcd_range(s->e, s->also, false, 0, answer_cb, &s->also_got), 0);
		s->also = NULL;
	}
}

/* Drive until the watch saw n events (or ended). */
static bool loop_events(struct loop *l, struct seen *s, size_t n, int ms)
{
	int64_t end = now_ms() + ms;
	bool stop = false;

	while (!stop && now_ms() < end) {
		bool tick = false;

		loop_until(l, &tick, 20);
		stop = s->n >= n || s->ended;
	}
	return s->n >= n;
}

/* ---- Keys and values ------------------------------------------------------- */

Test(etcd, put_and_range_one_key)
{
	struct xs_etcd_sync *s = sync_main();
	struct xs_etcd_result r;
	int64_t rev = put(s, "/t/one/a", "hello");
	size_t len;
	char *v;

	cr_assert_eq(xs_etcd_sync_range(s, "/t/one/a", false, 0, &r), 0, "%s", r.msg);
	cr_assert_eq(r.nkvs, 1);
	cr_assert_str_eq(r.kvs[0].key, "/t/one/a");
	cr_assert_str_eq(r.kvs[0].value, "hello");
	cr_assert_eq(r.kvs[0].len, 5);
	cr_assert_eq(r.kvs[0].mod_revision, rev);
	cr_assert_geq(r.revision, rev);
	cr_assert_eq(r.kvs[0].lease, 0);
	xs_etcd_result_free(&r);
	put(s, "/t/one/a", "");
	v = get(s, "/t/one/a", &len);
	cr_assert_str_eq(v, "");
	cr_assert_eq(len, 0);
	free(v);
	cr_assert_null(get(s, "/t/one/none", NULL));
	/* an older revision: the first value */
	cr_assert_eq(xs_etcd_sync_range(s, "/t/one/a", false, rev, &r), 0, "%s", r.msg);
	cr_assert_eq(r.nkvs, 1);
	cr_assert_str_eq(r.kvs[0].value, "hello");
	xs_etcd_result_free(&r);
	xs_etcd_sync_free(s);
}

Test(etcd, range_of_a_prefix_in_key_order)
{
	struct xs_etcd_sync *s = sync_main();
	struct xs_etcd_result r;

	put(s, "/t/pfx/c", "3");
	put(s, "/t/pfx/a", "1");
	put(s, "/t/pfx/b", "2");
	put(s, "/t/pfx", "not below");
	put(s, "/t/pfy/a", "not below");
	cr_assert_eq(xs_etcd_sync_range(s, "/t/pfx/", true, 0, &r), 0, "%s", r.msg);
	cr_assert_eq(r.nkvs, 3);
	for (size_t i = 0; i < 3; i++) {
		char k[16], v[2] = { (char)('1' + i), 0 };

		snprintf(k, sizeof(k), "/t/pfx/%c", (char)('a' + i));
		cr_assert_str_eq(r.kvs[i].key, k);
		cr_assert_str_eq(r.kvs[i].value, v);
	}
	xs_etcd_result_free(&r);
	xs_etcd_sync_free(s);
}

Test(etcd, watch_from_a_revision_sees_the_puts_after_it_in_order)
{
	const char *ep = url("ETCD_URL");
	struct xs_etcd_sync *s = sync_main();
	struct seen seen = { 0 };
	struct xs_etcd_watch *w;
	struct loop l;
	int64_t first, gone;

	put(s, "/t/w/before", "x");
	first = put(s, "/t/w/a", "1");
	put(s, "/t/w/b", "2");
	put(s, "/t/w/a", "3");
	gone = del(s, "/t/w/b");
	put(s, "/t/wx", "not below");
	loop_open(&l, &ep, 1, NULL, NULL);
	cr_assert_eq(xs_etcd_watch(l.e, "/t/w/", true, first, 0, seen_cb, &seen, &w), 0);
	cr_assert(loop_events(&l, &seen, 4, 5000), "%zu events: %s", seen.n, seen.msg);
	cr_assert_str_eq(seen.keys[0], "/t/w/a");
	cr_assert_str_eq(seen.values[0], "1");
	cr_assert_eq(seen.mod[0], first);
	cr_assert_str_eq(seen.keys[1], "/t/w/b");
	cr_assert_str_eq(seen.values[1], "2");
	cr_assert_str_eq(seen.keys[2], "/t/w/a");
	cr_assert_str_eq(seen.values[2], "3");
	/* a deletion: the key, no value, the deletion's revision */
	cr_assert_str_eq(seen.keys[3], "/t/w/b");
	cr_assert_str_eq(seen.values[3], "");
	cr_assert_eq(seen.mod[3], gone);
	/* then what comes next, and nothing else */
	put(s, "/t/w/c", "4");
	cr_assert(loop_events(&l, &seen, 5, 5000));
	cr_assert_str_eq(seen.keys[4], "/t/w/c");
	cr_assert(!loop_events(&l, &seen, 6, 300), "an extra event: %s", seen.keys[5]);
	cr_assert(!seen.ended, "%s", seen.msg);
	cr_assert_eq(xs_etcd_pending(l.e), 1);
	xs_etcd_watch_cancel(w);
	cr_assert_eq(xs_etcd_pending(l.e), 0);
	loop_close(&l);
	xs_etcd_sync_free(s);
}

Test(etcd, a_request_from_inside_a_watch_goes_out_and_the_watch_goes_on)
{
	const char *ep = url("ETCD_URL");
	struct xs_etcd_sync *s = sync_main();
	struct seen seen = { 0 };
	struct xs_etcd_watch *w;
	struct loop l;

	int64_t rev = put(s, "/t/in/other", "fetched");

	loop_open(&l, &ep, 1, NULL, NULL);
	seen.e = l.e;
	seen.also = "/t/in/other";
	cr_assert_eq(xs_etcd_watch(l.e, "/t/in/k", false, rev + 1, 0, seen_cb, &seen, &w), 0);
	put(s, "/t/in/k", "1");
	cr_assert(loop_until(&l, &seen.also_got.done, 5000), "%s", seen.msg);
	cr_assert_eq(seen.also_got.r.err, 0, "%s", seen.also_got.r.msg);
	put(s, "/t/in/k", "2");
	put(s, "/t/in/k", "3");
	cr_assert(loop_events(&l, &seen, 3, 5000), "%zu events: %s", seen.n, seen.msg);
	cr_assert_str_eq(seen.values[0], "1");
	cr_assert_str_eq(seen.values[1], "2");
	cr_assert_str_eq(seen.values[2], "3");
	cr_assert(!loop_events(&l, &seen, 4, 300), "an extra event: %s", seen.values[3]);
	xs_etcd_watch_cancel(w);
	loop_close(&l);
	xs_etcd_sync_free(s);
}

/* 512 KiB of bytes (every value, zeros included): base64 makes ~700 KB of
 * it on the wire; and the same as base64 text (a bundle's chunk as text). */
Test(etcd, values_near_700_kb)
{
	struct xs_etcd_sync *s = sync_main();
	size_t n = 512u << 10, len;
	uint8_t *bin = malloc(n);
	char *text = malloc(XS_B64_LEN(n) + 1), *v;
	struct xs_etcd_result r;

	cr_assert(bin && text);
	for (size_t i = 0; i < n; i++)
		bin[i] = (uint8_t)(i * 2654435761u >> 13);
	xs_b64_encode(bin, n, text);
	cr_assert_eq(xs_etcd_sync_put(s, "/t/big/bin", bin, n, 0, &r), 0, "%s", r.msg);
	cr_assert_eq(xs_etcd_sync_put(s, "/t/big/text", text, strlen(text), 0, &r), 0, "%s", r.msg);
	v = get(s, "/t/big/bin", &len);
	cr_assert_eq(len, n);
	cr_assert_eq(memcmp(v, bin, n), 0);
	free(v);
	cr_assert_eq(xs_etcd_sync_range(s, "/t/big/", true, 0, &r), 0, "%s", r.msg);
	cr_assert_eq(r.nkvs, 2);
	cr_assert_eq(r.kvs[1].len, XS_B64_LEN(n));
	cr_assert_str_eq(r.kvs[1].value, text);
	xs_etcd_result_free(&r);
	free(bin);
	free(text);
	xs_etcd_sync_free(s);
}

Test(etcd, txn_applies_its_ops_only_when_the_comparison_holds)
{
	struct xs_etcd_sync *s = sync_main();
	int64_t rev = put(s, "/t/txn/ptr", "1");
	struct xs_etcd_op ops[] = {
		{ .kind = XS_ETCD_PUT, .key = "/t/txn/new", .value = "n", .len = 1 },
		{ .kind = XS_ETCD_DELETE, .key = "/t/txn/gone" },
		{ .kind = XS_ETCD_DELETE_PREFIX, .key = "/t/txn/old/" },
		{ .kind = XS_ETCD_PUT, .key = "/t/txn/ptr", .value = "2", .len = 1 },
	};
	struct xs_etcd_op never = {
		.kind = XS_ETCD_PUT, .key = "/t/txn/never", .value = "", .len = 0
	};
	struct xs_etcd_op create = {
		.kind = XS_ETCD_PUT, .key = "/t/txn/absent", .value = "c", .len = 1
	};
	struct xs_etcd_op many[129];
	struct xs_etcd_result r;
	char *v;

	put(s, "/t/txn/gone", "x");
	put(s, "/t/txn/old/1", "x");
	put(s, "/t/txn/old/2", "x");
	put(s, "/t/txn/older", "kept");
	cr_assert_eq(xs_etcd_sync_txn(s, "/t/txn/ptr", rev, ops, 4, &r), 0, "%s", r.msg);
	cr_assert(r.succeeded);
	cr_assert_gt(r.revision, rev);
	v = get(s, "/t/txn/new", NULL);
	cr_assert_str_eq(v, "n");
	free(v);
	v = get(s, "/t/txn/ptr", NULL);
	cr_assert_str_eq(v, "2");
	free(v);
	cr_assert_null(get(s, "/t/txn/gone", NULL));
	cr_assert_eq(xs_etcd_sync_range(s, "/t/txn/old/", true, 0, &r), 0, "%s", r.msg);
	cr_assert_eq(r.nkvs, 0);
	v = get(s, "/t/txn/older", NULL);
	cr_assert_str_eq(v, "kept");
	free(v);
	/* the pointer moved on: nothing applied */
	cr_assert_eq(xs_etcd_sync_txn(s, "/t/txn/ptr", rev, &never, 1, &r), 0, "%s", r.msg);
	cr_assert(!r.succeeded);
	cr_assert_null(get(s, "/t/txn/never", NULL));
	/* 0: the key does not exist */
	cr_assert_eq(xs_etcd_sync_txn(s, "/t/txn/absent", 0, &create, 1, &r), 0, "%s", r.msg);
	cr_assert(r.succeeded);
	cr_assert_eq(xs_etcd_sync_txn(s, "/t/txn/absent", 0, &create, 1, &r), 0, "%s", r.msg);
	cr_assert(!r.succeeded);
	/* more ops than etcd takes: refused before anything is sent */
	for (size_t i = 0; i < 129; i++)
		many[i] = never;
	cr_assert_eq(xs_etcd_sync_txn(s, NULL, 0, many, 129, &r), -EINVAL);
	xs_etcd_sync_free(s);
}

Test(etcd, lease_grant_keepalive_and_expiry)
{
	const char *ep = url("ETCD_URL");
	struct xs_etcd_sync *s = sync_main();
	struct answer a = { 0 }, k = { 0 }, k2 = { 0 };
	struct xs_etcd_result r;
	int64_t end;
	struct loop l;

	loop_open(&l, &ep, 1, NULL, NULL);
	cr_assert_eq(xs_etcd_lease_grant(l.e, 2, answer_cb, &a), 0);
	cr_assert(loop_until(&l, &a.done, 5000));
	cr_assert_eq(a.r.err, 0, "%s", a.r.msg);
	cr_assert_neq(a.r.lease, 0);
	cr_assert_eq(a.r.ttl, 2);
	cr_assert_eq(xs_etcd_sync_put(s, "/t/lease/k", "v", 1, a.r.lease, &r), 0, "%s", r.msg);
	cr_assert_eq(xs_etcd_lease_keepalive(l.e, a.r.lease, answer_cb, &k), 0);
	cr_assert(loop_until(&l, &k.done, 5000));
	cr_assert_eq(k.r.err, 0, "%s", k.r.msg);
	cr_assert_eq(k.r.lease, a.r.lease);
	cr_assert_eq(k.r.ttl, 2);
	cr_assert_eq(xs_etcd_sync_range(s, "/t/lease/k", false, 0, &r), 0, "%s", r.msg);
	cr_assert_eq(r.nkvs, 1);
	cr_assert_eq(r.kvs[0].lease, a.r.lease);
	xs_etcd_result_free(&r);
	/* no more keepalives: gone after its TTL */
	end = now_ms() + 8000;
	while (now_ms() < end) {
		char *v = get(s, "/t/lease/k", NULL);

		if (!v)
			break;
		free(v);
		usleep(200000);
	}
	cr_assert_lt(now_ms(), end, "the key outlived its lease");
	cr_assert_eq(xs_etcd_lease_keepalive(l.e, a.r.lease, answer_cb, &k2), 0);
	cr_assert(loop_until(&l, &k2.done, 5000));
	cr_assert_eq(k2.r.err, 0, "%s", k2.r.msg);
	cr_assert_eq(k2.r.ttl, 0);
	loop_close(&l);
	xs_etcd_sync_free(s);
}

Test(etcd, a_watch_from_a_compacted_revision_ends_with_erange)
{
	const char *ep = url("ETCD_URL");
	struct xs_etcd_sync *s = sync_main();
	struct seen seen = { 0 };
	struct xs_etcd_result r;
	int64_t old, last;
	struct loop l;
	char want[XS_ETCD_ERR_LEN];

	old = put(s, "/t/compact/k", "1");
	put(s, "/t/compact/k", "2");
	last = put(s, "/t/compact/k", "3");
	cr_assert_eq(xs_etcd_sync_compact(s, last, &r), 0, "%s", r.msg);
	cr_assert_eq(xs_etcd_sync_compact(s, last, &r), -ERANGE);
	snprintf(want, sizeof(want), "%s: etcdserver: mvcc: required revision has been compacted",
		 ep);
	cr_assert_str_eq(r.msg, want);
	cr_assert_eq(xs_etcd_sync_range(s, "/t/compact/k", false, old, &r), -ERANGE);
	cr_assert_str_eq(r.msg, want);
	loop_open(&l, &ep, 1, NULL, NULL);
	cr_assert_eq(xs_etcd_watch(l.e, "/t/compact/k", false, old, 0, seen_cb, &seen, NULL), 0);
	cr_assert(loop_until(&l, &seen.ended, 5000));
	cr_assert_eq(seen.n, 0);
	cr_assert_eq(seen.err, -ERANGE, "%s", seen.msg);
	cr_assert_eq(seen.revision, last);
	snprintf(want, sizeof(want),
		 "%s: etcdserver: mvcc: required revision has been compacted "
		 "(compacted at %lld)",
		 ep, (long long)last);
	cr_assert_str_eq(seen.msg, want);
	cr_assert_eq(xs_etcd_pending(l.e), 0);
	loop_close(&l);
	xs_etcd_sync_free(s);
}

/* A socket bound to a free loopback port, its URL in buf; not listening,
 * connections to it are refused. */
static int dead_port(int *fd, char *buf, size_t size)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(*fd, 0);
	cr_assert_eq(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(*fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(buf, size, "http://127.0.0.1:%d", ntohs(a.sin_port));
	return ntohs(a.sin_port);
}

Test(etcd, failover_to_the_next_endpoint)
{
	char dead[64];
	const char *eps[2] = { dead, url("ETCD_URL") };
	struct xs_etcd_sync *s;
	struct seen seen = { 0 };
	struct xs_etcd_result r;
	struct loop l;
	int fd;
	int64_t rev;
	char *v;

	dead_port(&fd, dead, sizeof(dead));
	s = sync_client(eps, 2, NULL, NULL, NULL);
	cr_assert_eq(xs_etcd_sync_put(s, "/t/failover/k", "v", 1, 0, &r), 0, "%s", r.msg);
	rev = r.revision;
	v = get(s, "/t/failover/k", NULL);
	cr_assert_str_eq(v, "v");
	free(v);
	/* a watch on a fresh client too */
	loop_open(&l, eps, 2, NULL, NULL);
	cr_assert_eq(xs_etcd_watch(l.e, "/t/failover/", true, rev, 0, seen_cb, &seen, NULL), 0);
	cr_assert(loop_events(&l, &seen, 1, 5000), "%s", seen.msg);
	cr_assert_str_eq(seen.keys[0], "/t/failover/k");
	cr_assert(!seen.ended);
	loop_close(&l);
	xs_etcd_sync_free(s);
	close(fd);
}

Test(etcd, connection_refused_on_the_only_endpoint)
{
	char dead[64], want[XS_ETCD_ERR_LEN];
	const char *ep = dead;
	struct xs_etcd_sync *s;
	struct seen seen = { 0 };
	struct xs_etcd_result r;
	struct loop l;
	int fd;

	dead_port(&fd, dead, sizeof(dead));
	snprintf(want, sizeof(want), "%s: cannot connect: Connection refused", dead);
	s = sync_client(&ep, 1, NULL, NULL, NULL);
	cr_assert_eq(xs_etcd_sync_range(s, "/t/refused", false, 0, &r), -ECONNREFUSED);
	cr_assert_str_eq(r.msg, want);
	cr_assert_eq(xs_etcd_sync_put(s, "/t/refused", "v", 1, 0, &r), -ECONNREFUSED);
	cr_assert_str_eq(r.msg, want);
	loop_open(&l, &ep, 1, NULL, NULL);
	cr_assert_eq(xs_etcd_watch(l.e, "/t/refused", false, 0, 0, seen_cb, &seen, NULL), 0);
	cr_assert(loop_until(&l, &seen.ended, 5000));
	cr_assert_eq(seen.err, -ECONNREFUSED);
	cr_assert_str_eq(seen.msg, want);
	loop_close(&l);
	xs_etcd_sync_free(s);
	close(fd);
}

static void etcdctl(const char *ep, const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints %s %s >/dev/null 2>&1", ep,
		 args);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* The second etcd, whose auth this turns on (and leaves on). */
Test(etcd, auth_by_user_and_password, .timeout = 20)
{
	const char *ep = url("ETCD_AUTH_URL");
	struct xs_etcd_sync *root, *anon, *bad, *bogus;
	struct seen seen = { 0 }, denied = { 0 };
	char want[XS_ETCD_ERR_LEN], *v;
	struct xs_etcd_result r;
	struct loop l;
	int64_t rev;

	etcdctl(ep, "user add root:pw --interactive=false");
	etcdctl(ep, "auth enable");
	root = sync_client(&ep, 1, "root", "pw", NULL);
	anon = sync_client(&ep, 1, NULL, NULL, NULL);
	bad = sync_client(&ep, 1, "root", "nope", NULL);
	bogus = sync_client(&ep, 1, NULL, NULL, "bogus.1");
	rev = put(root, "/t/auth/k", "1");
	v = get(root, "/t/auth/k", NULL);
	cr_assert_str_eq(v, "1");
	free(v);
	snprintf(want, sizeof(want), "%s: etcdserver: user name is empty", ep);
	cr_assert_eq(xs_etcd_sync_put(anon, "/t/auth/k", "2", 1, 0, &r), -EACCES);
	cr_assert_str_eq(r.msg, want);
	cr_assert_eq(xs_etcd_sync_range(anon, "/t/auth/k", false, 0, &r), -EACCES);
	cr_assert_str_eq(r.msg, want);
	snprintf(want, sizeof(want),
		 "%s: etcdserver: authentication failed, invalid user ID or password", ep);
	cr_assert_eq(xs_etcd_sync_put(bad, "/t/auth/k", "2", 1, 0, &r), -EACCES);
	cr_assert_str_eq(r.msg, want);
	snprintf(want, sizeof(want), "%s: etcdserver: invalid auth token", ep);
	cr_assert_eq(xs_etcd_sync_put(bogus, "/t/auth/k", "2", 1, 0, &r), -EACCES);
	cr_assert_str_eq(r.msg, want);

	/* watches: with a token, and without */
	loop_open(&l, &ep, 1, "root", "pw");
	cr_assert_eq(xs_etcd_watch(l.e, "/t/auth/k", false, rev, 0, seen_cb, &seen, NULL), 0);
	cr_assert(loop_events(&l, &seen, 1, 5000), "%s", seen.msg);
	cr_assert_str_eq(seen.values[0], "1");
	loop_close(&l);
	loop_open(&l, &ep, 1, NULL, NULL);
	cr_assert_eq(xs_etcd_watch(l.e, "/t/auth/k", false, rev, 0, seen_cb, &denied, NULL), 0);
	cr_assert(loop_until(&l, &denied.ended, 5000));
	cr_assert_eq(denied.err, -EACCES, "%s", denied.msg);
	snprintf(want, sizeof(want),
		 "%s: rpc error: code = InvalidArgument desc = etcdserver: user name is empty", ep);
	cr_assert_str_eq(denied.msg, want);
	loop_close(&l);

	/* tokens dropped by etcd (auth off and on): a new one, once, unseen */
	etcdctl(ep, "--user root:pw auth disable");
	etcdctl(ep, "auth enable");
	put(root, "/t/auth/k", "3");
	v = get(root, "/t/auth/k", NULL);
	cr_assert_str_eq(v, "3");
	free(v);
	xs_etcd_sync_free(root);
	xs_etcd_sync_free(anon);
	xs_etcd_sync_free(bad);
	xs_etcd_sync_free(bogus);
}

/* ---- A hostile etcd --------------------------------------------------------- */

static pid_t fake_pid;
static int fake_stdin = -1;

/* The fake's URL into buf: it serves the socket the test listens on (fd 3)
 * and dies with its stdin, a pipe from this test. */
static void fake_start(char *buf, size_t size)
{
	const char *script = url("ETCD_FAKE");
	int in[2], fd;

	dead_port(&fd, buf, size);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(pipe(in), 0);
	fake_pid = fork();
	cr_assert_geq(fake_pid, 0);
	if (!fake_pid) {
		/* its stdin's only writer is this test */
		close(in[1]);
		if (dup2(in[0], 0) < 0 || dup2(fd, 3) < 0)
			_exit(127);
		execlp("python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(fd);
	fake_stdin = in[1];
}

static void fake_stop(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
	}
	if (fake_stdin >= 0)
		close(fake_stdin);
}

Test(etcd, hostile_answers_end_in_errors, .fini = fake_stop, .timeout = 20)
{
	static const struct {
		const char *key;
		int err;
		const char *msg;
	} watches[] = {
		{"garbage", -EPROTO, "a malformed line in the watch stream"},
		{"long", -EMSGSIZE, "a watch line over 16 MiB"},
		{"types", -EPROTO, "a malformed event in the watch stream"},
		{"badkey", -EPROTO, "a malformed event in the watch stream"},
		{"error", -EAGAIN, "etcdserver: no leader"},
		{"close", -ECONNRESET, "the watch stream ended"},
	},
	  ranges[] = {
		  {"badkv", -EPROTO, "a malformed answer to /v3/kv/range"},
		  {"notjson", -EPROTO, "not a JSON object in answer"},
		  {"http500", -EPROTO, "HTTP 500: boom"},
		  {"deep", -EPROTO, "not a JSON object in answer"},
		  {"types", -EPROTO, "a malformed answer to /v3/kv/range"},
	  };
	char fake[64], want[XS_ETCD_ERR_LEN];
	const char *ep = fake;
	struct xs_etcd_sync *s;
	struct xs_etcd_result r;
	struct loop l;

	fake_start(fake, sizeof(fake));
	loop_open(&l, &ep, 1, NULL, NULL);
	for (size_t i = 0; i < sizeof(watches) / sizeof(watches[0]); i++) {
		struct seen seen = { 0 };

		cr_assert_eq(xs_etcd_watch(l.e, watches[i].key, false, 0, 0, seen_cb, &seen, NULL),
			     0);
		cr_assert(loop_until(&l, &seen.ended, 5000), "%s", watches[i].key);
		snprintf(want, sizeof(want), "%s: %s", fake, watches[i].msg);
		cr_assert_eq(seen.err, watches[i].err, "%s: %s", watches[i].key, seen.msg);
		cr_assert_str_eq(seen.msg, want);
		cr_assert_eq(seen.n, !strcmp(watches[i].key, "close"));
	}
	cr_assert_eq(xs_etcd_pending(l.e), 0);
	loop_close(&l);
	s = sync_client(&ep, 1, NULL, NULL, NULL);
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		cr_assert_eq(xs_etcd_sync_range(s, ranges[i].key, false, 0, &r), ranges[i].err,
			     "%s: %s", ranges[i].key, r.msg);
		snprintf(want, sizeof(want), "%s: %s", fake, ranges[i].msg);
		cr_assert_str_eq(r.msg, want);
		cr_assert_eq(r.nkvs, 0);
	}
	xs_etcd_sync_free(s);
}

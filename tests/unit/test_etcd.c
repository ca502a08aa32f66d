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

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An etcd v3 client over its JSON gateway (HTTP/1.1, /v3/...): libcurl for
 * the transport, json-c for the bodies; keys and values base64 on the wire,
 * 64-bit numbers as JSON strings (etcd 3.4, Debian's etcd-server).
 *
 * Asynchronous: every request is an easy handle on the caller's CURLM (one
 * multi for a whole process: the agent's follower, or a thousand simulated
 * hosts in `scripts/bench --fleet`), its completion a callback. The
 * caller drives the multi (curl_multi_poll/perform, or its sockets in an
 * epoll loop) and hands every finished easy handle to xs_etcd_done().
 * Synchronous wrappers (xs_etcd_sync_*) run a private multi until the one
 * request is done: for the CLI (publish, fleet status).
 *
 * Endpoints: a request goes to the current endpoint; a transport failure
 * moves to the next one for the next request. Auth: user and password
 * (POST /v3/auth/authenticate, the token then in every request's
 * Authorization header, fetched again on an "invalid auth token" error),
 * or a token as given. Errors: negative errno, and a message naming the
 * endpoint and what etcd said ("http://10.0.0.1:2379: etcdserver: mvcc:
 * required revision has been compacted").
 */
#ifndef XS_FLEET_ETCD_H
#define XS_FLEET_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#define XS_ETCD_MAX_ENDPOINTS 8
#define XS_ETCD_ERR_LEN 512

struct xs_etcd_opts {
	const char *endpoints[XS_ETCD_MAX_ENDPOINTS]; /* "http://host:2379" */
	size_t nendpoints;
	const char *user; /* with password: etcd's auth; NULL: none */
	const char *password;
	const char *token;	 /* a token given as it is (instead of user/password) */
	long timeout_ms;	 /* a request's (not a watch's); 0: 5000 */
	long connect_timeout_ms; /* 0: 2000 */
};

/* "http://a:2379,http://b:2379" (modified in place: o points into buf,
 * which must outlive o) into o's endpoints. 0, or -EINVAL with why in err
 * (not http:// or https://, more than XS_ETCD_MAX_ENDPOINTS, empty). */
int xs_etcd_parse_endpoints(char *buf, struct xs_etcd_opts *o, char *err, size_t errlen);

struct xs_etcd;

int xs_etcd_new(CURLM *multi, const struct xs_etcd_opts *o, struct xs_etcd **out, char *err,
		size_t errlen);
/* Cancels what is in flight (no callback), frees. NULL is fine. */
void xs_etcd_free(struct xs_etcd *e);

/* A key and value (value NUL-terminated past len, for text). */
struct xs_etcd_kv {
	char *key;
	char *value;
	size_t len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
};

/* What a request answers. */
struct xs_etcd_result {
	int err;		   /* 0, or a negative errno */
	char msg[XS_ETCD_ERR_LEN]; /* err: why */
	int64_t revision;	   /* the store's revision (header) */
	struct xs_etcd_kv *kvs;	   /* range: the keys, in key order; freed after the callback */
	size_t nkvs;
	bool succeeded; /* txn: the comparison held */
	int64_t lease;	/* lease grant: its id; keepalive: the id */
	int64_t ttl;	/* lease grant / keepalive: seconds left (keepalive: 0 = gone) */
};

typedef void (*xs_etcd_cb)(void *arg, const struct xs_etcd_result *r);

/* Range: one key, or (prefix) every key below it; revision 0: the latest. */
int xs_etcd_range(struct xs_etcd *e, const char *key, bool prefix, int64_t revision, xs_etcd_cb cb,
		  void *arg);

enum xs_etcd_op_kind {
	XS_ETCD_PUT = 1,
	XS_ETCD_DELETE = 2,	   /* the key */
	XS_ETCD_DELETE_PREFIX = 3, /* every key below it */
};

struct xs_etcd_op {
	enum xs_etcd_op_kind kind;
	const char *key;
	const void *value; /* PUT */
	size_t len;
	int64_t lease; /* PUT: 0 none */
};

/* Put one key (lease 0: none). */
int xs_etcd_put(struct xs_etcd *e, const char *key, const void *value, size_t len, int64_t lease,
		xs_etcd_cb cb, void *arg);

/* A transaction: if `cmp_key`'s mod_revision equals `if_mod` (0: the key
 * does not exist), do ops[] (at most 128), else nothing; r->succeeded says
 * which. cmp_key NULL: no comparison (always). */
int xs_etcd_txn(struct xs_etcd *e, const char *cmp_key, int64_t if_mod,
		const struct xs_etcd_op *ops, size_t nops, xs_etcd_cb cb, void *arg);

int xs_etcd_lease_grant(struct xs_etcd *e, int64_t ttl, xs_etcd_cb cb, void *arg);
/* One keepalive (POST /v3/lease/keepalive: one request, one answer). */
int xs_etcd_lease_keepalive(struct xs_etcd *e, int64_t lease, xs_etcd_cb cb, void *arg);
/* Compact the store's history up to `revision` (tests, benchmarks). */
int xs_etcd_compact(struct xs_etcd *e, int64_t revision, xs_etcd_cb cb, void *arg);

/*
 * A watch of `key` (or every key below it) from `start_revision` (0: from
 * now): a stream that stays open. `ev` is called for each batch of events
 * (r->kvs: the keys put, with their values; deleted keys have len 0 and
 * mod_revision the deletion's; r->revision: the batch's header revision),
 * and once at the end with r->err set: -ERANGE when etcd compacted past
 * start_revision (r->revision: the compact revision: re-read, then watch
 * from the read's revision + 1), -ECONNRESET/-ETIMEDOUT/... when the stream
 * broke. No callback after xs_etcd_watch_cancel(). A peer that went
 * silent (a host cut off, not closed) is found by TCP keepalives: the
 * stream's connection probes after `idle_ms` of silence (0: 10 s) and
 * breaks after three unanswered probes, a few seconds apart (etcd's own
 * progress notifications come only every 10 minutes by default).
 * `ev` for a batch runs inside curl's write callback, where curl refuses
 * to add or remove handles: a request started (or another watch cancelled)
 * from there goes out once the batch is delivered (the stream then resumes
 * from the next revision on a new connection, unseen by the caller).
 * xs_etcd_free() must not be called from that `ev` (from the end's call,
 * made by xs_etcd_done(), it may).
 */
struct xs_etcd_watch;
int xs_etcd_watch(struct xs_etcd *e, const char *key, bool prefix, int64_t start_revision,
		  long idle_ms, xs_etcd_cb ev, void *arg, struct xs_etcd_watch **out);
void xs_etcd_watch_cancel(struct xs_etcd_watch *w);

/* The caller's multi finished `easy`: if it is one of e's, its callback
 * runs and true is returned. */
bool xs_etcd_done(struct xs_etcd *e, CURL *easy, CURLcode code);
/* Requests in flight (watches included). */
size_t xs_etcd_pending(const struct xs_etcd *e);

/* ---- Synchronous (the CLI): a private multi, until done ------------------- */

struct xs_etcd_sync;
int xs_etcd_sync_new(const struct xs_etcd_opts *o, struct xs_etcd_sync **out, char *err,
		     size_t errlen);
void xs_etcd_sync_free(struct xs_etcd_sync *s);
/* Each fills *r (kvs owned by r: xs_etcd_result_free()); returns r->err. */
int xs_etcd_sync_range(struct xs_etcd_sync *s, const char *key, bool prefix, int64_t revision,
		       struct xs_etcd_result *r);
int xs_etcd_sync_put(struct xs_etcd_sync *s, const char *key, const void *value, size_t len,
		     int64_t lease, struct xs_etcd_result *r);
int xs_etcd_sync_txn(struct xs_etcd_sync *s, const char *cmp_key, int64_t if_mod,
		     const struct xs_etcd_op *ops, size_t nops, struct xs_etcd_result *r);
int xs_etcd_sync_compact(struct xs_etcd_sync *s, int64_t revision, struct xs_etcd_result *r);
void xs_etcd_result_free(struct xs_etcd_result *r);

#endif /* XS_FLEET_ETCD_H */

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The etcd v3 JSON-gateway client (etcd.h).
 *
 * Every request is a `struct req`: its easy handle, the JSON body it posts
 * (kept for a retry), the answer as it arrives, the callback. A request is
 * in one of four states: waiting for an auth token, deferred (see below),
 * on the caller's multi, or neither (between two attempts). All of a
 * client's requests are on one list, so that xs_etcd_done() recognises its
 * own handles without trusting CURLOPT_PRIVATE of a stranger's.
 *
 * libcurl refuses curl_multi_add_handle() and curl_multi_remove_handle()
 * inside its callbacks (CURLM_RECURSIVE_API_CALL), and a watch's `ev` runs
 * inside the write callback of its stream. A request started (or a watch
 * cancelled) from `ev` is therefore deferred: the stream delivering the
 * batch stops at the end of the data in hand, and its completion (in
 * xs_etcd_done, outside every callback) starts what was deferred and
 * resumes the watch from the revision after the last one delivered, on a
 * new connection. The caller sees one uninterrupted watch.
 *
 * Whatever etcd (or whoever answers in its place) sends is untrusted: each
 * field is checked for its type, a missing one is a zero, an answer is at
 * most XS_ETCD_ANSWER_MAX bytes, a watch line XS_ETCD_LINE_MAX, and what
 * etcd says is copied into messages without its control bytes.
 */
#include "etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "obs/b64.h"

#define XS_ETCD_ANSWER_MAX (256u << 20) /* a unary answer (a range of big values) */
#define XS_ETCD_LINE_MAX (16u << 20)	/* one line of a watch's stream */
#define XS_ETCD_MAX_OPS 128		/* etcd's default --max-txn-ops */
#define KEEPALIVE_INTVL_S 3		/* between a silent watch's TCP probes */
#define KEEPALIVE_CNT 3			/* unanswered probes that break it */

enum kind { K_RANGE, K_PUT, K_TXN, K_GRANT, K_KEEPALIVE, K_COMPACT, K_AUTH, K_WATCH };

static const char *const kind_path[] = {
	[K_RANGE] = "/v3/kv/range",
	[K_PUT] = "/v3/kv/put",
	[K_TXN] = "/v3/kv/txn",
	[K_GRANT] = "/v3/lease/grant",
	[K_KEEPALIVE] = "/v3/lease/keepalive",
	[K_COMPACT] = "/v3/kv/compaction",
	[K_AUTH] = "/v3/auth/authenticate",
	[K_WATCH] = "/v3/watch",
};

enum state { S_IDLE, S_WAIT_AUTH, S_DEFERRED, S_ACTIVE };

struct buf {
	char *p;
	size_t len, cap;
};

struct req {
	struct xs_etcd *e;
	struct req *prev, *next;
	enum kind kind;
	enum state state;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	size_t body_len;
	struct buf in;
	xs_etcd_cb cb;
	void *arg;
	size_t ep;	    /* the endpoint of this attempt */
	unsigned int tries; /* endpoints tried after transport failures */
	unsigned int auth_gen;
	bool auth_retried; /* a new token fetched once already */
	bool too_big;	   /* the answer passed XS_ETCD_ANSWER_MAX */
	bool canceled;	   /* no callback, ever */
	bool remove;	   /* cancelled inside a callback: off the multi later */
	/* a watch */
	char *wkey, *wend; /* base64; wend NULL: one key */
	int64_t next_rev;  /* where the watch resumes (0: from now) */
	long idle_ms;
	size_t scan;	/* in.p[0..scan) holds no newline */
	bool created;	/* etcd confirmed the watch */
	bool resume;	/* stopped to start deferred work: resume */
	bool stop;	/* the stream's end is decided (werr, auth_fail) */
	bool auth_fail; /* canceled by etcd for want of a valid token */
	int werr;	/* the end decided inside the stream */
	int64_t wrev;	/* with -ERANGE: the compact revision */
	char wmsg[XS_ETCD_ERR_LEN];
};

struct xs_etcd_watch {
	struct req r;
};

struct xs_etcd {
	CURLM *multi;
	char *endpoints[XS_ETCD_MAX_ENDPOINTS];
	size_t n, cur;
	char *user, *password, *token;
	long timeout_ms, connect_ms;
	struct req *head;
	struct req *auth; /* the authenticate request in flight */
	unsigned int auth_gen;
	struct req *in_ev; /* the watch whose `ev` runs (inside curl's write callback) */
	bool *alive;	   /* cleared by xs_etcd_free() while a callback runs */
};

/* ---- Messages ------------------------------------------------------------- */

/* msg = "ENDPOINT: WORDS", control bytes (etcd's, anyone's) as '?'. */
static void set_msg(char *msg, const char *ep, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_msg(char *msg, const char *ep, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(msg, XS_ETCD_ERR_LEN, "%s: ", ep);
	va_list ap;

	if (n < XS_ETCD_ERR_LEN) {
		va_start(ap, fmt);
		vsnprintf(msg + n, XS_ETCD_ERR_LEN - n, fmt, ap);
		va_end(ap);
	}
	for (unsigned char *p = (unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static bool auth_words(const char *w)
{
	return strstr(w, "invalid auth token") || strstr(w, "user name is empty");
}

/* A gRPC status code (with etcd's words) as an errno. */
static int grpc_errno(int64_t code, const char *words)
{
	if (auth_words(words) || strstr(words, "permission denied") ||
	    strstr(words, "authentication failed"))
		return -EACCES;
	switch (code) {
	case 1:
		return -ECANCELED;
	case 3:
		return -EINVAL;
	case 4:
		return -ETIMEDOUT;
	case 5:
		return -ENOENT;
	case 6:
		return -EEXIST;
	case 7:
	case 16:
		return -EACCES;
	case 8:
		return -ENOSPC;
	case 9:
		return -EPERM;
	case 11:
		return -ERANGE;
	case 14:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/* ---- JSON in -------------------------------------------------------------- */

/* A whole JSON text (trailing white space allowed), or NULL. */
static struct json_object *parse_json(const char *p, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	size_t off;

	if (!tok || len > INT32_MAX) {
		json_tokener_free(tok);
		return NULL;
	}
	o = json_tokener_parse_ex(tok, p, (int)len);
	off = json_tokener_get_parse_end(tok);
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		while (off < len && strchr(" \t\r\n", p[off]) && p[off])
			off++;
		if (off < len) {
			json_object_put(o);
			o = NULL;
		}
	} else if (o) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static struct json_object *member(struct json_object *o, const char *name)
{
	struct json_object *v = NULL;

	return o && json_object_is_type(o, json_type_object) &&
			       json_object_object_get_ex(o, name, &v)
		       ? v
		       : NULL;
}

/* An int64 etcd sends as a string ("12"), or as a number; missing or null:
 * 0. -EPROTO for anything else. */
static int get_i64(struct json_object *o, const char *name, int64_t *v)
{
	struct json_object *m = member(o, name);
	const char *s;
	char *end;

	*v = 0;
	if (!m)
		return 0;
	if (json_object_is_type(m, json_type_int)) {
		*v = json_object_get_int64(m);
		return 0;
	}
	if (!json_object_is_type(m, json_type_string))
		return -EPROTO;
	s = json_object_get_string(m);
	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno || end == s || *end ? -EPROTO : 0;
}

static int get_bool(struct json_object *o, const char *name, bool *v)
{
	struct json_object *m = member(o, name);

	*v = false;
	if (!m)
		return 0;
	if (!json_object_is_type(m, json_type_boolean))
		return -EPROTO;
	*v = json_object_get_boolean(m);
	return 0;
}

/* A string member, or NULL (missing or not a string). */
static const char *get_str(struct json_object *o, const char *name)
{
	struct json_object *m = member(o, name);

	return m && json_object_is_type(m, json_type_string) ? json_object_get_string(m) : NULL;
}

/* A base64 member decoded into a malloc'd buffer, NUL-terminated past *len;
 * missing: "". -EPROTO for a non-string or bad base64. */
static int get_b64(struct json_object *o, const char *name, char **out, size_t *len)
{
	struct json_object *m = member(o, name);
	const char *s = "";
	size_t n;
	int rc;

	*out = NULL;
	*len = 0;
	if (m && !json_object_is_type(m, json_type_string))
		return -EPROTO;
	if (m)
		s = json_object_get_string(m);
	n = strlen(s) / 4 * 3;
	*out = malloc(n + 1);
	if (!*out)
		return -ENOMEM;
	rc = xs_b64_decode(s, (uint8_t *)*out, n);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		return -EPROTO;
	}
	(*out)[rc] = '\0';
	*len = (size_t)rc;
	return 0;
}

static void kv_clear(struct xs_etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void xs_etcd_result_free(struct xs_etcd_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nkvs; i++)
		kv_clear(&r->kvs[i]);
	free(r->kvs);
	r->kvs = NULL;
	r->nkvs = 0;
}

/* One mvccpb.KeyValue. */
static int parse_kv(struct json_object *o, struct xs_etcd_kv *kv)
{
	size_t klen;
	int rc;

	if (!json_object_is_type(o, json_type_object))
		return -EPROTO;
	rc = get_b64(o, "key", &kv->key, &klen);
	if (!rc)
		rc = get_b64(o, "value", &kv->value, &kv->len);
	if (!rc)
		rc = get_i64(o, "create_revision", &kv->create_revision);
	if (!rc)
		rc = get_i64(o, "mod_revision", &kv->mod_revision);
	if (!rc)
		rc = get_i64(o, "version", &kv->version);
	if (!rc)
		rc = get_i64(o, "lease", &kv->lease);
	return rc;
}

/* r->kvs from an array `name` of o (range's "kvs": each a KeyValue;
 * a watch's "events": each {"type", "kv"}). */
static int parse_kvs(struct json_object *o, const char *name, bool events, struct xs_etcd_result *r)
{
	struct json_object *a = member(o, name);
	size_t n;

	if (!a)
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return -EPROTO;
	n = json_object_array_length(a);
	if (!n)
		return 0;
	r->kvs = calloc(n, sizeof(*r->kvs));
	if (!r->kvs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(a, i), *kv = it;
		const char *type = NULL;
		int rc;

		if (events) {
			kv = member(it, "kv");
			type = get_str(it, "type");
			if (!kv || (member(it, "type") && !type))
				return -EPROTO;
		}
		rc = parse_kv(kv, &r->kvs[i]);
		r->nkvs = i + 1;
		if (rc)
			return rc;
		if (type && !strcmp(type, "DELETE")) {
			r->kvs[i].value[0] = '\0';
			r->kvs[i].len = 0;
		}
	}
	return 0;
}

/* ---- JSON out ------------------------------------------------------------- */

static struct json_object *b64_string(const void *p, size_t n)
{
	char *s = n < (1u << 30) ? malloc(XS_B64_LEN(n) + 1) : NULL;
	struct json_object *o;

	if (!s)
		return NULL;
	xs_b64_encode(p, n, s);
	o = json_object_new_string_len(s, (int)XS_B64_LEN(n));
	free(s);
	return o;
}

/* Add a member; false (and o unchanged) when v is NULL or out of memory. */
static bool put_member(struct json_object *o, const char *name, struct json_object *v)
{
	if (!v || json_object_object_add(o, name, v)) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool put_i64(struct json_object *o, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return put_member(o, name, json_object_new_string(s));
}

static bool put_b64(struct json_object *o, const char *name, const void *p, size_t n)
{
	return put_member(o, name, b64_string(p, n));
}

/* The key just after every key that starts with `key`: its last byte below
 * 0xff plus one, the rest dropped; "\0" (every key) when there is none. */
static bool put_prefix_end(struct json_object *o, const char *key)
{
	size_t n = strlen(key);
	unsigned char *end = malloc(n + 1);
	bool ok;

	if (!end)
		return false;
	memcpy(end, key, n);
	while (n && end[n - 1] == 0xff)
		n--;
	if (n) {
		end[n - 1]++;
	} else {
		end[0] = 0;
		n = 1;
	}
	ok = put_b64(o, "range_end", end, n);
	free(end);
	return ok;
}

/* o as the request's body (o released). -ENOMEM. */
static int set_body(struct req *r, struct json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	char *b = s ? malloc(len + 1) : NULL;

	if (b) {
		memcpy(b, s, len + 1);
		free(r->body);
		r->body = b;
		r->body_len = len;
	}
	json_object_put(o);
	return b ? 0 : -ENOMEM;
}

/* ---- Requests ------------------------------------------------------------- */

static struct req *req_new(struct xs_etcd *e, enum kind kind, xs_etcd_cb cb, void *arg)
{
	struct req *r = calloc(1, kind == K_WATCH ? sizeof(struct xs_etcd_watch) : sizeof(*r));

	if (!r)
		return NULL;
	r->e = e;
	r->kind = kind;
	r->cb = cb;
	r->arg = arg;
	r->next = e->head;
	if (e->head)
		e->head->prev = r;
	e->head = r;
	return r;
}

static void req_unlink(struct req *r)
{
	struct xs_etcd *e = r->e;

	if (r->prev)
		r->prev->next = r->next;
	else if (e->head == r)
		e->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	if (e->auth == r)
		e->auth = NULL;
	if (e->in_ev == r)
		e->in_ev = NULL;
}

/* Free what r holds; r off the multi and unlinked (e may be gone). */
static void req_destroy(struct req *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	free(r->in.p);
	free(r->wkey);
	free(r->wend);
	free(r);
}

static void req_drop(struct req *r)
{
	if (r->state == S_ACTIVE)
		curl_multi_remove_handle(r->e->multi, r->easy);
	req_unlink(r);
	req_destroy(r);
}

/* Run r's callback with res, then free r. False when the callback freed
 * the client. */
static bool req_finish(struct req *r, struct xs_etcd_result *res)
{
	struct xs_etcd *e = r->e;
	bool alive = true, *outer = e->alive;

	req_unlink(r);
	if (r->cb && !r->canceled) {
		e->alive = &alive;
		r->cb(r->arg, res);
		if (alive)
			e->alive = outer;
		else if (outer)
			*outer = false;
	}
	xs_etcd_result_free(res);
	req_destroy(r);
	return alive;
}

static bool req_fail(struct req *r, int err, const char *msg)
{
	struct xs_etcd_result res = { .err = err };

	snprintf(res.msg, sizeof(res.msg), "%s", msg);
	return req_finish(r, &res);
}

static size_t unary_write(char *p, size_t size, size_t n, void *arg);
static size_t watch_write(char *p, size_t size, size_t n, void *arg);

static int watch_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	int cnt = KEEPALIVE_CNT;

	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	return CURL_SOCKOPT_OK;
}

/* The options every attempt shares. */
static int req_easy(struct req *r)
{
	struct xs_etcd *e = r->e;
	CURL *h = curl_easy_init();

	if (!h)
		return -ENOMEM;
	r->easy = h;
	curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never an environment's proxy */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, e->connect_ms);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	if (r->kind == K_WATCH) {
		long idle = r->idle_ms > 0 ? (r->idle_ms + 999) / 1000 : 10;

		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_write);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, idle);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL,
				 idle < KEEPALIVE_INTVL_S ? idle : (long)KEEPALIVE_INTVL_S);
		curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, watch_sockopt);
		/* its own connection, with the keepalive set up at connect */
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, unary_write);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, e->timeout_ms);
	}
	return 0;
}

/* One attempt on the current endpoint: onto the multi. */
static int req_add(struct req *r)
{
	struct xs_etcd *e = r->e;
	struct curl_slist *h = NULL, *t;
	char url[1024];
	int rc;

	if (!r->easy && (rc = req_easy(r)))
		return rc;
	r->ep = e->cur;
	snprintf(url, sizeof(url), "%s%s", e->endpoints[r->ep], kind_path[r->kind]);
	t = curl_slist_append(h, "Content-Type: application/json");
	if (t)
		t = curl_slist_append(h = t, "Expect:");
	if (t && e->token && r->kind != K_AUTH) {
		size_t n = strlen(e->token) + sizeof("Authorization: ");
		char *a = malloc(n);

		if (a) {
			snprintf(a, n, "Authorization: %s", e->token);
			h = t;
			t = curl_slist_append(h, a);
			free(a);
		} else {
			t = NULL;
		}
	}
	if (!t) {
		curl_slist_free_all(h);
		return -ENOMEM;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = t;
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	r->in.len = 0;
	r->scan = 0;
	r->too_big = false;
	if (curl_multi_add_handle(e->multi, r->easy) != CURLM_OK)
		return -EIO;
	r->state = S_ACTIVE;
	return 0;
}

static int auth_start(struct xs_etcd *e);

/* Send r now, or once there is a token, or once the running `ev` returns. */
static int req_submit(struct req *r)
{
	struct xs_etcd *e = r->e;

	if (r->kind != K_AUTH && e->user && !e->token) {
		r->state = S_WAIT_AUTH;
		r->auth_gen = e->auth_gen + !e->auth;
		return auth_start(e);
	}
	if (e->in_ev) {
		r->state = S_DEFERRED;
		e->in_ev->resume = true;
		return 0;
	}
	return req_add(r);
}

/* Start r (a new request): 0, or the error with r freed (no callback). */
static int req_start(struct req *r, int rc)
{
	if (!rc) {
		r->tries = 1;
		rc = req_submit(r);
	}
	if (rc) {
		req_unlink(r);
		req_destroy(r);
	}
	return rc;
}

static int auth_start(struct xs_etcd *e)
{
	struct json_object *o;
	struct req *r;

	if (e->auth)
		return 0;
	r = req_new(e, K_AUTH, NULL, NULL);
	o = json_object_new_object();
	if (!r || !o || !put_member(o, "name", json_object_new_string(e->user)) ||
	    !put_member(o, "password", json_object_new_string(e->password))) {
		json_object_put(o);
		if (r) {
			req_unlink(r);
			req_destroy(r);
		}
		return -ENOMEM;
	}
	e->auth = r;
	e->auth_gen++;
	return req_start(r, set_body(r, o));
}

/* What waited for token generation `gen`: sent (err 0), or failed with
 * err and msg. False when a callback freed the client. */
static bool auth_release(struct xs_etcd *e, unsigned int gen, int err, const char *msg)
{
	struct req *r;

again:
	for (r = e->head; r; r = r->next) {
		int rc = 0;

		if (r->state != S_WAIT_AUTH || r->auth_gen != gen)
			continue;
		r->state = S_IDLE;
		if (!err && !(rc = req_submit(r)))
			goto again;
		if (!req_fail(r, err ? err : rc, err ? msg : "cannot send the request"))
			return false;
		goto again;
	}
	return true;
}

/* Deferred starts and removals, outside every curl callback. */
static bool run_deferred(struct xs_etcd *e)
{
	struct req *r;

again:
	for (r = e->head; r; r = r->next) {
		if (r->remove) {
			req_drop(r);
			goto again;
		}
		if (r->state != S_DEFERRED)
			continue;
		r->state = S_IDLE;
		if (req_add(r)) {
			char msg[XS_ETCD_ERR_LEN];

			set_msg(msg, e->endpoints[e->cur], "cannot send the request");
			if (!req_fail(r, -EIO, msg))
				return false;
		}
		goto again;
	}
	return true;
}

/* ---- Answers -------------------------------------------------------------- */

static bool buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *q;

		while (cap < b->len + n + 1)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q)
			return false;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static size_t unary_write(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;

	n *= size;
	if (r->in.len + n > XS_ETCD_ANSWER_MAX) {
		r->too_big = true;
		return 0;
	}
	return buf_add(&r->in, p, n) ? n : 0;
}

/* A transport failure: res->err and msg, and the client on to the next endpoint. */
static void transport_error(struct req *r, CURLcode code, struct xs_etcd_result *res)
{
	struct xs_etcd *e = r->e;
	const char *ep = e->endpoints[r->ep];
	long os = 0;

	curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os);
	switch (code) {
	case CURLE_COULDNT_CONNECT:
		res->err = os > 0 ? -(int)os : -ECONNREFUSED;
		set_msg(res->msg, ep, "cannot connect: %s", strerror(-res->err));
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		res->err = -EHOSTUNREACH;
		set_msg(res->msg, ep, "cannot resolve the host");
		break;
	case CURLE_OPERATION_TIMEDOUT:
		res->err = -ETIMEDOUT;
		set_msg(res->msg, ep, "no answer in time");
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		res->err = os > 0 ? -(int)os : -ECONNRESET;
		set_msg(res->msg, ep, "connection lost: %s", strerror(-res->err));
		break;
	default:
		res->err = -EIO;
		set_msg(res->msg, ep, "%s", curl_easy_strerror(code));
		break;
	}
	if (e->cur == r->ep)
		e->cur = (r->ep + 1) % e->n;
}

/* Nothing was sent (so even a put may go to the next endpoint), or the
 * request is one that may be asked twice. */
static bool retryable(const struct req *r, CURLcode code)
{
	if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
		return true;
	if (code == CURLE_WRITE_ERROR || r->too_big)
		return false;
	if (r->kind == K_WATCH)
		return !r->created;
	return r->kind == K_RANGE || r->kind == K_AUTH || r->kind == K_KEEPALIVE;
}

/* etcd's error answer {"error", "code", "message"} (or a stream's
 * {"error": {"grpc_code", "message", ...}}) into res. */
static void etcd_error(struct req *r, struct json_object *o, long status,
		       struct xs_etcd_result *res)
{
	const char *ep = r->e->endpoints[r->ep];
	struct json_object *err = member(o, "error");
	const char *words = get_str(o, "message");
	int64_t code = -1;

	if (err && json_object_is_type(err, json_type_object)) {
		words = get_str(err, "message");
		if (get_i64(err, "grpc_code", &code) || !member(err, "grpc_code"))
			code = -1;
	} else {
		if (!words)
			words = get_str(o, "error");
		if (get_i64(o, "code", &code) || !member(o, "code"))
			code = -1;
	}
	if (!words || !*words) {
		res->err = status == 404 ? -ENOENT : -EIO;
		set_msg(res->msg, ep, "HTTP %ld without a reason", status);
		return;
	}
	res->err = code >= 0 ? grpc_errno(code, words) : auth_words(words) ? -EACCES : -EIO;
	if (status == 503 || code == 14)
		if (r->e->cur == r->ep)
			r->e->cur = (r->ep + 1) % r->e->n;
	set_msg(res->msg, ep, "%s", words);
}

/* A successful answer of r's kind into res. */
static int parse_answer(struct req *r, struct json_object *o, struct xs_etcd_result *res)
{
	struct xs_etcd *e = r->e;
	int rc;

	if (r->kind == K_KEEPALIVE && member(o, "result"))
		o = member(o, "result");
	if (!json_object_is_type(o, json_type_object))
		return -EPROTO;
	rc = get_i64(member(o, "header"), "revision", &res->revision);
	switch (r->kind) {
	case K_RANGE:
		return rc ? rc : parse_kvs(o, "kvs", false, res);
	case K_TXN:
		return rc ? rc : get_bool(o, "succeeded", &res->succeeded);
	case K_GRANT:
	case K_KEEPALIVE:
		if (!rc)
			rc = get_i64(o, "ID", &res->lease);
		return rc ? rc : get_i64(o, "TTL", &res->ttl);
	case K_AUTH: {
		const char *t = get_str(o, "token");
		char *c;

		if (!t || !*t || strpbrk(t, "\r\n"))
			return -EPROTO;
		c = strdup(t);
		if (!c)
			return -ENOMEM;
		free(e->token);
		e->token = c;
		return 0;
	}
	default:
		return rc;
	}
}

/* An "error" member that is one (LeaseGrantResponse's "error": "" is not). */
static bool answer_error(struct json_object *o)
{
	struct json_object *err = member(o, "error");

	return err &&
	       !(json_object_is_type(err, json_type_string) && !*json_object_get_string(err));
}

/* r's answer, with `r` needing a token again when etcd asks for one.
 * True when r is done (res filled), false when it waits for a token. */
static bool unary_result(struct req *r, CURLcode code, struct xs_etcd_result *res)
{
	const char *ep = r->e->endpoints[r->ep];
	struct json_object *o;
	long status = 0;

	if (code != CURLE_OK) {
		if (r->too_big) {
			res->err = -EFBIG;
			set_msg(res->msg, ep, "an answer over %u MiB", XS_ETCD_ANSWER_MAX >> 20);
		} else {
			transport_error(r, code, res);
		}
		return true;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	o = parse_json(r->in.p ? r->in.p : "", r->in.len);
	if (!o || !json_object_is_type(o, json_type_object)) {
		res->err = -EPROTO;
		if (status != 200)
			set_msg(res->msg, ep, "HTTP %ld: %.200s", status, r->in.p ? r->in.p : "");
		else
			set_msg(res->msg, ep, "not a JSON object in answer");
	} else if (status != 200 || answer_error(o)) {
		etcd_error(r, o, status, res);
		if (auth_words(res->msg) && r->e->user && r->kind != K_AUTH && !r->auth_retried) {
			json_object_put(o);
			memset(res, 0, sizeof(*res));
			return false;
		}
	} else {
		res->err = parse_answer(r, o, res);
		if (res->err == -ENOMEM)
			set_msg(res->msg, ep, "out of memory");
		else if (res->err)
			set_msg(res->msg, ep, "a malformed answer to %s", kind_path[r->kind]);
	}
	json_object_put(o);
	if (res->err)
		xs_etcd_result_free(res);
	return true;
}

/* Fetch a token again and send r once it is there. */
static void auth_retry(struct req *r)
{
	struct xs_etcd *e = r->e;

	r->auth_retried = true;
	r->state = S_IDLE;
	/* a token nobody refreshed yet is the stale one */
	if (!e->auth) {
		free(e->token);
		e->token = NULL;
	}
	if (req_submit(r)) {
		char msg[XS_ETCD_ERR_LEN];

		set_msg(msg, e->endpoints[e->cur], "cannot authenticate: out of memory");
		req_fail(r, -ENOMEM, msg);
	}
}

/* ---- Watches -------------------------------------------------------------- */

static int watch_body(struct req *r)
{
	struct json_object *o = json_object_new_object(), *c = json_object_new_object();
	bool ok = o && c;

	ok = ok && put_member(c, "key", json_object_new_string(r->wkey));
	if (ok && r->wend)
		ok = put_member(c, "range_end", json_object_new_string(r->wend));
	if (ok && r->next_rev > 0)
		ok = put_i64(c, "start_revision", r->next_rev);
	if (ok) {
		ok = put_member(o, "create_request", c);
		c = NULL;
	}
	json_object_put(c);
	if (!ok) {
		json_object_put(o);
		return -ENOMEM;
	}
	return set_body(r, o);
}

/* The stream ends here with err (msg formatted). */
static bool watch_stop(struct req *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool watch_stop(struct req *r, int err, const char *fmt, ...)
{
	char words[XS_ETCD_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(words, sizeof(words), fmt, ap);
	va_end(ap);
	r->werr = err;
	set_msg(r->wmsg, r->e->endpoints[r->ep], "%s", words);
	r->stop = true;
	return false;
}

/* One line of the stream: a WatchResponse in {"result": ...}, or an error.
 * False when the stream is to end (r->stop) or was cancelled. */
static bool watch_line(struct req *r, const char *p, size_t len)
{
	struct xs_etcd *e = r->e;
	struct xs_etcd_result res = { 0 };
	struct json_object *o, *w;
	bool canceled, created, ok = true;
	int64_t compact;

	while (len && strchr(" \t\r", p[len - 1]) && p[len - 1])
		len--;
	if (!len)
		return true;
	o = parse_json(p, len);
	if (!o)
		return watch_stop(r, -EPROTO, "a malformed line in the watch stream");
	if (member(o, "error")) {
		struct xs_etcd_result err = { 0 };

		etcd_error(r, o, 200, &err);
		r->auth_fail = auth_words(err.msg);
		r->werr = err.err;
		memcpy(r->wmsg, err.msg, sizeof(r->wmsg));
		r->stop = true;
		json_object_put(o);
		return false;
	}
	w = member(o, "result");
	if (!w || !json_object_is_type(w, json_type_object) ||
	    get_i64(member(w, "header"), "revision", &res.revision) ||
	    get_bool(w, "canceled", &canceled) || get_bool(w, "created", &created) ||
	    get_i64(w, "compact_revision", &compact)) {
		json_object_put(o);
		return watch_stop(r, -EPROTO, "a malformed answer in the watch stream");
	}
	if (created) {
		r->created = true;
		if (!r->next_rev)
			r->next_rev = res.revision + 1;
	}
	if (canceled) {
		const char *why = get_str(w, "cancel_reason");

		if (compact > 0) {
			r->wrev = compact;
			ok = watch_stop(r, -ERANGE,
					"etcdserver: mvcc: required revision has been compacted "
					"(compacted at %" PRId64 ")",
					compact);
		} else if (why && auth_words(why)) {
			r->auth_fail = true;
			ok = watch_stop(r, -EACCES, "%s", why);
		} else {
			ok = watch_stop(
				r, why && strstr(why, "permission denied") ? -EACCES : -ECANCELED,
				"%s", why && *why ? why : "the watch was cancelled");
		}
		json_object_put(o);
		return ok;
	}
	if (parse_kvs(w, "events", true, &res)) {
		xs_etcd_result_free(&res);
		json_object_put(o);
		return watch_stop(r, -EPROTO, "a malformed event in the watch stream");
	}
	json_object_put(o);
	if (!res.nkvs)
		return true; /* a progress notification */
	for (size_t i = 0; i < res.nkvs; i++)
		if (res.kvs[i].mod_revision >= r->next_rev)
			r->next_rev = res.kvs[i].mod_revision + 1;
	if (r->cb && !r->canceled) {
		e->in_ev = r;
		r->cb(r->arg, &res);
		if (e->in_ev == r)
			e->in_ev = NULL;
	}
	xs_etcd_result_free(&res);
	return !r->canceled;
}

static size_t watch_write(char *p, size_t size, size_t n, void *arg)
{
	struct req *r = arg;
	size_t start = 0;
	char *nl;

	n *= size;
	if (r->canceled || r->stop)
		return 0;
	if (!buf_add(&r->in, p, n)) {
		watch_stop(r, -ENOMEM, "out of memory");
		return 0;
	}
	while ((nl = memchr(r->in.p + r->scan, '\n', r->in.len - r->scan))) {
		size_t end = (size_t)(nl - r->in.p);

		if (!watch_line(r, r->in.p + start, end - start))
			return 0;
		start = r->scan = end + 1;
	}
	r->scan = r->in.len;
	if (start) {
		memmove(r->in.p, r->in.p + start, r->in.len - start);
		r->in.len -= start;
		r->scan -= start;
	}
	if (r->in.len > XS_ETCD_LINE_MAX) {
		watch_stop(r, -EMSGSIZE, "a watch line over %u MiB", XS_ETCD_LINE_MAX >> 20);
		return 0;
	}
	/* deferred work waits for this stream to stop (see the top) */
	return r->resume ? 0 : n;
}

/* The stream ended (code): resumed, retried, or its end delivered. */
static void watch_done(struct req *r, CURLcode code)
{
	struct xs_etcd *e = r->e;
	struct xs_etcd_result res = { 0 };

	if (r->canceled) {
		req_unlink(r);
		req_destroy(r);
		return;
	}
	if (!r->stop && code == CURLE_OK && r->in.len) /* a last line without its newline */
		watch_line(r, r->in.p, r->in.len);
	if (r->canceled) {
		req_unlink(r);
		req_destroy(r);
		return;
	}
	if (r->auth_fail && e->user && !r->auth_retried) {
		r->stop = r->auth_fail = r->created = false;
		auth_retry(r);
		return;
	}
	if (r->stop) {
		res.err = r->werr;
		res.revision = r->wrev;
		memcpy(res.msg, r->wmsg, sizeof(res.msg));
	} else if (r->resume) {
		r->resume = false;
		r->state = S_IDLE;
		res.err = watch_body(r);
		if (!res.err && !(res.err = req_add(r)))
			return;
		set_msg(res.msg, e->endpoints[e->cur], "cannot resume the watch");
	} else if (code != CURLE_OK) {
		transport_error(r, code, &res);
		if (retryable(r, code) && r->tries < e->n) {
			r->tries++;
			r->state = S_IDLE;
			if (!req_add(r))
				return;
		}
	} else {
		res.err = -ECONNRESET;
		set_msg(res.msg, e->endpoints[r->ep], "the watch stream ended");
	}
	req_finish(r, &res);
}

/* ---- The client ----------------------------------------------------------- */

static void unary_done(struct req *r, CURLcode code)
{
	struct xs_etcd *e = r->e;
	struct xs_etcd_result res = { 0 };
	bool is_auth = r->kind == K_AUTH;
	unsigned int gen = e->auth_gen;

	if (r->canceled) {
		req_unlink(r);
		req_destroy(r);
		return;
	}
	if (!unary_result(r, code, &res)) {
		auth_retry(r);
		return;
	}
	if (res.err && code != CURLE_OK && retryable(r, code) && r->tries < e->n) {
		r->tries++;
		r->state = S_IDLE;
		if (!req_add(r))
			return;
	}
	if (is_auth) {
		req_unlink(r);
		req_destroy(r);
		auth_release(e, gen, res.err, res.msg);
		return;
	}
	req_finish(r, &res);
}

bool xs_etcd_done(struct xs_etcd *e, CURL *easy, CURLcode code)
{
	bool alive = true, *outer;
	struct req *r;

	if (!e || !easy)
		return false;
	for (r = e->head; r && r->easy != easy; r = r->next)
		;
	if (!r || r->state != S_ACTIVE)
		return false;
	curl_multi_remove_handle(e->multi, easy);
	r->state = S_IDLE;
	outer = e->alive;
	e->alive = &alive;
	if (r->kind == K_WATCH)
		watch_done(r, code);
	else
		unary_done(r, code);
	if (alive) {
		e->alive = outer;
		run_deferred(e);
	} else if (outer) {
		*outer = false;
	}
	return true;
}

size_t xs_etcd_pending(const struct xs_etcd *e)
{
	size_t n = 0;

	for (const struct req *r = e ? e->head : NULL; r; r = r->next)
		n += r->kind != K_AUTH && !r->canceled;
	return n;
}

int xs_etcd_parse_endpoints(char *buf, struct xs_etcd_opts *o, char *err, size_t errlen)
{
	char *p = buf, *comma;

	memset(o->endpoints, 0, sizeof(o->endpoints));
	o->nendpoints = 0;
	do {
		size_t len;

		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		len = strlen(p);
		while (len && p[len - 1] == '/')
			p[--len] = '\0';
		if (!len) {
			snprintf(err, errlen, "an empty etcd endpoint");
			return -EINVAL;
		}
		if ((strncmp(p, "http://", 7) || len == 7) &&
		    (strncmp(p, "https://", 8) || len == 8)) {
			snprintf(err, errlen, "etcd endpoint '%.200s': not http://HOST:PORT", p);
			return -EINVAL;
		}
		if (o->nendpoints == XS_ETCD_MAX_ENDPOINTS) {
			snprintf(err, errlen, "more than %d etcd endpoints", XS_ETCD_MAX_ENDPOINTS);
			return -EINVAL;
		}
		o->endpoints[o->nendpoints++] = p;
		p = comma + 1;
	} while (comma);
	return 0;
}

void xs_etcd_free(struct xs_etcd *e)
{
	if (!e)
		return;
	if (e->alive)
		*e->alive = false;
	while (e->head)
		req_drop(e->head);
	for (size_t i = 0; i < e->n; i++)
		free(e->endpoints[i]);
	free(e->user);
	free(e->password);
	free(e->token);
	free(e);
}

int xs_etcd_new(CURLM *multi, const struct xs_etcd_opts *o, struct xs_etcd **out, char *err,
		size_t errlen)
{
	struct xs_etcd *e;

	*out = NULL;
	if (!multi || !o->nendpoints || o->nendpoints > XS_ETCD_MAX_ENDPOINTS) {
		snprintf(err, errlen, "etcd: between 1 and %d endpoints", XS_ETCD_MAX_ENDPOINTS);
		return -EINVAL;
	}
	if (!o->user != !o->password || (o->user && o->token)) {
		snprintf(err, errlen, "etcd: a user with a password, or a token");
		return -EINVAL;
	}
	for (size_t i = 0; i < o->nendpoints; i++) {
		const char *s = o->endpoints[i];

		if (!s || (strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) ||
		    strlen(s) > 900) {
			snprintf(err, errlen, "etcd endpoint '%.200s': not http://HOST:PORT",
				 s ? s : "");
			return -EINVAL;
		}
	}
	if (o->token && strpbrk(o->token, "\r\n")) {
		snprintf(err, errlen, "etcd: a token with a line break");
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->multi = multi;
	e->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	e->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 2000;
	for (; e->n < o->nendpoints; e->n++)
		if (!(e->endpoints[e->n] = strdup(o->endpoints[e->n])))
			goto nomem;
	if ((o->user && (!(e->user = strdup(o->user)) || !(e->password = strdup(o->password)))) ||
	    (o->token && !(e->token = strdup(o->token))))
		goto nomem;
	*out = e;
	return 0;
nomem:
	xs_etcd_free(e);
	snprintf(err, errlen, "etcd: out of memory");
	return -ENOMEM;
}

/* ---- Requests, one per call ------------------------------------------------ */

static int start(struct xs_etcd *e, enum kind kind, struct json_object *o, xs_etcd_cb cb, void *arg,
		 bool ok)
{
	struct req *r;

	if (!ok || !o) {
		json_object_put(o);
		return -ENOMEM;
	}
	r = req_new(e, kind, cb, arg);
	if (!r) {
		json_object_put(o);
		return -ENOMEM;
	}
	return req_start(r, set_body(r, o));
}

int xs_etcd_range(struct xs_etcd *e, const char *key, bool prefix, int64_t revision, xs_etcd_cb cb,
		  void *arg)
{
	struct json_object *o;
	bool ok;

	if (!e || !key)
		return -EINVAL;
	o = json_object_new_object();
	ok = o && put_b64(o, "key", key, strlen(key));
	if (ok && prefix)
		ok = put_prefix_end(o, key);
	if (ok && revision > 0)
		ok = put_i64(o, "revision", revision);
	return start(e, K_RANGE, o, cb, arg, ok);
}

/* A PutRequest's fields into o. */
static bool put_fields(struct json_object *o, const char *key, const void *value, size_t len,
		       int64_t lease)
{
	bool ok = put_b64(o, "key", key, strlen(key)) && put_b64(o, "value", value, len);

	return ok && (!lease || put_i64(o, "lease", lease));
}

int xs_etcd_put(struct xs_etcd *e, const char *key, const void *value, size_t len, int64_t lease,
		xs_etcd_cb cb, void *arg)
{
	struct json_object *o;

	if (!e || !key || (!value && len))
		return -EINVAL;
	o = json_object_new_object();
	return start(e, K_PUT, o, cb, arg, o && put_fields(o, key, value ? value : "", len, lease));
}

/* One RequestOp. */
static struct json_object *txn_op(const struct xs_etcd_op *op)
{
	struct json_object *o = json_object_new_object(), *req = json_object_new_object();
	bool ok = o && req;

	if (ok && op->kind == XS_ETCD_PUT)
		ok = put_fields(req, op->key, op->value ? op->value : "", op->len, op->lease) &&
		     put_member(o, "request_put", req);
	else if (ok)
		ok = put_b64(req, "key", op->key, strlen(op->key)) &&
		     (op->kind != XS_ETCD_DELETE_PREFIX || put_prefix_end(req, op->key)) &&
		     put_member(o, "request_delete_range", req);
	if (!ok) {
		json_object_put(req);
		json_object_put(o);
		return NULL;
	}
	return o;
}

int xs_etcd_txn(struct xs_etcd *e, const char *cmp_key, int64_t if_mod,
		const struct xs_etcd_op *ops, size_t nops, xs_etcd_cb cb, void *arg)
{
	struct json_object *o, *a, *c;
	bool ok;

	if (!e || nops > XS_ETCD_MAX_OPS || (nops && !ops) || if_mod < 0)
		return -EINVAL;
	for (size_t i = 0; i < nops; i++)
		if (!ops[i].key ||
		    (ops[i].kind != XS_ETCD_PUT && ops[i].kind != XS_ETCD_DELETE &&
		     ops[i].kind != XS_ETCD_DELETE_PREFIX) ||
		    (ops[i].kind == XS_ETCD_PUT && !ops[i].value && ops[i].len))
			return -EINVAL;
	o = json_object_new_object();
	ok = o != NULL;
	if (ok && cmp_key) {
		a = json_object_new_array();
		c = json_object_new_object();
		ok = a && c && put_b64(c, "key", cmp_key, strlen(cmp_key)) &&
		     put_member(c, "target", json_object_new_string("MOD")) &&
		     put_member(c, "result", json_object_new_string("EQUAL")) &&
		     put_i64(c, "mod_revision", if_mod) && !json_object_array_add(a, c);
		if (!ok)
			json_object_put(c);
		ok = ok && put_member(o, "compare", a);
		if (!ok)
			json_object_put(a);
	}
	if (ok && nops) {
		a = json_object_new_array();
		ok = a != NULL;
		for (size_t i = 0; ok && i < nops; i++) {
			struct json_object *op = txn_op(&ops[i]);

			ok = op && !json_object_array_add(a, op);
			if (!ok)
				json_object_put(op);
		}
		ok = ok && put_member(o, "success", a);
		if (!ok)
			json_object_put(a);
	}
	return start(e, K_TXN, o, cb, arg, ok);
}

int xs_etcd_lease_grant(struct xs_etcd *e, int64_t ttl, xs_etcd_cb cb, void *arg)
{
	struct json_object *o;

	if (!e || ttl <= 0)
		return -EINVAL;
	o = json_object_new_object();
	return start(e, K_GRANT, o, cb, arg, o && put_i64(o, "TTL", ttl));
}

int xs_etcd_lease_keepalive(struct xs_etcd *e, int64_t lease, xs_etcd_cb cb, void *arg)
{
	struct json_object *o;

	if (!e || !lease)
		return -EINVAL;
	o = json_object_new_object();
	return start(e, K_KEEPALIVE, o, cb, arg, o && put_i64(o, "ID", lease));
}

int xs_etcd_compact(struct xs_etcd *e, int64_t revision, xs_etcd_cb cb, void *arg)
{
	struct json_object *o;
	bool ok;

	if (!e || revision <= 0)
		return -EINVAL;
	o = json_object_new_object();
	/* physical: answered once the history is gone, so what follows sees it gone */
	ok = o && put_i64(o, "revision", revision) &&
	     put_member(o, "physical", json_object_new_boolean(1));
	return start(e, K_COMPACT, o, cb, arg, ok);
}

int xs_etcd_watch(struct xs_etcd *e, const char *key, bool prefix, int64_t start_revision,
		  long idle_ms, xs_etcd_cb ev, void *arg, struct xs_etcd_watch **out)
{
	struct json_object *k, *end = NULL;
	struct req *r;
	int rc = -ENOMEM;

	if (out)
		*out = NULL;
	if (!e || !key || start_revision < 0)
		return -EINVAL;
	r = req_new(e, K_WATCH, ev, arg);
	if (!r)
		return -ENOMEM;
	r->next_rev = start_revision;
	r->idle_ms = idle_ms;
	/* the key and range end in base64, as every resumption sends them */
	k = json_object_new_object();
	if (k && put_b64(k, "key", key, strlen(key)) && (!prefix || put_prefix_end(k, key))) {
		r->wkey = strdup(get_str(k, "key"));
		end = member(k, "range_end");
		r->wend = end ? strdup(json_object_get_string(end)) : NULL;
		if (r->wkey && (!end || r->wend))
			rc = watch_body(r);
	}
	json_object_put(k);
	rc = req_start(r, rc);
	if (!rc && out)
		*out = (struct xs_etcd_watch *)r;
	return rc;
}

void xs_etcd_watch_cancel(struct xs_etcd_watch *w)
{
	struct req *r = w ? &w->r : NULL;
	struct xs_etcd *e = r ? r->e : NULL;

	if (!r || r->canceled)
		return;
	r->canceled = true;
	if (!e->in_ev) {
		req_drop(r);
	} else if (r != e->in_ev) {
		/* curl refuses removals inside its callbacks: after this `ev` */
		if (r->state == S_ACTIVE)
			r->remove = true;
		else
			req_drop(r);
		e->in_ev->resume = true;
	}
	/* r == e->in_ev: its write callback ends the stream, done() frees it */
}

/* ---- Synchronous ---------------------------------------------------------- */

struct xs_etcd_sync {
	CURLM *multi;
	struct xs_etcd *e;
};

struct sync_wait {
	bool done;
	struct xs_etcd_result *r;
};

static void sync_cb(void *arg, const struct xs_etcd_result *r)
{
	struct sync_wait *w = arg;
	/* the result is the core's own (not const): its keys become the caller's */
	struct xs_etcd_result *own = (struct xs_etcd_result *)r;

	*w->r = *own;
	own->kvs = NULL;
	own->nkvs = 0;
	w->done = true;
}

int xs_etcd_sync_new(const struct xs_etcd_opts *o, struct xs_etcd_sync **out, char *err,
		     size_t errlen)
{
	struct xs_etcd_sync *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s || !(s->multi = curl_multi_init())) {
		free(s);
		snprintf(err, errlen, "etcd: out of memory");
		return -ENOMEM;
	}
	rc = xs_etcd_new(s->multi, o, &s->e, err, errlen);
	if (rc) {
		xs_etcd_sync_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void xs_etcd_sync_free(struct xs_etcd_sync *s)
{
	if (!s)
		return;
	xs_etcd_free(s->e);
	curl_multi_cleanup(s->multi);
	free(s);
}

/* Drive the private multi until w is done (rc: the start's result). */
static int sync_run(struct xs_etcd_sync *s, struct sync_wait *w, int rc)
{
	if (rc) {
		w->r->err = rc;
		snprintf(w->r->msg, sizeof(w->r->msg), "%s: cannot send the request: %s",
			 s->e->endpoints[s->e->cur], strerror(-rc));
		return rc;
	}
	while (!w->done) {
		struct CURLMsg *m;
		int running, left;

		if (curl_multi_perform(s->multi, &running) != CURLM_OK)
			break;
		while ((m = curl_multi_info_read(s->multi, &left)))
			if (m->msg == CURLMSG_DONE)
				xs_etcd_done(s->e, m->easy_handle, m->data.result);
		if (!w->done && curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	}
	if (!w->done) {
		w->r->err = -EIO;
		snprintf(w->r->msg, sizeof(w->r->msg), "%s: the transfer failed",
			 s->e->endpoints[s->e->cur]);
	}
	return w->r->err;
}

#define SYNC_BEGIN(r)                      \
	struct sync_wait w = { .r = (r) }; \
	memset((r), 0, sizeof(*(r)))

int xs_etcd_sync_range(struct xs_etcd_sync *s, const char *key, bool prefix, int64_t revision,
		       struct xs_etcd_result *r)
{
	SYNC_BEGIN(r);
	return sync_run(s, &w, xs_etcd_range(s->e, key, prefix, revision, sync_cb, &w));
}

int xs_etcd_sync_put(struct xs_etcd_sync *s, const char *key, const void *value, size_t len,
		     int64_t lease, struct xs_etcd_result *r)
{
	SYNC_BEGIN(r);
	return sync_run(s, &w, xs_etcd_put(s->e, key, value, len, lease, sync_cb, &w));
}

int xs_etcd_sync_txn(struct xs_etcd_sync *s, const char *cmp_key, int64_t if_mod,
		     const struct xs_etcd_op *ops, size_t nops, struct xs_etcd_result *r)
{
	SYNC_BEGIN(r);
	return sync_run(s, &w, xs_etcd_txn(s->e, cmp_key, if_mod, ops, nops, sync_cb, &w));
}

int xs_etcd_sync_compact(struct xs_etcd_sync *s, int64_t revision, struct xs_etcd_result *r)
{
	SYNC_BEGIN(r);
	return sync_run(s, &w, xs_etcd_compact(s->e, revision, sync_cb, &w));
}

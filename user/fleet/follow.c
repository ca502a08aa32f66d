// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A host following its fleet (follow.h): two independent paths on one
 * xs_etcd.
 *
 * The pointer path: read the pointer -> watch it from the read's revision
 * + 1 -> each pointer seen (read or watched) whose hash is neither the one
 * enforced nor one that failed: fetch the bundle's chunks, verify, apply.
 * Any request of this path that fails, or the watch breaking, is an
 * outage: the watch is cancelled, LOST said once, and the path starts
 * again from the read after a backoff. A watch compacted past its revision
 * reads again at once (not an outage).
 *
 * The report path: a lease (granted on demand, kept alive every
 * report_s, granted again when etcd says it is gone), and the report put
 * under status/HOST with it and under seen/HOST without, in one
 * transaction: at once after every apply or failure, after every
 * (re)connection, and every report_s. A report that fails is tried again
 * after the backoff; one that fails on the transport is an outage too.
 *
 * Every request carries a small context (struct freq) that points back to
 * the follower; xs_follow_free() orphans the ones in flight (etcd.h has no
 * cancel for single requests: their callbacks still come, find no
 * follower and free the context).
 */
#include "fleet/follow.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 30000
#define KEY_LEN 512

enum freq_kind {
	REQ_READ,      /* the pointer */
	REQ_FETCH,     /* a bundle's chunks */
	REQ_GRANT,     /* the report's lease */
	REQ_KEEPALIVE, /* of that lease */
	REQ_REPORT,    /* the status and seen keys, one txn */
};

struct freq {
	struct freq *next, **pprev;
	struct xs_follow *f; /* NULL: orphaned by xs_follow_free() */
	enum freq_kind kind;
	unsigned int epoch;	    /* the pointer path's, when issued */
	struct xs_fleet_pointer p;  /* FETCH: the pointer it fetches for */
	struct xs_fleet_report rep; /* REPORT: what it puts */
};

/* Requests whose follower is gone: kept reachable until their callback. */
static struct freq *orphans;
static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;

enum phase {
	PH_IDLE,     /* not started */
	PH_READING,  /* the pointer's range in flight */
	PH_WATCHING, /* read, the watch open */
	PH_BACKOFF,  /* an outage: the read again at retry_at */
};

struct xs_follow {
	struct xs_etcd *e;
	struct xs_follow_ops ops;
	void *arg;
	char fleet[XS_FLEET_NAME_LEN];
	char host[XS_FLEET_NAME_LEN];
	char key_current[KEY_LEN];
	char key_status[KEY_LEN];
	char key_seen[KEY_LEN];
	unsigned int report_s, ttl_s, bmin, bmax;
	uint32_t rng;
	int64_t now;

	struct freq *reqs; /* in flight */

	/* ---- the pointer path ---- */
	enum phase phase;
	unsigned int epoch; /* one more at every outage: late answers ignored */
	struct xs_etcd_watch *w;
	bool outage;		 /* LOST said, not connected again yet */
	bool ever_connected;	 /* CONNECTED said once */
	unsigned int backoff_ms; /* the next outage's wait */
	int64_t retry_at;
	struct xs_fleet_pointer ptr; /* the last pointer seen */
	bool have_ptr;
	bool fetching;		      /* a FETCH in flight (this epoch) */
	struct xs_fleet_pointer want; /* a pointer seen while fetching */
	bool have_want;
	/* A pointer the watch brought, considered at the next tick: a request
	 * started inside the watch's callback would end its stream (etcd.h),
	 * and every host would open its watch again after every publish. */
	struct xs_fleet_pointer seen;
	bool have_seen;
	char failed_hash[65]; /* not tried again until the pointer moves: */
	int64_t failed_rev;   /* ... the mod_revision of the pointer that named it */

	/* ---- what the host enforces ---- */
	char hash[65];
	uint64_t generation;
	int64_t applied_ms; /* wall clock */
	char error[256];

	/* ---- the report path ---- */
	int64_t lease;
	bool reporting;		 /* a GRANT/KEEPALIVE/REPORT in flight */
	bool report_again;	 /* asked while one was in flight */
	bool report_now;	 /* due at the next chance */
	bool report_keep;	 /* ... with a keepalive first */
	int64_t report_at;	 /* the next periodic report */
	int64_t report_retry_at; /* a failed report's retry (0: none) */
	unsigned int report_backoff_ms;

	/* ---- status ---- */
	bool connected;
	int64_t since_ms;
	uint64_t applies, failures, reconnects, compactions, reports, report_failures;
};

/* ---- small helpers ---------------------------------------------------------- */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(struct xs_follow *f, enum xs_follow_event ev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct xs_follow *f, enum xs_follow_event ev, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (!f->ops.event)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->ops.event(f->arg, ev, msg);
}

/* xorshift32: the jitter's, seeded (tests and benchmarks repeat). */
static uint32_t next_rand(struct xs_follow *f)
{
	uint32_t x = f->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	f->rng = x;
	return x;
}

/* `ms` +-25%. */
static int64_t jitter(struct xs_follow *f, unsigned int ms)
{
	uint32_t span = ms / 2;

	return (int64_t)ms - span / 2 + (span ? (int64_t)(next_rand(f) % (span + 1)) : 0);
}

static unsigned int doubled(unsigned int ms, unsigned int max)
{
	return ms >= max / 2 ? max : ms * 2;
}

static void set_error(struct xs_follow *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_error(struct xs_follow *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->error, sizeof(f->error), fmt, ap);
	va_end(ap);
}

/* ---- request contexts --------------------------------------------------------- */

static struct freq *freq_new(struct xs_follow *f, enum freq_kind kind)
{
	struct freq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->f = f;
	q->kind = kind;
	q->epoch = f->epoch;
	q->next = f->reqs;
	if (f->reqs)
		f->reqs->pprev = &q->next;
	q->pprev = &f->reqs;
	f->reqs = q;
	return q;
}

/* Unlink and free (under orphans_lock when orphaned). */
static void freq_free(struct freq *q)
{
	bool orphan = !q->f;

	if (orphan)
		pthread_mutex_lock(&orphans_lock);
	*q->pprev = q->next;
	if (q->next)
		q->next->pprev = q->pprev;
	if (orphan)
		pthread_mutex_unlock(&orphans_lock);
	free(q);
}

/* A request answered: its context copied into *c and freed; the follower,
 * or NULL (orphaned). */
static struct xs_follow *freq_end(struct freq *q, struct freq *c)
{
	struct xs_follow *f = q->f;

	*c = *q;
	freq_free(q);
	return f;
}

/* ---- the pointer path ----------------------------------------------------------- */

static void begin_read(struct xs_follow *f);
static void consider(struct xs_follow *f, const struct xs_fleet_pointer *p);
static void report_soon(struct xs_follow *f, bool keepalive);
static void report_run(struct xs_follow *f);

/* An outage: stop the pointer path, say it once, read again after a backoff. */
static void lost(struct xs_follow *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lost(struct xs_follow *f, const char *fmt, ...)
{
	char why[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (f->w) {
		xs_etcd_watch_cancel(f->w);
		f->w = NULL;
	}
	if (f->phase == PH_BACKOFF)
		return; /* already waiting: the retry stands */
	f->epoch++;
	f->fetching = false;
	f->phase = PH_BACKOFF;
	f->retry_at = f->now + jitter(f, f->backoff_ms);
	f->backoff_ms = doubled(f->backoff_ms, f->bmax);
	if (f->connected || !f->outage) {
		f->connected = false;
		f->since_ms = f->now;
	}
	if (!f->outage) {
		f->outage = true;
		say(f, XS_FOLLOW_LOST,
		    "etcd unreachable (%s): enforcing what is in force (%s), retrying", why,
		    f->hash[0] ? f->hash : "nothing of the fleet's");
	}
}

static void on_watch(void *arg, const struct xs_etcd_result *r)
{
	struct xs_follow *f = arg;
	const struct xs_etcd_kv *last = NULL;
	struct xs_fleet_pointer p;
	char err[256];

	if (r->err == -ERANGE) {
		f->w = NULL; /* ended */
		f->compactions++;
		say(f, XS_FOLLOW_COMPACTED,
		    "the pointer's watch was compacted (etcd's revision %lld): reading it again",
		    (long long)r->revision);
		begin_read(f);
		return;
	}
	if (r->err) {
		f->w = NULL;
		lost(f, "the watch broke: %s", r->msg);
		return;
	}
	for (size_t i = 0; i < r->nkvs; i++)
		if (!strcmp(r->kvs[i].key, f->key_current))
			last = &r->kvs[i];
	if (!last || !last->len || last->mod_revision <= f->ptr.mod_revision)
		return; /* nothing, a deletion (keep enforcing), or already seen */
	if (xs_fleet_pointer_parse(last->value, last->len, &p, err, sizeof(err))) {
		f->failures++;
		set_error(f, "the pointer %s: %s", f->key_current, err);
		say(f, XS_FOLLOW_FAILED, "%s", f->error);
		report_soon(f, false);
		return;
	}
	p.mod_revision = last->mod_revision;
	f->seen = p;
	f->have_seen = true;
}

static void on_read(void *arg, const struct xs_etcd_result *r)
{
	struct freq q;
	struct xs_follow *f = freq_end(arg, &q);
	struct xs_fleet_pointer p;
	char err[256];
	int ret;

	if (!f || q.epoch != f->epoch || f->phase != PH_READING)
		return;
	if (r->err) {
		lost(f, "reading %s: %s", f->key_current, r->msg);
		return;
	}
	ret = xs_etcd_watch(f->e, f->key_current, false, r->revision + 1,
			    (long)(f->report_s < 10 ? f->report_s : 10) * 1000, on_watch, f, &f->w);
	if (ret) {
		f->w = NULL;
		lost(f, "watching %s: %s", f->key_current, strerror(-ret));
		return;
	}
	f->phase = PH_WATCHING;
	f->backoff_ms = f->bmin;
	if (!f->connected) {
		f->connected = true;
		f->since_ms = f->now;
	}
	if (f->outage || !f->ever_connected) {
		if (f->outage)
			f->reconnects++;
		f->outage = false;
		f->ever_connected = true;
		f->report_retry_at = 0; /* back: report at once */
		f->report_backoff_ms = f->bmin;
		say(f, XS_FOLLOW_CONNECTED, "following fleet %s as %s (etcd revision %lld)",
		    f->fleet, f->host, (long long)r->revision);
		report_soon(f, true);
	}
	if (!r->nkvs || !r->kvs[0].len)
		return; /* nothing published: the host enforces what it does */
	if (xs_fleet_pointer_parse(r->kvs[0].value, r->kvs[0].len, &p, err, sizeof(err))) {
		if (!f->have_ptr || f->ptr.mod_revision != r->kvs[0].mod_revision) {
			f->failures++;
			set_error(f, "the pointer %s: %s", f->key_current, err);
			say(f, XS_FOLLOW_FAILED, "%s", f->error);
			report_soon(f, false);
		}
		f->ptr.mod_revision = r->kvs[0].mod_revision;
		return;
	}
	p.mod_revision = r->kvs[0].mod_revision;
	consider(f, &p);
}

static void begin_read(struct xs_follow *f)
{
	struct freq *q = freq_new(f, REQ_READ);
	int ret;

	f->phase = PH_READING;
	if (!q) {
		lost(f, "out of memory");
		return;
	}
	ret = xs_etcd_range(f->e, f->key_current, false, 0, on_read, q);
	if (ret) {
		freq_free(q);
		lost(f, "reading %s: %s", f->key_current, strerror(-ret));
	}
}

static void fetch(struct xs_follow *f, const struct xs_fleet_pointer *p);

/* A bundle that will not do: FAILED, reported, not tried again until the pointer moves. */
static void bundle_failed(struct xs_follow *f, const struct xs_fleet_pointer *p)
{
	f->failures++;
	snprintf(f->failed_hash, sizeof(f->failed_hash), "%s", p->hash);
	f->failed_rev = p->mod_revision;
	say(f, XS_FOLLOW_FAILED, "generation %llu: %s; enforcing %s still",
	    (unsigned long long)p->generation, f->error,
	    f->hash[0] ? f->hash : "what was in force");
	report_soon(f, false);
}

/* The chunks of q->p in r: in order, counted, sized, hashed; then applied. */
static void verify_apply(struct xs_follow *f, const struct xs_fleet_pointer *p,
			 const struct xs_etcd_result *r)
{
	char key[KEY_LEN], hash[65], err[256] = "";
	size_t total = 0, o = 0;
	unsigned char *buf;
	int ret;

	if (r->nkvs != p->chunks) {
		set_error(f, "bundle %.12s: %zu chunks where the pointer says %u", p->hash, r->nkvs,
			  p->chunks);
		bundle_failed(f, p);
		return;
	}
	for (size_t i = 0; i < r->nkvs; i++) {
		xs_fleet_key_chunk(key, sizeof(key), f->fleet, p->hash, (unsigned int)i);
		if (strcmp(r->kvs[i].key, key)) {
			set_error(f, "bundle %.12s: chunk %zu missing (found %s)", p->hash, i,
				  r->kvs[i].key);
			bundle_failed(f, p);
			return;
		}
		total += r->kvs[i].len;
	}
	if (total != p->size) {
		set_error(f, "bundle %.12s: %zu bytes where the pointer says %llu", p->hash, total,
			  (unsigned long long)p->size);
		bundle_failed(f, p);
		return;
	}
	buf = malloc(total ? total : 1);
	if (!buf) {
		set_error(f, "bundle %.12s: out of memory", p->hash);
		bundle_failed(f, p);
		return;
	}
	for (size_t i = 0; i < r->nkvs; i++) {
		memcpy(buf + o, r->kvs[i].value, r->kvs[i].len);
		o += r->kvs[i].len;
	}
	xs_fleet_hash(buf, total, hash);
	if (strcmp(hash, p->hash)) {
		set_error(f, "bundle %.12s: hash mismatch (its bytes hash to %.12s): not applied",
			  p->hash, hash);
		free(buf);
		bundle_failed(f, p);
		return;
	}
	ret = f->ops.apply(f->arg, p, buf, total, err, sizeof(err));
	free(buf);
	if (ret) {
		set_error(f, "applying bundle %.12s: %s", p->hash, err[0] ? err : strerror(-ret));
		bundle_failed(f, p);
		return;
	}
	snprintf(f->hash, sizeof(f->hash), "%s", p->hash);
	f->generation = p->generation;
	f->applied_ms = wall_ms();
	f->error[0] = f->failed_hash[0] = '\0';
	f->applies++;
	say(f, XS_FOLLOW_APPLIED, "applied generation %llu (sha256 %s, %llu bytes, from %s)",
	    (unsigned long long)p->generation, p->hash, (unsigned long long)p->size,
	    p->author[0] ? p->author : "an unnamed publisher");
	report_soon(f, false);
}

static void on_fetch(void *arg, const struct xs_etcd_result *r)
{
	struct freq q;
	struct xs_follow *f = freq_end(arg, &q);
	struct xs_fleet_pointer p = q.p;

	if (!f || q.epoch != f->epoch)
		return;
	f->fetching = false;
	if (r->err) {
		lost(f, "fetching bundle %.12s: %s", p.hash, r->msg);
		return;
	}
	/* A newer pointer came meanwhile: that one, not this one. */
	if (f->have_want && strcmp(f->want.hash, p.hash)) {
		f->have_want = false;
		consider(f, &f->want);
		return;
	}
	f->have_want = false;
	verify_apply(f, &p, r);
}

static void fetch(struct xs_follow *f, const struct xs_fleet_pointer *p)
{
	struct freq *q = freq_new(f, REQ_FETCH);
	char key[KEY_LEN];
	int ret;

	if (!q) {
		lost(f, "out of memory");
		return;
	}
	q->p = *p;
	xs_fleet_key_bundle(key, sizeof(key), f->fleet, p->hash);
	ret = xs_etcd_range(f->e, key, true, 0, on_fetch, q);
	if (ret) {
		freq_free(q);
		lost(f, "fetching bundle %.12s: %s", p->hash, strerror(-ret));
		return;
	}
	f->fetching = true;
}

/* A pointer seen (read or watched): fetch it unless enforced or failed. */
static void consider(struct xs_follow *f, const struct xs_fleet_pointer *p)
{
	bool moved = !f->have_ptr || strcmp(f->ptr.hash, p->hash);

	f->ptr = *p;
	f->have_ptr = true;
	if (!strcmp(p->hash, f->hash)) {
		f->have_want = false;
		if (f->generation != p->generation || moved) {
			/* the same policy (republished elsewhere, or at start) */
			f->generation = p->generation;
			f->error[0] = '\0';
			report_soon(f, false);
		}
		return;
	}
	if (!strcmp(p->hash, f->failed_hash) && p->mod_revision == f->failed_rev)
		return; /* reported failing: until the pointer moves */
	if (f->fetching) {
		f->want = *p;
		f->have_want = true;
		return;
	}
	fetch(f, p);
}

/* ---- the report path ------------------------------------------------------------ */

/* A failure of the way to etcd (not an answer of etcd's: permission, ...). */
static bool transport(int err)
{
	return err && err != -EACCES && err != -EPERM && err != -EINVAL && err != -ENOENT &&
	       err != -EEXIST && err != -ENOMEM;
}

static bool lease_gone(const struct xs_etcd_result *r)
{
	return strstr(r->msg, "lease not found") != NULL;
}

static void fill_report(struct xs_follow *f, struct xs_fleet_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	snprintf(rep->host, sizeof(rep->host), "%s", f->host);
	snprintf(rep->hash, sizeof(rep->hash), "%s", f->hash);
	rep->generation = f->generation;
	rep->applied_ms = f->applied_ms;
	rep->applied = f->applied_ms / 1000;
	rep->time = (int64_t)time(NULL);
	if (f->error[0])
		snprintf(rep->state, sizeof(rep->state), "failing");
	else if (f->have_ptr && strcmp(f->ptr.hash, f->hash))
		snprintf(rep->state, sizeof(rep->state), "applying");
	else
		snprintf(rep->state, sizeof(rep->state), "current");
	if (strcmp(rep->state, "current"))
		snprintf(rep->error, sizeof(rep->error), "%s", f->error);
	if (f->ops.fill)
		f->ops.fill(f->arg, rep);
}

static void report_failed(struct xs_follow *f, const struct xs_etcd_result *r, const char *what);

/* A report's request that could not even start (q freed when given). */
static void report_not_sent(struct xs_follow *f, struct freq *q, int err, const char *what)
{
	struct xs_etcd_result fake = { .err = err };

	if (q)
		freq_free(q);
	snprintf(fake.msg, sizeof(fake.msg), "%s", strerror(-err));
	report_failed(f, &fake, what);
}

/* A report that did not land: counted, said, tried again after a backoff. */
static void report_failed(struct xs_follow *f, const struct xs_etcd_result *r, const char *what)
{
	f->reporting = false;
	f->report_failures++;
	f->report_retry_at = f->now + jitter(f, f->report_backoff_ms);
	f->report_backoff_ms = doubled(f->report_backoff_ms, f->report_s * 1000);
	say(f, XS_FOLLOW_REPORT_FAILED, "%s %s: %s (tried again)", what, f->key_status, r->msg);
	if (transport(r->err))
		lost(f, "%s: %s", what, r->msg);
}

static void on_report(void *arg, const struct xs_etcd_result *r)
{
	struct freq q;
	struct xs_follow *f = freq_end(arg, &q);

	if (!f)
		return;
	if (r->err && lease_gone(r)) {
		/* The lease expired (an outage longer than its TTL): a new one. */
		f->lease = 0;
		f->reporting = false;
		report_soon(f, false);
		report_run(f);
		return;
	}
	if (r->err) {
		report_failed(f, r, "putting the report");
		return;
	}
	f->reporting = false;
	f->reports++;
	f->report_retry_at = 0;
	f->report_backoff_ms = f->bmin;
	if (f->ops.reported)
		f->ops.reported(f->arg, &q.rep, f->now);
	if (f->report_again) {
		f->report_again = false;
		report_run(f);
	}
}

static void put_report(struct xs_follow *f)
{
	struct xs_etcd_op ops[2];
	char *json = NULL;
	struct freq *q;
	int ret;

	q = freq_new(f, REQ_REPORT);
	if (q)
		fill_report(f, &q->rep);
	if (!q || xs_fleet_report_json(&q->rep, &json)) {
		report_not_sent(f, q, -ENOMEM, "putting the report");
		return;
	}
	ops[0] = (struct xs_etcd_op){ .kind = XS_ETCD_PUT,
				      .key = f->key_status,
				      .value = json,
				      .len = strlen(json),
				      .lease = f->lease };
	ops[1] = (struct xs_etcd_op){
		.kind = XS_ETCD_PUT, .key = f->key_seen, .value = json, .len = strlen(json)
	};
	ret = xs_etcd_txn(f->e, NULL, 0, ops, 2, on_report, q);
	free(json);
	if (ret)
		report_not_sent(f, q, ret, "putting the report");
}

static void on_grant(void *arg, const struct xs_etcd_result *r)
{
	struct freq q;
	struct xs_follow *f = freq_end(arg, &q);

	if (!f)
		return;
	if (r->err) {
		report_failed(f, r, "granting the report's lease");
		return;
	}
	f->lease = r->lease;
	put_report(f);
}

static void grant(struct xs_follow *f)
{
	struct freq *q = freq_new(f, REQ_GRANT);
	int ret = q ? xs_etcd_lease_grant(f->e, f->ttl_s, on_grant, q) : -ENOMEM;

	if (ret)
		report_not_sent(f, q, ret, "granting the report's lease");
}

static void on_keepalive(void *arg, const struct xs_etcd_result *r)
{
	struct freq q;
	struct xs_follow *f = freq_end(arg, &q);

	if (!f)
		return;
	if (r->err && !lease_gone(r)) {
		report_failed(f, r, "keeping the report's lease alive");
		return;
	}
	if (r->err || r->ttl <= 0) {
		f->lease = 0;
		grant(f);
		return;
	}
	put_report(f);
}

/* One report now: keepalive (or grant), then the txn. */
static void report_run(struct xs_follow *f)
{
	bool keep = f->report_keep;
	struct freq *q;
	int ret;

	f->report_now = f->report_keep = false;
	f->report_retry_at = 0;
	f->reporting = true;
	if (!f->lease) {
		grant(f);
		return;
	}
	if (!keep) {
		put_report(f);
		return;
	}
	q = freq_new(f, REQ_KEEPALIVE);
	ret = q ? xs_etcd_lease_keepalive(f->e, f->lease, on_keepalive, q) : -ENOMEM;
	if (ret)
		report_not_sent(f, q, ret, "keeping the report's lease alive");
}

/* A report now, or when the one in flight is done, or at a failed one's retry. */
static void report_soon(struct xs_follow *f, bool keepalive)
{
	f->report_now = true;
	f->report_keep |= keepalive;
	if (f->reporting) {
		f->report_again = true;
		return;
	}
	if (f->report_retry_at && f->now < f->report_retry_at)
		return;
	report_run(f);
}

/* ---- the interface ---------------------------------------------------------------- */

int xs_follow_new(struct xs_etcd *e, const struct xs_follow_opts *o,
		  const struct xs_follow_ops *ops, void *arg, struct xs_follow **out)
{
	struct xs_follow *f;
	uint32_t seed;

	*out = NULL;
	if (!e || !o || !ops || !ops->apply || !o->fleet || !o->host ||
	    !xs_fleet_name_ok(o->fleet) || !xs_fleet_name_ok(o->host) ||
	    (o->last_hash && strlen(o->last_hash) > 64))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->e = e;
	f->ops = *ops;
	f->arg = arg;
	snprintf(f->fleet, sizeof(f->fleet), "%s", o->fleet);
	snprintf(f->host, sizeof(f->host), "%s", o->host);
	xs_fleet_key_current(f->key_current, sizeof(f->key_current), f->fleet);
	xs_fleet_key_status(f->key_status, sizeof(f->key_status), f->fleet, f->host);
	xs_fleet_key_seen(f->key_seen, sizeof(f->key_seen), f->fleet, f->host);
	f->report_s = o->report_s ? o->report_s : XS_FLEET_REPORT_S;
	f->ttl_s = o->ttl_s ? o->ttl_s : XS_FLEET_TTL_S;
	f->bmin = o->backoff_min_ms ? o->backoff_min_ms : BACKOFF_MIN_MS;
	f->bmax = o->backoff_max_ms ? o->backoff_max_ms : BACKOFF_MAX_MS;
	if (f->bmax < f->bmin)
		f->bmax = f->bmin;
	seed = o->seed;
	if (!seed) {
		seed = 2166136261u; /* FNV-1a of the host name */
		for (const char *p = f->host; *p; p++)
			seed = (seed ^ (unsigned char)*p) * 16777619u;
	}
	f->rng = seed ? seed : 1;
	f->backoff_ms = f->bmin;
	f->report_backoff_ms = f->bmin;
	if (o->last_hash)
		snprintf(f->hash, sizeof(f->hash), "%s", o->last_hash);
	f->generation = o->last_generation;
	f->applied_ms = o->last_applied_ms;
	*out = f;
	return 0;
}

void xs_follow_free(struct xs_follow *f)
{
	struct freq *q, *next;

	if (!f)
		return;
	if (f->w)
		xs_etcd_watch_cancel(f->w);
	/* What is in flight answers later: to nobody. */
	pthread_mutex_lock(&orphans_lock);
	for (q = f->reqs; q; q = next) {
		next = q->next;
		q->f = NULL;
		q->next = orphans;
		if (orphans)
			orphans->pprev = &q->next;
		q->pprev = &orphans;
		orphans = q;
	}
	pthread_mutex_unlock(&orphans_lock);
	free(f);
}

void xs_follow_start(struct xs_follow *f, int64_t now_ms)
{
	if (f->phase != PH_IDLE)
		return;
	f->now = now_ms;
	f->since_ms = now_ms;
	f->report_at = now_ms + (int64_t)f->report_s * 1000;
	begin_read(f);
	xs_follow_tick(f, now_ms);
}

void xs_follow_tick(struct xs_follow *f, int64_t now_ms)
{
	f->now = now_ms;
	if (f->phase == PH_IDLE)
		return;
	if (f->phase == PH_BACKOFF && now_ms >= f->retry_at)
		begin_read(f);
	if (f->have_seen) {
		f->have_seen = false;
		if (f->phase != PH_BACKOFF)
			consider(f, &f->seen);
	}
	if (now_ms >= f->report_at) {
		f->report_at = now_ms + (int64_t)f->report_s * 1000;
		report_soon(f, true);
	}
	if (f->report_retry_at && now_ms >= f->report_retry_at)
		report_soon(f, true);
	else if (f->report_now && !f->reporting && !f->report_retry_at)
		report_run(f);
}

int64_t xs_follow_next_ms(const struct xs_follow *f)
{
	int64_t next = INT64_MAX;

	if (f->phase == PH_IDLE)
		return next;
	if (f->phase == PH_BACKOFF)
		next = f->retry_at;
	if (f->report_at < next)
		next = f->report_at;
	if (f->report_retry_at && f->report_retry_at < next)
		next = f->report_retry_at;
	if (f->report_now && !f->reporting && !f->report_retry_at)
		next = f->now; /* a report asked in a callback: at the next tick */
	if (f->have_seen)
		next = f->now; /* a pointer the watch brought */
	return next;
}

void xs_follow_status(const struct xs_follow *f, struct xs_follow_status *st)
{
	memset(st, 0, sizeof(*st));
	st->connected = f->connected;
	st->since_ms = f->since_ms;
	st->generation = f->generation;
	snprintf(st->hash, sizeof(st->hash), "%s", f->hash);
	st->applied_ms = f->applied_ms;
	snprintf(st->error, sizeof(st->error), "%s", f->error);
	st->applies = f->applies;
	st->failures = f->failures;
	st->reconnects = f->reconnects;
	st->compactions = f->compactions;
	st->reports = f->reports;
	st->report_failures = f->report_failures;
	st->pointer_revision = f->ptr.mod_revision;
}

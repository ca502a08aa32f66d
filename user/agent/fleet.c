// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent following its fleet (fleet.h): libcurl's multi in the agent's
 * epoll, the follower (fleet/follow.c) on it, its bundles applied through
 * dp_apply_compiled(), what it enforces kept in STATE_DIR/fleet.json so a
 * restarted agent does not fetch again what it enforces.
 */
#include "agent/fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/log.h"
#include "agent/server.h"
#include "ctl/metrics.h"
#include "ctl/show.h"
#include "fleet/follow.h"
#include "policy.h"
#include "xdpseg.h"

#define RECORD_FILE "fleet.json"
#define SECRET_MAX 4096

struct agent_fleet {
	CURLM *multi;
	struct xs_etcd *etcd;
	struct xs_follow *follow;
	int timerfd;
	int64_t curl_due;		/* curl's timeout, monotonic ms (-1: none) */
	char endpoints[AGENT_ETCD_MAX]; /* the opts' endpoints point into it */
	char *password, *token;
};

static int64_t mono_ms(void)
{
	return (int64_t)(agent_now() * 1000.0);
}

/* ---- what the host enforces of the fleet's: STATE_DIR/fleet.json ---- */

struct record {
	char fleet[XS_FLEET_NAME_LEN];
	char hash[65];	      /* the bundle's */
	uint64_t generation;  /* the fleet's */
	int64_t applied_ms;   /* wall clock */
	char policy_hash[65]; /* what was pushed of it (with this host's overlays) */
};

static void record_path(const struct agent *a, char *buf, size_t size)
{
	if (snprintf(buf, size, "%s/%s", a->cfg.state_dir, RECORD_FILE) >= (int)size)
		buf[0] = '\0'; /* cannot be: state-dir is shorter */
}

static void record_save(const struct agent *a, const struct record *r)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 24];
	struct json_object *o = json_object_new_object();
	const char *text;
	FILE *f;
	int fd;

	json_object_object_add(o, "fleet", json_object_new_string(r->fleet));
	json_object_object_add(o, "hash", json_object_new_string(r->hash));
	json_object_object_add(o, "generation", json_object_new_int64((int64_t)r->generation));
	json_object_object_add(o, "applied_ms", json_object_new_int64(r->applied_ms));
	json_object_object_add(o, "policy_hash", json_object_new_string(r->policy_hash));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	record_path(a, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || fprintf(f, "%s\n", text) < 0 || fflush(f) || fsync(fileno(f)) || fclose(f) ||
	    rename(tmp, path)) {
		agent_log(LOG_WARNING, "cannot write %s: %s (a restart fetches the bundle again)",
			  path, strerror(errno));
		if (f)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
	json_object_put(o);
}

static void copy_str(struct json_object *o, const char *key, char *dst, size_t size)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(dst, size, "%s", json_object_get_string(v));
}

/* The record, when it is of this fleet and of the policy in force. */
static bool record_load(const struct agent *a, struct record *r)
{
	char path[PATH_MAX + 16];
	struct json_object *o, *v;

	memset(r, 0, sizeof(*r));
	record_path(a, path, sizeof(path));
	o = json_object_from_file(path);
	if (!o)
		return false;
	copy_str(o, "fleet", r->fleet, sizeof(r->fleet));
	copy_str(o, "hash", r->hash, sizeof(r->hash));
	copy_str(o, "policy_hash", r->policy_hash, sizeof(r->policy_hash));
	if (json_object_object_get_ex(o, "generation", &v))
		r->generation = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "applied_ms", &v))
		r->applied_ms = json_object_get_int64(v);
	json_object_put(o);
	return !strcmp(r->fleet, a->cfg.fleet) && strlen(r->hash) == 64 &&
	       !strcmp(r->policy_hash, a->pol.hash);
}

/* ---- the follower's operations ---- */

static int op_apply(void *arg, const struct xs_fleet_pointer *p, const void *artefact, size_t len,
		    char *err, size_t errlen)
{
	struct agent *a = arg;
	struct xs_compiled *c = NULL;
	char *file = NULL, label[256];
	struct record rec;
	int ret;

	ret = xs_compiled_deserialize(artefact, len, &c, &file, err, errlen);
	if (ret)
		return ret;
	snprintf(label, sizeof(label), "%s", file && *file ? file : p->file);
	ret = dp_apply_compiled(a, c, label, "fleet", err, errlen);
	xs_compiled_free(c);
	free(file);
	if (ret)
		return ret;
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.fleet, sizeof(rec.fleet), "%s", a->cfg.fleet);
	snprintf(rec.hash, sizeof(rec.hash), "%s", p->hash);
	rec.generation = p->generation;
	rec.applied_ms = (int64_t)time(NULL) * 1000;
	snprintf(rec.policy_hash, sizeof(rec.policy_hash), "%s", a->pol.hash);
	record_save(a, &rec);
	return 0;
}

static void op_fill(void *arg, struct xs_fleet_report *r)
{
	struct agent *a = arg;
	size_t sel = 0, prot = 0;
	struct xs_counter c;
	struct xs_ctl ctl;

	agent_links_count(a, &sel, &prot);
	r->interfaces = (uint32_t)sel;
	r->protected_ = (uint32_t)prot;
	snprintf(r->version, sizeof(r->version), "%s", XS_VERSION);
	if (dp_open(a, &ctl) == 0) {
		if (xs_event_totals(&ctl.maps, &c) == 0)
			r->packets = c.packets;
		for (uint32_t reason = 0; reason < XS_REASON__MAX; reason++)
			if (xs_stat_read(&ctl.maps, XS_STAT_IDX(XS_VERDICT_DROP, reason), &c) == 0)
				r->drops += c.packets;
	}
	xs_ctl_close(&ctl);
}

static void op_event(void *arg, enum xs_follow_event ev, const char *msg)
{
	static const int level[] = {
		[XS_FOLLOW_CONNECTED] = LOG_NOTICE, [XS_FOLLOW_LOST] = LOG_WARNING,
		[XS_FOLLOW_COMPACTED] = LOG_INFO,   [XS_FOLLOW_APPLIED] = LOG_NOTICE,
		[XS_FOLLOW_FAILED] = LOG_ERR,	    [XS_FOLLOW_REPORT_FAILED] = LOG_DEBUG,
	};
	struct agent *a = arg;

	agent_log(level[ev], "fleet %s: %s%s", a->cfg.fleet, msg,
		  ev == XS_FOLLOW_LOST ? " (never open, never flushed)" : "");
}

/* ---- curl in the agent's epoll ---- */

static void arm(struct agent *a)
{
	struct agent_fleet *fl = a->fleet;
	struct itimerspec its = { 0 };
	int64_t due = xs_follow_next_ms(fl->follow), now = mono_ms();

	if (fl->curl_due >= 0 && fl->curl_due < due)
		due = fl->curl_due;
	if (due != INT64_MAX) {
		int64_t in = due > now ? due - now : 0;

		its.it_value.tv_sec = in / 1000;
		its.it_value.tv_nsec = (in % 1000) * 1000000 + 1; /* never 0: that disarms */
	}
	timerfd_settime(fl->timerfd, 0, &its, NULL);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct agent *a = userp;
	struct epoll_event ev = { .data.u64 = AGENT_TAG(AGENT_TAG_FLEET, s) };

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(a->epfd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(a->fleet->multi, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(a->epfd, socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) &&
	    epoll_ctl(a->epfd, socketp ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev)) {
		agent_log(LOG_ERR, "fleet: cannot watch curl's socket %d: %s", s, strerror(errno));
		return -1;
	}
	curl_multi_assign(a->fleet->multi, s, (void *)1);
	return 0;
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct agent *a = userp;

	(void)m;
	a->fleet->curl_due = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	arm(a);
	return 0;
}

/* Every finished transfer to the client (its callbacks run here). */
static void drain(struct agent *a)
{
	struct agent_fleet *fl = a->fleet;
	CURLMsg *m;
	int left;

	while (a->fleet && (m = curl_multi_info_read(fl->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		if (!xs_etcd_done(fl->etcd, m->easy_handle, m->data.result)) {
			CURL *easy = m->easy_handle;

			curl_multi_remove_handle(fl->multi, easy);
			curl_easy_cleanup(easy);
		}
	}
}

void agent_fleet_event(struct agent *a, int tag, int fd, uint32_t events)
{
	struct agent_fleet *fl = a->fleet;
	int running, mask = 0;
	uint64_t n;

	if (!fl)
		return;
	if (tag == AGENT_TAG_FLEET_TIMER) {
		if (read(fl->timerfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			return;
		if (fl->curl_due >= 0 && mono_ms() >= fl->curl_due) {
			fl->curl_due = -1;
			curl_multi_socket_action(fl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
	} else {
		mask |= events & EPOLLIN ? CURL_CSELECT_IN : 0;
		mask |= events & EPOLLOUT ? CURL_CSELECT_OUT : 0;
		mask |= events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0;
		curl_multi_socket_action(fl->multi, fd, mask, &running);
	}
	drain(a);
	xs_follow_tick(fl->follow, mono_ms());
	arm(a);
}

void agent_fleet_tick(struct agent *a)
{
	if (!a->fleet)
		return;
	xs_follow_tick(a->fleet->follow, mono_ms());
	arm(a);
}

/* ---- start, stop ---- */

/* A secret's file: its first line. */
static int read_secret(const char *path, char **out)
{
	char buf[SECRET_MAX];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return *out ? 0 : -ENOMEM;
}

static int fail(struct agent *a, int err, const char *what)
{
	agent_log(LOG_ERR, "fleet %s: %s: %s; the policy in force stays", a->cfg.fleet, what,
		  strerror(-err));
	agent_fleet_stop(a);
	return err;
}

int agent_fleet_start(struct agent *a)
{
	struct xs_follow_ops ops = { .apply = op_apply, .fill = op_fill, .event = op_event };
	struct xs_follow_opts fo = { 0 };
	struct xs_etcd_opts eo = { 0 };
	const struct agent_config *c = &a->cfg;
	struct agent_fleet *fl;
	char why[XS_ETCD_ERR_LEN];
	struct record rec;
	int err;

	if (!c->fleet[0])
		return 0;
	fl = calloc(1, sizeof(*fl));
	if (!fl)
		return fail(a, -ENOMEM, "out of memory");
	a->fleet = fl;
	fl->timerfd = -1;
	fl->curl_due = -1;
	snprintf(fl->endpoints, sizeof(fl->endpoints), "%s", c->etcd);
	if (xs_etcd_parse_endpoints(fl->endpoints, &eo, why, sizeof(why))) {
		agent_log(LOG_ERR, "fleet %s: etcd = %s: %s", c->fleet, c->etcd, why);
		return fail(a, -EINVAL, "bad endpoints");
	}
	if (c->etcd_password_file[0] && (err = read_secret(c->etcd_password_file, &fl->password)))
		return fail(a, err, c->etcd_password_file);
	if (c->etcd_token_file[0] && (err = read_secret(c->etcd_token_file, &fl->token)))
		return fail(a, err, c->etcd_token_file);
	eo.user = c->etcd_user[0] ? c->etcd_user : NULL;
	eo.password = fl->password;
	eo.token = fl->token;

	fl->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fl->timerfd < 0)
		return fail(a, -errno, "timerfd");
	{
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 =
						  AGENT_TAG(AGENT_TAG_FLEET_TIMER, fl->timerfd) };

		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fl->timerfd, &ev))
			return fail(a, -errno, "epoll");
	}
	fl->multi = curl_multi_init();
	if (!fl->multi)
		return fail(a, -ENOMEM, "curl_multi_init");
	curl_multi_setopt(fl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(fl->multi, CURLMOPT_SOCKETDATA, a);
	curl_multi_setopt(fl->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(fl->multi, CURLMOPT_TIMERDATA, a);
	err = xs_etcd_new(fl->multi, &eo, &fl->etcd, why, sizeof(why));
	if (err) {
		agent_log(LOG_ERR, "fleet %s: %s", c->fleet, why);
		return fail(a, err, "the etcd client");
	}

	fo.fleet = c->fleet;
	fo.host = c->fleet_host;
	fo.report_s = c->fleet_report;
	fo.ttl_s = c->fleet_ttl;
	if (record_load(a, &rec)) {
		fo.last_hash = rec.hash;
		fo.last_generation = rec.generation;
		fo.last_applied_ms = rec.applied_ms;
	}
	err = xs_follow_new(fl->etcd, &fo, &ops, a, &fl->follow);
	if (err)
		return fail(a, err, "the follower");
	agent_log(LOG_NOTICE,
		  "fleet %s: following it as %s through %s (reports every %us, TTL %us); "
		  "enforcing %s until it says otherwise",
		  c->fleet, c->fleet_host, c->etcd, c->fleet_report, c->fleet_ttl,
		  fo.last_hash ? "its generation applied before" : "the last good policy");
	xs_follow_start(fl->follow, mono_ms());
	arm(a);
	return 0;
}

void agent_fleet_stop(struct agent *a)
{
	struct agent_fleet *fl = a->fleet;

	if (!fl)
		return;
	xs_follow_free(fl->follow);
	xs_etcd_free(fl->etcd);
	if (fl->multi)
		curl_multi_cleanup(fl->multi);
	if (fl->timerfd >= 0)
		close(fl->timerfd);
	if (fl->password)
		explicit_bzero(fl->password, strlen(fl->password));
	if (fl->token)
		explicit_bzero(fl->token, strlen(fl->token));
	free(fl->password);
	free(fl->token);
	free(fl);
	a->fleet = NULL;
}

bool agent_fleet_changed(const struct agent_config *o, const struct agent_config *n)
{
	return strcmp(o->etcd, n->etcd) || strcmp(o->fleet, n->fleet) ||
	       strcmp(o->fleet_host, n->fleet_host) || strcmp(o->etcd_user, n->etcd_user) ||
	       strcmp(o->etcd_password_file, n->etcd_password_file) ||
	       strcmp(o->etcd_token_file, n->etcd_token_file) ||
	       o->fleet_report != n->fleet_report || o->fleet_ttl != n->fleet_ttl;
}

/* ---- status, metrics ---- */

static struct json_object *wall_time(int64_t ms)
{
	char buf[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0)
		return NULL;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

struct json_object *agent_fleet_status(struct agent *a)
{
	struct json_object *o, *n;
	struct xs_follow_status st;

	if (!a->cfg.fleet[0])
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "fleet", json_object_new_string(a->cfg.fleet));
	json_object_object_add(o, "host", json_object_new_string(a->cfg.fleet_host));
	json_object_object_add(o, "etcd", json_object_new_string(a->cfg.etcd));
	if (!a->fleet) {
		json_object_object_add(o, "connected", json_object_new_boolean(false));
		json_object_object_add(o, "error",
				       json_object_new_string("not following (see the log)"));
		return o;
	}
	xs_follow_status(a->fleet->follow, &st);
	json_object_object_add(o, "connected", json_object_new_boolean(st.connected));
	json_object_object_add(o, "since",
			       wall_time((int64_t)time(NULL) * 1000 - (mono_ms() - st.since_ms)));
	json_object_object_add(o, "generation", json_object_new_int64((int64_t)st.generation));
	json_object_object_add(o, "hash", st.hash[0] ? json_object_new_string(st.hash) : NULL);
	json_object_object_add(o, "applied", wall_time(st.applied_ms));
	json_object_object_add(o, "error", st.error[0] ? json_object_new_string(st.error) : NULL);
	json_object_object_add(o, "pointer_revision", json_object_new_int64(st.pointer_revision));
	json_object_object_add(o, "report_interval_s", json_object_new_int64(a->cfg.fleet_report));
	json_object_object_add(o, "ttl_s", json_object_new_int64(a->cfg.fleet_ttl));
	n = json_object_new_object();
	json_object_object_add(n, "applies", json_object_new_int64((int64_t)st.applies));
	json_object_object_add(n, "failures", json_object_new_int64((int64_t)st.failures));
	json_object_object_add(n, "reconnects", json_object_new_int64((int64_t)st.reconnects));
	json_object_object_add(n, "compactions", json_object_new_int64((int64_t)st.compactions));
	json_object_object_add(n, "reports", json_object_new_int64((int64_t)st.reports));
	json_object_object_add(n, "report_failures",
			       json_object_new_int64((int64_t)st.report_failures));
	json_object_object_add(o, "counters", n);
	return o;
}

void agent_fleet_metrics(struct agent *a, struct xs_metrics_agent *m)
{
	struct xs_follow_status st;

	if (!a->cfg.fleet[0])
		return;
	m->fleet = true;
	if (!a->fleet)
		return;
	xs_follow_status(a->fleet->follow, &st);
	m->fleet_connected = st.connected;
	m->fleet_generation = st.generation;
	m->fleet_applies = st.applies;
	m->fleet_failures = st.failures;
	m->fleet_reconnects = st.reconnects;
}

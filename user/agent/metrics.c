// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's metrics (xdpseg(8), METRICS): a Prometheus endpoint on
 * `metrics-listen`, served by libmicrohttpd inside the agent's one loop (no
 * thread: MHD_USE_EPOLL, MHD's own epoll fd in the agent's, MHD_run() when
 * it is ready or its timeout says so), and the textfile `metrics-textfile`
 * for node_exporter, rewritten atomically every `metrics-interval` seconds.
 *
 * A scraper never holds the loop: MHD's sockets are non-blocking, a
 * connection idle for METRICS_TIMEOUT_S is closed, at most METRICS_CONN_MAX
 * are served at once (more wait in the kernel's backlog), and every scrape
 * within METRICS_CACHE_S of the last build gets the same response (one
 * buffer, shared): a scraper that asks in a loop costs one build a second.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>
#include <microhttpd.h>

#include "agent/agent.h"
#include "agent/fleet.h"
#include "agent/log.h"
#include "agent/server.h"

#define METRICS_CONN_MAX 16
#define METRICS_TIMEOUT_S 10
#define METRICS_CACHE_S 1.0
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct agent_metrics {
	struct MHD_Daemon *d;
	int mhd_epfd;			       /* MHD's epoll fd, watched by the agent's */
	char listen[AGENT_METRICS_LISTEN_MAX]; /* what it listens on ("": nothing) */
	char error[512];		       /* why it does not listen ("": it does, or off) */
	int pending_fd;			       /* bound by metrics_prepare(), or -1 */
	bool defer;			       /* the new address needs our port first */
	struct MHD_Response *cached;	       /* the last exposition, shared by scrapes */
	double cached_at;
	bool build_failed; /* the last build failed (logged once) */
	struct xs_metrics_cache cache;
	char textfile[PATH_MAX];	 /* the file written ("": none) */
	double text_at;			 /* monotonic time of its last write attempt (0: never) */
	time_t text_written;		 /* wall clock of its last good write (0: never) */
	char text_error[PATH_MAX + 256]; /* why the last write failed ("": it did not) */
};

void agent_count_apply(struct agent *a, enum xs_apply_outcome o, uint64_t n)
{
	if (o < XS_APPLY__COUNT)
		a->applies[o] += n;
}

/* ---- The exposition ------------------------------------------------------------ */

/* The links of the namespace as a dump lists them now (the agent's table may
 * lag its own attaches by an event). */
struct links_now {
	struct nl_link *v;
	size_t n, cap;
};

static void collect(void *data, const struct nl_link *l)
{
	struct links_now *t = data;

	if (l->del)
		return;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 64;
		struct nl_link *nv = realloc(t->v, ncap * sizeof(*nv));

		if (!nv)
			return;
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->n++] = *l;
}

/* The link `name` now (struct xs_metrics_agent's link). */
static int link_of(void *ctx, const char *name, unsigned int *ifindex, uint32_t *drv, uint32_t *skb)
{
	const struct links_now *t = ctx;

	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].name, name))
			continue;
		*ifindex = t->v[i].ifindex;
		*drv = t->v[i].xdp_drv;
		*skb = t->v[i].xdp_skb;
		return 1;
	}
	return 0;
}

/* Selected links that xs_ifaces does not record (under their name). */
static uint64_t unrecorded(const struct agent *a, const struct xs_ctl *ctl)
{
	uint64_t n = 0;

	for (size_t i = 0; i < a->nlinks; i++) {
		const struct agent_link *l = &a->links[i];
		struct xs_iface rec;
		__u32 key = l->ifindex;

		if (!l->matched_by[0])
			continue;
		if (!ctl || bpf_map_lookup_elem(ctl->maps.ifaces, &key, &rec) ||
		    strncmp(rec.name, l->name, sizeof(rec.name)))
			n++;
	}
	return n;
}

/* A build from the datapath as it is now (malloc'd text). */
static int build(struct agent *a, char **text, size_t *len)
{
	struct xs_metrics_agent ag = { 0 };
	struct links_now now = { 0 };
	struct xs_ctl ctl;
	bool open;
	int err;

	memcpy(ag.applies, a->applies, sizeof(ag.applies));
	agent_fleet_metrics(a, &ag);
	open = dp_open(a, &ctl) == 0;
	ag.unrecorded = unrecorded(a, open ? &ctl : NULL);
	/* one dump for every interface's XDP ids (else a query each) */
	if (open && nl_dump_links(collect, &now) == 0) {
		ag.link = link_of;
		ag.ctx = &now;
	}
	err = xs_metrics_build(open ? &ctl : NULL, &ag, &a->metrics->cache, text, len);
	xs_ctl_close(&ctl);
	free(now.v);
	return err;
}

/* The exposition for a scrape: the cached one when it is fresh. */
static struct MHD_Response *exposition(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;
	double now = agent_now();
	struct MHD_Response *r;
	char *text;
	size_t len;
	int err;

	if (mx->cached && now - mx->cached_at < METRICS_CACHE_S)
		return mx->cached;
	err = build(a, &text, &len);
	if (err) {
		if (!mx->build_failed)
			agent_log(LOG_ERR, "metrics: cannot read the pinned maps under %s: %s",
				  a->cfg.pin_dir, strerror(-err));
		mx->build_failed = true;
		return NULL;
	}
	if (mx->build_failed)
		agent_log(LOG_INFO, "metrics: the pinned maps are read again");
	mx->build_failed = false;
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
	/* scrapes still sending the old one keep it until they are done */
	if (mx->cached)
		MHD_destroy_response(mx->cached);
	mx->cached = r;
	mx->cached_at = now;
	return r;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct agent *a = cls;
	struct MHD_Response *r;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "xdpseg: the metrics are read with GET\n", "GET, HEAD");
	if (strcmp(url, "/metrics"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "xdpseg: the metrics are at /metrics\n",
				  NULL);
	r = exposition(a);
	if (!r)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "xdpseg: the metrics cannot be read now (the agent's log says "
				  "why)\n",
				  NULL);
	return MHD_queue_response(conn, MHD_HTTP_OK, r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	agent_log(LOG_INFO, "metrics endpoint: %s", buf);
}

/* ---- The listener ------------------------------------------------------------------- */

/* A listening socket on c's metrics-listen; -errno with `err` set. */
static int listen_on(const struct agent_config *c, char *err, size_t errlen)
{
	int fd, one = 1, e;

	fd = socket(c->metrics_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) &&
	    !bind(fd, (const struct sockaddr *)&c->metrics_addr, c->metrics_addrlen) &&
	    !listen(fd, 64))
		return fd;
	e = errno;
	if (fd >= 0)
		close(fd);
	snprintf(err, errlen, "%s:%d: metrics-listen = %s: cannot listen there: %s%s", c->file,
		 c->line[AGENT_KEY_METRICS_LISTEN], c->metrics_listen, strerror(e),
		 e == EADDRINUSE      ? " (another process has that port: 'ss -ltnp' names it; "
					"pick another port or stop it)"
		 : e == EADDRNOTAVAIL ? " (no interface of this host has that address)"
		 : e == EACCES	      ? " (a port below 1024 needs CAP_NET_BIND_SERVICE)"
				      : "");
	return -e;
}

static void daemon_stop(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;

	if (!mx->d)
		return;
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, mx->mhd_epfd, NULL);
	MHD_stop_daemon(mx->d); /* closes the listening socket and every connection */
	mx->d = NULL;
	mx->mhd_epfd = -1;
	if (mx->cached)
		MHD_destroy_response(mx->cached);
	mx->cached = NULL;
	agent_log(LOG_INFO, "metrics: no longer listening on %s", mx->listen);
	mx->listen[0] = '\0';
}

/* Serve on listening socket `fd` (taken over). */
static int daemon_start(struct agent *a, int fd)
{
	struct agent_metrics *mx = a->metrics;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = AGENT_TAG(AGENT_TAG_METRICS, 0) };
	const union MHD_DaemonInfo *info;

	/* the logger first: MHD logs its own options' errors with it */
	mx->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, a,
				 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a, MHD_OPTION_LISTEN_SOCKET,
				 fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_CONN_MAX,
				 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_TIMEOUT_S,
				 MHD_OPTION_END);
	if (!mx->d) {
		if (fcntl(fd, F_GETFD) >= 0) /* not closed by MHD */
			close(fd);
		snprintf(mx->error, sizeof(mx->error),
			 "metrics-listen = %s: libmicrohttpd cannot serve there (see above)",
			 a->cfg.metrics_listen);
		return -EIO;
	}
	info = MHD_get_daemon_info(mx->d, MHD_DAEMON_INFO_EPOLL_FD);
	mx->mhd_epfd = info ? info->epoll_fd : -1;
	if (mx->mhd_epfd < 0 || epoll_ctl(a->epfd, EPOLL_CTL_ADD, mx->mhd_epfd, &ev)) {
		MHD_stop_daemon(mx->d);
		mx->d = NULL;
		snprintf(mx->error, sizeof(mx->error),
			 "metrics-listen = %s: cannot watch libmicrohttpd's epoll",
			 a->cfg.metrics_listen);
		return -EIO;
	}
	snprintf(mx->listen, sizeof(mx->listen), "%s", a->cfg.metrics_listen);
	mx->error[0] = '\0';
	agent_log(LOG_NOTICE, "metrics: listening on http://%s/metrics", mx->listen);
	return 0;
}

/* Listen on the configured address (a failure is logged once per error and
 * kept in `error` for status; the next try is at a reconcile). */
static void try_listen(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;
	char err[sizeof(mx->error)];
	int fd;

	if (mx->d || !a->cfg.metrics_listen[0])
		return;
	fd = listen_on(&a->cfg, err, sizeof(err));
	if (fd < 0) {
		if (strcmp(err, mx->error))
			agent_log(LOG_ERR,
				  "%s; the agent runs on without it and tries again every "
				  "reconcile-interval",
				  err);
		snprintf(mx->error, sizeof(mx->error), "%s", err);
		return;
	}
	daemon_start(a, fd);
}

/* ---- The textfile ----------------------------------------------------------------------- */

static void write_textfile(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;
	char err[sizeof(mx->text_error)];
	char *text = NULL;
	size_t len = 0;
	int rc;

	mx->text_at = agent_now();
	rc = build(a, &text, &len);
	if (!rc)
		rc = xs_metrics_write_file(mx->textfile, text, len);
	free(text);
	if (rc) {
		snprintf(err, sizeof(err),
			 "metrics-textfile %s: cannot write it: %s (its folder must exist and be "
			 "writable by the agent; under systemd, a drop-in with ReadWritePaths= "
			 "for it)",
			 mx->textfile, strerror(-rc));
		if (strcmp(err, mx->text_error))
			agent_log(LOG_ERR, "%s", err);
		snprintf(mx->text_error, sizeof(mx->text_error), "%s", err);
		return;
	}
	if (mx->text_error[0])
		agent_log(LOG_INFO, "metrics-textfile %s: written again", mx->textfile);
	mx->text_error[0] = '\0';
	mx->text_written = time(NULL);
}

/* The textfile goes with its key (or with the agent): a file nobody
 * rewrites any more would be read as current. */
static void textfile_forget(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;

	if (mx->textfile[0] && mx->text_written && unlink(mx->textfile) && errno != ENOENT)
		agent_log(LOG_WARNING, "metrics-textfile %s: cannot remove it: %s", mx->textfile,
			  strerror(errno));
	mx->textfile[0] = '\0';
	mx->text_at = 0;
	mx->text_written = 0;
	mx->text_error[0] = '\0';
}

/* ---- The loop's side ---------------------------------------------------------------------- */

int metrics_start(struct agent *a)
{
	struct agent_metrics *mx = calloc(1, sizeof(*mx));

	if (!mx)
		return -ENOMEM;
	mx->mhd_epfd = mx->pending_fd = -1;
	a->metrics = mx;
	try_listen(a);
	snprintf(mx->textfile, sizeof(mx->textfile), "%s", a->cfg.metrics_textfile);
	return 0;
}

void metrics_stop(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;

	if (!mx)
		return;
	daemon_stop(a);
	metrics_abort(a);
	textfile_forget(a);
	free(mx);
	a->metrics = NULL;
}

/* Do two configurations listen on the same port? */
static bool same_port(const struct agent_config *x, const struct agent_config *y)
{
	const struct sockaddr_in *a = (const void *)&x->metrics_addr;
	const struct sockaddr_in *b = (const void *)&y->metrics_addr;

	/* sin_port and sin6_port are at the same offset */
	return x->metrics_listen[0] && y->metrics_listen[0] && a->sin_port == b->sin_port;
}

int metrics_prepare(struct agent *a, const struct agent_config *nc, char **errmsg)
{
	struct agent_metrics *mx = a->metrics;
	char err[sizeof(mx->error)];
	int fd;

	metrics_abort(a);
	if (!nc->metrics_listen[0] || !strcmp(nc->metrics_listen, a->cfg.metrics_listen))
		return 0; /* off, or as it is (a failed listen is tried again by itself) */
	fd = listen_on(nc, err, sizeof(err));
	if (fd == -EADDRINUSE && mx->d && same_port(nc, &a->cfg)) {
		/* our own port (0.0.0.0:P -> 127.0.0.1:P): freed first at the commit */
		mx->defer = true;
		return 0;
	}
	if (fd < 0) {
		*errmsg = strdup(err);
		return fd;
	}
	mx->pending_fd = fd;
	return 0;
}

void metrics_abort(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;

	if (mx->pending_fd >= 0)
		close(mx->pending_fd);
	mx->pending_fd = -1;
	mx->defer = false;
}

void metrics_commit(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;

	if (mx->pending_fd >= 0 || mx->defer || !a->cfg.metrics_listen[0] ||
	    strcmp(a->cfg.metrics_listen, mx->listen)) {
		int fd = mx->pending_fd;

		mx->pending_fd = -1;
		if (mx->d && strcmp(a->cfg.metrics_listen, mx->listen))
			daemon_stop(a);
		if (fd >= 0)
			daemon_start(a, fd);
		else
			try_listen(a);
		mx->defer = false;
		if (!a->cfg.metrics_listen[0])
			mx->error[0] = '\0';
	}
	if (strcmp(a->cfg.metrics_textfile, mx->textfile)) {
		textfile_forget(a);
		snprintf(mx->textfile, sizeof(mx->textfile), "%s", a->cfg.metrics_textfile);
	}
}

void metrics_event(struct agent *a)
{
	if (a->metrics && a->metrics->d)
		MHD_run(a->metrics->d);
}

void metrics_tick(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;

	if (!mx)
		return;
	if (mx->d)
		MHD_run(mx->d); /* idle connections time out */
	else if (a->cfg.metrics_listen[0] && a->ticks % a->cfg.interval == 0)
		try_listen(a);
	if (mx->textfile[0] &&
	    (!mx->text_at || agent_now() - mx->text_at >= (double)a->cfg.metrics_interval - 0.1))
		write_textfile(a);
}

int metrics_timeout_ms(struct agent *a)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!a->metrics || !a->metrics->d || MHD_get_timeout(a->metrics->d, &ms) != MHD_YES)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

struct json_object *metrics_status(struct agent *a)
{
	struct agent_metrics *mx = a->metrics;
	struct json_object *o = json_object_new_object();
	char when[32];
	struct tm tm;

	json_object_object_add(
		o, "listen",
		a->cfg.metrics_listen[0] ? json_object_new_string(a->cfg.metrics_listen) : NULL);
	json_object_object_add(o, "listening", json_object_new_boolean(mx && mx->d));
	json_object_object_add(o, "error",
			       mx && mx->error[0] ? json_object_new_string(mx->error) : NULL);
	json_object_object_add(o, "textfile",
			       mx && mx->textfile[0] ? json_object_new_string(mx->textfile) : NULL);
	json_object_object_add(o, "textfile_interval_s",
			       json_object_new_int64(a->cfg.metrics_interval));
	if (mx && mx->text_written) {
		gmtime_r(&mx->text_written, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_object_add(o, "textfile_written_at", json_object_new_string(when));
	} else {
		json_object_object_add(o, "textfile_written_at", NULL);
	}
	json_object_object_add(o, "textfile_error",
			       mx && mx->text_error[0] ? json_object_new_string(mx->text_error)
						       : NULL);
	return o;
}

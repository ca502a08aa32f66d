// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The socket's framing: accept, read lines, hand each to control.c, queue
 * its reply, write what the peer takes; streams (server.h). One epoll for
 * everything; every client socket is non-blocking and sends use
 * MSG_DONTWAIT|MSG_NOSIGNAL, so no client, slow or gone, ever blocks the
 * loop. A client that goes away is closed at once and freed by
 * server_reap(), so a stream's sender may hold a pointer to it meanwhile.
 */
#include "server.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/log.h"

struct agent_client {
	int fd; /* -1: gone (freed by server_reap()) */
	struct agent_peer peer;
	char *in; /* bytes of an unfinished line */
	size_t inlen, incap;
	char *out; /* replies not sent yet: out[outoff, outlen) */
	size_t outlen, outoff, outcap;
	uint32_t events; /* what epoll watches for it */
	bool closing;	 /* drop once `out` is sent */
	bool rd_eof;	 /* the peer sent all it will (a stream goes on) */
	double last;	 /* last activity (monotonic) */
	/* a stream (server.h) */
	const struct agent_stream_ops *ops;
	void *ctx;
	bool started;	  /* its first reply is queued: refill may run */
	bool refilling;	  /* inside ops->refill() */
	time_t since;	  /* when it started (wall clock) */
	uint64_t sent;	  /* lines queued */
	uint64_t dropped; /* lines dropped, in all */
	uint64_t untold;  /* ... and not told yet ({"dropped":N}) */
	double warned;	  /* when the log last said it drops (monotonic) */
	struct agent_client *next;
};

struct agent_server {
	int fd;
	char path[AGENT_SOCK_MAX];
	struct agent_client *clients;
	size_t nclients;	 /* live ones */
	uint64_t stream_dropped; /* lines dropped for stream clients gone since */
};

static struct agent_client *find_client(struct agent_server *s, int fd)
{
	for (struct agent_client *c = s->clients; c; c = c->next) {
		if (c->fd == fd)
			return c;
	}
	return NULL;
}

static bool tell_dropped(struct agent_client *c, bool force);
static bool send_out(struct agent *a, struct agent_client *c);

/* Close a client now; its memory goes at the next server_reap(). */
static void drop_client(struct agent *a, struct agent_client *c)
{
	struct agent_server *s = a->srv;

	if (c->fd < 0)
		return;
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->inlen = c->incap = c->outlen = c->outoff = c->outcap = 0;
	s->nclients--;
	if (c->ops) {
		s->stream_dropped += c->dropped;
		if (c->ops->close)
			c->ops->close(a, c->ctx);
		c->ops = NULL;
		c->ctx = NULL;
	}
}

void server_reap(struct agent *a)
{
	if (!a->srv)
		return;
	/* what a stream missed meanwhile: told as soon as its queue takes it */
	for (struct agent_client *c = a->srv->clients; c; c = c->next) {
		if (c->fd >= 0 && c->ops && c->started && c->untold && tell_dropped(c, false))
			send_out(a, c);
	}
	for (struct agent_client **p = &a->srv->clients; *p;) {
		struct agent_client *c = *p;

		if (c->fd >= 0) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		free(c);
	}
}

/* Is an agent answering at `path`? Its pid (SO_PEERCRED) when it is. */
static bool someone_listens(const char *path, pid_t *pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cr;
	socklen_t len = sizeof(cr);
	bool live;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	*pid = 0;
	if (live && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		*pid = cr.pid;
	close(fd);
	return live;
}

/* The socket's folder: made 0755 when missing (its parent must exist). */
static int make_dir(const char *path)
{
	char copy[AGENT_SOCK_MAX], *dir;
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	chmod(dir, 0755); /* whatever the umask */
	return 0;
}

int server_open(struct agent *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = a->cfg.sock;
	struct agent_server *s;
	struct epoll_event ev;
	struct group *grp;
	struct stat st;
	mode_t old;
	pid_t pid;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		agent_log(LOG_ERR, "the socket path %s is too long (at most %zu bytes)", path,
			  sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	err = make_dir(path);
	if (err) {
		agent_log(LOG_ERR, "cannot make the folder of the socket %s: %s", path,
			  strerror(-err));
		return err;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			agent_log(LOG_ERR,
				  "%s exists and is not a socket: remove it, or give the "
				  "agent another socket path",
				  path);
			return -EEXIST;
		}
		if (someone_listens(path, &pid)) {
			agent_log(LOG_ERR, "another agent (pid %d) listens on %s: stop it first",
				  (int)pid, path);
			return -EADDRINUSE;
		}
		unlink(path); /* left by an agent that was killed */
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto fail;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* Root's alone from the start; the group gets it below. */
	old = umask(0177);
	err = bind(s->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err)
		goto fail;
	grp = getgrnam("xdpseg");
	if (grp && (chown(path, 0, grp->gr_gid) || chmod(path, 0660)))
		goto fail_bound;
	if (listen(s->fd, 64))
		goto fail_bound;
	ev.events = EPOLLIN;
	ev.data.u64 = AGENT_TAG(AGENT_TAG_LISTEN, s->fd);
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, s->fd, &ev))
		goto fail_bound;
	a->srv = s;
	agent_log(LOG_INFO, "listening on %s (%s)", path,
		  grp ? "mode 0660, group xdpseg" : "mode 0600, root only");
	return 0;
fail_bound:
	err = -errno;
	unlink(path);
	goto out;
fail:
	err = -errno;
out:
	agent_log(LOG_ERR, "cannot listen on %s: %s", path, strerror(-err));
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return err;
}

void server_close(struct agent *a)
{
	struct agent_server *s = a->srv;

	if (!s)
		return;
	for (struct agent_client *c = s->clients; c; c = c->next)
		drop_client(a, c);
	server_reap(a);
	close(s->fd);
	unlink(s->path);
	free(s);
	a->srv = NULL;
}

/* Watch for input unless closing (or at its end), for output while some is queued. */
static void update_events(struct agent *a, struct agent_client *c)
{
	struct epoll_event ev;

	ev.events =
		(c->closing || c->rd_eof ? 0 : EPOLLIN) | (c->outoff < c->outlen ? EPOLLOUT : 0);
	if (ev.events == c->events)
		return;
	ev.data.u64 = AGENT_TAG(AGENT_TAG_CLIENT, c->fd);
	epoll_ctl(a->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = ev.events;
}

static void stream_progress(struct agent *a, struct agent_client *c);

/* Send what the peer takes now. Returns false when the client is gone. */
static bool send_out(struct agent *a, struct agent_client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			drop_client(a, c);
			return false;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen) {
		c->outoff = c->outlen = 0;
		if (c->closing) {
			drop_client(a, c);
			return false;
		}
	}
	update_events(a, c);
	if (c->ops && c->started && !c->closing)
		stream_progress(a, c);
	return c->fd >= 0;
}

/* Append `len` bytes and a newline to the queue (no bound checked here). */
static int append(struct agent_client *c, const char *text, size_t len)
{
	if (c->outoff) {
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + len + 1 > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		char *n;

		while (cap < c->outlen + len + 1)
			cap *= 2;
		n = realloc(c->out, cap);
		if (!n)
			return -ENOMEM;
		c->out = n;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, text, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
	return 0;
}

/* Queue one reply line. Returns false when the client was dropped. */
static bool queue_reply(struct agent *a, struct agent_client *c, struct json_object *reply)
{
	const char *text = json_object_to_json_string_ext(
		reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text), need;

	need = c->outlen - c->outoff + len + 1;
	if (need > SERVER_OUT_MAX) {
		agent_log(LOG_WARNING,
			  "socket client pid %d does not read its replies (%zu bytes queued): "
			  "dropped",
			  (int)c->peer.pid, c->outlen - c->outoff);
		json_object_put(reply);
		drop_client(a, c);
		return false;
	}
	if (append(c, text, len)) {
		json_object_put(reply);
		drop_client(a, c);
		return false;
	}
	json_object_put(reply);
	return send_out(a, c);
}

static struct json_object *error_reply(const char *code, const char *msg)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "protocol", json_object_new_int(1));
	json_object_object_add(r, "error", json_object_new_string(msg));
	json_object_object_add(r, "code", json_object_new_string(code));
	return r;
}

static void accept_clients(struct agent *a)
{
	struct agent_server *s = a->srv;

	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct ucred cr;
		socklen_t len = sizeof(cr);
		struct agent_client *c;
		int fd;

		fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or EMFILE: the next wakeup tries again */
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		c->last = agent_now();
		c->peer.uid = (uid_t)-1;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
			c->peer.uid = cr.uid;
			c->peer.pid = cr.pid;
		}
		ev.data.u64 = AGENT_TAG(AGENT_TAG_CLIENT, fd);
		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->clients;
		s->clients = c;
		s->nclients++;
		if (s->nclients > SERVER_CLIENTS_MAX) {
			c->closing = true;
			queue_reply(a, c, error_reply("busy", "too many clients: try again later"));
		}
	}
}

/* Every complete line in the buffer, one reply each (a stream ignores
 * them). False: client dropped. */
static bool handle_lines(struct agent *a, struct agent_client *c)
{
	size_t start = 0;

	for (;;) {
		char *nl = memchr(c->in + start, '\n', c->inlen - start);
		size_t len;

		if (!nl)
			break;
		len = (size_t)(nl - (c->in + start));
		if (len && !c->closing && !c->ops &&
		    !queue_reply(a, c, control_request(a, c, &c->peer, c->in + start, len)))
			return false;
		if (c->ops && !c->started) {
			/* its first reply is queued: now what the stream holds */
			c->started = true;
			stream_progress(a, c);
			if (c->fd < 0)
				return false;
		}
		start += len + 1;
	}
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	return true;
}

static void read_client(struct agent *a, struct agent_client *c)
{
	for (;;) {
		ssize_t n;

		if (c->incap - c->inlen < 4096) {
			size_t cap = c->incap ? c->incap * 2 : 8192;
			char *nb;

			if (cap > SERVER_LINE_MAX + 4096)
				cap = SERVER_LINE_MAX + 4096;
			if (cap <= c->incap) {
				/* a line longer than the limit: say so, then drop it */
				c->closing = true;
				c->inlen = 0;
				queue_reply(
					a, c,
					error_reply("too-long", "request line longer than 64 KiB"));
				return;
			}
			nb = realloc(c->in, cap);
			if (!nb) {
				drop_client(a, c);
				return;
			}
			c->in = nb;
			c->incap = cap;
		}
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* the peer is done (or broken): answer what it sent, then drop */
			if (n == 0 && !handle_lines(a, c))
				return;
			if (n == 0 && c->ops) {
				/* a stream goes on: the peer only closed its side */
				c->rd_eof = true;
				update_events(a, c);
				return;
			}
			if (c->outoff < c->outlen) {
				c->closing = true;
				update_events(a, c);
				return;
			}
			drop_client(a, c);
			return;
		}
		c->inlen += (size_t)n;
		c->last = agent_now();
		if (!handle_lines(a, c))
			return;
		if (c->inlen > SERVER_LINE_MAX) {
			c->closing = true;
			c->inlen = 0;
			queue_reply(a, c,
				    error_reply("too-long", "request line longer than 64 KiB"));
			return;
		}
		if (a->stop)
			return; /* a stop: the loop flushes and exits */
	}
}

void server_event(struct agent *a, enum agent_tag tag, int fd, uint32_t events)
{
	struct agent_client *c;

	if (!a->srv)
		return;
	if (tag == AGENT_TAG_LISTEN) {
		accept_clients(a);
		return;
	}
	c = find_client(a->srv, fd);
	if (!c)
		return;
	if (events & EPOLLOUT) {
		if (!send_out(a, c))
			return;
	}
	if (events & (EPOLLHUP | EPOLLERR) && (c->closing || c->ops)) {
		drop_client(a, c); /* a stream's peer is gone */
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		read_client(a, c);
}

void server_tick(struct agent *a)
{
	double now = agent_now();

	if (!a->srv)
		return;
	for (struct agent_client *c = a->srv->clients; c; c = c->next) {
		if (c->fd >= 0 && !c->ops && now - c->last > SERVER_IDLE_S)
			drop_client(a, c);
	}
	server_reap(a);
}

void server_flush(struct agent *a, int ms)
{
	double end = agent_now() + ms / 1e3;

	if (!a->srv)
		return;
	for (;;) {
		bool pending = false;

		for (struct agent_client *c = a->srv->clients; c; c = c->next) {
			if (c->fd >= 0 && c->outoff < c->outlen && send_out(a, c))
				pending = pending || c->outoff < c->outlen;
		}
		if (!pending || agent_now() >= end)
			return;
		poll(NULL, 0, 5);
	}
}

/* ---- Streams ---- */

static size_t queued(const struct agent_client *c)
{
	return c->outlen - c->outoff;
}

size_t server_stream_room(const struct agent_client *c)
{
	return c->fd >= 0 && queued(c) < SERVER_STREAM_MAX ? SERVER_STREAM_MAX - queued(c) : 0;
}

/*
 * Tell the client what it missed. A stream that dropped goes on only once
 * its queue drained to half (then the notice, then the next lines): one
 * notice per stall, not one per line that happened to fit. `force`: the
 * last line, whatever the queue holds. False while it cannot.
 */
static bool tell_dropped(struct agent_client *c, bool force)
{
	char line[64];
	int n;

	if (!c->untold)
		return true;
	if (!force && queued(c) > SERVER_STREAM_MAX / 2)
		return false;
	n = snprintf(line, sizeof(line), "{\"dropped\":%llu}", (unsigned long long)c->untold);
	if (append(c, line, (size_t)n))
		return false;
	c->untold = 0;
	return true;
}

/* The queue drained: the dropped notice, then more of the backlog. */
static void stream_progress(struct agent *a, struct agent_client *c)
{
	if (c->untold && tell_dropped(c, false))
		send_out(a, c);
	if (queued(c) <= SERVER_STREAM_MAX / 2)
		server_stream_refill(a, c);
}

void server_stream_refill(struct agent *a, struct agent_client *c)
{
	if (c->fd < 0 || c->refilling || !c->started || !c->ops || !c->ops->refill)
		return;
	c->refilling = true;
	c->ops->refill(a, c, c->ctx);
	c->refilling = false;
}

int server_stream_start(struct agent *a, struct agent_client *c, const struct agent_stream_ops *ops,
			void *ctx)
{
	if (c->fd < 0 || c->ops) {
		if (ops->close)
			ops->close(a, ctx);
		return -EINVAL;
	}
	c->ops = ops;
	c->ctx = ctx;
	c->since = time(NULL);
	return 0;
}

int server_stream_send(struct agent *a, struct agent_client *c, const char *line, size_t len)
{
	if (c->fd < 0 || c->closing)
		return -EPIPE;
	if (!tell_dropped(c, false) || queued(c) + len + 1 > SERVER_STREAM_MAX) {
		double now = agent_now();

		if (!c->dropped || now - c->warned >= 60) {
			agent_log(LOG_WARNING,
				  "socket client pid %d does not read its %s stream fast enough: "
				  "dropping lines for it (it is told how many; %llu so far)",
				  (int)c->peer.pid, c->ops ? c->ops->kind : "?",
				  (unsigned long long)c->dropped + 1);
			c->warned = now;
		}
		c->dropped++;
		c->untold++;
		return -ENOBUFS;
	}
	if (append(c, line, len)) {
		drop_client(a, c);
		return -EPIPE;
	}
	c->sent++;
	/* a stream that was never started sends nothing yet (its reply first) */
	if (c->started && !send_out(a, c))
		return -EPIPE;
	return 0;
}

void server_stream_missed(struct agent *a, struct agent_client *c, uint64_t n)
{
	/* told at the next line, or at the next server_reap() (not from here:
	 * the caller may be in the middle of changing what a refill reads) */
	c->dropped += n;
	c->untold += n;
}

void server_streams_each(struct agent *a, const struct agent_stream_ops *ops,
			 void (*fn)(struct agent *a, struct agent_client *c, void *ctx, void *arg),
			 void *arg)
{
	if (!a->srv)
		return;
	for (struct agent_client *c = a->srv->clients; c; c = c->next) {
		if (c->fd >= 0 && c->ops == ops && c->started && !c->closing)
			fn(a, c, c->ctx, arg);
	}
}

void server_streams_end(struct agent *a, const char *line)
{
	if (!a->srv)
		return;
	for (struct agent_client *c = a->srv->clients; c; c = c->next) {
		if (c->fd < 0 || !c->ops || c->closing)
			continue;
		tell_dropped(c, true);
		if (append(c, line, strlen(line))) {
			drop_client(a, c);
			continue;
		}
		c->closing = true;
		send_out(a, c);
	}
}

struct json_object *server_streams_status(struct agent *a)
{
	struct json_object *r = json_object_new_object(), *list = json_object_new_array();
	uint64_t total = a->srv ? a->srv->stream_dropped : 0;
	size_t n = 0;
	char when[32];

	for (struct agent_client *c = a->srv ? a->srv->clients : NULL; c; c = c->next) {
		struct json_object *o;
		struct tm tm;

		if (c->fd < 0 || !c->ops)
			continue;
		o = json_object_new_object();
		gmtime_r(&c->since, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_object_add(o, "pid", json_object_new_int64(c->peer.pid));
		json_object_object_add(o, "uid", json_object_new_int64((int64_t)c->peer.uid));
		json_object_object_add(o, "kind", json_object_new_string(c->ops->kind));
		json_object_object_add(o, "since", json_object_new_string(when));
		json_object_object_add(o, "sent", json_object_new_int64((int64_t)c->sent));
		json_object_object_add(o, "dropped", json_object_new_int64((int64_t)c->dropped));
		json_object_object_add(o, "queued_bytes",
				       json_object_new_int64((int64_t)queued(c)));
		json_object_array_add(list, o);
		total += c->dropped;
		n++;
	}
	json_object_object_add(r, "clients", json_object_new_int64((int64_t)n));
	json_object_object_add(r, "dropped_total", json_object_new_int64((int64_t)total));
	json_object_object_add(r, "list", list);
	return r;
}

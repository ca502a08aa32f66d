// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The socket's framing: accept, read lines, hand each to control.c, queue
 * its reply, write what the peer takes. One epoll for everything; every
 * client socket is non-blocking and sends use MSG_DONTWAIT|MSG_NOSIGNAL,
 * so no client, slow or gone, ever blocks the loop.
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
#include <unistd.h>

#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/log.h"

struct client {
	int fd;
	struct agent_peer peer;
	char *in; /* bytes of an unfinished line */
	size_t inlen, incap;
	char *out; /* replies not sent yet: out[outoff, outlen) */
	size_t outlen, outoff, outcap;
	uint32_t events; /* what epoll watches for it */
	bool closing;	 /* drop once `out` is sent */
	double last;	 /* last activity (monotonic) */
	struct client *next;
};

struct agent_server {
	int fd;
	char path[AGENT_SOCK_MAX];
	struct client *clients;
	size_t nclients;
};

static struct client *find_client(struct agent_server *s, int fd)
{
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->fd == fd)
			return c;
	}
	return NULL;
}

static void drop_client(struct agent *a, struct client *c)
{
	struct agent_server *s = a->srv;

	for (struct client **p = &s->clients; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	s->nclients--;
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
	while (s->clients)
		drop_client(a, s->clients);
	close(s->fd);
	unlink(s->path);
	free(s);
	a->srv = NULL;
}

/* Watch for input unless closing, for output while some is queued. */
static void update_events(struct agent *a, struct client *c)
{
	struct epoll_event ev;

	ev.events = (c->closing ? 0 : EPOLLIN) | (c->outoff < c->outlen ? EPOLLOUT : 0);
	if (ev.events == c->events)
		return;
	ev.data.u64 = AGENT_TAG(AGENT_TAG_CLIENT, c->fd);
	epoll_ctl(a->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = ev.events;
}

/* Send what the peer takes now. Returns false when the client is gone. */
static bool send_out(struct agent *a, struct client *c)
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
	return true;
}

/* Queue one reply line. Returns false when the client was dropped. */
static bool queue_reply(struct agent *a, struct client *c, struct json_object *reply)
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
		if (!n) {
			json_object_put(reply);
			drop_client(a, c);
			return false;
		}
		c->out = n;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, text, len);
	c->out[c->outlen + len] = '\n';
	c->outlen += len + 1;
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
		struct client *c;
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

/* Every complete line in the buffer, one reply each. False: client dropped. */
static bool handle_lines(struct agent *a, struct client *c)
{
	size_t start = 0;

	for (;;) {
		char *nl = memchr(c->in + start, '\n', c->inlen - start);
		size_t len;

		if (!nl)
			break;
		len = (size_t)(nl - (c->in + start));
		if (len && !c->closing &&
		    !queue_reply(a, c, control_request(a, &c->peer, c->in + start, len)))
			return false;
		start += len + 1;
	}
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	return true;
}

static void read_client(struct agent *a, struct client *c)
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
	struct client *c;

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
	if (events & (EPOLLHUP | EPOLLERR) && c->closing) {
		drop_client(a, c);
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
	for (struct client *c = a->srv->clients, *next; c; c = next) {
		next = c->next;
		if (now - c->last > SERVER_IDLE_S)
			drop_client(a, c);
	}
}

void server_flush(struct agent *a, int ms)
{
	double end = agent_now() + ms / 1e3;

	if (!a->srv)
		return;
	for (;;) {
		struct client *c, *next;
		bool pending = false;

		for (c = a->srv->clients; c; c = next) {
			next = c->next;
			if (c->outoff < c->outlen && send_out(a, c))
				pending = pending || c->outoff < c->outlen;
		}
		if (!pending || agent_now() >= end)
			return;
		poll(NULL, 0, 5);
	}
}

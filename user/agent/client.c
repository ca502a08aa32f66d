// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's socket, client side: one request, one reply line, a deadline. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* A reply longer than this is not the agent's. */
#define REPLY_MAX (64u << 20)

const char *xs_agent_sock_path(void)
{
	const char *env = getenv("XDPSEG_AGENT_SOCK");

	return env && *env ? env : XS_AGENT_SOCK;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on fd until the deadline (< 0: none): 0, -ETIMEDOUT,
 * -EINTR (a signal) or another -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left = deadline < 0 ? -1 : deadline - now_ms();
	int n;

	if (deadline >= 0 && left <= 0)
		return -ETIMEDOUT;
	n = poll(&p, 1, left < 0 ? -1 : (int)(left > 60000 ? 60000 : left));
	if (n < 0)
		return -errno;
	return 0; /* ready, or a slice of the wait passed: the caller tries again */
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	size_t o = 0;

	while (o < len) {
		ssize_t n = send(fd, buf + o, len - o, MSG_DONTWAIT | MSG_NOSIGNAL);
		int err;

		if (n >= 0) {
			o += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		err = wait_fd(fd, POLLOUT, deadline);
		if (err && err != -EINTR)
			return err;
	}
	return 0;
}

/* The next line into *out (in st->buf), reading until the deadline (< 0: none). */
static int stream_line(struct xs_agent_stream *st, char **out, long long deadline)
{
	for (;;) {
		char *nl = st->len > st->off ? memchr(st->buf + st->off, '\n', st->len - st->off)
					     : NULL;
		ssize_t n;
		int err;

		if (nl) {
			*nl = '\0';
			*out = st->buf + st->off;
			st->off = (size_t)(nl - st->buf) + 1;
			return 0;
		}
		if (st->off) {
			memmove(st->buf, st->buf + st->off, st->len - st->off);
			st->len -= st->off;
			st->off = 0;
		}
		if (st->cap - st->len < 4096) {
			size_t cap = st->cap ? st->cap * 2 : 16384;
			char *nb;

			if (cap > REPLY_MAX)
				return -EMSGSIZE;
			nb = realloc(st->buf, cap);
			if (!nb)
				return -ENOMEM;
			st->buf = nb;
			st->cap = cap;
		}
		n = recv(st->fd, st->buf + st->len, st->cap - st->len - 1, MSG_DONTWAIT);
		if (n > 0) {
			st->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET; /* closed (before a whole line) */
		if (errno == EINTR)
			return -EINTR;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		err = wait_fd(st->fd, POLLIN, deadline);
		if (err)
			return err;
	}
}

int xs_agent_stream_line(struct xs_agent_stream *st, char **line, int timeout_ms)
{
	return stream_line(st, line, timeout_ms < 0 ? -1 : now_ms() + timeout_ms);
}

void xs_agent_stream_close(struct xs_agent_stream *st)
{
	if (st->fd >= 0)
		close(st->fd);
	free(st->buf);
	memset(st, 0, sizeof(*st));
	st->fd = -1;
}

int xs_agent_stream_open(struct xs_agent_stream *st, const char *path, const char *request,
			 int timeout_ms, struct json_object **reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct json_object *obj;
	struct timeval tv;
	char *line, *req;
	size_t rlen;
	int err;

	memset(st, 0, sizeof(*st));
	st->fd = -1;
	*reply = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	st->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (st->fd < 0)
		return -errno;
	/* A blocking connect bounded by the timeout (a full backlog waits), then
	 * non-blocking I/O against the deadline. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (timeout_ms > 0)
		setsockopt(st->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(st->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		return err == -EAGAIN || err == -EINPROGRESS ? -ETIMEDOUT : err;
	}
	if (fcntl(st->fd, F_SETFL, fcntl(st->fd, F_GETFL) | O_NONBLOCK))
		return -errno;
	rlen = strlen(request);
	req = malloc(rlen + 2);
	if (!req)
		return -ENOMEM;
	memcpy(req, request, rlen);
	req[rlen] = '\n';
	req[rlen + 1] = '\0';
	err = send_all(st->fd, req, rlen + 1, deadline);
	free(req);
	while (!err && (err = stream_line(st, &line, deadline)) == -EINTR)
		err = 0;
	if (err)
		return err;
	obj = json_tokener_parse(line);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return -EBADMSG;
	}
	*reply = obj;
	return 0;
}

int xs_agent_call(const char *path, const char *request, int timeout_ms, struct json_object **reply)
{
	struct xs_agent_stream st;
	int err = xs_agent_stream_open(&st, path, request, timeout_ms, reply);

	xs_agent_stream_close(&st);
	return err;
}

int agent_store_sync(char *path_out, size_t size)
{
	struct json_object *r = NULL, *v;
	const char *code = NULL, *msg = NULL;
	int err;

	if (size)
		path_out[0] = '\0';
	err = xs_agent_call(xs_agent_sock_path(), "{\"cmd\":\"store-sync\"}",
			    XS_AGENT_STORE_SYNC_MS, &r);
	if (err)
		return err;
	if (json_object_object_get_ex(r, "ok", &v) && json_object_get_boolean(v) &&
	    json_object_object_get_ex(r, "path", &v) && json_object_is_type(v, json_type_string)) {
		snprintf(path_out, size, "%s", json_object_get_string(v));
		json_object_put(r);
		return 0;
	}
	if (json_object_object_get_ex(r, "code", &v) && json_object_is_type(v, json_type_string))
		code = json_object_get_string(v);
	if (json_object_object_get_ex(r, "error", &v) && json_object_is_type(v, json_type_string))
		msg = json_object_get_string(v);
	if (code && (!strcmp(code, "store-off") || !strcmp(code, "store-error"))) {
		snprintf(path_out, size, "%s", msg ? msg : code);
		err = !strcmp(code, "store-off") ? -ENODATA : -EIO;
	} else {
		err = -EPROTO; /* an agent from before the store, or not one */
	}
	json_object_put(r);
	return err;
}

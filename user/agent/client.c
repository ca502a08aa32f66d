// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's socket, client side: one request, one reply line, a deadline. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* Wait for `events` on fd until the deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		long long left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
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
		if (err)
			return err;
	}
	return 0;
}

/* Read up to the first newline into a malloc'd, NUL-terminated *out. */
static int read_line(int fd, char **out, long long deadline)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int err;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		char *nl;

		if (cap - len < 2048) {
			char *nb;

			if (cap >= REPLY_MAX) {
				err = -EMSGSIZE;
				goto fail;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				err = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
		if (n > 0) {
			nl = memchr(buf + len, '\n', (size_t)n);
			len += (size_t)n;
			if (nl) {
				*nl = '\0';
				*out = buf;
				return 0;
			}
			continue;
		}
		if (n == 0) {
			err = -ECONNRESET; /* closed before a whole reply */
			goto fail;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			err = -errno;
			goto fail;
		}
		err = wait_fd(fd, POLLIN, deadline);
		if (err)
			goto fail;
	}
fail:
	free(buf);
	return err;
}

int xs_agent_call(const char *path, const char *request, int timeout_ms, struct json_object **reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char *line = NULL, *req = NULL;
	struct json_object *obj;
	struct timeval tv;
	size_t rlen;
	int fd, err;

	*reply = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A blocking connect bounded by the timeout (a full backlog waits), then
	 * non-blocking I/O against the deadline. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (timeout_ms > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		if (err == -EAGAIN || err == -EINPROGRESS)
			err = -ETIMEDOUT;
		goto out;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)) {
		err = -errno;
		goto out;
	}
	rlen = strlen(request);
	req = malloc(rlen + 2);
	if (!req) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(req, request, rlen);
	req[rlen] = '\n';
	req[rlen + 1] = '\0';
	err = send_all(fd, req, rlen + 1, deadline);
	if (!err)
		err = read_line(fd, &line, deadline);
	if (err)
		goto out;
	obj = json_tokener_parse(line);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		err = -EBADMSG;
		goto out;
	}
	*reply = obj;
out:
	free(line);
	free(req);
	close(fd);
	return err;
}

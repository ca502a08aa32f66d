/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's socket (xdpseg(8), AGENT SOCKET): a unix stream socket,
 * newline-delimited JSON. The server does the framing: non-blocking
 * clients with bounded buffers (a request line at most SERVER_LINE_MAX
 * bytes, replies queued at most SERVER_OUT_MAX: past either the client is
 * dropped, the loop never waits for it), the peer's credentials; the
 * commands are control.c's.
 */
#ifndef XS_AGENT_SERVER_H
#define XS_AGENT_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SERVER_LINE_MAX (64 << 10)
#define SERVER_OUT_MAX (8 << 20)
#define SERVER_CLIENTS_MAX 64
#define SERVER_IDLE_S 60 /* a client that sends nothing for this long is dropped */

struct agent;
struct json_object;

/* Who sent a request (SO_PEERCRED). */
struct agent_peer {
	uid_t uid;
	pid_t pid;
};

/* Epoll tags: what an event's fd is (the low 32 bits carry the fd). */
enum agent_tag {
	AGENT_TAG_NETLINK = 1,
	AGENT_TAG_SIGNAL,
	AGENT_TAG_TIMER,
	AGENT_TAG_LISTEN,
	AGENT_TAG_CLIENT,
	AGENT_TAG_METRICS, /* libmicrohttpd's epoll fd (agent/metrics.c) */
};
#define AGENT_TAG(tag, fd) (((uint64_t)(tag) << 32) | (uint32_t)(fd))

/* Make the socket at a->cfg.sock (refusing if an agent answers there) and listen. */
int server_open(struct agent *a);
/* Close every client and the socket, and remove it. */
void server_close(struct agent *a);
/* An epoll event on the listening socket or a client. */
void server_event(struct agent *a, enum agent_tag tag, int fd, uint32_t events);
/* Once a second: drop idle clients. */
void server_tick(struct agent *a);
/* Before exiting: try to send what is queued (at most `ms` milliseconds). */
void server_flush(struct agent *a, int ms);

/* control.c: one request line in, one reply object out (never NULL). */
struct json_object *control_request(struct agent *a, const struct agent_peer *peer,
				    const char *line, size_t len);

#endif /* XS_AGENT_SERVER_H */

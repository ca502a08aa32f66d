/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's socket (xdpseg(8), AGENT SOCKET): a unix stream socket,
 * newline-delimited JSON. The server does the framing: non-blocking
 * clients with bounded buffers (a request line at most SERVER_LINE_MAX
 * bytes, replies queued at most SERVER_OUT_MAX: past either the client is
 * dropped, the loop never waits for it), the peer's credentials; the
 * commands are control.c's.
 *
 * A command may turn its connection into a stream (watch; the flow records
 * later): after its first reply, the connection carries lines the agent
 * sends as they come, through a queue bounded by SERVER_STREAM_MAX. A line
 * that does not fit is dropped for that client alone and counted; as soon
 * as the queue takes one again, the client gets {"dropped":N} (the lines it
 * missed) before the next line. A stream client is never dropped for being
 * slow or silent; it ends when it closes, or when the agent stops (a last
 * line with "end").
 */
#ifndef XS_AGENT_SERVER_H
#define XS_AGENT_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SERVER_LINE_MAX (64 << 10)
#define SERVER_OUT_MAX (8 << 20)
#define SERVER_CLIENTS_MAX 64
#define SERVER_IDLE_S 60	      /* a client that sends nothing for this long is dropped */
#define SERVER_STREAM_MAX (256 << 10) /* a stream's queue, past the socket's buffer */

struct agent;
struct agent_client;
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
	AGENT_TAG_METRICS,     /* libmicrohttpd's epoll fd (agent/metrics.c) */
	AGENT_TAG_EVENTS,      /* the ring buffer's epoll fd (records.c) */
	AGENT_TAG_FLEET,       /* one of curl's sockets (agent/fleet.c) */
	AGENT_TAG_FLEET_TIMER, /* curl's and the follower's timerfd */
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
/* Free the clients that went away (after the loop's round of events). */
void server_reap(struct agent *a);

/* ---- Streams ---- */

/* What a kind of stream does with its clients. */
struct agent_stream_ops {
	const char *kind; /* what it streams ("events"): `status` names it */
	/*
	 * The client's queue has room: after the first reply, and whenever the
	 * queue drains below half of SERVER_STREAM_MAX. Queue more of a backlog
	 * (history) with server_stream_send() while it returns 0. May be NULL.
	 */
	void (*refill)(struct agent *a, struct agent_client *c, void *ctx);
	/* The client is gone (closed, or the agent stopped): free `ctx`. */
	void (*close)(struct agent *a, void *ctx);
};

/*
 * Make client `c`'s connection a stream of kind `ops` with state `ctx`
 * (ops->close() frees it, even when this fails). Called by a command while
 * it answers: its reply goes first, then ops->refill(). Its further
 * requests are ignored; the idle limit no longer applies.
 */
int server_stream_start(struct agent *a, struct agent_client *c, const struct agent_stream_ops *ops,
			void *ctx);

/*
 * Queue one line (`len` bytes, without its newline) to stream client `c`.
 * Returns 0 when queued; -ENOBUFS when its queue is full: dropped for it
 * and counted (it is told); -EPIPE when the client is gone. Never blocks,
 * never frees `c` (a gone client is freed by server_reap()).
 */
int server_stream_send(struct agent *a, struct agent_client *c, const char *line, size_t len);

/* `n` more lines client `c` missed (dropped elsewhere): counted, told. */
void server_stream_missed(struct agent *a, struct agent_client *c, uint64_t n);

/* Run ops->refill() for `c` now (never inside itself). */
void server_stream_refill(struct agent *a, struct agent_client *c);

/* Bytes the queue of `c` can take before it drops. */
size_t server_stream_room(const struct agent_client *c);

/* Call fn(a, c, ctx, arg) for every live stream client of kind `ops`. */
void server_streams_each(struct agent *a, const struct agent_stream_ops *ops,
			 void (*fn)(struct agent *a, struct agent_client *c, void *ctx, void *arg),
			 void *arg);

/*
 * The agent stops: queue `line` (a last object, with "end") to every stream
 * client whatever its queue holds, and close each once it is sent
 * (server_flush() then tries for a while).
 */
void server_streams_end(struct agent *a, const char *line);

/*
 * For `status`: {"clients": N, "dropped_total": N, "list": [{"pid", "uid",
 * "kind", "since", "sent", "dropped", "queued_bytes"}, ...]} (dropped_total
 * counts the clients gone too).
 */
struct json_object *server_streams_status(struct agent *a);

/*
 * control.c: one request line in, one reply object out (never NULL). A
 * command that streams calls server_stream_start() for `c` before it
 * returns its first reply.
 */
struct json_object *control_request(struct agent *a, struct agent_client *c,
				    const struct agent_peer *peer, const char *line, size_t len);

#endif /* XS_AGENT_SERVER_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's socket, from the client side (the CLI's status, tests).
 * Protocol (xdpseg(8), AGENT SOCKET): newline-delimited JSON over a unix
 * stream socket; a request is one object {"cmd": "...", ...}; a reply is
 * one object {"ok": true, ...} or {"ok": false, "error": "..."}. A command
 * that streams (watch) answers {"ok": true, "continues": true, ...}; then
 * the connection carries the stream's lines, one JSON object each, until a
 * last one with "end" (the agent stops) or the client closes.
 */
#ifndef XS_AGENT_CLIENT_H
#define XS_AGENT_CLIENT_H

#include <stddef.h>

#define XS_AGENT_SOCK "/run/xdpseg/agent.sock"

struct json_object;

/* The socket in force: $XDPSEG_AGENT_SOCK or XS_AGENT_SOCK. */
const char *xs_agent_sock_path(void);

/*
 * Send one request (a JSON object's text, without a newline) to the agent
 * at `path` and read its reply within `timeout_ms`. Returns 0 and *reply (a
 * json-c object; json_object_put() it), -ENOENT or -ECONNREFUSED when no
 * agent listens there, -ETIMEDOUT, or another negative errno.
 */
int xs_agent_call(const char *path, const char *request, int timeout_ms,
		  struct json_object **reply);

/* A stream from the agent: its socket and the bytes read past the last line. */
struct xs_agent_stream {
	int fd;
	char *buf;
	size_t len, off, cap;
};

/*
 * Connect, send one request and read its first reply within `timeout_ms`,
 * as xs_agent_call() (the same errors). When the reply says "continues",
 * the stream's lines follow: read them with xs_agent_stream_line(). Always
 * xs_agent_stream_close() `st` (even after an error).
 */
int xs_agent_stream_open(struct xs_agent_stream *st, const char *path, const char *request,
			 int timeout_ms, struct json_object **reply);

/*
 * The next line of the stream (NUL-terminated, without its newline; valid
 * until the next call), waiting at most `timeout_ms` (-1: for ever).
 * Returns 0, -ETIMEDOUT, -EINTR (a signal), -ECONNRESET when the agent
 * closed the connection, -EMSGSIZE for a line past 64 MiB, or another
 * negative errno.
 */
int xs_agent_stream_line(struct xs_agent_stream *st, char **line, int timeout_ms);

void xs_agent_stream_close(struct xs_agent_stream *st);

/* How long agent_store_sync() waits for the agent's flush. */
#define XS_AGENT_STORE_SYNC_MS 15000

/*
 * Ask the agent on the socket in force to put what its flows carried until
 * now into its flow store (`store-sync`: a walk of the flow tables, a
 * flush), before reading the store (map, suggest, replay). Returns 0 and
 * the store's path in path_out; -ENOENT or -ECONNREFUSED when no agent
 * runs (best effort: read the store as it is); -ENODATA when the agent's
 * store is off, -EIO when it failed, path_out then holding the agent's
 * message; another negative errno (-ETIMEDOUT, -EPROTO: an agent without
 * store-sync) with path_out "".
 */
int agent_store_sync(char *path_out, size_t size);

#endif /* XS_AGENT_CLIENT_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's socket, from the client side (the CLI's status, tests).
 * Protocol (xdpseg(8), AGENT SOCKET): newline-delimited JSON over a unix
 * stream socket; a request is one object {"cmd": "...", ...}; a reply is
 * one object {"ok": true, ...} or {"ok": false, "error": "..."}; a command
 * that streams replies with objects carrying "continues": true, then a last
 * one without it.
 */
#ifndef XS_AGENT_CLIENT_H
#define XS_AGENT_CLIENT_H

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

#endif /* XS_AGENT_CLIENT_H */

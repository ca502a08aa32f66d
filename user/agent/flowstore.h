/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's flow store (flowstore.c, xdpseg(8) FLOW STORE): flowlog.c's
 * observations into user/store/'s database at `flow-store` (on by default,
 * in the state directory), flushed at every walk of the flow tables and at
 * stop. A store that cannot be opened or written is logged (once per kind
 * of error), counted and shown in the status: the agent runs on.
 */
#ifndef XS_AGENT_FLOWSTORE_H
#define XS_AGENT_FLOWSTORE_H

#include <stdbool.h>
#include <stddef.h>

struct agent;
struct flowlog_obs;
struct json_object;

/* At start (agent_flows_init()): open the configured store. -ENOMEM only. */
int flowstore_init(struct agent *a);
/* After a reload: another path or `off` closes it (flushed), new limits apply. */
void flowstore_reconfigure(struct agent *a);
/* Does the store want observations (configured, whether or not it is open)? */
bool flowstore_on(const struct agent *a);
/* One observation (flowlog_opts.observe). */
void flowstore_observe(void *agent, const struct flowlog_obs *o);
/* The batch into the database, retention with it; a store that failed to
 * open is tried again now and then. */
void flowstore_flush(struct agent *a);
/* At stop: the last batch, then closed. */
void flowstore_stop(struct agent *a);
/* For `status`: {"enabled", "path", "rows", "days", "bytes", "pending", ...}. */
struct json_object *flowstore_status(struct agent *a);
/*
 * `store-sync` (after a walk of the flow tables): flush now; 0 and the
 * reply's "path" and "rows", or a negative errno with *code and why.
 */
int flowstore_sync(struct agent *a, struct json_object *reply, const char **code, char *why,
		   size_t size);

#endif /* XS_AGENT_FLOWSTORE_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's flow records (flows.c): flowlog.c fed from the datapath, to the sinks. */
#ifndef XS_AGENT_FLOWS_H
#define XS_AGENT_FLOWS_H

struct agent;
struct agent_client;
struct json_object;

/* At start, after agent_records_init(): the sinks of the configuration,
 * and a records.c sink for the datapath's flow ends and drops. */
int agent_flows_init(struct agent *a);
/* After a reload: the sinks and intervals of the new configuration. */
void agent_flows_reconfigure(struct agent *a);
/* Once a second: start or stop as listeners come and go; walk the flow
 * tables every few seconds; deny records whose interval is over. */
void agent_flows_tick(struct agent *a);
/* A walk of the flow tables now (the store's `store-sync`). */
void agent_flows_walk_now(struct agent *a);
/* At stop: the deny records so far, then everything closed. */
void agent_flows_stop(struct agent *a);
/* The `flows` request: client `c` follows the records from now on. */
int agent_flows_follow(struct agent *a, struct agent_client *c, struct json_object *reply);
/* For `status`: {"active", "live", "walks", "records": {...}, "file", ...}. */
struct json_object *agent_flows_status(struct agent *a);

#endif /* XS_AGENT_FLOWS_H */

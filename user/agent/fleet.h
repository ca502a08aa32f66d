/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent in a fleet (fleet.c; xdpseg(8), FLEET): with `fleet = NAME`
 * and `etcd = URL...` the policy comes from etcd. A follower
 * (fleet/follow.h) reads and watches the fleet's pointer, fetches and
 * verifies each new bundle, and hands it to dp_apply_compiled() (the
 * overlays in force and the failsafe ports kept, saved as the last good);
 * it reports under the fleet's status/HOST and seen/HOST keys. libcurl's
 * multi runs in the agent's one epoll: its sockets (CURLMOPT_SOCKETFUNCTION)
 * and a timerfd (CURLMOPT_TIMERFUNCTION, and the follower's next timer).
 * Without etcd nothing changes in the datapath: the host enforces what it
 * enforces, and says so (log once per outage, status, metrics).
 */
#ifndef XS_AGENT_FLEET_H
#define XS_AGENT_FLEET_H

#include <stdbool.h>
#include <stdint.h>

struct agent;
struct agent_config;
struct json_object;
struct xs_metrics_agent;

/* At start, after the first reconcile (the last good policy in force):
 * follow the fleet when the configuration names one. 0, or a negative
 * errno after logging why (an unreadable secret, out of memory). */
int agent_fleet_start(struct agent *a);
/* Stop following: what is in flight cancelled, the policy left as it is. */
void agent_fleet_stop(struct agent *a);
/* Does a reload from `old` to `nc` change how (or whether) the agent follows? */
bool agent_fleet_changed(const struct agent_config *old, const struct agent_config *nc);
/* An epoll event on one of curl's sockets, or on the fleet's timerfd. */
void agent_fleet_event(struct agent *a, int tag, int fd, uint32_t events);
/* Once a second (the agent's tick): the follower's timers. */
void agent_fleet_tick(struct agent *a);
/* The "fleet" object of the status reply (NULL: not in a fleet). */
struct json_object *agent_fleet_status(struct agent *a);
/* The fleet's metrics (xdpseg_fleet_*) into `m`. */
void agent_fleet_metrics(struct agent *a, struct xs_metrics_agent *m);

#endif /* XS_AGENT_FLEET_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpseg agent: one process per network namespace and pin directory that
 * keeps every interface its configuration names protected, as links come
 * and go (xdpseg(8), AGENT). One struct agent owns the loop and every
 * concern's state; each concern is a file:
 *
 *   loop.c       epoll, signals, timer (agent_run(): user/cli/cmd_agent.c)
 *   config.c     the configuration file     guard.c      one agent per pin dir
 *   netlink.c    rtnetlink (libmnl)         links.c      the links and what matches
 *   datapath.c   load/adopt, the policy     reconcile.c  attach, repair, drop, down
 *   server.c     the socket's framing       control.c    its commands (status, ...)
 *   records.c    the ring buffer's records  watch.c      the watch streams, history
 *                (the sinks, the history)                first, then live
 *   log.c        the log                    client.c     the socket, client side
 *   metrics.c    the Prometheus endpoint (libmicrohttpd in this loop) and textfile
 *   flows.c      the flow records           flowstore.c  the flow store (SQLite)
 *   fleet.c      a fleet's policy from etcd (libcurl's multi in this loop)
 *
 * Every kernel change goes through the ctl library (user/ctl/), under its
 * lock, taken per batch and released at once so a concurrent CLI waits
 * milliseconds at most.
 */
#ifndef XS_AGENT_H
#define XS_AGENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent/config.h"
#include "agent/netlink.h"
#include "ctl/loader.h"
#include "ctl/metrics.h"

struct xs_compiled;
struct mnl_socket;
struct agent_server;
struct agent_metrics;
struct json_object;
struct agent_records;
struct agent_flows;
struct agent_capture;
struct agent_flowstore;
struct agent_fleet;

/* Exit status of the agent. */
#define AGENT_EXIT_STOPPED 0 /* stopped (stop, SIGTERM, SIGINT): enforcement stays */
#define AGENT_EXIT_FAIL 1    /* a runtime failure */
#define AGENT_EXIT_CONFIG 2  /* a configuration or command-line error */

/* What the agent last did to a selected link. */
enum agent_link_state {
	AGENT_LINK_NEW,	      /* not tried yet */
	AGENT_LINK_PROTECTED, /* attached (or found attached) */
	AGENT_LINK_FAILED,    /* the last attach failed: retried at every reconcile */
};

/* One link of the network namespace, as rtnetlink last described it. */
struct agent_link {
	unsigned int ifindex;
	char name[IF_NAMESIZE];
	unsigned int master; /* the bridge's ifindex, 0: none */
	unsigned int flags;  /* IFF_* */
	uint32_t xdp_prog;   /* the XDP program rtnetlink reported last (0: none) */
	uint32_t xdp_drv;    /* ... in native mode */
	uint32_t xdp_skb;    /* ... in generic mode */
	char matched_by[64]; /* the pattern, or "bridge NAME", that selects it; "": none */
	enum agent_link_state state;
	uint32_t xdp_ours; /* PROTECTED by XDP: the program id attached */
	char error[256];   /* FAILED: why */
	bool downed;	   /* the agent set it down (unprotected = down) */
	bool pending;	   /* to attach or repair at the next flush */
	bool seen;	   /* in the dump being read */
	double event_at;   /* monotonic time of the event that made it pending */
};

/* A link that went away: its record is dropped at the next flush. */
struct agent_gone {
	unsigned int ifindex;
	char name[IF_NAMESIZE];
};

/* A grant in force whose end has passed and was logged. */
struct agent_grant_end {
	uint32_t number;
	uint64_t created;
};

/* The policy in force, as the agent knows it. */
struct agent_policy {
	uint32_t generation;	      /* xs_config.generation last seen (0: none applied) */
	char hash[65];		      /* its SHA-256 ("" when none) */
	char file[256];		      /* the file it was applied from */
	const char *source;	      /* config, state, cli, adopted, builtin-deny, rollback */
	char *file_error;	      /* the configured policy's first error, or NULL */
	struct xs_compiled *compiled; /* the configured policy, compiled (NULL: none) */
	char compiled_hash[65];	      /* its hash ("" when none) */
};

struct agent {
	struct agent_config cfg;
	struct agent_policy pol;

	struct agent_link *links; /* every link of the namespace */
	size_t nlinks, caplinks;
	bool npending;		 /* some link is pending, or some record to drop */
	struct agent_gone *gone; /* records of links that went away, to drop */
	size_t ngone;
	uint32_t xdp_prog_id; /* the pinned XDP program's id when last seen */

	struct mnl_socket *mon; /* rtnetlink link events */
	bool resync;		/* events were lost: dump and reconcile */
	struct agent_server *srv;
	struct agent_metrics *metrics;	   /* the endpoint and the textfile (metrics.c) */
	uint64_t applies[XS_APPLY__COUNT]; /* policy changes made or seen, by outcome */
	struct agent_records *rec;	   /* records.c: the ring buffer, its sinks */
	struct agent_flows *flows;	   /* flows.c: the flow records */
	struct agent_flowstore *store;	   /* flowstore.c: the flow store */
	struct agent_capture *capture;	   /* capture.c: drops' bytes to a pcap file */
	struct agent_fleet *fleet;	   /* fleet.c: following a fleet (NULL: not) */
	int epfd, sigfd, timerfd;
	bool stop;
	int exit_code;
	bool ready;	     /* READY=1 was sent */
	unsigned long ticks; /* seconds of the 1 s timer */
	time_t started_at;   /* wall clock */
	double started_mono; /* monotonic */

	/* Grants whose end the log has told, each once (while in force). */
	struct agent_grant_end *ended;
	size_t nended;

	int guard_fd; /* the single-agent lock, or -1 */
	char guard_path[PATH_MAX];
	char down_path[PATH_MAX]; /* links the agent set down, for a restarted agent */
	char status_line[256];	  /* the last STATUS= sent to systemd */
};

/* Monotonic seconds. */
static inline double agent_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- guard.c: one agent per pin directory ---- */
/* Take the lock of cfg.pin_dir; another agent holding it is an error naming its pid. */
int agent_guard_take(struct agent *a);
/* Release it and remove its files (a clean stop). */
void agent_guard_release(struct agent *a);

/* ---- links.c: the link table and the selection ---- */
struct agent_link *agent_link_find(struct agent *a, unsigned int ifindex);
struct agent_link *agent_link_by_name(struct agent *a, const char *name);
/* Apply a rtnetlink message to the table; marks what needs an attach. */
void agent_link_event(void *agent, const struct nl_link *l);
/* Re-read every link (after a lost event, at start). */
int agent_links_resync(struct agent *a);
/* Recompute every link's selection (after a reload, a bridge change). */
void agent_links_rematch(struct agent *a);
/* The datapath was loaded anew: every selected link needs its hooks again. */
void agent_links_invalidate(struct agent *a);
/* How many links are selected, and how many of them are protected. */
void agent_links_count(const struct agent *a, size_t *selected, size_t *protected_);
/* A link went away: its record is dropped at the next flush. */
void agent_link_gone(struct agent *a, unsigned int ifindex, const char *name);
/* The links the agent set down (in guard.c's down_path): written at every
 * change, read back at start, so a restarted agent knows which are its. */
void agent_downed_save(const struct agent *a);
void agent_downed_load(struct agent *a);

/* ---- datapath.c: the loaded object and the policy ---- */
/*
 * Lock the pin directory and open the datapath, loading it when nothing is
 * loaded (then the policy is applied before anything is attached): the
 * start of every batch of kernel changes. dp_end() unlocks.
 */
int dp_begin(struct agent *a, struct xs_ctl *ctl);
void dp_end(struct xs_ctl *ctl);
/* Open the datapath read-only (no lock); -ENOENT when not loaded. */
int dp_open(struct agent *a, struct xs_ctl *ctl);
/* At start: adopt what is loaded, or load and apply (see datapath.c). */
int dp_boot(struct agent *a);
/*
 * Compile a policy file as the agent would apply it: with the failsafe
 * ports of `cfg` and the quarantines and grants in force (else those of the
 * last good policy), logging its diagnostics; *errline: its first error.
 */
int dp_compile(struct agent *a, const struct agent_config *cfg, const char *path,
	       struct xs_compiled **out, char **errline);
/* Compile the configured policy into a->pol (compiled, or file_error). */
void dp_compile_configured(struct agent *a);
/*
 * Apply policy file `file` under the lock through ctl/operate (overlays in
 * force, failsafe ports, the last good saved) and note its source. -EBUSY:
 * refused, a commit-confirm is pending.
 */
int dp_apply(struct agent *a, const char *file, const char *source);
/*
 * Apply a compiled policy `c` (a fleet's bundle) under the lock as a local
 * apply does: its sources compiled again with the overlays in force and
 * the failsafe ports, pushed, saved as the last good, its source noted.
 * 0, or a negative errno with why in `why` (-EBUSY: a commit-confirm is
 * pending); on error the active policy is unchanged.
 */
int dp_apply_compiled(struct agent *a, const struct xs_compiled *c, const char *file,
		      const char *source, char *why, size_t whylen);
/*
 * Once a second: has another process applied a policy (a new generation:
 * noted and logged), reloaded or unloaded the datapath? Returns true when
 * every interface must be checked now.
 */
bool dp_poll(struct agent *a);

/* ---- reconcile.c: attach, repair, drop, down ---- */
/* Attach every pending link (one lock per batch). */
void agent_flush(struct agent *a);
/* Check every selected link and record against the kernel; repair. */
void agent_reconcile(struct agent *a);
/* Update systemd's STATUS= line when the counts changed. */
void agent_notify_status(struct agent *a);

/* ---- control.c ---- */
/*
 * Read the configuration and compile its policy again; take both only when
 * both are good, then apply the policy if it is not the one in force, and
 * attach what the new selection adds. On error *errmsg (malloc'd, e.g.
 * "FILE:LINE: error: ...") and *code say why, and nothing changed.
 */
int agent_reload(struct agent *a, char **errmsg, const char **code, bool *applied);

/* ---- metrics.c: the Prometheus endpoint and textfile (xdpseg(8), METRICS) ---- */
/* At start: listen on metrics-listen (a failure is logged, and tried again
 * every reconcile-interval: the agent runs on without it). */
int metrics_start(struct agent *a);
/* At stop: close the endpoint, remove the textfile (it would go stale). */
void metrics_stop(struct agent *a);
/*
 * Before a reload takes configuration `nc`: a metrics-listen that moves is
 * bound now, so an address in use refuses the reload (-errno, *errmsg
 * malloc'd "FILE:LINE: metrics-listen = ...: cannot listen there: ...")
 * and changes nothing. metrics_commit() once a->cfg is `nc`, or
 * metrics_abort() when the reload is refused for another reason.
 */
int metrics_prepare(struct agent *a, const struct agent_config *nc, char **errmsg);
void metrics_commit(struct agent *a);
void metrics_abort(struct agent *a);
/* An epoll event on the endpoint (libmicrohttpd's epoll fd), or its timeout. */
void metrics_event(struct agent *a);
/* Once a second: idle connections timed out, the textfile when it is due. */
void metrics_tick(struct agent *a);
/* How long the loop may wait before libmicrohttpd must run (-1: no limit). */
int metrics_timeout_ms(struct agent *a);
/* The "metrics" object of the status reply. */
struct json_object *metrics_status(struct agent *a);
/* Count `n` policy changes the agent made or saw (xdpseg_policy_applies_total). */
void agent_count_apply(struct agent *a, enum xs_apply_outcome o, uint64_t n);

/* ---- loop.c ---- */
/* Run the agent on configuration file `config` until stopped; its exit status. */
int agent_run(const char *config);

#endif /* XS_AGENT_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's configuration file (xdpseg(8), AGENT): `key = value` lines,
 * `#` starts a comment, blank lines are fine. Read whole before anything
 * changes: a file with an error is reported line by line
 * ("FILE:LINE: error: ...") and used not at all.
 */
#ifndef XS_AGENT_CONFIG_H
#define XS_AGENT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl/iface.h"
#include "policy.h"

#define AGENT_CONFIG_FILE "/etc/xdpseg/xdpseg.conf"
#define AGENT_RECONCILE_DEFAULT 30 /* seconds */
#define AGENT_CONFIG_MAX_BYTES (1u << 20)
#define AGENT_SOCK_MAX 108		    /* sizeof(sun_path) */
#define AGENT_GRANT_MAX_DEFAULT (24 * 3600) /* seconds: Azure JIT's longest window */
#define AGENT_METRICS_INTERVAL_DEFAULT 15   /* seconds between textfile writes */
#define AGENT_METRICS_LISTEN_MAX 64	    /* "[IPv6]:port" */
#define AGENT_EVENT_HISTORY_DEFAULT 10000   /* events the agent keeps for watch --since */
#define AGENT_EVENT_HISTORY_MAX 1000000
#define AGENT_FLOW_LOG_SIZE_DEFAULT (100ULL << 20) /* bytes */
#define AGENT_FLOW_LOG_KEEP_DEFAULT 5
#define AGENT_FLOW_UPDATE_DEFAULT 60 /* seconds, as NSG flow logs v2 */
#define AGENT_FLOW_DENY_DEFAULT 60   /* seconds */
#define AGENT_FLOW_STORE_DAYS_MAX 3650
#define AGENT_FLOW_STORE_SIZE_MIN (64ULL << 10)
#define AGENT_FLOW_STORE_DAY_ROWS_MAX 100000000ULL
#define AGENT_ETCD_MAX 1024	      /* `etcd`: the endpoints, as written */
#define AGENT_FLEET_NAME 64	      /* XS_FLEET_NAME_LEN */
#define AGENT_FLEET_REPORT_DEFAULT 30 /* seconds (XS_FLEET_REPORT_S) */
#define AGENT_FLEET_TTL_DEFAULT 90    /* seconds (XS_FLEET_TTL_S) */

enum agent_key {
	AGENT_KEY_POLICY,
	AGENT_KEY_INTERFACES,
	AGENT_KEY_BRIDGE,
	AGENT_KEY_MODE,
	AGENT_KEY_PIN_DIR,
	AGENT_KEY_STATE_DIR,
	AGENT_KEY_UNPROTECTED,
	AGENT_KEY_SOCKET,
	AGENT_KEY_RECONCILE_INTERVAL,
	AGENT_KEY_FAILSAFE, /* repeatable */
	AGENT_KEY_GRANT_MAX,
	AGENT_KEY_GRANT_REASON,
	AGENT_KEY_METRICS_LISTEN,
	AGENT_KEY_METRICS_TEXTFILE,
	AGENT_KEY_METRICS_INTERVAL,
	AGENT_KEY_EVENT_HISTORY,
	AGENT_KEY_FLOW_LOG,
	AGENT_KEY_FLOW_LOG_SIZE,
	AGENT_KEY_FLOW_LOG_KEEP,
	AGENT_KEY_FLOW_SYSLOG,
	AGENT_KEY_FLOW_UPDATE,
	AGENT_KEY_FLOW_DENY,
	AGENT_KEY_CAPTURE,
	AGENT_KEY_SNAP_LEN,
	AGENT_KEY_FLOW_STORE,
	AGENT_KEY_FLOW_STORE_DAYS,
	AGENT_KEY_FLOW_STORE_SIZE,
	AGENT_KEY_FLOW_STORE_DAY_ROWS,
	AGENT_KEY_ETCD,
	AGENT_KEY_FLEET,
	AGENT_KEY_FLEET_HOST,
	AGENT_KEY_ETCD_USER,
	AGENT_KEY_ETCD_PASSWORD_FILE,
	AGENT_KEY_ETCD_TOKEN_FILE,
	AGENT_KEY_FLEET_REPORT,
	AGENT_KEY_FLEET_TTL,
	AGENT_KEY__COUNT,
};

enum agent_unprotected {
	AGENT_UNPROT_WARN, /* log it, status says so, retry at every reconcile */
	AGENT_UNPROT_DOWN, /* ... and set the link down until it is protected */
};

struct agent_config {
	char *file;   /* the file it was read from */
	char *policy; /* the policy file (relative: to the config's folder), or NULL */
	char **ifpat; /* `interfaces`: fnmatch(3) patterns of names */
	size_t nifpat;
	char **bridges; /* `bridge`: every port of these bridges */
	size_t nbridges;
	struct xs_attach_opts attach; /* `mode` */
	const char *mode;	      /* "native", "generic" or "tc-ingress" */
	char pin_dir[256];
	char state_dir[PATH_MAX];
	char sock[AGENT_SOCK_MAX];
	enum agent_unprotected unprotected;
	unsigned int interval; /* `reconcile-interval`, seconds */
	/* `failsafe = ADDR[/LEN][, ...] : SERVICES`, one per line, in order:
	 * file and line point into this struct (file: c->file). */
	struct xs_failsafe_in *failsafe;
	size_t nfailsafe;
	uint64_t grant_max;	    /* `grant-max`, seconds (default 24h) */
	bool grant_reason_required; /* `grant-reason = required` (default optional) */
	/* `metrics-listen = ADDRESS:PORT`: the Prometheus endpoint ("": off),
	 * as written, and parsed (an IPv4 or [IPv6] address, no name). */
	char metrics_listen[AGENT_METRICS_LISTEN_MAX];
	struct sockaddr_storage metrics_addr;
	socklen_t metrics_addrlen;
	char metrics_textfile[PATH_MAX]; /* `metrics-textfile`: a *.prom file ("": none) */
	unsigned int metrics_interval;	 /* `metrics-interval`, seconds (default 15) */
	unsigned int event_history;	 /* `event-history`: events kept (0: none) */
	/* Flow records (xdpseg(8), FLOW RECORDS): */
	char flow_log[PATH_MAX];    /* `flow-log`: the NDJSON file ("": none) */
	uint64_t flow_log_size;	    /* `flow-log-size`: rotate past it, bytes (0: never) */
	unsigned int flow_log_keep; /* `flow-log-keep`: rotated files kept */
	bool flow_syslog;	    /* `flow-syslog = yes` */
	unsigned int flow_update;   /* `flow-update-interval`, seconds */
	char capture[PATH_MAX];	    /* `capture`: the pcap file of drops ("": none) */
	unsigned int snap_len;	    /* `snap-len`: bytes a drop event carries */
	unsigned int flow_deny;	    /* `flow-deny-interval`, seconds */
	/* The flow store (xdpseg(8), FLOW STORE): */
	char flow_store[PATH_MAX];    /* `flow-store`: the database ("": off; default
				       * STATE_DIR/flows.db) */
	unsigned int flow_store_days; /* `flow-store-days`: retention */
	uint64_t flow_store_size;     /* `flow-store-size`: bytes */
	uint64_t flow_store_day_rows; /* `flow-store-day-rows`: keyed rows per day */
	/* A fleet (xdpseg(8), FLEET): the policy comes from etcd. */
	char etcd[AGENT_ETCD_MAX];	   /* `etcd`: URLs, comma-separated ("": none) */
	char fleet[AGENT_FLEET_NAME];	   /* `fleet`: its name ("": not in a fleet) */
	char fleet_host[AGENT_FLEET_NAME]; /* `fleet-host` (default: the host name) */
	char etcd_user[128];		   /* `etcd-user` ("": no auth, or a token) */
	char etcd_password_file[PATH_MAX]; /* `etcd-password-file` (with etcd-user) */
	char etcd_token_file[PATH_MAX];	   /* `etcd-token-file` (instead of a user) */
	unsigned int fleet_report;	   /* `fleet-report-interval`, seconds */
	unsigned int fleet_ttl;		   /* `fleet-ttl`: the report's lease, seconds */
	int line[AGENT_KEY__COUNT];	   /* the line that set each key (0: its default;
					    * failsafe: the last one) */
};

/* Every error of one read, each "FILE:LINE: error: ..." (or "FILE: error: ..."). */
struct agent_config_errors {
	char **v;
	size_t n;
};

/*
 * Read `file` into *c. Keys not in the file take their environment
 * variable (pin-dir XDPSEG_PIN_DIR, state-dir XDPSEG_STATE_DIR, socket
 * XDPSEG_AGENT_SOCK), then their default. Returns 0, or -EINVAL with every
 * error in *errs and *c untouched.
 */
int agent_config_read(const char *file, struct agent_config *c, struct agent_config_errors *errs);
void agent_config_free(struct agent_config *c);

/* The configuration file in force: $XDPSEG_CONFIG or AGENT_CONFIG_FILE. */
const char *agent_config_path(void);

/*
 * The configuration as a command reads it (grant-max, grant-reason,
 * failsafe; the state directory): agent_config_read() of `file`, or every
 * default when the file does not exist.
 */
int agent_config_read_optional(const char *file, struct agent_config *c,
			       struct agent_config_errors *errs);
void agent_config_errors_free(struct agent_config_errors *e);

/* The key's name as written in the file ("pin-dir"). */
const char *agent_key_name(enum agent_key k);

#endif /* XS_AGENT_CONFIG_H */

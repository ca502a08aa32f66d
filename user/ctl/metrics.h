/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpseg's metrics in the Prometheus text exposition format (version
 * 0.0.4; xdpseg(8), METRICS), built from the pinned maps: by `xdpseg
 * metrics` (once, no agent needed) and by the agent (its HTTP endpoint and
 * its textfile for node_exporter), which adds what only it knows (struct
 * xs_metrics_agent). Every family has # HELP and # TYPE; labels are
 * bounded by the policy and the code (no address, no port, no interface
 * name): verdict, reason, rule (FILE:LINE), kind, segment_pair, family,
 * map, state, outcome.
 */
#ifndef XS_METRICS_H
#define XS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loader.h"

/* xdpseg_policy_applies_total{outcome}: what became of each policy change
 * the agent made or saw. */
enum xs_apply_outcome {
	XS_APPLY_APPLIED,     /* the agent applied a policy (start, reload) */
	XS_APPLY_EXTERNAL,    /* another process did (`xdpseg apply`, grant, ...): each
			       * generation the agent saw go by */
	XS_APPLY_ROLLED_BACK, /* a missed commit-confirm the agent made explicit */
	XS_APPLY_REJECTED,    /* the configured policy did not compile: nothing changed */
	XS_APPLY_FAILED,      /* the push failed or was refused (a confirm pending):
			       * the policy in force stayed */
	XS_APPLY__COUNT,
};

/* "applied", "external", "rolled_back", "rejected", "failed". */
const char *xs_apply_outcome_name(enum xs_apply_outcome o);

/* What the agent adds to a build. */
struct xs_metrics_agent {
	uint64_t applies[XS_APPLY__COUNT];
	/* Selected links with no record in xs_ifaces (not attached): counted
	 * as unprotected interfaces. */
	uint64_t unrecorded;
	/*
	 * The link named `name` as the agent knows it: 1 and its ifindex and
	 * XDP program ids (so no link dump per interface), 0 when no link
	 * has the name. NULL: every record is checked by a query of its own.
	 */
	int (*link)(void *ctx, const char *name, unsigned int *ifindex, uint32_t *xdp_drv,
		    uint32_t *xdp_skb);
	void *ctx;
	/* In a fleet (agent/fleet.c): the xdpseg_fleet_* families; false: none. */
	bool fleet;
	bool fleet_connected;	   /* the pointer read and watched */
	uint64_t fleet_generation; /* the fleet generation enforced (0: none yet) */
	uint64_t fleet_applies;	   /* bundles applied, since the agent started */
	uint64_t fleet_failures;   /* bundles that could not be fetched, verified or applied */
	uint64_t fleet_reconnects; /* outages recovered from */
};

/* Kept from one build to the next (the agent's): the entry counts of the
 * set in force's maps, which change only with its generation. Zero it
 * before the first build. */
#define XS_METRICS_SET_MAPS 8
struct xs_metrics_cache {
	uint32_t generation; /* of the counts below (0: none) */
	uint32_t prog_id;    /* the XDP program's id then (a reload makes the maps anew) */
	uint64_t entries[XS_METRICS_SET_MAPS];
	uint64_t max_entries[XS_METRICS_SET_MAPS];
};

/*
 * The exposition into *out (malloc'd, *len bytes, NUL-terminated). `ctl`:
 * the opened datapath, or NULL when it is not loaded (then only xdpseg_up
 * 0, the build info and the agent's families). `agent`, `cache`: NULL for
 * the CLI. Returns 0, or a negative errno (a map that cannot be read: the
 * exposition says nothing rather than something wrong).
 */
int xs_metrics_build(const struct xs_ctl *ctl, const struct xs_metrics_agent *agent,
		     struct xs_metrics_cache *cache, char **out, size_t *len);

/*
 * Replace `path` by `len` bytes of `text` atomically: written to a hidden
 * temporary file in the same folder (".NAME.XXXXXX": node_exporter's
 * textfile collector reads only *.prom), mode 0644, synced, renamed over
 * `path`. A reader sees the whole old file or the whole new one. Returns 0
 * or a negative errno (nothing left behind).
 */
int xs_metrics_write_file(const char *path, const char *text, size_t len);

/* A label value as the exposition format writes it (between its quotes):
 * \\, \" and \n escaped; control bytes and invalid UTF-8 as the text \xNN. */
void xs_metrics_label(FILE *out, const char *value);

/*
 * The segment_pair label of an origin from its (normalised) text: a rule's
 * "SRC,...->DST,..." as written; a default's, an implicit default's or a
 * bind's segment; "" for the overlays (their targets may be addresses).
 */
void xs_metrics_segment_pair(uint32_t kind, const char *text, char *buf, size_t size);

#endif /* XS_METRICS_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map first, then enforce (xdpseg(8) map, suggest, replay): the flow store's
 * observations judged under a policy's compiled tables, by the same lookups
 * and the same decision as the datapath and `verify` (policy.h, "Lookups
 * over the compiled tables"), and the port names of a service catalog.
 *
 *   load.c      the rows of one or more stores over a window
 *   judge.c     each row's segments and decision under a policy
 *   services.c  the catalog: which service names an observed port
 *   graph.c     `map`: the segment graph (text, JSON), dot.c its picture
 *   suggest.c   `suggest`: policy text allowing what was observed
 *               (suggest_items.c the items of a pair, suggest_propose.c
 *               proposed segments, suggest_print.c the text,
 *               suggest_state.c what they share)
 *   replay.c    `replay`: what a candidate policy would change
 */
#ifndef XS_LEARN_H
#define XS_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"
#include "store/store.h"

/* ---- The observations (load.c, judge.c) --------------------------------- */

/* One stored row (one day of one flow key), and how a policy judges it. */
struct learn_flow {
	struct xs_store_row r;
	size_t store; /* index of the store it came from */
	/* Under the policy (learn_judge()): */
	bool judged;	  /* false: an aggregate row (no addresses): segments by name */
	uint16_t src_seg; /* segment ids of the policy (XS_SEG_WORLD: none) */
	uint16_t dst_seg;
	struct xs_lookup lk; /* the decision of a new flow like it, and what decided */
};

struct learn_set {
	struct learn_flow *v;
	size_t n;
	int64_t since; /* the window: Unix seconds */
	int64_t now;
};

/* Every row seen since `since` (Unix seconds) from each store in paths[],
 * in store order then key order. Errors: negative errno, told in err
 * ("PATH: why", -ENOENT naming the agent's flow-store setting). */
int learn_load(const char *const *paths, size_t npaths, int64_t since, int64_t now,
	       struct learn_set *out, char *err, size_t errlen);
void learn_set_free(struct learn_set *s);

/* Judge every flow under t at CLOCK_TAI second now_tai (grants): the
 * segments by the tries, the decision by xs_tables_decide(). An aggregate
 * row takes the segments whose names it recorded (world when the policy has
 * no such segment) and is not decided (judged false). */
void learn_judge(struct learn_set *s, const struct xs_tables *t, uint64_t now_tai);

/* Does a decision pass the packet (allow, or audit in monitor mode)? */
bool learn_passes(uint8_t verdict);
/* Was it allowed by an explicit allow rule (not a default, monitor mode, a
 * grant or a failsafe port)? */
bool learn_by_rule(const struct xs_compiled *c, const struct xs_lookup *lk);

/* ---- The service catalog (services.c) ------------------------------------ */

/* A named set of port specs: a preset's or a policy's `service`. */
struct learn_service {
	const char *name; /* owned by the catalog's policies */
	const struct xs_portspec *specs;
	size_t nspecs;
	uint64_t nports;    /* how many (proto, port) it holds */
	bool leaf;	    /* declared by specs only */
	bool range;	    /* one spec spans LEARN_RANGE_MIN ports or more (rpc-dynamic) */
	unsigned int order; /* declaration order in the catalog (ties go to the first) */
};

#define LEARN_RANGE_MIN 256

struct learn_catalog {
	struct learn_service *v;
	size_t n;
	struct xs_compiled *owned[2];
	bool presets;	       /* the presets file was read (then `include` it to use its names) */
	char presets_name[64]; /* "citrix-services.policy" */
};

/*
 * The services of `policy_file` (NULL: none) and of the presets file
 * (citrix-services.policy on the include search path, xs_policy_path(),
 * and the -I dirs), the file's first. A presets file that cannot be found
 * is not an error (no names); a policy file that does not parse is.
 */
int learn_catalog_load(struct learn_catalog *cat, const char *policy_file, const char *const *dirs,
		       size_t ndirs, char *err, size_t errlen);
/* The same, with the services of compiled policy `c` (a file's, or the
 * running one's, recompiled from the sources it keeps) in place of a file's.
 * The catalog points into c, which must outlive it. */
int learn_catalog_load_compiled(struct learn_catalog *cat, const struct xs_compiled *c,
				const char *const *dirs, size_t ndirs, char *err, size_t errlen);
void learn_catalog_free(struct learn_catalog *cat);

/* Does service s hold (proto, port)? ICMP: port is the type. */
bool learn_service_holds(const struct learn_service *s, uint8_t proto, int32_t port);

/* The name of (proto, port) for a map: the catalog's leaf service holding
 * it with the fewest ports (ties: the first declared), or NULL. */
const struct learn_service *learn_port_service(const struct learn_catalog *cat, uint8_t proto,
					       int32_t port);

/* "tcp/443", "udp/53", "icmp/8", "ip-47" (port -1). */
void learn_port_text(char *buf, size_t size, uint8_t proto, int32_t port);

#endif /* XS_LEARN_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `xdpseg suggest`: policy text that allows what the stores observed and
 * nothing broader (xdpseg(8), SUGGEST). From the observations judged under
 * a policy (learn_judge()): its segments, its binds, one rule per (source
 * segment, destination segment, item) for the flows that passed at the time,
 * each with its evidence; proposed segments for addresses in none; comments
 * for what is not suggested (dropped flows, aggregate rows, protocols the
 * language cannot name, segments without traffic).
 */
#ifndef XS_LEARN_SUGGEST_H
#define XS_LEARN_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "learn.h"

#define LEARN_SUGGEST_MIN_DAYS 3
#define LEARN_SUGGEST_PREFIX4 24
#define LEARN_SUGGEST_PREFIX6 64
/* The most ports a service may hold to be named for the ports observed
 * (a range service is chosen by its own rule). */
#define LEARN_SUGGEST_SERVICE_PORTS 64

struct learn_suggest_opts {
	unsigned int min_days;	   /* seen on fewer distinct days: `learning` */
	const char *segment;	   /* only rules with this segment on one side; NULL: all */
	bool ranges;		   /* a range service from one port; consecutive ports merged */
	unsigned int max_prefix4;  /* a proposed segment's prefix: at most this wide */
	unsigned int max_prefix6;  /* (IPv6) */
	const char *window;	   /* "7d": how the window was asked for (the header) */
	const char *const *stores; /* the stores read (the header) */
	size_t nstores;
	const char *policy; /* how the policy judged under is named (the header) */
};

void learn_suggest_defaults(struct learn_suggest_opts *o);

/*
 * Print the suggestion for the flows of s, judged under c, naming ports by
 * cat. Returns 0; -ENOENT when o->segment is no segment of c (err says so,
 * listing them); -ENOMEM.
 */
int learn_suggest(FILE *out, const struct learn_set *s, const struct xs_compiled *c,
		  const struct learn_catalog *cat, const struct learn_suggest_opts *o, char *err,
		  size_t errlen);

#endif /* XS_LEARN_SUGGEST_H */

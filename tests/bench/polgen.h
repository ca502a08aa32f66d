/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Benchmark policy generator: a policy of a given rule-table size, as policy
 * TEXT for the real compiler, plus the entries that text must compile to (a
 * cross-check, and a way to fill the maps without the compiler).
 *
 * Every generated policy has the same three bench segments and the same
 * 10,000 segment prefixes (v4 and v6, filler segments f0001...), so sizes
 * differ only in the rule table:
 *   segment bsrc 10.77.1.0/24, fd00:77:1::/64     (bench source)
 *   segment bdst 10.77.2.0/24, fd00:77:2::/64     (bench destination)
 *   segment bbad 10.77.3.0/24, fd00:77:3::/64     (denied source)
 *   allow bsrc -> bdst : tcp/443, udp/1494        (2 entries)
 *   deny  bbad -> bdst                            (1 entry)
 * and filler `allow fA -> fB : tcp/P1, ..., tcp/P50` rules (one entry per
 * port, every (pair, port) distinct) up to the requested number of entries.
 * Generation is deterministic (fixed seed).
 */
#ifndef XS_BENCH_POLGEN_H
#define XS_BENCH_POLGEN_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* Addresses of the bench hosts (network order). */
#define BENCH_SRC4 "10.77.1.10"
#define BENCH_DST4 "10.77.2.20"
#define BENCH_BAD4 "10.77.3.30"
#define BENCH_SRC6 "fd00:77:1::10"
#define BENCH_DST6 "fd00:77:2::20"
#define BENCH_BAD6 "fd00:77:3::30"
#define BENCH_ALLOW_TCP 443
#define BENCH_ALLOW_UDP 1494

#define POLGEN_PREFIXES 10000 /* segment prefixes, all segments together */
#define POLGEN_PREFIXES6 2500 /* of which IPv6 */

struct polgen {
	char *text; /* the policy, NUL-terminated */
	size_t len;
	/* What the text compiles to: tries, rule table, segment info. */
	struct xs_lpm4_entry *v4;
	size_t nv4;
	struct xs_lpm6_entry *v6;
	size_t nv6;
	struct xs_rule_entry *rules;
	size_t nrules;
	struct xs_seg_info *seginfo; /* [0] = world, then the segments, link-local last */
	size_t nseginfo;
	struct xs_bind_info *binds; /* [0] only: no bind statement */
	size_t nsegments;
	size_t nrule_lines; /* allow/deny statements */
};

/* Generate a policy whose rule table has exactly `entries` entries
 * (entries >= 3: the bench rules). Returns 0 or a negative errno. */
int polgen_make(struct polgen *g, size_t entries);
void polgen_free(struct polgen *g);

/* Fill `c` (zeroed by the caller) with the expected entries, pointing into
 * `g` and `pol` (which must outlive c); for pushing without the compiler. */
void polgen_as_compiled(const struct polgen *g, struct xs_policy *pol, struct xs_compiled *c);

/*
 * Large policies for the compile benchmark (`xdpseg-bench --compile`; issue 6:
 * check scales), as text: single-port rules between two segments, as many
 * as rule ids allow (65,531); the same over 64 x 64 segment pairs (65,469);
 * 4,000 rules of 30 ports each. Returns the text (malloc'd) and sets *len and
 * *nrules, or NULL when out of memory.
 */
enum polgen_big {
	POLGEN_SINGLE_PORTS,
	POLGEN_SPREAD_PORTS,
	POLGEN_WIDE_RULES,
};

char *polgen_big(enum polgen_big kind, size_t *len, size_t *nrules);

#endif /* XS_BENCH_POLGEN_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's counters as userspace reads them (per-CPU arrays summed
 * over every CPU): xs_stats, per verdict and reason and the misc slots, and
 * xs_rstats_<set>, per rule; and the per-rule counters carried from one
 * policy set to the next, so that a rule the new policy keeps keeps its
 * counts (xdpseg(8), METRICS).
 *
 * Every reader of a counter struct goes through here: a counter that grows
 * a field is summed field by field (each a __u64) with no change.
 *
 * Carry-over. A rule's identity is its kind and its normalised text
 * (xs_origin_text(), what xs_origins holds), never its line or position;
 * two rules of one set with the same identity pair with the other set's in
 * rule id order. The counts go into the new set before it is switched to
 * (the datapath writes only the set in force, so the inactive one is
 * written safely), as sums in CPU 0's slot. A packet counted by the old set
 * after the copy (the last microseconds of the push: the write of the
 * counters, the switch, the programs running then) stays in the old set:
 * it is not carried.
 */
#ifndef XS_COUNTERS_H
#define XS_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "maps.h"

/*
 * Entries [first, first + n) of per-CPU array `fd`, each `vsz` bytes of
 * __u64 fields, summed over the CPUs into sums[n * vsz / 8]. Returns 0 or
 * a negative errno.
 */
int xs_percpu_read(int fd, uint32_t first, uint32_t n, size_t vsz, uint64_t *sums);

/* Every slot of xs_stats (XS_STAT__MAX), summed over the CPUs. */
int xs_stats_read(const struct xs_maps *m, struct xs_counter out[XS_STAT__MAX]);

/* The counters of rule ids [0, n) of policy set `set`, summed over the CPUs. */
int xs_rule_counters_read(const struct xs_maps *m, uint32_t set, uint32_t n,
			  struct xs_rule_counter *out);

enum xs_carry_mode {
	/* An apply: `to` is about to be switched to and nothing counts in
	 * it. Rule ids [0, nto) of `to`: a rule of `from` with its identity
	 * gives its counts, every other rule starts at 0. */
	XS_CARRY_FRESH,
	/* A rollback to `to` (its counts from before the apply): a rule of
	 * `from` with the same identity gives each count it has more of (so
	 * no count goes down); the other rules of `to` keep theirs. `to` may
	 * be in force already (the datapath went back at a missed confirm
	 * deadline): a packet it counts for a merged rule while its counters
	 * are rewritten (microseconds) can be lost. */
	XS_CARRY_MERGE,
};

/*
 * Carry per-rule counters from set `from` into set `to` (both sets' rules
 * and identities from xs_origins: write `to`'s origins first). `from` < 0:
 * no set to carry from (the first policy), every rule starts at 0. `nto`:
 * the number of rule ids of `to` (its highest id + 1). *carried (may be
 * NULL): the rules that kept their counts. Returns 0 or a negative errno.
 */
int xs_rstats_carry(const struct xs_maps *m, int from, uint32_t to, uint32_t nto,
		    enum xs_carry_mode mode, size_t *carried);

#endif /* XS_COUNTERS_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fast path's derived tables of a set (include/xdpseg.h, "Fast path")
 * checked against the set's policy: the datapath decides new flows by them
 * (DIR chunks, IPv6 prefixes by length, pair classes, pair-wide entries),
 * while the policy read back (readback.h) is checked by its hash, which
 * does not cover them. So `verify` derives them again from the policy read
 * back (user/policy/fast.c) and compares, table by table: the DIR chunks
 * reachable from the first level, every xs_seg6h entry both ways, the pair
 * rows of the policy's segments, every xs_pairs entry both ways, xs_fast.
 */
#ifndef XS_FASTCHECK_H
#define XS_FASTCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "push.h"
#include "readback.h"

/*
 * Compare the derived tables of set `set` with those derived from `c` (the
 * set's policy read back). Returns 0 when they hold what `c` gives (or the
 * set has none: no XS_FASTF_READY, the datapath asks the tries),
 * -EBADMSG with the first difference in `err` (the map, the entry, what it
 * holds and what the policy gives), or another negative errno (`err` says
 * what could not be read).
 */
int xs_fast_check(const struct xs_maps *m, uint32_t set, const struct xs_compiled *c, char *err,
		  size_t errlen);

/*
 * xs_readback(), then xs_fast_check() of the set in force, both of one
 * generation (read again when an apply flipped it meanwhile). Returns what
 * they return; on failure *out is NULL.
 */
int xs_readback_checked(const struct xs_maps *m, struct xs_compiled **out, struct xs_readback *info,
			char *err, size_t errlen);

#endif /* XS_FASTCHECK_H */

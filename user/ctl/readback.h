/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy in force, read back from the pinned maps: the active set's
 * tables (segment tries, rule table, segment infos, bindings), its names,
 * origins and overlays, as a struct xs_compiled that the lookups of
 * policy.h ("Lookups over the compiled tables") decide with. `verify`,
 * `show`, `diff running` and `apply --dry-run` answer from what the kernel
 * enforces, never from a recompiled file: the tables read back must hash
 * to the SHA-256 the set's metadata carries (what `status` shows), or the
 * read fails.
 *
 * Read without the lock: an apply writes only the inactive set, so a read
 * is consistent when the generation did not change while it ran (else it
 * is read again).
 */
#ifndef XS_READBACK_H
#define XS_READBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "push.h"

/* What was read besides the tables. */
struct xs_readback {
	struct xs_config cfg;	    /* the configuration as read */
	uint32_t generation;	    /* the generation in force (the datapath's) */
	uint32_t set;		    /* generation & 1 */
	bool rolled_back;	    /* a missed commit-confirm: cfg.rollback_generation rules */
	struct xs_policy_meta meta; /* the set's metadata (file, hash, applied_at) */
};

/*
 * The generation the datapath decides with now: cfg->generation, or
 * cfg->rollback_generation from the commit-confirm deadline on (its clock:
 * CLOCK_MONOTONIC_COARSE + clock_offset_ns). 0: no policy.
 */
uint32_t xs_generation_in_force(const struct xs_config *cfg, bool *rolled_back);

/* The datapath's clocks: monotonic (coarse) nanoseconds and CLOCK_TAI
 * seconds, both advanced by cfg->clock_offset_ns. */
uint64_t xs_datapath_mono_ns(const struct xs_config *cfg);
uint64_t xs_datapath_tai_s(const struct xs_config *cfg);

/*
 * Read policy set `set` into *out (tables sorted as the compiler sorts
 * them; out->policy holds segments with names and prefixes, origins with
 * file, line and text, bindings; out->hash is the metadata's). `err` says
 * why on failure. Returns 0, -ENOENT (nothing in the set), -EBADMSG (the
 * tables do not hash to the metadata's hash, or do not hold together), or
 * another negative errno.
 */
int xs_readback_set(const struct xs_maps *m, uint32_t set, struct xs_compiled **out, char *err,
		    size_t errlen);

/* The policy in force (see xs_generation_in_force()): -ENOENT with `err`
 * set when no policy was applied. */
int xs_readback(const struct xs_maps *m, struct xs_compiled **out, struct xs_readback *info,
		char *err, size_t errlen);

/* ---- Shared by the readers of the maps (readback.c, fastcheck.c) ---------------- */

/* Format a message into `err` (errlen bytes; nothing when NULL). */
void xs_say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * A hash or LPM map's entries, at most `max` (-E2BIG beyond), as a malloc'd
 * array of (key, value) records of `rsz` bytes: key (ksz bytes) first, value
 * (vsz bytes) at `voff`. Returns 0 or a negative errno.
 */
int xs_map_records(int fd, size_t ksz, size_t vsz, size_t max, void **out, size_t *n, size_t rsz,
		   size_t voff);

/* One record of xs_origins. */
struct xs_origin_rec {
	struct xs_origin_key k;
	struct xs_origin o; /* file and text NUL-terminated */
};

/* Every record of policy set `set` in xs_origins (rule origins and segment
 * names, XS_ORIGIN_SEG_KEY()), in no order: a malloc'd array. Returns 0 or
 * a negative errno. */
int xs_origins_read(const struct xs_maps *m, uint32_t set, struct xs_origin_rec **out, size_t *n);

/* A tracked connection, as the flow table holds it (xs_flow4/xs_flow6), with
 * what it has carried (include/xdpseg.h, "Flow accounting"). */
struct xs_ct_entry {
	struct xs_tuple k;
	struct xs_ct_val v;
	uint64_t start_ns;   /* the datapath's clock at its first packet */
	uint64_t packets[2]; /* [0] from its initiator, [1] from its responder */
	uint64_t bytes[2];
};

/* The tracked connections that have not expired at the datapath's `now`
 * (xs_datapath_mono_ns()): a malloc'd array. Returns 0 or a negative errno. */
int xs_ct_read(const struct xs_maps *m, uint64_t now, struct xs_ct_entry **out, size_t *n);

#endif /* XS_READBACK_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Runtime overlays as the commands make them (`xdpseg quarantine`,
 * `release`, `grant`, `revoke`): their statements (policy.h, "Overlays";
 * policies/README.md), the times of a grant, and the list in force changed
 * one overlay at a time. No I/O: the commands and the tests call these,
 * operate.h pushes the result.
 *
 * Errors: a negative errno and, in `err` (errlen bytes), a message in the
 * project's style (no "error:" prefix, no trailing newline).
 */
#ifndef XS_OVERLAY_H
#define XS_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

/*
 * `quarantine T, T...` from targets (each may hold several, separated by
 * commas; blanks around them are dropped) and a mode: strict, forensic
 * (each `--forensic SEG[,SEG][:SERVICES]`), or neither (the policy's
 * declared forensic access). A target is a segment name or ADDR[/LEN] (an
 * address is checked here, a name by the compiler); strict and forensic
 * together are an error. *out malloc'd, at most XS_OVERLAY_TEXT_LEN - 1
 * bytes.
 */
int xs_overlay_quarantine_text(const char *const *targets, size_t ntargets, bool strict,
			       const char *const *forensic, size_t nforensic, char **out, char *err,
			       size_t errlen);

/*
 * `grant SRC -> DST : SERVICES` from the command's words, joined by blanks
 * (`bastion -> vda : rdp` as five words or one): one `->`, then the
 * services after the `:` (a `:` with a blank on either side, else the
 * last one, so `fd00::5 : ssh` and `fd00::5:ssh` both work); lists
 * normalised to `A, B`. *out malloc'd, at most XS_OVERLAY_TEXT_LEN - 1 bytes.
 */
int xs_overlay_grant_text(const char *const *words, size_t nwords, char **out, char *err,
			  size_t errlen);

/*
 * A grant's end (unix seconds) from `--for DUR` (xs_parse_duration()) or
 * `--until TIME` (`YYYY-MM-DD HH:MM[:SS]` in local time, or `@SECONDS` /
 * SECONDS since the epoch), exactly one of them, at `now`. Refused: an end
 * not after now, or more than `max` seconds after now (max 0: no limit),
 * with a message naming the configuration key `grant-max` and the file
 * `conf` (NULL: "the configuration").
 */
int xs_grant_expiry(const char *dur, const char *until, uint64_t now, uint64_t max,
		    const char *conf, uint64_t *expires, char *err, size_t errlen);

/* Parse `--until`'s TIME into unix seconds (see above). 0 or -EINVAL. */
int xs_parse_time(const char *s, uint64_t *secs);

/*
 * The quarantine statement `text` as parts: its targets (malloc'd array of
 * malloc'd strings) and what follows them (" strict", " forensic ...", or
 * "": the policy's forensic access), malloc'd. 0, -EINVAL (not a
 * quarantine statement) or -ENOMEM.
 */
int xs_overlay_quarantine_parts(const char *text, char ***targets, size_t *ntargets, char **mode);
void xs_overlay_strv_free(char **v, size_t n);

/* A quarantine's mode for `status`: "strict", "forensic SEG, ... [: S]" or
 * "forensic (the policy's)" into buf. */
void xs_overlay_mode(const char *text, char *buf, size_t size);

/* Do two targets name the same thing (`10.0.0.5` and `10.0.0.5/32`, a
 * segment's name as written)? */
bool xs_overlay_target_eq(const char *a, const char *b);

/*
 * A malloc'd list of overlays that owns its strings (the commands build
 * the new list from the one in force). xs_overlay_list_add() copies `o`
 * and its strings.
 */
struct xs_overlay_list {
	struct xs_overlay_in *v;
	size_t n;
};

int xs_overlay_list_add(struct xs_overlay_list *l, const struct xs_overlay_in *o);
/* Remove v[i]. */
void xs_overlay_list_del(struct xs_overlay_list *l, size_t i);
/* Index of overlay number `number`, or -1. */
ssize_t xs_overlay_list_find(const struct xs_overlay_list *l, uint32_t number);
void xs_overlay_list_free(struct xs_overlay_list *l);

/*
 * Release `target` from the quarantines of `l`: a quarantine naming only
 * it goes; one naming others too is rewritten without it (its number
 * kept). Sets *released to the numbers touched' count. 0 or -ENOMEM.
 */
int xs_overlay_release_target(struct xs_overlay_list *l, const char *target, size_t *released);

/*
 * Check a failsafe port's value (`failsafe = ADDR[/LEN][, ...] : SERVICES`,
 * the configuration): addresses or prefixes, then services. 0 or -EINVAL
 * with the message (the services' names are the compiler's to check).
 */
int xs_failsafe_check(const char *value, char *err, size_t errlen);

#endif /* XS_OVERLAY_H */

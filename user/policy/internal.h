/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers shared by the policy compiler's files; not part of the API. */
#ifndef XS_POLICY_INTERNAL_H
#define XS_POLICY_INTERNAL_H

#include "policy.h"

/* Add a diagnostic; `line_text` is copied (may be NULL). */
void xs_diag_add(struct xs_diags *d, enum xs_severity sev, const char *file, int line, int col,
		 const char *line_text, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Parse and check `path` into the source form. Returns 0, or -EINVAL with
 * errors in `diags`, or another negative errno. */
int xs_policy_parse(const char *path, xs_resolve_fn resolve, void *ctx, struct xs_policy **out,
		    struct xs_diags *diags);
void xs_policy_free(struct xs_policy *p);

/* Levenshtein distance, capped work: strings of at most 64 bytes. */
int xs_edit_distance(const char *a, const char *b);

/* Minimal set of aligned blocks covering [lo, hi] (inclusive, 16-bit).
 * Calls fn(ctx, start, bits) for each, with bits = prefix bits (0..16);
 * returns the number of blocks. */
size_t xs_port_split(uint32_t lo, uint32_t hi, void (*fn)(void *ctx, uint16_t start, int bits),
		     void *ctx);

#endif /* XS_POLICY_INTERNAL_H */

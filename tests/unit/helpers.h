/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Test helpers: an in-memory resolver and a userspace LPM over compiled entries. */
#ifndef XS_TEST_HELPERS_H
#define XS_TEST_HELPERS_H

#include "policy.h"

struct memfile {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
};

struct memfs {
	const struct memfile *files;
	size_t n;
};

/* Resolver over memfs files by name (the name is the file's identity). */
int mem_resolve(void *ctx, const char *from, const char *name, size_t limit, struct xs_file *out);

/* Compile one in-memory file `text` named "main.policy" (plus `extra`). */
int compile_text(const char *text, struct xs_compiled **out, struct xs_diags *d);
int compile_files(const struct memfile *files, size_t n, struct xs_compiled **out,
		  struct xs_diags *d);

/* Compile `path` with `resolve`; its diagnostics as diags_str() text, *rc
 * the result. */
char *compile_diags(const char *path, xs_resolve_fn resolve, void *ctx, int *rc);

/* Decide a flow with the compiled tables only (what the datapath does). */
void compiled_decide(const struct xs_compiled *c, const struct xs_flow *f, struct xs_decision *d);

/* May a port bound by bind id `bind` send from addr, by the compiled tables
 * (what the datapath does): its longest bind entry says so, or the address
 * is link-local. */
bool compiled_bind_allows(const struct xs_compiled *c, uint32_t bind, uint8_t family,
			  const uint8_t *addr);

/* All diagnostics as "LINE:COL: SEV: MSG\n" lines, malloc'd. */
char *diags_str(const struct xs_diags *d);

#endif

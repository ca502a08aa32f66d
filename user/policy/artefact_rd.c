// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The artefact reader's helpers that its table checks share: the first
 * reason a reading fails for (with its section's name), memory, ids,
 * actions and prefixes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artefact.h"

const char *const art_sect_names[S__END] = {
	[S_SOURCE] = "source",	   [S_FILES] = "files",
	[S_ORIGINS] = "origins",   [S_POLICY] = "policy",
	[S_SEGMENTS] = "segments", [S_RULES] = "rules",
	[S_BINDINGS] = "bindings", [S_IPV4] = "ipv4",
	[S_IPV6] = "ipv6",	   [S_RULE_TABLE] = "rule-table",
	[S_SEGINFO] = "seginfo",   [S_SETINFO] = "setinfo",
	[S_BINDS] = "binds",	   [S_BIND4] = "bind4",
	[S_BIND6] = "bind6",	   [S_OVERLAY_RULES] = "overlay-rules",
	[S_OVERLAYS] = "overlays", [S_SOURCES] = "sources",
};

void art_fail(struct rd *r, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!r->sect)
		snprintf(r->err, r->errlen, "%s", why);
	else if (r->rec)
		snprintf(r->err, r->errlen, "section '%s', record %zu: %s", art_sect_names[r->sect],
			 r->rec, why);
	else
		snprintf(r->err, r->errlen, "section '%s': %s", art_sect_names[r->sect], why);
}

bool art_nomem(struct rd *r)
{
	r->nomem = true;
	art_fail(r, "out of memory");
	return false;
}

/* calloc(n + 1, sz): never NULL for n = 0. */
void *art_alloc_n(struct rd *r, size_t n, size_t sz)
{
	void *v = calloc(n + 1, sz);

	if (!v)
		art_nomem(r);
	return v;
}

/* A rule id the policy's origins define. */
bool art_rule_id_ok(struct reader *R, uint32_t id, const char *what)
{
	if (R->r.failed)
		return false;
	if (id == 0 || id > R->c->policy->norigins) {
		art_fail(&R->r, "%s %u is not a rule id of the policy (1..%zu)", what, id,
			 R->c->policy->norigins);
		return false;
	}
	return true;
}

bool art_action_ok(struct rd *r, uint8_t a, const char *what)
{
	if (a == XS_ACT_ALLOW || a == XS_ACT_DENY)
		return true;
	art_fail(r, "%s %u is neither allow nor deny", what, a);
	return false;
}

/* A prefix: family 4 or 6, its length in range, no host bits. */
bool art_prefix_ok(const uint8_t *addr, unsigned int len, unsigned int bits)
{
	if (len > bits)
		return false;
	for (unsigned int b = len; b < 128; b++)
		if (addr[b / 8] & (0x80 >> (b % 8)))
			return false;
	return true;
}

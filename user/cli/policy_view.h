/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy a command asks about (`verify`, `diff`, `show`, `apply
 * --dry-run`): the one in force, read back from the kernel's active set
 * (ctl/readback.h), or a file, compiled; and how their answers are named
 * in text and JSON (segments, prefixes, origins, overlays).
 */
#ifndef XS_POLICY_VIEW_H
#define XS_POLICY_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl/readback.h"
#include "policy.h"

/* The word that names the running policy where a file could be named. */
#define XS_VIEW_RUNNING "running"

struct xs_view {
	struct xs_compiled *c;
	bool running;
	struct xs_readback rb; /* running: the generation, its metadata */
	const char *file;      /* a file: as named */
	uint64_t now_tai;      /* the CLOCK_TAI second grants are decided at */
	int64_t tai_offset;    /* CLOCK_TAI - CLOCK_REALTIME (seconds) */
};

/* The policy in force; errors printed. Returns 0, -ENOENT when none is
 * applied (printed, naming `xdpseg apply`), or another negative errno. */
int xs_view_running(struct xs_view *v);
/* xs_view_running(), and the fast path's tables of the set in force checked
 * against the policy read back (ctl/fastcheck.h): a difference is an error,
 * printed (`verify` answers only for what the datapath decides by). */
int xs_view_running_checked(struct xs_view *v);
/* A file, compiled alone (no overlays, no failsafe ports); diagnostics
 * printed. */
int xs_view_file(struct xs_view *v, const char *file);
/* XS_VIEW_RUNNING or a file. */
int xs_view_open(struct xs_view *v, const char *what);
void xs_view_free(struct xs_view *v);

/* "running policy (generation N, sha256 XXXXXXXXXXXX)" or "FILE (sha256 ...)". */
void xs_view_describe(FILE *out, const struct xs_view *v);
/* {"source":"running","generation":N,"file":...,"sha256":...} or
 * {"source":"file","file":...,"sha256":...} */
void xs_view_json(FILE *out, const struct xs_view *v);

/* "10.1.0.0/16", "fd00::/32"; len < 0: "-". */
void xs_view_prefix(char *buf, size_t size, uint8_t family, const uint8_t *addr, int len);

/* The name of a segment ("world", "seg-N" when unknown). */
const char *xs_view_seg(const struct xs_compiled *c, uint16_t seg, char *buf, size_t size);

/* What an origin's kind is called: "rule", "default", "implicit", "quarantine", ... */
const char *xs_view_kind(uint32_t kind);

/* {"rule_id":N,"kind":"rule","file":...,"line":N,"text":...}, or null for id 0. */
void xs_view_origin_json(FILE *out, const struct xs_compiled *c, uint32_t id);

/* A protocol and port or type: "tcp/443", "icmp/8", "udp/1000-2000", "tcp",
 * "ip-47". lo > hi: no ports. */
void xs_view_service(char *buf, size_t size, uint8_t proto, uint32_t lo, uint32_t hi);

/* The semantic difference of a and b (cmd_diff.c): as text, or as the
 * members of a JSON object (the caller prints the braces). */
void xs_view_print_diff_text(FILE *out, const struct xs_view *a, const struct xs_view *b,
			     const struct xs_semdiff *d);
void xs_view_print_diff_json(FILE *out, const struct xs_view *a, const struct xs_view *b,
			     const struct xs_semdiff *d);

#endif /* XS_POLICY_VIEW_H */

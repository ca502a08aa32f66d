/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The compiled artefact: a compiled policy as one self-checking byte string
 * and back (policies/README.md, "The compiled artefact"). Its format, shared
 * by the writer (artefact_write.c), the reader (artefact_read.c, which treats
 * its input as hostile) and the reader's table checks (artefact_check.c).
 *
 * Layout: a 64-byte header, then the sections in a fixed order, each a
 * 16-byte header (tag, count, bytes) and its body, then a SHA-256 of every
 * byte before it. Integers are in the writing host's byte order, which the
 * header's byte-order mark records (the tables are the kernel ABI's structs
 * as the maps take them, and the hash is over those bytes).
 */
#ifndef XS_POLICY_ARTEFACT_H
#define XS_POLICY_ARTEFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define ART_MAGIC "\x89XSC\r\n\x1a\n"
#define ART_MAGIC_LEN 8
#define ART_BOM 0x01020304u
#define ART_VERSION 2u
#define ART_HEADER 64u
#define ART_SECTION_HEADER 16u
#define ART_TRAILER 32u
/* Far above the largest policy the compiler accepts (about 100 MiB). */
#define ART_MAX_BYTES (512ull << 20)
/* A string is at most a policy file (a rule's text is one of its lines). */
#define ART_MAX_STR XS_MAX_FILE_BYTES

enum {
	S_SOURCE = 1, /* the file it was applied from */
	S_FILES,      /* every file the compiler read */
	S_ORIGINS,    /* rule id -> kind, file, line, text */
	S_POLICY,     /* counts and ids of the source form */
	S_SEGMENTS,   /* names, defaults, modes, declarations, derived segments */
	S_RULES,      /* the source rules (for the reference evaluator) */
	S_BINDINGS,   /* bind statements */
	S_IPV4,	      /* the tables, as xs_policy_compile() made them */
	S_IPV6,
	S_RULE_TABLE,
	S_SEGINFO,
	S_SETINFO,
	S_BINDS,
	S_BIND4,
	S_BIND6,
	S_OVERLAY_RULES, /* the overlays' source form (for the reference evaluator) */
	S_OVERLAYS,	 /* the overlays' records (xs_overlays) */
	S_SOURCES,	 /* every file the compiler read, with its bytes */
	S__END,
};
#define ART_NSECTIONS (S__END - 1)

/* A segment record's first byte. */
enum { ART_SEG_DECLARED = 0, ART_SEG_BUILTIN = 1, ART_SEG_DERIVED = 2 };

/* The sections' names, for the reader's reasons. */
extern const char *const art_sect_names[S__END];

/* ---- The reader's state, and the helpers its checks share ---- */

struct rd {
	const uint8_t *p;
	size_t o, end; /* the section's body: p[o..end) */
	int sect;      /* S_*, 0: the header */
	size_t rec;    /* the record being read, +1 (0: none) */
	char *err;
	size_t errlen;
	bool failed, nomem;
};

struct reader {
	struct rd r;
	const uint8_t *buf;
	size_t len;	/* of the whole artefact */
	size_t next;	/* offset of the next section header */
	uint32_t count; /* of the section being read */
	struct xs_compiled *c;
	char *source;
};

/* Record the first reason only: "section 'NAME', record N: WHY". */
void art_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Out of memory, recorded as the reason; returns false. */
bool art_nomem(struct rd *r);
/* calloc(n + 1, sz), out of memory recorded. */
void *art_alloc_n(struct rd *r, size_t n, size_t sz);
/* A rule id of the policy (1..norigins), else the reason names `what`. */
bool art_rule_id_ok(struct reader *R, uint32_t id, const char *what);
/* XS_ACT_ALLOW or XS_ACT_DENY, else the reason names `what`. */
bool art_action_ok(struct rd *r, uint8_t a, const char *what);
/* A prefix of `len` bits (at most `bits`) of `addr` (16 bytes), no host bits set. */
bool art_prefix_ok(const uint8_t *addr, unsigned int len, unsigned int bits);

/* The tables against each other and the source form (artefact_check.c),
 * then each segment's prefixes, rebuilt from the tries. */
void art_check_tables(struct reader *R);

#endif /* XS_POLICY_ARTEFACT_H */

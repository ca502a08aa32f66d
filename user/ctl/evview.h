/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events as people and programs read them: a record of xs_events decoded
 * with the names it had when it was made (its generation's segments and
 * rule origin, FILE:LINE; the interface), rendered as `xdpseg watch` prints
 * it (a text line, or a JSON object), and the filters of `watch` and of the
 * agent's watch request. `watch` without an agent and the agent (which
 * decodes each event once, as it arrives, and keeps the decoded form in its
 * history) both use this module, so an event reads the same either way.
 */
#ifndef XS_EVVIEW_H
#define XS_EVVIEW_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "maps.h"

/* Where a shown event comes from: every line says which. */
enum xs_evfrom {
	XS_EV_LIVE,	/* read as it happened */
	XS_EV_HISTORY,	/* from the agent's history (watch --since, --last) */
	XS_EV_BUFFERED, /* in the ring buffer before the reader opened it */
};

/* The marker of each (the text line's last field): "live", "history", "buffered". */
const char *xs_evfrom_name(enum xs_evfrom from);

/* A decoded event. The strings point into a struct xs_evview_buf, or into
 * the same block (xs_evview_dup()). */
struct xs_evview {
	struct xs_event e;   /* the record's fixed part */
	const uint8_t *snap; /* e.snap_len bytes of the frame (NULL: none) */
	int64_t real_ns;     /* e.ts_ns on the wall clock */
	const char *iface;   /* its name ("if7" when unknown) */
	const char *src_seg; /* segment names as the event's generation knew them */
	const char *dst_seg;
	bool have_origin; /* the rule or default that decided is known: */
	unsigned int line;
	const char *file;	 /* its file ("" when unknown) */
	const char *text;	 /* its text */
	const char *policy_file; /* a rollback: the policy gone back to ("?" unknown) */
};

/* Storage for the strings of one decoded view. */
struct xs_evview_buf {
	char iface[IF_NAMESIZE + 8];
	char src_seg[XS_ORIGIN_TEXT_LEN];
	char dst_seg[XS_ORIGIN_TEXT_LEN];
	struct xs_origin o;
	char policy_file[sizeof(((struct xs_policy_meta *)0)->file) + 1];
	uint8_t snap[XS_EV_SNAP_MAX];
};

/*
 * Decode record `rec` of `size` bytes, read from the maps `m` now (a
 * generation's names are trusted only while its set still holds it).
 * `mono_to_real_ns`: CLOCK_REALTIME - CLOCK_MONOTONIC. Returns 0 for an
 * event; -ENOMSG for a record of another kind (not an event); -EBADMSG for
 * an event shorter than its struct and its snap_len say.
 */
int xs_evview_decode(const struct xs_maps *m, int64_t mono_to_real_ns, const void *rec, size_t size,
		     struct xs_evview *v, struct xs_evview_buf *buf);

/* A copy of `v` in one malloc'd block (free() it); NULL when out of memory. */
struct xs_evview *xs_evview_dup(const struct xs_evview *v);

/*
 * The text line, with its newline:
 *   TIME IFACE DIR VERDICT PROTO SRC:PORT -> DST:PORT SRCSEG -> DSTSEG REASON FILE:LINE WHEN
 * (WHEN: xs_evfrom_name()); a rollback:
 *   TIME IFACE ROLLBACK the confirm deadline passed: ... generation N (FILE) WHEN
 */
void xs_evview_text(FILE *f, const struct xs_evview *v, enum xs_evfrom from);

/* What xs_evview_json() adds. */
#define XS_EVJ_SNAP (1U << 0) /* "snap" (base64), "snap_len", "pkt_len" when it has bytes */
#define XS_EVJ_TEXT (1U << 1) /* "text": the text line (without its newline) */

/*
 * The JSON object, with its newline: every field `watch --json` prints,
 * then "live": true|false ("buffered": true when XS_EV_BUFFERED), then
 * what `flags` asks for.
 */
void xs_evview_json(FILE *f, const struct xs_evview *v, enum xs_evfrom from, unsigned int flags);

/* The origin of `rule_id` as `generation` knew it: trusted only while the
 * set's metadata still names that generation (read before and after). */
bool xs_evview_origin(const struct xs_maps *m, uint32_t generation, uint32_t rule_id,
		      struct xs_origin *o);

/* An interface's name: its record in xs_ifaces, the kernel's, or "ifN". */
void xs_evview_iface(const struct xs_maps *m, uint32_t ifindex, char *buf, size_t size);

/* ---- Filters: watch's options, the agent's watch request ---- */

struct xs_evfilter {
	int verdict;			  /* XS_VERDICT_*, -1: any */
	char segment[XS_ORIGIN_TEXT_LEN]; /* from or to this segment ("": any) */
	long port;			  /* source or destination port, -1: any */
	char iface[IF_NAMESIZE];	  /* "": any */
	uint8_t family;			  /* addr: 4 or 6, 0: any */
	uint8_t plen;
	uint8_t addr[16];	/* source or destination in addr/plen (masked) */
	unsigned int rule_line; /* 0: any; else decided by FILE:LINE */
	char rule_file[XS_ORIGIN_FILE_LEN];
};

void xs_evfilter_init(struct xs_evfilter *f);

/*
 * Each parser takes the text of one filter and sets it; on an error it
 * returns -EINVAL and writes the message into why[size] (a sentence that
 * names the bad value and what is expected, without the option's name).
 */
int xs_evfilter_verdict(struct xs_evfilter *f, const char *s, char *why, size_t size);
int xs_evfilter_segment(struct xs_evfilter *f, const char *s, char *why, size_t size);
int xs_evfilter_port(struct xs_evfilter *f, const char *s, char *why, size_t size);
/* An interface name: 1 to 15 bytes, no '/', ':' or blank. */
int xs_evfilter_iface(struct xs_evfilter *f, const char *s, char *why, size_t size);
/* ADDR or ADDR/LEN, IPv4 or IPv6; host bits past LEN are ignored. */
int xs_evfilter_addr(struct xs_evfilter *f, const char *s, char *why, size_t size);
/* FILE:LINE: the file as watch shows it, or its last path components. */
int xs_evfilter_rule(struct xs_evfilter *f, const char *s, char *why, size_t size);

/* How far back (--since): a duration with its unit (90s, 5m, 1h, 1h30m). */
int xs_evfilter_since(const char *s, uint64_t *secs, char *why, size_t size);
/* How many (--last, --count): a positive whole number up to 2^40. */
int xs_evfilter_count(const char *s, uint64_t *n, char *why, size_t size);

/* Does `v` pass every filter set? A rollback always does (it is the policy's
 * change, not a flow). */
bool xs_evfilter_match(const struct xs_evfilter *f, const struct xs_evview *v);

/* Is any filter set? */
bool xs_evfilter_any(const struct xs_evfilter *f);

#endif /* XS_EVVIEW_H */

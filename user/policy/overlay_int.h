/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Overlays between their two passes: what overlay.c parses (statements,
 * failsafe ports) and overlay_emit.c turns into derived segments, rules,
 * origins and records.
 */
#ifndef XS_POLICY_OVERLAY_INT_H
#define XS_POLICY_OVERLAY_INT_H

#include "internal.h"

/* An endpoint as written: a segment, or an address or prefix (derived). */
struct pend {
	long seg;	     /* a segment id (0: world), or -1: derived from px */
	struct xs_prefix px; /* derived: the prefix */
	uint16_t root;	     /* derived: the declared segment holding it (0: world) */
};

struct plist {
	struct pend *v;
	size_t n, cap;
};

/* A forensic clause of a quarantine: forensic SRC, ... [: ITEM, ...]. */
struct pclause {
	struct plist src;
	struct xs_portspec *ports;
	size_t nports;
};

/* An overlay or failsafe port as parsed, before its derived segments have ids. */
struct pov {
	const struct xs_overlay_in *in; /* NULL: a failsafe port */
	const struct xs_failsafe_in *fs;
	uint8_t kind;	   /* XS_ORIGIN_QUARANTINE, _GRANT, _FAILSAFE */
	uint8_t mode;	   /* quarantine: MODE_* */
	struct plist a, b; /* quarantine: targets; grant: from, to; failsafe: to */
	struct pclause *cl;
	size_t ncl, capcl;
	struct xs_portspec *ports; /* grant, failsafe */
	size_t nports;
	const char *file; /* the policy's copy */
	char *text;	  /* the origin's text */
	bool ok;
};

enum { MODE_DEFAULT, MODE_STRICT, MODE_FORENSIC };

/* What the overlay pass keeps: the declared prefixes (to place an address)
 * and the derived prefixes asked for. */
struct opass {
	struct xs_pfx_index ix;
	struct pov *v;
	size_t n, cap;
};

/* The policy's arrays grown by one (zeroed; NULL and P->nomem when out of memory). */
struct xs_overlay_rule *xs_ovr_push(struct parser *P);
struct xs_origin_entry *xs_origin_push(struct parser *P, enum xs_origin_kind kind, const char *file,
				       int line, const char *text);

/* The derived segments the parsed overlays S ask for, sorted, *nd of them
 * (errors for a prefix holding another segment's, ...). */
struct pend *xs_ov_derive(struct parser *P, struct opass *S, size_t *nd);

/* Derived segments `d` (ids from `first`), then every overlay's rules,
 * origins and, for quarantines and grants, records (rec, *nrec). */
void xs_ov_emit(struct parser *P, struct opass *S, const struct pend *d, size_t nd, size_t first,
		const struct xs_compile_opts *opts, struct xs_overlay_entry *rec, size_t *nrec);

#endif /* XS_POLICY_OVERLAY_INT_H */

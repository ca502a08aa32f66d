/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `xdpseg suggest` between its files: the suggestion's state (struct ctx),
 * what suggest.c sorts the flows into, and what crosses files. suggest.c:
 * the flows sorted, the rules, learn_suggest(); suggest_state.c: names,
 * arrays, the evidence and the order every part uses; suggest_propose.c:
 * the segments proposed for addresses in no segment; suggest_items.c: the
 * items of a pair; suggest_print.c: the text.
 */
#ifndef XS_LEARN_SUGGEST_INT_H
#define XS_LEARN_SUGGEST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "suggest.h"

/* Endpoint ids past any policy's segments: proposed segment k is PROPOSED + k. */
#define PROPOSED 0x10000u

/* ---- Addresses in no segment, and the segments proposed for them ------------ */

struct waddr {
	uint8_t family;
	uint8_t addr[16];
	uint32_t group;
};

struct proposal {
	uint8_t family;
	uint8_t addr[16]; /* the covering prefix, host bits clear */
	unsigned int len;
	size_t first, n; /* its addresses in the sorted waddrs */
	bool hosts;	 /* the prefix would be a whole private range: the addresses */
	char name[32];
};

/* ---- The suggestion's state ------------------------------------------------- */

/* One side of a flow, one flow of a pair. */
struct entry {
	uint32_t src, dst; /* segment ids (0: world), or PROPOSED + k */
	uint8_t proto;
	int32_t port;
	const struct learn_flow *f;
};

struct item {
	const struct learn_service *svc; /* or a spec: */
	struct xs_portspec spec;
	uint8_t kproto; /* the lowest observed (protocol, port) it holds */
	int32_t kport;
	bool range; /* chosen by (a) */
	bool gone;
};

struct evidence {
	uint64_t conns, audited;
	size_t clients, days;
	int64_t first, last;
};

struct rule {
	uint32_t src, dst;
	struct item it;
	struct evidence ev;
};

struct ctx {
	const struct learn_set *s;
	const struct xs_compiled *c;
	const struct xs_policy *p;
	const struct learn_catalog *cat;
	const struct learn_suggest_opts *o;
	uint16_t only; /* --segment's id; 0: every segment */
	struct waddr *wa;
	size_t nwa;
	struct proposal *g;
	size_t ng;
	struct entry *pass, *drop, *odd; /* passed; dropped; passed but unnameable */
	size_t npass, ndrop, nodd;
	size_t naggregate;
	uint64_t aggregate_conns;
	struct rule *rules;
	size_t nrules, cap_rules;
	bool *svc_used;	    /* per catalog service */
	bool *seen, *ruled; /* per segment id: any flow; a rule suggested */
};

/* An observed (protocol, port) of a pair: P. */
struct port {
	uint8_t proto;
	int32_t port;
	bool named;
};

/* ---- suggest_state.c ---------------------------------------------------------- */

/* The declared segment a (derived) segment belongs to; 0: world. */
uint16_t sg_declared(const struct xs_policy *p, uint16_t seg);
/* A name the language reads as a segment's (a read-back policy's too). */
bool sg_name_ok(const char *s);
/* An endpoint's name: a segment's, a proposed segment's, "world". */
const char *sg_ep_name(const struct ctx *x, uint32_t ep);
/* Can a rule name (proto, port)? tcp/udp 1-65535, icmp/icmpv6 types 0-255. */
bool sg_nameable(uint8_t proto, int32_t port);
/* Append the size bytes at e to the array *vp (*n of *cap): 0; -ENOMEM. */
int sg_push(void *vp, size_t *n, size_t *cap, size_t size, const void *e);
/* The evidence of the flows e[0..n) that `it` holds (it NULL: all of them). */
int sg_evidence(const struct entry *e, size_t n, const struct item *it, struct evidence *ev);
/* e[0..n) by source, destination (by name), protocol, port. */
void sg_sort_entries(const struct ctx *x, struct entry *e, size_t n);

/* ---- suggest_propose.c -------------------------------------------------------- */

/* Does the prefix pfx/len hold addr? */
bool sg_prefix_holds(const uint8_t *pfx, unsigned int len, const uint8_t *addr);
/* Group the world addresses into proposed segments, and name each side of
 * the passing flows by its endpoint. */
int sg_propose(struct ctx *x);

/* ---- suggest_items.c ---------------------------------------------------------- */

/* Does the item hold (proto, port)? */
bool sg_item_holds(const struct item *it, uint8_t proto, int32_t port);
/* A service's name or a spec as the language writes it. */
void sg_item_text(char *buf, size_t size, const struct item *it);
/* The items naming P (sorted, distinct), in rule order; *nout of them. */
int sg_choose(const struct ctx *x, struct port *P, size_t n, struct item **out, size_t *nout);

/* ---- suggest_print.c ---------------------------------------------------------- */

/* The suggestion as text: the header, services, segments, binds, rules, and
 * as comments what is not suggested. Returns 0; -ENOMEM. */
int sg_print(FILE *out, const struct ctx *x);

#endif /* XS_LEARN_SUGGEST_INT_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `xdpseg map`: the observed segment graph (graph.c) and its picture
 * (dot.c). From observations judged under a policy (learn.h): per (source
 * segment, destination segment) the services seen, each (protocol, port)
 * named by the catalog where a leaf service holds it, their connections,
 * distinct clients, first and last seen, and what the policy judged under
 * does with them (allowed by which rule, audit: monitor mode now, dropped
 * when enforcing, or dropped, and by what). Aggregate rows (a flood the store
 * capped: no addresses, no port) count on their segment pair.
 *
 * Everything is in a deterministic order: segment pairs by source then
 * destination name, services by protocol, port, then class. Every string is
 * from a policy file or a store: printed escaped (text), as JSON strings, or
 * escaped for DOT.
 */
#ifndef XS_LEARN_GRAPH_H
#define XS_LEARN_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "learn.h"

/* What the policy judged under does with a service, when enforcing. */
enum learn_class {
	LEARN_ALLOWED = 0, /* passes (allow) */
	LEARN_AUDIT = 1,   /* passes now in monitor mode; enforcing would drop it */
	LEARN_DROPPED = 2, /* dropped */
	LEARN_NCLASSES = 3,
};

/* "allow", "audit", "drop" */
const char *learn_class_name(unsigned int cls);

/* One (protocol, port) seen on a segment pair, one decision. */
struct learn_gsvc {
	uint8_t proto;
	int32_t port;	      /* -1: none */
	const char *name;     /* the catalog's service holding it, NULL: none */
	char label[80];	      /* "ica (tcp/1494)", "tcp/50123" */
	char short_label[64]; /* "ica", "tcp/50123" (the picture's) */
	uint8_t cls;	      /* enum learn_class */
	struct xs_decision d; /* the decision (verdict, reason, rule_id) */
	uint16_t monitor_seg; /* LEARN_AUDIT: the segment in monitor mode */
	uint64_t connections, packets, bytes;
	uint64_t clients; /* distinct source addresses */
	int64_t first_seen, last_seen;
};

/* A host of a segment, or (world) a prefix of them: /24, /48. */
struct learn_host {
	uint16_t seg;
	uint8_t family; /* 4 or 6 */
	uint8_t plen;	/* 32 or 128 for one address */
	uint8_t addr[16];
	uint64_t naddrs; /* distinct addresses seen in it */
};

/* Traffic of one class from one host to another (--addresses). */
struct learn_gline {
	size_t src, dst; /* in graph.hosts */
	uint8_t cls;
	size_t *svc; /* in the edge's svc[], ascending */
	size_t nsvc;
	uint64_t connections;
};

/* A segment pair. */
struct learn_edge {
	uint16_t src_seg, dst_seg;
	struct learn_gsvc *svc;
	size_t nsvc;
	struct learn_gline *lines; /* --addresses */
	size_t nlines;
	uint64_t connections, clients; /* of the keyed rows */
	int64_t first_seen, last_seen; /* every row, aggregates too */
	/* aggregate rows: connections by the decision recorded at the time
	 * (enum xs_store_decision) */
	uint64_t agg[3];
	uint64_t agg_connections;
};

struct learn_graph {
	const struct xs_compiled *c;
	bool addresses;
	struct learn_edge *edges;
	size_t nedges;
	uint16_t *segs; /* every segment of an edge, by name */
	size_t nsegs;
	struct learn_host *hosts; /* --addresses: by segment name, family, address */
	size_t nhosts;
	int64_t since, now;
	uint64_t flows; /* rows read */
};

/* The graph of s judged under c (learn_judge()), ports named by cat (NULL:
 * none). `addresses`: hosts and their lines too. 0 or -ENOMEM. */
int learn_graph_build(struct learn_graph *g, const struct learn_set *s, const struct xs_compiled *c,
		      const struct learn_catalog *cat, bool addresses);
void learn_graph_free(struct learn_graph *g);

/* A segment's name ("world", "seg-N" when the policy has none). */
const char *learn_graph_seg(const struct learn_graph *g, uint16_t seg, char *buf, size_t size);
/* "10.20.1.5", "198.51.100.0/24" */
void learn_host_text(char *buf, size_t size, const struct learn_host *h);
/* "FILE:LINE: TEXT" of origin `id` (not escaped), "#ID" when it has none. */
void learn_origin_text(char *buf, size_t size, const struct xs_compiled *c, uint32_t id);
/* Why a service is in its class, one line, not escaped: "allowed by
 * FILE:LINE: TEXT", "would be dropped when enforcing (vda is in monitor
 * mode): no rule; ...". */
void learn_why_text(char *buf, size_t size, const struct learn_graph *g, const struct learn_edge *e,
		    const struct learn_gsvc *sv);

/* The graph as text (segment pairs, services, why; hosts with addresses). */
void learn_graph_text(FILE *out, const struct learn_graph *g);
/* The members of a JSON object: "segments":[...],"edges":[...] (the caller
 * prints the braces and its own members first). */
void learn_graph_json(FILE *out, const struct learn_graph *g);

/* ---- The picture (dot.c) --------------------------------------------------- */

/* Graphviz DOT: segments as nodes (clusters of hosts with addresses), the
 * services on edges, one edge per class: allowed green, audit (dropped when
 * enforcing) red, dropped grey; aggregates dashed. `title`: the graph's
 * label (NULL: none). */
void learn_graph_dot(FILE *out, const struct learn_graph *g, const char *title);
/* The DOT laid out by libgvc ("dot") and rendered to `file` as SVG. 0, or a
 * negative errno told in err. */
int learn_graph_svg(const struct learn_graph *g, const char *title, const char *file, char *err,
		    size_t errlen);
/* s as a DOT double-quoted string's contents: control bytes and invalid
 * UTF-8 as \xNN (xs_print_escaped()), then quote and backslash escaped. */
void learn_dot_escaped(FILE *out, const char *s);

#endif /* XS_LEARN_GRAPH_H */

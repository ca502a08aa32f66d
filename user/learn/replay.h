/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `xdpseg replay CANDIDATE`: every stored flow decided again by the
 * candidate's compiled tables (learn_judge(): the datapath's lookups and
 * decision), against what the datapath decided at the time (the row's
 * decision). What would be dropped that passed, what would newly pass,
 * grouped by (source segment, destination segment, service or port, the
 * rule or default that decides); what is unchanged; the coverage: the share
 * of observed connections the candidate allows by an explicit rule.
 */
#ifndef XS_LEARN_REPLAY_H
#define XS_LEARN_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "learn.h"

#define LEARN_REPLAY_EXAMPLES 3

/* Flows a candidate decides otherwise than the datapath did, alike. */
struct learn_replay_group {
	uint16_t src_seg, dst_seg; /* the candidate's segments */
	char service[64];	   /* the catalog's name of the port, or "tcp/445" */
	uint32_t rule_id;	   /* the candidate's deciding origin (0: none) */
	uint8_t verdict, reason;   /* the candidate's decision */
	uint64_t conns;
	size_t rows, clients;
	size_t nex;			     /* examples: the first flows' addresses and port */
	char ex[LEARN_REPLAY_EXAMPLES][176]; /* "SRC -> DST PROTO/PORT" */
};

struct learn_replay {
	struct learn_replay_group *dropped; /* passed at the time, the candidate drops */
	size_t ndropped;
	struct learn_replay_group *newly; /* dropped at the time, the candidate passes */
	size_t nnewly;
	uint64_t dropped_conns, newly_conns;
	uint64_t same_pass, same_drop; /* connections decided alike */
	size_t rows, aggregate_rows;   /* replayed, and not (no addresses, no port) */
	uint64_t aggregate_conns;
	uint64_t observed, by_rule;	 /* connections replayed; allowed by a rule */
	uint64_t passed, passed_by_rule; /* of those that passed at the time */
};

/* Compare s's rows (judged under c, the candidate) with their decisions at
 * the time; cat names the ports. 0 or -ENOMEM. */
int learn_replay_run(const struct learn_set *s, const struct xs_compiled *c,
		     const struct learn_catalog *cat, struct learn_replay *out);
void learn_replay_free(struct learn_replay *r);

/* 0: nothing observed that passed would be dropped; 1: something would. */
int learn_replay_status(const struct learn_replay *r);

void learn_replay_print(FILE *out, const struct learn_replay *r, const struct xs_compiled *c);
/* The members of a JSON object (the caller prints the braces), after a ','. */
void learn_replay_print_json(FILE *out, const struct learn_replay *r, const struct xs_compiled *c);

#endif /* XS_LEARN_REPLAY_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Random policies and addresses for the differential tests (unit: compiled
 * tables vs the reference evaluator; bpf: the datapath vs the reference
 * evaluator). Deterministic for a seed.
 */
#ifndef XS_TEST_RANDPOL_H
#define XS_TEST_RANDPOL_H

#include <stdint.h>

struct rng {
	uint64_t s;
};

/* Uniform-ish in [0, n). */
uint32_t rnd(struct rng *r, uint32_t n);

/*
 * A random valid policy text (malloc'd): 1-6 segments s0.. owning
 * 10.<i>.0.0/16 (maybe a nested /24 elsewhere and fd00:<i>::/32), services,
 * allow/deny rules over them, 'any' and 'world', defaults and monitor
 * modes, with port specs in a small space so that rules overlap often.
 */
char *rand_policy(struct rng *r, int *nseg_out);

/* An address that usually falls in one of the segments (or in world). */
void rand_addr(struct rng *r, int nseg, uint8_t family, uint8_t *a);

/*
 * rand_policy() and more: rules, defaults and modes of the built-in segment
 * link-local, sometimes a segment inside it (imds 169.254.169.254), and
 * `bind sN pN [ADDRESS, ...]` statements (patterns p0, p1, ...). Segment ids:
 * s0.. are 1..nseg, then imds if declared, then link-local.
 */
char *rand_policy_ll(struct rng *r, int *nseg_out);

/* rand_addr(), or one time in four a link-local address (imds's sometimes). */
void rand_addr_ll(struct rng *r, int nseg, uint8_t family, uint8_t *a);

#endif /* XS_TEST_RANDPOL_H */

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

#endif /* XS_TEST_RANDPOL_H */

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the compiled artefact's reader (artefact.c): the
 * input is an artefact, hostile. Each input is read as it is (the checksum
 * turns most mutations away), then with its length field and checksum made
 * right, so that mutations reach the sections and the tables. An artefact
 * the reader accepts must be read faithfully: written again, it is the same
 * bytes; and it must print and evaluate without fault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define HEADER 64
#define TRAILER 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_one(const uint8_t *b, size_t n)
{
	struct xs_compiled *c = NULL;
	char err[256], *file = NULL;
	void *again = NULL;
	size_t len = 0;
	FILE *null;

	if (xs_compiled_deserialize(b, n, &c, &file, err, sizeof(err))) {
		if (c || file || !err[0])
			abort(); /* a rejection leaves nothing and says why */
		return;
	}
	if (xs_compiled_serialize(c, file, &again, &len) || len != n || memcmp(again, b, n))
		abort();
	null = fopen("/dev/null", "w");
	if (null) {
		xs_compiled_print(null, c);
		xs_compiled_print_json(null, c);
		fclose(null);
	}
	for (size_t i = 0; i < 16; i++) {
		struct xs_flow f = { .family = (i & 1) ? 6 : 4, .proto = (i & 2) ? 6 : 17 };
		struct xs_decision d;

		f.dport = (uint16_t)(i * 131);
		f.saddr[0] = (uint8_t)(10 + i);
		f.daddr[0] = (uint8_t)(10 + i / 2);
		xs_policy_evaluate(c->policy, &f, &d);
	}
	xs_policy_binding_for(c->policy, "vnet0");
	free(again);
	free(file);
	xs_compiled_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b;
	uint64_t len = size;

	read_one(data, size);
	if (size < HEADER + TRAILER)
		return 0;
	b = malloc(size);
	if (!b)
		return 0;
	memcpy(b, data, size);
	memcpy(b + 16, &len, sizeof(len));
	xs_sha256(b, size - TRAILER, b + size - TRAILER);
	read_one(b, size);
	free(b);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the policy parser and compiler. The input is a
 * policy, every byte of it (NULs too); an optional "\n%%\n" splits off a
 * second file, "inc.policy", that the first may include. When the policy
 * compiles, a few flows derived from the input (some behind bound ports) are
 * decided by the compiled tables and by the reference evaluator, which must
 * agree, as must the compiled bind entries and xs_policy_bind_allows().
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *sep;
	struct memfile files[2] = { { "main.policy", NULL, 0 }, { "inc.policy", "", 0 } };
	struct xs_compiled *c = NULL;
	struct xs_diags d;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	files[0].text = text;
	files[0].len = size;
	sep = memmem(text, size, "\n%%\n", 4);
	if (sep) {
		*sep = '\0';
		files[0].len = (size_t)(sep - text);
		files[1].text = sep + 4;
		files[1].len = size - files[0].len - 4;
	}
	xs_diags_init(&d);
	if (compile_files(files, 2, &c, &d) == 0) {
		for (size_t i = 0; i < 64; i++) {
			struct xs_flow f = { .family = (i & 1) ? 6 : 4 };
			struct xs_decision a, b;
			static const uint8_t protos[] = { 6, 17, 1, 58 };

			f.proto = protos[(i >> 1) & 3];
			f.dport = (uint16_t)(size ? data[i % size] * 7 + i : i);
			/* addresses from the declared prefixes, or 0 */
			for (size_t k = 0; k < 16; k++) {
				f.saddr[k] = size ? data[(i * 3 + k) % size] : 0;
				f.daddr[k] = size ? data[(i * 5 + k + 1) % size] : 0;
			}
			if (c->nv4 && f.family == 4) {
				memcpy(f.saddr, c->v4[i % c->nv4].key.addr, 4);
				memcpy(f.daddr, c->v4[(i / 2) % c->nv4].key.addr, 4);
			}
			if (c->policy->linklocal_seg > 1 && (i & 4)) {
				f.src_port_seg = (uint16_t)(1 + i % (c->policy->linklocal_seg - 1));
				f.dst_port_seg =
					(uint16_t)(1 + (i / 3) % (c->policy->linklocal_seg - 1));
			}
			xs_policy_evaluate(c->policy, &f, &a);
			compiled_decide(c, &f, &b);
			if (memcmp(&a, &b, sizeof(a)))
				abort();
			for (size_t k = 0; k < c->policy->nbindings; k++) {
				const struct xs_binding *bd = &c->policy->bindings[k];

				if (xs_policy_bind_allows(c->policy, bd, f.family, f.saddr) !=
				    compiled_bind_allows(c, bd->id, f.family, f.saddr))
					abort();
			}
		}
	}
	xs_compiled_free(c);
	xs_diags_free(&d);
	free(text);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Write the compiled artefact of each policy: mkartefact OUTDIR POLICY...
 * makes OUTDIR/BASENAME.xsc. The artefact fuzzer's seeds, made from the
 * policies in the tree at test time (so they follow the format).
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int main(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		struct xs_compiled *c = NULL;
		char *base = strdup(argv[i]), path[4096];
		struct xs_diags d;
		void *buf;
		size_t len;
		FILE *f;

		xs_diags_init(&d);
		if (!base || xs_policy_compile(argv[i], xs_resolve_fs, NULL, &c, &d) ||
		    xs_compiled_serialize(c, argv[i], &buf, &len)) {
			fprintf(stderr, "mkartefact: %s does not compile\n", argv[i]);
			return 1;
		}
		snprintf(path, sizeof(path), "%s/%s.xsc", argv[1], basename(base));
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
			perror(path);
			return 1;
		}
		free(buf);
		free(base);
		xs_compiled_free(c);
		xs_diags_free(&d);
	}
	return 0;
}

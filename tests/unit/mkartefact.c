// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Write the compiled artefact of each policy: mkartefact OUTDIR POLICY...
 * makes OUTDIR/BASENAME.xsc, and OUTDIR/BASENAME-overlays.xsc of the policy
 * with overlays (a quarantine with forensic access, a grant, a failsafe
 * port: derived segments, overlay rules and records). The artefact
 * fuzzer's seeds, made from the policies in the tree at test time (so they
 * follow the format).
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static int write_artefact(const struct xs_compiled *c, const char *policy, const char *dir,
			  const char *base, const char *suffix)
{
	char path[4096];
	void *buf;
	size_t len;
	FILE *f;

	if (xs_compiled_serialize(c, policy, &buf, &len))
		return -1;
	snprintf(path, sizeof(path), "%s/%s%s.xsc", dir, base, suffix);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

/* The policy with overlays naming its first segment, when it holds them. */
static int with_overlays(const struct xs_compiled *c, const char *policy, const char *dir,
			 const char *base)
{
	const char *seg = c->policy->segments[0].name;
	char q[256], g[256];
	struct xs_overlay_in ov[2] = {
		{ .number = 1,
		  .kind = XS_OVERLAY_QUARANTINE,
		  .created = 1,
		  .text = q,
		  .reason = "" },
		{ .number = 2,
		  .kind = XS_OVERLAY_GRANT,
		  .flags = XS_RULEF_DRAIN,
		  .created = 1,
		  .expires = 4000000000u,
		  .text = g,
		  .reason = "seed" },
	};
	struct xs_failsafe_in fs = { "10.250.0.9 : tcp/22", "xdpseg.conf", 1 };
	struct xs_compile_opts o = { ov, 2, &fs, 1, 1, 37 };
	struct xs_compiled *oc = NULL;
	struct xs_diags d;
	int rc = 0;

	snprintf(q, sizeof(q), "quarantine 10.250.0.7 forensic %s : tcp/22", seg);
	snprintf(g, sizeof(g), "grant %s -> 10.250.0.8 : tcp/3389", seg);
	xs_diags_init(&d);
	if (!xs_policy_compile_opts(policy, xs_resolve_fs, NULL, &o, &oc, &d))
		rc = write_artefact(oc, policy, dir, base, "-overlays");
	xs_compiled_free(oc);
	xs_diags_free(&d);
	return rc;
}

int main(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		struct xs_compiled *c = NULL;
		char *base = strdup(argv[i]);
		struct xs_diags d;

		xs_diags_init(&d);
		if (!base || xs_policy_compile(argv[i], xs_resolve_fs, NULL, &c, &d) ||
		    write_artefact(c, argv[i], argv[1], basename(base), "") ||
		    with_overlays(c, argv[i], argv[1],
				  strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i])) {
			fprintf(stderr, "mkartefact: %s does not compile\n", argv[i]);
			return 1;
		}
		free(base);
		xs_compiled_free(c);
		xs_diags_free(&d);
	}
	return 0;
}

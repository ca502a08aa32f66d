// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Random policies and addresses (see randpol.h). */
#include "randpol.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

uint32_t rnd(struct rng *r, uint32_t n)
{
	r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(r->s >> 33) % n;
}

/* A port spec in a small space so that rules overlap often. */
static void rand_spec(struct rng *r, FILE *f)
{
	static const char *const protos[] = { "tcp", "udp", "icmp", "icmpv6" };
	const char *p = protos[rnd(r, 4)];
	bool icmp = p[0] == 'i';
	uint32_t max = icmp ? 255 : 65535, lo, hi;

	switch (rnd(r, 5)) {
	case 0:
		fprintf(f, "%s", p);
		return;
	case 1: /* big range */
		lo = 1 + rnd(r, max);
		hi = lo + rnd(r, max - lo + 1);
		break;
	default: /* near the small ports */
		lo = 1 + rnd(r, 40);
		hi = lo + rnd(r, 20);
		break;
	}
	if (icmp && rnd(r, 3) == 0)
		lo = 0;
	if (hi > max)
		hi = max;
	if (lo == hi)
		fprintf(f, "%s/%u", p, lo);
	else
		fprintf(f, "%s/%u-%u", p, lo, hi);
}

static const char *seg_name(struct rng *r, int nseg, bool allow_any)
{
	static char buf[2][16];
	static int k;
	uint32_t v = rnd(r, (uint32_t)nseg + (allow_any ? 2 : 1));

	k ^= 1;
	if (v == (uint32_t)nseg)
		return "world";
	if (v == (uint32_t)nseg + 1)
		return "any";
	snprintf(buf[k], sizeof(buf[k]), "s%u", v);
	return buf[k];
}

/* Segment i: nested IPv4 prefixes under 10.0.0.0/8, some IPv6. */
char *rand_policy(struct rng *r, int *nseg_out)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int nseg = 1 + (int)rnd(r, 6), nsvc = (int)rnd(r, 4), nrules = 1 + (int)rnd(r, 12);

	for (int s = 0; s < nsvc; s++) {
		int n = 1 + (int)rnd(r, 3);

		fprintf(f, "service v%d ", s);
		for (int i = 0; i < n; i++) {
			if (i)
				fprintf(f, ", ");
			if (s > 0 && rnd(r, 4) == 0)
				fprintf(f, "v%u",
					rnd(r, (uint32_t)s)); /* earlier service: no cycle */
			else
				rand_spec(r, f);
		}
		fprintf(f, "\n");
	}
	for (int s = 0; s < nseg; s++) {
		/* distinct prefixes: segment s owns 10.s.0.0/16, maybe 10.(s/2).s.0/24 too */
		fprintf(f, "segment s%d 10.%d.0.0/16", s, s);
		if (rnd(r, 2))
			fprintf(f, ", 10.%d.%d.0/24", (s + 1) % nseg, 100 + s);
		if (rnd(r, 2))
			fprintf(f, ", fd00:%x::/32", s);
		fprintf(f, "\n");
	}
	for (int i = 0; i < nrules; i++) {
		const char *src = seg_name(r, nseg, true), *dst = seg_name(r, nseg, true);
		int n = (int)rnd(r, 4);

		if (!strcmp(src, "world") && !strcmp(dst, "world"))
			dst = "any";
		fprintf(f, "%s %s -> %s", rnd(r, 3) ? "allow" : "deny", src, dst);
		for (int k = 0; k < n; k++) {
			fprintf(f, k ? ", " : " : ");
			if (nsvc && rnd(r, 3) == 0)
				fprintf(f, "v%u", rnd(r, (uint32_t)nsvc));
			else
				rand_spec(r, f);
		}
		fprintf(f, "\n");
	}
	for (int s = 0; s < nseg; s++) {
		if (rnd(r, 3) == 0)
			fprintf(f, "default s%d in %s out %s\n", s, rnd(r, 2) ? "allow" : "deny",
				rnd(r, 2) ? "allow" : "deny");
		if (rnd(r, 5) == 0)
			fprintf(f, "mode s%d monitor\n", s);
	}
	fclose(f);
	*nseg_out = nseg;
	return text;
}

void rand_addr(struct rng *r, int nseg, uint8_t family, uint8_t *a)
{
	memset(a, 0, 16);
	if (family == 4) {
		a[0] = rnd(r, 8) ? 10 : (uint8_t)rnd(r, 256);
		a[1] = (uint8_t)rnd(r, (uint32_t)nseg + 1);
		a[2] = rnd(r, 2) ? (uint8_t)(100 + rnd(r, (uint32_t)nseg + 1))
				 : (uint8_t)rnd(r, 256);
		a[3] = (uint8_t)rnd(r, 256);
	} else {
		a[0] = 0xfd;
		a[1] = rnd(r, 8) ? 0 : 1;
		a[3] = (uint8_t)rnd(r, (uint32_t)nseg + 1);
		a[15] = (uint8_t)rnd(r, 256);
	}
}

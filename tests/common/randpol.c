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

/* With extras, one endpoint in four is link-local or imds (when declared). */
static const char *endpoint(struct rng *r, int nseg, bool extras, bool imds)
{
	if (extras && rnd(r, 4) == 0)
		return imds && rnd(r, 2) ? "imds" : "link-local";
	return seg_name(r, nseg, true);
}

/* Binds of some segments: without addresses, or with a few of their own
 * (inside 10.s.0-99.0, clear of the /24s other segments have in 10.s/16). */
static void rand_binds(struct rng *r, FILE *f, int nseg, const bool *has6)
{
	for (int s = 0; s < nseg; s++) {
		int n = (int)rnd(r, 3);

		if (rnd(r, 2))
			continue;
		fprintf(f, "bind s%d p%d", s, s);
		for (int k = 0; k < n; k++) {
			uint32_t len = 24 + rnd(r, 9);

			if (has6[s] && rnd(r, 3) == 0)
				fprintf(f, "%s fd00:%x::%x", k ? "," : "", s, 1 + rnd(r, 99));
			else
				fprintf(f, "%s 10.%d.%u.%u/%u", k ? "," : "", s, rnd(r, 100),
					len == 24 ? 0 : rnd(r, 256) & ~((1u << (32 - len)) - 1),
					len);
		}
		fprintf(f, "\n");
	}
}

/* Segment i: nested IPv4 prefixes under 10.0.0.0/8, some IPv6. */
static char *gen_policy(struct rng *r, int *nseg_out, bool extras)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int nseg = 1 + (int)rnd(r, 6), nsvc = (int)rnd(r, 4), nrules = 1 + (int)rnd(r, 12);
	bool imds = extras && rnd(r, 2), has6[6];

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
		has6[s] = rnd(r, 2);
		if (has6[s])
			fprintf(f, ", fd00:%x::/32", s);
		fprintf(f, "\n");
	}
	if (imds)
		fprintf(f, "segment imds 169.254.169.254\n");
	for (int i = 0; i < nrules; i++) {
		const char *src = endpoint(r, nseg, extras, imds),
			   *dst = endpoint(r, nseg, extras, imds);
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
	if (extras) {
		if (rnd(r, 3) == 0)
			fprintf(f, "default link-local in %s out %s\n",
				rnd(r, 2) ? "allow" : "deny", rnd(r, 2) ? "allow" : "deny");
		if (rnd(r, 6) == 0)
			fprintf(f, "mode link-local monitor\n");
		rand_binds(r, f, nseg, has6);
	}
	fclose(f);
	*nseg_out = nseg;
	return text;
}

char *rand_policy(struct rng *r, int *nseg_out)
{
	return gen_policy(r, nseg_out, false);
}

char *rand_policy_ll(struct rng *r, int *nseg_out)
{
	return gen_policy(r, nseg_out, true);
}

void rand_addr_ll(struct rng *r, int nseg, uint8_t family, uint8_t *a)
{
	if (rnd(r, 4)) {
		rand_addr(r, nseg, family, a);
		return;
	}
	memset(a, 0, 16);
	if (family == 4) {
		a[0] = 169, a[1] = 254;
		a[2] = rnd(r, 2) ? 169 : (uint8_t)rnd(r, 256);
		a[3] = rnd(r, 2) ? 254 : (uint8_t)rnd(r, 256);
	} else {
		a[0] = 0xfe, a[1] = (uint8_t)(0x80 | rnd(r, 0x40));
		a[15] = (uint8_t)rnd(r, 256);
	}
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

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The compiled artefact (policies/README.md, "The compiled artefact"): every
 * example and random policy survives the round trip byte for byte (tables,
 * printed output, the artefact itself), and the reader rejects every
 * truncation, every flipped bit, and broken structure with a clear reason.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "randpol.h"

#define HEADER 64
#define TRAILER 32

/* A section of an artefact: where its header is, its count and body length. */
struct sect {
	size_t at;
	uint32_t count;
	uint64_t bytes;
};

/* Section number `tag` (1..15) of a well-formed artefact. */
static struct sect find_sect(const uint8_t *b, uint32_t tag)
{
	size_t at = HEADER;
	struct sect s;

	for (;;) {
		uint32_t t;

		memcpy(&t, b + at, 4);
		memcpy(&s.count, b + at + 4, 4);
		memcpy(&s.bytes, b + at + 8, 8);
		s.at = at;
		if (t == tag)
			return s;
		at += 16 + s.bytes;
	}
}

enum {
	S_FILES = 2,
	S_ORIGINS = 3,
	S_SEGMENTS = 5,
	S_IPV4 = 8,
	S_OVERLAY_RULES = 16,
	S_OVERLAYS = 17,
	S_SOURCES = 18
};

/* Recompute the checksum at the end after a change. */
static void fix_trailer(uint8_t *b, size_t n)
{
	xs_sha256(b, n - TRAILER, b + n - TRAILER);
}

static char *print_text(const struct xs_compiled *c, bool json)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	cr_assert(f);
	if (json)
		xs_compiled_print_json(f, c);
	else
		xs_compiled_print(f, c);
	fclose(f);
	return s;
}

#define SAME_TABLE(a, b, v, n)                                                              \
	do {                                                                                \
		cr_assert_eq((a)->n, (b)->n, "%s: " #n, what);                              \
		cr_assert((a)->n == 0 || !memcmp((a)->v, (b)->v, (a)->n * sizeof(*(a)->v)), \
			  "%s: " #v " differs", what);                                      \
	} while (0)

/* The artefact of c, read back: the same tables, file, printed output, and
 * (written again) the same bytes. Returns the read-back form. */
static struct xs_compiled *round_trip(const struct xs_compiled *c, const char *file,
				      const char *what)
{
	struct xs_compiled *d = NULL;
	void *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	char err[256], *f = NULL, *t1, *t2;
	int rc;

	cr_assert_eq(xs_compiled_serialize(c, file, &buf, &len), 0, "%s", what);
	rc = xs_compiled_deserialize(buf, len, &d, &f, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: %s", what, err);
	cr_assert_str_eq(f, file);
	cr_assert(!memcmp(c->hash, d->hash, 32), "%s: hash", what);
	SAME_TABLE(c, d, v4, nv4);
	SAME_TABLE(c, d, v6, nv6);
	SAME_TABLE(c, d, rules, nrules);
	SAME_TABLE(c, d, seginfo, nseginfo);
	SAME_TABLE(c, d, binds, nbinds);
	SAME_TABLE(c, d, bind4, nbind4);
	SAME_TABLE(c, d, bind6, nbind6);
	cr_assert(!memcmp(&c->setinfo, &d->setinfo, sizeof(c->setinfo)), "%s: setinfo", what);
	for (int json = 0; json < 2; json++) {
		t1 = print_text(c, json);
		t2 = print_text(d, json);
		cr_assert_str_eq(t1, t2, "%s: printed %s differs", what, json ? "JSON" : "text");
		free(t1);
		free(t2);
	}
	cr_assert_eq(d->policy->nrules, c->policy->nrules);
	cr_assert_eq(d->policy->nservices, c->policy->nservices);
	cr_assert_eq(d->policy->nbindings, c->policy->nbindings);
	cr_assert_eq(xs_compiled_serialize(d, f, &buf2, &len2), 0);
	cr_assert(len == len2 && !memcmp(buf, buf2, len), "%s: written again, it differs", what);
	free(buf);
	free(buf2);
	free(f);
	return d;
}

static struct xs_compiled *compile_file(const char *path)
{
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	int err;

	xs_diags_init(&d);
	err = xs_policy_compile(path, xs_resolve_fs, NULL, &c, &d);
	cr_assert_eq(err, 0, "%s does not compile", path);
	xs_diags_free(&d);
	return c;
}

Test(artefact, examples_round_trip)
{
	static const char *const more[] = { "tests/unit/data/bind.policy",
					    "tests/unit/data/small.policy",
					    "tests/unit/data/warn.policy" };
	glob_t g;

	cr_assert_eq(glob("policies/*.policy", 0, NULL, &g), 0);
	cr_assert_geq(g.gl_pathc, 3);
	for (size_t i = 0; i < g.gl_pathc + 3; i++) {
		const char *path = i < g.gl_pathc ? g.gl_pathv[i] : more[i - g.gl_pathc];
		struct xs_compiled *c = compile_file(path);

		xs_compiled_free(round_trip(c, path, path));
		xs_compiled_free(c);
	}
	globfree(&g);
}

/* Random policies (link-local rules, binds): the round trip, and the
 * reference evaluator decides as before on the policy read back. */
Test(artefact, random_round_trip)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 47 };
	struct rng r = { 0xa57efac7 };

	for (int p = 0; p < 150; p++) {
		struct xs_compiled *c = NULL, *d;
		struct xs_diags diags;
		char what[64];
		int nseg;
		char *text = rand_policy_ll(&r, &nseg);

		xs_diags_init(&diags);
		cr_assert_eq(compile_text(text, &c, &diags), 0, "%s", text);
		snprintf(what, sizeof(what), "random policy %d", p);
		d = round_trip(c, "/etc/xdpseg/random.policy", what);
		for (int i = 0; i < 200; i++) {
			struct xs_flow f = { 0 };
			struct xs_decision a, b;

			f.family = rnd(&r, 2) ? 4 : 6;
			f.proto = protos[rnd(&r, 5)];
			f.dport = (uint16_t)rnd(&r, 1024);
			rand_addr_ll(&r, nseg, f.family, f.saddr);
			rand_addr_ll(&r, nseg, f.family, f.daddr);
			xs_policy_evaluate(c->policy, &f, &a);
			xs_policy_evaluate(d->policy, &f, &b);
			cr_assert(!memcmp(&a, &b, sizeof(a)), "%s flow %d decided differently\n%s",
				  what, i, text);
			for (size_t k = 0; k < c->policy->nbindings; k++)
				cr_assert_eq(
					xs_policy_bind_allows(c->policy, &c->policy->bindings[k],
							      f.family, f.saddr),
					xs_policy_bind_allows(d->policy, &d->policy->bindings[k],
							      f.family, f.saddr));
		}
		xs_compiled_free(c);
		xs_compiled_free(d);
		xs_diags_free(&diags);
		free(text);
	}
}

/* An artefact of `path`, malloc'd. */
static uint8_t *artefact_of(const char *path, size_t *len)
{
	struct xs_compiled *c = compile_file(path);
	void *buf;

	cr_assert_eq(xs_compiled_serialize(c, path, &buf, len), 0);
	xs_compiled_free(c);
	return buf;
}

/* Rejected, with a reason; returns the reason (static). */
static const char *rejected(const uint8_t *b, size_t n, const char *what, size_t at)
{
	static char err[256];
	struct xs_compiled *c = NULL;
	char *f = NULL;
	uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees a read past them */
	int rc;

	memcpy(copy, b, n);
	err[0] = '\0';
	rc = xs_compiled_deserialize(copy, n, &c, &f, err, sizeof(err));
	free(copy);
	cr_assert_eq(rc, -EINVAL, "%s %zu: accepted", what, at);
	cr_assert_null(c);
	cr_assert_null(f);
	cr_assert(err[0], "%s %zu: no reason", what, at);
	return err;
}

Test(artefact, every_truncation_rejected)
{
	size_t n;
	uint8_t *b = artefact_of("policies/cvad-onprem.policy", &n);
	char want[96];

	for (size_t len = 0; len < n; len++) {
		const char *err = rejected(b, len, "length", len);

		if (len >= HEADER + TRAILER) {
			snprintf(want, sizeof(want), "truncated: %zu of %zu bytes", len, n);
			cr_assert_str_eq(err, want);
		}
	}
	free(b);
}

/* Every bit of an artefact with binds: the checksum catches each flip. */
Test(artefact, every_bit_flip_rejected)
{
	size_t n;
	uint8_t *b = artefact_of("tests/unit/data/bind.policy", &n);

	for (size_t bit = 0; bit < n * 8; bit++) {
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rejected(b, n, "bit", bit);
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	free(b);
}

/*
 * Every flipped byte with the checksum made right again (a writer that
 * means harm): in the header and in the tables, each is rejected (the
 * structure, or the hash over the tables); in the source form (and the
 * overlays' source form, and the sources' bytes after the tables), a flip
 * is rejected or read faithfully (written again, the same bytes: a name
 * with another letter is still a name).
 */
Test(artefact, byte_flips_with_checksum_rejected_or_faithful)
{
	size_t n;
	uint8_t *b = artefact_of("tests/unit/data/bind.policy", &n);
	size_t tables = find_sect(b, S_IPV4).at, after = find_sect(b, S_OVERLAY_RULES).at;
	size_t faithful = 0;

	for (size_t i = 0; i < n - TRAILER; i++) {
		struct xs_compiled *c = NULL;
		char err[256], *f = NULL;
		void *again;
		size_t len;

		b[i] ^= 0x5a;
		fix_trailer(b, n);
		if (i < HEADER || (i >= tables && i < after)) {
			rejected(b, n, "byte", i);
		} else if (xs_compiled_deserialize(b, n, &c, &f, err, sizeof(err)) == 0) {
			cr_assert_eq(xs_compiled_serialize(c, f, &again, &len), 0);
			cr_assert(len == n && !memcmp(again, b, n), "byte %zu: read unfaithfully",
				  i);
			faithful++;
			free(again);
			xs_compiled_free(c);
			free(f);
		}
		b[i] ^= 0x5a;
	}
	fix_trailer(b, n);
	cr_assert_gt(faithful, 0, "no string byte was read as another string");
	free(b);
}

Test(artefact, reasons)
{
	size_t n;
	uint8_t *b = artefact_of("tests/unit/data/bind.policy", &n), *big;
	uint32_t v;
	char want[256];
	struct sect s;

	/* the header, in the order it is read */
	b[0] ^= 1;
	cr_assert_str_eq(rejected(b, n, "", 0), "not an xdpseg compiled policy (bad magic)");
	cr_assert_str_eq(rejected(b, 3, "", 0), "not an xdpseg compiled policy (bad magic)");
	b[0] ^= 1;
	cr_assert_str_eq(rejected(b, 3, "", 0),
			 "truncated: 3 bytes, fewer than a header and a checksum (96)");
	v = __builtin_bswap32(0x01020304);
	memcpy(b + 8, &v, 4);
	cr_assert_str_eq(rejected(b, n, "", 0), "written on a host of the other byte order");
	v = 0x01020304;
	memcpy(b + 8, &v, 4);
	v = 1;
	memcpy(b + 12, &v, 4);
	cr_assert_str_eq(rejected(b, n, "", 0), "format version 1; this xdpseg reads version 2");
	v = 2;
	memcpy(b + 12, &v, 4);
	snprintf(want, sizeof(want), "truncated: %zu of %zu bytes", n - 1, n);
	cr_assert_str_eq(rejected(b, n - 1, "", 0), want);
	big = calloc(1, n + 1);
	memcpy(big, b, n);
	snprintf(want, sizeof(want), "%zu bytes where the header says %zu", n + 1, n);
	cr_assert_str_eq(rejected(big, n + 1, "", 0), want);
	free(big);
	b[n / 2] ^= 0x10;
	cr_assert_str_eq(rejected(b, n, "", 0), "corrupt: its bytes do not match their checksum");
	b[n / 2] ^= 0x10;

	/* the hash it carries */
	b[24] ^= 0xff;
	fix_trailer(b, n);
	want[0] = '\0';
	strcat(want, "its tables do not match the hash it carries (");
	cr_assert(!strncmp(rejected(b, n, "", 0), want, strlen(want)), "%s", rejected(b, n, "", 0));
	b[24] ^= 0xff;

	/* structure, each with a checksum that matches */
	s = find_sect(b, S_SEGMENTS);
	b[s.at + 16 + 1] = 7; /* segment 1's in default */
	fix_trailer(b, n);
	cr_assert_str_eq(
		rejected(b, n, "", 0),
		"section 'segments', record 1: the in default 7 is neither allow nor deny");
	b[s.at + 16 + 1] = 2;
	memcpy(&v, b + s.at + 4, 4);
	v = 4000;
	memcpy(b + s.at + 4, &v, 4);
	fix_trailer(b, n);
	snprintf(want, sizeof(want), "section 'segments': 4000 records cannot fit in %llu bytes",
		 (unsigned long long)s.bytes);
	cr_assert_str_eq(rejected(b, n, "", 0), want);
	free(b);

	b = artefact_of("tests/unit/data/bind.policy", &n);
	s = find_sect(b, S_FILES);
	b[s.at + 16 + 4] = '\0'; /* the first file name's first byte */
	fix_trailer(b, n);
	cr_assert_str_eq(rejected(b, n, "", 0),
			 "section 'files', record 1: a file name holds a NUL byte");
	free(b);

	b = artefact_of("tests/unit/data/bind.policy", &n);
	s = find_sect(b, S_ORIGINS);
	v = 1000;
	memcpy(b + s.at + 16 + 4, &v, 4); /* origin 1's file */
	fix_trailer(b, n);
	cr_assert_str_eq(rejected(b, n, "", 0),
			 "section 'origins', record 1: file index 1000 is out of range (1 files)");
	free(b);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Synthetic flow-store rows for the tests of user/learn (suggest, replay). */
#ifndef XS_TEST_LEARN_ROWS_H
#define XS_TEST_LEARN_ROWS_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"

/* Day 20000 (2024-10-04) at noon UTC: every test's "now". */
#define ROWS_NOW ((int64_t)20000 * 86400 + 43200)
#define ROWS_DAY(d) ((int64_t)(20000 - (d))) /* d days before now */

struct rows {
	struct learn_set set;
	size_t cap;
};

/* A row of the flow from src to dst (IPv4 or IPv6), d days ago. */
static inline struct learn_flow *rows_add(struct rows *r, const char *src, const char *dst,
					  uint8_t proto, int32_t port, uint8_t decision, int d,
					  uint64_t conns)
{
	struct learn_flow *f;
	int af = strchr(src, ':') ? AF_INET6 : AF_INET;

	if (r->set.n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->set.v = realloc(r->set.v, r->cap * sizeof(*r->set.v));
		cr_assert(r->set.v);
	}
	f = &r->set.v[r->set.n++];
	memset(f, 0, sizeof(*f));
	f->r.family = af == AF_INET6 ? 6 : 4;
	f->r.proto = proto;
	f->r.port = port;
	f->r.decision = decision;
	f->r.day = ROWS_DAY(d);
	f->r.first_seen = f->r.day * 86400 + 3600;
	f->r.last_seen = f->r.day * 86400 + 7200;
	f->r.connections = conns;
	snprintf(f->r.rule, sizeof(f->r.rule), "test.policy:1");
	cr_assert_eq(inet_pton(af, src, f->r.src), 1, "%s", src);
	cr_assert_eq(inet_pton(af, dst, f->r.dst), 1, "%s", dst);
	return f;
}

/* An aggregate row (a day's cap): segment names only. */
static inline struct learn_flow *rows_aggregate(struct rows *r, const char *src_seg,
						const char *dst_seg, uint8_t proto,
						uint8_t decision, uint64_t conns)
{
	struct learn_flow *f = rows_add(r, "0.0.0.0", "0.0.0.0", proto, -1, decision, 0, conns);

	f->r.aggregate = 1;
	snprintf(f->r.src_segment, sizeof(f->r.src_segment), "%s", src_seg);
	snprintf(f->r.dst_segment, sizeof(f->r.dst_segment), "%s", dst_seg);
	return f;
}

static inline void rows_window(struct rows *r, int64_t since_s)
{
	r->set.now = ROWS_NOW;
	r->set.since = ROWS_NOW - since_s;
}

static inline struct xs_compiled *rows_compile(const char *path, struct xs_diags *d)
{
	struct xs_compiled *c = NULL;

	xs_diags_init(d);
	if (xs_policy_compile(path, xs_resolve_fs, NULL, &c, d)) {
		xs_diags_print(stderr, d, false);
		cr_assert_fail("%s does not compile", path);
	}
	return c;
}

#endif /* XS_TEST_LEARN_ROWS_H */

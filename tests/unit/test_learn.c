// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* user/learn: the service catalog (presets and a policy's), observations judged. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"

#define POLICY "tests/unit/learn.policy"

static void presets_path(void)
{
	setenv("XDPSEG_POLICY_PATH", "policies", 1);
}

TestSuite(learn, .init = presets_path);

static const char *port_name(const struct learn_catalog *cat, uint8_t proto, int32_t port)
{
	const struct learn_service *s = learn_port_service(cat, proto, port);

	return s ? s->name : "-";
}

Test(learn, catalog_names_ports_by_the_smallest_leaf_service)
{
	struct learn_catalog cat;
	char err[256] = "";

	cr_assert_eq(learn_catalog_load(&cat, NULL, NULL, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert(cat.presets);
	cr_assert_str_eq(port_name(&cat, IPPROTO_TCP, 1494), "ica");
	cr_assert_str_eq(port_name(&cat, IPPROTO_TCP, 2598), "cgp");
	/* three single-port services hold tcp/80: the first declared */
	cr_assert_str_eq(port_name(&cat, IPPROTO_TCP, 80), "vda-registration");
	cr_assert_str_eq(port_name(&cat, IPPROTO_TCP, 3389), "rdp");
	cr_assert_str_eq(port_name(&cat, IPPROTO_TCP, 50000), "rpc-dynamic");
	cr_assert(learn_port_service(&cat, IPPROTO_TCP, 50000)->range);
	cr_assert(!learn_port_service(&cat, IPPROTO_TCP, 1494)->range);
	cr_assert_str_eq(port_name(&cat, IPPROTO_ICMP, 8), "ping");
	cr_assert_str_eq(port_name(&cat, IPPROTO_UDP, 9999), "-");
	cr_assert_str_eq(port_name(&cat, 47, -1), "-");
	learn_catalog_free(&cat);
}

Test(learn, catalog_puts_a_policy_files_services_first)
{
	struct learn_catalog cat;
	char err[256] = "";

	cr_assert_eq(learn_catalog_load(&cat, POLICY, NULL, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(cat.n, 40);
	/* each name once, whether from the file's include or the presets */
	for (size_t i = 0; i < cat.n; i++)
		for (size_t j = i + 1; j < cat.n; j++)
			cr_assert_str_neq(cat.v[i].name, cat.v[j].name);
	learn_catalog_free(&cat);
}

Test(learn, catalog_names_a_policy_that_does_not_compile)
{
	struct learn_catalog cat;
	char err[256] = "";

	cr_assert_lt(
		learn_catalog_load(&cat, "tests/unit/no-such.policy", NULL, 0, err, sizeof(err)),
		0);
	cr_assert_str_eq(err, "tests/unit/no-such.policy: the policy does not compile (xdpseg "
			      "check tests/unit/no-such.policy)");
}

/* The running policy is read back without its services: they come from the
 * sources it keeps (a `service` of its own too), then the presets. */
Test(learn, catalog_of_a_policy_read_back_names_by_its_sources)
{
	struct xs_compiled *c = NULL, *back = NULL;
	struct learn_catalog cat;
	struct xs_diags d;
	char err[256] = "", *file = NULL;
	void *buf = NULL;
	size_t len = 0;

	xs_diags_init(&d);
	cr_assert_eq(xs_policy_compile(POLICY, xs_resolve_fs, NULL, &c, &d), 0);
	xs_diags_free(&d);
	cr_assert_eq(xs_compiled_serialize(c, POLICY, &buf, &len), 0);
	cr_assert_eq(xs_compiled_deserialize(buf, len, &back, &file, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_null(back->policy->services);
	cr_assert_eq(learn_catalog_load_compiled(&cat, back, NULL, 0, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_str_eq(port_name(&cat, IPPROTO_TCP, 8443), "farm-console");
	cr_assert_str_eq(port_name(&cat, IPPROTO_TCP, 1494), "ica");
	learn_catalog_free(&cat);
	/* with no presets on the path, the policy's own sources still name them */
	setenv("XDPSEG_POLICY_PATH", "", 1);
	cr_assert_eq(learn_catalog_load_compiled(&cat, back, NULL, 0, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert(!cat.presets);
	cr_assert_str_eq(port_name(&cat, IPPROTO_TCP, 1494), "ica");
	learn_catalog_free(&cat);
	xs_compiled_free(back);
	xs_compiled_free(c);
	free(buf);
	free(file);
}

static void row(struct learn_flow *f, const char *src, const char *dst, uint8_t proto, int32_t port)
{
	memset(f, 0, sizeof(*f));
	f->r.family = 4;
	f->r.proto = proto;
	f->r.port = port;
	cr_assert_eq(inet_pton(AF_INET, src, f->r.src), 1);
	cr_assert_eq(inet_pton(AF_INET, dst, f->r.dst), 1);
}

Test(learn, judge_decides_as_the_tables)
{
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	struct xs_tables t;
	struct learn_flow v[4];
	struct learn_set s = { .v = v, .n = 4 };

	xs_diags_init(&d);
	cr_assert_eq(xs_policy_compile(POLICY, xs_resolve_fs, NULL, &c, &d), 0);
	xs_diags_free(&d);
	xs_tables_init(&t, c);
	row(&v[0], "10.20.1.5", "10.10.10.7", IPPROTO_TCP, 1494); /* a rule */
	row(&v[1], "10.20.1.5", "10.10.10.7", IPPROTO_TCP, 445);  /* monitor: audit */
	row(&v[2], "10.10.10.7", "10.10.10.8", IPPROTO_TCP, 445); /* vda -> vda: drop */
	memset(&v[3], 0, sizeof(v[3]));
	v[3].r.aggregate = 1;
	snprintf(v[3].r.src_segment, sizeof(v[3].r.src_segment), "vda");
	snprintf(v[3].r.dst_segment, sizeof(v[3].r.dst_segment), "gone");
	learn_judge(&s, &t, 0);

	cr_assert(v[0].judged);
	cr_assert_eq(v[0].lk.d.verdict, XS_VERDICT_ALLOW);
	cr_assert(learn_by_rule(c, &v[0].lk));
	cr_assert_str_eq(xs_compiled_segment_name(c, v[0].src_seg), "clients");
	cr_assert_str_eq(xs_compiled_segment_name(c, v[0].dst_seg), "vda");
	cr_assert_eq(v[1].lk.d.verdict, XS_VERDICT_AUDIT);
	cr_assert(learn_passes(v[1].lk.d.verdict));
	cr_assert(!learn_by_rule(c, &v[1].lk));
	cr_assert_eq(v[2].lk.d.verdict, XS_VERDICT_DROP);
	cr_assert(!learn_passes(v[2].lk.d.verdict));
	cr_assert(!v[3].judged);
	cr_assert_str_eq(xs_compiled_segment_name(c, v[3].src_seg), "vda");
	cr_assert_eq(v[3].dst_seg, XS_SEG_WORLD);
	xs_compiled_free(c);
}

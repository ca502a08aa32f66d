// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/ctl/readback.c: the policy in force read back from the maps is, table
 * by table, what apply pushed (and hashes to the metadata's SHA-256); its
 * names and origins are the compiled policy's; a flow decided from it by
 * the lookups (`verify`) is decided exactly as the datapath decides a real
 * first packet of that flow (the event's verdict, reason, rule and
 * segments); the rollback of a missed commit-confirm makes the other set
 * the one in force; tracked connections are read back with their segments.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "ctl/flows.h"
#include "ctl/readback.h"
#include "harness.h"
#include "randpol.h"

static struct h H;

static void setup(void)
{
	h_open(&H);
	h_set_rate(&H, 1000000, 1000000);
}

static void teardown(void)
{
	h_close(&H);
}

TestSuite(readback, .init = setup, .fini = teardown, .timeout = 240);

static struct xs_compiled *read_ok(struct xs_readback *info)
{
	struct xs_compiled *c = NULL;
	char err[256] = "";
	int rc = xs_readback(&H.maps, &c, info, err, sizeof(err));

	cr_assert_eq(rc, 0, "xs_readback: %d: %s", rc, err);
	return c;
}

#define SAME_TABLE(a, b, f, n)                                                                     \
	do {                                                                                       \
		cr_assert_eq((a)->n, (b)->n, #f ": %zu entries read, %zu pushed", (a)->n, (b)->n); \
		cr_assert((a)->n == 0 || !memcmp((a)->f, (b)->f, (a)->n * sizeof(*(a)->f)),        \
			  #f " differs");                                                          \
	} while (0)

/* Table by table, name by name, origin by origin. */
static void same_policy(const struct xs_compiled *rb, const struct xs_compiled *c)
{
	const struct xs_policy *p = c->policy, *q = rb->policy;

	SAME_TABLE(rb, c, v4, nv4);
	SAME_TABLE(rb, c, v6, nv6);
	SAME_TABLE(rb, c, rules, nrules);
	SAME_TABLE(rb, c, seginfo, nseginfo);
	SAME_TABLE(rb, c, binds, nbinds);
	SAME_TABLE(rb, c, bind4, nbind4);
	SAME_TABLE(rb, c, bind6, nbind6);
	cr_assert(!memcmp(&rb->setinfo, &c->setinfo, sizeof(c->setinfo)));
	cr_assert(!memcmp(rb->hash, c->hash, 32));
	cr_assert_eq(q->nsegments, p->nsegments);
	cr_assert_eq(q->linklocal_seg, p->linklocal_seg);
	for (size_t i = 0; i < p->nsegments; i++) {
		cr_assert_str_eq(q->segments[i].name, p->segments[i].name);
		cr_assert_eq(q->segments[i].nprefixes, p->segments[i].nprefixes, "%s",
			     p->segments[i].name);
		cr_assert_eq(q->segments[i].loc.line, p->segments[i].loc.line);
	}
	cr_assert_eq(q->norigins, p->norigins);
	for (size_t i = 0; i < p->norigins; i++) {
		const struct xs_origin_entry *a = &q->origins[i], *b = &p->origins[i];

		cr_assert_eq(a->rule_id, b->rule_id);
		cr_assert_eq(a->kind, b->kind);
		cr_assert_eq(a->line, b->line);
		cr_assert_str_eq(a->file, b->file);
		cr_assert_eq(strncmp(a->text, b->text, XS_ORIGIN_TEXT_LEN - 1), 0, "%s / %s",
			     a->text, b->text);
	}
	cr_assert_eq(q->nbindings, p->nbindings);
	for (size_t i = 0; i < p->nbindings; i++) {
		cr_assert_str_eq(q->bindings[i].pattern, p->bindings[i].pattern);
		cr_assert_eq(q->bindings[i].seg, p->bindings[i].seg);
	}
}

static uint8_t rand_icmp_type(struct rng *r, uint8_t family)
{
	static const uint8_t v4[] = { 0, 8, 13, 17, 40, 200 };
	static const uint8_t v6[] = { 128, 129, 138, 144, 200 };

	return family == 4 ? v4[rnd(r, sizeof(v4))] : v6[rnd(r, sizeof(v6))];
}

/*
 * Random policies pushed twice over (both sets in use), read back, and random
 * first packets through XDP and TC egress: the event of each is what the
 * lookups decide from the tables read back.
 */
Test(readback, tables_and_decisions_are_the_datapaths)
{
	struct rng r = { 0x7eadbac4 };
	uint16_t sport = 1024;
	size_t flows = 0, rules = 0;

	for (int p = 0; p < 40; p++) {
		int nseg;
		char *text = rand_policy_ll(&r, &nseg);
		struct xs_readback info;
		struct xs_compiled *rb;
		struct xs_tables t;

		h_push(&H, text);
		rb = read_ok(&info);
		cr_assert_eq(info.generation, H.generation);
		cr_assert_eq(info.set, H.generation & 1);
		cr_assert(!info.rolled_back);
		cr_assert_str_eq(info.meta.file, "main.policy");
		same_policy(rb, H.c);
		xs_tables_init(&t, rb);
		for (int i = 0; i < 60; i++) {
			uint8_t family = rnd(&r, 4) ? 4 : 6, sa[16], da[16];
			char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
			struct pkt_spec s = { 0 };
			struct xs_flow f = { .family = family };
			bool egress = rnd(&r, 2);
			const struct xs_event *e;
			struct xs_lookup lk;
			struct pkt pk;

			rand_addr(&r, nseg, family, sa);
			rand_addr(&r, nseg, family, da);
			inet_ntop(family == 4 ? AF_INET : AF_INET6, sa, src, sizeof(src));
			inet_ntop(family == 4 ? AF_INET : AF_INET6, da, dst, sizeof(dst));
			s.src = src;
			s.dst = dst;
			switch (rnd(&r, 3)) {
			case 0:
				s.proto = IPPROTO_TCP;
				s.tcp_flags = TH_SYN;
				break;
			case 1:
				s.proto = IPPROTO_UDP;
				break;
			default:
				s.proto = family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
				s.icmp_type = rand_icmp_type(&r, family);
				s.icmp_id = ++sport;
				break;
			}
			if (s.proto != IPPROTO_ICMP && s.proto != IPPROTO_ICMPV6) {
				s.sport = ++sport;
				s.dport = (uint16_t)(rnd(&r, 2) ? rnd(&r, 64) : rnd(&r, 65536));
			}
			if (sport > 60000)
				sport = 1024;
			memcpy(f.saddr, sa, 16);
			memcpy(f.daddr, da, 16);
			f.proto = s.proto;
			f.dport = s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP ? s.dport
										   : s.icmp_type;
			xs_tables_decide(&t, &f, 0, &lk);

			cr_assert_eq(pkt_build(&pk, &s), 0);
			h_run(&H, egress, &pk);
			cr_assert_eq(H.nev, 1, "%zu events for a new flow", H.nev);
			e = &H.ev[0];
			cr_assert(e->verdict == lk.d.verdict && e->reason == lk.d.reason &&
					  e->rule_id == lk.d.rule_id &&
					  e->src_seg == lk.d.src_seg && e->dst_seg == lk.d.dst_seg,
				  "%s -> %s proto %u port %u: event %s/%s #%u %u->%u, lookup "
				  "%s/%s #%u %u->%u\n%s",
				  src, dst, f.proto, f.dport, xs_verdict_name(e->verdict),
				  xs_reason_name(e->reason), e->rule_id, e->src_seg, e->dst_seg,
				  xs_verdict_name(lk.d.verdict), xs_reason_name(lk.d.reason),
				  lk.d.rule_id, lk.d.src_seg, lk.d.dst_seg, text);
			/* tracked by address pair: a repeat must be new again */
			if (s.proto != IPPROTO_TCP && s.proto != IPPROTO_UDP) {
				struct xs_tuple k;

				h_tuple(&s, &k);
				xs_flow_delete(&H.maps, &k);
				h_deny_forget(&H, &s);
			}
			flows++;
			rules += lk.entry != NULL;
		}
		xs_compiled_free(rb);
		free(text);
	}
	cr_expect_gt(rules, flows / 10);
}

static const char pol_a[] = "segment a 10.1.0.0/16\n"
			    "segment b 10.2.0.0/16\n"
			    "allow a -> b : tcp/22\n";
static const char pol_b[] = "segment a 10.1.0.0/16\n"
			    "segment b 10.2.0.0/16\n"
			    "segment c 10.3.0.0/16\n"
			    "deny a -> b : tcp/22\n";

/* A commit-confirm past its deadline: the datapath decides with the set of
 * rollback_generation, and so does the read. */
Test(readback, missed_confirm_reads_the_rollback_set)
{
	struct xs_readback info;
	struct xs_compiled *rb;
	struct xs_config cfg;
	uint32_t first;

	h_push(&H, pol_a);
	first = H.generation;
	h_push(&H, pol_b);
	rb = read_ok(&info);
	cr_assert_eq(rb->policy->nsegments, 4); /* a, b, c, link-local */
	xs_compiled_free(rb);

	cfg = h_cfg(&H);
	cfg.rollback_generation = first;
	cfg.confirm_deadline_ns = xs_datapath_mono_ns(&cfg) + 3600 * XS_NS_PER_SEC;
	h_cfg_set(&H, &cfg);
	rb = read_ok(&info);
	cr_assert(!info.rolled_back, "before the deadline: the new policy");
	cr_assert_eq(info.generation, H.generation);
	xs_compiled_free(rb);

	cfg.clock_offset_ns = 2 * 3600 * (int64_t)XS_NS_PER_SEC; /* time passes */
	h_cfg_set(&H, &cfg);
	rb = read_ok(&info);
	cr_assert(info.rolled_back);
	cr_assert_eq(info.generation, first);
	cr_assert_eq(info.set, first & 1);
	cr_assert_eq(rb->policy->nsegments, 3); /* a, b, link-local */
	xs_compiled_free(rb);
}

Test(readback, nothing_applied)
{
	struct xs_compiled *c = (void *)1;
	char err[128] = "";

	cr_assert_eq(xs_readback(&H.maps, &c, NULL, err, sizeof(err)), -ENOENT);
	cr_assert_null(c);
	cr_assert_str_eq(err, "no policy is applied");
}

/* The tracked connections, with their segments and the rule that took them. */
Test(readback, tracked_connections)
{
	struct pkt_spec s = PKT_TCP("10.1.0.5", 40000, "10.2.0.9", 22, TH_SYN);
	struct xs_ct_entry *v;
	struct xs_config cfg;
	struct pkt p;
	size_t n;

	h_push(&H, pol_a);
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert(h_passed(false, h_run(&H, false, &p)));
	cfg = h_cfg(&H);
	cr_assert_eq(xs_ct_read(&H.maps, xs_datapath_mono_ns(&cfg), &v, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(v[0].v.src_seg, h_seg(&H, "a"));
	cr_assert_eq(v[0].v.dst_seg, h_seg(&H, "b"));
	cr_assert_eq(v[0].v.rule_id, h_rid(&H, 3));
	free(v);
	/* expired: left out */
	cr_assert_eq(
		xs_ct_read(&H.maps, xs_datapath_mono_ns(&cfg) + 24 * 3600 * XS_NS_PER_SEC, &v, &n),
		0);
	cr_assert_eq(n, 0);
	free(v);
}

/* ---- Overlays ------------------------------------------------------------------- */

struct one_file {
	const char *text;
};

static int one_resolve(void *ctx, const char *from, const char *name, size_t limit,
		       struct xs_file *out)
{
	const struct one_file *f = ctx;
	size_t len = strlen(f->text);

	if (from || strcmp(name, "main.policy"))
		return -ENOENT;
	if (len > limit)
		return -EFBIG;
	out->path = strdup(name);
	out->text = strdup(f->text);
	out->len = len;
	return out->path && out->text ? 0 : -ENOMEM;
}

static int64_t tai_offset(void)
{
	struct timespec tai, real;

	clock_gettime(CLOCK_TAI, &tai);
	clock_gettime(CLOCK_REALTIME, &real);
	return (int64_t)tai.tv_sec - (int64_t)real.tv_sec;
}

static const char pol_ov[] = "segment bastion 10.9.0.0/24\n"
			     "segment vda 10.10.10.0/24\n"
			     "segment clients 10.20.0.0/16\n"
			     "allow clients -> vda : tcp/1494\n"
			     "quarantine forensic bastion : tcp/22\n";

/* A decision the lookups make from the tables read back, and the event of
 * a real first packet of that flow. */
static void same_as_datapath(const struct xs_tables *t, uint64_t now_tai, const char *src,
			     const char *dst, uint16_t dport, uint8_t reason)
{
	struct pkt_spec s = PKT_TCP(src, 40000 + dport, dst, dport, TH_SYN);
	struct xs_flow f = { .family = 4, .proto = IPPROTO_TCP, .dport = dport };
	const struct xs_event *e;
	struct xs_lookup lk;
	struct pkt p;

	pkt_addr(src, f.saddr);
	pkt_addr(dst, f.daddr);
	xs_tables_decide(t, &f, now_tai, &lk);
	cr_assert_eq(lk.d.reason, reason, "%s -> %s tcp/%u: %s, expected %s", src, dst, dport,
		     xs_reason_name(lk.d.reason), xs_reason_name(reason));
	cr_assert_eq(pkt_build(&p, &s), 0);
	h_run(&H, false, &p);
	cr_assert_eq(H.nev, 1);
	e = &H.ev[0];
	cr_assert(e->verdict == lk.d.verdict && e->reason == lk.d.reason &&
			  e->rule_id == lk.d.rule_id && e->src_seg == lk.d.src_seg &&
			  e->dst_seg == lk.d.dst_seg,
		  "%s -> %s tcp/%u: event %s/%s #%u %u->%u, lookup %s/%s #%u %u->%u", src, dst,
		  dport, xs_verdict_name(e->verdict), xs_reason_name(e->reason), e->rule_id,
		  e->src_seg, e->dst_seg, xs_verdict_name(lk.d.verdict),
		  xs_reason_name(lk.d.reason), lk.d.rule_id, lk.d.src_seg, lk.d.dst_seg);
}

/* A quarantine (forensic by the policy's declaration), a grant and a
 * failsafe port, compiled with the policy: read back with their records,
 * derived segments and entries, the hash (which covers the records) the
 * same, and every decision the datapath's. */
Test(readback, overlays)
{
	uint64_t now = (uint64_t)time(NULL);
	struct xs_overlay_in ov[] = {
		{ .number = 1,
		  .kind = XS_OVERLAY_QUARANTINE,
		  .created = now,
		  .text = "quarantine 10.10.10.11",
		  .reason = "incident 42" },
		{ .number = 2,
		  .kind = XS_OVERLAY_GRANT,
		  .created = now,
		  .expires = now + 3600,
		  .text = "grant bastion -> 10.10.10.12 : tcp/3389",
		  .reason = "" },
	};
	struct xs_failsafe_in fs = { .text = "10.10.10.13 : tcp/22",
				     .file = "xdpseg.conf",
				     .line = 3 };
	struct xs_compile_opts o = { .overlays = ov,
				     .noverlays = 2,
				     .failsafe = &fs,
				     .nfailsafe = 1,
				     .now = now,
				     .tai_offset = tai_offset() };
	struct one_file mf = { pol_ov };
	struct xs_compiled *c = NULL, *rb;
	struct xs_readback info;
	struct xs_tables t;
	struct xs_diags d;
	struct xs_config cfg;
	uint64_t tai;
	bool derived = false;

	xs_diags_init(&d);
	cr_assert_eq(xs_policy_compile_opts("main.policy", one_resolve, &mf, &o, &c, &d), 0);
	xs_diags_free(&d);
	h_push_c(&H, c);
	rb = read_ok(&info);
	same_policy(rb, H.c);
	cr_assert_eq(rb->noverlays, 2);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(rb->overlays[i].rule_id, H.c->overlays[i].rule_id);
		cr_assert(!memcmp(&rb->overlays[i].rec, &H.c->overlays[i].rec,
				  sizeof(rb->overlays[i].rec)));
	}
	cr_assert_str_eq(rb->overlays[0].rec.reason, "incident 42");
	for (size_t i = 0; i < rb->policy->nsegments; i++)
		derived |= !strcmp(rb->policy->segments[i].name, "vda[10.10.10.11]");
	cr_assert(derived, "the quarantined address is a derived segment");
	cr_assert_eq(xs_compiled_origin(rb, rb->overlays[0].rule_id)->kind, XS_ORIGIN_QUARANTINE);

	cfg = h_cfg(&H);
	tai = xs_datapath_tai_s(&cfg);
	xs_tables_init(&t, rb);
	same_as_datapath(&t, tai, "10.20.0.1", "10.10.10.11", 1494, XS_REASON_QUARANTINE);
	same_as_datapath(&t, tai, "10.9.0.5", "10.10.10.11", 22, XS_REASON_FORENSIC);
	same_as_datapath(&t, tai, "10.9.0.5", "10.10.10.11", 23, XS_REASON_QUARANTINE);
	same_as_datapath(&t, tai, "10.9.0.5", "10.10.10.12", 3389, XS_REASON_GRANT);
	same_as_datapath(&t, tai, "10.20.0.1", "10.10.10.13", 22, XS_REASON_FAILSAFE);
	same_as_datapath(&t, tai, "10.20.0.1", "10.10.10.12", 1494, XS_REASON_RULE);

	/* two hours later the grant has ended: the entry it covered decides */
	cfg.clock_offset_ns = 2 * 3600 * (int64_t)XS_NS_PER_SEC;
	h_cfg_set(&H, &cfg);
	same_as_datapath(&t, xs_datapath_tai_s(&cfg), "10.9.0.5", "10.10.10.12", 3389,
			 XS_REASON_DEFAULT_IN);
	xs_compiled_free(rb);
}

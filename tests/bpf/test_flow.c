// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flow table (bpf/lib/flow.h) under pressure and across CPUs: flows
 * chosen to land in one or two buckets (the userspace hash is the
 * datapath's, include/xdpseg_flow.h), run from two threads pinned to two
 * CPUs at once. Afterwards every bucket must hold each flow at most once,
 * every entry whole (its rule the one its port's rule, its state its
 * protocol's), and a tracked flow read without the lock while the other
 * CPU rewrites its bucket must never be missed.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctl/flows.h"
#include "ctl/readback.h"
#include "harness.h"
#include "xdpseg_flow.h"

static struct h H;

static void setup(void)
{
	h_open(&H);
}

static void teardown(void)
{
	h_close(&H);
}

TestSuite(flow, .init = setup, .fini = teardown);

#define SEED 0x5eed1234U

/* Lines 3 and 4: a flow's rule follows from its port. */
static const char policy[] = "segment a 10.1.0.0/16, fd00:1::/64\n"
			     "segment b 10.2.0.0/16, fd00:2::/64\n"
			     "allow a -> b : udp/53, tcp/443\n"
			     "allow a -> b : udp/5353\n";

#define NFLOWS 12
struct flowset {
	struct pkt_spec spec[NFLOWS];
	struct pkt pkt[NFLOWS];
	struct xs_tuple key[NFLOWS];
	char src[NFLOWS][64];
	__u32 bucket[2];
};

static void use_seed(void)
{
	struct xs_config cfg = h_cfg(&H);

	cfg.flow_seed = SEED;
	h_cfg_set(&H, &cfg);
}

/* NFLOWS UDP flows from a to b, half of them in each of two buckets. */
static void make_flows(struct flowset *fs, bool v6)
{
	size_t n[2] = { 0, 0 };

	fs->bucket[0] = fs->bucket[1] = ~0U;
	for (unsigned int i = 0; n[0] + n[1] < NFLOWS; i++) {
		char src[64];
		struct pkt_spec s;
		struct xs_tuple k;
		__u32 b;
		int slot;

		cr_assert_lt(i, 50000000, "no two buckets with enough flows");
		if (v6)
			snprintf(src, sizeof(src), "fd00:1::%x:%x", (i >> 16) + 1, i & 0xffff);
		else
			snprintf(src, sizeof(src), "10.1.%u.%u", (i >> 8) & 0xff, i & 0xff);
		s = PKT_UDP(src, (uint16_t)(10000 + (i >> 16)), v6 ? "fd00:2::1" : "10.2.0.1",
			    (i & 1) ? 5353 : 53);
		h_tuple(&s, &k);
		b = xs_flow_bucket(SEED, &k);
		if (fs->bucket[0] == ~0U)
			fs->bucket[0] = b;
		else if (fs->bucket[1] == ~0U && b != fs->bucket[0])
			fs->bucket[1] = b;
		slot = b == fs->bucket[0] ? 0 : b == fs->bucket[1] ? 1 : -1;
		if (slot < 0 || n[slot] == NFLOWS / 2)
			continue;
		snprintf(fs->src[n[0] + n[1]], sizeof(fs->src[0]), "%s", src);
		s.src = fs->src[n[0] + n[1]];
		fs->spec[n[0] + n[1]] = s;
		fs->key[n[0] + n[1]] = k;
		cr_assert_eq(pkt_build(&fs->pkt[n[0] + n[1]], &s), 0);
		n[slot]++;
	}
}

struct runner {
	int prog, cpu, iters;
	const struct pkt *pkt;
	size_t npkt;
	int passed, errors;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;
	uint8_t out[PKT_MAX + 256];
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		r->errors++;
		return NULL;
	}
	for (int i = 0; i < r->iters; i++) {
		const struct pkt *p = &r->pkt[((size_t)i * 7 + (size_t)r->cpu) % r->npkt];
		struct xdp_md ctx = { .data_end = (__u32)p->len, .ingress_ifindex = 1 };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
			    .data_size_in = (__u32)p->len, .data_out = out,
			    .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

		if (bpf_prog_test_run_opts(r->prog, &opts))
			r->errors++;
		else if (opts.retval == XDP_PASS)
			r->passed++;
	}
	return NULL;
}

/* Run two runners at once, on CPUs 0 and 1. */
static void run_both(struct runner r[2])
{
	pthread_t t[2];

	if (libbpf_num_possible_cpus() < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("two CPUs needed");
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, run_thread, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(r[i].errors, 0, "CPU %d: %d runs failed", r[i].cpu, r[i].errors);
}

/* Read bucket `b` of the family's table under its lock. */
static void read_bucket(bool v6, __u32 b, void *buf)
{
	cr_assert_eq(
		bpf_map_lookup_elem_flags(v6 ? H.maps.flow6 : H.maps.flow4, &b, buf, BPF_F_LOCK), 0,
		"bucket %u: %s", b, strerror(errno));
}

static const struct xs_flow_hdr *bucket_way(bool v6, const void *buf, int w)
{
	size_t esize = v6 ? sizeof(struct xs_flow6) : sizeof(struct xs_flow4);

	return (const struct xs_flow_hdr *)((const char *)buf + 8 + (size_t)w * esize);
}

/* Which of fs's flows entry `h` of bucket `b` is (-1: none). */
static int which_flow(const struct flowset *fs, bool v6, const struct xs_flow_hdr *h)
{
	const __u8 *a = (const __u8 *)(h + 1);
	size_t alen = v6 ? 16 : 4;

	for (int i = 0; i < NFLOWS; i++) {
		const struct xs_tuple *k = &fs->key[i];

		if (!memcmp(a, k->addr_a, alen) && !memcmp(a + alen, k->addr_b, alen) &&
		    h->port_a == k->port_a && h->port_b == k->port_b && h->proto == k->proto)
			return i;
	}
	return -1;
}

struct count_ctx {
	size_t n;
	__u32 outside;
	const struct flowset *fs;
};

static int count_entry(const struct xs_tuple *k, const struct xs_flow_hdr *h, void *arg)
{
	struct count_ctx *c = arg;
	__u32 b = xs_flow_bucket(SEED, k);

	(void)h;
	c->n++;
	if (b != c->fs->bucket[0] && b != c->fs->bucket[1])
		c->outside++;
	return 0;
}

static void concurrent_writers(bool v6)
{
	struct flowset fs;
	struct runner r[2];
	uint32_t rid[2];
	struct count_ctx cc = { .fs = &fs };
	int seen[NFLOWS] = { 0 }, total = 0;
	struct xs_flow6_bucket buf;

	use_seed();
	h_push(&H, policy);
	rid[0] = h_rid(&H, 3);
	rid[1] = h_rid(&H, 4);
	make_flows(&fs, v6);
	for (int i = 0; i < 2; i++)
		r[i] = (struct runner){
			.prog = H.prog_xdp, .cpu = i, .iters = 40000, .pkt = fs.pkt, .npkt = NFLOWS
		};
	run_both(r);
	cr_assert_eq(r[0].passed + r[1].passed, r[0].iters + r[1].iters,
		     "allowed flows dropped: %d + %d of %d", r[0].passed, r[1].passed,
		     r[0].iters + r[1].iters);
	for (int bi = 0; bi < 2; bi++) {
		read_bucket(v6, fs.bucket[bi], &buf);
		cr_assert_eq(buf.seq & 1, 0, "bucket %u left mid-write (seq %u)", fs.bucket[bi],
			     buf.seq);
		for (int w = 0; w < XS_FLOW_WAYS; w++) {
			const struct xs_flow_hdr *h = bucket_way(v6, &buf, w);
			int f;

			if (!h->state)
				continue;
			f = which_flow(&fs, v6, h);
			cr_assert_geq(f, 0, "bucket %u way %d holds a flow nobody sent",
				      fs.bucket[bi], w);
			seen[f]++;
			total++;
			cr_assert_eq(seen[f], 1, "flow %s held twice", fs.src[f]);
			cr_assert_eq(h->state, XS_CT_UDP, "flow %s: state %u", fs.src[f], h->state);
			cr_assert_eq(h->rule_id, rid[fs.spec[f].dport == 5353],
				     "flow %s to port %u: rule %u", fs.src[f], fs.spec[f].dport,
				     h->rule_id);
			cr_assert_eq(h->generation, 1);
			cr_assert_eq(h->reason, XS_REASON_RULE);
		}
	}
	/* two buckets of 3 ways, 6 flows each: both full, and every slot
	 * changed hands (evictions) many times */
	cr_assert_eq(total, 2 * XS_FLOW_WAYS, "%d entries in the two buckets", total);
	cr_assert_gt(h_stat(&H, XS_STAT_FLOW_EVICTED).packets, 1000, "evictions %llu",
		     (unsigned long long)h_stat(&H, XS_STAT_FLOW_EVICTED).packets);
	/* and nothing anywhere else: both sides agree on the buckets */
	cr_assert_eq(xs_flows_scan(&H.maps, count_entry, &cc), 0);
	cr_assert_eq(cc.n, (size_t)total, "%zu entries in the tables", cc.n);
	cr_assert_eq(cc.outside, 0);
}

Test(flow, concurrent_writers_ipv4)
{
	concurrent_writers(false);
}

Test(flow, concurrent_writers_ipv6)
{
	concurrent_writers(true);
}

/*
 * One CPU reads an established TCP flow without the lock, again and again,
 * while the other CPU churns UDP flows through the same bucket (evicting
 * one another, never the established flow, which expires last): every one
 * of the reader's packets must be found, none decided anew.
 */
static void reader_vs_writer(bool v6)
{
	const char *src = v6 ? "fd00:1::77" : "10.1.7.7", *dst = v6 ? "fd00:2::1" : "10.2.0.1";
	struct pkt_spec syn = PKT_TCP(src, 40000, dst, 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP(dst, 443, src, 40000, TH_SYN | TH_ACK);
	struct pkt_spec ack = PKT_TCP(src, 40000, dst, 443, TH_ACK);
	struct pkt_spec cand;
	struct xs_tuple est, k;
	struct pkt ackp, churn[8];
	char srcs[8][64];
	struct xs_rule_counter rc;
	struct runner r[2];
	uint64_t before;
	__u32 b;
	int n = 0;

	use_seed();
	h_push(&H, policy);
	cr_assert(h_passed(false, h_send(&H, false, &syn)));
	cr_assert(h_passed(false, h_send(&H, false, &synack)));
	h_tuple(&syn, &est);
	b = xs_flow_bucket(SEED, &est);
	for (unsigned int i = 0; n < 8; i++) {
		cr_assert_lt(i, 50000000);
		if (v6)
			snprintf(srcs[n], sizeof(srcs[n]), "fd00:1::%x:%x", (i >> 16) + 1,
				 i & 0xffff);
		else
			snprintf(srcs[n], sizeof(srcs[n]), "10.1.%u.%u", 100 + ((i >> 8) & 0x7f),
				 i & 0xff);
		cand = PKT_UDP(srcs[n], (uint16_t)(20000 + (i >> 15)), dst, 5353);
		h_tuple(&cand, &k);
		if (xs_flow_bucket(SEED, &k) != b)
			continue;
		cr_assert_eq(pkt_build(&churn[n], &cand), 0);
		n++;
	}
	cr_assert_eq(pkt_build(&ackp, &ack), 0);
	before = h_rstat(&H, h_rid(&H, 3)).flows;
	r[0] = (struct runner){
		.prog = H.prog_xdp, .cpu = 0, .iters = 60000, .pkt = &ackp, .npkt = 1
	};
	r[1] = (struct runner){
		.prog = H.prog_xdp, .cpu = 1, .iters = 60000, .pkt = churn, .npkt = 8
	};
	run_both(r);
	cr_assert_eq(r[0].passed, r[0].iters);
	/* a packet not found would be decided anew (picked up mid-stream): a
	 * new flow of its rule (the churn has its own rule, line 4) */
	rc = h_rstat(&H, h_rid(&H, 3));
	cr_assert_eq(rc.flows, before, "established packets decided anew: %llu of %d",
		     (unsigned long long)(rc.flows - before), r[0].iters);
	cr_assert_geq(rc.packets, (uint64_t)r[0].iters);
	cr_assert_gt(h_stat(&H, XS_STAT_FLOW_EVICTED).packets, 1000);
}

Test(flow, lockless_reader_never_misses_ipv4)
{
	reader_vs_writer(false);
}

Test(flow, lockless_reader_never_misses_ipv6)
{
	reader_vs_writer(true);
}

/* A full bucket: the fourth flow takes the slot that expires first, and
 * `status` sees the pressure (live entries, one eviction). */
Test(flow, full_bucket_evicts_soonest_expiry_and_counts_it)
{
	struct flowset fs;
	struct xs_flow_stats st;
	struct xs_config cfg;
	struct xs_ct_val ct;
	int in_bucket = 0;

	use_seed();
	h_push(&H, policy);
	make_flows(&fs, false);
	/* the first three flows of bucket 0, then the fourth */
	for (int i = 0, sent = 0; i < NFLOWS && sent < 4; i++) {
		if (xs_flow_bucket(SEED, &fs.key[i]) != fs.bucket[0])
			continue;
		cr_assert(h_passed(false, h_run(&H, false, &fs.pkt[i])));
		sent++;
		in_bucket = i;
	}
	cr_assert_eq(h_stat(&H, XS_STAT_FLOW_EVICTED).packets, 1);
	cr_assert_eq(h_ct_lookup(&H, &fs.spec[in_bucket], NULL, &ct), 0, "the newest flow is in");
	cfg = h_cfg(&H);
	cr_assert_eq(xs_flows_stats(&H.maps, xs_datapath_mono_ns(&cfg), &st), 0);
	cr_assert_eq(st.live4, 3);
	cr_assert_eq(st.live6, 0);
	cr_assert_eq(st.evicted, 1);
	cr_assert_eq(st.slots4, (uint64_t)XS_FLOW4_BUCKETS * XS_FLOW_WAYS);
}

/* A remembered denial takes a free slot but never a live flow's. */
Test(flow, denial_never_displaces_a_live_flow)
{
	struct flowset fs;
	struct pkt_spec bad;
	struct xs_tuple k;
	struct pkt p;
	char src[64];
	int sent = 0, first = -1;

	use_seed();
	h_push(&H, policy);
	make_flows(&fs, false);
	for (int i = 0; i < NFLOWS && sent < 3; i++) {
		if (xs_flow_bucket(SEED, &fs.key[i]) != fs.bucket[0])
			continue;
		cr_assert(h_passed(false, h_run(&H, false, &fs.pkt[i])));
		sent++;
		if (first < 0)
			first = i;
	}
	/* a denied UDP tuple (port 9) of the same bucket */
	for (unsigned int i = 0;; i++) {
		cr_assert_lt(i, 50000000);
		snprintf(src, sizeof(src), "10.1.200.%u", i & 0xff);
		bad = PKT_UDP(src, (uint16_t)(30000 + (i >> 8)), "10.2.0.1", 9);
		h_tuple(&bad, &k);
		if (xs_flow_bucket(SEED, &k) == fs.bucket[0])
			break;
	}
	cr_assert_eq(pkt_build(&p, &bad), 0);
	cr_assert(!h_passed(false, h_run(&H, false, &p)));
	cr_assert_eq(h_deny_count(&H), 0, "a denial displaced a live flow");
	cr_assert_eq(h_ct_count(&H), 3);
	cr_assert_eq(h_stat(&H, XS_STAT_FLOW_EVICTED).packets, 0);
	/* with a free slot, the denial is remembered */
	cr_assert_eq(xs_flow_delete(&H.maps, &fs.key[first]), 0);
	cr_assert(!h_passed(false, h_run(&H, false, &p)));
	cr_assert_eq(h_deny_count(&H), 1);
}

/* Move the datapath's clocks forward by `s` seconds. */
static void advance(int s)
{
	struct xs_config cfg = h_cfg(&H);

	cfg.clock_offset_ns += (__s64)s * (__s64)XS_NS_PER_SEC;
	h_cfg_set(&H, &cfg);
}

/* A TCP connection through its states in the flow table: SYN_SENT (30 s),
 * ESTABLISHED on the reply (6 h), CLOSING on one FIN (120 s), CLOSED on the
 * other (10 s), gone after that: a late packet is decided again. */
static void tcp_states(bool v6)
{
	const char *a = v6 ? "fd00:1::5" : "10.1.0.5", *b = v6 ? "fd00:2::9" : "10.2.0.9";
	struct pkt_spec syn = PKT_TCP(a, 40000, b, 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP(b, 443, a, 40000, TH_SYN | TH_ACK);
	struct pkt_spec ack = PKT_TCP(a, 40000, b, 443, TH_ACK);
	struct pkt_spec fin_a = PKT_TCP(a, 40000, b, 443, TH_FIN | TH_ACK);
	struct pkt_spec fin_b = PKT_TCP(b, 443, a, 40000, TH_FIN | TH_ACK);
	struct pkt_spec rst = PKT_TCP(b, 443, a, 40000, TH_RST);
	struct xs_ct_val ct;
	struct xs_config cfg;
	uint64_t now;

	h_push(&H, policy);
	h_check(&H, false, &syn, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	cr_assert_eq(h_ct_lookup(&H, &syn, NULL, &ct), 0);
	cfg = h_cfg(&H);
	now = xs_datapath_mono_ns(&cfg);
	cr_assert_eq(ct.state, XS_CT_SYN_SENT);
	cr_assert(ct.expires_ns > now + 28 * XS_NS_PER_SEC &&
		  ct.expires_ns <= now + 31 * XS_NS_PER_SEC);
	h_check(&H, true, &synack, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	cr_assert_eq(h_ct_lookup(&H, &syn, NULL, &ct), 0);
	cr_assert_eq(ct.state, XS_CT_ESTABLISHED);
	cr_assert(ct.flags & XS_CTF_REPLIED);
	cr_assert(ct.expires_ns > now + 5 * 3600 * XS_NS_PER_SEC);
	h_check(&H, false, &ack, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	h_check(&H, false, &fin_a, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	cr_assert_eq(h_ct_lookup(&H, &syn, NULL, &ct), 0);
	cr_assert_eq(ct.state, XS_CT_CLOSING);
	cr_assert(ct.expires_ns <= now + 121 * XS_NS_PER_SEC);
	h_check(&H, true, &fin_b, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	cr_assert_eq(h_ct_lookup(&H, &syn, NULL, &ct), 0);
	cr_assert_eq(ct.state, XS_CT_CLOSED);
	cr_assert(ct.expires_ns <= now + 11 * XS_NS_PER_SEC);
	/* past CLOSED's 10 s the entry is dead: the reply side's late ACK is
	 * a new packet to decide (b -> a is not allowed: reversed, picked up) */
	advance(12);
	h_check(&H, true, &PKT_TCP(b, 443, a, 40000, TH_ACK), XS_VERDICT_ALLOW, XS_REASON_RULE,
		h_rid(&H, 3));
	/* and an RST closes at once */
	cr_assert_eq(h_ct_lookup(&H, &syn, NULL, &ct), 0);
	cr_assert_eq(ct.state, XS_CT_ESTABLISHED, "picked up mid-stream: %u", ct.state);
	h_check(&H, true, &rst, XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0);
	cr_assert_eq(h_ct_lookup(&H, &syn, NULL, &ct), 0);
	cr_assert_eq(ct.state, XS_CT_CLOSED);
}

Test(flow, tcp_states_ipv4)
{
	tcp_states(false);
}

Test(flow, tcp_states_ipv6)
{
	tcp_states(true);
}

/* A half-open connection lasts 30 s: a SYN-ACK after that is decided anew. */
Test(flow, half_open_expires)
{
	struct pkt_spec syn = PKT_TCP("10.1.0.5", 40001, "10.2.0.9", 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40001, TH_SYN | TH_ACK);

	h_push(&H, policy);
	h_check(&H, false, &syn, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
	advance(32);
	h_check(&H, true, &synack, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 3));
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow accounting and flow-end records (include/xdpseg.h, "Flow
 * accounting", struct xs_flow_end): every tracked flow counts packets and
 * bytes each way, exactly (frames as the hook saw them), from its first
 * packet; the datapath sends an end record when it ends a flow itself (TCP's
 * close, a revoke after an apply, a grant's end, a new flow taking its
 * entry) with the exact counts; a reused slot starts from zero, whatever
 * counted into it before and on whichever CPU; userspace reads the same
 * counts (xs_flow_get) and reports what timed out (xs_flow_timed_out); a
 * flood of evictions costs at most its token bucket's records.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

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

TestSuite(flowrec, .init = setup, .fini = teardown);

/* Line 3 accepts every flow of these tests. */
static const char policy[] = "segment a 10.1.0.0/16, fd00:1::/64\n"
			     "segment b 10.2.0.0/16, fd00:2::/64\n"
			     "allow a -> b : tcp/443, udp/53\n";

/* The same without the rule: a re-decided flow of it is dropped. */
static const char policy_without[] = "segment a 10.1.0.0/16, fd00:1::/64\n"
				     "segment b 10.2.0.0/16, fd00:2::/64\n"
				     "allow a -> b : tcp/80\n";

#define SEED 0x5eed1234U

/* What one direction of a flow sent. */
struct tally {
	uint64_t packets, bytes;
};

/* Send `s` (XDP ingress, or TC egress), assert it passed and made no flow-end
 * record, and add it to `t`. */
static void send_ok(bool egress, const struct pkt_spec *s, struct tally *t)
{
	struct pkt p;

	cr_assert_eq(pkt_build(&p, s), 0);
	cr_assert(h_passed(egress, h_run(&H, egress, &p)), "%s -> %s:%u dropped", s->src, s->dst,
		  s->dport);
	cr_assert_eq(H.nfe, 0, "a flow-end record (cause %u) for a packet that ends nothing",
		     H.nfe ? H.fe[0].cause : 0);
	if (t) {
		t->packets++;
		t->bytes += p.len;
	}
}

/* The datapath's clock now. */
static uint64_t now_ns(void)
{
	struct xs_config cfg = h_cfg(&H);

	return xs_datapath_mono_ns(&cfg);
}

static void advance(int64_t secs)
{
	struct xs_config cfg = h_cfg(&H);

	cfg.clock_offset_ns += secs * (int64_t)XS_NS_PER_SEC;
	h_cfg_set(&H, &cfg);
}

/* The entry of `s`'s flow counted exactly `i` from its initiator and `r` back. */
static void expect_counts(const struct pkt_spec *s, const struct tally *i, const struct tally *r)
{
	struct xs_flow_entry e;

	cr_assert_eq(h_flow_get(&H, s, &e), 0, "no entry for %s -> %s", s->src, s->dst);
	cr_assert_eq(e.packets[0], i->packets, "initiator's packets %llu, sent %llu",
		     (unsigned long long)e.packets[0], (unsigned long long)i->packets);
	cr_assert_eq(e.bytes[0], i->bytes, "initiator's bytes %llu, sent %llu",
		     (unsigned long long)e.bytes[0], (unsigned long long)i->bytes);
	cr_assert_eq(e.packets[1], r->packets, "responder's packets %llu, sent %llu",
		     (unsigned long long)e.packets[1], (unsigned long long)r->packets);
	cr_assert_eq(e.bytes[1], r->bytes, "responder's bytes %llu, sent %llu",
		     (unsigned long long)e.bytes[1], (unsigned long long)r->bytes);
}

static void expect_rec_counts(const struct xs_flow_end *r, const struct tally *i,
			      const struct tally *b)
{
	cr_assert_eq(r->packets[0], i->packets, "record: initiator's packets %llu, sent %llu",
		     (unsigned long long)r->packets[0], (unsigned long long)i->packets);
	cr_assert_eq(r->bytes[0], i->bytes, "record: initiator's bytes %llu, sent %llu",
		     (unsigned long long)r->bytes[0], (unsigned long long)i->bytes);
	cr_assert_eq(r->packets[1], b->packets, "record: responder's packets %llu, sent %llu",
		     (unsigned long long)r->packets[1], (unsigned long long)b->packets);
	cr_assert_eq(r->bytes[1], b->bytes, "record: responder's bytes %llu, sent %llu",
		     (unsigned long long)r->bytes[1], (unsigned long long)b->bytes);
}

/* A TCP connection with data both ways, closed by FIN both ways: one record
 * at the second FIN, with every packet and byte each way; the last ACK is
 * still counted in the entry, after the record, which it does not repeat. */
static void tcp_fin(bool v6)
{
	const char *a = v6 ? "fd00:1::5" : "10.1.0.5", *b = v6 ? "fd00:2::9" : "10.2.0.9";
	struct pkt_spec syn = PKT_TCP(a, 40000, b, 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP(b, 443, a, 40000, TH_SYN | TH_ACK);
	struct pkt_spec ack = PKT_TCP(a, 40000, b, 443, TH_ACK);
	struct pkt_spec req = PKT_TCP(a, 40000, b, 443, TH_ACK | TH_PSH);
	struct pkt_spec resp = PKT_TCP(b, 443, a, 40000, TH_ACK | TH_PSH);
	struct pkt_spec fin_a = PKT_TCP(a, 40000, b, 443, TH_FIN | TH_ACK);
	struct pkt_spec fin_b = PKT_TCP(b, 443, a, 40000, TH_FIN | TH_ACK);
	struct tally ti = { 0 }, tr = { 0 };
	const struct xs_flow_end *r;
	struct xs_flow_entry e;
	uint64_t before, after;
	struct pkt p;

	h_push(&H, policy);
	before = now_ns();
	send_ok(false, &syn, &ti);
	after = now_ns();
	send_ok(true, &synack, &tr);
	send_ok(false, &ack, &ti);
	req.payload = 100;
	send_ok(false, &req, &ti);
	req.payload = 1000;
	send_ok(false, &req, &ti);
	resp.payload = 1400;
	send_ok(true, &resp, &tr);
	resp.payload = 7;
	send_ok(true, &resp, &tr);
	expect_counts(&syn, &ti, &tr);
	cr_assert_eq(h_flow_get(&H, &syn, &e), 0);
	cr_assert(e.start_ns >= before && e.start_ns <= after, "start %llu not in [%llu, %llu]",
		  (unsigned long long)e.start_ns, (unsigned long long)before,
		  (unsigned long long)after);
	cr_assert_eq(e.ifindex, H_IFINDEX);
	cr_assert_eq(e.h.flags & (XS_CTF_EGRESS | XS_CTF_ENDED), 0,
		     "first seen at XDP ingress, not ended: flags 0x%x", e.h.flags);

	send_ok(false, &fin_a, &ti);
	cr_assert_eq(pkt_build(&p, &fin_b), 0);
	cr_assert(h_passed(true, h_run(&H, true, &p)));
	tr.packets++;
	tr.bytes += p.len;
	r = h_flowrec(&H, &syn, XS_FLOW_END_FIN);
	cr_assert_str_eq(xs_flow_cause_name(r->cause), "fin");
	expect_rec_counts(r, &ti, &tr);
	cr_assert_eq(r->start_ns, e.start_ns);
	cr_assert(r->end_ns >= r->start_ns && r->end_ns <= now_ns(), "end %llu",
		  (unsigned long long)r->end_ns);
	cr_assert_eq(r->ifindex, H_IFINDEX);
	cr_assert_eq(r->generation, H.generation);
	cr_assert_eq(r->rule_id, h_rid(&H, 3));
	cr_assert_eq(r->reason, XS_REASON_RULE);
	cr_assert_eq(r->src_seg, h_seg(&H, "a"));
	cr_assert_eq(r->dst_seg, h_seg(&H, "b"));
	cr_assert_eq(r->state, XS_CT_CLOSED);
	cr_assert_eq(r->flags & (XS_CTF_ENDED | XS_CTF_REPLIED | XS_CTF_FIN_A | XS_CTF_FIN_B),
		     XS_CTF_ENDED | XS_CTF_REPLIED | XS_CTF_FIN_A | XS_CTF_FIN_B, "flags 0x%x",
		     r->flags);
	cr_assert_eq(r->stamp, e.h.stamp);
	cr_assert_eq(h_stat(&H, XS_STAT_FLOWREC_SENT).packets, 1);

	/* the last ACK: counted, no second record; the entry says it ended */
	send_ok(false, &ack, &ti);
	expect_counts(&syn, &ti, &tr);
	cr_assert_eq(h_flow_get(&H, &syn, &e), 0);
	cr_assert(e.h.flags & XS_CTF_ENDED);
	cr_assert(!xs_flow_timed_out(&e, now_ns() + XS_CT_TCP_CLOSE_TIMEOUT + XS_NS_PER_SEC),
		  "an ended flow timed out for userspace to report again");
	cr_assert_eq(h_stat(&H, XS_STAT_FLOWREC_SENT).packets, 1);
}

Test(flowrec, tcp_fin_both_ways_ipv4)
{
	tcp_fin(false);
}

Test(flowrec, tcp_fin_both_ways_ipv6)
{
	tcp_fin(true);
}

/* A refused connection: the responder's RST ends it. */
Test(flowrec, tcp_rst)
{
	struct pkt_spec syn = PKT_TCP("10.1.0.5", 40001, "10.2.0.9", 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40001, TH_SYN | TH_ACK);
	struct pkt_spec rst = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40001, TH_RST | TH_ACK);
	struct tally ti = { 0 }, tr = { 0 };
	const struct xs_flow_end *r;
	struct pkt p;

	h_push(&H, policy);
	send_ok(false, &syn, &ti);
	send_ok(false, &syn, &ti); /* retransmitted */
	send_ok(true, &synack, &tr);
	cr_assert_eq(pkt_build(&p, &rst), 0);
	cr_assert(h_passed(true, h_run(&H, true, &p)));
	tr.packets++;
	tr.bytes += p.len;
	r = h_flowrec(&H, &syn, XS_FLOW_END_RST);
	expect_rec_counts(r, &ti, &tr);
	cr_assert_eq(r->state, XS_CT_CLOSED);
	/* a second RST ends nothing more */
	send_ok(true, &rst, &tr);
	expect_counts(&syn, &ti, &tr);
}

/*
 * UDP, both ways, exact; the responder's direction counts from its first
 * reply. Past its timeout, userspace sees it timed out and makes the record
 * the datapath would; a new flow of the same tuple then takes the entry:
 * the datapath sends that timeout itself (end: the expiry), and the new flow
 * counts from zero with the slot's next stamp.
 */
static void udp_timeout(bool v6)
{
	const char *a = v6 ? "fd00:1::7" : "10.1.0.7", *b = v6 ? "fd00:2::1" : "10.2.0.1";
	struct pkt_spec q = PKT_UDP(a, 5353, b, 53);
	struct pkt_spec ans = PKT_UDP(b, 53, a, 5353);
	struct tally ti = { 0 }, tr = { 0 }, ni = { 0 }, none = { 0 };
	struct xs_flow_entry e, e2;
	const struct xs_flow_end *r;
	struct xs_flow_end mine;
	struct pkt p;

	h_push(&H, policy);
	q.payload = 31;
	send_ok(false, &q, &ti);
	expect_counts(&q, &ti, &none);
	q.payload = 45;
	send_ok(true, &q, &ti); /* the same flow at the other hook */
	ans.payload = 300;
	send_ok(true, &ans, &tr);
	ans.payload = 1200;
	send_ok(false, &ans, &tr);
	send_ok(false, &ans, &tr);
	expect_counts(&q, &ti, &tr);
	cr_assert_eq(h_flow_get(&H, &q, &e), 0);
	cr_assert(!xs_flow_timed_out(&e, now_ns()));

	advance(XS_CT_UDP_REPLIED_TIMEOUT / XS_NS_PER_SEC + 2);
	cr_assert(xs_flow_timed_out(&e, now_ns()), "expired at %llu, now %llu",
		  (unsigned long long)e.h.expires_ns, (unsigned long long)now_ns());
	xs_flow_record(&e, XS_FLOW_END_TIMEOUT, e.h.expires_ns, &mine);

	/* the tuple again: a new flow; the old one's end from the datapath */
	q.payload = 2;
	cr_assert_eq(pkt_build(&p, &q), 0);
	cr_assert(h_passed(false, h_run(&H, false, &p)));
	ni.packets = 1;
	ni.bytes = p.len;
	r = h_flowrec(&H, &q, XS_FLOW_END_TIMEOUT);
	expect_rec_counts(r, &ti, &tr);
	cr_assert_eq(r->end_ns, e.h.expires_ns, "a timeout ends at the expiry");
	cr_assert_eq(r->start_ns, e.start_ns);
	cr_assert_eq(r->stamp, e.h.stamp);
	cr_assert_eq(memcmp(r, &mine, sizeof(mine)), 0,
		     "userspace's record of the timeout differs from the datapath's");
	expect_counts(&q, &ni, &none);
	cr_assert_eq(h_flow_get(&H, &q, &e2), 0);
	cr_assert_eq((uint8_t)(e2.h.stamp - e.h.stamp), 1, "stamps %u then %u", e.h.stamp,
		     e2.h.stamp);
	cr_assert_gt(e2.start_ns, e.start_ns);
}

Test(flowrec, udp_each_way_then_timeout_ipv4)
{
	udp_timeout(false);
}

Test(flowrec, udp_each_way_then_timeout_ipv6)
{
	udp_timeout(true);
}

/*
 * A packet that crosses two attached interfaces (two VMs of one host) is
 * seen at both: it counts once, at the interface that saw the flow first
 * (either of its hooks), whichever interface sees it first afterwards.
 */
Test(flowrec, a_packet_seen_at_two_interfaces_counts_once)
{
	struct pkt_spec syn = PKT_TCP("10.1.0.5", 40005, "10.2.0.9", 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40005, TH_SYN | TH_ACK);
	struct pkt_spec data = PKT_TCP("10.1.0.5", 40005, "10.2.0.9", 443, TH_ACK | TH_PSH);
	struct tally ti = { 0 }, tr = { 0 };
	struct xs_flow_entry e;
	unsigned int other;
	struct pkt p;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(system("ip link add xs-fr type veth peer name xs-fr-p && "
			    "ip link set xs-fr up && ip link set xs-fr-p up"),
		     0, "cannot make a veth");
	other = if_nametoindex("xs-fr");
	cr_assert_neq(other, 0);
	cr_assert_neq(other, H_IFINDEX);
	h_push(&H, policy);
	/* first seen here (ingress): the flow's interface */
	send_ok(false, &syn, &ti);
	cr_assert_eq(pkt_build(&p, &syn), 0);
	cr_assert_eq(h_run_on(&H, other, &p), XDP_PASS_);
	/* the reply at the other interface first, then here (egress) */
	cr_assert_eq(pkt_build(&p, &synack), 0);
	cr_assert_eq(h_run_on(&H, other, &p), XDP_PASS_);
	send_ok(true, &synack, &tr);
	data.payload = 250;
	send_ok(false, &data, &ti);
	cr_assert_eq(pkt_build(&p, &data), 0);
	cr_assert_eq(h_run_on(&H, other, &p), XDP_PASS_);
	expect_counts(&syn, &ti, &tr);
	cr_assert_eq(h_flow_get(&H, &syn, &e), 0);
	cr_assert_eq(e.ifindex, H_IFINDEX);
}

/* ---- Flows made to share a bucket --------------------------------------- */

#define MAXF 320
struct bucketful {
	__u32 bucket;
	int n;
	char src[MAXF][20];
	struct pkt_spec spec[MAXF];
};

/*
 * `n` IPv4 flows of protocol `proto` from segment a to 10.2.0.1:`dport` in
 * bucket `bucket` (~0U: the first one's), sources 10.1.x.y, ports from
 * `port0`. The hash is the datapath's (include/xdpseg_flow.h) under SEED.
 */
static void same_bucket(struct bucketful *bf, int n, uint8_t proto, uint16_t dport, uint16_t port0,
			__u32 bucket)
{
	struct xs_tuple k = { .proto = proto, .family = 4 };
	__u8 dst[4] = { 10, 2, 0, 1 };

	cr_assert_leq(n, MAXF);
	memcpy(k.addr_b, dst, 4);
	k.port_b = htons(dport);
	bf->n = 0;
	bf->bucket = bucket;
	for (uint64_t i = 0; bf->n < n; i++) {
		uint16_t sport = (uint16_t)(port0 + (i >> 16));
		__u32 b;

		cr_assert_lt(i, 1ULL << 34, "no bucket with %d flows", n);
		k.addr_a[0] = 10;
		k.addr_a[1] = 1;
		k.addr_a[2] = (__u8)(i >> 8);
		k.addr_a[3] = (__u8)i;
		k.port_a = htons(sport);
		b = xs_flow_bucket(SEED, &k);
		if (bf->bucket == ~0U)
			bf->bucket = b;
		else if (b != bf->bucket)
			continue;
		snprintf(bf->src[bf->n], sizeof(bf->src[0]), "10.1.%u.%u", k.addr_a[2],
			 k.addr_a[3]);
		bf->spec[bf->n] =
			proto == IPPROTO_TCP
				? PKT_TCP(bf->src[bf->n], sport, "10.2.0.1", dport, TH_SYN)
				: PKT_UDP(bf->src[bf->n], sport, "10.2.0.1", dport);
		bf->n++;
	}
}

static void use_seed(void)
{
	struct xs_config cfg = h_cfg(&H);

	cfg.flow_seed = SEED;
	h_cfg_set(&H, &cfg);
}

/* An established TCP connection of `syn` (its SYN), not evicted before UDP
 * flows: it expires hours later. */
static void tcp_established(const struct pkt_spec *syn)
{
	struct pkt_spec synack =
		PKT_TCP(syn->dst, syn->dport, syn->src, syn->sport, TH_SYN | TH_ACK);

	send_ok(false, syn, NULL);
	send_ok(false, &synack, NULL);
}

/* Run `p` `n` times on CPU `cpu` (BPF_PROG_RUN runs where its caller runs). */
struct cpu_run {
	int cpu, prog;
	const struct pkt *p;
	__u32 n;
	int err;
	__u32 retval;
};

static void *cpu_run_thread(void *arg)
{
	struct cpu_run *c = arg;
	uint8_t out[PKT_MAX + 256];
	struct xdp_md ctx = { .data_end = (__u32)c->p->len, .ingress_ifindex = H_IFINDEX };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = c->p->data,
		    .data_size_in = (__u32)c->p->len, .data_out = out, .data_size_out = sizeof(out),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = c->n);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	c->err = sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
	if (!c->err && bpf_prog_test_run_opts(c->prog, &opts))
		c->err = -errno;
	c->retval = opts.retval;
	return NULL;
}

/* The CPUs to run on: the harness's own, and another (or skip). */
static void two_cpus(int *mine, int *other)
{
	*mine = sched_getcpu();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || *mine < 0)
		cr_skip_test("two CPUs needed");
	*other = *mine == 0 ? 1 : 0;
}

/* Run `cr[0..n)` at once, each on its CPU; every run must pass. */
static void run_at_once(struct cpu_run *cr, int n)
{
	pthread_t t[4];

	for (int i = 0; i < n; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, cpu_run_thread, &cr[i]), 0);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert_eq(cr[i].err, 0, "CPU %d: %s", cr[i].cpu, strerror(-cr[i].err));
		cr_assert_eq(cr[i].retval, XDP_PASS, "CPU %d: %u", cr[i].cpu, cr[i].retval);
	}
}

/*
 * A bucket holds two long-lived TCP connections and a UDP flow X whose
 * packets were counted on another CPU. A fourth flow evicts X (it expires
 * first): X's record has every packet of both CPUs, and the new flow, in
 * X's slot, counts from zero.
 */
Test(flowrec, eviction_record_and_the_reused_slot_starts_at_zero)
{
	struct bucketful tcp, udp;
	struct tally xi = { 0 }, xr = { 0 }, yi = { 0 }, none = { 0 };
	struct pkt_spec xans;
	struct pkt xq, xa, y;
	struct cpu_run cr[2];
	struct xs_flow_entry e;
	const struct xs_flow_end *r;
	int mine, other;

	two_cpus(&mine, &other);
	use_seed();
	h_push(&H, policy);
	same_bucket(&udp, 2, IPPROTO_UDP, 53, 20000, ~0U);
	same_bucket(&tcp, 2, IPPROTO_TCP, 443, 30000, udp.bucket);
	tcp_established(&tcp.spec[0]);
	tcp_established(&tcp.spec[1]);

	/* X: its first packet here, 10 more and 7 replies on the other CPU */
	udp.spec[0].payload = 64;
	send_ok(false, &udp.spec[0], &xi);
	xans = PKT_UDP("10.2.0.1", 53, udp.spec[0].src, udp.spec[0].sport);
	xans.payload = 500;
	cr_assert_eq(pkt_build(&xq, &udp.spec[0]), 0);
	cr_assert_eq(pkt_build(&xa, &xans), 0);
	/* the first reply here (it opens the reply direction), the rest there */
	send_ok(false, &xans, &xr);
	cr[0] = (struct cpu_run){ .cpu = other, .prog = H.prog_xdp, .p = &xq, .n = 10 };
	cr[1] = (struct cpu_run){ .cpu = other, .prog = H.prog_xdp, .p = &xa, .n = 6 };
	run_at_once(&cr[0], 1);
	run_at_once(&cr[1], 1);
	xi.packets += 10;
	xi.bytes += 10 * xq.len;
	xr.packets += 6;
	xr.bytes += 6 * xa.len;
	expect_counts(&udp.spec[0], &xi, &xr);

	/* Y evicts X */
	udp.spec[1].payload = 9;
	cr_assert_eq(pkt_build(&y, &udp.spec[1]), 0);
	cr_assert(h_passed(false, h_run(&H, false, &y)));
	yi.packets = 1;
	yi.bytes = y.len;
	r = h_flowrec(&H, &udp.spec[0], XS_FLOW_END_EVICTED);
	cr_assert_str_eq(xs_flow_cause_name(r->cause), "evicted");
	cr_assert_null(xs_flow_cause_name(XS_FLOW_END_REPLACED + 1));
	expect_rec_counts(r, &xi, &xr);
	cr_assert_eq(h_stat(&H, XS_STAT_FLOW_EVICTED).packets, 1);
	cr_assert_eq(h_flow_get(&H, &udp.spec[0], &e), -ENOENT, "X is still there");
	expect_counts(&udp.spec[1], &yi, &none);
	/* and Y's reply direction starts at zero too (X's was in the slot) */
	xans = PKT_UDP("10.2.0.1", 53, udp.spec[1].src, udp.spec[1].sport);
	send_ok(false, &xans, &none);
	cr_assert_eq(h_flow_get(&H, &udp.spec[1], &e), 0);
	cr_assert_eq(e.packets[1], 1);
	cr_assert_eq(e.bytes[1], none.bytes);
}

/*
 * The reply direction counts only once the flow has a reply: a slot whose
 * stamp came round again (256 flows later) still holds the first flow's
 * reply count (its eviction sent no record: nothing took it), which its
 * 257th flow must not inherit, and its first reply counts one packet, not
 * two.
 */
Test(flowrec, a_reply_count_256_flows_old_is_not_inherited)
{
	struct bucketful udp, tcp, other;
	struct xs_flow_entry first, e;
	struct xs_flow4_bucket raw;
	struct pkt_spec ans;
	struct xs_config cfg;
	struct tally t = { 0 };
	struct pkt p;

	use_seed();
	h_push(&H, policy);
	cfg = h_cfg(&H);
	cfg.flowrec_rate = 1;
	cfg.flowrec_burst = 1;
	h_cfg_set(&H, &cfg);
	same_bucket(&udp, 258, IPPROTO_UDP, 53, 20000, ~0U);
	same_bucket(&tcp, 2, IPPROTO_TCP, 443, 30000, udp.bucket);
	same_bucket(&other, 4, IPPROTO_UDP, 53, 40000, udp.bucket ^ 1);
	/* the first flow (way 0 of the empty bucket) has a reply */
	send_ok(false, &udp.spec[0], NULL);
	ans = PKT_UDP("10.2.0.1", 53, udp.spec[0].src, udp.spec[0].sport);
	send_ok(false, &ans, NULL);
	cr_assert_eq(h_flow_get(&H, &udp.spec[0], &first), 0);
	cr_assert_eq(first.packets[1], 1);
	/* ways 1 and 2: connections that outlive every UDP flow */
	tcp_established(&tcp.spec[0]);
	tcp_established(&tcp.spec[1]);
	/* the one record token goes to an eviction elsewhere */
	for (int i = 0; i < 4; i++)
		cr_assert(h_passed(false, h_send(&H, false, &other.spec[i])));
	cr_assert_eq(H.nfe, 1);
	/* 256 flows, each evicting the one before it from way 0; the first
	 * flow's eviction has no token: nothing takes its counts */
	for (int i = 1; i <= 256; i++) {
		cr_assert_eq(pkt_build(&p, &udp.spec[i]), 0);
		cr_assert(h_passed(false, h_run(&H, false, &p)));
		cr_assert(i > 1 || H.nfe == 0, "the first flow's eviction was recorded");
	}
	cr_assert_eq(h_stat(&H, XS_STAT_FLOW_EVICTED).packets, 1 + 256);
	cr_assert_eq(h_flow_get(&H, &udp.spec[256], &e), 0);
	cr_assert_eq(e.h.stamp, first.h.stamp, "the stamp did not come round: %u, %u", e.h.stamp,
		     first.h.stamp);
	cr_assert_eq(bpf_map_lookup_elem_flags(H.maps.flow4, &udp.bucket, &raw, BPF_F_LOCK), 0);
	cr_assert_eq(xs_acc_stamp(raw.a.acc_r[0]), first.h.stamp);
	cr_assert_eq(xs_acc_packets(raw.a.acc_r[0]), 1, "the first flow's reply count is gone");
	cr_assert_eq(e.packets[1], 0, "inherited %llu reply packets",
		     (unsigned long long)e.packets[1]);
	cr_assert_eq(e.bytes[1], 0);
	cr_assert_eq(e.packets[0], 1, "a slot given 256 times counts %llu packets",
		     (unsigned long long)e.packets[0]);
	cr_assert_eq(e.bytes[0], p.len);
	ans = PKT_UDP("10.2.0.1", 53, udp.spec[256].src, udp.spec[256].sport);
	ans.payload = 77;
	send_ok(false, &ans, &t);
	cr_assert_eq(h_flow_get(&H, &udp.spec[256], &e), 0);
	cr_assert_eq(e.packets[1], 1, "first reply counted as %llu",
		     (unsigned long long)e.packets[1]);
	cr_assert_eq(e.bytes[1], t.bytes);
}

/* An apply that no longer allows a tracked flow: its next packet is dropped
 * and the flow ends, revoked, with what it counted before (the policy and
 * rule that had accepted it). */
Test(flowrec, revoked_by_an_apply)
{
	struct pkt_spec syn = PKT_TCP("10.1.0.5", 40002, "10.2.0.9", 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40002, TH_SYN | TH_ACK);
	struct pkt_spec data = PKT_TCP("10.1.0.5", 40002, "10.2.0.9", 443, TH_ACK | TH_PSH);
	struct tally ti = { 0 }, tr = { 0 };
	const struct xs_flow_end *r;
	struct xs_flow_entry e;
	uint32_t gen, rid;

	h_push(&H, policy);
	gen = H.generation;
	rid = h_rid(&H, 3);
	send_ok(false, &syn, &ti);
	send_ok(false, &synack, &tr);
	data.payload = 333;
	send_ok(false, &data, &ti);
	h_push(&H, policy_without);
	cr_assert(!h_passed(false, h_send(&H, false, &data)), "a revoked flow passed");
	r = h_flowrec(&H, &syn, XS_FLOW_END_REVOKED);
	expect_rec_counts(r, &ti, &tr);
	cr_assert_eq(r->generation, gen);
	cr_assert_eq(r->rule_id, rid);
	cr_assert_eq(h_flow_get(&H, &syn, &e), -ENOENT, "a revoked flow is still tracked");
}

/* A grant's flow past the grant's end: cut at its next packet, its record
 * naming the grant. (The grant is written by hand into the compiled policy,
 * as test_overlay.c does.) */
Test(flowrec, grant_expired)
{
	static const char gpolicy[] = "segment vda 10.1.0.0/16\n"
				      "segment bastion 10.9.0.0/24\n"
				      "deny bastion -> vda : tcp/3389\n";
	struct pkt_spec syn = PKT_TCP("10.9.0.7", 40000, "10.1.0.5", 3389, TH_SYN);
	struct pkt_spec synack = PKT_TCP("10.1.0.5", 3389, "10.9.0.7", 40000, TH_SYN | TH_ACK);
	struct pkt_spec ack = PKT_TCP("10.9.0.7", 40000, "10.1.0.5", 3389, TH_ACK);
	struct xs_compiled *c = h_compile(gpolicy);
	uint32_t g = (uint32_t)c->policy->norigins + 1;
	struct tally ti = { 0 }, tr = { 0 };
	struct xs_rule_val *v = NULL;
	const struct xs_flow_end *r;
	struct timespec ts;

	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i].key.proto == IPPROTO_TCP && c->rules[i].key.port == htons(3389))
			v = &c->rules[i].val;
	cr_assert_not_null(v);
	cr_assert_eq(clock_gettime(CLOCK_TAI, &ts), 0);
	v->fb_action = v->action;
	v->fb_rule_id = v->rule_id;
	v->rule_id = g;
	v->action = XS_ACT_ALLOW;
	v->flags = XS_RULEF_GRANT;
	v->expires = (uint32_t)ts.tv_sec + 10;
	h_push_c(&H, c);
	send_ok(false, &syn, &ti);
	send_ok(false, &synack, &tr);
	send_ok(false, &ack, &ti);
	expect_counts(&syn, &ti, &tr);
	advance(12);
	cr_assert(!h_passed(false, h_send(&H, false, &ack)), "past its grant, the flow passed");
	r = h_flowrec(&H, &syn, XS_FLOW_END_GRANT_EXPIRED);
	expect_rec_counts(r, &ti, &tr);
	cr_assert_eq(r->rule_id, g);
	cr_assert_eq(r->reason, XS_REASON_GRANT);
}

/*
 * A flood of new flows that evict live ones: records of evictions pass their
 * own token bucket (here 5, then 1/s): the rest is counted as suppressed,
 * each eviction either way; a close still has its record (its own bucket).
 */
Test(flowrec, eviction_flood_is_bounded)
{
	struct pkt_spec syn = PKT_TCP("10.1.9.9", 41000, "10.2.0.9", 443, TH_SYN);
	struct pkt_spec rst = PKT_TCP("10.2.0.9", 443, "10.1.9.9", 41000, TH_RST);
	struct xs_flow_stats st;
	struct xs_config cfg;
	struct bucketful udp;
	uint64_t t0, secs, sent = 0;
	struct pkt p;

	use_seed();
	h_push(&H, policy);
	cfg = h_cfg(&H);
	cfg.flowrec_rate = 1;
	cfg.flowrec_burst = 5;
	h_cfg_set(&H, &cfg);
	same_bucket(&udp, 3 + 40, IPPROTO_UDP, 53, 20000, ~0U);
	t0 = now_ns();
	for (int i = 0; i < udp.n; i++) {
		cr_assert_eq(pkt_build(&p, &udp.spec[i]), 0);
		cr_assert(h_passed(false, h_run(&H, false, &p)));
		for (size_t j = 0; j < H.nfe; j++)
			cr_assert_eq(H.fe[j].cause, XS_FLOW_END_EVICTED);
		sent += H.nfe;
	}
	secs = (now_ns() - t0) / XS_NS_PER_SEC;
	cr_assert_eq(h_stat(&H, XS_STAT_FLOW_EVICTED).packets, 40);
	cr_assert_eq(h_stat(&H, XS_STAT_FLOWREC_SENT).packets, sent);
	cr_assert_eq(h_stat(&H, XS_STAT_FLOWREC_SUPPRESSED).packets, 40 - sent,
		     "%llu sent, %llu suppressed of 40", (unsigned long long)sent,
		     (unsigned long long)h_stat(&H, XS_STAT_FLOWREC_SUPPRESSED).packets);
	cr_assert_eq(h_stat(&H, XS_STAT_FLOWREC_LOST).packets, 0);
	cr_assert(sent >= 5 && sent <= 5 + secs + 1, "%llu records in %llu s",
		  (unsigned long long)sent, (unsigned long long)secs);
	/* as userspace reads them */
	cr_assert_eq(xs_flows_stats(&H.maps, now_ns(), &st), 0);
	cr_assert_eq(st.evicted, 40);
	cr_assert_eq(st.records_sent, sent);
	cr_assert_eq(st.records_suppressed, 40 - sent);
	cr_assert_eq(st.records_lost, 0);
	/* a close: its bucket is full */
	send_ok(false, &syn, NULL);
	cr_assert_eq(pkt_build(&p, &rst), 0);
	cr_assert(h_passed(false, h_run(&H, false, &p)));
	h_flowrec(&H, &syn, XS_FLOW_END_RST);
}

/* One connection's two directions counted on two CPUs at once, then one
 * direction from both (swaps that fail take the lock; a fold happens under
 * that contention): every packet and byte, none twice. */
Test(flowrec, counts_from_two_cpus_at_once_are_exact)
{
	struct pkt_spec syn = PKT_TCP("10.1.0.5", 40003, "10.2.0.9", 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40003, TH_SYN | TH_ACK);
	struct pkt_spec up = PKT_TCP("10.1.0.5", 40003, "10.2.0.9", 443, TH_ACK | TH_PSH);
	struct pkt_spec down = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40003, TH_ACK | TH_PSH);
	const __u32 n = 300000;
	struct tally ti = { 0 }, tr = { 0 };
	struct cpu_run cr[2];
	struct pkt pu, pd;
	int mine, other;

	two_cpus(&mine, &other);
	h_push(&H, policy);
	send_ok(false, &syn, &ti);
	send_ok(false, &synack, &tr);
	up.payload = 100;
	down.payload = 900;
	cr_assert_eq(pkt_build(&pu, &up), 0);
	cr_assert_eq(pkt_build(&pd, &down), 0);
	cr[0] = (struct cpu_run){ .cpu = mine, .prog = H.prog_xdp, .p = &pu, .n = n };
	cr[1] = (struct cpu_run){ .cpu = other, .prog = H.prog_xdp, .p = &pd, .n = n };
	run_at_once(cr, 2);
	ti.packets += n;
	ti.bytes += (uint64_t)n * pu.len;
	tr.packets += n;
	tr.bytes += (uint64_t)n * pd.len;
	expect_counts(&syn, &ti, &tr);
	cr[1] = (struct cpu_run){ .cpu = other, .prog = H.prog_xdp, .p = &pu, .n = n };
	run_at_once(cr, 2);
	ti.packets += 2 * (uint64_t)n;
	ti.bytes += 2 * (uint64_t)n * pu.len;
	cr_assert_gt(ti.packets, XS_ACC_PKT_QUANTUM, "no fold");
	expect_counts(&syn, &ti, &tr);
}

/* Past an accumulator's capacity: packets fold 2^19 at a time, bytes 2^35
 * at a time (a stream of 34 GB), and the counts, and the record, stay
 * exact. */
Test(flowrec, folds_keep_counts_exact)
{
	struct pkt_spec syn = PKT_TCP("10.1.0.5", 40004, "10.2.0.9", 443, TH_SYN);
	struct pkt_spec synack = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40004, TH_SYN | TH_ACK);
	struct pkt_spec up = PKT_TCP("10.1.0.5", 40004, "10.2.0.9", 443, TH_ACK | TH_PSH);
	struct pkt_spec rst = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 40004, TH_RST);
	struct tally ti = { 0 }, tr = { 0 };
	struct cpu_run cr;
	struct pkt pu, pr;
	__u32 n;

	h_push(&H, policy);
	send_ok(false, &syn, &ti);
	send_ok(false, &synack, &tr);
	up.payload = 1800;
	cr_assert_eq(pkt_build(&pu, &up), 0);
	n = (__u32)(XS_ACC_BYTE_QUANTUM / pu.len + 1000);
	cr = (struct cpu_run){ .cpu = sched_getcpu(), .prog = H.prog_xdp, .p = &pu, .n = n };
	run_at_once(&cr, 1);
	ti.packets += n;
	ti.bytes += (uint64_t)n * pu.len;
	cr_assert_gt(ti.bytes, XS_ACC_BYTE_QUANTUM);
	expect_counts(&syn, &ti, &tr);
	cr_assert_eq(pkt_build(&pr, &rst), 0);
	cr_assert(h_passed(false, h_run(&H, false, &pr)));
	tr.packets++;
	tr.bytes += pr.len;
	expect_rec_counts(h_flowrec(&H, &syn, XS_FLOW_END_RST), &ti, &tr);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The accounting invariant (every packet counted per verdict and reason has
 * one event outcome: sent, rate-limited, lost or none) and the packet bytes
 * drop and audit events carry.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "ctl/show.h"
#include "harness.h"

static struct h H;

static void setup(void)
{
	h_open(&H);
}

static void teardown(void)
{
	h_close(&H);
}

TestSuite(acct, .init = setup, .fini = teardown);

static const char *policy = "segment a 10.1.0.0/16, fd00:1::/64\n" /* 1 */
			    "segment b 10.2.0.0/16, fd00:2::/64\n" /* 2 */
			    "segment m 10.3.0.0/16\n"		   /* 3 */
			    "mode m monitor\n"			   /* 4 */
			    "allow a -> b : tcp/443, udp/53\n"	   /* 5 */
			    "deny a -> b : tcp/23\n";		   /* 6 */

/* Run `s` (built into *p), expect one event of `verdict` carrying `want`
 * bytes: the frame's first ones. */
static void expect_snap(bool egress, const struct pkt_spec *s, struct pkt *p, uint8_t verdict,
			size_t want)
{
	cr_assert_eq(pkt_build(p, s), 0, "pkt_build");
	cr_assert_eq(h_passed(egress, h_run(&H, egress, p)), verdict != XS_VERDICT_DROP);
	cr_assert_eq(H.nev, 1, "%zu events", H.nev);
	cr_assert_eq(H.ev[0].verdict, verdict, "verdict %u", H.ev[0].verdict);
	cr_assert_eq(H.ev[0].pkt_len, p->len, "pkt_len %u, the frame has %zu", H.ev[0].pkt_len,
		     p->len);
	cr_assert_eq(H.ev[0].snap_len, want,
		     "%s: the event carries %u bytes of a %zu-byte frame, "
		     "expected %zu",
		     egress ? "tc" : "xdp", H.ev[0].snap_len, p->len, want);
	cr_assert_arr_eq(H.snap[0], p->data, want, "the bytes are not the frame's first %zu", want);
}

Test(acct, drop_event_carries_the_frames_first_snap_bytes)
{
	static const struct {
		uint32_t snap;	/* xs_config.snap_len */
		size_t payload; /* TCP payload: the frame is 54 (IPv4) or 74 (IPv6) + this */
		bool v6;
	} cases[] = {
		{ 128, 300, false }, { 128, 0, false },	 { 256, 300, false },  { 1, 300, false },
		{ 200, 300, false }, { 77, 0, false },	 { 1000, 300, false }, { 128, 300, true },
		{ 255, 181, true },  { 256, 182, true }, { 8, 0, true },
	};
	struct pkt_spec s;
	struct pkt p;
	uint16_t port = 20000;

	h_push(&H, policy);
	for (int egress = 0; egress < 2; egress++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			size_t want;

			h_set_snap(&H, cases[i].snap);
			s = cases[i].v6 ? PKT_TCP("fd00:1::5", port, "fd00:2::9", 23, TH_SYN)
					: PKT_TCP("10.1.0.5", port, "10.2.0.9", 23, TH_SYN);
			port++;
			s.payload = cases[i].payload;
			cr_assert_eq(pkt_build(&p, &s), 0);
			/* XS_EV_SNAP_MAX at most, the whole frame when it is shorter */
			want = cases[i].snap < XS_EV_SNAP_MAX ? cases[i].snap : XS_EV_SNAP_MAX;
			want = want < p.len ? want : p.len;
			expect_snap(egress, &s, &p, XS_VERDICT_DROP, want);
			cr_assert_eq(H.ev[0].reason, XS_REASON_DENY_RULE);
		}
	}
}

Test(acct, allow_events_carry_no_bytes)
{
	struct pkt_spec s = PKT_TCP("10.1.0.5", 30000, "10.2.0.9", 443, TH_SYN);
	struct pkt_spec u = PKT_UDP("fd00:1::5", 30001, "fd00:2::9", 53);
	struct pkt p;

	h_push(&H, policy);
	h_set_snap(&H, XS_EV_SNAP_MAX);
	s.payload = 300;
	u.payload = 300;
	for (int egress = 0; egress < 2; egress++) {
		s.sport++;
		u.sport++;
		expect_snap(egress, &s, &p, XS_VERDICT_ALLOW, 0);
		expect_snap(egress, &u, &p, XS_VERDICT_ALLOW, 0);
	}
}

Test(acct, snap_length_zero_turns_the_bytes_off)
{
	struct pkt_spec s = PKT_TCP("10.1.0.5", 30000, "10.2.0.9", 23, TH_SYN);
	struct pkt p;

	h_push(&H, policy);
	s.payload = 100;
	h_set_snap(&H, 0);
	for (int egress = 0; egress < 2; egress++)
		expect_snap(egress, &s, &p, XS_VERDICT_DROP, 0);
	/* and back on */
	h_set_snap(&H, 64);
	expect_snap(false, &s, &p, XS_VERDICT_DROP, 64);
}

Test(acct, audit_event_carries_bytes)
{
	/* into m, in monitor mode: its implicit `in deny` audits */
	struct pkt_spec s = PKT_TCP("10.1.0.5", 30000, "10.3.0.9", 3389, TH_SYN);
	struct pkt p;

	h_push(&H, policy);
	s.payload = 200;
	for (int egress = 0; egress < 2; egress++) {
		s.sport++;
		expect_snap(egress, &s, &p, XS_VERDICT_AUDIT, XS_DEFAULT_SNAP_LEN);
		cr_assert_eq(H.ev[0].reason, XS_REASON_DEFAULT_IN);
	}
}

/* Every verdict and reason: packets = sent + rate-limited + lost + none. */
static void expect_balanced(void)
{
	for (uint32_t idx = 0; idx < XS_STAT_IDX(XS_VERDICT__MAX, 0); idx++) {
		struct xs_counter c = h_stat(&H, idx);
		uint64_t sum = c.ev[XS_EV_SENT] + c.ev[XS_EV_RATELIMITED] + c.ev[XS_EV_LOST] +
			       c.ev[XS_EV_NONE];

		cr_assert_eq(
			c.packets, sum,
			"%s/%s: %llu packets, but %llu sent + %llu rate-limited + %llu lost + "
			"%llu none",
			xs_show_verdict(idx / XS_REASON__MAX), xs_show_reason(idx % XS_REASON__MAX),
			(unsigned long long)c.packets, (unsigned long long)c.ev[XS_EV_SENT],
			(unsigned long long)c.ev[XS_EV_RATELIMITED],
			(unsigned long long)c.ev[XS_EV_LOST], (unsigned long long)c.ev[XS_EV_NONE]);
		cr_assert(xs_counter_balanced(&c));
	}
}

/* One row's terms, exactly. */
static void expect_row(uint8_t verdict, uint8_t reason, uint64_t sent, uint64_t rl, uint64_t lost,
		       uint64_t none)
{
	struct xs_counter c = h_stat(&H, XS_STAT_IDX(verdict, reason));

	cr_expect_eq(c.ev[XS_EV_SENT], sent, "%s/%s: %llu sent, expected %llu",
		     xs_show_verdict(verdict), xs_show_reason(reason),
		     (unsigned long long)c.ev[XS_EV_SENT], (unsigned long long)sent);
	cr_expect_eq(c.ev[XS_EV_RATELIMITED], rl, "%s/%s: %llu rate-limited, expected %llu",
		     xs_show_verdict(verdict), xs_show_reason(reason),
		     (unsigned long long)c.ev[XS_EV_RATELIMITED], (unsigned long long)rl);
	cr_expect_eq(c.ev[XS_EV_LOST], lost, "%s/%s: %llu lost, expected %llu",
		     xs_show_verdict(verdict), xs_show_reason(reason),
		     (unsigned long long)c.ev[XS_EV_LOST], (unsigned long long)lost);
	cr_expect_eq(c.ev[XS_EV_NONE], none, "%s/%s: %llu without event, expected %llu",
		     xs_show_verdict(verdict), xs_show_reason(reason),
		     (unsigned long long)c.ev[XS_EV_NONE], (unsigned long long)none);
}

/* Send `s` and add the event records it made to *read. */
static void run_count(bool egress, const struct pkt_spec *s, uint64_t *read)
{
	h_send(&H, egress, s);
	*read += H.nrec;
}

Test(acct, invariant_per_verdict_and_reason_after_a_mixed_burst)
{
	struct pkt_spec s;
	struct xs_counter tot;
	struct xs_config cfg;
	uint64_t read = 0, lost, rl;
	struct pkt arp;

	h_push(&H, policy);
	h_set_rate(&H, 1, 5); /* drop events: a burst of 5, then (almost) nothing */
	/* 20 denied SYNs, then 10 denied datagrams: 5 events, 25 rate-limited */
	for (int i = 0; i < 20; i++) {
		s = PKT_TCP("10.1.0.5", (uint16_t)(20000 + i), "10.2.0.9", 23, TH_SYN);
		run_count(i & 1, &s, &read);
	}
	for (int i = 0; i < 10; i++) {
		s = PKT_UDP("10.1.0.5", (uint16_t)(21000 + i), "10.2.0.9", 99);
		run_count(false, &s, &read);
	}
	/* 3 allowed connections (events), one of them with 6 more packets (none) */
	for (int i = 0; i < 3; i++) {
		s = PKT_TCP("10.1.0.5", (uint16_t)(22000 + i), "10.2.0.9", 443, TH_SYN);
		run_count(false, &s, &read);
	}
	s = PKT_TCP("10.2.0.9", 443, "10.1.0.5", 22000, TH_SYN | TH_ACK);
	run_count(false, &s, &read);
	for (int i = 0; i < 5; i++) {
		s = PKT_TCP("10.1.0.5", 22000, "10.2.0.9", 443, TH_ACK);
		run_count(true, &s, &read);
	}
	/* not IP: no event by design */
	cr_assert_eq(pkt_build_arp(&arp, "10.1.0.5", "10.1.0.1", 1), 0);
	for (int i = 0; i < 4; i++) {
		h_run(&H, false, &arp);
		read += H.nrec;
	}
	/* 2 audits (their own bucket, the allow one: events) */
	for (int i = 0; i < 2; i++) {
		s = PKT_TCP("10.1.0.5", (uint16_t)(23000 + i), "10.3.0.9", 3389, TH_SYN);
		run_count(false, &s, &read);
	}
	/* quiet: 2 more allowed flows make no event, by configuration */
	cfg = h_cfg(&H);
	cfg.flags |= XS_CFG_QUIET_ALLOW;
	h_cfg_set(&H, &cfg);
	for (int i = 0; i < 2; i++) {
		s = PKT_UDP("10.1.0.5", (uint16_t)(24000 + i), "10.2.0.9", 53);
		run_count(false, &s, &read);
	}

	expect_balanced();
	expect_row(XS_VERDICT_DROP, XS_REASON_DENY_RULE, 5, 15, 0, 0);
	expect_row(XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, 0, 10, 0, 0);
	expect_row(XS_VERDICT_ALLOW, XS_REASON_RULE, 3, 0, 0, 2);
	expect_row(XS_VERDICT_ALLOW, XS_REASON_ESTABLISHED, 0, 0, 0, 6);
	expect_row(XS_VERDICT_ALLOW, XS_REASON_NOT_IP, 0, 0, 0, 4);
	expect_row(XS_VERDICT_AUDIT, XS_REASON_DEFAULT_IN, 2, 0, 0, 0);
	/* what the rows say was sent is what the ring buffer gave */
	cr_assert_eq(xs_event_totals(&H.maps, &tot), 0);
	cr_assert_eq(tot.packets, 20 + 10 + 3 + 1 + 5 + 4 + 2 + 2);
	cr_assert_eq(tot.ev[XS_EV_SENT], read, "%llu events counted as sent, %llu read",
		     (unsigned long long)tot.ev[XS_EV_SENT], (unsigned long long)read);
	cr_assert_eq(read, 5 + 3 + 2);
	cr_assert_eq(xs_event_losses(&H.maps, &lost, &rl), 0);
	cr_assert_eq(lost, 0);
	cr_assert_eq(rl, 25);
}

/* A ring buffer nobody reads fills up: the events past it are counted lost
 * in their packets' row, and exactly the ones counted sent are there. */
Test(acct, events_past_a_full_ring_buffer_are_counted_lost)
{
	struct pkt_spec s = PKT_TCP("10.1.0.5", 30000, "10.2.0.9", 23, TH_SYN);
	const unsigned int runs = 20000; /* 336-byte records: about 12,200 fit in 4 MiB */
	struct xs_counter c;
	uint64_t lost, rl;
	struct pkt p;

	h_push(&H, policy);
	h_set_rate(&H, 1000000, 1000000); /* no rate limit in the way */
	h_set_snap(&H, XS_EV_SNAP_MAX);
	s.payload = 300;
	cr_assert_eq(pkt_build(&p, &s), 0);
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.data, .data_size_in = (__u32)p.len,
			    .repeat = runs);

		ring_buffer__consume(H.rb);
		cr_assert_eq(bpf_prog_test_run_opts(H.prog_xdp, &o), 0, "BPF_PROG_RUN: %s",
			     strerror(errno));
		cr_assert_eq(o.retval, XDP_DROP_);
	}
	c = h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DENY_RULE));
	cr_assert_eq(c.packets, runs);
	cr_assert(xs_counter_balanced(&c));
	cr_assert_eq(c.ev[XS_EV_RATELIMITED] + c.ev[XS_EV_NONE], 0);
	cr_assert_gt(c.ev[XS_EV_LOST], 0, "the ring buffer took all %u events", runs);
	cr_assert_gt(c.ev[XS_EV_SENT], 0);
	cr_assert_lt(c.ev[XS_EV_SENT], XS_RINGBUF_BYTES / (sizeof(struct xs_event) + 256));
	/* every event counted as sent is in the buffer, each with its bytes */
	H.nev = H.nrec = 0;
	ring_buffer__consume(H.rb);
	cr_assert_eq(H.nrec, c.ev[XS_EV_SENT], "%zu events read, %llu counted as sent", H.nrec,
		     (unsigned long long)c.ev[XS_EV_SENT]);
	cr_assert_eq(H.ev[0].snap_len, XS_EV_SNAP_MAX);
	cr_assert_arr_eq(H.snap[0], p.data, XS_EV_SNAP_MAX);
	cr_assert_eq(xs_event_losses(&H.maps, &lost, &rl), 0);
	cr_assert_eq(lost, c.ev[XS_EV_LOST]);
	/* read, the buffer takes events again */
	s.sport++;
	expect_snap(false, &s, &p, XS_VERDICT_DROP, XS_EV_SNAP_MAX);
	c = h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_DENY_RULE));
	cr_assert_eq(c.ev[XS_EV_LOST], lost, "lost again with room in the buffer");
}

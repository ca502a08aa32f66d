// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The events' filters and rendering (user/ctl/evview.c), shared by watch
 * and the agent: each filter's parser (CIDR, FILE:LINE, durations, counts,
 * ports, names) with its exact error message, what each filter selects, and
 * the text line and JSON object of an event (live, history, buffered; the
 * packet's bytes in base64), and a copy in one block.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/evview.h"

static char why[256];

/* Parse `s` with `fn`: "" when it is taken, else the message. */
static const char *parse(int (*fn)(struct xs_evfilter *, const char *, char *, size_t),
			 struct xs_evfilter *f, const char *s)
{
	why[0] = '\0';
	if (fn(f, s, why, sizeof(why)) == 0)
		return "";
	cr_assert(why[0], "an error without a message for '%s'", s);
	return why;
}

Test(evfilter, addr)
{
	struct xs_evfilter f;
	uint8_t want[16] = { 10, 1, 0, 0 };

	xs_evfilter_init(&f);
	cr_assert_str_empty(parse(xs_evfilter_addr, &f, "10.1.2.3/16"));
	cr_assert_eq(f.family, 4);
	cr_assert_eq(f.plen, 16);
	cr_assert_arr_eq(f.addr, want, 16, "host bits past /16 are cleared");
	cr_assert_str_empty(parse(xs_evfilter_addr, &f, "10.0.0.7"));
	cr_assert_eq(f.plen, 32);
	cr_assert_str_empty(parse(xs_evfilter_addr, &f, "fd00:1::5/33"));
	cr_assert_eq(f.family, 6);
	cr_assert_eq(f.plen, 33);
	cr_assert_eq(f.addr[4], 0x00);
	cr_assert_str_empty(parse(xs_evfilter_addr, &f, "::/0"));
	cr_assert_eq(f.plen, 0);
	cr_assert_str_eq(parse(xs_evfilter_addr, &f, "10.0.0.0/33"),
			 "bad prefix length in '10.0.0.0/33': at most 32 for an IPv4 address");
	cr_assert_str_eq(parse(xs_evfilter_addr, &f, "fd00::/129"),
			 "bad prefix length in 'fd00::/129': at most 128 for an IPv6 address");
	for (const char *const *s =
		     (const char *const[]){ "10.0.0/8", "10.0.0.0/", "/8", "10.0.0.0/-1",
					    "10.0.0.0/ 8", "host", "", "10.0.0.0/8x", NULL };
	     *s; s++) {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "bad address '%s': an IPv4 or IPv6 address, with /LEN or without "
			 "(10.0.0.0/8, fd00::/16, 10.0.0.1)",
			 *s);
		cr_assert_str_eq(parse(xs_evfilter_addr, &f, *s), msg);
	}
}

Test(evfilter, rule)
{
	struct xs_evfilter f;

	xs_evfilter_init(&f);
	cr_assert_str_empty(parse(xs_evfilter_rule, &f, "farm.policy:12"));
	cr_assert_str_eq(f.rule_file, "farm.policy");
	cr_assert_eq(f.rule_line, 12);
	cr_assert_str_empty(parse(xs_evfilter_rule, &f, "/etc/x:y/farm.policy:7"));
	cr_assert_str_eq(f.rule_file, "/etc/x:y/farm.policy", "the last ':' separates the line");
	for (const char *const *s =
		     (const char *const[]){ "farm.policy", "farm.policy:", ":12", "farm.policy:0",
					    "farm.policy:12x", "farm.policy:-1", NULL };
	     *s; s++) {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "bad rule '%s': FILE:LINE as watch and stats show it (farm.policy:12)",
			 *s);
		cr_assert_str_eq(parse(xs_evfilter_rule, &f, *s), msg);
	}
}

Test(evfilter, durations_and_counts)
{
	uint64_t v;

	cr_assert_eq(xs_evfilter_since("90s", &v, why, sizeof(why)), 0);
	cr_assert_eq(v, 90);
	cr_assert_eq(xs_evfilter_since("5m", &v, why, sizeof(why)), 0);
	cr_assert_eq(v, 300);
	cr_assert_eq(xs_evfilter_since("1h30m", &v, why, sizeof(why)), 0);
	cr_assert_eq(v, 5400);
	cr_assert_neq(xs_evfilter_since("90", &v, why, sizeof(why)), 0);
	cr_assert_str_eq(why, "bad duration '90': a number with its unit, as 90s, 5m, 1h or 1h30m");
	cr_assert_neq(xs_evfilter_since("0s", &v, why, sizeof(why)), 0);
	cr_assert_neq(xs_evfilter_since("-5m", &v, why, sizeof(why)), 0);
	cr_assert_eq(xs_evfilter_count("25", &v, why, sizeof(why)), 0);
	cr_assert_eq(v, 25);
	cr_assert_neq(xs_evfilter_count("0", &v, why, sizeof(why)), 0);
	cr_assert_str_eq(why, "bad count '0': use a positive number");
	cr_assert_neq(xs_evfilter_count("+3", &v, why, sizeof(why)), 0);
	cr_assert_neq(xs_evfilter_count("3 ", &v, why, sizeof(why)), 0);
	cr_assert_neq(xs_evfilter_count("99999999999999999999", &v, why, sizeof(why)), 0);
}

Test(evfilter, names_ports_verdicts)
{
	struct xs_evfilter f;

	xs_evfilter_init(&f);
	cr_assert_str_empty(parse(xs_evfilter_port, &f, "445"));
	cr_assert_eq(f.port, 445);
	cr_assert_str_eq(parse(xs_evfilter_port, &f, "65536"), "bad port '65536': use 0..65535");
	cr_assert_str_eq(parse(xs_evfilter_port, &f, "-1"), "bad port '-1': use 0..65535");
	cr_assert_str_empty(parse(xs_evfilter_verdict, &f, "audit"));
	cr_assert_eq(f.verdict, XS_VERDICT_AUDIT);
	cr_assert_str_eq(parse(xs_evfilter_verdict, &f, "maybe"),
			 "unknown verdict 'maybe': use allow, drop or audit");
	cr_assert_str_empty(parse(xs_evfilter_iface, &f, "vnet12"));
	cr_assert_str_eq(f.iface, "vnet12");
	cr_assert_str_eq(parse(xs_evfilter_iface, &f, "a-very-long-name0"),
			 "bad interface name 'a-very-long-name0': 1 to 15 bytes, no '/', ':' or "
			 "blank");
	cr_assert_str_eq(parse(xs_evfilter_iface, &f, "a/b"),
			 "bad interface name 'a/b': 1 to 15 bytes, no '/', ':' or blank");
	cr_assert_str_empty(parse(xs_evfilter_segment, &f, "vda"));
	cr_assert_str_eq(parse(xs_evfilter_segment, &f, ""), "bad segment name '': 1 to 119 bytes");
}

/* An event of a TCP flow 10.20.0.10:40000 -> 10.10.10.11:445 on h-vda1. */
static void tcp_event(struct xs_evview *v)
{
	memset(v, 0, sizeof(*v));
	v->e.kind = XS_REC_EVENT;
	v->e.verdict = XS_VERDICT_DROP;
	v->e.reason = XS_REASON_DENY_RULE;
	v->e.proto = IPPROTO_TCP;
	v->e.family = 4;
	v->e.sport = 40000;
	v->e.dport = 445;
	v->e.pkt_len = 74;
	v->e.generation = 3;
	v->e.rule_id = 9;
	v->e.src_seg = 2;
	v->e.dst_seg = 5;
	inet_pton(AF_INET, "10.20.0.10", v->e.saddr);
	inet_pton(AF_INET, "10.10.10.11", v->e.daddr);
	v->real_ns = 1700000000LL * 1000000000LL + 123456789LL; /* 22:13:20.123 UTC */
	v->iface = "h-vda1";
	v->src_seg = "clients";
	v->dst_seg = "vda";
	v->have_origin = true;
	v->file = "/etc/xdpseg/farm.policy";
	v->line = 31;
	v->text = "deny clients -> vda : tcp/445";
	v->policy_file = "";
}

Test(evfilter, match)
{
	struct xs_evfilter f;
	struct xs_evview v;
	char buf[256];

	tcp_event(&v);
	xs_evfilter_init(&f);
	cr_assert(!xs_evfilter_any(&f));
	cr_assert(xs_evfilter_match(&f, &v), "no filter: everything");
	xs_evfilter_addr(&f, "10.10.10.0/24", buf, sizeof(buf));
	cr_assert(xs_evfilter_match(&f, &v), "the destination is in the prefix");
	xs_evfilter_addr(&f, "10.20.0.10", buf, sizeof(buf));
	cr_assert(xs_evfilter_match(&f, &v), "the source is the address");
	xs_evfilter_addr(&f, "10.30.0.0/16", buf, sizeof(buf));
	cr_assert(!xs_evfilter_match(&f, &v), "neither is in the prefix");
	xs_evfilter_addr(&f, "::/0", buf, sizeof(buf));
	cr_assert(!xs_evfilter_match(&f, &v), "an IPv6 prefix never selects an IPv4 event");
	xs_evfilter_init(&f);
	xs_evfilter_rule(&f, "farm.policy:31", buf, sizeof(buf));
	cr_assert(xs_evfilter_match(&f, &v), "the file's last component");
	xs_evfilter_rule(&f, "xdpseg/farm.policy:31", buf, sizeof(buf));
	cr_assert(xs_evfilter_match(&f, &v), "its last components");
	xs_evfilter_rule(&f, "/etc/xdpseg/farm.policy:31", buf, sizeof(buf));
	cr_assert(xs_evfilter_match(&f, &v), "the whole path");
	xs_evfilter_rule(&f, "arm.policy:31", buf, sizeof(buf));
	cr_assert(!xs_evfilter_match(&f, &v), "a part of a component is not the file");
	xs_evfilter_rule(&f, "farm.policy:32", buf, sizeof(buf));
	cr_assert(!xs_evfilter_match(&f, &v), "another line");
	v.have_origin = false;
	xs_evfilter_rule(&f, "farm.policy:31", buf, sizeof(buf));
	cr_assert(!xs_evfilter_match(&f, &v), "an event without a known origin");
	xs_evfilter_init(&f);
	xs_evfilter_iface(&f, "h-vda2", buf, sizeof(buf));
	cr_assert(!xs_evfilter_match(&f, &v));
	v.e.flags = XS_EVF_ROLLBACK;
	cr_assert(xs_evfilter_match(&f, &v), "a rollback passes every filter");
	tcp_event(&v);
	xs_evfilter_init(&f);
	xs_evfilter_port(&f, "445", buf, sizeof(buf));
	cr_assert(xs_evfilter_match(&f, &v));
	v.e.proto = IPPROTO_ICMP;
	v.e.sport = 445;
	cr_assert(!xs_evfilter_match(&f, &v), "ICMP has no port (its id is not one)");
	tcp_event(&v);
	xs_evfilter_init(&f);
	xs_evfilter_segment(&f, "clients", buf, sizeof(buf));
	xs_evfilter_verdict(&f, "drop", buf, sizeof(buf));
	cr_assert(xs_evfilter_match(&f, &v));
	xs_evfilter_verdict(&f, "allow", buf, sizeof(buf));
	cr_assert(!xs_evfilter_match(&f, &v), "every filter must pass");
}

/* What `fn` prints for `v`, as a string (static). */
static const char *render(const struct xs_evview *v, enum xs_evfrom from, int json,
			  unsigned int flags)
{
	static char out[4096];
	FILE *f = fmemopen(out, sizeof(out), "w");

	cr_assert(f);
	if (json)
		xs_evview_json(f, v, from, flags);
	else
		xs_evview_text(f, v, from);
	fclose(f);
	return out;
}

Test(evview, text)
{
	struct xs_evview v;

	tcp_event(&v);
	cr_assert_str_eq(render(&v, XS_EV_LIVE, 0, 0),
			 "22:13:20.123 h-vda1 in DROP tcp 10.20.0.10:40000 -> 10.10.10.11:445 "
			 "clients -> vda deny-rule /etc/xdpseg/farm.policy:31 live\n");
	v.have_origin = false;
	v.e.hook = XS_HOOK_EGRESS;
	cr_assert_str_eq(render(&v, XS_EV_HISTORY, 0, 0),
			 "22:13:20.123 h-vda1 out DROP tcp 10.20.0.10:40000 -> 10.10.10.11:445 "
			 "clients -> vda deny-rule - history\n");
	v.e.flags = XS_EVF_ROLLBACK;
	v.policy_file = "/etc/xdpseg/old.policy";
	cr_assert_str_eq(render(&v, XS_EV_BUFFERED, 0, 0),
			 "22:13:20.123 h-vda1 ROLLBACK the confirm deadline passed: the datapath "
			 "went back to generation 3 (/etc/xdpseg/old.policy) buffered\n");
}

Test(evview, json)
{
	static const uint8_t bytes[5] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };
	struct xs_evview v;

	tcp_event(&v);
	cr_assert_str_eq(
		render(&v, XS_EV_LIVE, 1, XS_EVJ_SNAP),
		"{\"time\":1700000000.123456789,\"iface\":\"h-vda1\",\"dir\":\"in\","
		"\"verdict\":\"drop\",\"reason\":\"deny-rule\",\"proto\":\"tcp\","
		"\"family\":4,\"src\":\"10.20.0.10\",\"dst\":\"10.10.10.11\","
		"\"sport\":40000,\"dport\":445,\"src_seg\":\"clients\",\"dst_seg\":\"vda\","
		"\"src_seg_id\":2,\"dst_seg_id\":5,\"generation\":3,\"rule_id\":9,"
		"\"len\":74,\"origin\":{\"file\":\"/etc/xdpseg/farm.policy\",\"line\":31,"
		"\"text\":\"deny clients -> vda : tcp/445\"},\"live\":true}\n",
		"no bytes: no snap, even when asked");
	v.e.snap_len = sizeof(bytes);
	v.snap = bytes;
	cr_assert(strstr(render(&v, XS_EV_HISTORY, 1, XS_EVJ_SNAP),
			 ",\"live\":false,\"snap_len\":5,\"pkt_len\":74,\"snap\":\"3q2+7wE=\"}\n"),
		  "%s", render(&v, XS_EV_HISTORY, 1, XS_EVJ_SNAP));
	cr_assert_null(strstr(render(&v, XS_EV_LIVE, 1, 0), "snap"), "snap only when asked");
	cr_assert(strstr(render(&v, XS_EV_BUFFERED, 1, XS_EVJ_TEXT),
			 ",\"live\":false,\"buffered\":true,\"text\":\"22:13:20.123 h-vda1 in DROP "
			 "tcp 10.20.0.10:40000 -> 10.10.10.11:445 clients -> vda deny-rule "
			 "/etc/xdpseg/farm.policy:31 buffered\"}\n"));
	v.e.snap_len = 2;
	cr_assert(strstr(render(&v, XS_EV_LIVE, 1, XS_EVJ_SNAP), "\"snap\":\"3q0=\""));
	v.e.snap_len = 3;
	cr_assert(strstr(render(&v, XS_EV_LIVE, 1, XS_EVJ_SNAP), "\"snap\":\"3q2+\""));
	/* a name with a quote and a control byte stays one JSON string */
	v.src_seg = "a\"b\x01";
	cr_assert(strstr(render(&v, XS_EV_LIVE, 1, 0), "\"src_seg\":\"a\\\"b\\u0001\""));
}

Test(evview, dup)
{
	static const uint8_t bytes[3] = { 1, 2, 3 };
	struct xs_evview v, *c;
	char a[4096];

	tcp_event(&v);
	v.e.snap_len = 3;
	v.snap = bytes;
	snprintf(a, sizeof(a), "%s", render(&v, XS_EV_LIVE, 1, XS_EVJ_SNAP | XS_EVJ_TEXT));
	c = xs_evview_dup(&v);
	cr_assert(c);
	cr_assert_str_eq(render(c, XS_EV_LIVE, 1, XS_EVJ_SNAP | XS_EVJ_TEXT), a,
			 "the copy renders as the original");
	cr_assert_neq((void *)c->iface, (void *)v.iface, "its own strings");
	cr_assert_neq((void *)c->snap, (void *)v.snap, "its own bytes");
	free(c);
}

Test(evview, decode_kinds)
{
	struct xs_evview_buf buf;
	struct xs_evview v;
	struct xs_maps m;
	uint8_t rec[sizeof(struct xs_event) + 8] = { 0 };
	struct xs_event *e = (struct xs_event *)rec;

	memset(&m, -1, sizeof(m));
	e->kind = 99;
	cr_assert_eq(xs_evview_decode(&m, 0, rec, sizeof(rec), &v, &buf), -ENOMSG,
		     "another kind: not an event");
	e->kind = XS_REC_EVENT;
	cr_assert_eq(xs_evview_decode(&m, 0, rec, sizeof(*e) - 1, &v, &buf), -EBADMSG,
		     "shorter than the struct");
	e->snap_len = 9;
	cr_assert_eq(xs_evview_decode(&m, 0, rec, sizeof(rec), &v, &buf), -EBADMSG,
		     "shorter than its snap_len says");
	e->snap_len = XS_EV_SNAP_MAX + 1;
	cr_assert_eq(xs_evview_decode(&m, 0, rec, sizeof(rec), &v, &buf), -EBADMSG,
		     "more bytes than an event may carry");
	cr_assert_eq(xs_evview_decode(&m, 0, rec, 1, &v, &buf), -ENOMSG, "not even a kind");
}

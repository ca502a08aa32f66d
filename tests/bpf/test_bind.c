// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Bound ports (issue 6, class 3): a VM's port sends only from its
 * addresses (IP, ARP, neighbour advertisements), never router
 * advertisements, and its link-local traffic is classified by the port's
 * segment. BPF_PROG_RUN runs both programs on the loopback device, so the
 * tests bind "lo".
 */
#include <netinet/in.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <criterion/criterion.h>

#include "harness.h"

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

TestSuite(bind, .init = setup, .fini = teardown);

static const char *policy = "segment vda 10.10.10.0/24, fd00:10::/64\n" /* 1 */
			    "segment admins 10.10.10.128/25\n"		/* 2 */
			    "segment sf 10.10.1.0/24, fd00:1::/64\n"	/* 3 */
			    "bind vda lo 10.10.10.11, fd00:10::11\n"	/* 4 */
			    "allow vda -> sf : tcp/443, udp/547\n"	/* 5 */
			    "allow vda -> link-local : udp/546\n"	/* 6 */
			    "allow link-local -> vda : udp/546\n"	/* 7 */
			    "allow admins -> vda : tcp/22\n";		/* 8 */

/* Run `s` (or the frame `p` when given) and require a SPOOFED drop naming line `line`. */
static void expect_spoofed(bool egress, const struct pkt_spec *s, const struct pkt *given, int line)
{
	struct pkt p;

	if (given)
		p = *given;
	else
		cr_assert_eq(pkt_build(&p, s), 0);
	cr_assert(!h_passed(egress, h_run(&H, egress, &p)), "%s -> %s: passed, expected spoofed",
		  s ? s->src : "arp", s ? s->dst : "");
	cr_assert_eq(H.nev, 1, "%zu events", H.nev);
	cr_expect_eq(H.ev[0].verdict, XS_VERDICT_DROP);
	cr_expect_eq(H.ev[0].reason, XS_REASON_SPOOFED, "reason %s",
		     xs_reason_name(H.ev[0].reason));
	cr_expect_eq(H.ev[0].rule_id, h_bind_rid(&H, line), "rule %u", H.ev[0].rule_id);
	cr_expect_eq(H.ev[0].src_seg, h_seg(&H, "vda"), "src_seg %u", H.ev[0].src_seg);
	/* the destination's segment by longest prefix (-1) */
	if (s)
		h_expect_event_segs(&H, egress, s, &p, XS_VERDICT_DROP, XS_REASON_SPOOFED,
				    h_bind_rid(&H, line), h_seg(&H, "vda"), -1);
}

Test(bind, a_bound_port_sends_only_from_its_addresses)
{
	static const char *const spoofed[] = { "10.10.10.12",  "10.10.10.200", "10.10.1.5",
					       "198.51.100.1", "fd00:10::12",  "fd00:1::5" };
	struct pkt_spec s;
	uint32_t rid;

	h_push(&H, policy);
	h_bind(&H, "lo");
	rid = h_bind_rid(&H, 4);
	for (size_t i = 0; i < sizeof(spoofed) / sizeof(spoofed[0]); i++) {
		bool v6 = strchr(spoofed[i], ':');

		s = PKT_TCP(spoofed[i], (uint16_t)(40000 + i), v6 ? "fd00:1::5" : "10.10.1.5", 443,
			    TH_SYN);
		expect_spoofed(false, &s, NULL, 4);
		/* the same packet on the port's egress: no source check */
		s.sport = (uint16_t)(41000 + i);
		{
			struct xs_decision want;

			h_eval(&H, &s, &want);
			h_check(&H, true, &s, want.verdict, want.reason, want.rule_id);
		}
	}
	s = PKT_TCP("10.10.10.11", 40100, "10.10.1.5", 443, TH_SYN);
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 5));
	s = PKT_TCP("fd00:10::11", 40100, "fd00:1::5", 443, TH_SYN);
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 5));
	cr_assert_eq(h_stat(&H, XS_STAT_IDX(XS_VERDICT_DROP, XS_REASON_SPOOFED)).packets, 6);
	cr_assert_eq(h_rstat(&H, rid).packets, 6, "the bind statement's counter");
	/* not bound any more: the same source is decided by the policy */
	h_unbind(&H);
	s = PKT_TCP("10.10.10.12", 40200, "10.10.1.5", 443, TH_SYN);
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 5));
}

/* The unspecified source: DHCPv4, duplicate address detection, MLD; nothing else. */
Test(bind, the_unspecified_source_only_for_dhcp_dad_and_mld)
{
	struct pkt_spec s = PKT_UDP("0.0.0.0", 68, "255.255.255.255", 67);
	uint8_t target[16];

	h_push(&H, policy);
	h_bind(&H, "lo");
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_DEFAULT, h_in_rid(&H, "world"));
	s = PKT_TCP("0.0.0.0", 68, "10.10.1.5", 443, TH_SYN);
	expect_spoofed(false, &s, NULL, 4);
	s = PKT_UDP("0.0.0.0", 67, "255.255.255.255", 68);
	expect_spoofed(false, &s, NULL, 4);
	s = PKT_UDP("0.0.0.0", 1234, "255.255.255.255", 67);
	expect_spoofed(false, &s, NULL, 4);
	/* DAD: a neighbour solicitation from :: for the port's own address */
	pkt_addr("fd00:10::11", target);
	s = PKT_ICMP6("::", "ff02::1:ff00:11", 135, 0);
	s.ttl = 255;
	s.quote = target;
	s.quote_len = 16;
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_ND, 0);
	s = PKT_ICMP6("::", "ff02::16", 143, 0);
	s.ttl = 1;
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_ND, 0);
	s = PKT_UDP("::", 546, "fd00:1::5", 547);
	expect_spoofed(false, &s, NULL, 4);
}

/* Neighbour advertisements for another address, router advertisements, redirects. */
Test(bind, neighbour_discovery_from_a_bound_port)
{
	uint8_t own[16], other[16], body[32] = { 0 };
	struct pkt_spec s = PKT_ICMP6("fe80::1", "ff02::1", 136, 0);

	pkt_addr("fd00:10::11", own);
	pkt_addr("fd00:10::12", other);
	h_push(&H, policy);
	h_bind(&H, "lo");
	s.ttl = 255;
	s.quote = own;
	s.quote_len = 16;
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_ND, 0);
	s.quote = other; /* "fd00:10::12 is at my MAC" */
	expect_spoofed(false, &s, NULL, 4);
	h_check(&H, true, &s, XS_VERDICT_ALLOW, XS_REASON_ND, 0); /* egress: not checked */
	s.src = "fd00:10::11"; /* from a bound address, with hop limit 64: still checked */
	s.ttl = 64;
	expect_spoofed(false, &s, NULL, 4);
	/* router advertisements and redirects: never from a VM (RA guard) */
	s = PKT_ICMP6("fe80::1", "ff02::1", 134, 0);
	s.ttl = 255;
	s.quote = body;
	s.quote_len = 8;
	expect_spoofed(false, &s, NULL, 4);
	s = PKT_ICMP6("fe80::1", "fd00:10::99", 137, 0);
	s.ttl = 255;
	s.quote = body;
	s.quote_len = 32;
	expect_spoofed(false, &s, NULL, 4);
	/* a solicitation is fine */
	s = PKT_ICMP6("fe80::1", "ff02::1:ff00:99", 135, 0);
	s.ttl = 255;
	s.quote = other;
	s.quote_len = 16;
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_ND, 0);
}

Test(bind, arp_from_a_bound_port)
{
	struct pkt p;

	h_push(&H, policy);
	h_bind(&H, "lo");
	cr_assert_eq(pkt_build_arp(&p, "10.10.10.11", "10.10.10.1", 1), 0);
	cr_assert(h_passed(false, h_run(&H, false, &p)), "ARP from the port's own address dropped");
	cr_assert_eq(pkt_build_arp(&p, "0.0.0.0", "10.10.10.11", 1), 0);
	cr_assert(h_passed(false, h_run(&H, false, &p)), "an ARP probe dropped");
	cr_assert_eq(pkt_build_arp(&p, "10.10.10.12", "10.10.10.12", 2), 0);
	expect_spoofed(false, NULL, &p, 4);
	cr_expect_eq(H.ev[0].flags, XS_EVF_ARP, "event flags 0x%x", H.ev[0].flags);
	cr_expect_eq(H.ev[0].family, 4);
	cr_expect_eq(H.ev[0].saddr[3], 12, "the event names the claimed address");
	cr_assert(h_passed(true, h_run(&H, true, &p)), "ARP on the port's egress is not checked");
	p.data[18] = 5; /* hardware address length 5: not Ethernet/IPv4 ARP */
	cr_assert(!h_passed(false, h_run(&H, false, &p)), "a malformed ARP passed");
	cr_assert_eq(H.nev, 1);
	cr_expect_eq(H.ev[0].reason, XS_REASON_MALFORMED);
	h_unbind(&H);
	cr_assert_eq(pkt_build_arp(&p, "10.10.10.12", "10.10.10.12", 2), 0);
	cr_assert(h_passed(false, h_run(&H, false, &p)), "ARP from an unbound port is not checked");
	cr_assert_eq(H.nev, 0);
}

/* Link-local ends behind the port take the port's segment. */
Test(bind, link_local_classified_by_the_port)
{
	struct pkt_spec s = PKT_UDP("fe80::1", 546, "fe80::2", 546);
	struct pkt p;

	h_push(&H, policy);
	h_bind(&H, "lo");
	/* ingress: the source is behind the port */
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert(h_passed(false, h_run(&H, false, &p)), "vda -> link-local udp/546 dropped");
	h_expect_event_segs(&H, false, &s, &p, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 6),
			    h_seg(&H, "vda"), h_seg(&H, "link-local"));
	s = PKT_TCP("169.254.7.1", 40000, "169.254.7.2", 445, TH_SYN);
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert(!h_passed(false, h_run(&H, false, &p)), "vda -> link-local tcp/445 passed");
	h_expect_event_segs(&H, false, &s, &p, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN,
			    h_in_rid(&H, "link-local"), h_seg(&H, "vda"), h_seg(&H, "link-local"));
	/* egress: the destination is behind the port */
	s = PKT_UDP("fe80::2", 5460, "fe80::1", 546); /* not the reply of the first flow */
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert(h_passed(true, h_run(&H, true, &p)), "link-local -> vda udp/546 dropped");
	h_expect_event_segs(&H, true, &s, &p, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 7),
			    h_seg(&H, "link-local"), h_seg(&H, "vda"));
	s = PKT_TCP("fe80::2", 40000, "fe80::1", 22, TH_SYN);
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert(!h_passed(true, h_run(&H, true, &p)), "link-local -> vda tcp/22 passed");
	h_expect_event_segs(&H, true, &s, &p, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN,
			    h_in_rid(&H, "vda"), h_seg(&H, "link-local"), h_seg(&H, "vda"));
	/* a drop a port's classification made is not cached: the same tuple
	 * may be decided otherwise at another port */
	cr_assert_eq(h_deny_count(&H), 0, "a bound port's drop was remembered");
	/* unbound: both ends are link-local */
	h_unbind(&H);
	s = PKT_UDP("fe80::1", 546, "fe80::2", 546);
	s.sport = 547;
	h_check(&H, false, &s, XS_VERDICT_DROP, XS_REASON_DEFAULT_IN, h_in_rid(&H, "link-local"));
}

/* Without addresses, a bound port may use any address of its segment
 * (not one of a longer prefix of another segment). */
Test(bind, a_bind_without_addresses_is_the_whole_segment)
{
	struct pkt_spec s = PKT_TCP("10.10.10.99", 40000, "10.10.1.5", 443, TH_SYN);

	h_push(&H, "segment vda 10.10.10.0/24\n"      /* 1 */
		   "segment admins 10.10.10.128/25\n" /* 2 */
		   "segment sf 10.10.1.0/24\n"	      /* 3 */
		   "bind vda l?\n"		      /* 4 */
		   "allow vda -> sf : tcp/443\n"      /* 5 */
		   "allow admins -> sf : tcp/443\n"); /* 6 */
	h_bind(&H, "lo");
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 5));
	s.src = "10.10.10.200";
	expect_spoofed(false, &s, NULL, 4);
	s.src = "10.10.1.7";
	expect_spoofed(false, &s, NULL, 4);
}

/* An apply rebinds every recorded interface by the new policy's patterns. */
Test(bind, apply_rebinds_recorded_interfaces)
{
	struct pkt_spec s = PKT_TCP("10.10.10.12", 40000, "10.10.1.5", 443, TH_SYN);
	struct xs_bind_info bi;

	h_push(&H, policy);
	h_bind(&H, "lo");
	cr_assert_eq(xs_iface_binding(&H.maps, H_IFINDEX, &bi), 1, "lo is not bound");
	expect_spoofed(false, &s, NULL, 4);
	h_push(&H, "segment vda 10.10.10.0/24\n"
		   "segment sf 10.10.1.0/24\n"
		   "bind vda vnet*\n"
		   "allow vda -> sf : tcp/443\n");
	cr_assert_eq(xs_iface_binding(&H.maps, H_IFINDEX, &bi), 0, "lo is still bound");
	s.sport = 40001;
	h_check(&H, false, &s, XS_VERDICT_ALLOW, XS_REASON_RULE, h_rid(&H, 4));
	h_push(&H, policy);
	cr_assert_eq(xs_iface_binding(&H.maps, H_IFINDEX, &bi), 1, "lo is not bound again");
	cr_expect_str_eq(bi.pattern, "lo");
	s.sport = 40002;
	expect_spoofed(false, &s, NULL, 4);
}

/*
 * An interface whose ifindex is past the direct table (a host that made
 * many interfaces over time) is bound through the overflow hash. A private
 * network namespace holds the veth, so nothing outlives the test.
 */
Test(bind, a_large_ifindex_is_bound_too)
{
	struct pkt_spec s = PKT_TCP("10.10.10.12", 40000, "10.10.1.5", 443, TH_SYN);
	struct xs_bind_info bi;
	struct pkt p;
	__u32 big = XS_IFBIND_DIRECT + 4464, key = big;
	struct xs_iface e = { .ifindex = big };

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(system("ip link add xs-big index 70000 type veth peer name xs-big-p && "
			    "ip link set xs-big up && ip link set xs-big-p up"),
		     0, "cannot make a veth with ifindex 70000");
	h_push(&H, "segment vda 10.10.10.0/24\n"
		   "segment sf 10.10.1.0/24\n"
		   "bind vda xs-big 10.10.10.11\n"
		   "allow vda -> sf : tcp/443\n");
	snprintf(e.name, sizeof(e.name), "xs-big");
	cr_assert_eq(bpf_map_update_elem(H.maps.ifaces, &key, &e, BPF_ANY), 0);
	cr_assert_eq(xs_iface_bind(&H.maps, big, "xs-big"), 1);
	cr_assert_eq(xs_iface_binding(&H.maps, big, &bi), 1);
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert_eq(h_run_on(&H, big, &p), XDP_DROP_, "a spoofed source passed on ifindex %u",
		     big);
	cr_assert_eq(H.nev, 1);
	cr_expect_eq(H.ev[0].reason, XS_REASON_SPOOFED);
	cr_expect_eq(H.ev[0].ifindex, big);
	s.src = "10.10.10.11";
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert_eq(h_run_on(&H, big, &p), XDP_PASS_, "the port's own source dropped");
	/* an apply rebinds it from xs_ifaces; detach unbinds it */
	h_push(&H, "segment vda 10.10.10.0/24\n"
		   "segment sf 10.10.1.0/24\n"
		   "bind vda xs-b* 10.10.10.11\n"
		   "allow vda -> sf : tcp/443\n");
	cr_assert_eq(xs_iface_binding(&H.maps, big, &bi), 1, "not bound after an apply");
	xs_iface_unbind(&H.maps, big);
	cr_assert_eq(xs_iface_binding(&H.maps, big, &bi), 0, "still bound after unbind");
	s.src = "10.10.10.12";
	s.sport = 40001;
	cr_assert_eq(pkt_build(&p, &s), 0);
	cr_assert_eq(h_run_on(&H, big, &p), XDP_PASS_, "an unbound port's source was checked");
}

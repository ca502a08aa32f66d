// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fast path's derived tables as apply writes them (user/ctl/push.c) and
 * `verify` checks them (user/ctl/fastcheck.c): after a push the active
 * set's maps hold, byte for byte, what xs_fast_build() derives from the
 * policy (the DIR chunks in use, every xs_seg6h entry and no other, the pair
 * rows, every xs_pairs entry and no other, xs_fast), and a second push
 * rewrites the other set alike (its hashes cleared first); one entry
 * changed behind xdpseg's back (a DIR entry, a pair class, an xs_seg6h or
 * xs_pairs entry, xs_fast) makes the check fail with a message that names
 * the map and the entry, the datapath then decides by the changed entry
 * (which is why verify checks them), and the next apply repairs it; a set
 * without XS_FASTF_READY (the tries decide) passes.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "ctl/fastcheck.h"
#include "harness.h"
#include "xdpseg_flow.h"

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

TestSuite(fast, .init = setup, .fini = teardown, .timeout = 120);

/* Ids: a 1, b 2, c 3, d 4, link-local 5. c is a /25 inside b's /24 inside
 * a's /16: 10.1.2.200 is in the third-level chunk 257 (10.1 makes 256). */
static const char policy_a[] = "segment a 10.1.0.0/16, fd00:1::/48\n"
			       "segment b 10.1.2.0/24, fd00:1:2::/64 inside a\n"
			       "segment c 10.1.2.128/25, fd00:1:2:0:8000::/65 inside b\n"
			       "segment d 192.168.0.0/16, fd00:2::/40\n"
			       "allow a -> b : udp/53\n"
			       "allow b -> a\n"
			       "deny c -> a : tcp/22\n"
			       "allow c -> d : tcp/1000-2000\n";

static const char policy_b[] = "segment a 10.1.0.0/16\n"
			       "segment b 10.1.2.0/24 inside a\n"
			       "segment d 192.168.0.0/16, fd00:2::/40\n"
			       "deny b -> a\n"
			       "allow a -> d : tcp/22, tcp/443\n";

/* Set `set`'s maps hold exactly what c derives to. */
static void maps_hold(uint32_t set, const struct xs_compiled *c)
{
	struct xs_fast *f = NULL;
	struct xs_fast_info info;
	struct xs_lpm6_key k6, *prev6 = NULL;
	__u32 kp, *prevp = NULL;
	size_t n6 = 0, np = 0;
	char err[512] = "";

	cr_assert_eq(xs_fast_build(c, &f), 0);
	cr_assert_eq(bpf_map_lookup_elem(H.maps.fast, &set, &info), 0);
	cr_assert(!memcmp(&info, &f->info, sizeof(info)), "xs_fast[%u]: flags 0x%x", set,
		  info.flags);
	cr_assert_eq(info.flags & ~XS_FASTF_PAIRA, XS_FASTF_READY | XS_FASTF_SEG6A);
	cr_assert_eq(!!(info.flags & XS_FASTF_PAIRA), f->npairs > 0);
	for (__u32 g = 0; f->paira && g < XS_PAIRA_GROUPS; g++) {
		struct xs_paira_group grp;

		cr_assert_eq(bpf_map_lookup_elem(H.maps.paira[set], &g, &grp), 0);
		cr_assert(!memcmp(&grp, &f->paira[g], sizeof(grp)), "xs_paira_%u group %u", set, g);
	}
	for (__u32 g = 0; g < XS_SEG6A_GROUPS; g++) {
		struct xs_seg6a_group grp;

		cr_assert_eq(bpf_map_lookup_elem(H.maps.seg6a[set], &g, &grp), 0);
		cr_assert(!memcmp(&grp, &f->seg6a[g], sizeof(grp)), "xs_seg6a_%u group %u", set, g);
	}
	for (__u32 k = 0; k < f->ndir4; k++) {
		struct xs_dir4_chunk ch;

		cr_assert_eq(bpf_map_lookup_elem(H.maps.dir4[set], &k, &ch), 0);
		cr_assert(!memcmp(&ch, &f->dir4[k], sizeof(ch)), "xs_dir4_%u chunk %u", set, k);
	}
	for (__u32 k = 0; k < XS_PORTMAPS; k++) {
		struct xs_port_map pm;

		cr_assert_eq(bpf_map_lookup_elem(H.maps.portmap[set], &k, &pm), 0);
		cr_assert(!memcmp(&pm, &f->portmap[k], sizeof(pm)), "xs_portmap_%u %u", set, k);
	}
	for (__u32 k = 0; k < f->npairc; k++) {
		struct xs_pair_row row;

		cr_assert_eq(bpf_map_lookup_elem(H.maps.pairc[set], &k, &row), 0);
		cr_assert(!memcmp(&row, &f->pairc[k], sizeof(row)), "xs_pairc_%u row %u", set, k);
	}
	/* the hashes: every entry of the policy, and no other */
	while (bpf_map_get_next_key(H.maps.seg6h[set], prev6, &k6) == 0) {
		struct xs_seg_val v;
		size_t i = 0;

		cr_assert_eq(bpf_map_lookup_elem(H.maps.seg6h[set], &k6, &v), 0);
		while (i < f->nseg6h && memcmp(&f->seg6h[i].key, &k6, sizeof(k6)))
			i++;
		cr_assert_lt(i, f->nseg6h, "xs_seg6h_%u: a prefix /%u of no segment", set,
			     k6.prefixlen);
		cr_assert_eq(v.seg, f->seg6h[i].val.seg);
		prev6 = &k6;
		n6++;
	}
	cr_assert_eq(n6, f->nseg6h);
	while (bpf_map_get_next_key(H.maps.pairs[set], prevp, &kp) == 0) {
		struct xs_rule_val v;
		size_t i = 0;

		cr_assert_eq(bpf_map_lookup_elem(H.maps.pairs[set], &kp, &v), 0);
		while (i < f->npairs && f->pairs[i].key != kp)
			i++;
		cr_assert_lt(i, f->npairs, "xs_pairs_%u: pair %u -> %u", set, kp >> 16,
			     kp & 0xffff);
		cr_assert(!memcmp(&v, &f->pairs[i].val, sizeof(v)));
		prevp = &kp;
		np++;
	}
	cr_assert_eq(np, f->npairs);
	cr_assert_eq(xs_fast_check(&H.maps, set, c, err, sizeof(err)), 0, "%s", err);
	xs_fast_free(f);
}

Test(fast, push_writes_the_derived_tables)
{
	struct xs_compiled *first;
	uint32_t set_a;

	h_push(&H, policy_a);
	set_a = H.generation & 1;
	maps_hold(set_a, H.c);
	first = h_compile(policy_a);
	/* the other set: another policy, fewer prefixes and pair-wide entries */
	h_push(&H, policy_b);
	cr_assert_neq(H.generation & 1, set_a);
	maps_hold(H.generation & 1, H.c);
	maps_hold(set_a, first);
	/* and back over the first set: its hashes cleared of policy_a's entries */
	h_push(&H, policy_b);
	cr_assert_eq(H.generation & 1, set_a);
	maps_hold(set_a, H.c);
	xs_compiled_free(first);
}

/* xs_readback_checked() fails; its message starts with `want`. */
static void check_fails(const char *want)
{
	struct xs_compiled *c = (void *)1;
	char err[512] = "";
	int rc = xs_readback_checked(&H.maps, &c, NULL, err, sizeof(err));

	cr_assert_eq(rc, -EBADMSG, "rc %d: %s", rc, err);
	cr_assert_null(c);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "message:\n%s\nwanted:\n%s...", err,
		     want);
	cr_assert(strstr(err, "apply the policy again"), "%s", err);
}

static void check_passes(void)
{
	struct xs_compiled *c = NULL;
	struct xs_readback rb;
	char err[512] = "";
	int rc = xs_readback_checked(&H.maps, &c, &rb, err, sizeof(err));

	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	cr_assert_eq(rb.generation, H.generation);
	xs_compiled_free(c);
}

/* A new TCP SYN from c's 10.1.2.200 to a's 10.1.0.5 port 22. */
static const struct xs_event *syn_c_to_a(uint16_t sport)
{
	struct pkt_spec s = { .src = "10.1.2.200",
			      .dst = "10.1.0.5",
			      .proto = IPPROTO_TCP,
			      .sport = sport,
			      .dport = 22,
			      .tcp_flags = TH_SYN };

	h_send(&H, false, &s);
	cr_assert_eq(H.nev, 1);
	return &H.ev[0];
}

Test(fast, a_changed_dir_entry_fails_verify)
{
	struct xs_dir4_chunk ch;
	const struct xs_event *e;
	__u32 set, k = 257;
	char want[256];

	h_push(&H, policy_a);
	set = H.generation & 1;
	check_passes();
	e = syn_c_to_a(40000);
	cr_assert(e->verdict == XS_VERDICT_DROP && e->reason == XS_REASON_DENY_RULE &&
		  e->src_seg == 3);
	/* 10.1.2.200 made b's (2) instead of c's (3) */
	cr_assert_eq(bpf_map_lookup_elem(H.maps.dir4[set], &k, &ch), 0);
	cr_assert_eq(ch.e[200], 3);
	ch.e[200] = 2;
	cr_assert_eq(bpf_map_update_elem(H.maps.dir4[set], &k, &ch, BPF_EXIST), 0);
	snprintf(want, sizeof(want),
		 "xs_dir4_%u chunk 257 entry 200 (the addresses 10.1.2.200/32) holds segment 2 "
		 "(b); the policy in force gives segment 3 (c)",
		 set);
	check_fails(want);
	/* the datapath decides by it: b -> a allows */
	e = syn_c_to_a(40001);
	cr_assert(e->verdict == XS_VERDICT_ALLOW && e->reason == XS_REASON_RULE && e->src_seg == 2);
	/* the next apply writes the other set whole */
	h_push(&H, policy_a);
	check_passes();
	e = syn_c_to_a(40002);
	cr_assert(e->verdict == XS_VERDICT_DROP && e->src_seg == 3);
}

Test(fast, a_changed_pair_class_fails_verify)
{
	struct xs_pair_row row;
	__u32 set, src = 3;
	char want[256];

	h_push(&H, policy_a);
	set = H.generation & 1;
	/* c -> a: single port (22) and nothing pair-wide: exact */
	cr_assert_eq(bpf_map_lookup_elem(H.maps.pairc[set], &src, &row), 0);
	cr_assert_eq(xs_pair_class_of(&row, 1), XS_PAIR_EXACT);
	cr_assert_eq(xs_pair_class_of(&row, 4), XS_PAIR_TRIE);
	cr_assert_eq(xs_pair_class_of(&row, 2), XS_PAIR_NONE);
	row.w[0] &= ~(3ULL << 2); /* c -> a: none */
	cr_assert_eq(bpf_map_update_elem(H.maps.pairc[set], &src, &row, BPF_EXIST), 0);
	snprintf(want, sizeof(want),
		 "xs_pairc_%u row 3: the pair 3 (c) -> 1 (a) is of class none (no rule entry); "
		 "the policy in force makes it exact (single ports)",
		 set);
	check_fails(want);
	/* the datapath decides by it: no rule, a's default (in deny) */
	cr_assert_eq(syn_c_to_a(40100)->reason, XS_REASON_DEFAULT_IN);
}

/* b -> a is allowed pair-wide; the datapath finds that entry in xs_paira:
 * turned into a deny there, b -> a drops, and verify names the group. */
Test(fast, a_changed_pair_wide_entry_fails_verify)
{
	struct pkt_spec s = { .src = "10.1.2.7",
			      .dst = "10.1.0.5",
			      .proto = IPPROTO_TCP,
			      .sport = 40300,
			      .dport = 8080,
			      .tcp_flags = TH_SYN };
	struct xs_paira_group grp;
	__u32 set, pair = XS_PAIR_KEY(2, 1), g, idx;
	char want[256];
	int w = -1;

	h_push(&H, policy_a);
	set = H.generation & 1;
	cr_assert(h_passed(false, h_send(&H, false, &s)));
	cr_assert_eq(H.ev[0].reason, XS_REASON_RULE);
	g = xs_paira_group(pair);
	for (int p = 0; p < XS_PAIRA_PROBES && w < 0; p++) {
		idx = (g + (__u32)p) & (XS_PAIRA_GROUPS - 1);
		cr_assert_eq(bpf_map_lookup_elem(H.maps.paira[set], &idx, &grp), 0);
		for (int i = 0; i < XS_PAIRA_WAYS && w < 0; i++)
			if ((grp.used & (1U << i)) && grp.s[i].pair == pair)
				w = i;
	}
	cr_assert_geq(w, 0, "b -> a's pair-wide entry is not in xs_paira_%u", set);
	cr_assert_eq(grp.s[w].val.action, XS_ACT_ALLOW);
	grp.s[w].val.action = XS_ACT_DENY;
	cr_assert_eq(bpf_map_update_elem(H.maps.paira[set], &idx, &grp, BPF_EXIST), 0);
	snprintf(want, sizeof(want),
		 "xs_paira_%u group %u differs from the policy in force at the pair 2 (b) -> 1 (a) "
		 "(its pair-wide rule entry)",
		 set, idx);
	check_fails(want);
	s.sport = 40301;
	cr_assert(!h_passed(false, h_send(&H, false, &s)));
	cr_assert_eq(H.ev[0].reason, XS_REASON_DENY_RULE);
	h_push(&H, policy_a);
	check_passes();
}

/* c -> a tcp/22 is denied by its rule; with tcp/22 gone from the port map
 * the datapath finds no rule (a's default decides) and verify names it. */
Test(fast, a_changed_port_map_fails_verify)
{
	struct xs_port_map pm;
	__u32 set, idx = XS_PORTMAP_TCP;
	char want[256];

	h_push(&H, policy_a);
	set = H.generation & 1;
	cr_assert_eq(syn_c_to_a(40200)->reason, XS_REASON_DENY_RULE);
	cr_assert_eq(bpf_map_lookup_elem(H.maps.portmap[set], &idx, &pm), 0);
	cr_assert_eq(pm.w[0], 1ULL << 22, "tcp ports 0-63 named: 0x%llx",
		     (unsigned long long)pm.w[0]);
	pm.w[0] = 0;
	cr_assert_eq(bpf_map_update_elem(H.maps.portmap[set], &idx, &pm, BPF_EXIST), 0);
	snprintf(want, sizeof(want),
		 "xs_portmap_%u marks tcp/22 as the port of no single-port rule; the policy in "
		 "force has one",
		 set);
	check_fails(want);
	cr_assert_eq(syn_c_to_a(40201)->reason, XS_REASON_DEFAULT_IN);
	h_push(&H, policy_a);
	check_passes();
}

Test(fast, changed_hash_entries_fail_verify)
{
	struct xs_lpm6_key k6 = { .prefixlen = 64 };
	struct xs_seg_val v6 = { .seg = 4 }, old6;
	struct xs_rule_val rv;
	__u32 set, kp = XS_PAIR_KEY(2, 1);
	char want[320];

	h_push(&H, policy_a);
	set = H.generation & 1;
	/* b's fd00:1:2::/64 made d's */
	inet_pton(AF_INET6, "fd00:1:2::", k6.addr);
	cr_assert_eq(bpf_map_lookup_elem(H.maps.seg6h[set], &k6, &old6), 0);
	cr_assert_eq(old6.seg, 2);
	cr_assert_eq(bpf_map_update_elem(H.maps.seg6h[set], &k6, &v6, BPF_EXIST), 0);
	snprintf(want, sizeof(want),
		 "xs_seg6h_%u holds fd00:1:2::/64 as segment 4 (d); the policy in force gives "
		 "segment 2 (b)",
		 set);
	check_fails(want);
	/* gone */
	cr_assert_eq(bpf_map_delete_elem(H.maps.seg6h[set], &k6), 0);
	snprintf(want, sizeof(want),
		 "xs_seg6h_%u lacks fd00:1:2::/64 (segment 2 (b)) of the policy in force", set);
	check_fails(want);
	/* one more */
	cr_assert_eq(bpf_map_update_elem(H.maps.seg6h[set], &k6, &old6, BPF_NOEXIST), 0);
	check_passes();
	k6.prefixlen = 100;
	cr_assert_eq(bpf_map_update_elem(H.maps.seg6h[set], &k6, &v6, BPF_NOEXIST), 0);
	snprintf(want, sizeof(want),
		 "xs_seg6h_%u holds fd00:1:2::/100 (segment 4 (d)), a prefix the policy in force "
		 "does not have",
		 set);
	check_fails(want);
	cr_assert_eq(bpf_map_delete_elem(H.maps.seg6h[set], &k6), 0);

	/* b -> a's pair-wide allow made a deny */
	cr_assert_eq(bpf_map_lookup_elem(H.maps.pairs[set], &kp, &rv), 0);
	cr_assert_eq(rv.action, XS_ACT_ALLOW);
	rv.action = XS_ACT_DENY;
	cr_assert_eq(bpf_map_update_elem(H.maps.pairs[set], &kp, &rv, BPF_EXIST), 0);
	snprintf(want, sizeof(want),
		 "xs_pairs_%u holds rule %u (deny, flags 0x0) for the pair 2 (b) -> 1 (a); the "
		 "policy in force gives rule %u (allow, flags 0x0)",
		 set, rv.rule_id, rv.rule_id);
	check_fails(want);
	cr_assert_eq(bpf_map_delete_elem(H.maps.pairs[set], &kp), 0);
	snprintf(want, sizeof(want),
		 "xs_pairs_%u lacks the pair-wide entry of 2 (b) -> 1 (a), rule %u (allow, flags "
		 "0x0)",
		 set, rv.rule_id);
	check_fails(want);
	h_push(&H, policy_a);
	check_passes();
}

Test(fast, xs_fast_is_checked_and_a_set_without_it_passes)
{
	struct xs_fast_info fi;
	__u32 set;
	char want[256];

	h_push(&H, policy_a);
	set = H.generation & 1;
	cr_assert_eq(bpf_map_lookup_elem(H.maps.fast, &set, &fi), 0);
	/* c's /65, b's /64, a's /48, d's /40, link-local's /10 */
	cr_assert_eq(fi.nlen6, 5);
	cr_assert_eq(fi.len6[0], 65);
	fi.flags |= XS_FASTF_TRIE4;
	cr_assert_eq(bpf_map_update_elem(H.maps.fast, &set, &fi, BPF_EXIST), 0);
	snprintf(want, sizeof(want),
		 "xs_fast[%u] holds flags 0x1d and 5 IPv6 lengths /65 /64 /48 /40 /10; the policy "
		 "in force gives flags 0x1c and 5 lengths /65 /64 /48 /40 /10",
		 set);
	check_fails(want);
	/* without XS_FASTF_READY the datapath asks the tries: nothing to check */
	fi.flags = 0;
	cr_assert_eq(bpf_map_update_elem(H.maps.fast, &set, &fi, BPF_EXIST), 0);
	check_passes();
	cr_assert_eq(syn_c_to_a(40200)->reason, XS_REASON_DENY_RULE);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath against the reference evaluator: random policies pushed with
 * the real apply protocol, random first packets (TCP SYN, UDP, ICMP echo,
 * another protocol; IPv4 and IPv6; sometimes VLAN-tagged, with IPv4 options
 * or IPv6 extension headers; sometimes fragmented, with a later fragment
 * that must follow the first; sometimes cut short by their IP length; ICMP
 * errors quoting a tracked flow, to its sender or anyone else) through XDP
 * and TC egress. The verdict, the
 * event's verdict, reason, rule id and segments must be exactly what
 * xs_policy_evaluate() decides from the policy's source form. Fixed seeds.
 *
 * The fast path's tables (include/xdpseg.h, "Fast path") get policies of
 * their own: nested IPv4 prefixes across the DIR table's levels (/8, /15,
 * /16, /17, /23, /24, /25, /31, /32), IPv6 prefixes of several lengths
 * (/40, /48, /56, /64, /100, /128, nested), segment pairs of every class
 * (no entry, pair-wide only, single ports with and without a pair-wide
 * entry, ranges and protocol-wide entries), and addresses at the edges of
 * the prefixes (first, last, just outside) as well as inside; and policies
 * too large for them (more chunks than XS_DIR4_CHUNKS, more IPv6 lengths
 * than XS_SEG6_LENS), which the datapath must decide by the tries.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "ctl/flows.h"
#include "harness.h"
#include "randpol.h"

static struct h H;

static void setup(void)
{
	h_open(&H);
	/* every drop must produce its event */
	h_set_rate(&H, 1000000, 1000000);
}

static void teardown(void)
{
	h_close(&H);
}

TestSuite(random, .init = setup, .fini = teardown, .timeout = 240);

/* ICMP types that start a flow: not errors, not neighbour discovery. */
static uint8_t rand_icmp_type(struct rng *r, uint8_t family)
{
	static const uint8_t v4[] = { 0, 8, 9, 10, 13, 14, 17, 18, 40, 200 };
	static const uint8_t v6[] = { 128, 129, 138, 139, 140, 144, 145, 200 };

	if (family == 4)
		return v4[rnd(r, sizeof(v4))];
	return v6[rnd(r, sizeof(v6))];
}

/* ---- Policies for the fast path's tables ---------------------------------------- */

#define FP_MAX_PX 96
#define FP_MAX_SEG 10
#define FP_BIG4 (XS_DIR4_CHUNKS - 256 + 100) /* /24s in /16s of their own: too many chunks */
#define FP_BIG_PER 1000

/* The prefixes of a fast-path policy, for addresses at their edges. */
struct fpol {
	int nseg;
	int npx;
	struct {
		uint8_t family, len;
		uint8_t addr[16];
	} px[FP_MAX_PX];
	bool big4; /* FP_BIG4 more /24s: (100 + i / 256).(i % 256).7.0/24, segments big0.. */
};

/* The policy the current packets are made for (NULL: rand_policy_ll's). */
static const struct fpol *fp;

static void mask_px(uint8_t *a, unsigned int len)
{
	for (unsigned int b = 0; b < 16; b++) {
		unsigned int lo = b * 8;

		if (len <= lo)
			a[b] = 0;
		else if (len < lo + 8)
			a[b] &= (uint8_t)(0xff << (lo + 8 - len));
	}
}

/* Add a prefix: inside an earlier one of its family (two times in three) or
 * fresh, with one of `lens` longer than its parent's. False: none added. */
static bool fp_add(struct rng *r, struct fpol *p, uint8_t family, const uint8_t *lens, size_t n)
{
	uint8_t a[16] = { 0 }, len = lens[rnd(r, (uint32_t)n)];
	int parent = -1;

	if (p->npx == FP_MAX_PX)
		return false;
	if (p->npx && rnd(r, 3)) {
		int k = (int)rnd(r, (uint32_t)p->npx);

		for (int i = 0; i < p->npx && parent < 0; i++)
			if (p->px[(k + i) % p->npx].family == family)
				parent = (k + i) % p->npx;
	}
	if (parent >= 0 && p->px[parent].len < len) {
		memcpy(a, p->px[parent].addr, 16);
		for (unsigned int b = p->px[parent].len / 8; b < 16; b++)
			a[b] |= (uint8_t)rnd(r, 256) &
				(b == p->px[parent].len / 8 ? 0xff >> (p->px[parent].len % 8)
							    : 0xff);
	} else if (family == 4) {
		a[0] = rnd(r, 4) ? 10 : (uint8_t)(11 + rnd(r, 2));
		a[1] = (uint8_t)rnd(r, 4);
		a[2] = (uint8_t)(rnd(r, 2) ? rnd(r, 4) : 254 + rnd(r, 2));
		a[3] = (uint8_t)rnd(r, 256);
	} else {
		a[0] = 0xfd;
		a[3] = (uint8_t)rnd(r, 3);
		a[5] = (uint8_t)rnd(r, 2);
		a[7] = (uint8_t)rnd(r, 2);
		a[12] = (uint8_t)rnd(r, 2);
		a[15] = (uint8_t)rnd(r, 4);
	}
	mask_px(a, len);
	for (int i = 0; i < p->npx; i++)
		if (p->px[i].family == family && p->px[i].len == len &&
		    !memcmp(p->px[i].addr, a, 16))
			return false; /* a prefix is one segment's */
	p->px[p->npx].family = family;
	p->px[p->npx].len = len;
	memcpy(p->px[p->npx].addr, a, 16);
	p->npx++;
	return true;
}

/* A rule's end: f0.., world, any (8 bytes). */
static void fp_endpoint(struct rng *r, char *buf, int nseg)
{
	uint32_t v = rnd(r, (uint32_t)nseg + 2);

	if (v == (uint32_t)nseg)
		snprintf(buf, 8, "world");
	else if (v == (uint32_t)nseg + 1)
		snprintf(buf, 8, rnd(r, 2) ? "any" : "f0");
	else
		snprintf(buf, 8, "f%u", v);
}

/*
 * A policy for the fast path's tables: segments f0.. with nested prefixes
 * across the DIR levels and IPv6 lengths, rules that give pairs every class,
 * random defaults. `big`: segments big0.. hold FP_BIG4 /24s in /16s of their
 * own (past XS_DIR4_CHUNKS: the IPv4 trie), and the IPv6 prefixes use more
 * than XS_SEG6_LENS lengths (the IPv6 trie).
 */
static char *fast_policy(struct rng *r, struct fpol *p, bool big)
{
	static const uint8_t lens4[] = { 8, 15, 16, 17, 23, 24, 25, 31, 32 };
	static const uint8_t lens6[] = { 40, 48, 56, 64, 100, 128 };
	static const uint8_t many6[] = {
		16, 24, 32, 40, 44, 48, 52, 56, 60, 64, 80, 100, 120, 128
	};
	static const uint16_t single[] = { 1, 7, 22, 53, 63 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int owner[FP_MAX_PX], nrules = 2 + (int)rnd(r, 14);

	memset(p, 0, sizeof(*p));
	p->nseg = 2 + (int)rnd(r, FP_MAX_SEG - 1);
	p->big4 = big;
	for (int k = 0, want = 2 * p->nseg + (int)rnd(r, 3 * (uint32_t)p->nseg); k < want; k++) {
		bool v6 = rnd(r, 3) == 0;
		int before = p->npx;

		if (v6 ? fp_add(r, p, 6, big ? many6 : lens6, big ? sizeof(many6) : sizeof(lens6))
		       : fp_add(r, p, 4, lens4, sizeof(lens4)))
			owner[before] = (int)rnd(r, (uint32_t)p->nseg);
	}
	for (int sg = 0; sg < p->nseg; sg++) {
		bool any = false;

		fprintf(f, "segment f%d", sg);
		for (int i = 0; i < p->npx; i++) {
			char a[INET6_ADDRSTRLEN];

			if (owner[i] != sg)
				continue;
			inet_ntop(p->px[i].family == 4 ? AF_INET : AF_INET6, p->px[i].addr, a,
				  sizeof(a));
			fprintf(f, "%s %s/%u", any ? "," : "", a, p->px[i].len);
			any = true;
		}
		if (sg == 1 && big) /* every length of many6 */
			for (size_t i = 0; i < sizeof(many6); i++, any = true)
				fprintf(f, "%s fd99:%x::/%u", any ? "," : "",
					many6[i] < 32 ? 0 : (unsigned int)i, many6[i]);
		if (!any) /* a segment needs a prefix */
			fprintf(f, " 203.0.113.%d/32", sg);
		fprintf(f, "\n");
	}
	/* each of the /24s in a /16 of its own (a chunk each), in segments big0..
	 * of FP_BIG_PER prefixes (a statement holds at most 4096 tokens) */
	for (uint32_t i = 0; big && i < FP_BIG4; i++) {
		if (i % FP_BIG_PER == 0)
			fprintf(f, "segment big%u", i / FP_BIG_PER);
		fprintf(f, "%s %u.%u.7.0/24", i % FP_BIG_PER ? "," : "", 100 + i / 256, i % 256);
		if (i % FP_BIG_PER == FP_BIG_PER - 1 || i == FP_BIG4 - 1)
			fprintf(f, "\n");
	}
	for (int i = 0; i < nrules; i++) {
		const char *act = rnd(r, 3) ? "allow" : "deny";
		uint32_t kind = rnd(r, 6);
		char from[8], to[8];

		fp_endpoint(r, from, p->nseg);
		fp_endpoint(r, to, p->nseg);
		if (!strcmp(from, "world") && !strcmp(to, "world"))
			snprintf(to, sizeof(to), "any");
		fprintf(f, "%s %s -> %s", act, from, to);
		switch (kind) {
		case 0: /* pair-wide */
			break;
		case 1: /* protocol-wide */
			fprintf(f, " : %s", rnd(r, 2) ? "udp" : "tcp");
			break;
		case 2: /* a range */
			fprintf(f, " : tcp/%u-%u", 2 + rnd(r, 20), 24 + rnd(r, 40));
			break;
		default: /* single ports, an ICMP type */
			fprintf(f, " : tcp/%u, udp/%u", single[rnd(r, 5)], single[rnd(r, 5)]);
			if (rnd(r, 2))
				fprintf(f, ", icmp/8, icmpv6/128");
			break;
		}
		fprintf(f, "\n");
	}
	for (int sg = 0; sg < p->nseg; sg++)
		if (rnd(r, 2))
			fprintf(f, "default f%d in %s out %s\n", sg, rnd(r, 2) ? "allow" : "deny",
				rnd(r, 3) ? "allow" : "deny");
	fclose(f);
	return text;
}

/* The address one past (dir 1) or before (dir -1) a, as a 128-bit number
 * (IPv4: of the first 4 bytes). */
static void addr_step(uint8_t *a, int n, int dir)
{
	for (int b = n - 1; b >= 0; b--) {
		a[b] = (uint8_t)(a[b] + dir);
		if (a[b] != (dir > 0 ? 0 : 0xff))
			return;
	}
}

/* An address at or near one of fp's prefixes: its first or last address,
 * just outside them, or inside; sometimes anywhere. */
static void fast_addr(struct rng *r, uint8_t family, uint8_t *a)
{
	int n = family == 4 ? 4 : 16, k = (int)rnd(r, FP_MAX_PX), tries = 0;
	uint32_t kind = rnd(r, 8);

	memset(a, 0, 16);
	if (family == 4 && fp->big4 && rnd(r, 4) == 0) {
		uint32_t i = rnd(r, FP_BIG4);

		a[0] = (uint8_t)(100 + i / 256), a[1] = (uint8_t)(i % 256), a[2] = 7;
		a[3] = (uint8_t)rnd(r, 256);
		if (rnd(r, 4) == 0)
			a[2] = 8; /* beside one: world */
		return;
	}
	while (fp->px[k % (fp->npx ? fp->npx : 1)].family != family && tries++ < FP_MAX_PX)
		k++;
	if (!fp->npx || fp->px[k % fp->npx].family != family || kind == 7) {
		for (int b = 0; b < n; b++)
			a[b] = (uint8_t)rnd(r, 256);
		if (family == 6)
			a[0] = 0xfd;
		return;
	}
	k %= fp->npx;
	memcpy(a, fp->px[k].addr, 16);
	if (kind == 1 || kind == 3 || kind >= 4) { /* the last, one past it, or inside */
		for (int b = 0; b < n; b++) {
			unsigned int lo = (unsigned int)b * 8, len = fp->px[k].len;
			uint8_t host = len <= lo ? 0xff : len >= lo + 8 ? 0 : 0xff >> (len - lo);

			a[b] |= kind >= 4 ? (uint8_t)rnd(r, 256) & host : host;
		}
	}
	if (kind == 2)
		addr_step(a, n, -1); /* just before the first */
	if (kind == 3)
		addr_step(a, n, 1); /* just past the last */
}

static void rand_spec(struct rng *r, int nseg, uint16_t sport, struct pkt_spec *s, char *src,
		      char *dst)
{
	uint8_t family = rnd(r, 4) ? 4 : 6, sa[16], da[16];

	memset(s, 0, sizeof(*s));
	if (fp) {
		family = rnd(r, 2) ? 4 : 6;
		fast_addr(r, family, sa);
		fast_addr(r, family, da);
	} else {
		rand_addr_ll(r, nseg, family, sa);
		rand_addr_ll(r, nseg, family, da);
	}
	inet_ntop(family == 4 ? AF_INET : AF_INET6, sa, src, INET6_ADDRSTRLEN);
	inet_ntop(family == 4 ? AF_INET : AF_INET6, da, dst, INET6_ADDRSTRLEN);
	s->src = src;
	s->dst = dst;
	switch (rnd(r, 6)) {
	case 0:
	case 1:
		s->proto = IPPROTO_TCP;
		s->tcp_flags = TH_SYN;
		break;
	case 2:
	case 3:
		s->proto = IPPROTO_UDP;
		break;
	case 4:
		s->proto = family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		s->icmp_type = rand_icmp_type(r, family);
		s->icmp_id = sport; /* a new flow each time */
		break;
	default:
		s->proto = IPPROTO_GRE; /* tracked by addresses: a fresh pair or a repeat */
		break;
	}
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		s->sport = sport; /* unique: never a flow-table hit */
		s->dport = (uint16_t)(rnd(r, 2) ? rnd(r, 64) : rnd(r, 65536));
	}
	s->payload = rnd(r, 64);
	if (rnd(r, 8) == 0) {
		s->nvlan = 1 + (int)rnd(r, 2);
		s->vlan_tpid[0] = s->nvlan == 2 ? 0x88a8 : 0x8100;
		s->vlan_tpid[1] = 0x8100;
	}
	if (family == 4 && rnd(r, 8) == 0)
		s->ip4_optlen = (uint8_t)(4 * (1 + rnd(r, 10)));
	if (family == 6 && rnd(r, 8) == 0) {
		static const uint8_t ext[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS };

		s->next = 1 + (int)rnd(r, 3);
		for (int i = 0; i < s->next; i++)
			s->ext[i] = ext[i];
	}
}

/* The binding of the test port for the current packet (NULL: not bound). */
static const struct xs_binding *port;

/*
 * The reference decision of `s` at the test port: a bound port's ingress
 * drops a source it may not use (the unspecified one only for DHCPv4);
 * otherwise the policy decides, link-local ends behind a bound port taking
 * its segment.
 */
static void ref_decide(bool egress, const struct pkt_spec *s, struct xs_decision *d)
{
	const struct xs_policy *pol = H.c->policy;
	struct xs_flow f = { 0 };
	static const uint8_t zero[16];

	f.family = (uint8_t)pkt_addr(s->src, f.saddr);
	pkt_addr(s->dst, f.daddr);
	f.proto = s->proto;
	f.dport =
		(s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) ? s->icmp_type : s->dport;
	if (port && !egress && !xs_policy_bind_allows(pol, port, f.family, f.saddr) &&
	    !(!memcmp(f.saddr, zero, 16) && f.family == 4 && s->proto == IPPROTO_UDP &&
	      s->sport == 68 && s->dport == 67)) {
		memset(d, 0, sizeof(*d));
		d->verdict = XS_VERDICT_DROP;
		d->reason = XS_REASON_SPOOFED;
		d->rule_id = port->rule_id;
		d->src_seg = port->seg;
		d->dst_seg = xs_policy_segment_of(pol, f.family, f.daddr);
		return;
	}
	f.src_port_seg = port && !egress ? port->seg : 0;
	f.dst_port_seg = port && egress ? port->seg : 0;
	xs_policy_evaluate(pol, &f, d);
}

/* Report a mismatch with the policy that made it. */
#define mismatch(what, s, text, ...)                                                              \
	cr_assert_fail("%s %s -> %s proto %u port %u type %u: " what "; policy:\n%s",             \
		       egress ? "egress" : "ingress", (s)->src, (s)->dst, (s)->proto, (s)->dport, \
		       (s)->icmp_type, __VA_ARGS__, text)

/*
 * Run `s` and compare with the reference decision `want`; returns whether
 * the packet passed.
 */
static bool check_decision(bool egress, const struct pkt_spec *s, const struct xs_decision *want,
			   const char *text)
{
	const struct xs_event *e = &H.ev[0];
	struct pkt p;
	bool passed;

	cr_assert_eq(pkt_build(&p, s), 0, "pkt_build");
	passed = h_passed(egress, h_run(&H, egress, &p));
	cr_assert_eq(H.nev, 1, "%zu events for a new flow", H.nev);
	if (passed != (want->verdict != XS_VERDICT_DROP) || e->verdict != want->verdict ||
	    e->reason != want->reason || e->rule_id != want->rule_id)
		mismatch("datapath %s, event %s/%s rule %u; reference %s/%s rule %u", s, text,
			 passed ? "passed" : "dropped", xs_verdict_name(e->verdict),
			 xs_reason_name(e->reason), e->rule_id, xs_verdict_name(want->verdict),
			 xs_reason_name(want->reason), want->rule_id);
	/* and every other field of the event */
	h_expect_event_segs(&H, egress, s, &p, want->verdict, want->reason, want->rule_id,
			    want->src_seg, want->dst_seg);
	return passed;
}

/* A first packet: the reference decides it. */
static bool check_one(bool egress, const struct pkt_spec *s, const char *text)
{
	struct xs_decision want;
	struct xs_tuple k;
	bool passed;

	ref_decide(egress, s, &want);
	passed = check_decision(egress, s, &want, text);
	/* GRE and non-query ICMP are tracked by address pair: a repeat must be new
	 * again (its decision may differ at a bound port) */
	if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP) {
		struct pkt p;

		h_tuple(s, &k);
		xs_flow_delete(&H.maps, &k);
		cr_assert_eq(pkt_build(&p, s), 0);
		h_deny_forget(&H, s);
	}
	return passed;
}

/* Bytes of L4 header the datapath reads (a first fragment must hold them). */
static size_t l4_len(const struct pkt_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	}
	return 0;
}

/*
 * A fragmented datagram: the first fragment is decided as the flow; a later
 * one, past the headers, passes exactly when the first did.
 */
static void check_fragments(struct rng *r, bool egress, struct pkt_spec *s, const char *text)
{
	static const uint8_t data[16] = { 0xde, 0xad, 0xbe, 0xef };
	struct pkt_spec later;
	bool first_passed;
	struct pkt p;

	s->frag = s->more_frags = true;
	s->frag_id = 0x10000 + s->sport + (uint32_t)rnd(r, 1000) * 65536;
	later = *s;
	first_passed = check_one(egress, s, text);
	later.more_frags = rnd(r, 2);
	later.frag_off = (uint16_t)((l4_len(s) + 7) / 8 + rnd(r, 4));
	if (!later.frag_off)
		later.frag_off = 1;
	later.raw = data;
	later.raw_len = sizeof(data);
	cr_assert_eq(pkt_build(&p, &later), 0, "pkt_build");
	if (h_passed(egress, h_run(&H, egress, &p)) != first_passed)
		mismatch("a later fragment %s, its first fragment %s", s, text,
			 first_passed ? "dropped" : "passed", first_passed ? "passed" : "dropped");
	if (first_passed) {
		cr_assert_eq(H.nev, 0, "a later fragment of an accepted datagram made an event");
	} else {
		cr_assert_eq(H.nev, 1);
		if (H.ev[0].reason == XS_REASON_SPOOFED) {
			cr_assert_eq(H.ev[0].rule_id, port->rule_id); /* from the port's ingress */
		} else {
			cr_assert_eq(H.ev[0].reason, XS_REASON_FRAGMENT);
			cr_assert_eq(H.ev[0].rule_id, 0);
		}
	}
}

/* The L4 header cut short by the IP length (a fragment or not): malformed. */
static void check_truncated(struct rng *r, bool egress, struct pkt_spec *s, const char *text)
{
	struct pkt p;

	s->frag = s->more_frags = rnd(r, 2);
	s->frag_id = s->sport;
	s->cut = s->payload + 1 + rnd(r, (uint32_t)l4_len(s) - 1);
	cr_assert_eq(pkt_build(&p, s), 0, "pkt_build");
	if (h_passed(egress, h_run(&H, egress, &p)))
		mismatch("passed with %zu bytes of its L4 header", s, text, l4_len(s) - s->cut);
	cr_assert_eq(H.nev, 1);
	cr_assert_eq(H.ev[0].reason, XS_REASON_MALFORMED, "reason %u", H.ev[0].reason);
	cr_assert_eq(H.ev[0].rule_id, 0);
}

/* Make `s` come from one of the addresses bound to `b` (its first prefix). */
static void bind_source(struct rng *r, const struct xs_binding *b, struct pkt_spec *s, char *src)
{
	uint8_t a[16] = { 0 };
	const struct xs_prefix *px = NULL;
	int family = strchr(s->dst, ':') ? 6 : 4;

	for (size_t i = 0; i < b->nprefixes && !px; i++)
		if (b->prefixes[i].family == family)
			px = &b->prefixes[i];
	if (!px)
		return;
	memcpy(a, px->addr, 16);
	if (px->len < (family == 4 ? 32 : 128))
		a[family == 4 ? 3 : 15] = (uint8_t)rnd(r, 256);
	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, src, INET6_ADDRSTRLEN);
	s->src = src;
}

/* The last tracked TCP/UDP flow of this policy, for ICMP errors to quote. */
struct quoted {
	bool valid;
	struct pkt pkt;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
};

/*
 * An ICMP error quoting flow `q`: towards the quoted sender it is related
 * (passes, no event); towards anyone else it is an ICMP flow the policy
 * decides by its type.
 */
static void check_icmp_error(struct rng *r, bool egress, const struct quoted *q, int nseg,
			     const char *text)
{
	static const uint8_t v4[] = { 3, 11, 12 }, v6[] = { 1, 2, 3, 4 };
	char other[INET6_ADDRSTRLEN];
	struct pkt_spec e = { 0 };
	struct xs_decision want;
	uint8_t a[16];

	e.proto = q->pkt.family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	e.icmp_type = q->pkt.family == 4 ? v4[rnd(r, sizeof(v4))] : v6[rnd(r, sizeof(v6))];
	e.icmp_code = (uint8_t)rnd(r, 4);
	e.quote = q->pkt.data + q->pkt.l3;
	e.quote_len = q->pkt.len - q->pkt.l3;
	e.src = q->dst;
	if (rnd(r, 2)) {
		e.dst = q->src;
		ref_decide(egress, &e, &want);
		if (want.reason == XS_REASON_SPOOFED)
			check_decision(egress, &e, &want, text);
		else
			h_check(&H, egress, &e, XS_VERDICT_ALLOW, XS_REASON_RELATED, 0);
		return;
	}
	do {
		if (fp)
			fast_addr(r, (uint8_t)q->pkt.family, a);
		else
			rand_addr(r, nseg, (uint8_t)q->pkt.family, a);
		inet_ntop(q->pkt.family == 4 ? AF_INET : AF_INET6, a, other, sizeof(other));
	} while (!strcmp(other, q->src));
	e.dst = other;
	ref_decide(egress, &e, &want);
	check_decision(egress, &e, &want, text);
}

/* The policies a seed runs. */
enum gen {
	GEN_LL,	  /* rand_policy_ll(): link-local, binds, 'any', services */
	GEN_FAST, /* fast_policy(): the fast path's tables, every pair class */
	GEN_BIG,  /* fast_policy(big): too large for them, the tries decide */
};

/* The set in force's xs_fast flags. */
static uint16_t fast_flags(void)
{
	struct xs_fast_info fi;
	__u32 set = H.generation & 1;

	cr_assert_eq(bpf_map_lookup_elem(H.maps.fast, &set, &fi), 0);
	return fi.flags;
}

static void run_seed(uint64_t seed, int npolicies, int nflows, enum gen gen)
{
	struct rng r = { seed };
	uint16_t sport = 1024;
	size_t checked = 0, dropped = 0, frags = 0, errors = 0, cut = 0, bound = 0;
	size_t classes[4] = { 0 };
	struct fpol fpbuf;

	for (int n = 0; n < npolicies; n++) {
		struct quoted q = { 0 };
		struct xs_fast *derived = NULL;
		int nseg;
		char *text;

		if (gen == GEN_LL) {
			text = rand_policy_ll(&r, &nseg);
		} else {
			text = fast_policy(&r, &fpbuf, gen == GEN_BIG);
			nseg = fpbuf.nseg;
			fp = &fpbuf;
		}
		h_push(&H, text);
		/* the datapath uses the fast path's tables, or (too large) the tries */
		cr_assert_eq(xs_fast_build(H.c, &derived), 0);
		cr_assert_eq(fast_flags() & ~XS_FASTF_PAIRA,
			     gen == GEN_BIG ? XS_FASTF_READY | XS_FASTF_TRIE4 | XS_FASTF_TRIE6
					    : XS_FASTF_READY | XS_FASTF_SEG6A,
			     "xs_fast flags 0x%x; policy:\n%s", fast_flags(), text);
		/* pair-wide entries (every class is generated): in the array */
		cr_assert_eq(!!(fast_flags() & XS_FASTF_PAIRA), derived->npairs > 0,
			     "xs_fast flags 0x%x with %zu pair-wide entries", fast_flags(),
			     derived->npairs);
		for (int i = 0; i < nflows; i++) {
			char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], name[8];
			struct pkt_spec s;
			bool egress = rnd(&r, 2);
			uint32_t kind = rnd(&r, 20);

			/* the test port is p0..p5 (bound when the policy binds it) or none */
			snprintf(name, sizeof(name), "p%u", rnd(&r, 8));
			port = xs_policy_binding_for(H.c->policy, name);
			if (name[1] < '6')
				h_bind(&H, name);
			else
				h_unbind(&H);
			bound += port != NULL;
			rand_spec(&r, nseg, sport++, &s, src, dst);
			if (port && rnd(&r, 3) == 0) /* the port's own source */
				bind_source(&r, port, &s, src);
			if (kind < 2 && q.valid) {
				check_icmp_error(&r, egress, &q, nseg, text);
				errors++;
				continue;
			}
			if (kind < 4 && l4_len(&s)) {
				check_truncated(&r, egress, &s, text);
				cut++;
				continue;
			}
			if (kind < 7) {
				check_fragments(&r, egress, &s, text);
				frags++;
			} else {
				bool passed = check_one(egress, &s, text);
				const struct xs_event *e = &H.ev[0];

				/* the class of the pair the event names */
				if (e->src_seg < derived->npairc)
					classes[xs_pair_class_of(&derived->pairc[e->src_seg],
								 e->dst_seg)]++;
				if (passed && (s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP) &&
				    !s.next) {
					/* (the datapath reads no extension header in a
					 * quoted packet: an error quoting one is decided
					 * as ICMP) */
					q.valid = true;
					cr_assert_eq(pkt_build(&q.pkt, &s), 0);
					snprintf(q.src, sizeof(q.src), "%s", src);
					snprintf(q.dst, sizeof(q.dst), "%s", dst);
				}
			}
			checked++;
			dropped += H.ev[0].verdict == XS_VERDICT_DROP;
		}
		xs_fast_free(derived);
		fp = NULL;
		free(text);
	}
	/* the random policies must exercise both outcomes, and every kind of packet */
	cr_assert_gt(dropped, checked / 10, "only %zu of %zu dropped", dropped, checked);
	cr_assert_lt(dropped, checked - checked / 10, "%zu of %zu dropped", dropped, checked);
	cr_assert_gt(frags, checked / 10, "%zu fragmented datagrams", frags);
	cr_assert_gt(errors, checked / 20, "%zu ICMP errors", errors);
	cr_assert_gt(cut, checked / 20, "%zu truncated headers", cut);
	if (gen == GEN_LL)
		cr_assert_gt(bound, checked / 10, "%zu packets at a bound port", bound);
	/* ... and, for the fast path, pairs of every class */
	for (int k = 0; gen == GEN_FAST && k < 4; k++)
		cr_assert_gt(classes[k], checked / 100, "%zu new flows of pairs of class %d of %zu",
			     classes[k], k, checked);
	h_unbind(&H);
	port = NULL;
}

Test(random, datapath_matches_reference_seed_1)
{
	run_seed(1, 200, 200, GEN_LL);
}

Test(random, datapath_matches_reference_seed_2)
{
	run_seed(0x5eed5eed, 200, 200, GEN_LL);
}

Test(random, datapath_matches_reference_seed_3)
{
	run_seed(20261123, 200, 200, GEN_LL);
}

/* The fast path's tables: DIR levels, IPv6 lengths, pair classes. */
Test(random, fast_path_matches_reference_seed_1)
{
	run_seed(9, 200, 200, GEN_FAST);
}

Test(random, fast_path_matches_reference_seed_2)
{
	run_seed(0xfa57, 200, 200, GEN_FAST);
}

/* Too large for them: the tries decide (fewer policies: each is large). */
Test(random, fallback_to_the_tries_matches_reference)
{
	run_seed(0xb16, 6, 400, GEN_BIG);
}

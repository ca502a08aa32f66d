// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg verify SRC DST PROTO/PORT: would this flow pass? Decided from the
 * compiled tables the datapath decides with (the running policy's, read back
 * from the kernel, or a file's) by the same lookups and the same decision
 * code (policy.h, "Lookups over the compiled tables"), so the answer is the
 * datapath's for the first packet of that flow. The running policy's
 * fast-path tables, which the datapath asks before (or instead of) the
 * tables read back, are checked to hold it (ctl/fastcheck.h).
 *
 * What depends on more than the flow's addresses, protocol and port, and
 * how verify treats it:
 *  - the bound port the packet crosses (`bind`): a source behind a bound port
 *    is checked against its addresses (anti-spoofing) and a link-local end
 *    takes the port's segment; verify knows the port only from --src-iface /
 *    --dst-iface (without them: no port, as on an unbound interface);
 *  - ICMPv6 neighbour discovery (133-137, hop limit 255) and MLD (130-132,
 *    143, hop limit 1, from a link-local or the unspecified source) are
 *    exempt from the policy: verify assumes the hop limit such a message
 *    has, and says what the policy decides otherwise;
 *  - an ICMP error quoting a tracked flow passes as related: verify decides
 *    one that quotes none, and says so;
 *  - a TCP packet without SYN may belong to a connection the peer opened;
 *    verify decides a new flow (the SYN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl/show.h"
#include "json.h"
#include "policy_view.h"
#include "util.h"

static const char verify_help[] =
	"Usage: xdpseg verify SRC DST PROTO/PORT [--policy FILE [-I DIR]...] [--json]\n"
	"                     [--src-iface IFACE] [--dst-iface IFACE]\n\n"
	"Would a new flow from SRC to DST pass? PROTO/PORT is tcp/443, udp/53,\n"
	"icmp/8 or icmpv6/128 (ICMP: the type), or a protocol number without\n"
	"ports (47, ip-47). The answer comes from the running policy as the kernel\n"
	"holds it (read back from its active set, never recompiled), or from FILE\n"
	"compiled alone; the same tables and the same decision as the datapath.\n"
	"The set's fast-path tables (the datapath's segment arrays and pair\n"
	"classes) are derived again from what was read back and compared: a\n"
	"difference is an error that names the table and the entry.\n"
	"It names the segment (and the prefix that matched) of both addresses,\n"
	"the verdict, and why: the deciding rule as FILE:LINE and its text, or the\n"
	"default and the side that denied, monitor mode, a quarantine, a grant\n"
	"(and when it ends), a failsafe port.\n\n"
	"  -p, --policy FILE       ask FILE instead of the running policy (without the\n"
	"                          overlays in force: apply --dry-run shows those)\n"
	"      --src-iface IFACE   the source is behind interface IFACE: a bound port\n"
	"                          checks its source address and classifies a\n"
	"                          link-local source by its segment\n"
	"      --dst-iface IFACE   the destination is behind interface IFACE (a link-local\n"
	"                          destination takes its bound segment)\n"
	"  -j, --json              print one JSON object\n" XS_CLI_HELP_INCLUDE
	"  -h, --help              this help\n\n"
	"Exit status: 0 the flow passes (allow, or audit in monitor mode), 1 it is\n"
	"dropped, 2 a usage error, no policy to ask, or tables that do not hold it.\n";

#define XS_EXIT_VERIFY_TROUBLE 2

/* ---- The question ---------------------------------------------------------- */

struct question {
	uint8_t family;
	uint8_t saddr[16], daddr[16];
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	uint8_t proto;
	uint16_t port; /* ICMP: the type */
	bool has_port;
	const char *src_iface, *dst_iface;
};

static int parse_addr(const char *s, uint8_t *out, uint8_t *family)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = 6;
		return 0;
	}
	return -EINVAL;
}

static int parse_num(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || *end || *v > max)
		return -EINVAL;
	return 0;
}

/* PROTO/PORT into q; returns 0 or prints a usage error (and returns 2). */
static int parse_service(const char *s, struct question *q)
{
	char name[32];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long v;

	if (n >= sizeof(name))
		return p_usage("verify", "'%s' is no PROTO/PORT (tcp/443, udp/53, icmp/8)", s);
	memcpy(name, s, n);
	name[n] = '\0';
	if (!strcmp(name, "tcp"))
		q->proto = 6;
	else if (!strcmp(name, "udp"))
		q->proto = 17;
	else if (!strcmp(name, "icmp"))
		q->proto = 1;
	else if (!strcmp(name, "icmpv6") || !strcmp(name, "icmp6"))
		q->proto = 58;
	else if (!parse_num(!strncmp(name, "ip-", 3) ? name + 3 : name, 255, &v))
		q->proto = (uint8_t)v;
	else
		return p_usage("verify",
			       "unknown protocol '%s': tcp, udp, icmp, icmpv6, or a number", name);
	if (q->proto == 6 || q->proto == 17 || q->proto == 1 || q->proto == 58) {
		bool icmp = q->proto == 1 || q->proto == 58;

		if (!slash)
			return p_usage("verify", "'%s' needs a %s: %s/%s", s,
				       icmp ? "type" : "port", name, icmp ? "8" : "443");
		if (parse_num(slash + 1, icmp ? 255 : 65535, &v))
			return p_usage("verify", "'%s' is not a %s (0-%u)", slash + 1,
				       icmp ? "type" : "port", icmp ? 255u : 65535u);
		q->port = (uint16_t)v;
		q->has_port = true;
		return 0;
	}
	if (slash)
		return p_usage("verify", "protocol %u has no ports: name it alone ('%u')", q->proto,
			       q->proto);
	return 0;
}

/* ---- The answer -------------------------------------------------------------- */

struct answer {
	struct xs_lookup lk;
	struct xs_decision policy; /* what the policy decides (lk.d), before an exemption */
	bool spoofed;		   /* dropped at the source's bound port */
	uint32_t src_bind, dst_bind;
	bool exempt; /* ICMPv6 the kernel needs */
	bool icmp_error;
	bool grant_ended; /* the entry is a grant whose end has passed */
};

static bool addr_zero(const uint8_t *a)
{
	static const uint8_t z[16];

	return !memcmp(a, z, 16);
}

/* Does the datapath take this from a bound port (bpf/lib/bind.h)? */
static bool spoofed(const struct xs_tables *t, const struct question *q, uint32_t bind)
{
	if (!xs_tables_bind_allows(t, bind, q->family, q->saddr)) {
		if (!addr_zero(q->saddr))
			return true;
		/* the unspecified source: DHCPv4 (68 -> 67, the port verify assumes),
		 * duplicate address detection and MLD */
		if (q->family == 4)
			return !(q->proto == 17 && q->port == 67);
		return !(q->proto == 58 && (q->port == 135 || q->port == 131 || q->port == 143));
	}
	/* router advertisements and redirects never (RA guard) */
	return q->family == 6 && q->proto == 58 && (q->port == 134 || q->port == 137);
}

/* ICMPv6 the datapath lets pass without asking the policy (bpf/lib/l4.h),
 * with the hop limit such a message has. */
static bool nd_exempt(const struct question *q)
{
	if (q->family != 6 || q->proto != 58)
		return false;
	if (q->port >= 133 && q->port <= 137)
		return true;
	if (q->port == 130 || q->port == 131 || q->port == 132 || q->port == 143)
		return (q->saddr[0] == 0xfe && (q->saddr[1] & 0xc0) == 0x80) || addr_zero(q->saddr);
	return false;
}

static bool icmp_error(const struct question *q)
{
	if (q->proto == 1 && q->family == 4)
		return q->port == 3 || q->port == 4 || q->port == 5 || q->port == 11 ||
		       q->port == 12;
	return q->proto == 58 && q->family == 6 && q->port >= 1 && q->port <= 4;
}

static void decide(const struct xs_view *v, const struct question *q, struct answer *a)
{
	const struct xs_compiled *c = v->c;
	struct xs_flow f = { .family = q->family, .proto = q->proto, .dport = q->port };
	struct xs_tables t;

	memset(a, 0, sizeof(*a));
	xs_tables_init(&t, c);
	memcpy(f.saddr, q->saddr, 16);
	memcpy(f.daddr, q->daddr, 16);
	if (q->src_iface)
		a->src_bind = xs_tables_bind_for(c, q->src_iface);
	if (q->dst_iface)
		a->dst_bind = xs_tables_bind_for(c, q->dst_iface);
	/* the first hook to see the new flow decides it: the source's port's
	 * ingress when it is known, else the destination's port's egress */
	if (a->src_bind)
		f.src_port_seg = c->binds[a->src_bind].seg;
	else if (a->dst_bind)
		f.dst_port_seg = c->binds[a->dst_bind].seg;
	xs_tables_decide(&t, &f, v->now_tai, &a->lk);
	a->policy = a->lk.d;
	a->grant_ended = a->lk.entry && (a->lk.entry->val.flags & XS_RULEF_GRANT) &&
			 v->now_tai >= a->lk.entry->val.expires;
	a->icmp_error = icmp_error(q);
	if (a->src_bind && spoofed(&t, q, a->src_bind)) {
		a->spoofed = true;
		a->lk.d.verdict = XS_VERDICT_DROP;
		a->lk.d.reason = XS_REASON_SPOOFED;
		a->lk.d.rule_id = c->binds[a->src_bind].rule_id;
		a->lk.d.src_seg = c->binds[a->src_bind].seg;
		a->lk.d.dst_seg = a->lk.dst.seg;
		a->lk.d.deadline = 0;
		return;
	}
	if (nd_exempt(q)) {
		a->exempt = true;
		a->lk.d.verdict = XS_VERDICT_ALLOW;
		a->lk.d.reason = XS_REASON_ND;
		a->lk.d.rule_id = 0;
		a->lk.d.deadline = 0;
	}
}

/* ---- Printing ------------------------------------------------------------------ */

static void service(const struct question *q, char *buf, size_t size)
{
	if (q->has_port)
		xs_view_service(buf, size, q->proto, q->port, q->port);
	else
		xs_view_service(buf, size, q->proto, 1, 0);
}

/* "clients (10.20.0.0/16)", "world (no segment holds it)", ... */
static void put_end(FILE *out, const struct xs_view *v, const struct xs_seg_match *m, uint16_t seg,
		    bool by_port, const char *iface)
{
	char pfx[64], b1[32], b2[32];

	xs_view_prefix(pfx, sizeof(pfx), m->family, m->prefix, m->len);
	if (by_port) {
		fprintf(out, "%s (%s %s, behind ", xs_view_seg(v->c, seg, b1, sizeof(b1)),
			xs_view_seg(v->c, m->seg, b2, sizeof(b2)), pfx);
		xs_print_escaped(out, iface);
		fprintf(out, ", a port bound to it)");
	} else if (m->len < 0) {
		fprintf(out, "world (no segment holds it)");
	} else {
		fprintf(out, "%s (%s)", xs_view_seg(v->c, seg, b1, sizeof(b1)), pfx);
	}
}

static void put_overlay(FILE *out, const struct xs_view *v, uint32_t rule_id)
{
	const struct xs_overlay_entry *o = xs_compiled_overlay(v->c, rule_id);
	char when[64], left[32];

	if (!o)
		return;
	if (o->rec.kind == XS_OVERLAY_GRANT && o->rec.expires) {
		uint64_t now = v->now_tai - (uint64_t)v->tai_offset;

		xs_show_time(o->rec.expires, when, sizeof(when));
		if (o->rec.expires > now) {
			xs_format_duration(o->rec.expires - now, left, sizeof(left));
			fprintf(out, "\n           until %s (%s left)", when, left);
		} else {
			fprintf(out, "\n           ended %s", when);
		}
	}
	if (o->rec.reason[0]) {
		fprintf(out, "\n           reason: ");
		xs_print_escaped(out, o->rec.reason);
	}
}

/* "no rule for SRC -> DST SERVICE; WHY1 SEG WHY2", then the origin's indent. */
static void no_rule(FILE *out, const char *sn, const char *dn, const char *svc, const char *why1,
		    const char *seg, const char *why2)
{
	fprintf(out, "no rule for %s -> %s %s; %s%s%s\n           ", sn, dn, svc, why1, seg, why2);
}

/* The "why" of a decision, one or more lines under "  why:". */
static void put_why(FILE *out, const struct xs_view *v, const struct question *q,
		    const struct answer *a, const struct xs_decision *d)
{
	const struct xs_compiled *c = v->c;
	char svc[32], s[32], t[32];
	const char *sn = xs_view_seg(c, d->src_seg, s, sizeof(s));
	const char *dn = xs_view_seg(c, d->dst_seg, t, sizeof(t));

	service(q, svc, sizeof(svc));
	switch (d->reason) {
	case XS_REASON_RULE:
		fprintf(out, "allowed by ");
		break;
	case XS_REASON_DENY_RULE:
		fprintf(out, "denied by ");
		break;
	case XS_REASON_DEFAULT:
		no_rule(out, sn, dn, svc, "both defaults allow (", dn, " in allow)");
		break;
	case XS_REASON_DEFAULT_IN:
		no_rule(out, sn, dn, svc, "the destination denies by default (", dn, " in deny)");
		break;
	case XS_REASON_DEFAULT_OUT:
		no_rule(out, sn, dn, svc, "the source denies by default (", sn, " out deny)");
		break;
	case XS_REASON_QUARANTINE:
		fprintf(out,
			"%s is quarantined: nothing in or out but its forensic access\n           ",
			(c->seginfo && d->dst_seg < c->nseginfo &&
			 (c->seginfo[d->dst_seg].flags & XS_SEGF_QUARANTINE))
				? dn
				: sn);
		break;
	case XS_REASON_FORENSIC:
		fprintf(out, "forensic access into a quarantine: ");
		break;
	case XS_REASON_GRANT:
		fprintf(out, "granted: ");
		break;
	case XS_REASON_FAILSAFE:
		fprintf(out, "a failsafe port (no rule may drop it): ");
		break;
	case XS_REASON_SPOOFED:
		xs_print_escaped(out, q->src_iface);
		fprintf(out, " is bound to %s and may not send from %s\n           ", sn, q->src);
		break;
	case XS_REASON_ND:
		fprintf(out, "ICMPv6 type %u as the kernel needs it (%s): exempt from the policy",
			q->port,
			q->port >= 133 ? "neighbour discovery, hop limit 255" : "MLD, hop limit 1");
		return;
	default:
		break;
	}
	xs_origin_print(out, c, d->rule_id);
	if (d->reason == XS_REASON_GRANT || d->reason == XS_REASON_QUARANTINE ||
	    d->reason == XS_REASON_FORENSIC)
		put_overlay(out, v, d->rule_id);
	(void)a;
}

static void put_text(const struct xs_view *v, const struct question *q, const struct answer *a)
{
	const struct xs_decision *d = &a->lk.d;
	char svc[32], s[32];

	service(q, svc, sizeof(svc));
	printf("%s %s -> %s %s\n", xs_verdict_name(d->verdict), q->src, q->dst, svc);
	printf("  from:    ");
	put_end(stdout, v, &a->lk.src, a->spoofed ? a->lk.src.seg : a->lk.d.src_seg,
		a->lk.src_by_port, q->src_iface);
	printf("\n  to:      ");
	put_end(stdout, v, &a->lk.dst, a->spoofed ? a->lk.dst.seg : a->lk.d.dst_seg,
		a->lk.dst_by_port, q->dst_iface);
	printf("\n  why:     ");
	put_why(stdout, v, q, a, d);
	printf("\n");
	if (d->verdict == XS_VERDICT_AUDIT) {
		const struct xs_compiled *c = v->c;
		bool src_mon = d->src_seg < c->nseginfo && c->seginfo[d->src_seg].monitor;

		printf("  mode:    would drop; passes as an audit: %s is in monitor mode\n",
		       xs_view_seg(c, src_mon ? d->src_seg : d->dst_seg, s, sizeof(s)));
	}
	if (a->grant_ended) {
		printf("  note:    the grant ");
		xs_origin_print(stdout, v->c, a->lk.entry->val.rule_id);
		printf(" has ended: decided as without it\n");
	}
	if (a->exempt || (a->spoofed && a->policy.verdict != d->verdict)) {
		printf("  else:    the policy would %s it: ",
		       a->policy.verdict == XS_VERDICT_DROP ? "drop" : "pass");
		put_why(stdout, v, q, a, &a->policy);
		printf("\n");
	}
	if (a->icmp_error)
		printf("  note:    an ICMP error quoting a tracked flow passes as related; this is "
		       "one that quotes none\n");
	if (q->src_iface && !a->src_bind) {
		printf("  note:    no bind statement matches ");
		xs_print_escaped(stdout, q->src_iface);
		printf(": an unbound interface\n");
	}
	if (q->dst_iface && !a->dst_bind) {
		printf("  note:    no bind statement matches ");
		xs_print_escaped(stdout, q->dst_iface);
		printf(": an unbound interface\n");
	}
	if (a->src_bind && a->dst_bind)
		printf("  note:    decided at the source's port (%s); the destination's port sees "
		       "a tracked flow\n",
		       q->src_iface);
	if (!a->src_bind && !a->dst_bind && v->c->setinfo.nbinds &&
	    (a->lk.src.seg == v->c->setinfo.ll_seg || a->lk.dst.seg == v->c->setinfo.ll_seg))
		printf("  note:    behind a bound port a link-local address takes the port's "
		       "segment: --src-iface/--dst-iface\n");
	printf("  policy:  ");
	xs_view_describe(stdout, v);
	printf("\n");
}

static void json_end(FILE *out, const char *key, const struct xs_view *v,
		     const struct xs_seg_match *m, uint16_t seg)
{
	char pfx[64], b[32];

	fprintf(out, ",\"%s_seg\":", key);
	json_print_str(out, xs_view_seg(v->c, seg, b, sizeof(b)));
	fprintf(out, ",\"%s_seg_id\":%u,\"%s_prefix\":", key, seg, key);
	if (m->len < 0) {
		fprintf(out, "null");
	} else {
		xs_view_prefix(pfx, sizeof(pfx), m->family, m->prefix, m->len);
		json_print_str(out, pfx);
	}
}

static void json_decision(FILE *out, const struct xs_view *v, const struct xs_decision *d)
{
	const struct xs_overlay_entry *o = xs_compiled_overlay(v->c, d->rule_id);

	fprintf(out, "\"verdict\":\"%s\",\"reason\":\"%s\",\"rule_id\":%u,\"origin\":",
		xs_verdict_name(d->verdict), xs_reason_name(d->reason), d->rule_id);
	xs_view_origin_json(out, v->c, d->rule_id);
	if (o) {
		fprintf(out,
			",\"overlay\":{\"number\":%u,\"kind\":\"%s\",\"expires\":%llu,"
			"\"reason\":",
			o->rec.number, o->rec.kind == XS_OVERLAY_GRANT ? "grant" : "quarantine",
			(unsigned long long)o->rec.expires);
		json_print_str(out, o->rec.reason);
		fprintf(out, "}");
	}
}

static void put_json(const struct xs_view *v, const struct question *q, const struct answer *a)
{
	const struct xs_decision *d = &a->lk.d;
	char svc[32];

	service(q, svc, sizeof(svc));
	printf("{\"src\":");
	json_print_str(stdout, q->src);
	printf(",\"dst\":");
	json_print_str(stdout, q->dst);
	printf(",\"service\":");
	json_print_str(stdout, svc);
	printf(",\"proto\":%u", q->proto);
	if (q->has_port)
		printf(",\"%s\":%u", q->proto == 1 || q->proto == 58 ? "icmp_type" : "dport",
		       q->port);
	json_end(stdout, "src", v, &a->lk.src, a->spoofed ? a->lk.src.seg : d->src_seg);
	json_end(stdout, "dst", v, &a->lk.dst, a->spoofed ? a->lk.dst.seg : d->dst_seg);
	printf(",\"src_by_port\":%s,\"dst_by_port\":%s,", a->lk.src_by_port ? "true" : "false",
	       a->lk.dst_by_port ? "true" : "false");
	json_decision(stdout, v, d);
	printf(",\"monitor\":%s", d->verdict == XS_VERDICT_AUDIT ? "true" : "false");
	if (d->deadline)
		printf(",\"deadline_tai\":%u", d->deadline);
	printf(",\"grant_ended\":%s,\"exempt\":%s,\"icmp_error\":%s",
	       a->grant_ended ? "true" : "false", a->exempt ? "true" : "false",
	       a->icmp_error ? "true" : "false");
	if (a->exempt || a->spoofed) {
		printf(",\"policy_decision\":{");
		json_decision(stdout, v, &a->policy);
		printf("}");
	}
	printf(",\"policy\":");
	xs_view_json(stdout, v);
	printf("}\n");
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "src-iface", required_argument, NULL, 'S' },
		{ "dst-iface", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		XS_CLI_OPT_INCLUDE,
		{ 0 },
	};
	const char *policy = NULL;
	struct question q = { 0 };
	struct answer a;
	struct xs_view v;
	uint8_t fam2;
	int c;

	optind = 0; /* options may follow the operands */
	while ((c = getopt_long(argc, argv, "p:jI:h", opts, NULL)) != -1) {
		switch (c) {
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_VERIFY_TROUBLE;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'S':
			q.src_iface = optarg;
			break;
		case 'D':
			q.dst_iface = optarg;
			break;
		case 'j':
			xs_json = true;
			break;
		case 'h':
			fputs(verify_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("verify", "bad option");
		}
	}
	if (argc - optind != 3)
		return p_usage("verify",
			       "name SRC DST PROTO/PORT (e.g. 10.0.0.1 10.0.0.2 tcp/443)");
	if (parse_addr(argv[optind], q.saddr, &q.family))
		return p_usage("verify", "'%s' is not an IPv4 or IPv6 address", argv[optind]);
	if (parse_addr(argv[optind + 1], q.daddr, &fam2))
		return p_usage("verify", "'%s' is not an IPv4 or IPv6 address", argv[optind + 1]);
	if (fam2 != q.family)
		return p_usage("verify", "%s and %s are not of one family", argv[optind],
			       argv[optind + 1]);
	if (parse_service(argv[optind + 2], &q))
		return XS_EXIT_USAGE;
	if (q.proto == 1 && q.family == 6)
		return p_usage("verify", "icmp is IPv4's; for IPv6 name icmpv6/TYPE");
	if (q.proto == 58 && q.family == 4)
		return p_usage("verify", "icmpv6 is IPv6's; for IPv4 name icmp/TYPE");
	inet_ntop(q.family == 4 ? AF_INET : AF_INET6, q.saddr, q.src, sizeof(q.src));
	inet_ntop(q.family == 4 ? AF_INET : AF_INET6, q.daddr, q.dst, sizeof(q.dst));

	if ((policy ? xs_view_file(&v, policy) : xs_view_running_checked(&v))) {
		xs_view_free(&v);
		return XS_EXIT_VERIFY_TROUBLE;
	}
	decide(&v, &q, &a);
	if (xs_json)
		put_json(&v, &q, &a);
	else
		put_text(&v, &q, &a);
	xs_view_free(&v);
	return a.lk.d.verdict == XS_VERDICT_DROP ? XS_EXIT_FAIL : XS_EXIT_OK;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * apply --dry-run FILE: what an apply of FILE would change, changing
 * nothing. FILE is compiled exactly as apply compiles it (ctl/operate.h:
 * the overlays in force, the configuration's failsafe ports) but not
 * pushed; then the semantic difference from the running policy (read back
 * from the kernel, as `diff running FILE`), and the tracked connections the
 * new policy would cut: a tracked flow is decided again, in its initiator's
 * direction, at its first packet under a new generation, so each one is
 * decided here by the new tables as the datapath will decide it; each with
 * what it has carried each way, and for how long.
 *
 * A link-local end of a tracked flow was classified by the bound port it
 * crossed; the entry recorded the segment that gave it: the new policy's
 * segment of that name stands in for the port's (binds that change with
 * the policy are not followed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "cmds.h"
#include "ctl/loader.h"
#include "ctl/operate.h"
#include "json.h"
#include "policy_view.h"
#include "util.h"

#define XS_DRY_RUN_LIMIT 10

/* A tracked connection as a flow in its initiator's direction. */
struct conn {
	const struct xs_ct_entry *e;
	struct xs_flow f;
	uint16_t sport;
	struct xs_lookup now;	   /* under the new policy */
	struct xs_decision before; /* what accepted it (the entry's record) */
	bool recorded;		   /* `before` is the running set's */
	uint64_t age_s;		   /* since its first packet */
};

static void conn_flow(const struct xs_ct_entry *e, uint64_t now, struct conn *c)
{
	bool init_b = e->v.flags & XS_CTF_INIT_B;
	__be16 sport = init_b ? e->k.port_b : e->k.port_a,
	       dport = init_b ? e->k.port_a : e->k.port_b;

	memset(c, 0, sizeof(*c));
	c->e = e;
	c->f.family = e->k.family;
	c->f.proto = e->k.proto;
	memcpy(c->f.saddr, init_b ? e->k.addr_b : e->k.addr_a, 16);
	memcpy(c->f.daddr, init_b ? e->k.addr_a : e->k.addr_b, 16);
	c->sport = ntohs(sport);
	c->f.dport = (e->k.proto == 1 || e->k.proto == 58) ? e->v.icmp_type : ntohs(dport);
	c->age_s = now > e->start_ns ? (now - e->start_ns) / XS_NS_PER_SEC : 0;
}

/* The new policy's id of the segment named as `seg` of the running policy; 0 none. */
static uint16_t same_name(const struct xs_compiled *run, uint16_t seg, const struct xs_compiled *c)
{
	const char *name = xs_compiled_segment_name(run, seg);

	if (!name || !c->policy)
		return 0;
	for (size_t i = 0; i < c->policy->nsegments; i++)
		if (c->policy->segments[i].name && !strcmp(c->policy->segments[i].name, name))
			return c->policy->segments[i].id;
	return 0;
}

/* Decide c->f under `t` (the new tables); a link-local end recorded with a
 * bound port's segment keeps that segment (by name). */
static void conn_decide(struct conn *c, const struct xs_view *run, const struct xs_tables *t,
			uint64_t now_tai)
{
	const struct xs_ct_val *v = &c->e->v;
	uint16_t run_ll = run->c->setinfo.ll_seg;

	c->recorded = v->generation == run->rb.generation;
	if (c->recorded) {
		c->before.rule_id = v->rule_id;
		c->before.reason = v->reason;
		c->before.src_seg = v->src_seg;
		c->before.dst_seg = v->dst_seg;
		c->before.verdict = (v->flags & XS_CTF_AUDIT) ? XS_VERDICT_AUDIT : XS_VERDICT_ALLOW;
		if (v->src_seg != run_ll) {
			struct xs_seg_match m;

			xs_tables_segment(t, c->f.family, c->f.saddr, &m);
			if (m.seg == t->c->setinfo.ll_seg)
				c->f.src_port_seg = same_name(run->c, v->src_seg, t->c);
		}
		if (v->dst_seg != run_ll) {
			struct xs_seg_match m;

			xs_tables_segment(t, c->f.family, c->f.daddr, &m);
			if (m.seg == t->c->setinfo.ll_seg)
				c->f.dst_port_seg = same_name(run->c, v->dst_seg, t->c);
		}
	} else {
		/* accepted by an older generation: the running policy decides it
		 * again at its next packet too */
		struct xs_tables rt;
		struct xs_lookup l;

		xs_tables_init(&rt, run->c);
		xs_tables_decide(&rt, &c->f, now_tai, &l);
		c->before = l.d;
	}
	xs_tables_decide(t, &c->f, now_tai, &c->now);
}

static void conn_ends(const struct conn *c, char *src, char *dst, size_t size)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	bool ports = c->f.proto == 6 || c->f.proto == 17;
	bool six = c->f.family == 6;

	inet_ntop(six ? AF_INET6 : AF_INET, c->f.saddr, a, sizeof(a));
	inet_ntop(six ? AF_INET6 : AF_INET, c->f.daddr, b, sizeof(b));
	if (ports) {
		snprintf(src, size, six ? "[%s]:%u" : "%s:%u", a, c->sport);
		snprintf(dst, size, six ? "[%s]:%u" : "%s:%u", b, c->f.dport);
	} else {
		snprintf(src, size, "%s", a);
		snprintf(dst, size, "%s", b);
	}
}

static void conn_service(const struct conn *c, char *buf, size_t size)
{
	if (c->f.proto == 1 || c->f.proto == 58)
		xs_view_service(buf, size, c->f.proto, c->f.dport, c->f.dport);
	else
		xs_view_service(buf, size, c->f.proto, 1, 0);
}

static void conn_text(const struct conn *c, const struct xs_view *run, const struct xs_view *nw)
{
	char s[64], d[64], svc[32], b1[32], b2[32];

	conn_ends(c, s, d, sizeof(s));
	conn_service(c, svc, sizeof(svc));
	printf("  %s %s -> %s  %s -> %s\n", svc, s, d,
	       xs_view_seg(nw->c, c->now.d.src_seg, b1, sizeof(b1)),
	       xs_view_seg(nw->c, c->now.d.dst_seg, b2, sizeof(b2)));
	printf("      was: %-5s %-12s ", xs_verdict_name(c->before.verdict),
	       xs_reason_name(c->before.reason));
	if (c->recorded)
		xs_origin_print(stdout, run->c, c->before.rule_id);
	else
		printf("(accepted by generation %u)", c->e->v.generation);
	printf("\n      now: %-5s %-12s ", xs_verdict_name(c->now.d.verdict),
	       xs_reason_name(c->now.d.reason));
	xs_origin_print(stdout, nw->c, c->now.d.rule_id);
	xs_format_duration(c->age_s, b1, sizeof(b1));
	printf("\n      carried: %llu packets, %llu bytes; back %llu packets, %llu bytes; for %s\n",
	       (unsigned long long)c->e->packets[0], (unsigned long long)c->e->bytes[0],
	       (unsigned long long)c->e->packets[1], (unsigned long long)c->e->bytes[1],
	       c->age_s ? b1 : "under 1s");
}

static void conn_json(const struct conn *c, const struct xs_view *run, const struct xs_view *nw,
		      bool first)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], svc[32], s1[32];

	inet_ntop(c->f.family == 6 ? AF_INET6 : AF_INET, c->f.saddr, a, sizeof(a));
	inet_ntop(c->f.family == 6 ? AF_INET6 : AF_INET, c->f.daddr, b, sizeof(b));
	conn_service(c, svc, sizeof(svc));
	printf("%s{\"service\":", first ? "" : ",");
	json_print_str(stdout, svc);
	printf(",\"proto\":%u,\"src\":\"%s\",\"dst\":\"%s\"", c->f.proto, a, b);
	if (c->f.proto == 6 || c->f.proto == 17)
		printf(",\"sport\":%u,\"dport\":%u", c->sport, c->f.dport);
	printf(",\"src_seg\":");
	json_print_str(stdout, xs_view_seg(nw->c, c->now.d.src_seg, s1, sizeof(s1)));
	printf(",\"dst_seg\":");
	json_print_str(stdout, xs_view_seg(nw->c, c->now.d.dst_seg, s1, sizeof(s1)));
	printf(",\"was\":{\"verdict\":\"%s\",\"reason\":\"%s\",\"generation\":%u,\"origin\":",
	       xs_verdict_name(c->before.verdict), xs_reason_name(c->before.reason),
	       c->e->v.generation);
	if (c->recorded)
		xs_view_origin_json(stdout, run->c, c->before.rule_id);
	else
		printf("null");
	printf("},\"now\":{\"verdict\":\"%s\",\"reason\":\"%s\",\"rule_id\":%u,\"origin\":",
	       xs_verdict_name(c->now.d.verdict), xs_reason_name(c->now.d.reason),
	       c->now.d.rule_id);
	xs_view_origin_json(stdout, nw->c, c->now.d.rule_id);
	printf("},\"packets\":[%llu,%llu],\"bytes\":[%llu,%llu],\"seconds\":%llu}",
	       (unsigned long long)c->e->packets[0], (unsigned long long)c->e->packets[1],
	       (unsigned long long)c->e->bytes[0], (unsigned long long)c->e->bytes[1],
	       (unsigned long long)c->age_s);
}

static int parse_limit(const char *s, size_t *limit)
{
	char *end;
	unsigned long v;

	*limit = XS_DRY_RUN_LIMIT;
	if (!s)
		return 0;
	if (!strcmp(s, "all")) {
		*limit = SIZE_MAX;
		return 0;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *s == '-' || *end || errno)
		return -EINVAL;
	*limit = v;
	return 0;
}

/* Nothing applied yet: what FILE is, as apply would make it the first policy. */
static int first_policy(const char *file)
{
	struct xs_compiled *c = NULL;
	char hash[65];

	if (xs_cli_compile(file, &c, NULL))
		return XS_EXIT_FAIL;
	xs_hex(c->hash, sizeof(c->hash), hash);
	if (xs_json) {
		printf("{\"dry_run\":true,\"running\":null,\"file\":");
		json_print_str(stdout, file);
		printf(",\"sha256\":\"%s\",\"connections\":{\"tracked\":0,\"cut\":0}}\n", hash);
	} else {
		printf("dry run: nothing applied, nothing changed\n"
		       "no policy is applied here: apply would make ");
		xs_print_escaped(stdout, file);
		printf(" (sha256 %.12s) the first one\n", hash);
	}
	xs_compiled_free(c);
	return XS_EXIT_OK;
}

int xs_cli_apply_dry_run(const char *file, const char *limit_arg)
{
	struct xs_view run = { 0 }, nw = { 0 };
	struct xs_operate op = { 0 };
	struct xs_ct_entry *ct = NULL;
	struct agent_config cfg;
	struct xs_semdiff d = { 0 };
	struct conn *cut = NULL;
	size_t nct = 0, ncut = 0, already = 0, limit;
	bool have_cfg = false, diffed = false;
	char err[256] = "";
	struct xs_tables t;
	struct xs_ctl ctl;
	int rc, ret = XS_EXIT_FAIL;

	if (parse_limit(limit_arg, &limit))
		return p_usage("apply", "--limit %s: a number of connections (or 'all')",
			       limit_arg);
	xs_ctl_init(&ctl);
	if (xs_cli_config(&cfg))
		return XS_EXIT_FAIL;
	have_cfg = true;
	xs_libbpf_log_setup();
	if (xs_ctl_check_env(ctl.dir))
		goto out;
	/* the lock: nothing changes under the preview (nothing is created either) */
	rc = xs_ctl_lock(&ctl, false);
	if (rc == -ENOENT) {
		ret = first_policy(file);
		goto out;
	}
	if (rc || xs_ctl_open(&ctl))
		goto out;

	op.file = file;
	op.search = xs_cli_include_ctx();
	op.state_dir = cfg.state_dir[0] ? cfg.state_dir : NULL;
	op.failsafe = cfg.failsafe;
	op.nfailsafe = cfg.nfailsafe;
	op.dry_run = true;
	op.allow_pending = true; /* a preview changes nothing: never refused */
	op.what = "apply --dry-run";
	if (xs_operate_push(&ctl, &op))
		goto out;

	run.running = true;
	rc = xs_readback(&ctl.maps, &run.c, &run.rb, err, sizeof(err));
	if (rc == -ENOENT) {
		ret = first_policy(file);
		goto out;
	}
	if (rc) {
		p_err("reading the policy in force from %s: %s", ctl.dir, err);
		goto out;
	}
	run.now_tai = xs_datapath_tai_s(&run.rb.cfg);
	run.tai_offset = xs_tai_offset();
	nw.c = op.comp;
	nw.file = file;
	nw.now_tai = run.now_tai;
	nw.tai_offset = run.tai_offset;
	if (xs_semdiff(run.c, run.now_tai, nw.c, nw.now_tai, &d)) {
		p_err("out of memory");
		goto out;
	}
	diffed = true;

	rc = xs_ct_read(&ctl.maps, xs_datapath_mono_ns(&run.rb.cfg), &ct, &nct);
	if (rc) {
		p_err("reading the tracked connections under %s: %s", ctl.dir, strerror(-rc));
		goto out;
	}
	cut = calloc(nct + 1, sizeof(*cut));
	if (!cut) {
		p_err("out of memory");
		goto out;
	}
	xs_tables_init(&t, nw.c);
	for (size_t i = 0; i < nct; i++) {
		struct conn c;

		conn_flow(&ct[i], xs_datapath_mono_ns(&run.rb.cfg), &c);
		conn_decide(&c, &run, &t, nw.now_tai);
		if (c.now.d.verdict != XS_VERDICT_DROP)
			continue;
		if (!c.recorded && c.before.verdict == XS_VERDICT_DROP) {
			already++; /* the running policy cuts it already */
			continue;
		}
		cut[ncut++] = c;
	}

	if (xs_json) {
		printf("{\"dry_run\":true,");
		xs_view_print_diff_json(stdout, &run, &nw, &d);
		printf(",\"connections\":{\"tracked\":%zu,\"cut\":%zu,\"cut_already\":%zu,"
		       "\"listed\":[",
		       nct, ncut, already);
		for (size_t i = 0; i < ncut && i < limit; i++)
			conn_json(&cut[i], &run, &nw, i == 0);
		printf("]}}\n");
	} else {
		printf("dry run: nothing applied, nothing changed\n");
		xs_view_print_diff_text(stdout, &run, &nw, &d);
		printf("tracked connections: %zu; the new policy would cut %zu of them at their "
		       "next packet%s\n",
		       nct, ncut, ncut ? ":" : "");
		for (size_t i = 0; i < ncut && i < limit; i++)
			conn_text(&cut[i], &run, &nw);
		if (ncut > limit)
			printf("  ... and %zu more (--limit N, or --limit all)\n", ncut - limit);
		if (already)
			printf("(%zu more, accepted by an older generation, the running policy "
			       "cuts already)\n",
			       already);
	}
	ret = XS_EXIT_OK;
out:
	if (diffed)
		xs_semdiff_free(&d);
	free(cut);
	free(ct);
	xs_view_free(&run);
	xs_operate_free(&op);
	xs_ctl_close(&ctl);
	if (have_cfg)
		agent_config_free(&cfg);
	return ret;
}

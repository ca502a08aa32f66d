// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg show: the running policy as the kernel enforces it, read back from
 * its active set (ctl/readback.h): segments with their prefixes (derived
 * ones too), defaults and modes, what each rule decides in the rule table
 * (its pairs and port ranges, where it wins), grants with the time left,
 * quarantines, failsafe ports, bound ports; generation and SHA-256 as
 * `status` shows them. With `status`, it answers "what is in force"
 * without the policy's files.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "cmds.h"
#include "ctl/show.h"
#include "json.h"
#include "policy_view.h"
#include "util.h"

static const char show_help[] =
	"Usage: xdpseg show [--json]\n\n"
	"The running policy as the kernel enforces it, read back from its active\n"
	"policy set (never from the files): the generation and SHA-256 (as\n"
	"'xdpseg status' shows them), every segment with its prefixes (derived\n"
	"segments of quarantines and grants too), defaults and mode; each rule\n"
	"with its origin (FILE:LINE and text) and what it decides in the rule\n"
	"table (segment pairs, protocols and port ranges, where it wins); grants\n"
	"with the time left, quarantines, failsafe ports, bound ports.\n\n"
	"  -j, --json   print one JSON object\n"
	"  -h, --help   this help\n\n"
	"Exit status: 0, or 1 when no policy is applied or it cannot be read.\n";

/* ---- What a rule decides ------------------------------------------------------- */

/* A rule entry as a range: (rule, src, dst, class, proto, lo..hi). */
struct span {
	uint32_t rule_id;
	uint16_t src, dst;
	uint8_t cls; /* 0 every protocol, 1 one protocol (every port), 2 ports */
	uint8_t proto;
	uint8_t action;
	uint8_t flags;
	uint32_t lo, hi;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->rule_id != y->rule_id)
		return x->rule_id < y->rule_id ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The rule table as spans sorted by rule, pair, protocol, port; neighbours
 * merged. */
static struct span *spans_of(const struct xs_compiled *c, size_t *n)
{
	struct span *v = calloc(c->nrules + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_entry *e = &c->rules[i];
		struct span *s = &v[i];

		s->rule_id = e->val.rule_id;
		s->src = e->key.src_seg;
		s->dst = e->key.dst_seg;
		s->action = e->val.action;
		s->flags = e->val.flags;
		s->proto = e->key.proto;
		if (e->key.prefixlen < XS_RULE_PLEN_PROTO) {
			s->cls = 0;
			s->proto = 0;
		} else if (e->key.prefixlen == XS_RULE_PLEN_PROTO) {
			s->cls = 1;
		} else {
			s->cls = 2;
			s->lo = ntohs(e->key.port);
			s->hi = s->lo + (1u << (XS_RULE_PLEN_PORT(16) - e->key.prefixlen)) - 1;
		}
	}
	qsort(v, c->nrules, sizeof(*v), span_cmp);
	for (size_t i = 0; i < c->nrules; i++) {
		if (k && v[i].cls == 2 && v[k - 1].cls == 2 && v[i].rule_id == v[k - 1].rule_id &&
		    v[i].src == v[k - 1].src && v[i].dst == v[k - 1].dst &&
		    v[i].proto == v[k - 1].proto && v[i].lo == v[k - 1].hi + 1 &&
		    v[i].action == v[k - 1].action && v[i].flags == v[k - 1].flags) {
			v[k - 1].hi = v[i].hi;
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
	return v;
}

static void span_service(const struct span *s, char *buf, size_t size)
{
	if (s->cls == 0)
		snprintf(buf, size, "any");
	else if (s->cls == 1)
		xs_view_service(buf, size, s->proto, 1, 0);
	else
		xs_view_service(buf, size, s->proto, s->lo, s->hi);
}

static const char *act(uint8_t a)
{
	return a == XS_ACT_ALLOW ? "allow" : a == XS_ACT_DENY ? "deny" : "none";
}

/* ---- Text ------------------------------------------------------------------------ */

static void put_prefixes(const struct xs_segment *s)
{
	char buf[64];

	for (size_t i = 0; i < s->nprefixes; i++) {
		xs_view_prefix(buf, sizeof(buf), s->prefixes[i].family, s->prefixes[i].addr,
			       s->prefixes[i].len);
		printf("%s%s", i ? ", " : "", buf);
	}
	if (!s->nprefixes)
		printf("-");
}

static void put_loc(const struct xs_compiled *c, uint32_t id)
{
	const struct xs_origin_entry *o = xs_compiled_origin(c, id);

	if (!o) {
		printf("#%u", id);
		return;
	}
	xs_print_escaped(stdout, o->file);
	printf(":%d", o->line);
}

static uint64_t unix_now(const struct xs_view *v)
{
	return v->now_tai - (uint64_t)v->tai_offset;
}

static void put_overlay_text(const struct xs_view *v, const struct xs_overlay_entry *o)
{
	char when[64], left[32];

	printf("  #%u ", o->rec.number);
	xs_print_escaped(stdout, o->rec.text);
	printf("\n");
	xs_show_time(o->rec.created, when, sizeof(when));
	printf("      since %s, uid %u", when, o->rec.uid);
	if (o->rec.kind == XS_OVERLAY_GRANT) {
		uint64_t now = unix_now(v);

		xs_show_time(o->rec.expires, when, sizeof(when));
		if (o->rec.expires > now) {
			xs_format_duration(o->rec.expires - now, left, sizeof(left));
			printf(", until %s (%s left)", when, left);
		} else {
			printf(", ended %s (the entry decides as without it)", when);
		}
		if (o->rec.flags & XS_RULEF_DRAIN)
			printf(", --drain");
	}
	printf("\n");
	if (o->rec.reason[0]) {
		printf("      reason: ");
		xs_print_escaped(stdout, o->rec.reason);
		printf("\n");
	}
}

static bool rule_kind(uint32_t kind)
{
	return kind == XS_ORIGIN_RULE || kind == XS_ORIGIN_FORENSIC || kind == XS_ORIGIN_GRANT ||
	       kind == XS_ORIGIN_FAILSAFE;
}

/* A rule's pairs as lines: the pairs of one destination with the same
 * services and action on one line, their sources listed. */
struct pline {
	uint16_t src, dst;
	uint8_t action, flags;
	char *svc;
};

static int pline_cmp(const void *a, const void *b)
{
	const struct pline *x = a, *y = b;
	int c;

	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	c = strcmp(x->svc, y->svc);
	if (c)
		return c;
	if (x->action != y->action || x->flags != y->flags)
		return x->action != y->action ? x->action - y->action : x->flags - y->flags;
	return x->src < y->src ? -1 : x->src > y->src;
}

static bool pline_same(const struct pline *x, const struct pline *y)
{
	return x->dst == y->dst && !strcmp(x->svc, y->svc) && x->action == y->action &&
	       x->flags == y->flags;
}

/* The spans of one rule (sp[0..] while the rule id holds). */
static void put_rule_pairs(const struct xs_compiled *c, const struct span *sp, size_t n)
{
	struct pline *v = calloc(n + 1, sizeof(*v));
	char svc[48], b1[32], b2[32];
	size_t nl = 0, k = 0;

	if (!v)
		return;
	while (k < n && sp[k].rule_id == sp[0].rule_id) {
		size_t j = k, len = 0;
		char *buf = NULL;
		FILE *f = open_memstream(&buf, &len);

		for (; j < n && sp[j].rule_id == sp[k].rule_id && sp[j].src == sp[k].src &&
		       sp[j].dst == sp[k].dst;
		     j++) {
			span_service(&sp[j], svc, sizeof(svc));
			if (f)
				fprintf(f, "%s%s", j > k ? ", " : "", svc);
		}
		if (f)
			fclose(f);
		v[nl++] = (struct pline){ sp[k].src, sp[k].dst, sp[k].action, sp[k].flags,
					  buf ? buf : strdup("?") };
		k = j;
	}
	qsort(v, nl, sizeof(*v), pline_cmp);
	for (size_t i = 0; i < nl;) {
		size_t j = i;

		printf("      ");
		for (; j < nl && pline_same(&v[i], &v[j]); j++)
			printf("%s%s", j > i ? ", " : "", xs_view_seg(c, v[j].src, b1, sizeof(b1)));
		printf(" -> %s %s: %s%s\n", xs_view_seg(c, v[i].dst, b2, sizeof(b2)), v[i].svc,
		       act(v[i].action),
		       (v[i].flags & XS_RULEF_GRANT)	  ? " (grant)"
		       : (v[i].flags & XS_RULEF_FAILSAFE) ? " (failsafe)"
		       : (v[i].flags & XS_RULEF_FORENSIC) ? " (forensic)"
							  : "");
		i = j;
	}
	for (size_t i = 0; i < nl; i++)
		free(v[i].svc);
	free(v);
}

static void show_text(const struct xs_view *v, const struct span *sp, size_t nsp)
{
	const struct xs_compiled *c = v->c;
	const struct xs_policy *p = c->policy;
	char hash[65], when[64], b1[32];
	size_t nq = 0, ng = 0, nf = 0;

	xs_hex(c->hash, sizeof(c->hash), hash);
	xs_show_time(v->rb.meta.applied_at, when, sizeof(when));
	printf("policy: generation %u (set %u)%s\n", v->rb.generation, v->rb.set,
	       v->rb.rolled_back ? ", rolled back: the commit-confirm was missed" : "");
	printf("  file:    ");
	xs_print_escaped(stdout, v->rb.meta.file);
	printf("\n  sha256:  %s\n  applied: %s\n", hash, when);

	printf("\nsegments (%zu and world):\n", p->nsegments);
	for (size_t i = 0; i <= p->nsegments; i++) {
		const struct xs_seg_info *si = &c->seginfo[i];
		const struct xs_segment *s = i ? &p->segments[i - 1] : NULL;

		printf("  %-16s in %-5s (", xs_view_seg(c, (uint16_t)i, b1, sizeof(b1)),
		       act(si->in_action));
		put_loc(c, si->in_rule_id);
		printf(") out %-5s (", act(si->out_action));
		put_loc(c, si->out_rule_id);
		printf(")%s%s\n", si->monitor ? " monitor" : "",
		       (si->flags & XS_SEGF_QUARANTINE) ? " QUARANTINED" : "");
		if (s) {
			printf("      ");
			put_prefixes(s);
			if (s->builtin)
				printf("  (built in)");
			else if (strchr(s->name, '['))
				printf("  (derived: an overlay's address in its segment)");
			printf("\n");
		}
		if (si->flags & XS_SEGF_QUARANTINE) {
			printf("      quarantined by ");
			xs_origin_print(stdout, c, si->quar_rule_id);
			printf("\n");
		}
	}

	printf("\nrules (what each decides in the rule table):\n");
	for (size_t i = 0; i < p->norigins; i++) {
		const struct xs_origin_entry *o = &p->origins[i];
		size_t k;

		if (!o->rule_id || !rule_kind(o->kind))
			continue;
		printf("  ");
		xs_origin_print(stdout, c, o->rule_id);
		printf("\n");
		for (k = 0; k < nsp && sp[k].rule_id < o->rule_id; k++)
			;
		if (k == nsp || sp[k].rule_id != o->rule_id)
			printf("      (decides nothing: every flow it names is decided by "
			       "another)\n");
		else
			put_rule_pairs(c, sp + k, nsp - k);
	}

	for (size_t i = 0; i < c->noverlays; i++)
		*(c->overlays[i].rec.kind == XS_OVERLAY_GRANT ? &ng : &nq) += 1;
	printf("\ngrants (%zu):\n", ng);
	for (size_t i = 0; i < c->noverlays; i++)
		if (c->overlays[i].rec.kind == XS_OVERLAY_GRANT)
			put_overlay_text(v, &c->overlays[i]);
	printf("\nquarantines (%zu):\n", nq);
	for (size_t i = 0; i < c->noverlays; i++)
		if (c->overlays[i].rec.kind != XS_OVERLAY_GRANT)
			put_overlay_text(v, &c->overlays[i]);
	for (size_t i = 0; i < p->norigins; i++)
		nf += p->origins[i].kind == XS_ORIGIN_FAILSAFE;
	printf("\nfailsafe ports (%zu):\n", nf);
	for (size_t i = 0; i < p->norigins; i++) {
		if (p->origins[i].kind != XS_ORIGIN_FAILSAFE)
			continue;
		printf("  ");
		xs_origin_print(stdout, c, p->origins[i].rule_id);
		printf("\n");
	}
	printf("\nbound ports (%zu):\n", p->nbindings);
	for (size_t i = 0; i < p->nbindings; i++) {
		const struct xs_binding *b = &p->bindings[i];

		printf("  ");
		xs_print_escaped(stdout, b->pattern);
		printf(" -> %s: ", xs_view_seg(c, b->seg, b1, sizeof(b1)));
		xs_origin_print(stdout, c, b->rule_id);
		printf("\n");
	}
}

/* ---- JSON ------------------------------------------------------------------------- */

static void json_default(const struct xs_compiled *c, uint8_t action, uint32_t id)
{
	printf("{\"action\":\"%s\",\"origin\":", act(action));
	xs_view_origin_json(stdout, c, id);
	printf("}");
}

static void show_json(const struct xs_view *v, const struct span *sp, size_t nsp)
{
	const struct xs_compiled *c = v->c;
	const struct xs_policy *p = c->policy;
	char hash[65], b1[32], svc[48], pfx[64];
	bool first = true;

	xs_hex(c->hash, sizeof(c->hash), hash);
	printf("{\"generation\":%u,\"set\":%u,\"rolled_back\":%s,\"file\":", v->rb.generation,
	       v->rb.set, v->rb.rolled_back ? "true" : "false");
	json_print_str(stdout, v->rb.meta.file);
	printf(",\"sha256\":\"%s\",\"applied_at\":%llu,\"segments\":[", hash,
	       (unsigned long long)v->rb.meta.applied_at);
	for (size_t i = 0; i <= p->nsegments; i++) {
		const struct xs_seg_info *si = &c->seginfo[i];
		const struct xs_segment *s = i ? &p->segments[i - 1] : NULL;

		printf("%s{\"id\":%zu,\"name\":", i ? "," : "", i);
		json_print_str(stdout, xs_view_seg(c, (uint16_t)i, b1, sizeof(b1)));
		printf(",\"prefixes\":[");
		for (size_t k = 0; s && k < s->nprefixes; k++) {
			xs_view_prefix(pfx, sizeof(pfx), s->prefixes[k].family, s->prefixes[k].addr,
				       s->prefixes[k].len);
			printf("%s", k ? "," : "");
			json_print_str(stdout, pfx);
		}
		printf("],\"builtin\":%s,\"derived\":%s,\"in\":",
		       s && s->builtin ? "true" : "false",
		       s && strchr(s->name, '[') ? "true" : "false");
		json_default(c, si->in_action, si->in_rule_id);
		printf(",\"out\":");
		json_default(c, si->out_action, si->out_rule_id);
		printf(",\"monitor\":%s,\"quarantine\":", si->monitor ? "true" : "false");
		if (si->flags & XS_SEGF_QUARANTINE)
			xs_view_origin_json(stdout, c, si->quar_rule_id);
		else
			printf("null");
		printf("}");
	}
	printf("],\"rules\":[");
	for (size_t i = 0; i < p->norigins; i++) {
		const struct xs_origin_entry *o = &p->origins[i];
		size_t k;
		bool f2 = true;

		if (!o->rule_id || !rule_kind(o->kind))
			continue;
		printf("%s{\"origin\":", first ? "" : ",");
		first = false;
		xs_view_origin_json(stdout, c, o->rule_id);
		printf(",\"decides\":[");
		for (k = 0; k < nsp && sp[k].rule_id < o->rule_id; k++)
			;
		for (; k < nsp && sp[k].rule_id == o->rule_id; k++) {
			span_service(&sp[k], svc, sizeof(svc));
			printf("%s{\"src\":", f2 ? "" : ",");
			f2 = false;
			json_print_str(stdout, xs_view_seg(c, sp[k].src, b1, sizeof(b1)));
			printf(",\"dst\":");
			json_print_str(stdout, xs_view_seg(c, sp[k].dst, b1, sizeof(b1)));
			printf(",\"service\":");
			json_print_str(stdout, svc);
			printf(",\"action\":\"%s\",\"grant\":%s,\"failsafe\":%s,\"forensic\":%s}",
			       act(sp[k].action), (sp[k].flags & XS_RULEF_GRANT) ? "true" : "false",
			       (sp[k].flags & XS_RULEF_FAILSAFE) ? "true" : "false",
			       (sp[k].flags & XS_RULEF_FORENSIC) ? "true" : "false");
		}
		printf("]}");
	}
	printf("],\"overlays\":[");
	for (size_t i = 0; i < c->noverlays; i++) {
		const struct xs_overlay_entry *o = &c->overlays[i];
		uint64_t now = unix_now(v);

		printf("%s{\"number\":%u,\"kind\":\"%s\",\"rule_id\":%u,\"text\":", i ? "," : "",
		       o->rec.number, o->rec.kind == XS_OVERLAY_GRANT ? "grant" : "quarantine",
		       o->rule_id);
		json_print_str(stdout, o->rec.text);
		printf(",\"reason\":");
		json_print_str(stdout, o->rec.reason);
		printf(",\"uid\":%u,\"created\":%llu,\"expires\":%llu", o->rec.uid,
		       (unsigned long long)o->rec.created, (unsigned long long)o->rec.expires);
		if (o->rec.kind == XS_OVERLAY_GRANT)
			printf(",\"seconds_left\":%llu,\"drain\":%s",
			       (unsigned long long)(o->rec.expires > now ? o->rec.expires - now
									 : 0),
			       (o->rec.flags & XS_RULEF_DRAIN) ? "true" : "false");
		printf("}");
	}
	printf("],\"failsafe\":[");
	first = true;
	for (size_t i = 0; i < p->norigins; i++) {
		if (p->origins[i].kind != XS_ORIGIN_FAILSAFE)
			continue;
		printf("%s", first ? "" : ",");
		first = false;
		xs_view_origin_json(stdout, c, p->origins[i].rule_id);
	}
	printf("],\"binds\":[");
	for (size_t i = 0; i < p->nbindings; i++) {
		const struct xs_binding *b = &p->bindings[i];

		printf("%s{\"pattern\":", i ? "," : "");
		json_print_str(stdout, b->pattern);
		printf(",\"segment\":");
		json_print_str(stdout, xs_view_seg(c, b->seg, b1, sizeof(b1)));
		printf(",\"origin\":");
		xs_view_origin_json(stdout, c, b->rule_id);
		printf("}");
	}
	printf("]}\n");
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xs_view v = { 0 };
	struct span *sp;
	size_t nsp = 0;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			xs_json = true;
			break;
		case 'h':
			fputs(show_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("show", "bad option");
		}
	}
	if (optind < argc)
		return p_usage("show", "unexpected argument '%s'", argv[optind]);
	if (xs_view_running(&v)) {
		xs_view_free(&v);
		return XS_EXIT_FAIL;
	}
	sp = spans_of(v.c, &nsp);
	if (!sp) {
		p_err("out of memory");
		xs_view_free(&v);
		return XS_EXIT_FAIL;
	}
	if (xs_json)
		show_json(&v, sp, nsp);
	else
		show_text(&v, sp, nsp);
	free(sp);
	xs_view_free(&v);
	return XS_EXIT_OK;
}

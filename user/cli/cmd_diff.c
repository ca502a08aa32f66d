// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg diff OLD NEW: what two policies decide differently (policy.h, "The
 * semantic difference of two policies"), each a file or the running policy
 * as the kernel holds it. Also the first part of `apply --dry-run`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "json.h"
#include "policy_view.h"
#include "util.h"

static const char diff_help[] =
	"Usage: xdpseg diff OLD NEW [-I DIR]... [--json]\n\n"
	"The semantic difference of two policies, each a FILE or 'running' (the\n"
	"policy in force, read back from the kernel): not how they are written but\n"
	"what they decide. Segments are compared by name:\n"
	"  segments   added (+), removed (-), or whose prefixes, defaults, mode or\n"
	"             quarantine change (~)\n"
	"  decisions  for each pair of segments both have, the protocols and port\n"
	"             ranges (merged into maximal runs) whose verdict changes, from\n"
	"             what to what, with the rule or default that decides on each\n"
	"             side as FILE:LINE and its text\n"
	"Decisions of segments only one policy has are not compared (their\n"
	"addresses fall to other segments in the other one: see their prefixes).\n\n"
	"  -j, --json              print one JSON object\n" XS_CLI_HELP_INCLUDE
	"  -h, --help              this help\n\n"
	"Exit status (as diff(1)): 0 no difference, 1 differences, 2 trouble.\n";

#define XS_EXIT_DIFF_TROUBLE 2

static const char *act(uint8_t a)
{
	return a == XS_ACT_ALLOW ? "allow" : a == XS_ACT_DENY ? "deny" : "none";
}

static void prefixes(FILE *out, const struct xs_prefix *v, size_t n, char sign, bool json)
{
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		xs_view_prefix(buf, sizeof(buf), v[i].family, v[i].addr, v[i].len);
		if (json) {
			fprintf(out, "%s", i ? "," : "");
			json_print_str(out, buf);
		} else {
			fprintf(out, "%s%s%s", i ? ", " : "",
				sign == '+'   ? "+"
				: sign == '-' ? "-"
					      : "",
				buf);
		}
	}
}

static bool info_differs(const struct xs_seg_info *a, const struct xs_seg_info *b)
{
	return a->in_action != b->in_action || a->out_action != b->out_action ||
	       a->monitor != b->monitor || ((a->flags ^ b->flags) & XS_SEGF_QUARANTINE);
}

/* "in deny -> allow, monitor -> enforce, quarantined -> released" */
static void info_changes(FILE *out, const struct xs_seg_info *a, const struct xs_seg_info *b)
{
	const char *sep = "";

	if (a->in_action != b->in_action) {
		fprintf(out, "in %s -> %s", act(a->in_action), act(b->in_action));
		sep = ", ";
	}
	if (a->out_action != b->out_action) {
		fprintf(out, "%sout %s -> %s", sep, act(a->out_action), act(b->out_action));
		sep = ", ";
	}
	if (a->monitor != b->monitor) {
		fprintf(out, "%smode %s -> %s", sep, a->monitor ? "monitor" : "enforce",
			b->monitor ? "monitor" : "enforce");
		sep = ", ";
	}
	if ((a->flags ^ b->flags) & XS_SEGF_QUARANTINE)
		fprintf(out, "%s%s", sep,
			(a->flags & XS_SEGF_QUARANTINE) ? "quarantine released" : "quarantined");
}

static void info_json(FILE *out, const struct xs_seg_info *i)
{
	fprintf(out, "{\"in\":\"%s\",\"out\":\"%s\",\"monitor\":%s,\"quarantine\":%s}",
		act(i->in_action), act(i->out_action), i->monitor ? "true" : "false",
		(i->flags & XS_SEGF_QUARANTINE) ? "true" : "false");
}

static void change_service(const struct xs_semdiff_change *ch, char *buf, size_t size)
{
	if (ch->cls == XS_SEMDIFF_ANY)
		snprintf(buf, size, "any");
	else if (ch->cls == XS_SEMDIFF_OTHER)
		snprintf(buf, size, "other-protocols");
	else
		xs_view_service(buf, size, ch->proto, ch->lo, ch->hi);
}

static void side_text(FILE *out, char sign, const struct xs_compiled *c,
		      const struct xs_semdiff_side *s)
{
	fprintf(out, "      %c %-5s %-12s ", sign, xs_verdict_name(s->verdict),
		xs_reason_name(s->reason));
	xs_origin_print(out, c, s->rule_id);
	fputc('\n', out);
}

static void side_json(FILE *out, const struct xs_compiled *c, const struct xs_semdiff_side *s)
{
	fprintf(out, "{\"verdict\":\"%s\",\"reason\":\"%s\",\"rule_id\":%u,\"origin\":",
		xs_verdict_name(s->verdict), xs_reason_name(s->reason), s->rule_id);
	xs_view_origin_json(out, c, s->rule_id);
	fputc('}', out);
}

void xs_view_print_diff_text(FILE *out, const struct xs_view *a, const struct xs_view *b,
			     const struct xs_semdiff *d)
{
	fprintf(out, "--- ");
	xs_view_describe(out, a);
	fprintf(out, "\n+++ ");
	xs_view_describe(out, b);
	fputc('\n', out);
	if (d->nsegs)
		fprintf(out, "segments:\n");
	for (size_t i = 0; i < d->nsegs; i++) {
		const struct xs_semdiff_seg *s = &d->segs[i];

		if (!s->in_a || !s->in_b) {
			fprintf(out, "  %c ", s->in_b ? '+' : '-');
			xs_print_escaped(out, s->name);
			fprintf(out, ": ");
			if (s->in_b)
				prefixes(out, s->added, s->nadded, 0, false);
			else
				prefixes(out, s->removed, s->nremoved, 0, false);
			if (!s->nadded && !s->nremoved)
				fprintf(out, "(no prefix)");
			fputc('\n', out);
			continue;
		}
		fprintf(out, "  ~ ");
		xs_print_escaped(out, s->name);
		fprintf(out, ": ");
		prefixes(out, s->added, s->nadded, '+', false);
		if (s->nadded && s->nremoved)
			fprintf(out, ", ");
		prefixes(out, s->removed, s->nremoved, '-', false);
		if ((s->nadded || s->nremoved) && info_differs(&s->info_a, &s->info_b))
			fprintf(out, "; ");
		info_changes(out, &s->info_a, &s->info_b);
		fputc('\n', out);
	}
	if (d->nchanges)
		fprintf(out, "decisions:\n");
	for (size_t i = 0; i < d->nchanges; i++) {
		const struct xs_semdiff_change *ch = &d->changes[i];
		char svc[48];

		change_service(ch, svc, sizeof(svc));
		fprintf(out, "  ");
		xs_print_escaped(out, ch->src);
		fprintf(out, " -> ");
		xs_print_escaped(out, ch->dst);
		fprintf(out, " %s: %s -> %s\n", svc, xs_verdict_name(ch->a.verdict),
			xs_verdict_name(ch->b.verdict));
		side_text(out, '-', a->c, &ch->a);
		side_text(out, '+', b->c, &ch->b);
	}
	if (!d->nsegs && !d->nchanges)
		fprintf(out, "no difference: the same decisions (%zu segment pairs compared)\n",
			d->pairs);
	else
		fprintf(out,
			"%zu segment%s changed, %zu decision%s changed (%zu segment pairs "
			"compared)\n",
			d->nsegs, d->nsegs == 1 ? "" : "s", d->nchanges,
			d->nchanges == 1 ? "" : "s", d->pairs);
}

void xs_view_print_diff_json(FILE *out, const struct xs_view *a, const struct xs_view *b,
			     const struct xs_semdiff *d)
{
	fprintf(out, "\"old\":");
	xs_view_json(out, a);
	fprintf(out, ",\"new\":");
	xs_view_json(out, b);
	fprintf(out, ",\"segments\":[");
	for (size_t i = 0; i < d->nsegs; i++) {
		const struct xs_semdiff_seg *s = &d->segs[i];

		fprintf(out, "%s{\"name\":", i ? "," : "");
		json_print_str(out, s->name);
		fprintf(out, ",\"change\":\"%s\",\"prefixes_added\":[",
			!s->in_a   ? "added"
			: !s->in_b ? "removed"
				   : "changed");
		prefixes(out, s->added, s->nadded, 0, true);
		fprintf(out, "],\"prefixes_removed\":[");
		prefixes(out, s->removed, s->nremoved, 0, true);
		fprintf(out, "],\"old\":");
		if (s->in_a)
			info_json(out, &s->info_a);
		else
			fprintf(out, "null");
		fprintf(out, ",\"new\":");
		if (s->in_b)
			info_json(out, &s->info_b);
		else
			fprintf(out, "null");
		fputc('}', out);
	}
	fprintf(out, "],\"decisions\":[");
	for (size_t i = 0; i < d->nchanges; i++) {
		const struct xs_semdiff_change *ch = &d->changes[i];
		char svc[48];

		change_service(ch, svc, sizeof(svc));
		fprintf(out, "%s{\"src\":", i ? "," : "");
		json_print_str(out, ch->src);
		fprintf(out, ",\"dst\":");
		json_print_str(out, ch->dst);
		fprintf(out, ",\"service\":");
		json_print_str(out, svc);
		if (ch->cls == XS_SEMDIFF_PROTO)
			fprintf(out, ",\"proto\":%u,\"lo\":%u,\"hi\":%u", ch->proto, ch->lo,
				ch->hi);
		fprintf(out, ",\"old\":");
		side_json(out, a->c, &ch->a);
		fprintf(out, ",\"new\":");
		side_json(out, b->c, &ch->b);
		fputc('}', out);
	}
	fprintf(out, "],\"pairs\":%zu,\"differences\":%zu", d->pairs, d->nsegs + d->nchanges);
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		XS_CLI_OPT_INCLUDE,
		{ 0 },
	};
	struct xs_view a = { 0 }, b = { 0 };
	struct xs_semdiff d;
	int c, ret = XS_EXIT_DIFF_TROUBLE;

	optind = 0; /* options may follow the operands */
	while ((c = getopt_long(argc, argv, "jI:h", opts, NULL)) != -1) {
		switch (c) {
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_DIFF_TROUBLE;
			break;
		case 'j':
			xs_json = true;
			break;
		case 'h':
			fputs(diff_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("diff", "bad option");
		}
	}
	if (argc - optind != 2)
		return p_usage("diff", "name OLD and NEW: two files, or 'running' and a file");
	if (xs_view_open(&a, argv[optind]) || xs_view_open(&b, argv[optind + 1]))
		goto out;
	if (xs_semdiff(a.c, a.now_tai, b.c, b.now_tai, &d)) {
		p_err("out of memory");
		goto out;
	}
	if (xs_json) {
		printf("{");
		xs_view_print_diff_json(stdout, &a, &b, &d);
		printf("}\n");
	} else {
		xs_view_print_diff_text(stdout, &a, &b, &d);
	}
	ret = d.nsegs || d.nchanges ? XS_EXIT_FAIL : XS_EXIT_OK;
	xs_semdiff_free(&d);
out:
	xs_view_free(&a);
	xs_view_free(&b);
	return ret;
}

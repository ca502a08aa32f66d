// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg stats: the counters per rule, per default and per drop reason. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "cmds.h"
#include "json.h"
#include "ctl/loader.h"
#include "ctl/show.h"
#include "util.h"

/* ---- stats ------------------------------------------------------------------ */

struct rule_row {
	uint32_t id;
	struct xs_origin o;
	uint64_t c[3]; /* flows, packets, bytes */
};

static int row_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct rule_row *)a)->id, y = ((const struct rule_row *)b)->id;

	return x < y ? -1 : x > y;
}

/* Every origin of `set` (segment names excluded) with its counters. */
static int rule_rows(const struct xs_maps *m, uint32_t set, struct rule_row **out, size_t *n)
{
	struct xs_origin_key key, *prev = NULL;
	struct rule_row *v = NULL;
	size_t cnt = 0, cap = 0;
	int err = 0;

	while (bpf_map_get_next_key(m->origins, prev, &key) == 0) {
		prev = &key;
		if (key.set != set || (key.rule_id & XS_ORIGIN_SEG_KEY(0)))
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct rule_row *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				err = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[cnt].id = key.rule_id;
		if (xs_origin_get(m, set, key.rule_id, &v[cnt].o))
			continue;
		if (key.rule_id < XS_MAX_RULES)
			xs_percpu_sum(m->rstats[set], key.rule_id, 3, v[cnt].c);
		else
			memset(v[cnt].c, 0, sizeof(v[cnt].c));
		cnt++;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), row_cmp);
out:
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case XS_ORIGIN_RULE:
		return "rule";
	case XS_ORIGIN_DEFAULT:
		return "default";
	case XS_ORIGIN_IMPLICIT:
		return "implicit";
	default:
		return "?";
	}
}

static void print_rows_text(const struct rule_row *v, size_t n, bool defaults)
{
	char origin[160];

	for (size_t i = 0; i < n; i++) {
		if ((v[i].o.kind == XS_ORIGIN_RULE) == defaults)
			continue;
		snprintf(origin, sizeof(origin), "%s:%u", v[i].o.file, v[i].o.line);
		printf("  %-28s %9llu %10llu %12llu  %s\n", origin, (unsigned long long)v[i].c[0],
		       (unsigned long long)v[i].c[1], (unsigned long long)v[i].c[2], v[i].o.text);
	}
}

/* The counters of every verdict and reason that counted a packet. */
struct verdict_row {
	unsigned int verdict, reason;
	struct xs_counter c;
};

static int verdict_rows(const struct xs_maps *m, struct verdict_row *v, size_t *n,
			size_t *unbalanced)
{
	struct xs_counter c;
	int err;

	*n = *unbalanced = 0;
	for (unsigned int vd = 0; vd < XS_VERDICT__MAX; vd++) {
		for (unsigned int r = 0; r < XS_REASON__MAX; r++) {
			err = xs_stat_read(m, XS_STAT_IDX(vd, r), &c);
			if (err)
				return err;
			if (!c.packets && xs_counter_balanced(&c)) /* (then every term is 0) */
				continue;
			v[*n].verdict = vd;
			v[*n].reason = r;
			v[*n].c = c;
			*unbalanced += !xs_counter_balanced(&c);
			(*n)++;
		}
	}
	return 0;
}

static void print_events_json(const struct xs_counter *c)
{
	printf("\"events\":{\"sent\":%llu,\"ratelimited\":%llu,\"lost\":%llu,\"none\":%llu}",
	       (unsigned long long)c->ev[XS_EV_SENT], (unsigned long long)c->ev[XS_EV_RATELIMITED],
	       (unsigned long long)c->ev[XS_EV_LOST], (unsigned long long)c->ev[XS_EV_NONE]);
}

static const char stats_help[] =
	"Usage: xdpseg stats [--json]\n\n"
	"Counters of the active policy: per rule (FILE:LINE and the rule's text), per\n"
	"default, and per verdict and reason with what became of each packet's event\n"
	"(sent, rate-limited, lost, none by design): packets = the sum of the four,\n"
	"checked per row. Needs no policy file: the rule origins are kept with the\n"
	"pinned state.\n\n"
	"  -j, --json   one JSON object\n"
	"  -h, --help   this help\n";

int cmd_stats(int argc, char **argv)
{
	struct verdict_row vrows[XS_VERDICT__MAX * XS_REASON__MAX];
	struct rule_row *rows = NULL;
	struct xs_policy_meta meta;
	struct xs_counter tot;
	struct xs_config cfg;
	struct xs_ctl ctl;
	uint64_t ct_new[2] = { 0 }, ct_rev[2] = { 0 };
	size_t nrows = 0, nv = 0, unbalanced = 0;
	int ret;

	ret = xs_cli_json_opts(argc, argv, "stats", stats_help);
	if (ret >= 0)
		return ret;
	ret = XS_EXIT_FAIL;
	if (xs_cli_open_readonly(&ctl))
		goto out;
	if (xs_config_read(&ctl.maps, &cfg) || xs_event_totals(&ctl.maps, &tot) ||
	    verdict_rows(&ctl.maps, vrows, &nv, &unbalanced)) {
		p_err("cannot read the pinned maps under %s", ctl.dir);
		goto out;
	}
	xs_percpu_sum(ctl.maps.stats, XS_STAT_CT_CREATED, 2, ct_new);
	xs_percpu_sum(ctl.maps.stats, XS_STAT_CT_REVALIDATED, 2, ct_rev);
	memset(&meta, 0, sizeof(meta));
	if (cfg.generation) {
		xs_meta_get(&ctl.maps, cfg.generation & 1, &meta);
		if (rule_rows(&ctl.maps, cfg.generation & 1, &rows, &nrows)) {
			p_err("cannot read the rule origins under %s", ctl.dir);
			goto out;
		}
	}

	if (xs_json) {
		printf("{\"generation\":%u,\"file\":", cfg.generation);
		json_print_str(stdout, meta.file);
		printf(",\"rules\":[");
		for (size_t i = 0; i < nrows; i++) {
			printf("%s{\"id\":%u,\"kind\":\"%s\",\"file\":", i ? "," : "", rows[i].id,
			       kind_name(rows[i].o.kind));
			json_print_str(stdout, rows[i].o.file);
			printf(",\"line\":%u,\"text\":", rows[i].o.line);
			json_print_str(stdout, rows[i].o.text);
			printf(",\"flows\":%llu,\"packets\":%llu,\"bytes\":%llu}",
			       (unsigned long long)rows[i].c[0], (unsigned long long)rows[i].c[1],
			       (unsigned long long)rows[i].c[2]);
		}
		printf("],\"verdicts\":[");
		for (size_t i = 0; i < nv; i++) {
			printf("%s{\"verdict\":\"%s\",\"reason\":\"%s\",\"packets\":%llu,"
			       "\"bytes\":%llu,",
			       i ? "," : "", xs_show_verdict(vrows[i].verdict),
			       xs_show_reason(vrows[i].reason),
			       (unsigned long long)vrows[i].c.packets,
			       (unsigned long long)vrows[i].c.bytes);
			print_events_json(&vrows[i].c);
			printf(",\"balanced\":%s}",
			       xs_counter_balanced(&vrows[i].c) ? "true" : "false");
		}
		printf("],");
		print_events_json(&tot);
		printf(",\"balanced\":%s,\"snap_len\":%u,"
		       "\"conntrack\":{\"created\":%llu,\"revalidated\":%llu}}\n",
		       unbalanced ? "false" : "true", cfg.snap_len, (unsigned long long)ct_new[0],
		       (unsigned long long)ct_rev[0]);
		ret = XS_EXIT_OK;
		goto out;
	}

	if (cfg.generation)
		printf("policy generation %u: %s\n", cfg.generation, meta.file);
	else
		printf("policy: none applied (traffic passes unchecked)\n");
	if (nrows) {
		printf("\nrules:\n  %-28s %9s %10s %12s  %s\n", "ORIGIN", "FLOWS", "PACKETS",
		       "BYTES", "RULE");
		print_rows_text(rows, nrows, false);
		printf("\ndefaults:\n  %-28s %9s %10s %12s  %s\n", "ORIGIN", "FLOWS", "PACKETS",
		       "BYTES", "DEFAULT");
		print_rows_text(rows, nrows, true);
	}
	printf("\nverdicts:\n  %-7s %-12s %12s %14s %10s %12s %8s %10s\n", "VERDICT", "REASON",
	       "PACKETS", "BYTES", "EVENTS", "RATE-LIMITED", "LOST", "NO-EVENT");
	for (size_t i = 0; i < nv; i++) {
		const struct xs_counter *c = &vrows[i].c;

		printf("  %-7s %-12s %12llu %14llu %10llu %12llu %8llu %10llu%s\n",
		       xs_show_verdict(vrows[i].verdict), xs_show_reason(vrows[i].reason),
		       (unsigned long long)c->packets, (unsigned long long)c->bytes,
		       (unsigned long long)c->ev[XS_EV_SENT],
		       (unsigned long long)c->ev[XS_EV_RATELIMITED],
		       (unsigned long long)c->ev[XS_EV_LOST], (unsigned long long)c->ev[XS_EV_NONE],
		       xs_counter_balanced(c) ? "" : "  !");
	}
	printf("\nevents: %llu sent, %llu rate-limited, %llu lost (ring buffer full), %llu none "
	       "by design; drop and audit events carry %u bytes of the packet\n",
	       (unsigned long long)tot.ev[XS_EV_SENT],
	       (unsigned long long)tot.ev[XS_EV_RATELIMITED],
	       (unsigned long long)tot.ev[XS_EV_LOST], (unsigned long long)tot.ev[XS_EV_NONE],
	       cfg.snap_len);
	if (unbalanced)
		printf("accounting: %zu row%s (!) where packets != events + rate-limited + lost + "
		       "no-event: read while packets were being counted? run stats again\n",
		       unbalanced, unbalanced == 1 ? "" : "s");
	else
		printf("accounting: every packet has one event outcome (packets = events + "
		       "rate-limited + lost + no-event, on every row)\n");
	printf("conntrack: %llu flows created, %llu re-decided after an apply\n",
	       (unsigned long long)ct_new[0], (unsigned long long)ct_rev[0]);
	ret = XS_EXIT_OK;
out:
	free(rows);
	xs_ctl_close(&ctl);
	return ret;
}

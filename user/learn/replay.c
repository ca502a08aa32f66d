// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `xdpseg replay`: the stored flows, judged under a candidate policy,
 * against what the datapath decided at the time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "replay.h"
#include "text.h"

/* A flow the candidate decides otherwise. */
struct change {
	const struct learn_flow *f;
	const struct xs_compiled *c;
	char svc[64];
	size_t idx;
};

static const char *seg_name(const struct xs_compiled *c, uint16_t seg)
{
	const char *n = seg ? xs_compiled_segment_name(c, seg) : NULL;

	return n ? n : "world";
}

static int change_cmp(const void *x, const void *y)
{
	const struct change *a = x, *b = y;
	int d = strcmp(seg_name(a->c, a->f->src_seg), seg_name(b->c, b->f->src_seg));

	if (!d)
		d = strcmp(seg_name(a->c, a->f->dst_seg), seg_name(b->c, b->f->dst_seg));
	if (!d)
		d = strcmp(a->svc, b->svc);
	if (!d)
		d = (a->f->lk.d.rule_id > b->f->lk.d.rule_id) -
		    (a->f->lk.d.rule_id < b->f->lk.d.rule_id);
	if (!d)
		d = a->f->lk.d.verdict - b->f->lk.d.verdict;
	if (!d)
		d = (a->idx > b->idx) - (a->idx < b->idx);
	return d;
}

static bool same_group(const struct change *a, const struct change *b)
{
	return a->f->src_seg == b->f->src_seg && a->f->dst_seg == b->f->dst_seg &&
	       !strcmp(a->svc, b->svc) && a->f->lk.d.rule_id == b->f->lk.d.rule_id &&
	       a->f->lk.d.verdict == b->f->lk.d.verdict;
}

static int src_cmp(const void *x, const void *y)
{
	return memcmp(x, y, 17);
}

/* Group v[0..n) (sorted) into *out. */
static int group(struct change *v, size_t n, struct learn_replay_group **out, size_t *nout)
{
	struct learn_replay_group *g = calloc(n + 1, sizeof(*g));
	uint8_t(*srcs)[17] = calloc(n + 1, sizeof(*srcs));
	size_t ng = 0;

	if (!g || !srcs) {
		free(g);
		free(srcs);
		return -ENOMEM;
	}
	for (size_t i = 0, j; i < n; i = j) {
		struct learn_replay_group *e = &g[ng++];
		const struct learn_flow *f = v[i].f;
		size_t ns = 0;

		e->src_seg = f->src_seg;
		e->dst_seg = f->dst_seg;
		snprintf(e->service, sizeof(e->service), "%s", v[i].svc);
		e->rule_id = f->lk.d.rule_id;
		e->verdict = f->lk.d.verdict;
		e->reason = f->lk.d.reason;
		for (j = i; j < n && same_group(&v[i], &v[j]); j++) {
			const struct xs_store_row *r = &v[j].f->r;
			char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], port[32],
				ex[sizeof(e->ex[0])];
			bool dup = false;

			e->conns += r->connections;
			e->rows++;
			srcs[ns][0] = r->family;
			memcpy(&srcs[ns++][1], r->src, 16);
			learn_addr(a, sizeof(a), r->family, r->src);
			learn_addr(b, sizeof(b), r->family, r->dst);
			learn_port_text(port, sizeof(port), r->proto, r->port);
			snprintf(ex, sizeof(ex), "%s -> %s %s", a, b, port);
			for (size_t k = 0; k < e->nex; k++)
				dup |= !strcmp(e->ex[k], ex);
			if (!dup && e->nex < LEARN_REPLAY_EXAMPLES)
				memcpy(e->ex[e->nex++], ex, sizeof(ex));
		}
		qsort(srcs, ns, sizeof(*srcs), src_cmp);
		for (size_t k = 0; k < ns; k++)
			e->clients += !k || src_cmp(srcs[k - 1], srcs[k]);
	}
	free(srcs);
	*out = g;
	*nout = ng;
	return 0;
}

int learn_replay_run(const struct learn_set *s, const struct xs_compiled *c,
		     const struct learn_catalog *cat, struct learn_replay *out)
{
	struct change *drop = calloc(s->n + 1, sizeof(*drop));
	struct change *pass = calloc(s->n + 1, sizeof(*pass));
	size_t nd = 0, np = 0;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!drop || !pass)
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		const struct learn_flow *f = &s->v[i];
		bool then = f->r.decision != XS_STORE_DROP, now;
		struct change *ch;
		const struct learn_service *svc;

		if (f->r.aggregate || !f->judged) {
			out->aggregate_rows++;
			out->aggregate_conns += f->r.connections;
			continue;
		}
		now = learn_passes(f->lk.d.verdict);
		out->rows++;
		out->observed += f->r.connections;
		if (learn_by_rule(c, &f->lk)) {
			out->by_rule += f->r.connections;
			if (then)
				out->passed_by_rule += f->r.connections;
		}
		if (then)
			out->passed += f->r.connections;
		if (then == now) {
			*(now ? &out->same_pass : &out->same_drop) += f->r.connections;
			continue;
		}
		ch = then ? &drop[nd++] : &pass[np++];
		*(then ? &out->dropped_conns : &out->newly_conns) += f->r.connections;
		ch->f = f;
		ch->c = c;
		ch->idx = i;
		svc = f->r.port >= 0 ? learn_port_service(cat, f->r.proto, f->r.port) : NULL;
		if (svc)
			snprintf(ch->svc, sizeof(ch->svc), "%s", svc->name);
		else
			learn_port_text(ch->svc, sizeof(ch->svc), f->r.proto, f->r.port);
	}
	if (nd)
		qsort(drop, nd, sizeof(*drop), change_cmp);
	if (np)
		qsort(pass, np, sizeof(*pass), change_cmp);
	ret = group(drop, nd, &out->dropped, &out->ndropped);
	if (!ret)
		ret = group(pass, np, &out->newly, &out->nnewly);
out:
	free(drop);
	free(pass);
	if (ret)
		learn_replay_free(out);
	return ret;
}

void learn_replay_free(struct learn_replay *r)
{
	free(r->dropped);
	free(r->newly);
	r->dropped = r->newly = NULL;
	r->ndropped = r->nnewly = 0;
}

int learn_replay_status(const struct learn_replay *r)
{
	return r->ndropped ? 1 : 0;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void print_groups(FILE *out, const struct learn_replay_group *g, size_t n, uint64_t conns,
			 const char *title, const struct xs_compiled *c)
{
	if (!n) {
		fprintf(out, "%s: none\n", title);
		return;
	}
	fprintf(out, "%s: %zu %s, %llu %s\n", title, n, plural(n, "group", "groups"),
		(unsigned long long)conns, plural(conns, "connection", "connections"));
	for (size_t i = 0; i < n; i++) {
		fprintf(out,
			"  %s -> %s %s: %llu %s, %zu %s; %s by %s: ", seg_name(c, g[i].src_seg),
			seg_name(c, g[i].dst_seg), g[i].service, (unsigned long long)g[i].conns,
			plural(g[i].conns, "connection", "connections"), g[i].clients,
			plural(g[i].clients, "client", "clients"),
			xs_verdict_name((enum xs_verdict)g[i].verdict),
			xs_reason_name((enum xs_reason)g[i].reason));
		xs_origin_print(out, c, g[i].rule_id);
		fprintf(out, "\n    e.g.");
		for (size_t k = 0; k < g[i].nex; k++)
			fprintf(out, "%s %s", k ? "," : "", g[i].ex[k]);
		fputc('\n', out);
	}
}

static void print_share(FILE *out, uint64_t part, uint64_t whole)
{
	if (whole)
		fprintf(out, "%.1f%% (%llu of %llu)", 100.0 * (double)part / (double)whole,
			(unsigned long long)part, (unsigned long long)whole);
	else
		fprintf(out, "- (none observed)");
}

void learn_replay_print(FILE *out, const struct learn_replay *r, const struct xs_compiled *c)
{
	print_groups(out, r->dropped, r->ndropped, r->dropped_conns,
		     "would be DROPPED (passed at the time)", c);
	print_groups(out, r->newly, r->nnewly, r->newly_conns,
		     "would NEWLY PASS (dropped at the time)", c);
	fprintf(out, "unchanged: %llu %s pass, %llu stay dropped (%zu %s replayed)\n",
		(unsigned long long)r->same_pass, plural(r->same_pass, "connection", "connections"),
		(unsigned long long)r->same_drop, r->rows, plural(r->rows, "row", "rows"));
	if (r->aggregate_rows)
		fprintf(out,
			"not replayed: %zu aggregate %s (%llu %s): a store's cap for a day, no "
			"addresses, no port\n",
			r->aggregate_rows, plural(r->aggregate_rows, "row", "rows"),
			(unsigned long long)r->aggregate_conns,
			plural(r->aggregate_conns, "connection", "connections"));
	fprintf(out, "coverage: ");
	print_share(out, r->by_rule, r->observed);
	fprintf(out, " of the observed connections allowed by a rule; ");
	print_share(out, r->passed_by_rule, r->passed);
	fprintf(out, " of those that passed at the time\n");
}

static void json_origin(FILE *out, const struct xs_compiled *c, uint32_t id)
{
	const struct xs_origin_entry *o = xs_compiled_origin(c, id);

	if (!id) {
		fprintf(out, "null");
		return;
	}
	fprintf(out, "{\"rule_id\":%u", id);
	if (o) {
		fprintf(out, ",\"file\":");
		xs_json_escaped(out, o->file);
		fprintf(out, ",\"line\":%d,\"text\":", o->line);
		xs_json_escaped(out, o->text);
	}
	fputc('}', out);
}

static void json_groups(FILE *out, const char *key, const struct learn_replay_group *g, size_t n,
			const struct xs_compiled *c)
{
	fprintf(out, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s{\"src\":", i ? "," : "");
		json_print_str(out, seg_name(c, g[i].src_seg));
		fprintf(out, ",\"dst\":");
		json_print_str(out, seg_name(c, g[i].dst_seg));
		fprintf(out, ",\"service\":");
		json_print_str(out, g[i].service);
		fprintf(out,
			",\"connections\":%llu,\"rows\":%zu,\"clients\":%zu,\"verdict\":\"%s\","
			"\"reason\":\"%s\",\"origin\":",
			(unsigned long long)g[i].conns, g[i].rows, g[i].clients,
			xs_verdict_name((enum xs_verdict)g[i].verdict),
			xs_reason_name((enum xs_reason)g[i].reason));
		json_origin(out, c, g[i].rule_id);
		fprintf(out, ",\"examples\":[");
		for (size_t k = 0; k < g[i].nex; k++) {
			fprintf(out, "%s", k ? "," : "");
			json_print_str(out, g[i].ex[k]);
		}
		fprintf(out, "]}");
	}
	fputc(']', out);
}

static void json_share(FILE *out, uint64_t part, uint64_t whole)
{
	if (whole)
		fprintf(out, "%.4f", (double)part / (double)whole);
	else
		fprintf(out, "null");
}

void learn_replay_print_json(FILE *out, const struct learn_replay *r, const struct xs_compiled *c)
{
	fprintf(out, ",\"rows\":%zu,\"aggregate\":{\"rows\":%zu,\"connections\":%llu}", r->rows,
		r->aggregate_rows, (unsigned long long)r->aggregate_conns);
	json_groups(out, "dropped", r->dropped, r->ndropped, c);
	fprintf(out, ",\"dropped_connections\":%llu", (unsigned long long)r->dropped_conns);
	json_groups(out, "newly_pass", r->newly, r->nnewly, c);
	fprintf(out, ",\"newly_pass_connections\":%llu", (unsigned long long)r->newly_conns);
	fprintf(out, ",\"unchanged\":{\"pass\":%llu,\"drop\":%llu}",
		(unsigned long long)r->same_pass, (unsigned long long)r->same_drop);
	fprintf(out, ",\"coverage\":{\"connections\":%llu,\"by_rule\":%llu,\"share\":",
		(unsigned long long)r->observed, (unsigned long long)r->by_rule);
	json_share(out, r->by_rule, r->observed);
	fprintf(out, ",\"passed\":%llu,\"passed_by_rule\":%llu,\"passed_share\":",
		(unsigned long long)r->passed, (unsigned long long)r->passed_by_rule);
	json_share(out, r->passed_by_rule, r->passed);
	fputc('}', out);
}

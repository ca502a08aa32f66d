// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The map's picture: Graphviz DOT, and SVG rendered from it by libgvc.
 * Node ids are made here (s0, h0...); every name from a policy or a store
 * appears only inside a double-quoted label or tooltip, escaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "graph.h"

/* Colours by class: allowed, audit (dropped when enforcing), dropped. */
static const char *const class_colour[LEARN_NCLASSES] = { "#2e7d32", "#d32f2f", "#9e9e9e" };
static const char *const class_words[LEARN_NCLASSES] = { "allowed", "dropped when enforcing",
							 "dropped" };

/* How many services an edge's label lists before "+N more". */
#define LABEL_MAX 8

void learn_dot_escaped(FILE *out, const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	xs_print_escaped(m, s);
	fclose(m);
	for (size_t i = 0; buf && i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '"' || c == '\\')
			fputc('\\', out);
		if (c == '\t')
			c = ' ';
		fputc(c, out);
	}
	free(buf);
}

static void put_str(FILE *out, const char *s)
{
	fputc('"', out);
	learn_dot_escaped(out, s);
	fputc('"', out);
}

static size_t seg_index(const struct learn_graph *g, uint16_t seg)
{
	for (size_t i = 0; i < g->nsegs; i++)
		if (g->segs[i] == seg)
			return i;
	return 0;
}

static void dot_nodes(FILE *out, const struct learn_graph *g)
{
	char b[32], h[64];

	for (size_t i = 0; i < g->nsegs; i++) {
		const char *name = learn_graph_seg(g, g->segs[i], b, sizeof(b));

		if (!g->addresses) {
			fprintf(out, "  s%zu [label=", i);
			put_str(out, name);
			fprintf(out, "%s];\n", g->segs[i] == XS_SEG_WORLD ? ", shape=ellipse" : "");
			continue;
		}
		fprintf(out, "  subgraph cluster_s%zu {\n    label=", i);
		put_str(out, name);
		fprintf(out, ";\n    style=\"rounded\";\n");
		for (size_t k = 0; k < g->nhosts; k++) {
			const struct learn_host *x = &g->hosts[k];

			if (x->seg != g->segs[i])
				continue;
			learn_host_text(h, sizeof(h), x);
			fprintf(out, "    h%zu [label=\"%s", k, h);
			if (x->plen != (x->family == 4 ? 32 : 128))
				fprintf(out, "\\n%llu address%s", (unsigned long long)x->naddrs,
					x->naddrs == 1 ? "" : "es");
			fprintf(out, "\"%s];\n",
				g->segs[i] == XS_SEG_WORLD ? ", shape=ellipse" : "");
		}
		fprintf(out, "  }\n");
	}
}

/* The label of services idx[0..n) of e: "ica 120\ncgp 4", runs of one name
 * merged ("rpc-dynamic (3 ports) 40"), at most LABEL_MAX lines. */
static void put_services(FILE *out, const struct learn_edge *e, const size_t *idx, size_t n,
			 bool counts)
{
	size_t lines = 0;

	fputc('"', out);
	for (size_t i = 0; i < n;) {
		const struct learn_gsvc *sv = &e->svc[idx[i]];
		uint64_t conn = 0;
		size_t j = i, ports = 0;

		/* one name, several ports (and decisions): one line */
		for (; j < n && !strcmp(e->svc[idx[j]].short_label, sv->short_label); j++) {
			conn += e->svc[idx[j]].connections;
			ports += !(j > i && e->svc[idx[j]].port == e->svc[idx[j - 1]].port &&
				   e->svc[idx[j]].proto == e->svc[idx[j - 1]].proto);
		}
		if (lines == LABEL_MAX) {
			size_t rest = 0;

			for (size_t k = i; k < n; k++)
				rest += !k || strcmp(e->svc[idx[k]].short_label,
						     e->svc[idx[k - 1]].short_label);
			fprintf(out, "\\n+%zu more", rest);
			break;
		}
		fprintf(out, "%s", lines ? "\\n" : "");
		learn_dot_escaped(out, sv->short_label);
		if (ports > 1)
			fprintf(out, " (%zu ports)", ports);
		if (counts)
			fprintf(out, " %llu", (unsigned long long)conn);
		lines++;
		i = j;
	}
	fputc('"', out);
}

/* Red edges bold, grey ones dotted (aggregates: dashed). */
static void edge_attrs(FILE *out, unsigned int cls, bool aggregate)
{
	fprintf(out, ", color=\"%s\", fontcolor=\"%s\"%s%s", class_colour[cls], class_colour[cls],
		cls == LEARN_AUDIT ? ", penwidth=2.5" : "",
		aggregate	       ? ", style=dashed"
		: cls == LEARN_DROPPED ? ", style=dotted"
				       : "");
}

/* One edge a class between segments: the services, their connections, and
 * in the tooltip why (the rule). */
static void dot_segment_edges(FILE *out, const struct learn_graph *g, const struct learn_edge *e)
{
	size_t *idx = calloc(e->nsvc + 1, sizeof(*idx));
	size_t a = seg_index(g, e->src_seg), b = seg_index(g, e->dst_seg);
	char why[1024];

	if (!idx)
		return;
	for (unsigned int cls = 0; cls < LEARN_NCLASSES; cls++) {
		size_t n = 0;

		for (size_t k = 0; k < e->nsvc; k++)
			if (e->svc[k].cls == cls)
				idx[n++] = k;
		if (!n)
			continue;
		fprintf(out, "  s%zu -> s%zu [label=", a, b);
		put_services(out, e, idx, n, true);
		fprintf(out, ", tooltip=\"%s", class_words[cls]);
		for (size_t k = 0; k < n; k++) {
			learn_why_text(why, sizeof(why), g, e, &e->svc[idx[k]]);
			fprintf(out, "\\n");
			learn_dot_escaped(out, e->svc[idx[k]].label);
			fprintf(out, ": ");
			learn_dot_escaped(out, why);
		}
		fprintf(out, "\"");
		edge_attrs(out, cls, false);
		fprintf(out, "];\n");
	}
	free(idx);
}

static void dot_host_edges(FILE *out, const struct learn_edge *e)
{
	for (size_t i = 0; i < e->nlines; i++) {
		const struct learn_gline *l = &e->lines[i];

		fprintf(out, "  h%zu -> h%zu [label=", l->src, l->dst);
		put_services(out, e, l->svc, l->nsvc, false);
		fprintf(out, ", tooltip=\"%s: %llu connection%s\"", class_words[l->cls],
			(unsigned long long)l->connections, l->connections == 1 ? "" : "s");
		edge_attrs(out, l->cls, false);
		fprintf(out, "];\n");
	}
}

/* Aggregate rows: one dashed edge a decision recorded at the time. */
static void dot_aggregate(FILE *out, const struct learn_graph *g, const struct learn_edge *e)
{
	static const uint8_t cls_of[3] = { LEARN_ALLOWED, LEARN_AUDIT, LEARN_DROPPED };
	size_t a = seg_index(g, e->src_seg), b = seg_index(g, e->dst_seg);

	for (unsigned int d = 0; d < 3; d++) {
		if (!e->agg[d])
			continue;
		if (g->addresses)
			fprintf(out, "  s%zu_a -> s%zu_a", a, b);
		else
			fprintf(out, "  s%zu -> s%zu", a, b);
		fprintf(out, " [label=\"%llu aggregated (flood)\", tooltip=\"%s at the time\"",
			(unsigned long long)e->agg[d], learn_class_name(d));
		edge_attrs(out, cls_of[d], true);
		fprintf(out, "];\n");
	}
}

void learn_graph_dot(FILE *out, const struct learn_graph *g, const char *title)
{
	fprintf(out, "digraph xdpseg_map {\n"
		     "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, nodesep=0.4, "
		     "ranksep=1.2");
	if (title) {
		fprintf(out, ", labelloc=t, label=");
		put_str(out, title);
	}
	fprintf(out, "];\n"
		     "  node [shape=box, style=\"rounded\", fontname=\"Helvetica\", fontsize=11];\n"
		     "  edge [fontname=\"Helvetica\", fontsize=9];\n");
	dot_nodes(out, g);
	/* with addresses, a pair's aggregate rows go between invisible points of
	 * their clusters (no host is known) */
	for (size_t i = 0; g->addresses && i < g->nsegs; i++) {
		bool agg = false;

		for (size_t k = 0; k < g->nedges && !agg; k++)
			agg = g->edges[k].agg_connections && (g->edges[k].src_seg == g->segs[i] ||
							      g->edges[k].dst_seg == g->segs[i]);
		if (agg)
			fprintf(out,
				"  subgraph cluster_s%zu { s%zu_a [label=\"flood\", "
				"shape=plaintext]; }\n",
				i, i);
	}
	for (size_t i = 0; i < g->nedges; i++) {
		if (g->addresses)
			dot_host_edges(out, &g->edges[i]);
		else
			dot_segment_edges(out, g, &g->edges[i]);
		if (g->edges[i].agg_connections)
			dot_aggregate(out, g, &g->edges[i]);
	}
	fprintf(out, "}\n");
}

/* libgvc's errors, into a buffer of the rendering child. */
static char gv_err[512];

static int gv_error(char *msg)
{
	size_t n = strlen(gv_err);

	if (n + 1 < sizeof(gv_err))
		snprintf(gv_err + n, sizeof(gv_err) - n, "%s", msg);
	return 0;
}

/* In the child: DOT to SVG into f. 0, or 1 with why in gv_err. */
static int render(const char *dot, FILE *f)
{
	GVC_t *gvc;
	Agraph_t *ag;
	int ret = 1;

	agseterrf(gv_error);
	agseterr(AGERR);
	gvc = gvContext();
	if (!gvc) {
		snprintf(gv_err, sizeof(gv_err), "Graphviz: no context");
		return 1;
	}
	ag = agmemread(dot);
	if (!ag) {
		gv_error("Graphviz did not read the map's DOT");
		return 1;
	}
	if (gvLayout(gvc, ag, "dot"))
		gv_error("Graphviz could not lay the map out");
	else if (gvRender(gvc, ag, "svg", f) | fflush(f))
		gv_error("Graphviz could not write the SVG");
	else
		ret = 0;
	return ret;
}

/*
 * libgvc runs in a child of its own: what Graphviz and the libraries it
 * loads (fontconfig, pango, cairo) keep for the process dies with it, and
 * so would a crash of theirs, never taking the command down. The child
 * writes the SVG into the file the parent opened, its errors into a pipe,
 * and leaves by _exit().
 */
int learn_graph_svg(const struct learn_graph *g, const char *title, const char *file, char *err,
		    size_t errlen)
{
	char *dot = NULL, msg[sizeof(gv_err)] = "";
	size_t len = 0, got = 0;
	FILE *m = open_memstream(&dot, &len), *f = NULL;
	int pfd[2] = { -1, -1 }, status, ret = 0;
	ssize_t n;
	pid_t pid;

	if (!m)
		return -ENOMEM;
	learn_graph_dot(m, g, title);
	if (fclose(m) || !dot) {
		free(dot);
		return -ENOMEM;
	}
	f = fopen(file, "w");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (!pid) {
		int rc = render(dot, f);

		if (rc && write(pfd[1], gv_err, strlen(gv_err)) < 0)
			rc = 2;
		_exit(rc);
	}
	close(pfd[1]);
	pfd[1] = -1;
	while (got + 1 < sizeof(msg) && ((n = read(pfd[0], msg + got, sizeof(msg) - 1 - got)) > 0 ||
					 (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	msg[got] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "%s: Graphviz died of signal %d drawing the map", file,
			 WTERMSIG(status));
		ret = -EIO;
	} else if (WEXITSTATUS(status)) {
		snprintf(err, errlen, "%s: %s", file, *msg ? msg : "Graphviz failed");
		ret = -EIO;
	}
out:
	if (f && fclose(f) && !ret) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
	}
	if (ret && f)
		unlink(file);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(dot);
	return ret;
}

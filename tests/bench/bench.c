// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg-bench: ns/packet of the XDP program xs_xdp, measured with
 * BPF_PROG_RUN, per packet type and policy size. Not a test: it prints a
 * table (scripts/bench runs it).
 *
 * One datapath instance (skeleton, fresh maps) per policy size, each with a
 * policy generated as text (polgen.c), compiled by the real compiler and
 * pushed with xs_policy_push(). Rounds interleave the sizes and packet
 * types so that noise hits all alike; the table shows, per cell, the median
 * of the rounds and their min and max.
 *
 * Three ways to measure, all through the kernel's own timer:
 *  - repeat: one BPF_PROG_RUN with repeat = N; the kernel times the loop and
 *    divides. The same packet runs N times: the steady state of one flow (a
 *    flow-table hit, a denied SYN decided again, a retransmitted SYN).
 *  - vary: the same, through xs_bench_vary (bench.bpf.c), which changes the
 *    source of every run and tail-calls xs_xdp: every run is the first
 *    packet of a new flow (a flood of new flows or spoofed sources: the flow
 *    table misses, and fills up as it would). The "vary" baseline
 *    (the varier tail-calling the XDP_PASS program) is its own overhead.
 *  - single: a first packet after its cache entry was deleted from userspace,
 *    N runs with repeat = 1, median of the kernel's per-run durations; each
 *    run also pays a timer read and starts with caches cooled by the
 *    syscalls (the "pass1" baseline shows the fixed part).
 * Each measurement checks that the packets went down the intended path: the
 * datapath's own counter for the expected (verdict, reason) must grow by the
 * number of runs, otherwise the cell is marked '!'.
 *
 * The reference of issue 9: xdp-filter's all-features program
 * (xdpfilt_alw_all, from the Debian package xdp-tools) runs in the same
 * rounds on the same frames with the same methods ("xf*" rows). xdpfilt.sh
 * loads it on a veth in a namespace of its own with tcp dst port 443
 * denied, the bench takes a file descriptor of the program and the script
 * removes everything at once; the program's own per-action counters check
 * its path. The targets table then gives each target's ratio of medians.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctl/flows.h"
#include "ctl/push.h"
#include "pkt.h"
#include "polgen.h"
#include "policy.h"
#include "util.h"
#include "xdpseg.skel.h"
#include "bench.skel.h"

#define MAX_SIZES 4
#define BENCH_IFINDEX 1 /* BPF_PROG_RUN runs xs_xdp on the loopback device */
#define MAX_ROUNDS 31
#define TARGET_NS 67.0
#define TARGET_RATIO 1.1 /* issue 9: 100k / 10 entries, every row */

/* ---- Packet types --------------------------------------------------------- */

enum mode {
	M_REPEAT,
	M_VARY,
	M_SINGLE,
};

static const char *const mode_names[] = { "repeat", "vary", "single" };

enum del_map {
	DEL_NONE,
	DEL_CT,	  /* delete the flow's entry (tracked) before each run */
	DEL_DENY, /* delete the flow's remembered denial before each run */
};

enum prime {
	PRIME_NONE,
	PRIME_ONCE,	 /* run the packet once (creates the ct / deny entry) */
	PRIME_HANDSHAKE, /* SYN, SYN-ACK, ACK, then the measured ACK is established */
};

struct scen {
	const char *name;
	const char *desc;
	enum mode mode;
	enum del_map del;
	enum prime prime;
	bool baseline;		 /* the XDP_PASS program, not xs_xdp */
	bool xdpfilt;		 /* xdp-filter's program (also .baseline: not xs_xdp) */
	bool bound;		 /* measured on a bound port ("lo": its source is checked) */
	bool target;		 /* subject to the <= 67 ns target */
	int retval;		 /* expected XDP action */
	uint8_t verdict, reason; /* expected xs_stats slot */
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t flags;
};

#define FLOW(s, d, p, sp, dp, f) \
	.src = s, .dst = d, .proto = p, .sport = sp, .dport = dp, .flags = f
#define ALLOWED(r) .retval = XDP_PASS, .verdict = XS_VERDICT_ALLOW, .reason = r
#define DENIED .retval = XDP_DROP, .verdict = XS_VERDICT_DROP, .reason = XS_REASON_DENY_RULE
#define XDPFILT(rv) .baseline = true, .xdpfilt = true, .retval = rv

static struct scen scens[] = {
	{ "est4", "IPv4 TCP established (flow hit)", M_REPEAT, .prime = PRIME_HANDSHAKE,
	  .target = true, ALLOWED(XS_REASON_ESTABLISHED),
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_TCP, 40000, BENCH_ALLOW_TCP, PKT_ACK) },
	{ "syn4", "IPv4 TCP SYN retransmitted (flow hit)", M_REPEAT, .prime = PRIME_ONCE,
	  ALLOWED(XS_REASON_ESTABLISHED),
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_TCP, 40001, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "new4", "IPv4 UDP new flows, allowed", M_VARY, ALLOWED(XS_REASON_RULE),
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_UDP, 40002, BENCH_ALLOW_UDP, 0) },
	{ "new4c", "IPv4 UDP new flow, its entry deleted", M_SINGLE, .del = DEL_CT,
	  .prime = PRIME_ONCE, ALLOWED(XS_REASON_RULE),
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_UDP, 40002, BENCH_ALLOW_UDP, 0) },
	{ "drop4", "IPv4 TCP SYN denied (decided again)", M_REPEAT, .prime = PRIME_ONCE,
	  .target = true, DENIED,
	  FLOW(BENCH_BAD4, BENCH_DST4, IPPROTO_TCP, 40003, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "miss4", "IPv4 TCP denied, spoofed sources", M_VARY, DENIED,
	  FLOW(BENCH_BAD4, BENCH_DST4, IPPROTO_TCP, 40003, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "port4", "IPv4 TCP SYN, a port the pair lacks, spoofed", M_VARY, .retval = XDP_DROP,
	  .verdict = XS_VERDICT_DROP, .reason = XS_REASON_DEFAULT_IN,
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_TCP, 40005, 23, PKT_SYN) },
	{ "miss4c", "IPv4 TCP SYN denied, single runs", M_SINGLE, .prime = PRIME_ONCE, DENIED,
	  FLOW(BENCH_BAD4, BENCH_DST4, IPPROTO_TCP, 40003, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "est4b", "IPv4 TCP established, bound port", M_REPEAT, .prime = PRIME_HANDSHAKE,
	  .bound = true, ALLOWED(XS_REASON_ESTABLISHED),
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_TCP, 40004, BENCH_ALLOW_TCP, PKT_ACK) },
	{ "est6", "IPv6 TCP established (flow hit)", M_REPEAT, .prime = PRIME_HANDSHAKE,
	  .target = true, ALLOWED(XS_REASON_ESTABLISHED),
	  FLOW(BENCH_SRC6, BENCH_DST6, IPPROTO_TCP, 40000, BENCH_ALLOW_TCP, PKT_ACK) },
	{ "est6b", "IPv6 TCP established, bound port", M_REPEAT, .prime = PRIME_HANDSHAKE,
	  .bound = true, ALLOWED(XS_REASON_ESTABLISHED),
	  FLOW(BENCH_SRC6, BENCH_DST6, IPPROTO_TCP, 40004, BENCH_ALLOW_TCP, PKT_ACK) },
	{ "new6", "IPv6 UDP new flows, allowed", M_VARY, ALLOWED(XS_REASON_RULE),
	  FLOW(BENCH_SRC6, BENCH_DST6, IPPROTO_UDP, 40002, BENCH_ALLOW_UDP, 0) },
	{ "drop6", "IPv6 TCP SYN denied (decided again)", M_REPEAT, .prime = PRIME_ONCE,
	  .target = true, DENIED,
	  FLOW(BENCH_BAD6, BENCH_DST6, IPPROTO_TCP, 40003, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "miss6", "IPv6 TCP denied, spoofed sources", M_VARY, DENIED,
	  FLOW(BENCH_BAD6, BENCH_DST6, IPPROTO_TCP, 40003, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "pass", "baseline: XDP_PASS program", M_REPEAT, .baseline = true, .retval = XDP_PASS,
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_TCP, 40000, BENCH_ALLOW_TCP, PKT_ACK) },
	{ "passv", "baseline: varier + XDP_PASS program", M_VARY, .baseline = true,
	  .retval = XDP_PASS,
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_TCP, 40000, BENCH_ALLOW_TCP, PKT_ACK) },
	{ "pass1", "baseline: XDP_PASS, single runs", M_SINGLE, .baseline = true,
	  .retval = XDP_PASS,
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_TCP, 40000, BENCH_ALLOW_TCP, PKT_ACK) },
	/* xdp-filter denies tcp dst 443: the frames of drop4/miss4 and drop6/miss6
	 * are its deny path, those of new4 and new6 (udp/1494) its pass path. */
	{ "xfd4", "xdp-filter: IPv4 TCP SYN, denied port", M_REPEAT, XDPFILT(XDP_DROP),
	  FLOW(BENCH_BAD4, BENCH_DST4, IPPROTO_TCP, 40003, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "xfd4v", "xdp-filter: the same, spoofed sources", M_VARY, XDPFILT(XDP_DROP),
	  FLOW(BENCH_BAD4, BENCH_DST4, IPPROTO_TCP, 40003, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "xfp4", "xdp-filter: IPv4 UDP, passed", M_REPEAT, XDPFILT(XDP_PASS),
	  FLOW(BENCH_SRC4, BENCH_DST4, IPPROTO_UDP, 40002, BENCH_ALLOW_UDP, 0) },
	{ "xfd6", "xdp-filter: IPv6 TCP SYN, denied port", M_REPEAT, XDPFILT(XDP_DROP),
	  FLOW(BENCH_BAD6, BENCH_DST6, IPPROTO_TCP, 40003, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "xfd6v", "xdp-filter: the same, spoofed sources", M_VARY, XDPFILT(XDP_DROP),
	  FLOW(BENCH_BAD6, BENCH_DST6, IPPROTO_TCP, 40003, BENCH_ALLOW_TCP, PKT_SYN) },
	{ "xfp6", "xdp-filter: IPv6 UDP, passed", M_REPEAT, XDPFILT(XDP_PASS),
	  FLOW(BENCH_SRC6, BENCH_DST6, IPPROTO_UDP, 40002, BENCH_ALLOW_UDP, 0) },
};
#define NSCENS (sizeof(scens) / sizeof(scens[0]))

/* The frame of each packet type, built at start. */
static struct pkt pkts[NSCENS];

/* ---- One datapath per policy size ------------------------------------------- */

struct inst {
	size_t entries; /* requested rule-table entries */
	int slot;	/* index of this instance, its xs_bench_jmp slot */
	size_t compiled_entries, nv4, nv6, nsegments;
	double compile_s, push_s;
	struct xdpseg *skel;
	struct xs_maps maps;
	int prog_fd;
	struct ring_buffer *rb;
	struct xs_tuple key[NSCENS]; /* the entry DEL_* deletes */
	bool have_key[NSCENS];
	/* Where each vary row's tuples go on: every (instance, row) walks its
	 * own 15.36M tuples, so no tuple comes back while its entry may
	 * still be in the flow table (the varier's counter is shared). */
	__u32 vctr[NSCENS];
	double res[NSCENS][MAX_ROUNDS];
	bool path_bad[NSCENS];
};

struct opts {
	int rounds;
	__u32 repeat;
	int single;
	size_t sizes[MAX_SIZES];
	int nsizes;
	bool direct;
	bool verbose;
	bool compile;
	bool no_xdpfilt;
	const char *dump;
};

static int pass_fd = -1, vary_fd = -1;
static int bench_cpu;
static struct xs_bench *helpers; /* bench.bpf.c */
#define PASS_SLOT 7		 /* xs_bench_jmp slot of the XDP_PASS program; instances use 0.. */
static int ncpus;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && xs_verbose < 2)
		return 0;
	if (!xs_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int ev_noop(void *ctx, void *data, size_t size)
{
	return 0;
}

/* ---- xdp-filter, the reference of issue 9 (xdpfilt.sh) ------------------------ */

#define XDPFILT_SLOT 6 /* its xs_bench_jmp slot */
#define XDPFILT_PROG "xdpfilt_alw_all"
#define XDPFILT_PORT BENCH_ALLOW_TCP /* the tcp dst port it denies */
#ifndef XS_BENCH_DIR
#define XS_BENCH_DIR "tests/bench"
#endif

static struct {
	int prog_fd, stats_fd; /* -1: not measured */
	bool vary;	       /* the varier can tail-call it */
	char why[256];	       /* why not measured (or not with the varier) */
} xf = { -1, -1, false, "" };

/* A value of xdpfilt's xdp_stats_map (xdp-tools' struct datarec): a per-CPU
 * array indexed by the XDP action the program returned. */
struct xf_datarec {
	__u64 rx_packets, rx_bytes;
};

/* Packets xdpfilt returned `action` for, over the CPUs. */
static __u64 xdpfilt_packets(__u32 action)
{
	struct xf_datarec v[ncpus];
	__u64 sum = 0;

	if (xf.stats_fd < 0 || bpf_map_lookup_elem(xf.stats_fd, &action, v))
		return 0;
	for (int i = 0; i < ncpus; i++)
		sum += v[i].rx_packets;
	return sum;
}

/* Take program `id` as xdpfilt: a descriptor of it and of its xdp_stats_map. */
static int xdpfilt_take(__u32 id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info), ids[16];
	int fd, err;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0) {
		err = -errno;
		snprintf(xf.why, sizeof(xf.why), "program %u: %s", id, strerror(-err));
		return err;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		goto bad;
	if (info.type != BPF_PROG_TYPE_XDP || strcmp(info.name, XDPFILT_PROG)) {
		snprintf(xf.why, sizeof(xf.why),
			 "the program on xdp-filter's link is '%s', not " XDPFILT_PROG, info.name);
		close(fd);
		return -ENOENT;
	}
	if (info.nr_map_ids > 16)
		goto bad;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 16;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		goto bad;
	for (__u32 i = 0; i < info.nr_map_ids && xf.stats_fd < 0; i++) {
		struct bpf_map_info mi;
		__u32 mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		memset(&mi, 0, sizeof(mi));
		if (mfd >= 0 && !bpf_obj_get_info_by_fd(mfd, &mi, &mlen) &&
		    !strcmp(mi.name, "xdp_stats_map") && mi.value_size == sizeof(struct xf_datarec))
			xf.stats_fd = mfd;
		else if (mfd >= 0)
			close(mfd);
	}
	if (xf.stats_fd < 0) {
		snprintf(xf.why, sizeof(xf.why), XDPFILT_PROG " has no xdp_stats_map as expected");
		close(fd);
		return -ENOENT;
	}
	xf.prog_fd = fd;
	return 0;
bad:
	err = -errno;
	snprintf(xf.why, sizeof(xf.why), "program %u: %s", id, strerror(errno));
	close(fd);
	return err ? err : -EINVAL;
}

/*
 * Load xdp-filter with xdpfilt.sh and keep a descriptor of its program; the
 * script removes its namespace and pins as soon as the bench has it (or
 * fails, or dies: it ends at the end of its stdin). Without xdp-filter, its
 * rows are left out and the report says why.
 */
static void xdpfilt_open(void)
{
	int to[2] = { -1, -1 }, from[2] = { -1, -1 }, status;
	char line[128], port[8];
	unsigned int id;
	pid_t pid;
	FILE *f;

	snprintf(port, sizeof(port), "%d", XDPFILT_PORT);
	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC)) {
		snprintf(xf.why, sizeof(xf.why), "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		/* dup2() leaves the copies open across exec */
		if (dup2(to[0], STDIN_FILENO) < 0 || dup2(from[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl("/bin/bash", "bash", XS_BENCH_DIR "/xdpfilt.sh", port, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	if (pid < 0) {
		snprintf(xf.why, sizeof(xf.why), "fork: %s", strerror(errno));
		close(to[1]);
		close(from[0]);
		return;
	}
	f = fdopen(from[0], "r");
	if (f && fgets(line, sizeof(line), f) && sscanf(line, "ready %u", &id) == 1)
		xdpfilt_take(id);
	else
		snprintf(xf.why, sizeof(xf.why), "xdpfilt.sh did not load xdp-filter (see above)");
	close(to[1]); /* the script cleans up now */
	if (f)
		fclose(f);
	else
		close(from[0]);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		;
	else if (xf.prog_fd >= 0)
		p_warn("xdpfilt.sh did not clean up: look for namespaces xsb-* and "
		       "/sys/fs/bpf/xdp-filter");
	if (xf.prog_fd < 0)
		return;
	__u32 slot = XDPFILT_SLOT;

	if (bpf_map_update_elem(bpf_map__fd(helpers->maps.xs_bench_jmp), &slot, &xf.prog_fd, 0))
		snprintf(xf.why, sizeof(xf.why),
			 "the varier cannot tail-call " XDPFILT_PROG " (%s): no vary rows",
			 strerror(errno));
	else
		xf.vary = true;
}

static void xdpfilt_close(void)
{
	if (xf.stats_fd >= 0)
		close(xf.stats_fd);
	if (xf.prog_fd >= 0)
		close(xf.prog_fd);
	xf.stats_fd = xf.prog_fd = -1;
}

/* Is this row measured in this run? (xdp-filter's rows need xdp-filter.) */
static bool row_measured(const struct scen *s)
{
	return !s->xdpfilt || (xf.prog_fd >= 0 && (s->mode != M_VARY || xf.vary));
}

/* ---- Policy: generate, compile, push ------------------------------------------ */

struct mem_file {
	const char *name;
	const char *text;
	size_t len;
};

/* Resolver over one in-memory file. */
static int resolve_mem(void *ctx, const char *from, const char *name, size_t limit,
		       struct xs_file *out)
{
	const struct mem_file *f = ctx;

	if (strcmp(name, f->name))
		return -ENOENT;
	if (f->len > limit)
		return -EFBIG;
	out->path = strdup(f->name);
	out->text = malloc(f->len + 1);
	if (!out->path || !out->text) {
		free(out->path);
		free(out->text);
		return -ENOMEM;
	}
	memcpy(out->text, f->text, f->len + 1);
	out->len = f->len;
	return 0;
}

/* Compile g's text with the real compiler and push it; or, with --direct,
 * push the entries the generator expects. Cross-checks the two. */
static int load_policy(struct inst *in, const struct polgen *g, const struct opts *o)
{
	struct xs_compiled *c = NULL, direct = { 0 };
	struct xs_policy pol;
	struct xs_diags d;
	char name[64];
	double t0;
	int err;

	snprintf(name, sizeof(name), "bench-%zu.policy", in->entries);
	struct mem_file f = { name, g->text, g->len };

	xs_diags_init(&d);
	t0 = now_s();
	if (o->direct) {
		polgen_as_compiled(g, &pol, &direct);
		c = &direct;
	} else {
		err = xs_policy_compile(name, resolve_mem, &f, &c, &d);
		if (err) {
			p_err("the generated policy %s does not compile (%s); its diagnostics:",
			      name, strerror(-err));
			xs_diags_print(stderr, &d, false);
			goto out;
		}
	}
	in->compile_s = now_s() - t0;
	if (c->nrules != g->nrules || c->nv4 != g->nv4 || c->nv6 != g->nv6)
		p_warn("%s compiled to %zu rule entries, %zu v4 and %zu v6 prefixes; the generator "
		       "expected %zu, %zu and %zu",
		       name, c->nrules, c->nv4, c->nv6, g->nrules, g->nv4, g->nv6);
	in->compiled_entries = c->nrules;
	in->nv4 = c->nv4;
	in->nv6 = c->nv6;
	in->nsegments = c->nseginfo - 1;

	t0 = now_s();
	err = xs_policy_push(&in->maps, c, name, NULL);

	in->push_s = now_s() - t0;
	if (err)
		p_err("pushing %s into the maps failed: %s", name, strerror(-err));
out:
	if (c && c != &direct)
		xs_compiled_free(c);
	xs_diags_free(&d);
	return err;
}

/* ---- Running packets ------------------------------------------------------- */

/* One BPF_PROG_RUN. Returns 0 and the retval and per-run duration. */
static int run(int fd, const struct pkt *p, __u32 repeat, __u32 *retval, __u32 *duration)
{
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = p->data, .data_size_in = (__u32)p->len,
		    .repeat = repeat);
	int err;

	err = bpf_prog_test_run_opts(fd, &t);
	if (err)
		return -errno;
	*retval = t.retval;
	*duration = t.duration;
	return 0;
}

/* Sum of xs_stats[idx].packets over the CPUs. */
static __u64 stat_packets(const struct inst *in, __u32 idx)
{
	struct xs_counter v[ncpus];
	__u64 sum = 0;

	if (bpf_map_lookup_elem(in->maps.stats, &idx, v))
		return 0;
	for (int i = 0; i < ncpus; i++)
		sum += v[i].packets;
	return sum;
}

/* The only entry of the flow tables with this family and protocol: a
 * tracked flow, or a remembered denial (`denial`). */
struct find_ctx {
	uint8_t family, proto;
	bool denial;
	struct xs_tuple *out;
};

static int find_one(const struct xs_tuple *k, const struct xs_flow_hdr *h, void *arg)
{
	struct find_ctx *c = arg;

	if (k->family != c->family || k->proto != c->proto ||
	    (h->state == XS_CT_DENIED) != c->denial)
		return 0;
	*c->out = *k;
	return 1;
}

static int find_key(const struct xs_maps *m, uint8_t family, uint8_t proto, bool denial,
		    struct xs_tuple *out)
{
	struct find_ctx c = { family, proto, denial, out };
	int rc = xs_flows_scan(m, find_one, &c);

	return rc == 1 ? 0 : rc < 0 ? rc : -ENOENT;
}

/* The reasons the bench expects (names as in `xdpseg stats`). */
static const char *reason_str(uint8_t r)
{
	switch (r) {
	case XS_REASON_RULE:
		return "rule";
	case XS_REASON_DENY_RULE:
		return "deny-rule";
	case XS_REASON_ESTABLISHED:
		return "established";
	default:
		return "another reason";
	}
}

static const char *act_name(__u32 a)
{
	return a == XDP_PASS ? "XDP_PASS" : a == XDP_DROP ? "XDP_DROP" : "another action";
}

/* Build the packet and bring the flow to the state the measurement needs. */
static int prime(struct inst *in, struct scen *s)
{
	__u32 rv = 0, dur = 0; /* (set by run(); gcc -O3 cannot tell) */
	int err;

	if (s->baseline || s->prime == PRIME_NONE)
		return 0;
	if (s->prime == PRIME_HANDSHAKE) {
		struct pkt syn, synack;

		pkt_build(&syn, s->src, s->dst, s->proto, s->sport, s->dport, PKT_SYN);
		pkt_build(&synack, s->dst, s->src, s->proto, s->dport, s->sport, PKT_SYN | PKT_ACK);
		err = run(in->prog_fd, &syn, 1, &rv, &dur);
		if (!err && rv == XDP_PASS)
			err = run(in->prog_fd, &synack, 1, &rv, &dur);
		if (err || rv != XDP_PASS) {
			p_err("%s: the handshake of %s -> %s did not pass (%s)", s->name, s->src,
			      s->dst, err ? strerror(-err) : act_name(rv));
			return err ? err : -EPROTO;
		}
	}
	err = run(in->prog_fd, &pkts[s - scens], 1, &rv, &dur);
	if (err)
		return err;
	if (rv != (__u32)s->retval) {
		p_err("%s (%s): xs_xdp returned %s, expected %s", s->name, s->desc, act_name(rv),
		      act_name((__u32)s->retval));
		return -EPROTO;
	}
	if (s->del != DEL_NONE && !in->have_key[s - scens]) {
		in->have_key[s - scens] = true;
		err = find_key(&in->maps, strchr(s->src, ':') ? 6 : 4, s->proto, s->del == DEL_DENY,
			       &in->key[s - scens]);
		if (err) {
			p_err("%s: no %s after the flow's first packet", s->name,
			      s->del == DEL_CT ? "tracked flow" : "remembered denial");
			return err;
		}
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Set (`set`) or read the varier's counter on the bench's CPU. */
static int vary_counter(__u32 *val, bool set)
{
	int fd = bpf_map__fd(helpers->maps.xs_bench_ctr);
	__u64 v[ncpus]; /* a per-CPU __u32 takes 8 bytes a CPU */
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, v))
		return -errno;
	if (!set) {
		*val = (__u32)v[bench_cpu];
		return 0;
	}
	v[bench_cpu] = *val;
	return bpf_map_update_elem(fd, &zero, v, BPF_ANY) ? -errno : 0;
}

/* One measurement of one packet type on one instance: ns per packet. */
static int measure(struct inst *in, struct scen *s, const struct opts *o, double *ns)
{
	size_t si = (size_t)(s - scens);
	__u32 idx = XS_STAT_IDX(s->verdict, s->reason);
	int fd = s->xdpfilt ? xf.prog_fd : s->baseline ? pass_fd : in->prog_fd;
	__u64 before = 0, runs;
	__u32 zero = 0, slot = s->xdpfilt    ? XDPFILT_SLOT
			       : s->baseline ? PASS_SLOT
					     : (__u32)in->slot;
	__u32 rv = 0, dur = 0; /* (set by run(); gcc -O3 cannot tell) */
	int err = 0;

	err = prime(in, s);
	if (err)
		return err;
	/* primed unbound (the handshake's reply comes from the same port) */
	if (s->bound && xs_iface_bind(&in->maps, BENCH_IFINDEX, "lo") != 1) {
		p_err("%s: the policy does not bind 'lo' (its bind statement, or --direct)",
		      s->name);
		return -ENOENT;
	}
	if (!s->baseline)
		before = stat_packets(in, idx);
	else if (s->xdpfilt)
		before = xdpfilt_packets((__u32)s->retval);
	if (s->mode == M_VARY) {
		fd = vary_fd;
		if (bpf_map_update_elem(bpf_map__fd(helpers->maps.xs_bench_slot), &zero, &slot, 0))
			return -errno;
		err = vary_counter(&in->vctr[si], true);
		if (err)
			return err;
	}
	if (s->mode != M_SINGLE) {
		runs = o->repeat;
		err = run(fd, &pkts[s - scens], o->repeat, &rv, &dur);
		if (!err && s->mode == M_VARY)
			err = vary_counter(&in->vctr[si], false);
		if (err)
			return err;
		*ns = dur; /* the kernel's total / repeat, truncated to ns */
	} else {
		__u32 *d = calloc((size_t)o->single, sizeof(*d));

		if (!d)
			return -ENOMEM;
		runs = (__u64)o->single;
		for (int i = 0; i < o->single && !err; i++) {
			if (s->del != DEL_NONE && xs_flow_delete(&in->maps, &in->key[si])) {
				p_err("%s: the %s was not recreated by the previous run", s->name,
				      s->del == DEL_CT ? "tracked flow" : "remembered denial");
				err = -ENOENT;
				break;
			}
			err = run(fd, &pkts[s - scens], 1, &rv, &d[i]);
			if ((i & 1023) == 1023)
				ring_buffer__consume(in->rb);
		}
		qsort(d, (size_t)o->single, sizeof(*d), cmp_u32);
		*ns = d[o->single / 2];
		free(d);
		if (err)
			return err;
	}
	ring_buffer__consume(in->rb);
	if (s->bound)
		xs_iface_unbind(&in->maps, BENCH_IFINDEX);
	if (rv != (__u32)s->retval) {
		p_err("%s: returned %s, expected %s", s->name, act_name(rv),
		      act_name((__u32)s->retval));
		return -EPROTO;
	}
	if (!s->baseline) {
		__u64 delta = stat_packets(in, idx) - before;

		if (delta != runs && !in->path_bad[si]) {
			p_warn("%s at %zu entries: %llu of %llu runs were counted as (%s, %s); "
			       "the measurement may not be of the intended path",
			       s->name, in->entries, (unsigned long long)delta,
			       (unsigned long long)runs, s->verdict ? "drop" : "allow",
			       reason_str(s->reason));
			in->path_bad[si] = true;
		}
	} else if (s->xdpfilt) {
		__u64 delta = xdpfilt_packets((__u32)s->retval) - before;

		if (delta != runs && !in->path_bad[si]) {
			p_warn("%s: " XDPFILT_PROG " counted %llu of %llu runs as %s", s->name,
			       (unsigned long long)delta, (unsigned long long)runs,
			       act_name((__u32)s->retval));
			in->path_bad[si] = true;
		}
	}
	return 0;
}

/*
 * Fill both flow tables to capacity with the varier, so that every round
 * measures a flood's steady state (each new entry evicts an old one) rather
 * than the first round filling empty tables. Precondition: the instance is
 * in xs_bench_jmp.
 */
static int warm_up(struct inst *in)
{
	static const char *const floods[] = { "new4", "new6" };
	const __u32 slots[] = { XS_FLOW4_BUCKETS * XS_FLOW_WAYS, XS_FLOW6_BUCKETS * XS_FLOW_WAYS };
	__u32 zero = 0, slot = (__u32)in->slot, rv, dur;
	int err;

	if (bpf_map_update_elem(bpf_map__fd(helpers->maps.xs_bench_slot), &zero, &slot, 0))
		return -errno;
	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; i < NSCENS; i++) {
			if (strcmp(scens[i].name, floods[f]))
				continue;
			err = vary_counter(&in->vctr[i], true);
			if (!err)
				err = run(vary_fd, &pkts[i], slots[f] * 5 / 4, &rv, &dur);
			if (!err)
				err = vary_counter(&in->vctr[i], false);
			if (err)
				return err;
		}
	}
	ring_buffer__consume(in->rb);
	return 0;
}

/* ---- Setup and teardown ------------------------------------------------------ */

static void inst_close(struct inst *in)
{
	ring_buffer__free(in->rb);
	in->rb = NULL;
	xdpseg__destroy(in->skel);
	in->skel = NULL;
}

static int inst_open(struct inst *in, const struct opts *o)
{
	struct bpf_program *prog;
	struct xs_config cfg;
	struct polgen g;
	__u32 zero = 0;
	int err;

	in->skel = xdpseg__open_and_load();
	if (!in->skel) {
		err = -errno;
		p_err("loading the datapath (xdpseg.skel.h) failed: %s; rerun with -v for the "
		      "verifier's log",
		      strerror(-err));
		return err;
	}
	prog = bpf_object__find_program_by_name(in->skel->obj, "xs_xdp");
	if (!prog) {
		p_err("the BPF object has no program 'xs_xdp' (bpf/xdpseg.bpf.c): the datapath is "
		      "not there yet");
		return -ENOENT;
	}
	in->prog_fd = bpf_program__fd(prog);
	err = xs_maps_from_object(in->skel->obj, &in->maps);
	if (err) {
		p_err("the BPF object lacks the maps of include/xdpseg.h: %s", strerror(-err));
		return err;
	}
	/* what `xdpseg attach` writes: drop events carry the packet's first bytes */
	if (bpf_map_lookup_elem(in->maps.config, &zero, &cfg) == 0) {
		cfg.snap_len = XS_DEFAULT_SNAP_LEN;
		if (bpf_map_update_elem(in->maps.config, &zero, &cfg, BPF_ANY))
			return -errno;
	}
	in->rb = ring_buffer__new(in->maps.events, ev_noop, NULL, NULL);
	if (!in->rb) {
		err = -errno;
		p_err("cannot open the xs_events ring buffer: %s", strerror(-err));
		return err;
	}
	err = polgen_make(&g, in->entries);
	if (err) {
		p_err("generating a policy of %zu entries failed: %s", in->entries, strerror(-err));
		return err;
	}
	err = load_policy(in, &g, o);
	polgen_free(&g);
	if (err)
		return err;
	for (size_t i = 0; i < NSCENS && !err; i++)
		err = prime(in, &scens[i]);
	return err;
}

/* Load bench.bpf.c: the XDP_PASS baseline and the varier. */
static int helpers_open(void)
{
	__u32 slot = PASS_SLOT;
	int err;

	helpers = xs_bench__open_and_load();
	if (!helpers) {
		err = -errno;
		p_err("loading the bench helpers (tests/bench/bench.bpf.c) failed: %s; rerun with "
		      "-v",
		      strerror(-err));
		return err;
	}
	pass_fd = bpf_program__fd(helpers->progs.xs_bench_pass);
	vary_fd = bpf_program__fd(helpers->progs.xs_bench_vary);
	if (bpf_map_update_elem(bpf_map__fd(helpers->maps.xs_bench_jmp), &slot, &pass_fd, 0)) {
		err = -errno;
		p_err("cannot put the XDP_PASS program into xs_bench_jmp: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* Let the varier tail-call this instance's xs_xdp. */
static int helpers_add(const struct inst *in)
{
	__u32 slot = (__u32)in->slot;
	int err;

	if (bpf_map_update_elem(bpf_map__fd(helpers->maps.xs_bench_jmp), &slot, &in->prog_fd, 0)) {
		err = -errno;
		p_err("xs_xdp cannot be tail-called from the bench's varier: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* Write the generated policy of `entries` to `path`, for `xdpseg check`. */
static int dump_policy(const char *path, size_t entries)
{
	struct polgen g;
	FILE *f;
	int err;

	err = polgen_make(&g, entries);
	if (err)
		return err;
	f = fopen(path, "w");
	if (!f) {
		err = -errno;
		p_err("cannot write %s: %s", path, strerror(-err));
		goto out;
	}
	fwrite(g.text, 1, g.len, f);
	if (fclose(f))
		err = -errno;
out:
	polgen_free(&g);
	return err;
}

/* ---- Report ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct cell {
	double med, min, max;
};

static struct cell summarize(const double *v, int n)
{
	double s[MAX_ROUNDS];
	struct cell c;

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	c.min = s[0];
	c.max = s[n - 1];
	c.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return c;
}

/* Median of the worst size, for the absolute target. */
static double worst_median(const struct inst *in, int nsizes, size_t i, int rounds)
{
	double worst = 0;

	for (int z = 0; z < nsizes; z++) {
		struct cell c = summarize(in[z].res[i], rounds);

		worst = c.med > worst ? c.med : worst;
	}
	return worst;
}

/* What was measured on: kernel, CPU, the program's size. */
static void print_env(const struct inst *in)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	struct utsname u;
	char line[256], model[128] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(model, sizeof(model), "%s", c + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	uname(&u);
	printf("\nLinux %s, %s, %d CPUs (the bench runs on CPU %d)\n", u.release, model, ncpus,
	       bench_cpu);
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(in->prog_fd, &info, &len))
		printf("xs_xdp: %u BPF instructions (%u verified), %u bytes of JIT code%s\n",
		       info.xlated_prog_len / 8, info.verified_insns, info.jited_prog_len,
		       info.jited_prog_len ? "" : " (NOT JITed: enable net.core.bpf_jit_enable)");
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	if (xf.prog_fd >= 0 && !bpf_obj_get_info_by_fd(xf.prog_fd, &info, &len))
		printf(XDPFILT_PROG " (xdp-filter, all features, tcp dst %d denied): %u BPF "
				    "instructions, %u bytes of JIT code%s%s\n",
		       XDPFILT_PORT, info.xlated_prog_len / 8, info.jited_prog_len,
		       *xf.why ? "; " : "", xf.why);
	else
		printf("xdp-filter's rows: not measured (%s)\n", xf.why);
}

static void report_targets(const struct inst *in, const struct opts *o);

static void report(const struct inst *in, const struct opts *o)
{
	int last = o->nsizes - 1;

	print_env(in);
	printf("\npolicies: generated text, %s, pushed by xs_policy_push()\n",
	       o->direct ? "NOT compiled (--direct: entries from the generator)"
			 : "compiled by xs_policy_compile()");
	for (int z = 0; z < o->nsizes; z++)
		printf("  %7zu rule-table entries: %zu segments, %zu v4 + %zu v6 prefixes; "
		       "compile %.2f s, push %.2f s\n",
		       in[z].compiled_entries, in[z].nsegments, in[z].nv4, in[z].nv6,
		       in[z].compile_s, in[z].push_s);
	printf("\nns/packet: median [min-max] over %d rounds. repeat: one BPF_PROG_RUN of %u "
	       "runs per round;\nsingle: median of %d runs with repeat=1 per round (include "
	       "the timer cost shown by pass1).\n'!' = the datapath counted some runs under "
	       "another reason than expected.\n\n",
	       o->rounds, o->repeat, o->single);
	printf("%-6s %-37s %-6s", "packet", "", "mode");
	for (int z = 0; z < o->nsizes; z++) {
		char h[32];

		snprintf(h, sizeof(h), "%zu", in[z].entries);
		printf(" %-19s", h);
	}
	printf(" %-7s %s\n", o->nsizes > 1 ? "ratio" : "", "targets");
	for (size_t i = 0; i < NSCENS; i++) {
		const struct scen *s = &scens[i];
		if (!row_measured(s))
			continue;
		struct cell c0 = summarize(in[0].res[i], o->rounds);
		struct cell cl = summarize(in[last].res[i], o->rounds);
		double ratio = c0.med > 0 ? cl.med / c0.med : 0;
		char tgt[64] = "", rbuf[16] = "";

		printf("%-6s %-37s %-6s", s->name, s->desc, mode_names[s->mode]);
		for (int z = 0; z < o->nsizes; z++) {
			struct cell c = summarize(in[z].res[i], o->rounds);
			char buf[40];

			snprintf(buf, sizeof(buf), "%.1f [%.0f-%.0f]%s", c.med, c.min, c.max,
				 in[z].path_bad[i] ? "!" : "");
			printf(" %-19s", buf);
		}
		if (o->nsizes > 1)
			snprintf(rbuf, sizeof(rbuf), "%.2fx", ratio);
		if (!s->baseline && o->nsizes > 1)
			snprintf(tgt, sizeof(tgt), "ratio<=%.1f %s", TARGET_RATIO,
				 ratio <= TARGET_RATIO ? "ok" : "MISSED");
		if (s->target) {
			double w = worst_median(in, o->nsizes, i, o->rounds);

			snprintf(tgt + strlen(tgt), sizeof(tgt) - strlen(tgt), "%s<=%.0fns %s",
				 *tgt ? ", " : "", TARGET_NS, w <= TARGET_NS ? "ok" : "MISSED");
		}
		printf(" %-7s %s\n", rbuf, tgt);
	}
	printf("\nratio = median at %zu / median at %zu entries.\n", in[last].entries,
	       in[0].entries);
	report_targets(in, o);
}

/* ---- The targets of issue 9 -------------------------------------------------- */

/* row / ref <= max at every size. The reference is measured the same way
 * (repeat against repeat, vary against vary), so the varier's own cost is on
 * both sides of a vary ratio. */
struct target {
	const char *row, *ref;
	double max;
	const char *what;
};

static const struct target targets[] = {
	{ "est4", "xfd4", 0.7, "established <= 0.7x xdp-filter deny" },
	{ "est6", "xfd6", 0.7, "" },
	{ "miss4", "xfd4v", 1.1, "spoofed denied SYN <= 1.1x xdp-filter deny" },
	{ "miss6", "xfd6v", 1.1, "" },
	{ "new4", "xfd4v", 2.5, "new allowed flow (flood) <= 2.5x xdp-filter deny" },
	{ "new6", "xfd6v", 2.5, "" },
	{ "est6", "est4", 1.3, "IPv6 within 1.3x of IPv4" },
	{ "est6b", "est4b", 1.3, "" },
	{ "drop6", "drop4", 1.3, "" },
	{ "miss6", "miss4", 1.3, "" },
	{ "new6", "new4", 1.3, "" },
};

static int scen_index(const char *name)
{
	for (size_t i = 0; i < NSCENS; i++)
		if (!strcmp(scens[i].name, name))
			return (int)i;
	return -1;
}

static void report_targets(const struct inst *in, const struct opts *o)
{
	int last = o->nsizes - 1;
	char list[512] = "";
	bool all = true;

	printf("\ntargets (issue 9): ratio of the medians of this run, per size; ok when every "
	       "size meets it\n\n");
	printf("%-14s %-48s %-7s", "ratio", "target", "max");
	for (int z = 0; z < o->nsizes; z++)
		printf(" %8zu", in[z].entries);
	printf("\n");
	for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
		const struct target *g = &targets[t];
		int a = scen_index(g->row), b = scen_index(g->ref);
		char name[32];
		bool ok = true, bad = false;

		snprintf(name, sizeof(name), "%s/%s", g->row, g->ref);
		printf("%-14s %-48s <=%-5.2f", name, g->what, g->max);
		if (a < 0 || b < 0 || !row_measured(&scens[a]) || !row_measured(&scens[b])) {
			printf(" not measured (%s)\n", xf.why);
			continue;
		}
		for (int z = 0; z < o->nsizes; z++) {
			double x = summarize(in[z].res[a], o->rounds).med;
			double y = summarize(in[z].res[b], o->rounds).med;
			double r = y > 0 ? x / y : 0;

			bad |= in[z].path_bad[a] || in[z].path_bad[b];
			ok &= y > 0 && r <= g->max;
			printf(" %7.2fx", r);
		}
		printf("  %s%s\n", ok ? "ok" : "MISS", bad ? " (!: a path not as intended)" : "");
	}
	/* 100k / 10 on every row of xs_xdp */
	for (size_t i = 0; i < NSCENS && o->nsizes > 1; i++) {
		struct cell c0 = summarize(in[0].res[i], o->rounds);
		struct cell cl = summarize(in[last].res[i], o->rounds);
		double r = c0.med > 0 ? cl.med / c0.med : 0;

		if (scens[i].baseline || r <= TARGET_RATIO)
			continue;
		all = false;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s %.2fx",
			 *list ? ", " : "", scens[i].name, r);
	}
	if (o->nsizes > 1)
		printf("%-14s %-48s <=%-5.2f %s%s%s\n", "largest/first",
		       "every xs_xdp row, the table's ratio column", TARGET_RATIO,
		       all ? "ok" : "MISS: ", list, "");
}

/* ---- The compiler on large policies (--compile) ------------------------------- */

#define COMPILE_RUNS 5

/* Median of COMPILE_RUNS in-process xs_policy_compile() runs (parse, lint,
 * compile) of one generated policy; needs no root. */
static int time_compile(enum polgen_big kind, const char *what)
{
	struct mem_file f = { "big.policy", NULL, 0 };
	struct xs_compiled *c = NULL;
	double t[COMPILE_RUNS];
	size_t nrules, entries = 0;
	int err = 0;

	f.text = polgen_big(kind, &f.len, &nrules);
	if (!f.text)
		return -ENOMEM;
	for (int i = 0; i < COMPILE_RUNS && !err; i++) {
		struct xs_diags d;
		double t0 = now_s();

		xs_diags_init(&d);
		err = xs_policy_compile(f.name, resolve_mem, &f, &c, &d);
		t[i] = now_s() - t0;
		if (err) {
			p_err("the generated policy (%s) does not compile: %s", what,
			      strerror(-err));
			xs_diags_print(stderr, &d, false);
		} else {
			entries = c->nrules;
		}
		xs_compiled_free(c);
		xs_diags_free(&d);
	}
	if (!err) {
		qsort(t, COMPILE_RUNS, sizeof(t[0]), cmp_double);
		printf("  %-44s %6zu rules  %7zu entries  %8.1f ms\n", what, nrules, entries,
		       t[COMPILE_RUNS / 2] * 1e3);
	}
	free((char *)f.text);
	return err;
}

static int bench_compile(void)
{
	printf("xs_policy_compile() (parse, lint, compile), median of %d runs:\n", COMPILE_RUNS);
	if (time_compile(POLGEN_SINGLE_PORTS, "single-port rules, one segment pair") ||
	    time_compile(POLGEN_SPREAD_PORTS, "single-port rules, 64 x 64 segment pairs") ||
	    time_compile(POLGEN_WIDE_RULES, "rules of 30 ports each, one segment pair"))
		return -1;
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

static const char usage[] =
	"Usage: xdpseg-bench [OPTIONS]\n"
	"ns/packet of xs_xdp with BPF_PROG_RUN, per packet type and policy size.\n"
	"  -r, --rounds N      rounds, interleaving sizes and packets (default 7)\n"
	"  -n, --repeat N      BPF_PROG_RUN repeat for steady-state rows (default 1000000)\n"
	"  -s, --single N      runs per single-run row and round (default 20000)\n"
	"  -z, --sizes A,B,..  rule-table sizes (default 10,1000,100000)\n"
	"  -d, --direct        fill the maps from the generator instead of compiling\n"
	"  -X, --no-xdp-filter without xdp-filter's rows (the reference of the targets)\n"
	"  -p, --dump-policy F write the generated policy of the last size to F and exit\n"
	"  -c, --compile       time the policy compiler on large policies and exit (no root)\n"
	"  -v, --verbose       libbpf's log (twice: with debug)\n"
	"  -h, --help\n";

static int parse_sizes(const char *arg, struct opts *o)
{
	char *end;

	o->nsizes = 0;
	while (*arg && o->nsizes < MAX_SIZES) {
		unsigned long v = strtoul(arg, &end, 10);

		if (end == arg || v < 3 || v > XS_MAX_RULE_ENTRIES)
			return -EINVAL;
		o->sizes[o->nsizes++] = v;
		arg = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -EINVAL;
	}
	return o->nsizes ? 0 : -EINVAL;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "single", required_argument, NULL, 's' },
		{ "sizes", required_argument, NULL, 'z' },
		{ "direct", no_argument, NULL, 'd' },
		{ "no-xdp-filter", no_argument, NULL, 'X' },
		{ "dump-policy", required_argument, NULL, 'p' },
		{ "compile", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	*o = (struct opts){ .rounds = 7, .repeat = 1000000, .single = 20000, .nsizes = 3 };
	o->sizes[0] = 10;
	o->sizes[1] = 1000;
	o->sizes[2] = 100000;
	while ((c = getopt_long(argc, argv, "r:n:s:z:dXp:cvh", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->rounds = atoi(optarg);
			if (o->rounds < 1 || o->rounds > MAX_ROUNDS) {
				fprintf(stderr, "xdpseg-bench: --rounds takes 1..%d\n", MAX_ROUNDS);
				return XS_EXIT_USAGE;
			}
			break;
		case 'n':
			o->repeat = (__u32)strtoul(optarg, NULL, 10);
			if (!o->repeat) {
				fprintf(stderr, "xdpseg-bench: --repeat takes a positive count\n");
				return XS_EXIT_USAGE;
			}
			break;
		case 's':
			o->single = atoi(optarg);
			if (o->single < 1) {
				fprintf(stderr, "xdpseg-bench: --single takes a positive count\n");
				return XS_EXIT_USAGE;
			}
			break;
		case 'z':
			if (parse_sizes(optarg, o)) {
				fprintf(stderr,
					"xdpseg-bench: --sizes takes up to %d comma-separated "
					"counts, each 3..%d\n",
					MAX_SIZES, XS_MAX_RULE_ENTRIES);
				return XS_EXIT_USAGE;
			}
			break;
		case 'd':
			o->direct = true;
			break;
		case 'X':
			o->no_xdpfilt = true;
			break;
		case 'p':
			o->dump = optarg;
			break;
		case 'c':
			o->compile = true;
			break;
		case 'v':
			xs_verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			return XS_EXIT_OK;
		default:
			fputs(usage, stderr);
			return XS_EXIT_USAGE;
		}
	}
	return -1;
}

/* Run on one CPU: BPF_PROG_RUN runs the program on the calling CPU. */
static void pin_cpu(void)
{
	cpu_set_t set;
	int cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;

	CPU_ZERO(&set);
	CPU_SET(cpu > 0 ? cpu : 0, &set);
	bench_cpu = cpu > 0 ? cpu : 0;
	if (sched_setaffinity(0, sizeof(set), &set))
		p_warn("cannot pin to CPU %d: %s; results may be noisier", cpu, strerror(errno));
}

int main(int argc, char **argv)
{
	struct inst *in = NULL;
	struct opts o;
	int err, rc = XS_EXIT_FAIL;
	double t0 = now_s();

	rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = XS_EXIT_FAIL;
	libbpf_set_print(libbpf_log);
	if (o.dump)
		return dump_policy(o.dump, o.sizes[o.nsizes - 1]) ? XS_EXIT_FAIL : XS_EXIT_OK;
	if (o.compile)
		return bench_compile() ? XS_EXIT_FAIL : XS_EXIT_OK;
	if (geteuid() != 0) {
		p_err("xdpseg-bench loads BPF programs: run it as root (sudo scripts/bench)");
		return XS_EXIT_FAIL;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0) {
		p_err("cannot count the possible CPUs: %s", strerror(-ncpus));
		return XS_EXIT_FAIL;
	}
	pin_cpu();
	for (size_t i = 0; i < NSCENS; i++) {
		struct scen *s = &scens[i];

		err = pkt_build(&pkts[s - scens], s->src, s->dst, s->proto, s->sport, s->dport,
				s->flags);
		if (err) {
			p_err("bad bench address in %s", s->name);
			return XS_EXIT_FAIL;
		}
	}
	in = calloc((size_t)o.nsizes, sizeof(*in));
	if (!in)
		return XS_EXIT_FAIL;
	err = helpers_open();
	if (err)
		goto out;
	if (o.no_xdpfilt)
		snprintf(xf.why, sizeof(xf.why), "--no-xdp-filter");
	else
		xdpfilt_open();
	for (int z = 0; z < o.nsizes; z++) {
		in[z].entries = o.sizes[z];
		in[z].slot = z;
		printf("setting up %zu rule-table entries ...\n", o.sizes[z]);
		fflush(stdout);
		err = inst_open(&in[z], &o);
		if (!err)
			err = helpers_add(&in[z]);
		if (!err)
			err = warm_up(&in[z]);
		if (err)
			goto out;
	}
	for (int r = 0; r < o.rounds; r++) {
		printf("round %d/%d\n", r + 1, o.rounds);
		fflush(stdout);
		for (size_t i = 0; i < NSCENS; i++) {
			if (!row_measured(&scens[i]))
				continue;
			for (int z = 0; z < o.nsizes; z++) {
				/* Alternate the order of sizes between rounds. */
				int zz = r % 2 ? o.nsizes - 1 - z : z;

				err = measure(&in[zz], &scens[i], &o, &in[zz].res[i][r]);
				if (err)
					goto out;
			}
		}
	}
	report(in, &o);
	printf("\n(total %.0f s)\n", now_s() - t0);
	rc = XS_EXIT_OK;
out:
	for (int z = 0; in && z < o.nsizes; z++)
		inst_close(&in[z]);
	free(in);
	xdpfilt_close();
	xs_bench__destroy(helpers);
	return rc;
}

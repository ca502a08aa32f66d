// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* BPF_PROG_RUN harness (see harness.h). */
#include "harness.h"

#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>

#include "ctl/flows.h"
#include "xdpseg.skel.h"

/* A ring-buffer record, by its kind (XS_REC_*), its size checked. */
static int on_event(void *ctx, void *data, size_t len)
{
	struct h *h = ctx;
	const struct xs_event *e = data;
	__u16 kind;

	cr_assert_geq(len, sizeof(kind), "record of %zu bytes: no kind", len);
	memcpy(&kind, data, sizeof(kind));
	if (kind == XS_REC_FLOW_END) {
		cr_assert_eq(len, sizeof(struct xs_flow_end),
			     "flow-end record of %zu bytes, struct xs_flow_end is %zu", len,
			     sizeof(struct xs_flow_end));
		if (h->nfe < H_MAX_FLOWRECS)
			memcpy(&h->fe[h->nfe++], data, sizeof(struct xs_flow_end));
		return 0;
	}
	if (kind != XS_REC_EVENT)
		return 0;
	cr_assert_geq(len, sizeof(*e), "event of %zu bytes, struct xs_event is %zu", len,
		      sizeof(*e));
	cr_assert_eq(len, sizeof(*e) + e->snap_len,
		     "event of %zu bytes, %zu + snap_len %u expected", len, sizeof(*e),
		     e->snap_len);
	cr_assert_leq(e->snap_len, XS_EV_SNAP_MAX, "event carries %u bytes, at most %u expected",
		      e->snap_len, XS_EV_SNAP_MAX);
	h->nrec++;
	if (h->nev < H_MAX_EVENTS) {
		memcpy(h->snap[h->nev], e + 1, e->snap_len);
		memcpy(&h->ev[h->nev++], data, sizeof(struct xs_event));
	}
	return 0;
}

static int prog_fd(struct h *h, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(h->skel->obj, name);

	cr_assert_not_null(prog, "program %s missing from xdpseg.bpf.o", name);
	return bpf_program__fd(prog);
}

void h_open(struct h *h)
{
	struct xs_config cfg;
	cpu_set_t set;
	__u32 zero = 0;
	int cpu = sched_getcpu();

	memset(h, 0, sizeof(*h));
	/* one CPU: the event token bucket is per CPU */
	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0, "sched_setaffinity: %s",
		     strerror(errno));
	h->skel = xdpseg__open_and_load();
	cr_assert_not_null(h->skel, "xdpseg__open_and_load failed (root? bpffs? see libbpf log)");
	cr_assert_eq(xs_maps_from_object(h->skel->obj, &h->maps), 0, "maps missing");
	h->prog_xdp = prog_fd(h, "xs_xdp");
	h->prog_tc = prog_fd(h, "xs_tc_egress");
	h->rb = ring_buffer__new(h->maps.events, on_event, h, NULL);
	cr_assert_not_null(h->rb, "ring_buffer__new: %s", strerror(errno));
	cr_assert_eq(bpf_map_lookup_elem(h->maps.config, &zero, &cfg), 0);
	cfg.drop_ev_rate = XS_DEFAULT_DROP_EV_RATE;
	cfg.drop_ev_burst = XS_DEFAULT_DROP_EV_BURST;
	/* every allowed new flow an event (a test of the bucket sets its own) */
	cfg.allow_ev_rate = 1000000;
	cfg.allow_ev_burst = 1000000;
	cfg.snap_len = XS_DEFAULT_SNAP_LEN;
	cfg.flowrec_rate = 1000000;
	cfg.flowrec_burst = 1000000;
	cr_assert_eq(bpf_map_update_elem(h->maps.config, &zero, &cfg, BPF_ANY), 0);
}

void h_close(struct h *h)
{
	ring_buffer__free(h->rb);
	xs_compiled_free(h->c);
	xdpseg__destroy(h->skel);
	memset(h, 0, sizeof(*h));
}

struct memtext {
	const char *text;
};

static int mem_resolve(void *ctx, const char *from, const char *name, size_t limit,
		       struct xs_file *out)
{
	const struct memtext *m = ctx;
	size_t len = strlen(m->text);

	if (strcmp(name, "main.policy"))
		return -ENOENT;
	if (len > limit)
		return -EFBIG;
	out->path = strdup(name);
	out->text = strdup(m->text);
	out->len = len;
	if (!out->path || !out->text) {
		free(out->path);
		free(out->text);
		return -ENOMEM;
	}
	return 0;
}

struct xs_compiled *h_compile(const char *text)
{
	struct memtext m = { text };
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	int err;

	xs_diags_init(&d);
	err = xs_policy_compile("main.policy", mem_resolve, &m, &c, &d);
	if (err)
		xs_diags_print(stderr, &d, false);
	xs_diags_free(&d);
	cr_assert_eq(err, 0, "test policy does not compile: %d", err);
	return c;
}

void h_push_c(struct h *h, struct xs_compiled *c)
{
	struct xs_push_result res;
	int err;

	err = xs_policy_push(&h->maps, c, "main.policy", &res);
	cr_assert_eq(err, 0, "xs_policy_push: %d", err);
	xs_compiled_free(h->c);
	h->c = c;
	h->generation = res.generation;
}

void h_push(struct h *h, const char *text)
{
	h_push_c(h, h_compile(text));
}

struct xs_config h_cfg(const struct h *h)
{
	struct xs_config cfg;
	__u32 zero = 0;

	cr_assert_eq(bpf_map_lookup_elem(h->maps.config, &zero, &cfg), 0);
	return cfg;
}

void h_cfg_set(struct h *h, const struct xs_config *cfg)
{
	__u32 zero = 0;

	cr_assert_eq(bpf_map_update_elem(h->maps.config, &zero, cfg, BPF_ANY), 0);
}

void h_set_rate(struct h *h, uint32_t rate, uint32_t burst)
{
	struct xs_config cfg;
	__u32 zero = 0;

	cr_assert_eq(bpf_map_lookup_elem(h->maps.config, &zero, &cfg), 0);
	cfg.drop_ev_rate = rate;
	cfg.drop_ev_burst = burst;
	cr_assert_eq(bpf_map_update_elem(h->maps.config, &zero, &cfg, BPF_ANY), 0);
}

void h_set_snap(struct h *h, uint32_t snap_len)
{
	struct xs_config cfg = h_cfg(h);

	cfg.snap_len = snap_len;
	h_cfg_set(h, &cfg);
}

int h_try_run(struct h *h, bool egress, const struct pkt *p, int *retval)
{
	uint8_t out[PKT_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = (__u32)p->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err;

	ring_buffer__consume(h->rb);
	h->nev = h->nrec = 0;
	h->nfe = 0;
	err = bpf_prog_test_run_opts(egress ? h->prog_tc : h->prog_xdp, &opts);
	if (err)
		return -errno;
	ring_buffer__consume(h->rb);
	*retval = (int)opts.retval;
	return 0;
}

int h_run_on(struct h *h, uint32_t ifindex, const struct pkt *p)
{
	struct xdp_md ctx = { .data_end = (__u32)p->len, .ingress_ifindex = ifindex };
	uint8_t out[PKT_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data, .data_size_in = (__u32)p->len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	ring_buffer__consume(h->rb);
	h->nev = h->nrec = 0;
	h->nfe = 0;
	cr_assert_eq(bpf_prog_test_run_opts(h->prog_xdp, &opts), 0,
		     "bpf_prog_test_run_opts (xdp on ifindex %u): %s", ifindex, strerror(errno));
	ring_buffer__consume(h->rb);
	return (int)opts.retval;
}

int h_run(struct h *h, bool egress, const struct pkt *p)
{
	int ret = 0, err = h_try_run(h, egress, p, &ret);

	cr_assert_eq(err, 0, "bpf_prog_test_run_opts (%s, %zu bytes): %s", egress ? "tc" : "xdp",
		     p->len, strerror(-err));
	return ret;
}

int h_send(struct h *h, bool egress, const struct pkt_spec *s)
{
	struct pkt p;

	cr_assert_eq(pkt_build(&p, s), 0, "pkt_build");
	return h_run(h, egress, &p);
}

bool h_passed(bool egress, int ret)
{
	if (egress) {
		cr_assert(ret == TC_OK_ || ret == TC_SHOT_, "TC returned %d", ret);
		return ret == TC_OK_;
	}
	cr_assert(ret == XDP_PASS_ || ret == XDP_DROP_, "XDP returned %d", ret);
	return ret == XDP_PASS_;
}

uint32_t h_rid(const struct h *h, int line)
{
	const struct xs_policy *p = h->c->policy;

	for (size_t i = 0; i < p->norigins; i++)
		if (p->origins[i].kind == XS_ORIGIN_RULE && p->origins[i].line == line)
			return p->origins[i].rule_id;
	cr_assert_fail("no rule at main.policy:%d", line);
	return 0;
}

static const struct xs_segment *seg_by_name(const struct h *h, const char *name)
{
	const struct xs_policy *p = h->c->policy;

	for (size_t i = 0; i < p->nsegments; i++)
		if (!strcmp(p->segments[i].name, name))
			return &p->segments[i];
	return NULL;
}

uint16_t h_seg(const struct h *h, const char *name)
{
	const struct xs_segment *s;

	if (!strcmp(name, "world"))
		return XS_SEG_WORLD;
	s = seg_by_name(h, name);
	cr_assert_not_null(s, "no segment %s", name);
	return s->id;
}

uint32_t h_in_rid(const struct h *h, const char *name)
{
	const struct xs_segment *s;

	if (!strcmp(name, "world"))
		return h->c->policy->world_in_rule_id;
	s = seg_by_name(h, name);
	cr_assert_not_null(s, "no segment %s", name);
	return s->in_rule_id;
}

uint32_t h_out_rid(const struct h *h, const char *name)
{
	const struct xs_segment *s;

	if (!strcmp(name, "world"))
		return h->c->policy->world_out_rule_id;
	s = seg_by_name(h, name);
	cr_assert_not_null(s, "no segment %s", name);
	return s->out_rule_id;
}

void h_bind(struct h *h, const char *ifname)
{
	struct xs_iface e = { .ifindex = H_IFINDEX };
	__u32 key = H_IFINDEX;
	int id;

	/* recorded like an attached interface: every later apply binds it too */
	snprintf(e.name, sizeof(e.name), "%s", ifname);
	cr_assert_eq(bpf_map_update_elem(h->maps.ifaces, &key, &e, BPF_ANY), 0, "xs_ifaces");
	id = xs_iface_bind(&h->maps, H_IFINDEX, ifname);
	cr_assert_geq(id, 0, "xs_iface_bind: %s", strerror(-id));
}

void h_unbind(struct h *h)
{
	__u32 key = H_IFINDEX;

	bpf_map_delete_elem(h->maps.ifaces, &key);
	xs_iface_unbind(&h->maps, H_IFINDEX);
}

uint32_t h_bind_rid(const struct h *h, int line)
{
	const struct xs_policy *p = h->c->policy;

	for (size_t i = 0; i < p->nbindings; i++)
		if (p->bindings[i].loc.line == line)
			return p->bindings[i].rule_id;
	cr_assert_fail("no bind statement at main.policy:%d", line);
	return 0;
}

struct xs_counter h_stat(const struct h *h, uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	struct xs_counter *v = calloc((size_t)ncpu, sizeof(*v)), sum = { 0 };

	cr_assert_not_null(v);
	cr_assert_eq(bpf_map_lookup_elem(h->maps.stats, &idx, v), 0, "xs_stats[%u]", idx);
	for (int i = 0; i < ncpu; i++) {
		sum.packets += v[i].packets;
		sum.bytes += v[i].bytes;
		for (int o = 0; o < XS_EV__OUTCOMES; o++)
			sum.ev[o] += v[i].ev[o];
	}
	free(v);
	return sum;
}

struct xs_rule_counter h_rstat(const struct h *h, uint32_t rule_id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct xs_rule_counter *v = calloc((size_t)ncpu, sizeof(*v)), sum = { 0 };
	int fd = h->maps.rstats[h->generation & 1];

	cr_assert_not_null(v);
	cr_assert_eq(bpf_map_lookup_elem(fd, &rule_id, v), 0, "xs_rstats[%u]", rule_id);
	for (int i = 0; i < ncpu; i++) {
		sum.flows += v[i].flows;
		sum.packets += v[i].packets;
		sum.bytes += v[i].bytes;
	}
	free(v);
	return sum;
}

/* ICMP query messages (RFC 792, 950): 1 request, 2 reply, 0 neither. */
int h_icmp_query(uint8_t proto, uint8_t type)
{
	if (proto == IPPROTO_ICMP) {
		if (type == 8 || type == 13 || type == 15 || type == 17)
			return 1;
		return type == 0 || type == 14 || type == 16 || type == 18 ? 2 : 0;
	}
	if (proto == IPPROTO_ICMPV6)
		return type == 128 ? 1 : type == 129 ? 2 : 0;
	return 0;
}

static bool icmp_query(const struct pkt_spec *s)
{
	return h_icmp_query(s->proto, s->icmp_type) != 0;
}

/* Ports of `s` as the datapath keys them (network order): an ICMP query's
 * identifier sits on the requester's side (sport of a request, dport of a
 * reply), so the key says who asked. */
static void spec_ports(const struct pkt_spec *s, __be16 *sport, __be16 *dport)
{
	*sport = *dport = 0;
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		*sport = htons(s->sport);
		*dport = htons(s->dport);
	} else if (h_icmp_query(s->proto, s->icmp_type) == 1) {
		*sport = htons(s->icmp_id);
	} else if (h_icmp_query(s->proto, s->icmp_type) == 2) {
		*dport = htons(s->icmp_id);
	}
}

void h_tuple(const struct pkt_spec *s, struct xs_tuple *t)
{
	uint8_t a[18], b[18];
	__be16 sp, dp;

	memset(t, 0, sizeof(*t));
	spec_ports(s, &sp, &dp);
	t->family = (uint8_t)pkt_addr(s->src, a);
	pkt_addr(s->dst, b);
	memcpy(a + 16, &sp, 2);
	memcpy(b + 16, &dp, 2);
	if (memcmp(a, b, 18) > 0) {
		uint8_t tmp[18];

		memcpy(tmp, a, 18);
		memcpy(a, b, 18);
		memcpy(b, tmp, 18);
	}
	memcpy(t->addr_a, a, 16);
	memcpy(&t->port_a, a + 16, 2);
	memcpy(t->addr_b, b, 16);
	memcpy(&t->port_b, b + 16, 2);
	t->proto = s->proto;
}

const struct xs_flow_end *h_flowrec(const struct h *h, const struct pkt_spec *init, uint8_t cause)
{
	const struct xs_flow_end *r = &h->fe[0];
	uint8_t sa[16], da[16];
	int fam = pkt_addr(init->src, sa);

	pkt_addr(init->dst, da);
	cr_assert_eq(h->nfe, 1, "expected exactly one flow-end record, got %zu", h->nfe);
	cr_assert_eq(r->kind, XS_REC_FLOW_END);
	cr_assert_eq(r->cause, cause, "flow-end cause %u, expected %u", r->cause, cause);
	cr_assert_eq(r->family, fam, "flow-end family %u", r->family);
	cr_assert_eq(r->proto, init->proto, "flow-end proto %u", r->proto);
	cr_assert_arr_eq(r->saddr, sa, 16, "flow-end saddr: not the initiator's");
	cr_assert_arr_eq(r->daddr, da, 16, "flow-end daddr: not the responder's");
	if (init->proto == IPPROTO_TCP || init->proto == IPPROTO_UDP) {
		cr_assert_eq(r->sport, init->sport, "flow-end sport %u, expected %u", r->sport,
			     init->sport);
		cr_assert_eq(r->dport, init->dport, "flow-end dport %u, expected %u", r->dport,
			     init->dport);
	}
	cr_assert_eq(r->pad[0] | r->pad[1], 0);
	return r;
}

int h_flow_get(const struct h *h, const struct pkt_spec *s, struct xs_flow_entry *e)
{
	struct xs_tuple t;

	h_tuple(s, &t);
	return xs_flow_get(&h->maps, &t, e);
}

int h_ct_lookup(const struct h *h, const struct pkt_spec *s, struct xs_tuple *key,
		struct xs_ct_val *val)
{
	struct xs_flow_hdr e;
	struct xs_tuple t;

	h_tuple(s, &t);
	if (key)
		*key = t;
	if (xs_flow_find(&h->maps, &t, &e) || e.state == XS_CT_DENIED)
		return -ENOENT;
	memset(val, 0, sizeof(*val));
	val->expires_ns = e.expires_ns;
	val->rule_id = e.rule_id;
	val->generation = e.generation;
	val->src_seg = e.src_seg;
	val->dst_seg = e.dst_seg;
	val->state = e.state;
	val->flags = e.flags;
	val->reason = e.reason;
	val->icmp_type = e.icmp_type;
	val->deadline = e.deadline;
	return 0;
}

static size_t map_count(int fd, size_t key_size)
{
	char k[64], next[64];
	size_t n = 0;
	void *prev = NULL;

	cr_assert_leq(key_size, sizeof(k));
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(k, next, key_size);
		prev = k;
		n++;
	}
	return n;
}

void h_deny_forget(const struct h *h, const struct pkt_spec *s)
{
	struct xs_flow_hdr e;
	struct xs_tuple t;

	h_tuple(s, &t);
	if (!xs_flow_find(&h->maps, &t, &e) && e.state == XS_CT_DENIED)
		xs_flow_delete(&h->maps, &t);
}

size_t h_frag_count(const struct h *h)
{
	return map_count(h->maps.frags, sizeof(struct xs_frag_key));
}

static int count_tracked(const struct xs_tuple *k, const struct xs_flow_hdr *e, void *arg)
{
	size_t *n = arg;

	(void)k;
	if (e->state != XS_CT_DENIED)
		(*n)++;
	return 0;
}

static int count_denials(const struct xs_tuple *k, const struct xs_flow_hdr *e, void *arg)
{
	size_t *n = arg;

	(void)k;
	if (e->state == XS_CT_DENIED)
		(*n)++;
	return 0;
}

size_t h_ct_count(const struct h *h)
{
	size_t n = 0;

	cr_assert_eq(xs_flows_scan(&h->maps, count_tracked, &n), 0);
	return n;
}

size_t h_deny_count(const struct h *h)
{
	size_t n = 0;

	cr_assert_eq(xs_flows_scan(&h->maps, count_denials, &n), 0);
	return n;
}

void h_expect_event(const struct h *h, bool egress, const struct pkt_spec *s, const struct pkt *p,
		    uint8_t verdict, uint8_t reason, uint32_t rule_id)
{
	h_expect_event_segs(h, egress, s, p, verdict, reason, rule_id, -1, -1);
}

void h_expect_event_segs(const struct h *h, bool egress, const struct pkt_spec *s,
			 const struct pkt *p, uint8_t verdict, uint8_t reason, uint32_t rule_id,
			 int src_seg, int dst_seg)
{
	const struct xs_event *e = &h->ev[0];
	uint8_t sa[16], da[16];
	uint16_t sseg, dseg;
	int fam = pkt_addr(s->src, sa);
	size_t snap = h_cfg(h).snap_len;

	pkt_addr(s->dst, da);
	cr_assert_eq(h->nev, 1, "expected exactly one event, got %zu", h->nev);
	cr_expect_eq(e->verdict, verdict, "event verdict %u, expected %u", e->verdict, verdict);
	cr_expect_eq(e->reason, reason, "event reason %u, expected %u", e->reason, reason);
	cr_expect_eq(e->rule_id, rule_id, "event rule_id %u, expected %u", e->rule_id, rule_id);
	cr_expect_eq(e->hook, egress ? XS_HOOK_EGRESS : XS_HOOK_INGRESS, "event hook %u", e->hook);
	cr_expect_eq(e->proto, s->proto, "event proto %u", e->proto);
	cr_expect_eq(e->family, fam, "event family %u", e->family);
	cr_expect_eq(e->pkt_len, p->len, "event pkt_len %u, packet is %zu", e->pkt_len, p->len);
	cr_expect_eq(e->generation, h->generation, "event generation %u, expected %u",
		     e->generation, h->generation);
	cr_expect_arr_eq(e->saddr, sa, 16, "event saddr");
	cr_expect_arr_eq(e->daddr, da, 16, "event daddr");
	/* a drop or an audit: the frame's first bytes; an allow: none */
	snap = snap < XS_EV_SNAP_MAX ? snap : XS_EV_SNAP_MAX;
	snap = verdict == XS_VERDICT_ALLOW ? 0 : snap < p->len ? snap : p->len;
	cr_expect_eq(e->snap_len, snap, "event carries %u bytes of the packet, expected %zu",
		     e->snap_len, snap);
	if (e->snap_len == snap)
		cr_expect_arr_eq(h->snap[0], p->data, snap,
				 "event bytes: not the frame's first %zu", snap);
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		if (!(s->frag && s->frag_off)) {
			cr_expect_eq(e->sport, s->sport, "event sport %u, expected %u", e->sport,
				     s->sport);
			cr_expect_eq(e->dport, s->dport, "event dport %u, expected %u", e->dport,
				     s->dport);
		}
	} else if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) {
		cr_expect_eq(e->icmp_type, s->icmp_type, "event icmp_type %u", e->icmp_type);
		cr_expect_eq(e->icmp_code, s->icmp_code, "event icmp_code %u", e->icmp_code);
		cr_expect_eq(e->sport, icmp_query(s) ? s->icmp_id : 0, "event icmp id %u",
			     e->sport);
	}
	if (h->c && reason != XS_REASON_MALFORMED && reason != XS_REASON_FRAGMENT) {
		sseg = src_seg >= 0 ? (uint16_t)src_seg
				    : xs_policy_segment_of(h->c->policy, (uint8_t)fam, sa);
		dseg = dst_seg >= 0 ? (uint16_t)dst_seg
				    : xs_policy_segment_of(h->c->policy, (uint8_t)fam, da);
		cr_expect_eq(e->src_seg, sseg, "event src_seg %u, expected %u", e->src_seg, sseg);
		cr_expect_eq(e->dst_seg, dseg, "event dst_seg %u, expected %u", e->dst_seg, dseg);
	}
}

void h_check(struct h *h, bool egress, const struct pkt_spec *s, uint8_t verdict, uint8_t reason,
	     uint32_t rule_id)
{
	struct pkt p;
	bool passed;

	cr_assert_eq(pkt_build(&p, s), 0, "pkt_build");
	passed = h_passed(egress, h_run(h, egress, &p));
	cr_assert_eq(passed, verdict != XS_VERDICT_DROP,
		     "%s %s -> %s proto %u port %u: %s, expected %s", egress ? "egress" : "ingress",
		     s->src, s->dst, s->proto, s->dport, passed ? "passed" : "dropped",
		     passed ? "drop" : "pass");
	switch (reason) {
	case XS_REASON_ESTABLISHED:
	case XS_REASON_RELATED:
	case XS_REASON_ND:
	case XS_REASON_NOT_IP:
	case XS_REASON_NO_POLICY:
		cr_assert_eq(h->nev, 0,
			     "%zu event(s) for a packet with reason %u (first: reason %u)", h->nev,
			     reason, h->nev ? h->ev[0].reason : 0);
		break;
	default:
		h_expect_event(h, egress, s, &p, verdict, reason, rule_id);
	}
}

void h_eval(const struct h *h, const struct pkt_spec *s, struct xs_decision *d)
{
	struct xs_flow f = { 0 };

	f.family = (uint8_t)pkt_addr(s->src, f.saddr);
	pkt_addr(s->dst, f.daddr);
	f.proto = s->proto;
	f.dport =
		(s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) ? s->icmp_type : s->dport;
	xs_policy_evaluate(h->c->policy, &f, d);
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * BPF_PROG_RUN harness: a freshly loaded (never pinned) datapath, a policy
 * compiled from text held in the test and pushed with the real apply
 * protocol, packets through the XDP or TC egress program, and the events
 * each run produced.
 */
#ifndef XS_TEST_HARNESS_H
#define XS_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl/flows.h"
#include "ctl/push.h"
#include "pkt.h"
#include "policy.h"

#define H_MAX_EVENTS 4096
#define H_MAX_FLOWRECS 4096

/* Return codes of the two hooks. */
#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define TC_OK_ 0
#define TC_SHOT_ 2

struct xdpseg;
struct ring_buffer;

struct h {
	struct xdpseg *skel;
	struct xs_maps maps;
	struct ring_buffer *rb;
	int prog_xdp, prog_tc; /* program fds */
	struct xs_compiled *c; /* the last policy pushed (owned) */
	uint32_t generation;
	struct xs_event ev[H_MAX_EVENTS];	    /* events of the last run */
	uint8_t snap[H_MAX_EVENTS][XS_EV_SNAP_MAX]; /* the bytes each one carried */
	size_t nev;
	size_t nrec; /* event records read since the last run began, all of them */
	struct xs_flow_end fe[H_MAX_FLOWRECS]; /* flow-end records of the last run */
	size_t nfe;
};

/* Precondition: root. Loads the datapath, pins the process to one CPU (the
 * event token bucket and counters are per CPU) and writes the default
 * event rate and snap length like `xdpseg attach` does (allowed flows and
 * flow-end records: every one sent). Asserts (Criterion) on failure. */
void h_open(struct h *h);
void h_close(struct h *h);

/* Compile `text` as "main.policy" and push it; asserts success. */
void h_push(struct h *h, const char *text);

/* Compile `text` as "main.policy"; asserts success. The caller owns it. */
struct xs_compiled *h_compile(const char *text);
/* Push `c` (maybe edited: overlays written by hand) and own it. */
void h_push_c(struct h *h, struct xs_compiled *c);

/* The datapath's configuration, read and written whole. */
struct xs_config h_cfg(const struct h *h);
void h_cfg_set(struct h *h, const struct xs_config *cfg);

/* Set the drop-event token bucket (keeps the generation). */
void h_set_rate(struct h *h, uint32_t rate, uint32_t burst);

/* Run the XDP (egress=false) or TC egress program once on `p`; returns the
 * program's return value and leaves the run's events in h->ev, its flow-end
 * records in h->fe. */
int h_run(struct h *h, bool egress, const struct pkt *p);
/* Run the XDP program once on `p` as received by interface `ifindex`. */
int h_run_on(struct h *h, uint32_t ifindex, const struct pkt *p);
/* Like h_run, but returns -errno when the kernel refuses the run (its skb
 * test runner wants a whole IPv4/IPv6 header for an IP ethertype). */
int h_try_run(struct h *h, bool egress, const struct pkt *p, int *retval);
/* Build `s` and run it. */
int h_send(struct h *h, bool egress, const struct pkt_spec *s);

/* Verdict of a run in XDP terms: true = passed. */
bool h_passed(bool egress, int ret);

/* Rule id of the allow/deny/default statement at `line` of main.policy. */
uint32_t h_rid(const struct h *h, int line);
/* Segment id by name (0 = world), and its default origins. */
uint16_t h_seg(const struct h *h, const char *name);
uint32_t h_in_rid(const struct h *h, const char *name);
uint32_t h_out_rid(const struct h *h, const char *name);

/* BPF_PROG_RUN runs both programs on the loopback device (ifindex 1). */
#define H_IFINDEX 1

/* Record the test port (H_IFINDEX) in xs_ifaces as the interface `ifname`
 * and bind it like attach does: the active policy's first `bind` pattern
 * matching the name binds it, and so does every later apply. */
void h_bind(struct h *h, const char *ifname);
/* The test port is not recorded nor bound (both sets). */
void h_unbind(struct h *h);
/* Origin id of the bind statement at `line` of main.policy. */
uint32_t h_bind_rid(const struct h *h, int line);

/* ICMP query kind of a type: 1 request, 2 reply, 0 neither. */
int h_icmp_query(uint8_t proto, uint8_t type);

/* xs_stats[idx] summed over CPUs. */
struct xs_counter h_stat(const struct h *h, uint32_t idx);
/* Set the snap length of drop and audit events (xs_config.snap_len). */
void h_set_snap(struct h *h, uint32_t snap_len);
/* xs_rstats_<active set>[rule_id] summed over CPUs. */
struct xs_rule_counter h_rstat(const struct h *h, uint32_t rule_id);

/* The flow-end record of the last run: exactly one, with this cause, and
 * the flow of `init` (given from its initiator: tuple, family, proto). */
const struct xs_flow_end *h_flowrec(const struct h *h, const struct pkt_spec *init, uint8_t cause);

/* The flow-table entry (with its counts) of a flow given in any direction:
 * 0 or -ENOENT. */
int h_flow_get(const struct h *h, const struct pkt_spec *s, struct xs_flow_entry *e);

/* Conntrack entry of a flow given in any direction; returns 0 or -ENOENT. */
int h_ct_lookup(const struct h *h, const struct pkt_spec *s, struct xs_tuple *key,
		struct xs_ct_val *val);
/* Number of tracked flows in the flow tables (expired ones included), of
 * remembered denials, of entries in xs_frags. */
size_t h_ct_count(const struct h *h);
size_t h_deny_count(const struct h *h);
size_t h_frag_count(const struct h *h);

/* Forget the remembered denial of the flow of `s` (if any). */
void h_deny_forget(const struct h *h, const struct pkt_spec *s);

/* Normalised conntrack key of a flow (side a = smaller (addr, port)). */
void h_tuple(const struct pkt_spec *s, struct xs_tuple *t);

/* Expected event check: exactly one event with these fields, and the
 * addresses, ports, proto, family, hook, generation and length of `s`/`p`;
 * a drop or an audit carries p's first min(snap length, p->len) bytes, an
 * allow none. */
void h_expect_event(const struct h *h, bool egress, const struct pkt_spec *s, const struct pkt *p,
		    uint8_t verdict, uint8_t reason, uint32_t rule_id);

/* The same, with the event's segments given (-1: by longest prefix). */
void h_expect_event_segs(const struct h *h, bool egress, const struct pkt_spec *s,
			 const struct pkt *p, uint8_t verdict, uint8_t reason, uint32_t rule_id,
			 int src_seg, int dst_seg);

/*
 * Build `s`, run it, and assert the verdict: the return value (pass unless
 * verdict is DROP), then the event: exactly one with these fields for a new
 * flow or a drop, none for ESTABLISHED, RELATED, ND, NOT_IP and NO_POLICY.
 */
void h_check(struct h *h, bool egress, const struct pkt_spec *s, uint8_t verdict, uint8_t reason,
	     uint32_t rule_id);

/* The reference evaluator's decision for the flow of `s` under h->c. */
void h_eval(const struct h *h, const struct pkt_spec *s, struct xs_decision *d);

#endif /* XS_TEST_HARNESS_H */

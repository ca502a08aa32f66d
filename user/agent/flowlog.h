/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow records (xdpseg(8), FLOW RECORDS): what the agent tells of the flows
 * the datapath tracks and of the packets it drops, in the manner of Azure's
 * NSG flow logs: a record when a flow begins (B), a periodic update while it
 * lives (C), one when it ends (E, with the cause) and, per interval, one per
 * denied (source, destination, protocol, port) with a count (D).
 *
 * This file is the bookkeeping only, with no map access: it is fed the flow
 * tables' live entries (a scan every few seconds), the flow-end records the
 * datapath sends itself (FIN, RST, eviction, revocation, a grant's end) and
 * the drop events, and hands every record, one JSON object on one line, to
 * its emit callback (the sinks: flowsink.c, the socket's followers). Names
 * (segments, the rule's FILE:LINE, the interface, the policy's hash) come
 * from a callback too.
 *
 * The same events are also told, structured, to an optional observe
 * callback (the flow store, flowstore.c): a flow's begin, the packets and
 * bytes it adds between two scans, and every dropped packet, with no JSON
 * in between, whether or not the records go anywhere.
 */
#ifndef XS_AGENT_FLOWLOG_H
#define XS_AGENT_FLOWLOG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdpseg.h"

/* Version of the records' format ("schema"); bumped when a field changes meaning. */
#define FLOWLOG_SCHEMA 1

/* Why a flow's record says it ended: the datapath's causes (enum
 * xs_flow_cause, the same numbers and names), and one of its own. */
enum flowlog_cause {
	FLOWLOG_END_FIN = XS_FLOW_END_FIN,		       /* TCP: FIN both ways */
	FLOWLOG_END_RST = XS_FLOW_END_RST,		       /* TCP: RST */
	FLOWLOG_END_REVOKED = XS_FLOW_END_REVOKED,	       /* a new policy drops it */
	FLOWLOG_END_GRANT_EXPIRED = XS_FLOW_END_GRANT_EXPIRED, /* its grant ended */
	FLOWLOG_END_EVICTED = XS_FLOW_END_EVICTED,	       /* its slot went to a new flow */
	FLOWLOG_END_TIMEOUT = XS_FLOW_END_TIMEOUT,	       /* idle past its timeout */
	FLOWLOG_END_REPLACED = XS_FLOW_END_REPLACED,	       /* the same tuple began anew */
	FLOWLOG_END_REMOVED = 8, /* gone from the table with no record of why */
	FLOWLOG_END__COUNT,
};

const char *flowlog_cause_name(enum flowlog_cause c);

/* A tracked flow, as the table or an end record tells it. */
struct flowlog_flow {
	struct xs_tuple key; /* normalised: side a is the smaller (address, port) */
	bool init_b;	     /* the initiator is side b */
	uint8_t ct_state;    /* enum xs_ct_state */
	uint8_t verdict;     /* XS_VERDICT_ALLOW or XS_VERDICT_AUDIT */
	uint8_t hook;	     /* enum xs_hook, when ifindex is known */
	uint8_t icmp_type;   /* ICMP: the initiating message's type */
	uint16_t rule_id;    /* what accepted it, in set generation & 1 */
	uint16_t src_seg;    /* the initiator's segment */
	uint16_t dst_seg;
	uint32_t generation;
	uint32_t ifindex;  /* 0: not known */
	uint64_t start_ns; /* the datapath's clock, as every _ns here */
	uint64_t expires_ns;
	uint64_t packets[2]; /* [0]: initiator to responder, [1]: back */
	uint64_t bytes[2];
};

/* A dropped packet, from a drop event. */
struct flowlog_drop {
	uint8_t family;
	uint8_t proto;
	uint8_t hook;
	uint8_t reason; /* enum xs_reason */
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t dport; /* host order; ICMP: the type */
	uint16_t rule_id;
	uint16_t src_seg;
	uint16_t dst_seg;
	uint32_t generation;
	uint32_t ifindex;
	uint32_t len;
	uint64_t ts_ns;
};

/* What a record names. Empty strings where unknown. */
struct flowlog_names {
	char rule[256]; /* FILE:LINE, or the default that decided */
	char src_seg[XS_ORIGIN_TEXT_LEN];
	char dst_seg[XS_ORIGIN_TEXT_LEN];
	char iface[IF_NAMESIZE + 8];
	char policy_hash[65];
};

typedef void (*flowlog_name_fn)(void *arg, uint32_t generation, uint16_t rule_id, uint16_t src_seg,
				uint16_t dst_seg, uint32_t ifindex, struct flowlog_names *n);
/* One record: `kind` is "begin", "update", "end" or "deny"; `line` its JSON. */
typedef void (*flowlog_emit_fn)(void *arg, const char *kind, const char *line);

/*
 * An observation (the flow store's): a flow begun (connections 1, its
 * packets and bytes so far), more of a known one (connections 0, the
 * packets and bytes, both ways, since it was last observed), or one dropped
 * packet (connections 1, packets 1).
 */
struct flowlog_obs {
	uint8_t family;
	uint8_t proto;
	uint8_t verdict; /* XS_VERDICT_ALLOW, XS_VERDICT_AUDIT or XS_VERDICT_DROP */
	uint8_t src[16]; /* the initiator (a drop: the packet's source) */
	uint8_t dst[16];
	int32_t port; /* the responder's, host order; ICMP: the type; -1: none */
	uint32_t generation;
	int64_t time; /* wall clock, Unix seconds */
	uint64_t connections;
	uint64_t packets;
	uint64_t bytes;
	const struct flowlog_names *names;
};

typedef void (*flowlog_observe_fn)(void *arg, const struct flowlog_obs *o);

struct flowlog_opts {
	unsigned int update_s;	 /* seconds between a live flow's updates (0: none) */
	unsigned int deny_s;	 /* seconds a deny record aggregates */
	size_t max_deny_keys;	 /* distinct denials per interval; past it, one overflow record */
	const char *host;	 /* the "host" field */
	int64_t mono_to_real_ns; /* the datapath's clock to the wall clock */
	flowlog_name_fn name;
	flowlog_emit_fn emit;
	flowlog_observe_fn observe; /* NULL: none */
	void *arg;		    /* of all three */
};

struct flowlog;

/* NULL when out of memory. The options are copied (host too). */
struct flowlog *flowlog_new(const struct flowlog_opts *o);
void flowlog_free(struct flowlog *fl);
/* New intervals (a reload). */
void flowlog_set_intervals(struct flowlog *fl, unsigned int update_s, unsigned int deny_s);
/* Whether records are rendered and emitted (default: yes); off, only the
 * observations go out (nobody reads the records: no JSON is made, no
 * denial counted). */
void flowlog_set_records(struct flowlog *fl, bool on);
/* The wall clock moved (a step of the clock): the new offset. */
void flowlog_set_clock(struct flowlog *fl, int64_t mono_to_real_ns);

/*
 * A scan of the flow tables at the datapath's `now_ns`: begin, every entry
 * that is a flow (not a remembered denial), end. A new flow gets its begin
 * record, a known one an update when update_s passed since its last record,
 * an expired one its end (EXPIRED); one no scan shows any more, its end
 * (REMOVED) unless the datapath told why.
 */
void flowlog_scan_begin(struct flowlog *fl, uint64_t now_ns);
void flowlog_scan_entry(struct flowlog *fl, const struct flowlog_flow *f);
void flowlog_scan_end(struct flowlog *fl);

/* The datapath ended flow `f` at `end_ns` (its flow-end record). A flow no
 * scan saw gets its begin record first. */
void flowlog_ended(struct flowlog *fl, const struct flowlog_flow *f, enum flowlog_cause cause,
		   uint64_t end_ns);

/* A dropped packet: counted in its interval's deny record, and observed. */
void flowlog_dropped(struct flowlog *fl, const struct flowlog_drop *d);

/* The time is `now_ns`: deny records whose interval is over go out. */
void flowlog_tick(struct flowlog *fl, uint64_t now_ns);

/* Deny records now, whatever their interval (the agent stops). */
void flowlog_flush(struct flowlog *fl);

/* Flows known (begun, not ended), for the status. */
size_t flowlog_live(const struct flowlog *fl);

#endif /* XS_AGENT_FLOWLOG_H */

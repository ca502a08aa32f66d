/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of the datapath (names and types are part of the ABI, see
 * include/xdpseg.h). No `pinning` attribute: the CLI sets pin paths, so
 * tests that load the object never pin anything.
 */
#ifndef XS_LIB_MAPS_H
#define XS_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdpseg.h"
#include "xdpseg_decide.h"
#include "pkt.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xs_config);
} xs_config SEC(".maps");

#define XS_SEG4_MAP(name)                              \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);   \
		__uint(max_entries, XS_MAX_PREFIXES4); \
		__uint(map_flags, BPF_F_NO_PREALLOC);  \
		__type(key, struct xs_lpm4_key);       \
		__type(value, struct xs_seg_val);      \
	} name SEC(".maps")
#define XS_SEG6_MAP(name)                              \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);   \
		__uint(max_entries, XS_MAX_PREFIXES6); \
		__uint(map_flags, BPF_F_NO_PREALLOC);  \
		__type(key, struct xs_lpm6_key);       \
		__type(value, struct xs_seg_val);      \
	} name SEC(".maps")
#define XS_RULES_MAP(name)                                \
	struct {                                          \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);      \
		__uint(max_entries, XS_MAX_RULE_ENTRIES); \
		__uint(map_flags, BPF_F_NO_PREALLOC);     \
		__type(key, struct xs_rule_key);          \
		__type(value, struct xs_rule_val);        \
	} name SEC(".maps")
#define XS_REXACT_MAP(name)                               \
	struct {                                          \
		__uint(type, BPF_MAP_TYPE_HASH);          \
		__uint(max_entries, XS_MAX_RULE_ENTRIES); \
		__uint(map_flags, BPF_F_NO_PREALLOC);     \
		__type(key, struct xs_rule_key);          \
		__type(value, struct xs_rule_val);        \
	} name SEC(".maps")
#define XS_SEGINFO_MAP(name)                          \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_ARRAY);     \
		__uint(max_entries, XS_MAX_SEGMENTS); \
		__type(key, __u32);                   \
		__type(value, struct xs_seg_info);    \
	} name SEC(".maps")
#define XS_RSTATS_MAP(name)                              \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); \
		__uint(max_entries, XS_MAX_RULES);       \
		__type(key, __u32);                      \
		__type(value, struct xs_rule_counter);   \
	} name SEC(".maps")

#define XS_BINDS_MAP(name)                          \
	struct {                                    \
		__uint(type, BPF_MAP_TYPE_ARRAY);   \
		__uint(max_entries, XS_MAX_BINDS);  \
		__type(key, __u32);                 \
		__type(value, struct xs_bind_info); \
	} name SEC(".maps")
#define XS_BIND4_MAP(name)                                 \
	struct {                                           \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);       \
		__uint(max_entries, XS_MAX_BIND_PREFIXES); \
		__uint(map_flags, BPF_F_NO_PREALLOC);      \
		__type(key, struct xs_bind4_key);          \
		__type(value, __u32);                      \
	} name SEC(".maps")
#define XS_BIND6_MAP(name)                                 \
	struct {                                           \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);       \
		__uint(max_entries, XS_MAX_BIND_PREFIXES); \
		__uint(map_flags, BPF_F_NO_PREALLOC);      \
		__type(key, struct xs_bind6_key);          \
		__type(value, __u32);                      \
	} name SEC(".maps")
#define XS_IFBIND_MAP(name)                            \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_ARRAY);      \
		__uint(max_entries, XS_IFBIND_DIRECT); \
		__type(key, __u32);                    \
		__type(value, __u32);                  \
	} name SEC(".maps")
#define XS_IFBINDX_MAP(name)                        \
	struct {                                    \
		__uint(type, BPF_MAP_TYPE_HASH);    \
		__uint(max_entries, XS_MAX_IFACES); \
		__type(key, __u32);                 \
		__type(value, __u32);               \
	} name SEC(".maps")

#define XS_DIR4_MAP(name)                            \
	struct {                                     \
		__uint(type, BPF_MAP_TYPE_ARRAY);    \
		__uint(max_entries, XS_DIR4_CHUNKS); \
		__type(key, __u32);                  \
		__type(value, struct xs_dir4_chunk); \
	} name SEC(".maps")
#define XS_SEG6H_MAP(name)                             \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_HASH);       \
		__uint(max_entries, XS_MAX_PREFIXES6); \
		__uint(map_flags, BPF_F_NO_PREALLOC);  \
		__type(key, struct xs_lpm6_key);       \
		__type(value, struct xs_seg_val);      \
	} name SEC(".maps")
#define XS_SEG6A_MAP(name)                            \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_ARRAY);     \
		__uint(max_entries, XS_SEG6A_GROUPS); \
		__type(key, __u32);                   \
		__type(value, struct xs_seg6a_group); \
	} name SEC(".maps")
#define XS_PAIRA_MAP(name)                            \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_ARRAY);     \
		__uint(max_entries, XS_PAIRA_GROUPS); \
		__type(key, __u32);                   \
		__type(value, struct xs_paira_group); \
	} name SEC(".maps")
#define XS_PORTMAP_MAP(name)                       \
	struct {                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);  \
		__uint(max_entries, XS_PORTMAPS);  \
		__type(key, __u32);                \
		__type(value, struct xs_port_map); \
	} name SEC(".maps")
#define XS_PAIRC_MAP(name)                            \
	struct {                                      \
		__uint(type, BPF_MAP_TYPE_ARRAY);     \
		__uint(max_entries, XS_MAX_SEGMENTS); \
		__type(key, __u32);                   \
		__type(value, struct xs_pair_row);    \
	} name SEC(".maps")
#define XS_PAIRS_MAP(name)                                \
	struct {                                          \
		__uint(type, BPF_MAP_TYPE_HASH);          \
		__uint(max_entries, XS_MAX_PAIR_ENTRIES); \
		__uint(map_flags, BPF_F_NO_PREALLOC);     \
		__type(key, __u32);                       \
		__type(value, struct xs_rule_val);        \
	} name SEC(".maps")

/*
 * A lookup in the map of policy set `set` (map0 or map1). Written as two
 * calls the compiler cannot fold into one call with a chosen map (the asm
 * after each differs): the verifier inlines a lookup only at a call that
 * always sees the same map, and a lookup through the helper's indirect call
 * costs about 15 ns here, a quarter of an established packet.
 */
#define xs_set_lookup(set, map0, map1, key)                          \
	({                                                           \
		void *__v;                                           \
		if (set) {                                           \
			__v = bpf_map_lookup_elem(&map1, key);       \
			asm volatile("/* " #map1 " */" : "+r"(__v)); \
		} else {                                             \
			__v = bpf_map_lookup_elem(&map0, key);       \
			asm volatile("/* " #map0 " */" : "+r"(__v)); \
		}                                                    \
		__v;                                                 \
	})

/* The two policy sets. */
XS_SEG4_MAP(xs_seg4_0);
XS_SEG4_MAP(xs_seg4_1);
XS_SEG6_MAP(xs_seg6_0);
XS_SEG6_MAP(xs_seg6_1);
XS_RULES_MAP(xs_rules_0);
XS_RULES_MAP(xs_rules_1);
XS_REXACT_MAP(xs_rexact_0);
XS_REXACT_MAP(xs_rexact_1);
XS_SEGINFO_MAP(xs_seginfo_0);
XS_SEGINFO_MAP(xs_seginfo_1);
XS_RSTATS_MAP(xs_rstats_0);
XS_RSTATS_MAP(xs_rstats_1);
XS_BINDS_MAP(xs_binds_0);
XS_BINDS_MAP(xs_binds_1);
XS_BIND4_MAP(xs_bind4_0);
XS_BIND4_MAP(xs_bind4_1);
XS_BIND6_MAP(xs_bind6_0);
XS_BIND6_MAP(xs_bind6_1);
XS_IFBIND_MAP(xs_ifbind_0);
XS_IFBIND_MAP(xs_ifbind_1);
XS_IFBINDX_MAP(xs_ifbindx_0);
XS_IFBINDX_MAP(xs_ifbindx_1);
XS_DIR4_MAP(xs_dir4_0);
XS_DIR4_MAP(xs_dir4_1);
XS_SEG6H_MAP(xs_seg6h_0);
XS_SEG6H_MAP(xs_seg6h_1);
XS_SEG6A_MAP(xs_seg6a_0);
XS_SEG6A_MAP(xs_seg6a_1);
XS_PAIRA_MAP(xs_paira_0);
XS_PAIRA_MAP(xs_paira_1);
XS_PORTMAP_MAP(xs_portmap_0);
XS_PORTMAP_MAP(xs_portmap_1);
XS_PAIRC_MAP(xs_pairc_0);
XS_PAIRC_MAP(xs_pairc_1);
XS_PAIRS_MAP(xs_pairs_0);
XS_PAIRS_MAP(xs_pairs_1);

/* Per-set facts of the derived tables, indexed by set. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_POLICY_SETS);
	__type(key, __u32);
	__type(value, struct xs_fast_info);
} xs_fast SEC(".maps");

/* Per-set facts, indexed by set: read once per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_POLICY_SETS);
	__type(key, __u32);
	__type(value, struct xs_set_info);
} xs_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XS_STAT__MAX);
	__type(key, __u32);
	__type(value, struct xs_counter);
} xs_stats SEC(".maps");

/* The flow tables: buckets whose first member is the spin lock (the BPF
 * view of struct xs_flow4_bucket / xs_flow6_bucket, same layout). */
struct xs_flow4_bkt {
	struct bpf_spin_lock lock;
	__u32 seq;
	struct xs_flow4 e[XS_FLOW_WAYS];
	struct xs_flow_acct a;
};
_Static_assert(sizeof(struct xs_flow4_bkt) == sizeof(struct xs_flow4_bucket), "flow4 bucket");

struct xs_flow6_bkt {
	struct bpf_spin_lock lock;
	__u32 seq;
	struct xs_flow6 e[XS_FLOW_WAYS];
	struct xs_flow_acct a;
};
_Static_assert(sizeof(struct xs_flow6_bkt) == sizeof(struct xs_flow6_bucket), "flow6 bucket");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_FLOW4_BUCKETS);
	__type(key, __u32);
	__type(value, struct xs_flow4_bkt);
} xs_flow4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_FLOW6_BUCKETS);
	__type(key, __u32);
	__type(value, struct xs_flow6_bkt);
} xs_flow6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XS_FRAG_MAX);
	__type(key, struct xs_frag_key);
	__type(value, struct xs_frag_val);
} xs_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XS_RINGBUF_BYTES);
} xs_events SEC(".maps");

/* Per-CPU token buckets for events (internal to the datapath): index
 * XS_EVB_DROP for drops, XS_EVB_ALLOW for allowed new flows; the two of
 * flow-end records (flowrec.h): XS_EVB_FLOWEND for ends a flow's own packet
 * causes, XS_EVB_FLOWNEW for ends a new flow causes. */
struct xs_bucket {
	__u64 last_ns;
	__u64 tokens; /* in units of 1/XS_NS_PER_SEC token */
};

#define XS_EVB_DROP 0
#define XS_EVB_ALLOW 1
#define XS_EVB_FLOWEND 2
#define XS_EVB_FLOWNEW 3

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct xs_bucket);
} xs_evbucket SEC(".maps");

/*
 * Per-CPU: the ring-buffer record of the packet being decided. The decision
 * (which never reads the packet) writes the event; the entry point appends
 * the frame's first bytes and sends the record, sizeof(e) + e.snap_len bytes
 * (events.h: ev_send(), ev_flush()).
 */
struct xs_ev_rec {
	struct xs_event e;
	__u8 snap[XS_EV_SNAP_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xs_ev_rec);
} xs_evrec SEC(".maps");

/* Per-CPU: the packet being decided, as the parser reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xs_pkt);
} xs_pktbuf SEC(".maps");

/* A packet as the flow table's operations (flow.h) see it: XS_FLOW_Q() unpacked. */
struct xs_flow_q {
	__u64 now;
	__u32 gen;
	int from_b;   /* the packet's source is side b of the key */
	int syn_only; /* a lone TCP SYN: follows only its initiator's SYN_SENT entry */
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
};

/* What the flow table's operations (flow.h) need of a packet besides its
 * key and what they leave for each other and for the caller. */
struct xs_flow_io {
	__u32 len;     /* the packet's length: counted to its flow */
	__u32 ifindex; /* the packet's interface: a new entry keeps it, others count there only */
	__u8 egress;   /* insert: seen at TC egress (a new entry keeps XS_CTF_EGRESS) */
	__u8 from_b;   /* insert: the packet's source is side b of the key */
	__u16 seen;    /* the lookup found an entry of the key: XS_FLOW_SEEN | its stamp (else 0) */
	__u8 token;    /* insert: a token of XS_EVB_FLOWNEW, taken for a record it may stage */
	__u8 suppressed; /* insert: a record was due but had no token */
	__u8 pad[2];
	struct xs_flow_end rec; /* an end record staged under a bucket's lock (kind 0: none) */
	struct xs_flow_q q;	/* the packet (off the stack) */
};

#define XS_FLOW_SEEN 0x100

/* Per-CPU scratch space of a packet's decision: the flow key and a copy of
 * its entry, off the stack (the verifier allows 512 bytes over all frames). */
struct xs_scratch {
	struct xs_tuple k;
	struct xs_flow_hdr v;
	struct xs_decision d;	/* the packet's decision */
	struct xs_decision rev; /* the reverse one (a mid-stream TCP packet) */
	struct xs_flow_io io;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xs_scratch);
} xs_scratch SEC(".maps");

/* Userspace bookkeeping, created and pinned with the object. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * (XS_MAX_RULES + XS_MAX_SEGMENTS));
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xs_origin_key);
	__type(value, struct xs_origin);
} xs_origins SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XS_POLICY_SETS);
	__type(key, __u32);
	__type(value, struct xs_policy_meta);
} xs_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XS_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct xs_iface);
} xs_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XS_POLICY_SETS *XS_MAX_OVERLAYS);
	__type(key, struct xs_overlay_key);
	__type(value, struct xs_overlay);
} xs_overlays SEC(".maps");

/* Barrier: userspace updates xs_barrier[0] to wait for running programs. */
struct xs_barrier_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct xs_barrier_inner xs_barrier_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct xs_barrier_inner);
} xs_barrier SEC(".maps") = {
	.values = { [0] = &xs_barrier_in },
};

#endif /* XS_LIB_MAPS_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdpseg kernel/user ABI: every struct that crosses the boundary between the
 * BPF programs and the CLI lives here, with explicit padding and a size
 * assertion, so both sides agree byte for byte.
 *
 * Conventions:
 *  - fixed-width types only; no implicit padding (each struct is asserted);
 *  - addresses are stored in network byte order in a 16-byte array; IPv4
 *    uses the first four bytes and leaves the rest zero;
 *  - ports in map keys are network byte order (__be16), ports in events are
 *    host byte order;
 *  - segment id 0 is `world` (an address in no segment).
 */
#ifndef XDPSEG_H
#define XDPSEG_H

#include <linux/types.h>

#ifndef __bpf__
#include <assert.h>
#define XS_ASSERT_SIZE(type, size) \
	static_assert(sizeof(type) == (size), #type " changed size: the kernel/user ABI breaks")
#else
#define XS_ASSERT_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), #type " changed size: the kernel/user ABI breaks")
#endif

#define XS_VERSION "0.1.0"

/* Pin directory on the bpffs; maps, programs and links live below it. */
#define XS_PIN_DIR "/sys/fs/bpf/xdpseg"

/*
 * Maps (variable names in bpf/xdpseg.bpf.c = pin names under XS_PIN_DIR/maps):
 *   xs_config      ARRAY[1]             u32 -> struct xs_config
 *   xs_seg4_0/1    LPM_TRIE (no prealloc) struct xs_lpm4_key -> struct xs_seg_val
 *   xs_seg6_0/1    LPM_TRIE (no prealloc) struct xs_lpm6_key -> struct xs_seg_val
 *   xs_rules_0/1   LPM_TRIE (no prealloc) struct xs_rule_key -> struct xs_rule_val:
 *                  the rule-table entries that cover more than one port
 *   xs_rexact_0/1  HASH (no prealloc) struct xs_rule_key -> struct xs_rule_val: the
 *                  single-port entries (prefixlen XS_RULE_PLEN_PORT(16)). Such an entry is
 *                  the longest possible match, so the datapath asks this hash first and
 *                  walks the trie only on a miss: a new flow to a mapped port costs no
 *                  trie walk, however large the rule table.
 *   xs_seginfo_0/1 ARRAY[XS_MAX_SEGMENTS] u32 -> struct xs_seg_info
 *   xs_sets        ARRAY[XS_POLICY_SETS] u32 set -> struct xs_set_info: per-set facts the
 *                  datapath needs before any lookup (the built-in link-local segment's
 *                  id, whether the set binds ports)
 *   xs_binds_0/1   ARRAY[XS_MAX_BINDS] u32 bind id -> struct xs_bind_info (`bind`
 *                  statements; id 0 is "not bound")
 *   xs_bind4_0/1   LPM_TRIE (no prealloc) struct xs_bind4_key -> __u32 bind id: the
 *   xs_bind6_0/1   LPM_TRIE                struct xs_bind6_key    addresses a bound port
 *                  may send from, keyed by (bind id, prefix)
 *   xs_ifbind_0/1  ARRAY[XS_IFBIND_DIRECT] u32 ifindex -> __u32 bind id: which attached
 *                  interface is bound by which `bind` statement of the set (written by
 *                  apply for every recorded interface, and by attach for a new one);
 *                  an array for the usual ifindexes (a lookup costs no hash), and
 *   xs_ifbindx_0/1 HASH[XS_MAX_IFACES] u32 ifindex -> __u32 bind id for ifindexes from
 *                  XS_IFBIND_DIRECT on (a host that made many interfaces over time)
 *   xs_rstats_0/1  PERCPU_ARRAY[XS_MAX_RULES] u32 -> struct xs_rule_counter
 *   xs_stats       PERCPU_ARRAY[XS_STAT__MAX] u32 -> struct xs_counter
 *   xs_dir4_0/1    ARRAY[XS_DIR4_CHUNKS] u32 -> struct xs_dir4_chunk: the IPv4 segments as
 *                  a DIR-16-8-8 table (see "Fast path"), derived from xs_seg4 at push
 *   xs_seg6h_0/1   HASH (no prealloc) struct xs_lpm6_key (address masked to prefixlen) ->
 *                  struct xs_seg_val: the IPv6 segment prefixes by length, asked longest
 *                  length first (the lengths are in xs_fast)
 *   xs_seg6a_0/1   ARRAY[XS_SEG6A_GROUPS] u32 -> struct xs_seg6a_group: the IPv6 prefixes of
 *                  up to 64 bits, open-addressed, in front of xs_seg6h (see "Fast path")
 *   xs_pairc_0/1   ARRAY[XS_MAX_SEGMENTS] u32 src seg -> struct xs_pair_row: 2 bits per
 *                  (src, dst) segment pair, enum xs_pair_class
 *   xs_pairs_0/1   HASH (no prealloc) __u32 XS_PAIR_KEY(src, dst) -> struct xs_rule_val:
 *                  the pair-wide rule-table entries (prefixlen 32), for class WIDE
 *   xs_paira_0/1   ARRAY[XS_PAIRA_GROUPS] u32 -> struct xs_paira_group: the same entries,
 *                  open-addressed (see "Fast path")
 *   xs_portmap_0/1 ARRAY[XS_PORTMAPS] u32 protocol -> struct xs_port_map: the ports the
 *                  single-port entries name
 *   xs_fast        ARRAY[XS_POLICY_SETS] u32 set -> struct xs_fast_info (derived at push)
 *   xs_flow4       ARRAY[XS_FLOW4_BUCKETS] u32 -> struct xs_flow4_bucket: tracked IPv4
 *                  flows and remembered denials, set-associative (see "Flow table")
 *   xs_flow6       ARRAY[XS_FLOW6_BUCKETS] u32 -> struct xs_flow6_bucket: the same, IPv6
 *   xs_frags       LRU_HASH[XS_FRAG_MAX] struct xs_frag_key -> struct xs_frag_val
 *   xs_events      RINGBUF[XS_RINGBUF_BYTES] records, each starting with its kind
 *                  (enum xs_rec_kind): struct xs_event, struct xs_flow_end
 *   xs_origins     HASH (no prealloc) struct xs_origin_key -> struct xs_origin  (userspace only)
 *   xs_meta        ARRAY[XS_POLICY_SETS] u32 set -> struct xs_policy_meta       (userspace only)
 *   xs_ifaces      HASH[XS_MAX_IFACES]  u32 ifindex -> struct xs_iface         (userspace only)
 *   xs_overlays    HASH[2*XS_MAX_OVERLAYS] xs_overlay_key -> xs_overlay (userspace only)
 *   xs_barrier     ARRAY_OF_MAPS[1] of xs_barrier_in (ARRAY[1] u32 -> u32): userspace updates
 *                  it to wait for every running program (the kernel does synchronize_rcu()
 *                  on map-in-map updates), see "Apply protocol".
 * Maps carry NO `pinning` attribute in the BPF source (so tests that load the
 * skeleton never pin anything); the CLI sets each map's pin path to
 * XS_PIN_DIR/maps/<name> with bpf_map__set_pin_path() before loading.
 * Programs: SEC("xdp") xs_xdp (ingress), SEC("tc") xs_tc_egress, SEC("tc") xs_tc_ingress
 * (TC-only ingress). Pinned as XS_PIN_DIR/progs/<name>.
 *
 * Apply protocol (user/ctl/push.c): barrier; write every map of the inactive
 * set s = (generation + 1) & 1 (tries, rules, seginfo, origins, meta, and
 * last rstats: a rule the active set has too (same kind and normalised
 * text) takes its counts, the others start at 0, user/ctl/counters.h);
 * then write xs_config.generation = generation + 1; barrier.
 * The datapath reads xs_config.generation once per packet and uses only set
 * generation & 1 for that packet, so every packet sees one whole policy.
 * The derived tables (xs_dir4, xs_seg6h, xs_pairc, xs_pairs, xs_fast) are
 * written with the rest of the inactive set, before the flip.
 * Flow-table entries remember their generation; a tracked flow whose
 * generation is stale is re-decided (in its initiator's direction) under the
 * new policy at its next packet, a remembered denial is ignored.
 */

/* ---- Limits ------------------------------------------------------------ */

#define XS_SEG_WORLD 0
#define XS_MAX_SEGMENTS 4096 /* ids 1..4095; 0 is world */
#define XS_MAX_RULES 65536   /* rule ids 1..65535; 0 is "no rule" */
#define XS_MAX_PREFIXES4 262144
#define XS_MAX_PREFIXES6 262144
#define XS_MAX_RULE_ENTRIES 1048576
#define XS_FRAG_MAX 16384
#define XS_MAX_IFACES 4096 /* interfaces recorded (a large hypervisor: VMs x NICs) */
#define XS_MAX_BINDS 4096  /* bind ids 1..4095; 0 is "not bound" */
#define XS_MAX_BIND_PREFIXES 65536
#define XS_MAX_OVERLAYS 1024   /* quarantines and grants in force, per set */
#define XS_IFBIND_DIRECT 65536 /* ifindexes below this: xs_ifbind_*; others: xs_ifbindx_* */
#define XS_RINGBUF_BYTES (4 * 1024 * 1024)

/* Number of policy sets: the datapath reads the active one, `apply` fills
 * the other and then flips `generation` (active set = generation & 1). */
#define XS_POLICY_SETS 2

/* ---- Verdicts, actions, reasons ----------------------------------------- */

/* Action of a rule or a default, as compiled. */
enum xs_action {
	XS_ACT_NONE = 0,
	XS_ACT_ALLOW = 1,
	XS_ACT_DENY = 2,
};

/* Verdict reported in events and used to index counters. */
enum xs_verdict {
	XS_VERDICT_ALLOW = 0,
	XS_VERDICT_DROP = 1,
	XS_VERDICT_AUDIT = 2, /* would drop, passed because of monitor mode */
	XS_VERDICT__MAX,
};

/* Why a packet was decided the way it was. Shared by events and counters. */
enum xs_reason {
	XS_REASON_NONE = 0,
	XS_REASON_RULE = 1,	      /* an allow rule matched */
	XS_REASON_DENY_RULE = 2,      /* a deny rule matched */
	XS_REASON_DEFAULT = 3,	      /* no rule; both defaults allow */
	XS_REASON_DEFAULT_IN = 4,     /* no rule; destination segment's `in deny` */
	XS_REASON_DEFAULT_OUT = 5,    /* no rule; source segment's `out deny` */
	XS_REASON_ESTABLISHED = 6,    /* packet of a tracked flow */
	XS_REASON_RELATED = 7,	      /* ICMP error quoting a tracked flow */
	XS_REASON_MALFORMED = 8,      /* truncated or invalid header */
	XS_REASON_FRAGMENT = 9,	      /* non-first fragment of no accepted datagram */
	XS_REASON_NOT_IP = 10,	      /* ARP, LLDP, ...: not subject to policy */
	XS_REASON_ND = 11,	      /* IPv6 neighbour discovery / router messages */
	XS_REASON_NO_POLICY = 12,     /* attached, no policy applied yet */
	XS_REASON_SPOOFED = 13,	      /* from a bound port with a source it may not use */
	XS_REASON_QUARANTINE = 14,    /* to or from a quarantined address or segment */
	XS_REASON_FORENSIC = 15,      /* into a quarantine: its forensic access */
	XS_REASON_GRANT = 16,	      /* a grant (access that closes itself) in force */
	XS_REASON_GRANT_EXPIRED = 17, /* a tracked flow of a grant that has expired */
	XS_REASON_FAILSAFE = 18,      /* a failsafe port: no rule may drop it */
	XS_REASON__MAX = 24,
};

/* ---- Policy maps (one copy per policy set) -------------------------------- */

/* Segment tries: LPM key prefix -> struct xs_seg_val. */
struct xs_lpm4_key {
	__u32 prefixlen; /* 0..32 */
	__u8 addr[4];
};
XS_ASSERT_SIZE(struct xs_lpm4_key, 8);

struct xs_lpm6_key {
	__u32 prefixlen; /* 0..128 */
	__u8 addr[16];
};
XS_ASSERT_SIZE(struct xs_lpm6_key, 20);

struct xs_seg_val {
	__u16 seg; /* 1..XS_MAX_SEGMENTS-1 */
	__u16 pad;
};
XS_ASSERT_SIZE(struct xs_seg_val, 4);

/*
 * Rule table: one LPM trie keyed by (src seg, dst seg, protocol, port).
 * The data part is matched most significant bit first, so:
 *   prefixlen 32               -> every protocol and port of the pair
 *   prefixlen 48               -> one protocol, every port (pad is zero)
 *   prefixlen 48 + n (n<=16)   -> one protocol, the ports whose top n bits
 *                                 equal port's
 * Segment ids are matched whole, so their byte order only has to agree
 * between the compiler and the datapath (both use host order here).
 * For ICMP/ICMPv6 `port` holds the type (0..255).
 */
struct xs_rule_key {
	__u32 prefixlen;
	__u16 src_seg;
	__u16 dst_seg;
	__u8 proto;
	__u8 pad; /* always 0 */
	__be16 port;
};
XS_ASSERT_SIZE(struct xs_rule_key, 12);

#define XS_RULE_PLEN_PAIR 32
#define XS_RULE_PLEN_PROTO 48
#define XS_RULE_PLEN_PORT(bits) (48 + (bits))

/*
 * A rule-table entry: what decides a new flow of its key, every precedence
 * resolved by the compiler (include/xdpseg_decide.h). A grant entry
 * (XS_RULEF_GRANT) allows until `expires_ns` and then decides as the
 * entry it covers would have: fb_action and fb_rule_id (XS_ACT_NONE: no
 * entry, the defaults decide).
 */
struct xs_rule_val {
	__u32 rule_id;	  /* index into rule counters and origins */
	__u32 fb_rule_id; /* XS_RULEF_GRANT: the covered entry's rule id */
	__u32 expires;	  /* XS_RULEF_GRANT: the end, CLOCK_TAI seconds (wall clock) */
	__u8 action;	  /* enum xs_action, deny/allow precedence resolved */
	__u8 flags;	  /* XS_RULEF_* */
	__u8 fb_action;	  /* XS_RULEF_GRANT: the covered entry's action */
	__u8 pad;
};
XS_ASSERT_SIZE(struct xs_rule_val, 16);

#define XS_RULEF_GRANT (1U << 0)    /* a grant: allows until `expires` */
#define XS_RULEF_DRAIN (1U << 1)    /* ... whose tracked flows may finish past it */
#define XS_RULEF_FORENSIC (1U << 2) /* allows into a quarantine (forensic access) */
#define XS_RULEF_FAILSAFE (1U << 3) /* a failsafe port: outranks every rule */

/* Per-segment defaults and mode: array indexed by segment id (0 = world). */
struct xs_seg_info {
	__u8 in_action;	    /* enum xs_action: default for flows into the segment */
	__u8 out_action;    /* default for flows out of the segment */
	__u8 monitor;	    /* 1: drops touching this segment become audits */
	__u8 flags;	    /* XS_SEGF_* */
	__u32 in_rule_id;   /* origin of the `in` default (a rule id, never 0) */
	__u32 out_rule_id;  /* origin of the `out` default */
	__u32 quar_rule_id; /* XS_SEGF_QUARANTINE: the quarantine's origin */
};
XS_ASSERT_SIZE(struct xs_seg_info, 16);

/* Quarantined: nothing in or out but forensic entries (XS_RULEF_FORENSIC),
 * whatever the rules, defaults, modes, grants and failsafe ports say. */
#define XS_SEGF_QUARANTINE (1U << 0)

/* Per policy set: array indexed by set (0 or 1), written before the flip. */
struct xs_set_info {
	__u16 ll_seg; /* id of the built-in segment `link-local` (fe80::/10, 169.254.0.0/16) */
	__u16 flags;  /* XS_SETF_* */
	__u32 nbinds; /* bind ids 1..nbinds are in use */
};
XS_ASSERT_SIZE(struct xs_set_info, 8);

#define XS_SETF_BINDS (1U << 0) /* the set has `bind` statements: look ports up */

/*
 * Port bindings (`bind SEGMENT IFACE-PATTERN [ADDRESS, ...]`): a bound port's
 * ingress accepts only sources in its addresses (IPv4, IPv6, the ARP sender,
 * a neighbour advertisement's target); link-local traffic from or to it is
 * classified by its segment. Array indexed by bind id.
 */
#define XS_BIND_PATTERN_LEN 16 /* IFNAMSIZ: a glob no longer than a name */
struct xs_bind_info {
	__u32 rule_id; /* origin id of the `bind` statement (events name it) */
	__u16 seg;     /* the segment of the port (never world or link-local) */
	__u8 flags;    /* XS_BINDF_* */
	__u8 pad;
	/* The statement's first IPv6 and IPv4 host address (a /128, a /32), so
	 * that a port sending from it is checked without a trie walk. */
	__u8 host6[16]; /* 8-byte aligned: compared as two words */
	__u8 host4[4];
	__u8 pad2[4];
	char pattern[XS_BIND_PATTERN_LEN]; /* fnmatch(3) glob, NUL-terminated */
};
XS_ASSERT_SIZE(struct xs_bind_info, 48);

#define XS_BINDF_HOST4 (1U << 0) /* host4 is one of the port's addresses */
#define XS_BINDF_HOST6 (1U << 1) /* host6 is one of the port's addresses */

/* Bound addresses: LPM over (bind id, address); prefixlen = 32 + address bits. */
struct xs_bind4_key {
	__u32 prefixlen;
	__u32 bind; /* host order, matched whole */
	__u8 addr[4];
};
XS_ASSERT_SIZE(struct xs_bind4_key, 12);

struct xs_bind6_key {
	__u32 prefixlen;
	__u32 bind;
	__u8 addr[16];
};
XS_ASSERT_SIZE(struct xs_bind6_key, 24);

#define XS_BIND_PLEN(addr_bits) (32 + (addr_bits))

/* ---- Fast path: derived per set at push (user/policy/fast.c) ---------------- */

/*
 * IPv4 segments as a DIR-16-8-8 table: an array of chunks of 256 entries.
 * Chunks 0..255 are the first level: chunk addr[0], entry addr[1] (the /16).
 * An entry is a segment id (< XS_MAX_SEGMENTS; 0 world) or XS_DIR4_NEXT |
 * the index of a chunk of the next level, indexed by the next address byte
 * (addr[2], then addr[3]); a third-level chunk holds segment ids only. At
 * most three array lookups, whatever the number of prefixes. A policy that
 * needs more chunks than XS_DIR4_CHUNKS is looked up in xs_seg4 (the trie;
 * XS_FASTF_TRIE4).
 */
#define XS_DIR4_CHUNKS 16384 /* 8 MiB per set */
#define XS_DIR4_NEXT 0x8000
struct xs_dir4_chunk {
	__u16 e[256];
};
XS_ASSERT_SIZE(struct xs_dir4_chunk, 512);

/*
 * IPv6 segments: xs_seg6h holds every prefix of xs_seg6 under its own length
 * (the key's address masked to it); asked for the lengths the set uses,
 * longest first, the first hit is the longest match. More than
 * XS_SEG6_LENS distinct lengths: the trie (XS_FASTF_TRIE6).
 *
 * In front of it (XS_FASTF_SEG6A), xs_seg6a: the prefixes of up to 64 bits
 * in an open-addressed array of groups (a cache line of 4 slots each; a
 * prefix sits in its group, xs_seg6a_group(), or the next), found without
 * a hash-map lookup. The /64 of an address is asked first: its slot answers
 * for the whole /64 (the longest prefix of up to 64 bits that covers it),
 * unless XS_SEG6AF_DEEPER says longer prefixes lie inside (then xs_seg6h
 * for the lengths over 64 first). A /64 that holds longer prefixes has a
 * slot even when no /64 prefix exists. No /64 slot: the shorter lengths.
 */
#define XS_SEG6_LENS 12
#define XS_SEG6A_GROUPS 16384 /* 1 MiB per set */
#define XS_SEG6A_WAYS 4
#define XS_SEG6A_PROBES 2 /* groups a prefix may sit in: its own and the next */

struct xs_seg6a_slot {
	__u64 hi;   /* the prefix's first 64 bits (network order), masked to its length */
	__u8 plen;  /* 0..64 */
	__u8 flags; /* XS_SEG6AF_* */
	__u16 seg;
	__u32 pad;
};
XS_ASSERT_SIZE(struct xs_seg6a_slot, 16);

struct xs_seg6a_group {
	struct xs_seg6a_slot s[XS_SEG6A_WAYS];
};
XS_ASSERT_SIZE(struct xs_seg6a_group, 64);

#define XS_SEG6AF_USED (1U << 0)
#define XS_SEG6AF_DEEPER (1U << 1) /* a /64 with longer prefixes inside (xs_seg6h) */

/*
 * The class of a (source segment, destination segment) pair: which of the
 * rule tables can hold the longest match of its flows, so that most new
 * flows need no rule-trie walk and a pair without entries none at all.
 */
enum xs_pair_class {
	XS_PAIR_NONE = 0,  /* no entry: the defaults decide */
	XS_PAIR_WIDE = 1,  /* one pair-wide entry (prefixlen 32) only: xs_pairs */
	XS_PAIR_EXACT = 2, /* single-port entries only: xs_rexact, when xs_portmap has the port */
	XS_PAIR_TRIE = 3,  /* any other mix (protocol-wide or port-range entries, single-port
			    * ones with a pair-wide one): xs_rexact (when xs_portmap has the
			    * port), then xs_rules */
};

/*
 * The ports some single-port entry of the set names, per protocol
 * (XS_PORTMAP_TCP, XS_PORTMAP_UDP; other protocols ask xs_rexact always):
 * a flow to a port no entry names (a scan, a flood to a closed port) needs
 * no xs_rexact lookup. Bit p of w[p / 64].
 */
struct xs_port_map {
	__u64 w[65536 / 64];
};
XS_ASSERT_SIZE(struct xs_port_map, 8192);

#define XS_PORTMAP_TCP 0
#define XS_PORTMAP_UDP 1
#define XS_PORTMAPS 2

/* One source segment's row: 2 bits per destination segment, destination d
 * in w[d / 32], bits 2 * (d % 32) and up. */
struct xs_pair_row {
	__u64 w[XS_MAX_SEGMENTS / 32];
};
XS_ASSERT_SIZE(struct xs_pair_row, 1024);

#define XS_PAIR_KEY(src, dst) ((__u32)(src) << 16 | (__u32)(dst))

/*
 * The pair-wide entries again, open-addressed like xs_seg6a (XS_FASTF_PAIRA):
 * a pair's entry sits in its group (xs_paira_group()) or the next, `used`
 * bit i marking slot i; found with array reads instead of a hash lookup.
 * Entries that do not fit two groups: xs_pairs alone.
 */
#define XS_PAIRA_GROUPS 32768 /* 2 MiB per set */
#define XS_PAIRA_WAYS 3
#define XS_PAIRA_PROBES 2

struct xs_paira_slot {
	__u32 pair; /* XS_PAIR_KEY(src, dst) */
	struct xs_rule_val val;
};
XS_ASSERT_SIZE(struct xs_paira_slot, 20);

struct xs_paira_group {
	__u32 used; /* bit i: s[i] holds an entry */
	struct xs_paira_slot s[XS_PAIRA_WAYS];
};
XS_ASSERT_SIZE(struct xs_paira_group, 64);
/* Pair-wide entries xs_pairs holds; a policy with more has its pairs of
 * class WIDE made TRIE (the trie holds those entries too). */
#define XS_MAX_PAIR_ENTRIES 65536

/* Per set: what the datapath needs to use the derived tables. */
struct xs_fast_info {
	__u16 flags; /* XS_FASTF_* */
	__u8 nlen6;  /* distinct IPv6 prefix lengths in xs_seg6h, in len6[] */
	__u8 pad;
	__u8 len6[XS_SEG6_LENS]; /* descending */
};
XS_ASSERT_SIZE(struct xs_fast_info, 16);

#define XS_FASTF_TRIE4 (1U << 0) /* IPv4 segments: the trie (xs_dir4 is not used) */
#define XS_FASTF_TRIE6 (1U << 1) /* IPv6 segments: the trie (xs_seg6h is not used) */
#define XS_FASTF_READY (1U << 2) /* written by a push (a set without it uses the tries) */
#define XS_FASTF_SEG6A (1U << 3) /* IPv6 segments: xs_seg6a first (else xs_seg6h alone) */
#define XS_FASTF_PAIRA (1U << 4) /* pair-wide entries: xs_paira (else xs_pairs) */

/* ---- Global configuration (array, one entry) ------------------------------ */

struct xs_config {
	/* 0: no policy applied (everything passes, counted as NO_POLICY).
	 * Otherwise the active policy set is generation & 1. Read once per
	 * packet; userspace writes the inactive set, then bumps this. */
	__u32 generation;
	/* Drop-event token bucket, per CPU: sustained events/s and burst. */
	__u32 drop_ev_rate;
	__u32 drop_ev_burst;
	__u32 flags; /* XS_CFG_* */
	/*
	 * Commit-confirm (`apply --confirm`): from confirm_deadline_ns on (the
	 * datapath's clock, bpf_ktime_get_coarse_ns() + clock_offset_ns), the
	 * datapath decides by rollback_generation (the policy before, still in
	 * the other set) instead of generation. 0: nothing pending.
	 */
	__u64 confirm_deadline_ns;
	__u32 rollback_generation;
	/* The flow tables' hash seed, random, written once when the maps are
	 * created (a packet's sender cannot aim at a bucket). */
	__u32 flow_seed;
	/* Added to every clock the datapath reads (monotonic and TAI): tests
	 * advance time with it. 0 in production. */
	__s64 clock_offset_ns;
	/* Set to 1 by the datapath, once, at the first packet past the confirm
	 * deadline (with an event: XS_EVF_ROLLBACK); userspace clears it with
	 * the deadline. 64 bits: a BPF atomic exchange. */
	__u64 rolled_back;
	/* Events of allowed new flows: their own per-CPU token bucket (0: the
	 * defaults), so that a flood of new flows costs no ring-buffer work
	 * past the burst; the counters still count every flow. */
	__u32 allow_ev_rate;
	__u32 allow_ev_burst;
	/* Bytes of a dropped or audited packet its event carries, from the
	 * frame's start (at most XS_EV_SNAP_MAX; 0: none). Written when the
	 * maps are created (XS_DEFAULT_SNAP_LEN), like the event rates. */
	__u32 snap_len;
	/* Flow-end records (struct xs_flow_end): per CPU, records/s and burst
	 * of each of their two token buckets (0: the defaults), see there. */
	__u32 flowrec_rate;
	__u32 flowrec_burst;
	__u32 pad;
};
XS_ASSERT_SIZE(struct xs_config, 72);

/* No events for new allowed flows, except those an overlay let in (reasons
 * forensic, grant, failsafe): every use of such an access is an event. */
#define XS_CFG_QUIET_ALLOW (1U << 0)

#define XS_DEFAULT_DROP_EV_RATE 1000
#define XS_DEFAULT_DROP_EV_BURST 200
#define XS_DEFAULT_ALLOW_EV_RATE 10000
#define XS_DEFAULT_ALLOW_EV_BURST 2000
#define XS_DEFAULT_SNAP_LEN 128
#define XS_DEFAULT_FLOWREC_RATE 20000
#define XS_DEFAULT_FLOWREC_BURST 4000

/* ---- Connection tracking ------------------------------------------------ */

/*
 * A tuple; used directionally (an ICMP error's quoted packet) and
 * normalised (the flow key: side a is the lexicographically smaller (addr,
 * port) pair). ICMP echo and other query messages use the identifier as
 * both ports; other ICMP types use port 0.
 */
struct xs_tuple {
	__u8 addr_a[16];
	__u8 addr_b[16];
	__be16 port_a;
	__be16 port_b;
	__u8 proto;
	__u8 family; /* 4 or 6 */
	__u8 pad[2];
};
XS_ASSERT_SIZE(struct xs_tuple, 40);

/*
 * Flow table: tracked flows and remembered denials, one per normalised tuple
 * (side a: the lexicographically smaller (address, port)), in two arrays of
 * buckets (IPv4, IPv6) of XS_FLOW_WAYS entries each; the bucket is
 * xs_flow_hash*() & (buckets - 1). Every read and write of a bucket, in the
 * datapath and in userspace (BPF_F_LOCK), holds its spin lock; the datapath
 * decides outside it and finds the entry again by its key to write, so two
 * CPUs inserting one flow make one entry. A new flow takes a free, expired or
 * denial slot first, else the live entry that expires first (an eviction,
 * counted): a half-open or closing flow goes before an established one.
 * A denial (state XS_CT_DENIED) only takes a free, expired or denial slot.
 * Each tracked entry counts its packets and bytes each way, and knows its
 * start ("Flow accounting"); its end is a record on the ring buffer
 * (struct xs_flow_end) when the datapath ends it.
 */
#define XS_FLOW_WAYS 3
#define XS_FLOW4_BUCKETS (1U << 17) /* 393,216 IPv4 entries, 32 MiB */
#define XS_FLOW6_BUCKETS (1U << 16) /* 196,608 IPv6 entries, 20.5 MiB */

/* Common part of an entry; state 0 is a free slot. */
struct xs_flow_hdr {
	__u64 expires_ns; /* the datapath's clock (clock_mono()) */
	__u32 generation; /* policy generation that decided it */
	__u32 deadline;	  /* accepted by a grant: its end, CLOCK_TAI seconds (0: none) */
	__u16 rule_id;	  /* what decided (rule ids are < XS_MAX_RULES = 2^16) */
	__u16 src_seg;	  /* segments in the initiator's (denial: the denied) direction */
	__u16 dst_seg;
	__u8 state; /* enum xs_ct_state, 0: free */
	__u8 flags; /* XS_CTF_* */
	__u8 reason;
	__u8 icmp_type; /* ICMP: type of the initiating message */
	/* the key, with the addresses after the header */
	__u8 proto;
	__u8 stamp; /* + 1 at each new entry of the slot ("Flow accounting") */
	__be16 port_a;
	__be16 port_b;
};
XS_ASSERT_SIZE(struct xs_flow_hdr, 32);

struct xs_flow4 {
	struct xs_flow_hdr h;
	__u8 addr_a[4];
	__u8 addr_b[4];
};
XS_ASSERT_SIZE(struct xs_flow4, 40);

struct xs_flow6 {
	struct xs_flow_hdr h;
	__u8 addr_a[16];
	__u8 addr_b[16];
};
XS_ASSERT_SIZE(struct xs_flow6, 64);

/*
 * Flow accounting: what each entry of a bucket has counted, after the
 * bucket's entries (struct xs_flow_acct). Per entry and direction (from the
 * initiator, from the responder), a 64-bit accumulator (XS_ACC_*) holds the
 * entry's stamp (xs_flow_hdr.stamp) and the packets and bytes counted since
 * the last fold; a fold moves a quantum (XS_ACC_PKT_QUANTUM packets,
 * XS_ACC_BYTE_QUANTUM bytes) out of it into `fold`, which counts quanta. A
 * flow has counted its folds (when fold_stamp is its stamp) plus its
 * accumulators' fields (each when it holds its stamp; the responder's only
 * once XS_CTF_REPLIED: written first by the responder's first packet).
 *
 * The datapath counts a packet without the lock by one compare-and-swap of
 * the accumulator holding its entry's stamp: an entry given to another flow
 * meanwhile has a new stamp, so a packet never counts towards a flow it does
 * not belong to (a failed swap takes the lock). Under the lock, an
 * accumulator half full in either field gives a quantum to `fold` first (an
 * atomic add). A new entry takes the slot's next stamp and writes its
 * initiator's accumulator (with the packet), start and interface: one cache
 * line of an IPv4 bucket, whose accounting has lines of its own (a lookup
 * reads none of them; each direction writes its own). Userspace reads whole
 * buckets under the lock (no fold, no new entry meanwhile): counts of one
 * instant.
 */
#define XS_ACC_STAMP_SHIFT 56
#define XS_ACC_PKT_SHIFT 36
#define XS_ACC_PKT_MASK 0xfffffULL			  /* 20 bits of packets */
#define XS_ACC_BYTE_MASK ((1ULL << XS_ACC_PKT_SHIFT) - 1) /* 36 bits of bytes */
#define XS_ACC_PKT_QUANTUM (1ULL << 19)			  /* half the packets field */
#define XS_ACC_BYTE_QUANTUM (1ULL << 35)		  /* half the bytes field */
#define XS_ACC_PKT_FULL (XS_ACC_PKT_QUANTUM << XS_ACC_PKT_SHIFT)
#define XS_ACC_BYTE_FULL XS_ACC_BYTE_QUANTUM
#define XS_ACC_ONE(len) ((1ULL << XS_ACC_PKT_SHIFT) + (__u64)(len)) /* one packet */

/* Quanta folded out of the accumulators: [0] from the initiator, [1] back
 * (2^51 packets, 2^51 bytes each way). */
struct xs_flow_fold {
	__u32 packets[2];
	__u16 bytes[2];
};
XS_ASSERT_SIZE(struct xs_flow_fold, 12);

struct xs_flow_acct {
	/* one cache line, the one a new entry writes */
	__u64 acc_i[XS_FLOW_WAYS];    /* packets from the initiator */
	__u64 start_ns[XS_FLOW_WAYS]; /* clock_mono() at the entry's first packet */
	__u32 ifindex[XS_FLOW_WAYS];  /* where it was seen (XS_CTF_EGRESS: at which hook): the
				       * flow counts there only (a packet seen at two
				       * attached interfaces counts once) */
	__u8 fold_stamp[XS_FLOW_WAYS];
	__u8 pad;
	/* the responder's packets write the next one */
	__u64 acc_r[XS_FLOW_WAYS];
	struct xs_flow_fold fold[XS_FLOW_WAYS];
	__u32 pad2;
};
XS_ASSERT_SIZE(struct xs_flow_acct, 128);

/* struct bpf_spin_lock (linux/bpf.h) is one __u32; `lock` must stay the first member. */
struct xs_flow4_bucket {
	__u32 lock; /* struct bpf_spin_lock */
	__u32 seq;  /* sequence count: odd while a writer changes the entries */
	struct xs_flow4 e[XS_FLOW_WAYS];
	struct xs_flow_acct a; /* the third and fourth cache lines */
};
XS_ASSERT_SIZE(struct xs_flow4_bucket, 256);

struct xs_flow6_bucket {
	__u32 lock; /* struct bpf_spin_lock */
	__u32 seq;
	struct xs_flow6 e[XS_FLOW_WAYS];
	struct xs_flow_acct a; /* (buckets of 328 bytes: not aligned to cache lines) */
};
XS_ASSERT_SIZE(struct xs_flow6_bucket, 328);

/* A denial lives this long (or until the next apply). */
#define XS_DENY_TIMEOUT (30 * XS_NS_PER_SEC)

enum xs_ct_state {
	XS_CT_SYN_SENT = 1,    /* TCP: SYN seen, no reply yet (half-open) */
	XS_CT_ESTABLISHED = 2, /* TCP: reply seen or picked up mid-stream */
	XS_CT_CLOSING = 3,     /* TCP: FIN seen */
	XS_CT_CLOSED = 4,      /* TCP: RST, or FIN both ways */
	XS_CT_UDP = 5,
	XS_CT_ICMP = 6,
	XS_CT_OTHER = 7,  /* other IP protocols, tracked by addresses only */
	XS_CT_DENIED = 8, /* a remembered denial (flags: its direction) */
};

#define XS_CTF_INIT_B (1U << 0)	 /* the initiator is side b of the key */
#define XS_CTF_AUDIT (1U << 1)	 /* accepted only because of monitor mode */
#define XS_CTF_REPLIED (1U << 2) /* a packet from the responder was seen */
#define XS_CTF_FIN_A (1U << 3)
#define XS_CTF_FIN_B (1U << 4)
#define XS_CTF_BOTH_WAYS (1U << 5) /* XS_CT_DENIED, TCP non-SYN: the reverse was denied too */
/* The datapath sent the flow's end record (struct xs_flow_end): a flow it closed
 * (FIN both ways, RST) keeps its entry until it expires, marked so that no one
 * reports its end again. A tracked entry without it that expired has ended by
 * its timeout, and only a scan of the table can tell (userspace reports it). */
#define XS_CTF_ENDED (1U << 6)
#define XS_CTF_EGRESS (1U << 7) /* the flow's first packet was seen at TC egress */

/* A tracked flow as userspace reads it (xs_ct_read(): key, then this). */
struct xs_ct_val {
	__u64 expires_ns; /* clock_mono() deadline */
	__u32 rule_id;	  /* what accepted the flow (rule or default origin) */
	__u32 generation; /* policy generation that accepted it */
	__u16 src_seg;	  /* segments in the initiator's direction */
	__u16 dst_seg;
	__u8 state;	/* enum xs_ct_state */
	__u8 flags;	/* XS_CTF_* */
	__u8 reason;	/* enum xs_reason of the accepting decision */
	__u8 icmp_type; /* ICMP: type of the initiating message (to re-decide) */
	/* Accepted by a grant (not --drain): its end (CLOCK_TAI seconds),
	 * after which the flow is decided again at its next packet. 0: none. */
	__u32 deadline;
	__u32 pad;
};
XS_ASSERT_SIZE(struct xs_ct_val, 32);

/* Timeouts, nanoseconds. */
#define XS_NS_PER_SEC 1000000000ULL
#define XS_CT_TCP_SYN_TIMEOUT (30 * XS_NS_PER_SEC)
#define XS_CT_TCP_EST_TIMEOUT (6 * 3600 * XS_NS_PER_SEC)
#define XS_CT_TCP_CLOSE_TIMEOUT (10 * XS_NS_PER_SEC)
#define XS_CT_TCP_FIN_TIMEOUT (120 * XS_NS_PER_SEC) /* one side closed */
#define XS_CT_UDP_TIMEOUT (60 * XS_NS_PER_SEC)
#define XS_CT_UDP_REPLIED_TIMEOUT (180 * XS_NS_PER_SEC)
#define XS_CT_ICMP_TIMEOUT (30 * XS_NS_PER_SEC)
#define XS_CT_OTHER_TIMEOUT (60 * XS_NS_PER_SEC)
#define XS_FRAG_TIMEOUT (30 * XS_NS_PER_SEC)

/* Fragments: the first fragment's decision, keyed by the datagram id. */
struct xs_frag_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id; /* IPv4: 16-bit id; IPv6: fragment header id */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};
XS_ASSERT_SIZE(struct xs_frag_key, 40);

struct xs_frag_val {
	__u64 expires_ns;
	__u32 rule_id;
	__u32 generation; /* policy generation that accepted the first fragment */
	__u16 hdr_len;	  /* bytes of the fragmentable part the decision read: a
			   * later fragment starting before this overlaps them */
	__u8 verdict;	  /* enum xs_verdict of the first fragment (never DROP) */
	__u8 reason;
	__u8 pad[4];
};
XS_ASSERT_SIZE(struct xs_frag_val, 24);

/* ---- Counters (per-CPU arrays) ---------------------------------------------- */

/*
 * What became of the event a packet could make: every packet counted per
 * verdict and reason has exactly one outcome, counted in the same per-CPU
 * slot (struct xs_counter), so that for each verdict and reason
 *   packets = ev[SENT] + ev[RATELIMITED] + ev[LOST] + ev[NONE]
 * (the accounting invariant `xdpseg stats` checks).
 */
enum xs_ev_outcome {
	XS_EV_SENT = 0,	       /* an event went into the ring buffer */
	XS_EV_RATELIMITED = 1, /* its token bucket was empty: no event */
	XS_EV_LOST = 2,	       /* the ring buffer was full: no event */
	XS_EV_NONE = 3,	       /* no event by design (established, related, a later
				* fragment, not IP, ND, no policy) or by configuration
				* (XS_CFG_QUIET_ALLOW) */
	XS_EV__OUTCOMES,
};

/* One slot of xs_stats: a verdict and reason's packets, bytes and event
 * outcomes (the misc counters use `packets` only). */
struct xs_counter {
	__u64 packets;
	__u64 bytes;
	__u64 ev[XS_EV__OUTCOMES]; /* enum xs_ev_outcome */
};
XS_ASSERT_SIZE(struct xs_counter, 48);

/*
 * xs_stats index: XS_STAT_IDX(verdict, reason), then the misc counters.
 * Events lost and rate-limited in all are the sums of the slots' ev[]
 * (user/ctl/show.c: xs_event_losses()), plus XS_STAT_EV_LOST_OTHER.
 */
#define XS_STAT_IDX(verdict, reason) ((verdict)*XS_REASON__MAX + (reason))
enum xs_stat_misc {
	/* events of no packet's slot lost (the ring buffer full): the rollback event */
	XS_STAT_EV_LOST_OTHER = XS_VERDICT__MAX * XS_REASON__MAX,
	XS_STAT_CT_CREATED,
	XS_STAT_CT_REVALIDATED, /* tracked flows re-decided after an apply */
	XS_STAT_FLOW_EVICTED,	/* a live flow's entry given to a new flow (its bucket was full) */
	XS_STAT_FLOWREC_SENT,	/* flow-end records on the ring buffer */
	XS_STAT_FLOWREC_SUPPRESSED, /* ... not sent: their token bucket was empty */
	XS_STAT_FLOWREC_LOST,	    /* ... not sent: the ring buffer was full */
	XS_STAT__MAX,
};

/* Per-rule counters: one per-CPU array per policy set, indexed by rule id.
 * `flows` counts new flows decided by the rule (or default), packets and
 * bytes count every packet of those flows. An apply carries them to the
 * new set for every rule it keeps (user/ctl/counters.h): they go on
 * across applies. xs_stats is not per set: an apply leaves it as it is. */
struct xs_rule_counter {
	__u64 flows;
	__u64 packets;
	__u64 bytes;
};
XS_ASSERT_SIZE(struct xs_rule_counter, 24);

/* ---- Events (ring buffer) ------------------------------------------------- */

enum xs_hook {
	XS_HOOK_INGRESS = 0, /* XDP, or TC ingress */
	XS_HOOK_EGRESS = 1,  /* TC egress */
};

/*
 * Every ring-buffer record starts with a __u16 kind (XS_REC_*), so a reader
 * dispatches on it, and checks the record's size against the kind's struct.
 */
enum xs_rec_kind {
	XS_REC_EVENT = 1,    /* struct xs_event, then `snap_len` bytes of the packet */
	XS_REC_FLOW_END = 2, /* struct xs_flow_end */
};

/* Bytes of a packet an event may carry, at most. */
#define XS_EV_SNAP_MAX 256

/*
 * Events of dropped and audited packets carry the frame's first
 * min(xs_config.snap_len, the frame's length) bytes (a TC hook: of its
 * linear part); allow events carry none. pkt_len is the whole frame's.
 */
struct xs_event {
	__u16 kind;	/* XS_REC_EVENT */
	__u16 snap_len; /* bytes of the frame that follow the struct (0: none) */
	__u32 reserved; /* 0 */
	__u64 ts_ns;	/* bpf_ktime_get_coarse_ns() (a tick's resolution) */
	__u32 ifindex;
	__u32 rule_id; /* 0 when no rule or default applies (malformed, ...) */
	__u32 pkt_len;
	__u32 generation; /* policy generation; rule_id refers to set gen & 1 */
	__u16 src_seg;
	__u16 dst_seg;
	__u16 sport;  /* host order; ICMP: identifier or 0 */
	__u16 dport;  /* host order; ICMP: 0 (see icmp_type) */
	__u8 hook;    /* enum xs_hook */
	__u8 verdict; /* enum xs_verdict */
	__u8 reason;  /* enum xs_reason */
	__u8 proto;
	__u8 family; /* 4, 6; 0 if not parsed far enough */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 flags; /* XS_EVF_* */
	__u8 saddr[16];
	__u8 daddr[16];
};
XS_ASSERT_SIZE(struct xs_event, 80);

/*
 * Why a tracked flow ended. The datapath ends a flow itself for the first
 * five (the flow's own packet: TCP's close, a policy or a grant that no
 * longer allows it) and the next three (a new flow took its entry);
 * userspace reports the others, scanning the table (a flow whose entry
 * expired: XS_FLOW_END_TIMEOUT too, when no new flow took it first).
 */
enum xs_flow_cause {
	XS_FLOW_END_NONE = 0,	       /* not ended (a record of a live flow, from a scan) */
	XS_FLOW_END_FIN = 1,	       /* TCP: FIN both ways */
	XS_FLOW_END_RST = 2,	       /* TCP: RST */
	XS_FLOW_END_REVOKED = 3,       /* decided again after an apply: the policy drops it */
	XS_FLOW_END_GRANT_EXPIRED = 4, /* accepted by a grant that has ended */
	XS_FLOW_END_EVICTED = 5,       /* live, its entry given to a new flow (bucket full) */
	XS_FLOW_END_TIMEOUT = 6,       /* expired (end_ns: its expiry), entry reused */
	XS_FLOW_END_REPLACED = 7,      /* a new flow of the same tuple (a TCP port reused) */
};

/*
 * A flow-end record (XS_REC_FLOW_END): the entry of a tracked flow as it
 * ended, in the initiator's direction (s*: the initiator, d*: the
 * responder). Records pass two per-CPU token buckets of their own
 * (xs_config.flowrec_rate, flowrec_burst; not the events'): one for the ends
 * a flow's own packet causes (FIN, RST, REVOKED, GRANT_EXPIRED), one for the
 * ends a new flow causes (EVICTED, TIMEOUT, REPLACED), so that a flood of new
 * flows evicting live ones costs the ring buffer at most `rate` records/s
 * per CPU (after `burst`) and crowds out no close; XS_STAT_FLOWREC_* count
 * what was sent, suppressed and lost.
 */
struct xs_flow_end {
	__u16 kind;	  /* XS_REC_FLOW_END */
	__u8 cause;	  /* enum xs_flow_cause */
	__u8 family;	  /* 4 or 6 */
	__u32 ifindex;	  /* where its first packet was seen (flags & XS_CTF_EGRESS: the hook) */
	__u64 start_ns;	  /* clock_mono() at its first packet (as xs_event.ts_ns) */
	__u64 end_ns;	  /* ... at its end (TIMEOUT: its expiry) */
	__u64 packets[2]; /* [0] initiator -> responder, [1] responder -> initiator */
	__u64 bytes[2];	  /* the same, whole packets as the hook saw them */
	__u32 generation; /* the policy generation that (last) decided it */
	__u32 rule_id;	  /* what accepted it, in set generation & 1 */
	__u16 src_seg;	  /* the initiator's segment */
	__u16 dst_seg;
	__u16 sport; /* host order; ICMP: the identifier (queries) or 0 */
	__u16 dport; /* host order; ICMP: 0 */
	__u8 proto;
	__u8 state;	/* enum xs_ct_state at the end */
	__u8 flags;	/* XS_CTF_* at the end */
	__u8 reason;	/* enum xs_reason of the accepting decision */
	__u8 icmp_type; /* ICMP: the initiating message's type */
	__u8 stamp;	/* the entry's xs_flow_hdr.stamp */
	__u8 pad[2];
	__u8 saddr[16]; /* the initiator */
	__u8 daddr[16]; /* the responder */
};
XS_ASSERT_SIZE(struct xs_flow_end, 112);

/* An ARP packet (a bound port's spoofed sender): saddr/daddr are the ARP
 * sender and target IPv4 addresses, proto is 0. */
#define XS_EVF_ARP (1U << 0)
/* The first packet past a commit-confirm deadline: the datapath fell back to
 * xs_config.rollback_generation (the event's generation) from then on. */
#define XS_EVF_ROLLBACK (1U << 1)

/* ---- Userspace bookkeeping kept with the pinned state ------------------- */

/* Rule origins: key (set, rule id) -> where the rule came from. */
struct xs_origin_key {
	__u32 set;
	__u32 rule_id;
};
XS_ASSERT_SIZE(struct xs_origin_key, 8);

#define XS_ORIGIN_FILE_LEN 128
#define XS_ORIGIN_TEXT_LEN 120
struct xs_origin {
	__u32 line;
	__u32 kind;		       /* enum xs_origin_kind */
	char file[XS_ORIGIN_FILE_LEN]; /* NUL-terminated, truncated from the left */
	char text[XS_ORIGIN_TEXT_LEN]; /* the rule's normalised text (xs_origin_text()),
					* NUL-terminated: its identity across applies */
};
XS_ASSERT_SIZE(struct xs_origin, 256);

enum xs_origin_kind {
	XS_ORIGIN_RULE = 1,	  /* an allow/deny statement */
	XS_ORIGIN_DEFAULT = 2,	  /* a `default` statement */
	XS_ORIGIN_IMPLICIT = 3,	  /* an implicit default; file/line of the segment */
	XS_ORIGIN_SEGMENT = 4,	  /* a segment's name (text), key XS_ORIGIN_SEG_KEY(id) */
	XS_ORIGIN_BIND = 5,	  /* a `bind` statement (events with reason `spoofed`) */
	XS_ORIGIN_QUARANTINE = 6, /* a quarantine (xs_overlays has it, key its id) */
	XS_ORIGIN_FORENSIC = 7,	  /* a forensic access: a quarantine's or the policy's */
	XS_ORIGIN_GRANT = 8,	  /* a grant (xs_overlays has it, key its id) */
	XS_ORIGIN_FAILSAFE = 9,	  /* a failsafe port of the configuration */
};

/* xs_origins also names the segments of each set, so `watch` needs no policy file. */
#define XS_ORIGIN_SEG_KEY(seg) (0x80000000u | (__u32)(seg))

/* Active policy description, array indexed by policy set. */
struct xs_policy_meta {
	__u64 applied_at; /* unix seconds */
	__u32 generation;
	__u32 nrules;
	__u8 hash[32]; /* SHA-256 of the compiled form */
	char file[256];
};
XS_ASSERT_SIZE(struct xs_policy_meta, 304);

/*
 * Runtime overlays of the policy in force, per set: quarantines and grants
 * (`xdpseg quarantine`, `grant`), compiled with the policy into the set's
 * tables, so `status` and `show` list them without the state directory.
 * Key (set, the rule id of the overlay's origin in that set's tables).
 */
struct xs_overlay_key {
	__u32 set;
	__u32 rule_id;
};
XS_ASSERT_SIZE(struct xs_overlay_key, 8);

enum xs_overlay_kind {
	XS_OVERLAY_QUARANTINE = 1,
	XS_OVERLAY_GRANT = 2,
};

#define XS_OVERLAY_TEXT_LEN 256
#define XS_OVERLAY_REASON_LEN 128
struct xs_overlay {
	__u64 created; /* unix seconds */
	__u64 expires; /* grants: unix seconds (0: none) */
	__u32 number;  /* the admin's handle (`revoke N`, `release N`), stable */
	__u32 uid;     /* who made it */
	__u8 kind;     /* enum xs_overlay_kind */
	__u8 flags;    /* XS_RULEF_DRAIN for a grant made with --drain */
	__u8 pad[6];
	char text[XS_OVERLAY_TEXT_LEN];	    /* the statement, NUL-terminated */
	char reason[XS_OVERLAY_REASON_LEN]; /* --reason, NUL-terminated ("" none) */
};
XS_ASSERT_SIZE(struct xs_overlay, 416);

/* Interfaces xdpseg is attached to, keyed by ifindex. */
enum xs_xdp_mode {
	XS_XDP_NONE = 0, /* TC-only ingress */
	XS_XDP_NATIVE = 1,
	XS_XDP_GENERIC = 2,
};

enum xs_iface_state {
	XS_IFACE_ATTACHED = 0,	/* every hook in place (as recorded by attach) */
	XS_IFACE_ATTACHING = 1, /* recorded before its hooks: attach did not finish */
};

struct xs_iface {
	char name[16];
	__u8 xdp_mode;	    /* enum xs_xdp_mode */
	__u8 tc_ingress;    /* 1: ingress enforced by TC instead of XDP */
	__u8 created_qdisc; /* 1: we created clsact, remove it on detach */
	__u8 state;	    /* enum xs_iface_state */
	__u32 ifindex;
	__u64 attached_at; /* unix seconds */
};
XS_ASSERT_SIZE(struct xs_iface, 32);

#endif /* XDPSEG_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy compiler: text in, map entries (or diagnostics) out.
 *
 * No I/O in the core: files are read through a resolver callback, so the
 * CLI reads from disk and the tests from memory. See policies/README.md for
 * the language and its semantics.
 */
#ifndef XS_POLICY_H
#define XS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xdpseg.h"
#include "xdpseg_decide.h"

/* ---- Diagnostics ---------------------------------------------------------- */

enum xs_severity {
	XS_SEV_ERROR = 0,
	XS_SEV_WARNING = 1,
	XS_SEV_NOTE = 2,
};

struct xs_diag {
	enum xs_severity severity;
	char *file; /* as the user named it (include paths resolved) */
	int line;   /* 1-based; 0 when the diagnostic has no location */
	int col;    /* 1-based */
	char *msg;
	char *line_text; /* the offending source line, without newline; may be NULL */
	int text_col;	 /* column of the caret in line_text (an excerpt of a long line) */
	char *hint;	 /* the fix the message suggests, also in msg ("did you mean 'vda'?",
			  * "write 80-443"); NULL: none */
};

/* Diagnostics kept per xs_diags; past this they are only counted. */
#define XS_MAX_DIAGS 10000

struct xs_diags {
	struct xs_diag *v;
	size_t n, cap;
	size_t errors, warnings; /* all of them, kept or not */
	size_t dropped;		 /* not kept (past XS_MAX_DIAGS) */
};

void xs_diags_init(struct xs_diags *d);
void xs_diags_free(struct xs_diags *d);
/* gcc style: FILE:LINE:COL: error: MSG, then the line and a caret. */
void xs_diags_print(FILE *out, const struct xs_diags *d, bool color);
/*
 * The diagnostics as JSON objects {"file", "line", "column", "severity",
 * "message", "hint"} (line and column null without a place, hint null
 * without one; strings escaped as xs_diags_print() escapes them), each
 * after a ',' unless *first, which is then cleared: elements of an array
 * the caller opens and closes.
 */
void xs_diags_print_json(FILE *out, const struct xs_diags *d, bool *first);
/* s escaped as diagnostics print it (control bytes, invalid UTF-8 and bidi
 * controls as \xNN), as a JSON string. */
void xs_json_escaped(FILE *out, const char *s);

/* ---- File resolution ------------------------------------------------------ */

/* Policy text is untrusted: at most this much per file, and per policy (all
 * its files together). More is an error, never read into memory. */
#define XS_MAX_FILE_BYTES (16u << 20)
#define XS_MAX_POLICY_BYTES (64u << 20)

#define XS_FILE_ID_LEN 48

/* A file as a resolver read it. */
struct xs_file {
	char *path;		 /* malloc'd: how diagnostics name the file (the name as
				  * written, relative to the including file's folder) */
	char *text;		 /* malloc'd: the bytes, then a NUL (there may be others) */
	size_t len;		 /* the number of bytes */
	char id[XS_FILE_ID_LEN]; /* what makes two paths one file ("dev:inode"), for
				  * include cycles and once-only includes; "": the path */
	char err[512];		 /* on failure, why, when errno says too little */
};

/*
 * Resolve and read `name` as included from `from` (NULL for the top-level
 * file), at most `limit` bytes. On success return 0 and fill *out (zeroed by
 * the caller). On failure return a negative errno and maybe set out->err:
 * -EFBIG when the file has more than `limit` bytes, -ELOOP for a loop of
 * symbolic links, -EINVAL or -EISDIR for anything but a regular file (a
 * resolver never blocks on a FIFO or a device).
 */
typedef int (*xs_resolve_fn)(void *ctx, const char *from, const char *name, size_t limit,
			     struct xs_file *out);

/* Where xs_resolve_fs() looks for an include after the including file's
 * folder and before the search path: the `-I DIR` folders, in order. */
struct xs_resolve_fs_ctx {
	const char *const *dirs;
	size_t ndirs;
};

/*
 * Resolver over the file system (ctx: a struct xs_resolve_fs_ctx, or NULL
 * for no -I folders): the top-level file as named; an include relative to
 * the including file's folder, then, when no file has that name there and
 * the name is relative, in each -I folder, then in each folder of the
 * search path (the first that has it). Not found anywhere: -ENOENT, and
 * out->err names every folder looked in. policies/README.md, `include`.
 */
int xs_resolve_fs(void *ctx, const char *from, const char *name, size_t limit, struct xs_file *out);

/* The include search path: $XDPSEG_POLICY_PATH when set (folders separated
 * by ':'; empty: none), else DATADIR/xdpseg/policies as installed. */
const char *xs_policy_path(void);

/* ---- The parsed policy (intermediate form) -------------------------------- */

struct xs_src_loc {
	const char *file; /* owned by the policy */
	int line;
	int col;
};

struct xs_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;
	uint8_t addr[16]; /* normalised: host bits cleared */
	struct xs_src_loc loc;
};

/* A port or ICMP-type range of one protocol. proto 0 = every protocol. */
struct xs_portspec {
	uint8_t proto;	 /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, or 0 = any */
	uint16_t lo, hi; /* inclusive; for ICMP the type; whole range = 0..65535 */
};

struct xs_segment {
	char *name;
	uint16_t id;  /* 1.. in declaration order; the built-in `link-local` comes last */
	bool builtin; /* `link-local`: fe80::/10 and 169.254.0.0/16, declared by xdpseg */
	struct xs_prefix *prefixes;
	size_t nprefixes;
	uint8_t in_action, out_action; /* enum xs_action */
	bool monitor;
	uint32_t in_rule_id, out_rule_id; /* origins of the defaults */
	struct xs_src_loc loc;
	/* A derived segment: an overlay's or a failsafe port's address or
	 * prefix, named `PARENT[PREFIX]` (policies/README.md, "Overlays"). Its
	 * one prefix, after every declared segment and link-local; the rules,
	 * defaults and mode of its declared segment (world for an address in
	 * none); the overlays of each segment whose prefix holds it. */
	bool derived;
	uint16_t parent; /* derived: the segment holding its prefix (derived or not; 0 world) */
};

/* A rule endpoint: a segment id, XS_SEG_WORLD, or XS_ENDPOINT_ANY. */
#define XS_ENDPOINT_ANY 0xffffffffu

/*
 * A rule entry: one (source, destination) pair of a rule statement. A
 * statement with lists (`allow a, b -> c, d`) has an entry per pair, sources
 * outer, all with the statement's id, one after the other: ids repeat, and
 * rules[i].id is not i + 1 (xs_policy_rule_statements() counts statements).
 */
struct xs_rule {
	uint32_t id;		   /* 1.., also the origin id: the statement's */
	uint8_t action;		   /* XS_ACT_ALLOW / XS_ACT_DENY */
	uint32_t src, dst;	   /* segment id, XS_SEG_WORLD or XS_ENDPOINT_ANY */
	struct xs_portspec *ports; /* NULL/0 = every protocol and port */
	size_t nports;
	char *text; /* the statement as written, whitespace folded */
	struct xs_src_loc loc;
};

/*
 * A port binding: `bind SEGMENT IFACE-PATTERN [ADDRESS[/LEN], ...]`. An
 * attached interface whose name matches the pattern (the first matching
 * statement in source order) belongs to SEGMENT and may send only from the
 * addresses (without addresses: from any address of SEGMENT).
 */
struct xs_binding {
	uint32_t id;		    /* 1.. in source order: the bind id of xs_binds_* */
	uint32_t rule_id;	    /* its origin id (events with reason `spoofed` name it) */
	uint16_t seg;		    /* a declared segment (not world, not link-local) */
	char *pattern;		    /* fnmatch(3) glob over interface names, < 16 bytes */
	struct xs_prefix *prefixes; /* the addresses the port may send from */
	size_t nprefixes;
	char *text; /* the statement as written, whitespace folded */
	struct xs_src_loc loc;
};

/*
 * What the overlays and the failsafe ports add to the source form, in
 * terms of segments (each id stands for itself and every derived segment
 * inside it, see xs_segment.parent); what the compiler compiles and the
 * reference evaluator decides by:
 *
 *   XS_ORIGIN_QUARANTINE  dst are quarantined (flags XS_OVR_STRICT: none of them
 *                         has forensic access, whatever other quarantines say)
 *   XS_ORIGIN_FORENSIC    src may reach the quarantined dst on ports (a policy's
 *                         `quarantine forensic` declaration has no dst: the
 *                         quarantines that name no mode copy it, with its id)
 *   XS_ORIGIN_GRANT       src may reach dst on ports until `expires` (flags
 *                         XS_RULEF_DRAIN)
 *   XS_ORIGIN_FAILSAFE    every segment may reach dst on ports
 */
struct xs_overlay_rule {
	uint32_t rule_id; /* its origin */
	uint8_t kind;	  /* enum xs_origin_kind */
	uint8_t flags;	  /* XS_OVR_STRICT, XS_RULEF_DRAIN */
	uint16_t *src, *dst;
	size_t nsrc, ndst;
	struct xs_portspec *ports; /* NULL/0 = every protocol and port */
	size_t nports;
	uint32_t expires; /* grants: the end, CLOCK_TAI seconds (as the kernel entry) */
};

#define XS_OVR_STRICT (1U << 0)

struct xs_origin_entry {
	uint32_t rule_id;
	enum xs_origin_kind kind;
	const char *file;
	int line;
	char *text;
};

/* A declared service, its items flattened (what `map` and `suggest` name
 * observed ports by). Only a parse fills these (not an artefact read back). */
struct xs_service {
	char *name;
	struct xs_portspec *specs; /* flattened, as written (not merged) */
	size_t nspecs;
	bool leaf; /* its items are specs only, no other service */
	struct xs_src_loc loc;
};

struct xs_policy {
	struct xs_segment *segments; /* index i has id i+1 */
	size_t nsegments;
	struct xs_rule *rules; /* entries, in rule id order (a statement: one per pair) */
	size_t nrules;
	size_t nservices;
	struct xs_service *services; /* in declaration order; NULL when read back */
	/* Every rule id (rules, explicit and implicit defaults) -> origin,
	 * index rule_id - 1. */
	struct xs_origin_entry *origins;
	size_t norigins;
	char **files; /* every file read, owned here */
	size_t nfiles;
	/* world's defaults (always in allow out allow) */
	uint32_t world_in_rule_id, world_out_rule_id;
	uint16_t linklocal_seg;	     /* id of the built-in segment `link-local` */
	struct xs_binding *bindings; /* index i has id i+1 */
	size_t nbindings;
	/* Quarantines, forensic access, grants, failsafe ports, by rule id. */
	struct xs_overlay_rule *overlay_rules;
	size_t noverlay_rules;
};

/* ---- The compiled form: exactly the map entries -------------------------- */

struct xs_lpm4_entry {
	struct xs_lpm4_key key;
	struct xs_seg_val val;
};

struct xs_lpm6_entry {
	struct xs_lpm6_key key;
	struct xs_seg_val val;
};

struct xs_rule_entry {
	struct xs_rule_key key;
	struct xs_rule_val val;
};

/*
 * Bound addresses: LPM entries (bind id, prefix) -> value. A bind with
 * addresses has one entry per address, value its id. A bind without has one
 * entry per prefix of its segment, value its id, and one entry with value 0
 * for each longer prefix of another segment inside one of them. A source is
 * allowed from a port bound by id B when the longest entry of B that holds
 * it has the value B (value 0 or no entry: not allowed; link-local sources
 * are allowed whatever the entries say). Sorted by bind id, address, length.
 */
struct xs_bind4_entry {
	struct xs_bind4_key key;
	__u32 val; /* the bind id, or 0: "not allowed" (another segment's prefix) */
};

struct xs_bind6_entry {
	struct xs_bind6_key key;
	__u32 val;
};

struct xs_compiled {
	struct xs_policy *policy; /* the source form, owned */
	struct xs_lpm4_entry *v4; /* sorted, deterministic order */
	size_t nv4;
	struct xs_lpm6_entry *v6;
	size_t nv6;
	struct xs_rule_entry *rules;
	size_t nrules;
	struct xs_seg_info *seginfo;  /* index = segment id, [0] = world */
	size_t nseginfo;	      /* nsegments + 1 */
	struct xs_set_info setinfo;   /* link-local id, flags, number of bindings */
	struct xs_bind_info *binds;   /* index = bind id, [0] unused (zero) */
	size_t nbinds;		      /* nbindings + 1 */
	struct xs_bind4_entry *bind4; /* sorted */
	size_t nbind4;
	struct xs_bind6_entry *bind6;
	size_t nbind6;
	struct xs_overlay_entry *overlays; /* sorted by number */
	size_t noverlays;
	/* Every file the policy was compiled from, the top-level first, with
	 * its bytes (xs_resolve_sources()); kept in the artefact. */
	struct xs_file *sources;
	size_t nsources;
	uint8_t hash[32]; /* SHA-256 over the entries above, in order */
};

/*
 * The fast path's tables of a set (include/xdpseg.h, "Fast path"), derived
 * from its compiled tables (fast.c): what push writes into the set besides
 * them, and what `verify` derives again from the tables read back to
 * compare with the maps.
 */

/* A pair-wide rule entry as xs_pairs holds it. */
struct xs_pair_entry {
	__u32 key; /* XS_PAIR_KEY(src, dst) */
	struct xs_rule_val val;
};

struct xs_fast {
	struct xs_fast_info info;   /* XS_FASTF_READY, maybe _TRIE4 / _TRIE6; the IPv6 lengths */
	struct xs_dir4_chunk *dir4; /* xs_dir4 chunks 0..ndir4-1 (none with XS_FASTF_TRIE4) */
	size_t ndir4;
	struct xs_lpm6_entry *seg6h; /* xs_seg6h (none with XS_FASTF_TRIE6), the compiler's order */
	size_t nseg6h;
	/* xs_seg6a: XS_SEG6A_GROUPS groups with XS_FASTF_SEG6A, else NULL */
	struct xs_seg6a_group *seg6a;
	struct xs_port_map portmap[XS_PORTMAPS]; /* xs_portmap: TCP, UDP */
	struct xs_pair_row *pairc; /* xs_pairc rows 0..npairc-1: source segments 0..nsegments */
	size_t npairc;
	struct xs_pair_entry *pairs; /* xs_pairs, by key */
	size_t npairs;
	/* xs_paira: XS_PAIRA_GROUPS groups with XS_FASTF_PAIRA, else NULL */
	struct xs_paira_group *paira;
};

/*
 * Derive the fast-path tables of `c` into *out (malloc'd, xs_fast_free()):
 *  - the IPv4 segments as a DIR-16-8-8 table (chunks 0..255 the first level,
 *    then the next levels' in the order made); more than XS_DIR4_CHUNKS
 *    chunks: XS_FASTF_TRIE4 and none;
 *  - c's IPv6 prefixes under their own length, the distinct lengths
 *    descending in info.len6; more than XS_SEG6_LENS: XS_FASTF_TRIE6 and none;
 *  - the class of every (src, dst) pair of segment ids 0..nsegments: NONE
 *    without a rule entry, WIDE with only a pair-wide one (prefixlen 32),
 *    EXACT with single-port ones only (prefixlen 64: xs_rexact holds them
 *    all), TRIE with any other mix;
 *  - the ports the single-port entries name, per protocol (TCP, UDP);
 *  - every pair-wide entry, keyed XS_PAIR_KEY(src, dst).
 * Returns 0, -ENOMEM, or -EINVAL for tables no compiler makes (a prefix
 * length or segment id out of range, two pair-wide entries of one pair).
 */
int xs_fast_build(const struct xs_compiled *c, struct xs_fast **out);
void xs_fast_free(struct xs_fast *f);

/* The segment of an IPv6 address (16 bytes) as the datapath finds it in f's
 * tables (xs_seg6a, then xs_seg6h by length), and xs_seg6a's slot of the
 * prefix (hi: its first 64 bits as loaded, masked; plen <= 64) or NULL. */
uint16_t xs_fast_segment6(const struct xs_fast *f, const uint8_t *addr);

/* The pair-wide entry of `pair` (XS_PAIR_KEY()) in f's xs_paira, or NULL. */
const struct xs_rule_val *xs_fast_paira_find(const struct xs_fast *f, uint32_t pair);
const struct xs_seg6a_slot *xs_fast_seg6a_find(const struct xs_fast *f, uint64_t hi,
					       unsigned int plen);

/* The class of pair (src, dst) in src's row. */
static inline enum xs_pair_class xs_pair_class_of(const struct xs_pair_row *row, uint16_t dst)
{
	return (enum xs_pair_class)((row->w[dst / 32] >> (2 * (dst % 32))) & 3);
}

/* The DIR table's answer for an IPv4 address, walked as the datapath walks
 * it (world when it has no chunks). */
uint16_t xs_fast_segment4(const struct xs_fast *f, const uint8_t *addr);

/* The addresses entry `entry` of chunk `chunk` stands for: *len 16, 24 or
 * 32 bits of addr (4 bytes). -ENOENT: no entry of the table reaches it. */
int xs_fast_dir4_where(const struct xs_fast *f, size_t chunk, unsigned int entry, uint8_t *addr,
		       unsigned int *len);

/*
 * Parse, check and compile `path` (resolved with `resolve`). Returns 0 and
 * sets *out on success (warnings may be in `diags`); returns -EINVAL with at
 * least one error in `diags` on a policy error, or another negative errno.
 */
int xs_policy_compile(const char *path, xs_resolve_fn resolve, void *ctx, struct xs_compiled **out,
		      struct xs_diags *diags);
void xs_compiled_free(struct xs_compiled *c);

/* ---- Overlays, failsafe ports and compile options ------------------------ */

/*
 * A runtime overlay as `xdpseg quarantine` / `grant` made it: one statement
 * of the overlay language (policies/README.md, "Overlays"), compiled with
 * the policy into the set's tables at every push, and re-validated against
 * every new policy (an overlay the new policy cannot hold is an error of
 * that apply, which changes nothing):
 *
 *   quarantine TARGET[, TARGET]...                  forensic access: the policy's
 *                                                   `quarantine forensic` declarations
 *   quarantine TARGET[, TARGET]... strict           nothing in or out
 *   quarantine TARGET[, ...] forensic SEG[, SEG]... [: SERVICES] [forensic ...]...
 *   grant ENDPOINT[, ...] -> ENDPOINT[, ...] : SERVICES
 *
 * TARGET and ENDPOINT: a segment's name, or an address or prefix (a
 * derived segment `PARENT[PREFIX]` of the segment holding it, with its
 * parent's rules and defaults). Diagnostics name it "<quarantine N>" or
 * "<grant N>", line 1.
 */
struct xs_overlay_in {
	uint32_t number;    /* the admin's handle (`release N`, `revoke N`), 1.., stable */
	uint8_t kind;	    /* enum xs_overlay_kind */
	uint8_t flags;	    /* grants: XS_RULEF_DRAIN */
	uint32_t uid;	    /* who made it */
	uint64_t created;   /* unix seconds */
	uint64_t expires;   /* grants: unix seconds */
	const char *text;   /* the statement */
	const char *reason; /* --reason, "" none */
};

/* The overlay a record of xs_overlays (or an artefact) describes; its
 * strings are the record's. */
static inline struct xs_overlay_in xs_overlay_in_of(const struct xs_overlay *r)
{
	return (struct xs_overlay_in){
		.number = r->number,
		.kind = r->kind,
		.flags = r->flags,
		.uid = r->uid,
		.created = r->created,
		.expires = r->expires,
		.text = r->text,
		.reason = r->reason,
	};
}

/* A failsafe port of the configuration (`failsafe = ADDR[/LEN][, ...] :
 * SERVICES`): from anywhere to those addresses and services, no rule,
 * default or grant drops; only a quarantine outranks it. */
struct xs_failsafe_in {
	const char *text; /* the value after `failsafe =` */
	const char *file; /* the configuration file and line, for diagnostics */
	int line;
};

struct xs_compile_opts {
	const struct xs_overlay_in *overlays;
	size_t noverlays;
	const struct xs_failsafe_in *failsafe;
	size_t nfailsafe;
	uint64_t now;	    /* unix seconds: grants that expired by then are left out (a note) */
	int64_t tai_offset; /* CLOCK_TAI - CLOCK_REALTIME, seconds: a grant's kernel deadline
			     * is its `expires` + tai_offset */
};

/* An overlay as compiled: its record for xs_overlays, key (set, rule_id). */
struct xs_overlay_entry {
	uint32_t rule_id; /* its origin in the tables (kind XS_ORIGIN_QUARANTINE / _GRANT) */
	struct xs_overlay rec;
};

/* xs_policy_compile() with overlays and failsafe ports (o may be NULL: none). */
int xs_policy_compile_opts(const char *path, xs_resolve_fn resolve, void *ctx,
			   const struct xs_compile_opts *o, struct xs_compiled **out,
			   struct xs_diags *diags);

/*
 * A resolver over the sources a compiled policy was made from
 * (c->sources, kept in the artefact): recompiling a running policy with
 * new overlays uses the bytes in force, not the files as edited since.
 * ctx: the struct xs_compiled.
 */
int xs_resolve_sources(void *ctx, const char *from, const char *name, size_t limit,
		       struct xs_file *out);

/*
 * The compiled artefact: everything `apply` pushes (the map entries, the
 * rule origins, segment names, bindings) and the file it was compiled
 * from, in one self-checking byte string (format: policies/README.md,
 * "The compiled artefact"). It is what the state directory keeps as the
 * last good policy, and what a fleet will distribute: a host loads it
 * without the policy's text and without compiling.
 *
 * xs_compiled_serialize(): a malloc'd buffer in *buf, *len bytes; 0 or
 * -ENOMEM. xs_compiled_deserialize(): 0 and *out (c->policy carries what
 * push and printing need: origins, segments with names, bindings,
 * linklocal_seg) and *file (malloc'd); or -EINVAL with the reason in `err`
 * (not an artefact, another format version, truncated, inconsistent, or
 * the tables do not match the hash it carries).
 */
int xs_compiled_serialize(const struct xs_compiled *c, const char *file, void **buf, size_t *len);
int xs_compiled_deserialize(const void *buf, size_t len, struct xs_compiled **out, char **file,
			    char *err, size_t errlen);

/* Compiled form as text / JSON (what `xdpseg compile` prints). */
void xs_compiled_print(FILE *out, const struct xs_compiled *c);
void xs_compiled_print_json(FILE *out, const struct xs_compiled *c);

/* ---- Reference evaluator ------------------------------------------------- */

/*
 * Decides a new flow straight from the source form, by the semantics in
 * policies/README.md (longest-prefix segment; quarantine > failsafe >
 * grant > deny > allow > defaults > monitor, "Precedence"). Independent of
 * the compiled tables: tests compare it with the datapath. Among several
 * matching rules of the winning action, the lowest rule id (first in
 * source order) is reported; among grants, the one that ends last.
 */
struct xs_flow {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;
	uint16_t dport; /* host order; ICMP: the type */
	uint8_t saddr[16];
	uint8_t daddr[16];
	/* The segment of the bound port the source / destination is behind (0:
	 * none): a link-local address there is classified by the port's segment. */
	uint16_t src_port_seg, dst_port_seg;
	uint64_t now; /* CLOCK_TAI seconds: a grant allows while now < its end */
};

/* struct xs_decision: include/xdpseg_decide.h (the datapath's own). */

void xs_policy_evaluate(const struct xs_policy *p, const struct xs_flow *f, struct xs_decision *d);

/* The first binding (lowest id) whose pattern matches interface `ifname`, or NULL. */
const struct xs_binding *xs_policy_binding_for(const struct xs_policy *p, const char *ifname);

/*
 * May a port bound by binding `b` send from `addr`? True when the address is
 * in the binding's addresses, or its segment (longest prefix) is the built-in
 * `link-local`. (The unspecified address is the datapath's business: only
 * DHCPv4, DAD and MLD may use it.)
 */
bool xs_policy_bind_allows(const struct xs_policy *p, const struct xs_binding *b, uint8_t family,
			   const uint8_t *addr);

/* Segments the policy declares (nsegments less the built-in link-local). */
static inline size_t xs_policy_declared_segments(const struct xs_policy *p)
{
	return p->nsegments - (p->linklocal_seg ? 1 : 0);
}

/* Rule statements (ids 1..n); p->nrules counts their entries, one per pair. */
static inline size_t xs_policy_rule_statements(const struct xs_policy *p)
{
	return p->nrules ? p->rules[p->nrules - 1].id : 0;
}

/* Segment of an address by longest prefix (XS_SEG_WORLD if none). */
uint16_t xs_policy_segment_of(const struct xs_policy *p, uint8_t family, const uint8_t *addr);

/* Name of a segment id ("world" for 0). */
const char *xs_policy_segment_name(const struct xs_policy *p, uint16_t id);

/* ---- Misc ----------------------------------------------------------------- */

const char *xs_reason_name(enum xs_reason r);	/* "rule", "deny-rule", "default-in", ... */
const char *xs_verdict_name(enum xs_verdict v); /* "allow", "drop", "audit" */
const char *xs_proto_name(uint8_t proto);	/* "tcp", "udp", "icmp", "icmpv6", "any", or NULL */

void xs_sha256(const void *data, size_t len, uint8_t out[32]);

/* ==== A rule's identity across applies (identity.c) ========================
 *
 * The per-rule counters follow a rule from one policy to the next by its
 * identity: its kind and its normalised text, never its file, line or
 * position (xdpseg(8), METRICS). The normalised text is the statement's
 * tokens as the lexer reads them, one space apart, a comma right after the
 * item it ends: `allow a,b->c:tcp/80 # x` and `allow a, b -> c : tcp/80`
 * are one rule. xs_origins holds it (what stats, show and watch print): a
 * text longer than a record (XS_ORIGIN_TEXT_LEN bytes) keeps its head and
 * ends in " ... #" and the first 16 hex digits of the SHA-256 of the whole
 * normalised text, so two long rules that differ past the cut never share
 * an identity.
 */

/* The normalised text of an origin of kind `kind` (malloc'd; NULL: out of
 * memory). A text the lexer would not read (an implicit default's
 * generated one) is its own normal form. */
char *xs_origin_normalise(enum xs_origin_kind kind, const char *text);

/* The text xs_origins holds for it: normalised, fitted into `out`
 * (NUL-terminated). Returns 0 or -ENOMEM. */
int xs_origin_text(enum xs_origin_kind kind, const char *text, char out[XS_ORIGIN_TEXT_LEN]);

/* ==== Lookups over the compiled tables (lookup.c) ==========================
 *
 * `verify`, `diff` and `apply --dry-run` decide flows from compiled tables,
 * a file's or the running policy's as read back from the kernel
 * (user/ctl/readback.h), never from the source form: as the datapath does
 * (bpf/lib/policy.h): each address's longest segment prefix (an address in
 * the built-in link-local behind a bound port takes the port's segment),
 * the rule table's longest match for (src, dst, protocol, port) (the
 * single-port entry first, then the longest prefix, as the kernel's trie),
 * then xs_decide_entry(), the datapath's own code. Every lookup needs the
 * tables in the compiler's order: compiled ones are; read-back ones go
 * through xs_compiled_sort() first.
 */

/* Put c's tables in the compiler's order, the bits past each prefix cleared
 * (tables read from maps come in hash order): v4, v6, rules, bind4, bind6,
 * overlays (by number). */
void xs_compiled_sort(struct xs_compiled *c);

/* The content hash of c's tables, as the compiler computes c->hash. */
int xs_compiled_rehash(const struct xs_compiled *c, uint8_t out[32]);

/* c's tables ready for lookups: the prefix lengths each holds, longest first
 * (a lookup tries only those). Points at c, which must outlive it. */
struct xs_tables {
	const struct xs_compiled *c;
	uint8_t len4[33], len6[129], lenr[65], lenb4[33], lenb6[129];
	uint8_t n4, n6, nr, nb4, nb6;
};

void xs_tables_init(struct xs_tables *t, const struct xs_compiled *c);

/* What a segment trie answers for an address. */
struct xs_seg_match {
	uint16_t seg;	    /* XS_SEG_WORLD when no prefix holds the address */
	uint8_t family;	    /* 4 or 6 */
	int16_t len;	    /* the matching prefix's length; -1: none (world) */
	uint8_t prefix[16]; /* the matching prefix, host bits clear */
};

void xs_tables_segment(const struct xs_tables *t, uint8_t family, const uint8_t *addr,
		       struct xs_seg_match *m);

/* The rule table's longest match for (src, dst, proto, port), port in host
 * order (ICMP: the type), or NULL. */
const struct xs_rule_entry *xs_tables_rule(const struct xs_tables *t, uint16_t src, uint16_t dst,
					   uint8_t proto, uint16_t port);

/* The bind id of an interface named `ifname` (the first `bind` whose pattern
 * matches, as apply binds it), 0 for none. */
uint32_t xs_tables_bind_for(const struct xs_compiled *c, const char *ifname);

/* May the port bound by `bind` send from addr (as the datapath asks:
 * one of its addresses, or link-local)? */
bool xs_tables_bind_allows(const struct xs_tables *t, uint32_t bind, uint8_t family,
			   const uint8_t *addr);

/* A flow decided, and what decided it. */
struct xs_lookup {
	struct xs_decision d;		   /* as the datapath reports it (segments included) */
	struct xs_seg_match src, dst;	   /* the tries' answers, before the ports' */
	bool src_by_port, dst_by_port;	   /* link-local, classified by the bound port */
	const struct xs_rule_entry *entry; /* the rule table's match (NULL: none) */
};

/*
 * Decide the new flow `f` (f->src_port_seg / dst_port_seg: the segment of
 * the bound port its source / destination is behind, as the datapath
 * classifies it) at CLOCK_TAI second now_tai (grants compare it).
 */
void xs_tables_decide(const struct xs_tables *t, const struct xs_flow *f, uint64_t now_tai,
		      struct xs_lookup *r);

/* The origin of rule id `rule_id` (NULL: none), the overlay record whose
 * origin it is (NULL: none), a segment's name (NULL: unknown id). */
const struct xs_origin_entry *xs_compiled_origin(const struct xs_compiled *c, uint32_t rule_id);
const struct xs_overlay_entry *xs_compiled_overlay(const struct xs_compiled *c, uint32_t rule_id);
const char *xs_compiled_segment_name(const struct xs_compiled *c, uint16_t seg);

/* "FILE:LINE: TEXT" of rule id `id` (file and text escaped as
 * xs_print_escaped() does), "#ID" when it has no origin. */
void xs_origin_print(FILE *out, const struct xs_compiled *c, uint32_t id);

/* Print a file name or policy text as diagnostics do: control bytes, invalid
 * UTF-8 and bidi controls as \xNN (they are untrusted). */
void xs_print_escaped(FILE *out, const char *s);

/* ==== The semantic difference of two policies (semdiff.c) ===================
 *
 * What `xdpseg diff` and `apply --dry-run` report: segments compared by
 * name; for every pair of segments both policies have, the decisions that
 * change (the verdict), per protocol class and maximal port run, with the
 * rule that decides on each side; segments added, removed, or whose
 * prefixes, defaults, mode or quarantine change. Decided from the compiled
 * tables by the lookups above (grants at each side's CLOCK_TAI `now`).
 */

enum xs_semdiff_class {
	XS_SEMDIFF_PROTO = 0, /* one protocol, ports (ICMP: types) lo..hi */
	XS_SEMDIFF_ANY = 1,   /* every protocol and port alike */
	XS_SEMDIFF_OTHER = 2, /* every protocol but tcp, udp, icmp, icmpv6 and those
			       * the tables name for the pair */
};

/* One side's decision. */
struct xs_semdiff_side {
	uint8_t verdict;  /* enum xs_verdict */
	uint8_t reason;	  /* enum xs_reason */
	uint32_t rule_id; /* its origin in that policy (xs_compiled_origin()) */
};

struct xs_semdiff_change {
	const char *src, *dst;		     /* segment names (the first policy's strings) */
	uint16_t src_a, dst_a, src_b, dst_b; /* their ids in each policy */
	int cls;			     /* enum xs_semdiff_class */
	uint8_t proto;			     /* XS_SEMDIFF_PROTO: the protocol */
	uint16_t lo, hi;		     /* ports or ICMP types, inclusive */
	struct xs_semdiff_side a, b;
};

/* A segment added (only in b), removed (only in a) or changed. */
struct xs_semdiff_seg {
	const char *name; /* the policies' string */
	bool in_a, in_b;
	uint16_t id_a, id_b;
	struct xs_prefix *added, *removed; /* prefixes b has and a lacks, and back */
	size_t nadded, nremoved;
	struct xs_seg_info info_a, info_b; /* defaults, mode, quarantine on each side */
};

struct xs_semdiff {
	struct xs_semdiff_seg *segs; /* a's order, then b's new ones */
	size_t nsegs;
	struct xs_semdiff_change *changes; /* by source, destination (a's order), class, port */
	size_t nchanges;
	size_t pairs; /* segment pairs compared */
};

/* The difference from a to b (both must outlive *out: names point into
 * them). Returns 0 or -ENOMEM. */
int xs_semdiff(const struct xs_compiled *a, uint64_t now_a, const struct xs_compiled *b,
	       uint64_t now_b, struct xs_semdiff *out);
void xs_semdiff_free(struct xs_semdiff *d);

#endif /* XS_POLICY_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Helpers shared by the policy compiler's files; not part of the API.
 *
 *   resolve_fs.c  the file-system resolver (the only I/O)
 *   lex.c         a file's bytes into lines (checked), lines into tokens
 *   values.c      port specs, protocols, prefixes
 *   parse.c       statements, includes: the first pass; the entry point
 *   names.c       segment and service names: lookups, suggestions
 *   resolve.c     the second pass: services, segments (and the built-in
 *                 link-local), rules, defaults, origins
 *   bind.c        bind statements: their checks and their compiled entries
 *   prefixes.c    every segment prefix, indexed (containers, contents)
 *   lint.c        warnings: shadowed and repeated allows, unused names
 *   overlay.c     `quarantine forensic` declarations; overlays and failsafe
 *                 ports: their statements, derived segments, origins, records
 *   derive.c      derived segments: what each overlay reaches
 *   compile.c     the map entries and their hash; print.c as text and JSON
 *   fast.c        the fast path's tables derived from the map entries
 *   sources.c     the files a policy was compiled from, and a resolver over them
 *   artefact_write.c  the compiled form as bytes (artefact.h: the format)
 *   artefact_read.c   ... and back, untrusted on the way in
 *   artefact_check.c  ... whose tables are checked against each other
 *   artefact_rd.c     the reasons and checks reading and checking share
 *   eval.c        the reference evaluator, binding_for, bind_allows
 *   diag.c        diagnostics: collection, sorting, escaped printing
 *   state.c       the parser's bookkeeping every pass shares: arrays, where
 *                 it is, diagnostics at a place, a new segment
 *   map.c         the name -> int map every lookup uses
 */
#ifndef XS_POLICY_INTERNAL_H
#define XS_POLICY_INTERNAL_H

#include "policy.h"

#define MAX_INCLUDE_DEPTH 64
#define MAX_TOKENS 4096
/* Port specs all services and rules may expand to, together: a bound on
 * memory for services that name each other many times over. */
#define XS_MAX_FLAT_SPECS (1 << 22)

/*
 * Add a diagnostic; `line_text` is copied (may be NULL). The part of the
 * message between two XS_HINT markers in `fmt` (or after one, to the end)
 * is also its hint (struct xs_diag): "unknown segment '%s'; " XS_HINT "did
 * you mean '%s'?". The markers are not in the message.
 */
#define XS_HINT "\x1f"
void xs_diag_add(struct xs_diags *d, enum xs_severity sev, const char *file, int line, int col,
		 const char *line_text, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void xs_diag_addv(struct xs_diags *d, enum xs_severity sev, const char *file, int line, int col,
		  const char *line_text, const char *fmt, va_list ap)
	__attribute__((format(printf, 7, 0)));

/* Order diagnostics [from, n) by file (index in files[], in reading order),
 * line, column; stable, so messages at one place keep their order. */
void xs_diags_sort(struct xs_diags *d, size_t from, char *const *files, size_t nfiles);

/* Print s with C0/C1 controls but TAB, DEL, invalid UTF-8 and bidi controls
 * as \xNN per byte (policy text and file names are untrusted). */
void xs_put_escaped(FILE *out, const char *s);

/* Parse and check `path` into the source form. Returns 0, or -EINVAL with
 * errors in `diags`, or another negative errno. */
int xs_policy_parse(const char *path, xs_resolve_fn resolve, void *ctx, struct xs_policy **out,
		    struct xs_diags *diags);
void xs_policy_free(struct xs_policy *p);

/* Levenshtein distance, capped work: strings of at most 64 bytes. */
int xs_edit_distance(const char *a, const char *b);

/* Minimal set of aligned blocks covering [lo, hi] (inclusive, 16-bit).
 * Calls fn(ctx, start, bits) for each, with bits = prefix bits (0..16);
 * returns the number of blocks. */
size_t xs_port_split(uint32_t lo, uint32_t hi, void (*fn)(void *ctx, uint16_t start, int bits),
		     void *ctx);

/* ---- The parser's state ---------------------------------------------------- */

/* Name -> index map (names.c): open addressing; the names are not owned. */
struct xs_name_slot {
	const char *name;
	uint32_t hash;
	long val;
};

struct xs_name_map {
	struct xs_name_slot *v;
	size_t n, cap;
};

enum tok_type { T_WORD, T_STR, T_COMMA, T_ARROW, T_COLON };

struct tok {
	enum tok_type type;
	const char *s;
	int len;
	int col;
};

struct srcfile {
	const char *path; /* owned by the policy's files[] */
	char *id;	  /* the resolver's identity of the file (or its path) */
	char *text;	  /* the file, lines NUL-terminated in place */
	size_t len;
	char **lines; /* lines[i] = line i+1, comments kept; NULL: not parsed */
	size_t nlines;
};

/* A service reference or an inline spec, in a service or rule. */
struct item {
	bool is_spec;
	struct xs_portspec spec;
	char *name;
	struct xs_src_loc loc;
};

struct svc {
	char *name;
	struct xs_src_loc loc;
	struct item *items;
	size_t nitems, capitems;
	int state; /* 0 new, 1 resolving, 2 done */
	bool broken, used, top;
	struct xs_portspec *flat;
	size_t nflat, capflat;
};

/* An endpoint of a rule as written: a name and where. */
struct rend {
	char *name;
	struct xs_src_loc loc;
};

/* A rule statement: `allow|deny SRC[, SRC]... -> DST[, DST]... [: ITEMS]`. */
struct rrule {
	uint8_t action;
	struct rend *src, *dst; /* at least one each */
	size_t nsrc, ndst;
	struct xs_src_loc loc;
	bool has_ports;
	struct item *items;
	size_t nitems, capitems;
	bool broken;
	char *text;
};

struct rdef {
	char *seg;
	struct xs_src_loc loc, seg_loc;
	uint8_t in, out; /* 0 = not set here */
	char *text;
	uint32_t id;
};

struct rmode {
	char *seg;
	struct xs_src_loc loc, seg_loc;
	bool monitor;
};

struct rbind {
	char *seg, *pattern;
	struct xs_src_loc loc, seg_loc, pattern_loc;
	struct xs_prefix *prefixes;
	size_t nprefixes;
	bool broken; /* an error in the statement: no cascade */
	char *text;
};

/* `quarantine forensic SEG, ... [: ITEM, ...]`: a policy's forensic tools. */
struct rfseg {
	char *name;
	struct xs_src_loc loc;
};

struct rforensic {
	struct rfseg *segs;
	size_t nsegs, capsegs;
	struct item *items;
	size_t nitems, capitems;
	bool has_ports, broken;
	struct xs_src_loc loc;
	char *text;
	size_t rule; /* index in policy->overlay_rules, once resolved */
};

struct segx {
	bool used;
	bool in_set, out_set, mode_set;
	struct xs_src_loc in_loc, out_loc, mode_loc;
	/* `segment NAME PREFIX... inside SEG[, SEG]...`: the segments it is
	 * declared to nest in (resolve.c checks them, lint.c trusts them) */
	struct rend *inside;
	size_t ninside;
};

struct parser {
	struct xs_policy *pol;
	struct xs_diags *diags;
	xs_resolve_fn resolve;
	void *ctx;
	struct srcfile *files;
	size_t nfiles, capfiles, cappaths;
	struct xs_name_map file_ids, file_paths; /* -> index in files[] */
	size_t bytes;				 /* read so far, all files */
	size_t stack[MAX_INCLUDE_DEPTH];	 /* the files being read: indexes in files[] */
	int depth;
	struct svc *svcs;
	size_t nsvcs, capsvcs;
	size_t capsegs;
	struct segx *segx;
	struct rrule *rules;
	size_t nrules, caprules;
	struct rdef *defs;
	size_t ndefs, capdefs;
	struct rmode *modes;
	size_t nmodes, capmodes;
	struct rbind *binds;
	size_t nbinds, capbinds;
	const char *top;
	bool nomem;
	/* Names of segments/services whose declaration had an error: uses of
	 * them are not reported again (no cascades). */
	char **poison;
	size_t npoison, cappoison;
	struct xs_name_map poison_seg, poison_svc;
	/* Second pass: name -> index of the first declaration, and the names
	 * as suggestion candidates (segments: then "any", "world"). */
	struct xs_name_map seg_map, svc_map;
	const char **seg_names, **svc_names;
	size_t suggest_budget;
	size_t nflat_specs; /* port specs in services and rules so far */
	/* Includes that could not be read: names used but declared nowhere
	 * are not reported (they may be declared there), only counted. */
	size_t failed_includes, unreported;
	struct xs_src_loc failed_loc; /* the first failed include statement */
	char *failed_name;	      /* ... and the name it gave */
	/* the line being parsed, its tokens */
	const struct srcfile *cur;
	int lineno;
	struct tok *toks; /* MAX_TOKENS */
	/* `quarantine forensic` declarations (overlay.c) */
	struct rforensic *fors;
	size_t nfors, capfors;
};

/* ---- map.c ----------------------------------------------------------------- */

/* Value of `name`, or -1. */
long xs_map_get(const struct xs_name_map *m, const char *name);
/* Insert name -> val unless present: returns -1 when inserted, the value
 * already there, or -ENOMEM. */
long xs_map_put(struct xs_name_map *m, const char *name, long val);
void xs_map_free(struct xs_name_map *m);

/* ---- state.c: the parser's bookkeeping, below every pass ---------------------- */

/* Grow *arr (element size sz) to hold one more element; return it zeroed or NULL. */
void *xs_push(void *arr_p, size_t *n, size_t *cap, size_t sz);

/* Source line `line` of `file` (a path owned by the policy), or NULL. */
const char *xs_line_text(struct parser *P, const char *file, int line);

void xs_diag_at(struct parser *P, enum xs_severity sev, struct xs_src_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define err_at(P, loc, ...) xs_diag_at(P, XS_SEV_ERROR, loc, __VA_ARGS__)
#define warn_at(P, loc, ...) xs_diag_at(P, XS_SEV_WARNING, loc, __VA_ARGS__)

/* A new segment (id = count, `in deny out allow`) and its segx; NULL when
 * out of memory. */
struct xs_segment *xs_new_segment(struct parser *P);

/* Column `col` of the line being parsed. */
struct xs_src_loc xs_here(struct parser *P, int col);

/* ---- lex.c ----------------------------------------------------------------- */

char *xs_tokdup(const struct tok *t);
bool xs_tok_is(const struct tok *t, const char *w);

/*
 * Split one line (comment already cut) into tokens. Returns the count, or -1
 * after reporting an error. In rule statements ':' separates; elsewhere it is
 * part of a word (IPv6 addresses). Token number glob_tok (-1: none) may hold
 * the glob characters * ? [ ] ! (a bind statement's interface pattern).
 */
int xs_lex(struct parser *P, const char *line, bool colon_word, int glob_tok, struct tok *toks);

/* Whitespace-folded copy of the line without its comment. */
char *xs_fold(const char *line);
/* A character of a word token (the lexer's rule): `colon_word`, ':' too;
 * `glob`, the glob characters "*?[]!" too. */
bool xs_word_char(char c, bool colon_word, bool glob);

/*
 * Split f->text (f->len bytes) into lines in place, checking every byte: a
 * NUL, a control character but TAB (and CR before LF), DEL, or a byte >=
 * 0x80 outside a comment or a "string" is an error at its line and column,
 * and the line is not parsed (NULL); a file with many of them is not parsed
 * at all. Returns 0 or -ENOMEM.
 */
int xs_read_lines(struct parser *P, struct srcfile *f);

/* ---- values.c -------------------------------------------------------------- */

/* IPPROTO_* of a protocol name, or -1. */
int xs_proto_of(const char *s, int len);
bool xs_is_proto_name(const char *s, int len);

/*
 * A word that is a protocol spec: PROTO, PROTO/N or PROTO/LO-HI. Returns 1
 * and fills *ps, 0 if the word is not a spec (a service name), -1 after an
 * error.
 */
int xs_parse_spec(struct parser *P, const struct tok *t, struct xs_portspec *ps);

/*
 * A comma-separated list of service names and specs from toks[i..n).
 * Errors are reported per item; returns false if any item was bad.
 */
bool xs_parse_items(struct parser *P, struct tok *toks, int i, int n, struct item **items,
		    size_t *nitems, size_t *cap, const char *what);

void xs_format_prefix(char *buf, size_t size, const struct xs_prefix *p);

/* Returns false after reporting a bad prefix. */
bool xs_parse_prefix(struct parser *P, const struct tok *t, struct xs_prefix *px);

/* ---- names.c --------------------------------------------------------------- */

/* Remember a name whose declaration failed; kind 's' segment, 'v' service. */
void xs_poison(struct parser *P, char kind, const struct tok *t);
bool xs_poisoned(const struct parser *P, char kind, const char *name);

/* A segment or service name: a letter or '_', then letters, digits, _ - . */
bool xs_valid_name(const struct tok *t);

/* Closest candidate by edit distance, or NULL when none is close. The
 * _budget variant spends at most *budget distance cells (then NULL). */
const char *xs_closest(const char *word, const char *const *cands, size_t n);
const char *xs_closest_budget(const char *word, const char *const *cands, size_t n, size_t *budget);

/* After the first pass: index segment and service names (first declaration
 * wins). Returns 0 or -ENOMEM. */
int xs_index_names(struct parser *P);
struct svc *xs_find_svc(struct parser *P, const char *name);
int xs_find_seg(struct parser *P, const char *name);

/* Report an unknown service (with a suggestion), unless poisoned. */
void xs_unknown_svc(struct parser *P, const struct item *it);

/* Resolve a segment name in a rule/default/mode; -2 after an error. */
long xs_resolve_seg(struct parser *P, const char *name, struct xs_src_loc loc, bool endpoint);

/* After the second pass: the one note on the names not reported because an
 * include failed (nothing when none was left unreported). */
void xs_note_unreported(struct parser *P);

/* ---- resolve.c: the second pass -------------------------------------------- */

#define XS_LINKLOCAL "link-local"

/* After the first pass: the built-in segment `link-local` (fe80::/10,
 * 169.254.0.0/16, `in deny out allow`), after the declared ones. */
void xs_add_linklocal(struct parser *P);

void xs_check_services(struct parser *P);
void xs_check_segments(struct parser *P);
/* After xs_check_segments(): each `inside` of a segment names a segment one
 * of its prefixes is in. */
void xs_check_inside(struct parser *P);
void xs_check_rules(struct parser *P);
void xs_check_defaults(struct parser *P);
/* bind statements into policy->bindings (ids 1.. in source order) */
void xs_check_binds(struct parser *P);
void xs_build_origins(struct parser *P);

/* ---- overlay.c: forensic declarations, overlays, failsafe ports --------------- */

/* `quarantine ...` in a policy file (tokens as for a rule, ':' separates). */
void xs_stmt_quarantine(struct parser *P, struct tok *t, int n, const char *line);
/* After the services: the declarations' segments and services. */
void xs_check_forensic(struct parser *P);
/* After the origins: the declarations' origins (kind forensic), after the binds'. */
void xs_forensic_origins(struct parser *P);
void xs_forensic_free(struct parser *P);

/*
 * After the origins of a policy without errors: the overlays and failsafe
 * ports of `o` into the policy (derived segments, overlay rules, origins),
 * their records into *ov (sorted by number). Errors name the overlay.
 */
void xs_parse_overlays(struct parser *P, const struct xs_compile_opts *o,
		       struct xs_overlay_entry **ov, size_t *nov);

/* xs_policy_parse() with overlays (o NULL: none); *ov, *nov their records. */
int xs_policy_parse_opts(const char *path, xs_resolve_fn resolve, void *ctx,
			 const struct xs_compile_opts *o, struct xs_policy **out,
			 struct xs_overlay_entry **ov, size_t *nov, struct xs_diags *diags);

/* ---- derive.c: derived segments and what overlays reach ----------------------- */

/* The declared segment (or world) a segment's rules are those of. */
uint16_t xs_seg_root(const struct xs_policy *p, uint16_t seg);
/* Is seg `x` or a derived segment inside it? */
bool xs_seg_within(const struct xs_policy *p, uint16_t seg, uint16_t x);
/* Is seg within one of v[0..n)? */
bool xs_seg_within_any(const struct xs_policy *p, uint16_t seg, const uint16_t *v, size_t n);

/*
 * The quarantine of each segment 0..nsegments: quar[s] the lowest rule id
 * of the quarantines it is within (0: none), strict[s] whether one of them
 * is strict. Arrays of nsegments + 1.
 */
void xs_quarantine_state(const struct xs_policy *p, uint32_t *quar, bool *strict);

/* ---- sources.c: the bytes a policy was compiled from --------------------------- */

/* A resolver that records what `fn` reads (each path once, in reading order). */
struct xs_recorder {
	xs_resolve_fn fn;
	void *ctx;
	struct xs_file *v;
	size_t n, cap;
	bool nomem;
};

int xs_record_resolve(void *ctx, const char *from, const char *name, size_t limit,
		      struct xs_file *out);
void xs_files_free(struct xs_file *v, size_t n);

/* ---- compile.c ------------------------------------------------------------- */

/* The content hash of c's tables (policies/README.md, "Compiled form"), as
 * the compiler sets c->hash. Returns 0 or -ENOMEM. */
int xs_compiled_hash(const struct xs_compiled *c, uint8_t out[32]);

/* ---- bind.c: the compiled bind entries ----------------------------------------- */

/* setinfo, binds, bind4, bind6 of c. Returns 0 or -ENOMEM. */
int xs_compile_binds(const struct xs_policy *p, struct xs_compiled *c);

/* ---- prefixes.c: every segment prefix, indexed ------------------------------ */

struct xs_pfx_ref {
	const struct xs_prefix *p;
	uint16_t seg;
};

struct xs_pfx_index {
	struct xs_pfx_ref *v; /* by family, address, length (then segment) */
	size_t n;
};

/* Does `outer` contain `inner` (same family, outer no longer)? */
bool xs_prefix_contains(const struct xs_prefix *outer, const struct xs_prefix *inner);

/* Every prefix of the segments but the derived ones. */
int xs_pfx_index_build(struct xs_pfx_index *ix, const struct xs_policy *p);
void xs_pfx_index_free(struct xs_pfx_index *ix);

/* The declared prefixes that contain px (px itself too), longest first: at
 * most max into out[]. Returns how many. */
size_t xs_pfx_containers(const struct xs_pfx_index *ix, const struct xs_prefix *px,
			 const struct xs_pfx_ref **out, size_t max);

/* fn(ctx, r) for each declared prefix strictly inside px (longer), in
 * address order, until fn returns false (then false). */
bool xs_pfx_inside(const struct xs_pfx_index *ix, const struct xs_prefix *px,
		   bool (*fn)(void *ctx, const struct xs_pfx_ref *r), void *ctx);

/* ---- lint.c ---------------------------------------------------------------- */

/* Per rule entry: the rule id of the deny that shadows it, or else of the
 * earlier allow it repeats; and of the lowest deny that meets a piece of it
 * (shadowed or not). 0: none; only allow rules get any. */
struct xs_lint_hit {
	uint32_t shadowed_by, repeats, meets;
};

/* Fill hits[0..p->nrules). Returns 0 or -ENOMEM. */
int xs_lint_rules(const struct xs_policy *p, struct xs_lint_hit *hits);

/* Warnings of a policy without errors: shadowed, partly shadowed and
 * repeated allows, unused names, nested prefixes nothing says are meant. */
void xs_lint(struct parser *P);

/* fn(ctx, r, outer, n) for each prefix r of the index, in its order, with
 * its containers outer[0..n) (the farthest first, the nearest last; r
 * itself not). Returns 0 or -ENOMEM. */
int xs_pfx_nesting(const struct xs_pfx_index *ix,
		   void (*fn)(void *ctx, const struct xs_pfx_ref *r,
			      const struct xs_pfx_ref *const *outer, size_t nouter),
		   void *ctx);

/* The orders of the compiled tables (qsort comparators), one definition for
 * the compiler and for tables read back (lookup.c), so both hash alike:
 * segment tries by address then length (compile.c), bound addresses by
 * bind id, address, length (bind.c). */
int xs_lpm4_cmp(const void *a, const void *b);
int xs_lpm6_cmp(const void *a, const void *b);
int xs_bind4_cmp(const void *a, const void *b);
int xs_bind6_cmp(const void *a, const void *b);

#endif /* XS_POLICY_INTERNAL_H */

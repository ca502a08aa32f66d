// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy parser and checker: text (through the resolver) in, the source
 * form (struct xs_policy) or diagnostics out. Two passes: the first reads
 * every statement of every file (includes resolved in place), the second
 * resolves names, so declarations may follow their use.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_INCLUDE_DEPTH 64
#define MAX_TOKENS 4096

/* Grow *arr (element size sz) to hold one more element; return it zeroed or NULL. */
static void *push(void *arr_p, size_t *n, size_t *cap, size_t sz)
{
	void **arr = arr_p;
	char *v = *arr;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;

		v = realloc(*arr, nc * sz);
		if (!v)
			return NULL;
		*arr = v;
		*cap = nc;
	}
	memset(v + *n * sz, 0, sz);
	return v + (*n)++ * sz;
}

/* ---- Tokens ---------------------------------------------------------------- */

enum tok_type { T_WORD, T_STR, T_COMMA, T_ARROW, T_COLON };

struct tok {
	enum tok_type type;
	const char *s;
	int len;
	int col;
};

struct srcfile {
	const char *path; /* owned by the policy's files[] */
	char *text;	  /* the file, lines NUL-terminated in place */
	char **lines;	  /* lines[i] = line i+1, comments kept */
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

struct rrule {
	uint8_t action;
	char *src, *dst;
	struct xs_src_loc loc, src_loc, dst_loc;
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

struct segx {
	bool used;
	bool in_set, out_set, mode_set;
	struct xs_src_loc in_loc, out_loc, mode_loc;
};

struct parser {
	struct xs_policy *pol;
	struct xs_diags *diags;
	xs_resolve_fn resolve;
	void *ctx;
	struct srcfile *files;
	size_t nfiles, capfiles;
	const char *stack[MAX_INCLUDE_DEPTH];
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
	const char *top;
	bool nomem;
	/* Names of segments/services whose declaration had an error: uses of
	 * them are not reported again (no cascades). */
	char **poison;
	size_t npoison, cappoison;
	/* the line being parsed */
	const struct srcfile *cur;
	int lineno;
};

static const char *line_text(struct parser *P, const char *file, int line)
{
	for (size_t i = 0; i < P->nfiles; i++)
		if (P->files[i].path == file && line >= 1 && (size_t)line <= P->files[i].nlines)
			return P->files[i].lines[line - 1];
	return NULL;
}

static void diag_at(struct parser *P, enum xs_severity sev, struct xs_src_loc loc, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

static void diag_at(struct parser *P, enum xs_severity sev, struct xs_src_loc loc, const char *fmt,
		    ...)
{
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	xs_diag_add(P->diags, sev, loc.file, loc.line, loc.col, line_text(P, loc.file, loc.line),
		    "%s", msg ? msg : "out of memory");
	free(msg);
}

#define err_at(P, loc, ...) diag_at(P, XS_SEV_ERROR, loc, __VA_ARGS__)
#define warn_at(P, loc, ...) diag_at(P, XS_SEV_WARNING, loc, __VA_ARGS__)

static struct xs_src_loc here(struct parser *P, int col)
{
	struct xs_src_loc l = { .file = P->cur->path, .line = P->lineno, .col = col };

	return l;
}

static char *tokdup(const struct tok *t)
{
	return strndup(t->s, t->len);
}

static bool tok_is(const struct tok *t, const char *w)
{
	return t->type == T_WORD && (int)strlen(w) == t->len && !strncmp(t->s, w, t->len);
}

static bool is_word_char(char c, bool colon_word)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == '/' ||
	       (colon_word && c == ':');
}

/*
 * Split one line (comment already cut) into tokens. Returns the count, or -1
 * after reporting an error. In rule statements ':' separates; elsewhere it is
 * part of a word (IPv6 addresses).
 */
static int lex(struct parser *P, const char *line, bool colon_word, struct tok *toks)
{
	int n = 0;

	for (const char *p = line; *p;) {
		struct tok *t = &toks[n];
		int col = (int)(p - line) + 1;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (n == MAX_TOKENS) {
			err_at(P, here(P, col), "statement too long (at most %d tokens)",
			       MAX_TOKENS);
			return -1;
		}
		t->s = p;
		t->col = col;
		if (*p == ',') {
			t->type = T_COMMA, t->len = 1, p++;
		} else if (*p == ':' && !colon_word) {
			t->type = T_COLON, t->len = 1, p++;
		} else if (p[0] == '-' && p[1] == '>') {
			t->type = T_ARROW, t->len = 2, p += 2;
		} else if (*p == '"') {
			const char *e = strchr(p + 1, '"');

			if (!e) {
				err_at(P, here(P, col), "missing closing '\"'");
				return -1;
			}
			t->type = T_STR;
			t->s = p + 1;
			t->len = (int)(e - p - 1);
			p = e + 1;
		} else if (is_word_char(*p, colon_word)) {
			t->type = T_WORD;
			while (is_word_char(*p, colon_word) && !(p[0] == '-' && p[1] == '>'))
				p++;
			t->len = (int)(p - t->s);
		} else {
			err_at(P, here(P, col), "unexpected character '%c'", *p);
			return -1;
		}
		n++;
	}
	return n;
}

/* ---- Names ---------------------------------------------------------------- */

/* Remember a name whose declaration failed; kind 's' segment, 'v' service. */
static void poison(struct parser *P, char kind, const struct tok *t)
{
	char **slot = push(&P->poison, &P->npoison, &P->cappoison, sizeof(char *));

	if (!slot || asprintf(slot, "%c%.*s", kind, t->len, t->s) < 0) {
		if (slot)
			*slot = NULL;
		P->nomem = true;
	}
}

static bool poisoned(const struct parser *P, char kind, const char *name)
{
	for (size_t i = 0; i < P->npoison; i++)
		if (P->poison[i] && P->poison[i][0] == kind && !strcmp(P->poison[i] + 1, name))
			return true;
	return false;
}

static bool valid_name(const struct tok *t)
{
	if (t->type != T_WORD || !(isalpha((unsigned char)t->s[0]) || t->s[0] == '_'))
		return false;
	for (int i = 0; i < t->len; i++)
		if (!(isalnum((unsigned char)t->s[i]) || t->s[i] == '_' || t->s[i] == '-' ||
		      t->s[i] == '.'))
			return false;
	return true;
}

/* Closest candidate by edit distance, or NULL when none is close. */
static const char *closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	int bestd = 1000, limit = (int)strlen(word) / 3 + 1;

	if (limit > 3)
		limit = 3;
	for (size_t i = 0; i < n; i++) {
		int d = xs_edit_distance(word, cands[i]);

		if (d < bestd && d <= limit && d < (int)strlen(cands[i])) {
			bestd = d;
			best = cands[i];
		}
	}
	return best;
}

static const char *const keywords[] = { "include", "service", "segment", "allow",
					"deny",	   "default", "mode" };

static int proto_of(const char *s, int len)
{
	static const struct {
		const char *name;
		int proto;
	} protos[] = { { "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 } };

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if ((int)strlen(protos[i].name) == len && !strncmp(protos[i].name, s, len))
			return protos[i].proto;
	return -1;
}

static bool is_proto_name(const char *s, int len)
{
	return proto_of(s, len) >= 0;
}

/* ---- Port specs ------------------------------------------------------------ */

/* Parse digits at s[0..len); -1 if not all digits or empty; caps at 10^7. */
static long parse_num(const char *s, int len)
{
	long v = 0;

	if (len <= 0)
		return -1;
	for (int i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		if (v < 10000000)
			v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Check one end of a range; report and return false if out of bounds. */
static bool check_port(struct parser *P, int proto, long v, int col)
{
	bool icmp = proto == 1 || proto == 58;

	if (icmp && v > 255) {
		err_at(P, here(P, col), "%s type %ld is out of range (0-255)",
		       proto == 1 ? "ICMP" : "ICMPv6", v);
		return false;
	}
	if (!icmp && v == 0) {
		err_at(P, here(P, col), "port 0 is not a valid port (ports are 1-65535)");
		return false;
	}
	if (!icmp && v > 65535) {
		err_at(P, here(P, col), "port %ld is out of range (ports are 1-65535)", v);
		return false;
	}
	return true;
}

/*
 * A word that is a protocol spec: PROTO, PROTO/N or PROTO/LO-HI. Returns 1
 * and fills *ps, 0 if the word is not a spec (a service name), -1 after an
 * error.
 */
static int parse_spec(struct parser *P, const struct tok *t, struct xs_portspec *ps)
{
	const char *slash = memchr(t->s, '/', t->len);
	int plen = slash ? (int)(slash - t->s) : t->len, proto;
	const char *num, *dash;
	long lo, hi;
	int nlen;

	proto = proto_of(t->s, plen);
	if (proto < 0) {
		if (!slash)
			return 0;
		err_at(P, here(P, t->col),
		       "unknown protocol '%.*s' (expected tcp, udp, icmp or icmpv6)", plen, t->s);
		return -1;
	}
	ps->proto = (uint8_t)proto;
	if (!slash) {
		ps->lo = 0, ps->hi = 65535;
		return 1;
	}
	num = slash + 1;
	nlen = t->len - plen - 1;
	dash = memchr(num, '-', nlen);
	lo = parse_num(num, dash ? (int)(dash - num) : nlen);
	hi = dash ? parse_num(dash + 1, nlen - (int)(dash - num) - 1) : lo;
	if (lo < 0 || hi < 0) {
		err_at(P, here(P, t->col),
		       "invalid port '%.*s' (expected %.*s/PORT or %.*s/LOW-HIGH)", t->len, t->s,
		       plen, t->s, plen, t->s);
		return -1;
	}
	if (!check_port(P, proto, lo, t->col + plen + 1))
		return -1;
	if (dash && !check_port(P, proto, hi, t->col + plen + 2 + (int)(dash - num)))
		return -1;
	if (lo > hi) {
		err_at(P, here(P, t->col + plen + 1), "inverted range %ld-%ld (write %ld-%ld)", lo,
		       hi, hi, lo);
		return -1;
	}
	ps->lo = (uint16_t)lo;
	ps->hi = (uint16_t)hi;
	return 1;
}

/*
 * A comma-separated list of service names and specs from toks[i..n).
 * Errors are reported per item; returns false if any item was bad.
 */
static bool parse_items(struct parser *P, struct tok *toks, int i, int n, struct item **items,
			size_t *nitems, size_t *cap, const char *what)
{
	bool ok = true;

	if (i >= n) {
		err_at(P, here(P, toks[n - 1].col + toks[n - 1].len),
		       "expected a service or PROTO/PORT after %s", what);
		return false;
	}
	for (; i < n; i++) {
		struct tok *t = &toks[i];
		struct item *it;
		int r;

		if (t->type != T_WORD) {
			err_at(P, here(P, t->col), "expected a service or PROTO/PORT, found '%.*s'",
			       t->len, t->s);
			return false;
		}
		it = push(items, nitems, cap, sizeof(**items));
		if (!it) {
			P->nomem = true;
			return false;
		}
		it->loc = here(P, t->col);
		r = parse_spec(P, t, &it->spec);
		if (r < 0) {
			ok = false;
		} else if (r > 0) {
			it->is_spec = true;
		} else if (!valid_name(t)) {
			err_at(P, here(P, t->col), "invalid service name '%.*s'", t->len, t->s);
			ok = false;
		} else {
			it->name = tokdup(t);
		}
		if (i + 1 < n) {
			if (toks[i + 1].type != T_COMMA) {
				err_at(P, here(P, toks[i + 1].col), "expected ',' before '%.*s'",
				       toks[i + 1].len, toks[i + 1].s);
				return false;
			}
			i++;
			if (i + 1 == n) {
				err_at(P, here(P, toks[i].col), "trailing ','");
				return false;
			}
		}
	}
	return ok;
}

/* ---- Prefixes -------------------------------------------------------------- */

static void format_prefix(char *buf, size_t size, const struct xs_prefix *p)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, p->len);
}

/* Returns false after reporting a bad prefix. */
static bool parse_prefix(struct parser *P, const struct tok *t, struct xs_prefix *px)
{
	char addr[64], norm[80];
	const char *slash = memchr(t->s, '/', t->len);
	int alen = slash ? (int)(slash - t->s) : t->len, max;
	long len;
	bool host_bits = false;

	memset(px, 0, sizeof(*px));
	if (alen <= 0 || alen >= (int)sizeof(addr))
		goto bad;
	memcpy(addr, t->s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, px->addr) == 1)
		px->family = 4;
	else if (inet_pton(AF_INET6, addr, px->addr) == 1)
		px->family = 6;
	else
		goto bad;
	max = px->family == 4 ? 32 : 128;
	len = slash ? parse_num(slash + 1, t->len - alen - 1) : max;
	if (len < 0)
		goto bad;
	if (len > max) {
		err_at(P, here(P, t->col + alen + 1),
		       "prefix length %ld is too long for %s (at most %d)", len,
		       px->family == 4 ? "IPv4" : "IPv6", max);
		return false;
	}
	px->len = (uint8_t)len;
	for (int b = (int)len; b < max; b++) {
		uint8_t bit = (uint8_t)(0x80 >> (b % 8));

		if (px->addr[b / 8] & bit) {
			host_bits = true;
			px->addr[b / 8] &= (uint8_t)~bit;
		}
	}
	px->loc = here(P, t->col);
	if (host_bits) {
		format_prefix(norm, sizeof(norm), px);
		warn_at(P, px->loc, "'%.*s' has host bits set; it is read as %s", t->len, t->s,
			norm);
	}
	return true;
bad:
	err_at(P, here(P, t->col),
	       "invalid address or prefix '%.*s' (expected ADDRESS or ADDRESS/LENGTH, IPv4 or "
	       "IPv6)",
	       t->len, t->s);
	return false;
}

/* ---- Statements ------------------------------------------------------------ */

static int parse_file(struct parser *P, const char *name, const char *from,
		      struct xs_src_loc inc_loc);

/* Whitespace-folded copy of the line without its comment. */
static char *fold(const char *line)
{
	size_t n = strlen(line);
	char *out = malloc(n + 1), *o = out;
	bool space = false, instr = false;

	if (!out)
		return NULL;
	for (const char *p = line; *p; p++) {
		if (*p == '"')
			instr = !instr;
		if (*p == '#' && !instr)
			break;
		if (isspace((unsigned char)*p)) {
			space = o != out;
			continue;
		}
		if (space)
			*o++ = ' ';
		space = false;
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static void stmt_include(struct parser *P, struct tok *t, int n)
{
	char *name;

	if (n != 2 || t[1].type != T_STR) {
		err_at(P, here(P, n > 1 ? t[1].col : t[0].col + t[0].len),
		       "expected: include \"FILE\"");
		return;
	}
	name = tokdup(&t[1]);
	if (!name) {
		P->nomem = true;
		return;
	}
	parse_file(P, name, P->cur->path, here(P, t[1].col));
	free(name);
}

static void stmt_service(struct parser *P, struct tok *t, int n)
{
	struct svc *s;

	if (n < 2 || !valid_name(&t[1])) {
		err_at(P, here(P, n > 1 ? t[1].col : t[0].col + t[0].len),
		       "expected: service NAME SPEC[, SPEC...]");
		return;
	}
	s = push(&P->svcs, &P->nsvcs, &P->capsvcs, sizeof(*s));
	if (!s) {
		P->nomem = true;
		return;
	}
	s->name = tokdup(&t[1]);
	s->loc = here(P, t[1].col);
	s->top = P->depth == 1;
	if (!parse_items(P, t, 2, n, &s->items, &s->nitems, &s->capitems, "the service name"))
		s->broken = true;
}

static void stmt_segment(struct parser *P, struct tok *t, int n)
{
	struct xs_policy *pol = P->pol;
	struct xs_segment *s;
	struct segx *x;
	size_t cap;
	bool ok = true;

	if (n < 2 || !valid_name(&t[1])) {
		err_at(P, here(P, n > 1 ? t[1].col : t[0].col + t[0].len),
		       "expected: segment NAME PREFIX[, PREFIX...]");
		return;
	}
	if (n < 3) {
		err_at(P, here(P, t[1].col + t[1].len),
		       "expected an address or prefix after '%.*s'", t[1].len, t[1].s);
		poison(P, 's', &t[1]);
		return;
	}
	cap = P->capsegs;
	s = push(&pol->segments, &pol->nsegments, &P->capsegs, sizeof(*s));
	if (!s) {
		P->nomem = true;
		return;
	}
	if (P->capsegs != cap) {
		struct segx *nx = realloc(P->segx, P->capsegs * sizeof(*nx));

		if (!nx) {
			pol->nsegments--;
			P->nomem = true;
			return;
		}
		P->segx = nx;
	}
	x = &P->segx[pol->nsegments - 1];
	memset(x, 0, sizeof(*x));
	s->name = tokdup(&t[1]);
	s->id = (uint16_t)pol->nsegments; /* capped later: > 4095 is an error */
	s->loc = here(P, t[1].col);
	s->in_action = XS_ACT_DENY;
	s->out_action = XS_ACT_ALLOW;
	for (int i = 2; i < n; i++) {
		struct xs_prefix px;

		if (t[i].type != T_WORD) {
			err_at(P, here(P, t[i].col), "expected an address or prefix, found '%.*s'",
			       t[i].len, t[i].s);
			return;
		}
		if (parse_prefix(P, &t[i], &px)) {
			struct xs_prefix *d;
			size_t c = s->nprefixes; /* capacity tracks count: grow by one */

			d = realloc(s->prefixes, (c + 1) * sizeof(*d));
			if (!d) {
				P->nomem = true;
				return;
			}
			s->prefixes = d;
			d[s->nprefixes++] = px;
		} else {
			ok = false;
		}
		if (i + 1 < n) {
			if (t[i + 1].type != T_COMMA) {
				err_at(P, here(P, t[i + 1].col), "expected ',' before '%.*s'",
				       t[i + 1].len, t[i + 1].s);
				return;
			}
			i++;
			if (i + 1 == n) {
				err_at(P, here(P, t[i].col), "trailing ','");
				return;
			}
		}
	}
	(void)ok;
}

static void stmt_rule(struct parser *P, struct tok *t, int n, uint8_t action, const char *line)
{
	struct rrule *r;

	if (n < 4 || t[1].type != T_WORD || t[2].type != T_ARROW || t[3].type != T_WORD) {
		int bad = n < 2				  ? 1
			  : t[1].type != T_WORD		  ? 1
			  : n < 3 || t[2].type != T_ARROW ? 2
							  : 3;
		int col = bad < n ? t[bad].col : t[n - 1].col + t[n - 1].len;

		err_at(P, here(P, col), "expected: %s SRC -> DST [: SERVICE|PROTO/PORT, ...]",
		       action == XS_ACT_ALLOW ? "allow" : "deny");
		return;
	}
	if (n > 4 && t[4].type != T_COLON) {
		err_at(P, here(P, t[4].col), "expected ':' before '%.*s'", t[4].len, t[4].s);
		return;
	}
	r = push(&P->rules, &P->nrules, &P->caprules, sizeof(*r));
	if (!r) {
		P->nomem = true;
		return;
	}
	r->action = action;
	r->loc = here(P, t[0].col);
	r->src = tokdup(&t[1]);
	r->src_loc = here(P, t[1].col);
	r->dst = tokdup(&t[3]);
	r->dst_loc = here(P, t[3].col);
	r->text = fold(line);
	if (n > 4) {
		r->has_ports = true;
		if (!parse_items(P, t, 5, n, &r->items, &r->nitems, &r->capitems, "':'"))
			r->broken = true;
	}
}

static int parse_action(const struct tok *t)
{
	if (tok_is(t, "allow"))
		return XS_ACT_ALLOW;
	if (tok_is(t, "deny"))
		return XS_ACT_DENY;
	return -1;
}

static void stmt_default(struct parser *P, struct tok *t, int n, const char *line)
{
	struct rdef *d;
	uint8_t in = 0, out = 0;
	int i;

	if (n < 2 || t[1].type != T_WORD) {
		err_at(P, here(P, n > 1 ? t[1].col : t[0].col + t[0].len),
		       "expected: default SEGMENT in allow|deny out allow|deny");
		return;
	}
	if (n == 2) {
		err_at(P, here(P, t[1].col + t[1].len), "expected 'in' or 'out' after '%.*s'",
		       t[1].len, t[1].s);
		return;
	}
	for (i = 2; i < n; i += 2) {
		bool is_in = tok_is(&t[i], "in"), is_out = tok_is(&t[i], "out");
		int a;

		if (!is_in && !is_out) {
			err_at(P, here(P, t[i].col), "expected 'in' or 'out', found '%.*s'",
			       t[i].len, t[i].s);
			return;
		}
		if (i + 1 >= n || (a = parse_action(&t[i + 1])) < 0) {
			err_at(P, here(P, i + 1 < n ? t[i + 1].col : t[i].col + t[i].len),
			       "expected 'allow' or 'deny' after '%.*s'", t[i].len, t[i].s);
			return;
		}
		if ((is_in && in) || (is_out && out)) {
			err_at(P, here(P, t[i].col), "'%.*s' given twice", t[i].len, t[i].s);
			return;
		}
		if (is_in)
			in = (uint8_t)a;
		else
			out = (uint8_t)a;
	}
	d = push(&P->defs, &P->ndefs, &P->capdefs, sizeof(*d));
	if (!d) {
		P->nomem = true;
		return;
	}
	d->seg = tokdup(&t[1]);
	d->loc = here(P, t[0].col);
	d->seg_loc = here(P, t[1].col);
	d->in = in;
	d->out = out;
	d->text = fold(line);
}

static void stmt_mode(struct parser *P, struct tok *t, int n)
{
	struct rmode *m;

	if (n != 3 || t[1].type != T_WORD ||
	    !(tok_is(&t[2], "monitor") || tok_is(&t[2], "enforce"))) {
		int col = n < 2 ? t[0].col + t[0].len : n < 3 ? t[1].col + t[1].len : t[2].col;

		if (n > 3 && (tok_is(&t[2], "monitor") || tok_is(&t[2], "enforce")))
			col = t[3].col;
		if (n == 3 && t[2].type == T_WORD) {
			static const char *const modes[] = { "monitor", "enforce" };
			char *w = tokdup(&t[2]);
			const char *s = w ? closest(w, modes, 2) : NULL;

			if (s) {
				err_at(P, here(P, col), "unknown mode '%s'; did you mean '%s'?", w,
				       s);
				free(w);
				return;
			}
			free(w);
		}
		err_at(P, here(P, col), "expected: mode SEGMENT monitor|enforce");
		return;
	}
	m = push(&P->modes, &P->nmodes, &P->capmodes, sizeof(*m));
	if (!m) {
		P->nomem = true;
		return;
	}
	m->seg = tokdup(&t[1]);
	m->loc = here(P, t[0].col);
	m->seg_loc = here(P, t[1].col);
	m->monitor = tok_is(&t[2], "monitor");
}

static void parse_line(struct parser *P, const char *line)
{
	static struct tok toks[MAX_TOKENS];
	char *code = strdup(line);
	bool instr = false;
	int n;

	if (!code) {
		P->nomem = true;
		return;
	}
	for (char *p = code; *p; p++) {
		if (*p == '"')
			instr = !instr;
		if (*p == '#' && !instr) {
			*p = '\0';
			break;
		}
	}
	n = lex(P, code, true, toks);
	if (n <= 0)
		goto out;
	if (toks[0].type != T_WORD) {
		err_at(P, here(P, toks[0].col), "expected a statement, found '%.*s'", toks[0].len,
		       toks[0].s);
		goto out;
	}
	if (tok_is(&toks[0], "allow") || tok_is(&toks[0], "deny")) {
		uint8_t a = tok_is(&toks[0], "allow") ? XS_ACT_ALLOW : XS_ACT_DENY;

		n = lex(P, code, false, toks);
		if (n > 0)
			stmt_rule(P, toks, n, a, line);
	} else if (tok_is(&toks[0], "include")) {
		stmt_include(P, toks, n);
	} else if (tok_is(&toks[0], "service")) {
		stmt_service(P, toks, n);
	} else if (tok_is(&toks[0], "segment")) {
		stmt_segment(P, toks, n);
	} else if (tok_is(&toks[0], "default")) {
		stmt_default(P, toks, n, line);
	} else if (tok_is(&toks[0], "mode")) {
		stmt_mode(P, toks, n);
	} else {
		char *w = tokdup(&toks[0]);
		const char *s =
			w ? closest(w, keywords, sizeof(keywords) / sizeof(keywords[0])) : NULL;

		if (s && n > 1 && valid_name(&toks[1]) &&
		    (!strcmp(s, "segment") || !strcmp(s, "service")))
			poison(P, s[2] == 'g' ? 's' : 'v', &toks[1]);
		if (s)
			err_at(P, here(P, toks[0].col),
			       "unknown statement '%s'; did you mean '%s'?", w, s);
		else
			err_at(P, here(P, toks[0].col),
			       "unknown statement '%.*s' (expected include, service, segment, "
			       "allow, deny, default or mode)",
			       toks[0].len, toks[0].s);
		free(w);
	}
out:
	free(code);
}

/* Split text into lines in place. */
static int split_lines(struct srcfile *f)
{
	size_t cap = 0;
	char *p = f->text;

	while (*p) {
		char *e = strchr(p, '\n');

		if (!push(&f->lines, &f->nlines, &cap, sizeof(char *)))
			return -ENOMEM;
		f->lines[f->nlines - 1] = p;
		if (!e)
			break;
		*e = '\0';
		if (e > p && e[-1] == '\r')
			e[-1] = '\0';
		p = e + 1;
	}
	return 0;
}

static const char *own_path(struct parser *P, char *path)
{
	struct xs_policy *pol = P->pol;
	char **v = realloc(pol->files, (pol->nfiles + 1) * sizeof(*v));

	if (!v)
		return NULL;
	pol->files = v;
	v[pol->nfiles++] = path;
	return path;
}

/*
 * Read `name` (included from `from` at `inc_loc`, or the top-level file when
 * `from` is NULL) and parse each of its lines. Returns 0, or a negative
 * errno when the top-level file cannot be read.
 */
static int parse_file(struct parser *P, const char *name, const char *from,
		      struct xs_src_loc inc_loc)
{
	const struct srcfile *saved = P->cur;
	int saved_line = P->lineno, err;
	struct srcfile *f;
	char *path = NULL, *text = NULL;
	const char *owned;
	size_t len;

	err = P->resolve(P->ctx, from, name, &path, &text, &len);
	if (err) {
		if (from)
			err_at(P, inc_loc, "cannot include '%s': %s", name, strerror(-err));
		else
			xs_diag_add(P->diags, XS_SEV_ERROR, name, 0, 0, NULL,
				    "cannot read the policy: %s", strerror(-err));
		return from ? 0 : err;
	}
	for (int i = 0; i < P->depth; i++) {
		if (strcmp(P->stack[i], path))
			continue;
		/* The chain from the first occurrence back to this file. */
		char chain[1024] = "";
		size_t o = 0;

		for (int j = i; j < P->depth && o < sizeof(chain); j++)
			o += snprintf(chain + o, sizeof(chain) - o, "%s -> ", P->stack[j]);
		if (o < sizeof(chain))
			snprintf(chain + o, sizeof(chain) - o, "%s", path);
		err_at(P, inc_loc, "include cycle: %s", chain);
		free(path);
		free(text);
		return 0;
	}
	for (size_t i = 0; i < P->nfiles; i++) {
		if (!strcmp(P->files[i].path, path)) {
			/* Already included (not a cycle): include once. */
			free(path);
			free(text);
			return 0;
		}
	}
	if (P->depth == MAX_INCLUDE_DEPTH) {
		err_at(P, inc_loc, "includes nested too deeply (at most %d)", MAX_INCLUDE_DEPTH);
		free(path);
		free(text);
		return 0;
	}
	owned = own_path(P, path);
	if (!owned) {
		free(path);
		free(text);
		P->nomem = true;
		return -ENOMEM;
	}
	f = push(&P->files, &P->nfiles, &P->capfiles, sizeof(*f));
	if (!f) {
		free(text);
		P->nomem = true;
		return -ENOMEM;
	}
	f->path = owned;
	f->text = text;
	if (split_lines(f)) {
		P->nomem = true;
		return -ENOMEM;
	}
	if (!from)
		P->top = owned;
	P->stack[P->depth++] = owned;
	/* P->files may move while included files are added: index, not pointer. */
	size_t fi = P->nfiles - 1;

	for (size_t l = 0; l < P->files[fi].nlines && !P->nomem; l++) {
		P->cur = &P->files[fi];
		P->lineno = (int)l + 1;
		parse_line(P, P->files[fi].lines[l]);
	}
	P->depth--;
	P->cur = saved;
	P->lineno = saved_line;
	return 0;
}

/* ---- Second pass: names ------------------------------------------------------ */

static struct svc *find_svc(struct parser *P, const char *name)
{
	for (size_t i = 0; i < P->nsvcs; i++)
		if (!strcmp(P->svcs[i].name, name))
			return &P->svcs[i];
	return NULL;
}

static int find_seg(struct parser *P, const char *name)
{
	for (size_t i = 0; i < P->pol->nsegments; i++)
		if (!strcmp(P->pol->segments[i].name, name))
			return (int)i + 1;
	return -1;
}

static void unknown_svc(struct parser *P, const struct item *it)
{
	const char **names;
	const char *s;

	if (poisoned(P, 'v', it->name))
		return; /* its declaration already has an error */
	names = calloc(P->nsvcs + 1, sizeof(*names));

	for (size_t i = 0; names && i < P->nsvcs; i++)
		names[i] = P->svcs[i].name;
	s = names ? closest(it->name, names, P->nsvcs) : NULL;
	if (s)
		err_at(P, it->loc, "unknown service '%s'; did you mean '%s'?", it->name, s);
	else
		err_at(P, it->loc, "unknown service '%s'", it->name);
	free(names);
}

static bool add_flat(struct svc *s, const struct xs_portspec *ps)
{
	struct xs_portspec *d = push(&s->flat, &s->nflat, &s->capflat, sizeof(*d));

	if (!d)
		return false;
	*d = *ps;
	return true;
}

/* Flatten a service into port specs; reports unknown names and cycles. */
static void resolve_svc(struct parser *P, struct svc *s, struct svc **path, int depth)
{
	if (s->state == 2)
		return;
	s->state = 1;
	path[depth] = s;
	for (size_t i = 0; i < s->nitems && !s->broken; i++) {
		struct item *it = &s->items[i];
		struct svc *t;

		if (it->is_spec) {
			if (!add_flat(s, &it->spec))
				P->nomem = true;
			continue;
		}
		if (!it->name)
			continue;
		t = find_svc(P, it->name);
		if (!t) {
			unknown_svc(P, it);
			s->broken = true;
			break;
		}
		t->used = true;
		if (t->state == 1) {
			char chain[1024] = "";
			size_t o = 0;
			int j = 0;

			while (path[j] != t)
				j++;
			for (; j <= depth && o < sizeof(chain); j++)
				o += snprintf(chain + o, sizeof(chain) - o, "%s -> ",
					      path[j]->name);
			if (o < sizeof(chain))
				snprintf(chain + o, sizeof(chain) - o, "%s", t->name);
			err_at(P, it->loc, "service cycle: %s", chain);
			for (j = 0; j <= depth; j++)
				path[j]->broken = true;
			break;
		}
		resolve_svc(P, t, path, depth + 1);
		if (t->broken) {
			s->broken = true;
			break;
		}
		for (size_t k = 0; k < t->nflat; k++)
			if (!add_flat(s, &t->flat[k]))
				P->nomem = true;
	}
	s->state = 2;
}

static void check_services(struct parser *P)
{
	struct svc **path = calloc(P->nsvcs + 1, sizeof(*path));

	if (!path) {
		P->nomem = true;
		return;
	}
	for (size_t i = 0; i < P->nsvcs; i++) {
		struct svc *s = &P->svcs[i];

		if (!strcmp(s->name, "any") || !strcmp(s->name, "world")) {
			err_at(P, s->loc, "'%s' is reserved and cannot name a service", s->name);
			s->broken = true;
		} else if (is_proto_name(s->name, (int)strlen(s->name))) {
			err_at(P, s->loc, "'%s' is a protocol and cannot name a service", s->name);
			s->broken = true;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(P->svcs[j].name, s->name)) {
				err_at(P, s->loc,
				       "duplicate service '%s' (first declared at %s:%d)", s->name,
				       P->svcs[j].loc.file, P->svcs[j].loc.line);
				break;
			}
		}
	}
	for (size_t i = 0; i < P->nsvcs; i++)
		resolve_svc(P, &P->svcs[i], path, 0);
	free(path);
}

struct pfx_ref {
	const struct xs_prefix *p;
	const struct xs_segment *seg;
};

static int pfx_ref_cmp(const void *a, const void *b)
{
	const struct pfx_ref *x = a, *y = b;
	int c;

	if (x->p->family != y->p->family)
		return x->p->family - y->p->family;
	if (x->p->len != y->p->len)
		return x->p->len - y->p->len;
	c = memcmp(x->p->addr, y->p->addr, 16);
	if (c)
		return c;
	/* equal prefixes: the earlier declaration first */
	if (x->seg->id != y->seg->id)
		return x->seg->id - y->seg->id;
	return x->p->loc.line - y->p->loc.line;
}

static void check_segments(struct parser *P)
{
	struct xs_policy *pol = P->pol;
	struct pfx_ref *refs;
	size_t n = 0, total = 0;

	for (size_t i = 0; i < pol->nsegments; i++) {
		struct xs_segment *s = &pol->segments[i];

		if (!strcmp(s->name, "any") || !strcmp(s->name, "world"))
			err_at(P, s->loc, "'%s' is reserved and cannot name a segment", s->name);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(pol->segments[j].name, s->name)) {
				err_at(P, s->loc,
				       "duplicate segment '%s' (first declared at %s:%d)", s->name,
				       pol->segments[j].loc.file, pol->segments[j].loc.line);
				break;
			}
		}
		if (i + 1 == XS_MAX_SEGMENTS)
			err_at(P, s->loc, "too many segments: at most %d segments per policy",
			       XS_MAX_SEGMENTS - 1);
		total += s->nprefixes;
	}
	refs = calloc(total + 1, sizeof(*refs));
	if (!refs) {
		P->nomem = true;
		return;
	}
	for (size_t i = 0; i < pol->nsegments; i++)
		for (size_t j = 0; j < pol->segments[i].nprefixes; j++)
			refs[n++] = (struct pfx_ref){ &pol->segments[i].prefixes[j],
						      &pol->segments[i] };
	qsort(refs, n, sizeof(*refs), pfx_ref_cmp);
	for (size_t i = 1; i < n; i++) {
		char buf[80];

		if (refs[i].p->family != refs[i - 1].p->family ||
		    refs[i].p->len != refs[i - 1].p->len ||
		    memcmp(refs[i].p->addr, refs[i - 1].p->addr, 16))
			continue;
		format_prefix(buf, sizeof(buf), refs[i].p);
		err_at(P, refs[i].p->loc, "prefix %s is already in segment '%s' (%s:%d)", buf,
		       refs[i - 1].seg->name, refs[i - 1].p->loc.file, refs[i - 1].p->loc.line);
	}
	free(refs);
}

/* Resolve a segment name in a rule/default/mode; -2 after an error. */
static long resolve_seg(struct parser *P, const char *name, struct xs_src_loc loc, bool endpoint)
{
	const char **names;
	const char *s;
	int id;

	if (endpoint && !strcmp(name, "any"))
		return XS_ENDPOINT_ANY;
	if (endpoint && !strcmp(name, "world"))
		return XS_SEG_WORLD;
	id = find_seg(P, name);
	if (id > 0) {
		P->segx[id - 1].used = true;
		return id;
	}
	if (poisoned(P, 's', name))
		return -2; /* its declaration already has an error */
	if (!endpoint && (!strcmp(name, "world") || !strcmp(name, "any"))) {
		err_at(P, loc, "'%s' has fixed defaults (in allow out allow) and no mode", name);
		return -2;
	}
	names = calloc(P->pol->nsegments + 2, sizeof(*names));
	if (!names) {
		P->nomem = true;
		return -2;
	}
	for (size_t i = 0; i < P->pol->nsegments; i++)
		names[i] = P->pol->segments[i].name;
	names[P->pol->nsegments] = "any";
	names[P->pol->nsegments + 1] = "world";
	s = closest(name, names, P->pol->nsegments + (endpoint ? 2 : 0));
	if (s)
		err_at(P, loc, "unknown segment '%s'; did you mean '%s'?", name, s);
	else
		err_at(P, loc, "unknown segment '%s'", name);
	free(names);
	return -2;
}

static void check_rules(struct parser *P)
{
	struct xs_policy *pol = P->pol;

	pol->rules = calloc(P->nrules + 1, sizeof(*pol->rules));
	if (!pol->rules) {
		P->nomem = true;
		return;
	}
	for (size_t i = 0; i < P->nrules; i++) {
		struct rrule *rr = &P->rules[i];
		struct xs_rule *r = &pol->rules[pol->nrules];
		long src, dst;
		bool bad = rr->broken;
		size_t cap = 0;

		if (i + 1 == XS_MAX_RULES)
			err_at(P, rr->loc, "too many rules: rule ids end at %d", XS_MAX_RULES - 1);
		src = resolve_seg(P, rr->src, rr->src_loc, true);
		dst = resolve_seg(P, rr->dst, rr->dst_loc, true);
		if (src == -2 || dst == -2)
			bad = true;
		else if (src == XS_SEG_WORLD && dst == XS_SEG_WORLD)
			err_at(P, rr->src_loc,
			       "a rule from 'world' to 'world' is not allowed: xdpseg governs "
			       "flows that touch a segment");
		for (size_t j = 0; j < rr->nitems; j++) {
			struct item *it = &rr->items[j];
			struct svc *s;

			if (it->is_spec) {
				struct xs_portspec *d =
					push(&r->ports, &r->nports, &cap, sizeof(*d));

				if (!d) {
					P->nomem = true;
					return;
				}
				*d = it->spec;
				continue;
			}
			if (!it->name)
				continue;
			s = find_svc(P, it->name);
			if (!s) {
				unknown_svc(P, it);
				bad = true;
				continue;
			}
			s->used = true;
			if (s->broken) {
				bad = true;
				continue;
			}
			for (size_t k = 0; k < s->nflat; k++) {
				struct xs_portspec *d =
					push(&r->ports, &r->nports, &cap, sizeof(*d));

				if (!d) {
					P->nomem = true;
					return;
				}
				*d = s->flat[k];
			}
		}
		r->id = (uint32_t)(i + 1);
		r->action = rr->action;
		r->src = (uint32_t)src;
		r->dst = (uint32_t)dst;
		r->text = rr->text;
		rr->text = NULL;
		r->loc = rr->loc;
		pol->nrules++;
		if (bad || (rr->has_ports && !r->nports))
			r->id = 0; /* dropped: errors already reported */
	}
}

static void check_defaults(struct parser *P)
{
	struct xs_policy *pol = P->pol;

	for (size_t i = 0; i < P->ndefs; i++) {
		struct rdef *d = &P->defs[i];
		long id = resolve_seg(P, d->seg, d->seg_loc, false);
		struct segx *x;
		struct xs_segment *s;

		if (id < 0)
			continue;
		s = &pol->segments[id - 1];
		x = &P->segx[id - 1];
		if ((d->in && x->in_set) || (d->out && x->out_set)) {
			struct xs_src_loc f = d->in && x->in_set ? x->in_loc : x->out_loc;

			err_at(P, d->loc, "duplicate default for segment '%s' (first at %s:%d)",
			       s->name, f.file, f.line);
			continue;
		}
		if (d->in) {
			x->in_set = true;
			x->in_loc = d->loc;
			s->in_action = d->in;
		}
		if (d->out) {
			x->out_set = true;
			x->out_loc = d->loc;
			s->out_action = d->out;
		}
		d->id = 1; /* marks a valid statement; the real id is given later */
	}
	for (size_t i = 0; i < P->nmodes; i++) {
		struct rmode *m = &P->modes[i];
		long id = resolve_seg(P, m->seg, m->seg_loc, false);
		struct segx *x;

		if (id < 0)
			continue;
		x = &P->segx[id - 1];
		if (x->mode_set) {
			err_at(P, m->loc, "duplicate mode for segment '%s' (first at %s:%d)",
			       pol->segments[id - 1].name, x->mode_loc.file, x->mode_loc.line);
			continue;
		}
		x->mode_set = true;
		x->mode_loc = m->loc;
		pol->segments[id - 1].monitor = m->monitor;
	}
}

/* ---- Warnings: shadowed and repeated rules ----------------------------------- */

static bool ep_covers(uint32_t outer, uint32_t inner)
{
	return outer == XS_ENDPOINT_ANY || outer == inner;
}

/* Does rule `o` match every flow of spec `ps` (NULL: every protocol)? */
static bool rule_covers_spec(const struct xs_rule *o, const struct xs_portspec *ps)
{
	if (!o->nports)
		return true;
	if (!ps)
		return false;
	for (size_t i = 0; i < o->nports; i++) {
		const struct xs_portspec *q = &o->ports[i];

		if ((q->proto == 0 || q->proto == ps->proto) && q->lo <= ps->lo && ps->hi <= q->hi)
			return true;
	}
	return false;
}

/*
 * First rule among `action` rules (other than r, and before r when
 * `earlier`) that alone covers each piece of r; NULL if some piece is not
 * covered by a single such rule.
 */
static const struct xs_rule *covering(const struct xs_policy *p, const struct xs_rule *r,
				      uint8_t action, bool earlier)
{
	const struct xs_rule *first = NULL;
	size_t npieces = r->nports ? r->nports : 1;

	for (size_t k = 0; k < npieces; k++) {
		const struct xs_portspec *ps = r->nports ? &r->ports[k] : NULL;
		const struct xs_rule *found = NULL;

		for (size_t i = 0; i < p->nrules && !found; i++) {
			const struct xs_rule *o = &p->rules[i];

			if (o == r || !o->id || o->action != action || (earlier && o->id >= r->id))
				continue;
			if (ep_covers(o->src, r->src) && ep_covers(o->dst, r->dst) &&
			    rule_covers_spec(o, ps))
				found = o;
		}
		if (!found)
			return NULL;
		if (!first || found->id < first->id)
			first = found;
	}
	return first;
}

static void warn_rules(struct parser *P)
{
	const struct xs_policy *p = P->pol;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct xs_rule *r = &p->rules[i], *o;

		if (!r->id || r->action != XS_ACT_ALLOW)
			continue;
		o = covering(p, r, XS_ACT_DENY, false);
		if (o) {
			warn_at(P, r->loc, "this allow is fully shadowed by the deny at %s:%d",
				o->loc.file, o->loc.line);
			continue;
		}
		o = covering(p, r, XS_ACT_ALLOW, true);
		if (o)
			warn_at(P, r->loc, "this allow repeats the allow at %s:%d", o->loc.file,
				o->loc.line);
	}
	for (size_t i = 0; i < P->nsvcs; i++)
		/* a file of rules warns of its unused services; a service library does not */
		if (!P->svcs[i].used && P->svcs[i].top && !P->svcs[i].broken && P->nrules)
			warn_at(P, P->svcs[i].loc, "service '%s' is never used", P->svcs[i].name);
	for (size_t i = 0; i < p->nsegments; i++)
		if (!P->segx[i].used)
			warn_at(P, p->segments[i].loc, "segment '%s' is never used",
				p->segments[i].name);
}

/* ---- Origins ------------------------------------------------------------------ */

static struct xs_origin_entry *add_origin(struct parser *P, size_t *cap)
{
	struct xs_policy *pol = P->pol;
	struct xs_origin_entry *o = push(&pol->origins, &pol->norigins, cap, sizeof(*o));

	if (!o) {
		P->nomem = true;
		return NULL;
	}
	o->rule_id = (uint32_t)pol->norigins;
	return o;
}

static void build_origins(struct parser *P)
{
	struct xs_policy *pol = P->pol;
	struct xs_origin_entry *o;
	size_t cap = 0;

	for (size_t i = 0; i < pol->nrules; i++) {
		struct xs_rule *r = &pol->rules[i];

		if (!(o = add_origin(P, &cap)))
			return;
		o->kind = XS_ORIGIN_RULE;
		o->file = r->loc.file;
		o->line = r->loc.line;
		o->text = strdup(r->text ? r->text : "");
	}
	for (size_t i = 0; i < P->ndefs; i++) {
		struct rdef *d = &P->defs[i];
		long id = find_seg(P, d->seg);

		if (!d->id || id <= 0)
			continue;
		if (!(o = add_origin(P, &cap)))
			return;
		o->kind = XS_ORIGIN_DEFAULT;
		o->file = d->loc.file;
		o->line = d->loc.line;
		o->text = strdup(d->text ? d->text : "");
		if (d->in)
			pol->segments[id - 1].in_rule_id = o->rule_id;
		if (d->out)
			pol->segments[id - 1].out_rule_id = o->rule_id;
	}
	for (size_t i = 0; i < pol->nsegments; i++) {
		struct xs_segment *s = &pol->segments[i];

		if (s->in_rule_id && s->out_rule_id)
			continue;
		if (!(o = add_origin(P, &cap)))
			return;
		o->kind = XS_ORIGIN_IMPLICIT;
		o->file = s->loc.file;
		o->line = s->loc.line;
		if (asprintf(&o->text, "segment %s (implicit default in %s out %s)", s->name,
			     s->in_action == XS_ACT_DENY ? "deny" : "allow",
			     s->out_action == XS_ACT_DENY ? "deny" : "allow") < 0)
			o->text = NULL;
		if (!s->in_rule_id)
			s->in_rule_id = o->rule_id;
		if (!s->out_rule_id)
			s->out_rule_id = o->rule_id;
	}
	if (!(o = add_origin(P, &cap)))
		return;
	o->kind = XS_ORIGIN_IMPLICIT;
	o->file = P->top;
	o->line = 0;
	o->text = strdup("world (implicit default in allow out allow)");
	pol->world_in_rule_id = pol->world_out_rule_id = o->rule_id;
	if (pol->norigins >= XS_MAX_RULES)
		xs_diag_add(P->diags, XS_SEV_ERROR, P->top, 0, 0, NULL,
			    "too many rules and defaults: %zu rule ids needed, the limit is %d",
			    pol->norigins, XS_MAX_RULES - 1);
}

/* ---- Entry point ---------------------------------------------------------------- */

void xs_policy_free(struct xs_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsegments; i++) {
		free(p->segments[i].name);
		free(p->segments[i].prefixes);
	}
	free(p->segments);
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].ports);
		free(p->rules[i].text);
	}
	free(p->rules);
	for (size_t i = 0; i < p->norigins; i++)
		free(p->origins[i].text);
	free(p->origins);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	free(p);
}

static void free_items(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i].name);
	free(items);
}

static void parser_free(struct parser *P)
{
	for (size_t i = 0; i < P->nfiles; i++) {
		free(P->files[i].text);
		free(P->files[i].lines);
	}
	free(P->files);
	for (size_t i = 0; i < P->nsvcs; i++) {
		free(P->svcs[i].name);
		free_items(P->svcs[i].items, P->svcs[i].nitems);
		free(P->svcs[i].flat);
	}
	free(P->svcs);
	free(P->segx);
	for (size_t i = 0; i < P->nrules; i++) {
		free(P->rules[i].src);
		free(P->rules[i].dst);
		free(P->rules[i].text);
		free_items(P->rules[i].items, P->rules[i].nitems);
	}
	free(P->rules);
	for (size_t i = 0; i < P->ndefs; i++) {
		free(P->defs[i].seg);
		free(P->defs[i].text);
	}
	free(P->defs);
	for (size_t i = 0; i < P->nmodes; i++)
		free(P->modes[i].seg);
	free(P->modes);
	for (size_t i = 0; i < P->npoison; i++)
		free(P->poison[i]);
	free(P->poison);
}

static size_t file_index(const struct parser *P, const char *file)
{
	for (size_t i = 0; i < P->pol->nfiles; i++)
		if (!strcmp(P->pol->files[i], file))
			return i;
	return P->pol->nfiles;
}

/* Order this run's diagnostics by file (in reading order), line, column;
 * stable, so messages at one place keep their order. */
static void sort_diags(const struct parser *P, size_t from)
{
	struct xs_diag *v = P->diags->v;

	for (size_t i = from + 1; i < P->diags->n; i++) {
		struct xs_diag d = v[i];
		size_t fi = file_index(P, d.file), j = i;

		while (j > from) {
			const struct xs_diag *e = &v[j - 1];
			size_t fe = file_index(P, e->file);

			if (fe < fi || (fe == fi && (e->line < d.line ||
						     (e->line == d.line && e->col <= d.col))))
				break;
			v[j] = v[j - 1];
			j--;
		}
		v[j] = d;
	}
}

int xs_policy_parse(const char *path, xs_resolve_fn resolve, void *ctx, struct xs_policy **out,
		    struct xs_diags *diags)
{
	struct parser P;
	struct xs_src_loc none = { 0 };
	size_t errors0 = diags->errors, warnings0 = diags->n;
	int err;

	memset(&P, 0, sizeof(P));
	P.diags = diags;
	P.resolve = resolve;
	P.ctx = ctx;
	P.pol = calloc(1, sizeof(*P.pol));
	if (!P.pol)
		return -ENOMEM;
	err = parse_file(&P, path, NULL, none);
	if (err)
		goto fail;
	if (!P.nomem) {
		check_services(&P);
		check_segments(&P);
		check_rules(&P);
		check_defaults(&P);
	}
	if (!P.nomem && diags->errors == errors0)
		warn_rules(&P);
	if (!P.nomem && diags->errors == errors0)
		build_origins(&P);
	sort_diags(&P, warnings0);
	if (P.nomem) {
		err = -ENOMEM;
		goto fail;
	}
	if (diags->errors != errors0) {
		err = -EINVAL;
		goto fail;
	}
	P.pol->nservices = P.nsvcs;
	parser_free(&P);
	*out = P.pol;
	return 0;
fail:
	parser_free(&P);
	xs_policy_free(P.pol);
	return err;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Values in statements: port specs, protocols, addresses and prefixes. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int xs_proto_of(const char *s, int len)
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

bool xs_is_proto_name(const char *s, int len)
{
	return xs_proto_of(s, len) >= 0;
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
		err_at(P, xs_here(P, col), "%s type %ld is out of range (0-255)",
		       proto == 1 ? "ICMP" : "ICMPv6", v);
		return false;
	}
	if (!icmp && v == 0) {
		err_at(P, xs_here(P, col), "port 0 is not a valid port (ports are 1-65535)");
		return false;
	}
	if (!icmp && v > 65535) {
		err_at(P, xs_here(P, col), "port %ld is out of range (ports are 1-65535)", v);
		return false;
	}
	return true;
}

/*
 * A word that is a protocol spec: PROTO, PROTO/N or PROTO/LO-HI. Returns 1
 * and fills *ps, 0 if the word is not a spec (a service name), -1 after an
 * error.
 */
int xs_parse_spec(struct parser *P, const struct tok *t, struct xs_portspec *ps)
{
	const char *slash = memchr(t->s, '/', t->len);
	int plen = slash ? (int)(slash - t->s) : t->len, proto;
	const char *num, *dash;
	long lo, hi;
	int nlen;

	proto = xs_proto_of(t->s, plen);
	if (proto < 0) {
		if (!slash)
			return 0;
		err_at(P, xs_here(P, t->col),
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
		err_at(P, xs_here(P, t->col),
		       "invalid port '%.*s' (expected %.*s/PORT or %.*s/LOW-HIGH)", t->len, t->s,
		       plen, t->s, plen, t->s);
		return -1;
	}
	if (!check_port(P, proto, lo, t->col + plen + 1))
		return -1;
	if (dash && !check_port(P, proto, hi, t->col + plen + 2 + (int)(dash - num)))
		return -1;
	if (lo > hi) {
		err_at(P, xs_here(P, t->col + plen + 1),
		       "inverted range %ld-%ld (" XS_HINT "write %ld-%ld" XS_HINT ")", lo, hi, hi,
		       lo);
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
bool xs_parse_items(struct parser *P, struct tok *toks, int i, int n, struct item **items,
		    size_t *nitems, size_t *cap, const char *what)
{
	bool ok = true;

	if (i >= n) {
		err_at(P, xs_here(P, toks[n - 1].col + toks[n - 1].len),
		       "expected a service or PROTO/PORT after %s", what);
		return false;
	}
	for (; i < n; i++) {
		struct tok *t = &toks[i];
		struct item *it;
		int r;

		if (t->type != T_WORD) {
			err_at(P, xs_here(P, t->col),
			       "expected a service or PROTO/PORT, found '%.*s'", t->len, t->s);
			return false;
		}
		it = xs_push(items, nitems, cap, sizeof(**items));
		if (!it) {
			P->nomem = true;
			return false;
		}
		it->loc = xs_here(P, t->col);
		r = xs_parse_spec(P, t, &it->spec);
		if (r < 0) {
			ok = false;
		} else if (r > 0) {
			it->is_spec = true;
		} else if (!xs_valid_name(t)) {
			err_at(P, xs_here(P, t->col), "invalid service name '%.*s'", t->len, t->s);
			ok = false;
		} else {
			it->name = xs_tokdup(t);
		}
		if (i + 1 < n) {
			if (toks[i + 1].type != T_COMMA) {
				err_at(P, xs_here(P, toks[i + 1].col), "expected ',' before '%.*s'",
				       toks[i + 1].len, toks[i + 1].s);
				return false;
			}
			i++;
			if (i + 1 == n) {
				err_at(P, xs_here(P, toks[i].col), "trailing ','");
				return false;
			}
		}
	}
	return ok;
}

/* ---- Prefixes -------------------------------------------------------------- */

void xs_format_prefix(char *buf, size_t size, const struct xs_prefix *p)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, p->len);
}

/* Returns false after reporting a bad prefix. */
bool xs_parse_prefix(struct parser *P, const struct tok *t, struct xs_prefix *px)
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
		err_at(P, xs_here(P, t->col + alen + 1),
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
	px->loc = xs_here(P, t->col);
	if (host_bits) {
		xs_format_prefix(norm, sizeof(norm), px);
		warn_at(P, px->loc, "'%.*s' has host bits set; it is read as %s", t->len, t->s,
			norm);
	}
	return true;
bad:
	err_at(P, xs_here(P, t->col),
	       "invalid address or prefix '%.*s' (expected ADDRESS or ADDRESS/LENGTH, IPv4 or "
	       "IPv6)",
	       t->len, t->s);
	return false;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Overlay statements, grant times and the list of overlays (overlay.h). */
#include "overlay.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* A growing string; `bad` once an allocation failed. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool bad;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->bad)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *ns = realloc(b->s, cap);

		if (!ns) {
			b->bad = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* Finish: *out, or -ENOMEM, or -E2BIG when the kernel record cannot hold it. */
static int sb_done(struct sbuf *b, char **out, char *err, size_t errlen)
{
	if (b->bad || !b->s) {
		free(b->s);
		return -ENOMEM;
	}
	if (b->len >= XS_OVERLAY_TEXT_LEN) {
		int ret = fail(
			err, errlen, -E2BIG,
			"the statement '%.60s...' is %zu bytes: at most %d fit in the kernel's "
			"record; name fewer targets (one command each)",
			b->s, b->len, XS_OVERLAY_TEXT_LEN - 1);
		free(b->s);
		return ret;
	}
	*out = b->s;
	return 0;
}

/* [s, e) without blanks at either end. */
static void strip(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

static bool valid_name(const char *s, size_t n)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/*
 * An address or prefix in canonical form ("10.0.0.5", "fd00::/64") into
 * buf; false when `s` is not one.
 */
static bool canon_addr(const char *s, size_t n, char *buf, size_t size)
{
	char tmp[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned char a[16];
	long len = -1;
	int family;

	if (!n || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	slash = strchr(tmp, '/');
	if (slash) {
		*slash++ = '\0';
		if (!isdigit((unsigned char)*slash))
			return false;
		len = strtol(slash, &end, 10);
		if (*end)
			return false;
	}
	family = strchr(tmp, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, tmp, a) != 1)
		return false;
	if (len > (family == AF_INET ? 32 : 128))
		return false;
	if (!inet_ntop(family, a, buf, (socklen_t)size))
		return false;
	if (len >= 0 && len != (family == AF_INET ? 32 : 128))
		snprintf(buf + strlen(buf), size - strlen(buf), "/%ld", len);
	return true;
}

/* A target or endpoint [s, s+n): a name or an address, canonical, into b. */
static int add_target(struct sbuf *b, const char *s, size_t n, const char *what, char *err,
		      size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 8];

	if (canon_addr(s, n, addr, sizeof(addr))) {
		sb_puts(b, addr);
		return 0;
	}
	if (!valid_name(s, n) || (n == 6 && !strncmp(s, "strict", 6)) ||
	    (n == 8 && !strncmp(s, "forensic", 8)))
		return fail(err, errlen, -EINVAL,
			    "bad %s '%.*s': a segment's name, an address or a prefix "
			    "(ADDR/LEN)",
			    what, (int)n, s);
	sb_add(b, s, n);
	return 0;
}

/* A comma-separated list of targets in [s, e) into b as "A, B". */
static int add_list(struct sbuf *b, const char *s, const char *e, const char *what, bool *any,
		    char *err, size_t errlen)
{
	const char *ls, *le;

	strip(&s, &e);
	ls = s;
	le = e;
	while (s < e) {
		const char *c = memchr(s, ',', (size_t)(e - s)), *ie = c ? c : e, *is = s;
		int ret;

		strip(&is, &ie);
		if (is == ie)
			return fail(err, errlen, -EINVAL, "an empty %s in '%.*s'", what,
				    (int)(le - ls), ls);
		if (*any)
			sb_puts(b, ", ");
		ret = add_target(b, is, (size_t)(ie - is), what, err, errlen);
		if (ret)
			return ret;
		*any = true;
		s = c ? c + 1 : e;
		if (c && s == e)
			return fail(err, errlen, -EINVAL, "an empty %s after ','", what);
	}
	return 0;
}

/* Services "A, B" from [s, e): names or inline specs (tcp/443, udp/53-54). */
static int add_services(struct sbuf *b, const char *s, const char *e, char *err, size_t errlen)
{
	const char *ls, *le;
	bool any = false;

	strip(&s, &e);
	ls = s;
	le = e;
	while (s < e) {
		const char *c = memchr(s, ',', (size_t)(e - s)), *ie = c ? c : e, *is = s;

		strip(&is, &ie);
		if (is == ie)
			return fail(err, errlen, -EINVAL, "an empty service in '%.*s'",
				    (int)(le - ls), ls);
		for (const char *p = is; p < ie; p++)
			if (!(isalnum((unsigned char)*p) || strchr("_-./", *p)))
				return fail(err, errlen, -EINVAL,
					    "bad service '%.*s': a service's name or PROTO/PORT "
					    "(tcp/443, udp/53-54, icmp/8)",
					    (int)(ie - is), is);
		if (any)
			sb_puts(b, ", ");
		sb_add(b, is, (size_t)(ie - is));
		any = true;
		s = c ? c + 1 : e;
		if (c && s == e)
			return fail(err, errlen, -EINVAL, "an empty service after ','");
	}
	if (!any)
		return fail(err, errlen, -EINVAL, "no services after ':'");
	return 0;
}

int xs_overlay_quarantine_text(const char *const *targets, size_t ntargets, bool strict,
			       const char *const *forensic, size_t nforensic, char **out, char *err,
			       size_t errlen)
{
	struct sbuf b = { 0 };
	bool any = false;
	int ret = 0;

	*out = NULL;
	if (strict && nforensic)
		return fail(err, errlen, -EINVAL,
			    "--strict and --forensic together: a strict quarantine lets nothing "
			    "in, a forensic one lets the named tools in");
	sb_puts(&b, "quarantine ");
	for (size_t i = 0; !ret && i < ntargets; i++) {
		const char *t = targets[i];

		ret = add_list(&b, t, t + strlen(t), "target", &any, err, errlen);
	}
	if (!ret && !any)
		ret = fail(err, errlen, -EINVAL,
			   "name what to quarantine (an address or a segment)");
	if (!ret && strict)
		sb_puts(&b, " strict");
	for (size_t i = 0; !ret && i < nforensic; i++) {
		const char *f = forensic[i], *colon = strchr(f, ':'),
			   *e = colon ? colon : f + strlen(f);
		bool segs = false;

		sb_puts(&b, " forensic ");
		ret = add_list(&b, f, e, "forensic segment", &segs, err, errlen);
		if (!ret && !segs)
			ret = fail(err, errlen, -EINVAL,
				   "--forensic '%s': name the forensic segment (SEG[:SERVICES])",
				   f);
		if (!ret && colon) {
			sb_puts(&b, " : ");
			ret = add_services(&b, colon + 1, f + strlen(f), err, errlen);
		}
	}
	if (ret) {
		free(b.s);
		return ret;
	}
	return sb_done(&b, out, err, errlen);
}

/* The `:` that introduces the services in [s, e): one with a blank on
 * either side, else the last one. NULL: none. */
static const char *services_colon(const char *s, const char *e)
{
	const char *last = NULL;

	for (const char *p = s; p < e; p++) {
		if (*p != ':')
			continue;
		if ((p > s && isspace((unsigned char)p[-1])) ||
		    (p + 1 < e && isspace((unsigned char)p[1])) || p + 1 == e)
			return p;
		last = p;
	}
	return last;
}

int xs_overlay_grant_text(const char *const *words, size_t nwords, char **out, char *err,
			  size_t errlen)
{
	struct sbuf j = { 0 }, b = { 0 };
	const char *s, *e, *arrow, *colon;
	bool any = false;
	int ret;

	*out = NULL;
	for (size_t i = 0; i < nwords; i++) {
		if (i)
			sb_puts(&j, " ");
		sb_puts(&j, words[i]);
	}
	if (j.bad)
		return -ENOMEM;
	if (!j.s || !*j.s) {
		free(j.s);
		return fail(err, errlen, -EINVAL, "expected SRC -> DST : SERVICES");
	}
	s = j.s;
	e = s + j.len;
	arrow = strstr(s, "->");
	if (!arrow || strstr(arrow + 2, "->")) {
		ret = fail(err, errlen, -EINVAL,
			   "expected SRC -> DST : SERVICES (one '->'), found '%s'", j.s);
		goto out;
	}
	colon = services_colon(arrow + 2, e);
	if (!colon) {
		ret = fail(err, errlen, -EINVAL,
			   "expected SRC -> DST : SERVICES (the services after ':'), found '%s'",
			   j.s);
		goto out;
	}
	sb_puts(&b, "grant ");
	ret = add_list(&b, s, arrow, "source", &any, err, errlen);
	if (!ret && !any)
		ret = fail(err, errlen, -EINVAL, "no source before '->'");
	if (!ret) {
		sb_puts(&b, " -> ");
		any = false;
		ret = add_list(&b, arrow + 2, colon, "destination", &any, err, errlen);
		if (!ret && !any)
			ret = fail(err, errlen, -EINVAL, "no destination after '->'");
	}
	if (!ret) {
		sb_puts(&b, " : ");
		ret = add_services(&b, colon + 1, e, err, errlen);
	}
	if (!ret)
		ret = sb_done(&b, out, err, errlen);
	else
		free(b.s);
	b.s = NULL;
out:
	free(b.s);
	free(j.s);
	return ret;
}

int xs_parse_time(const char *s, uint64_t *secs)
{
	struct tm tm;
	const char *p = s[0] == '@' ? s + 1 : s, *end;
	bool digits = *p != '\0';
	time_t t;

	for (const char *q = p; *q; q++)
		digits = digits && isdigit((unsigned char)*q);
	if (digits) {
		char *e;
		unsigned long long v;

		errno = 0;
		v = strtoull(p, &e, 10);
		if (errno || *e || v > (1ULL << 40))
			return -EINVAL;
		*secs = v;
		return 0;
	}
	static const char *const fmts[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
					    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M" };
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (!end || *end)
			continue;
		tm.tm_isdst = -1; /* local time, whatever its daylight saving */
		t = mktime(&tm);
		if (t == (time_t)-1 || t < 0)
			return -EINVAL;
		*secs = (uint64_t)t;
		return 0;
	}
	return -EINVAL;
}

int xs_grant_expiry(const char *dur, const char *until, uint64_t now, uint64_t max,
		    const char *conf, uint64_t *expires, char *err, size_t errlen)
{
	char have[32], lim[32];
	uint64_t end, secs;
	int ret;

	if (!dur == !until)
		return fail(err, errlen, -EINVAL,
			    "say how long the grant lasts: --for DURATION (90s, 15m, 8h, 1d) or "
			    "--until TIME ('YYYY-MM-DD HH:MM[:SS]' local time, or unix seconds), "
			    "one of them");
	if (dur) {
		ret = xs_parse_duration(dur, &secs);
		if (ret == -ERANGE)
			return fail(err, errlen, -EINVAL, "--for '%s': too long", dur);
		if (ret)
			return fail(err, errlen, -EINVAL,
				    "--for '%s': a duration with its unit, as 90s, 15m, 8h or 1d",
				    dur);
		end = now + secs;
	} else {
		if (xs_parse_time(until, &end))
			return fail(err, errlen, -EINVAL,
				    "--until '%s': a time as 'YYYY-MM-DD HH:MM[:SS]' (local time) "
				    "or unix seconds",
				    until);
		if (end <= now)
			return fail(err, errlen, -EINVAL, "--until '%s': that time has passed",
				    until);
		secs = end - now;
	}
	if (max && secs > max) {
		xs_format_duration(secs, have, sizeof(have));
		xs_format_duration(max, lim, sizeof(lim));
		return fail(err, errlen, -EINVAL,
			    "a grant of %s is longer than grant-max = %s in %s allows: grant less "
			    "(or raise grant-max there)",
			    have, lim, conf ? conf : "the configuration");
	}
	*expires = end;
	return 0;
}

void xs_overlay_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Where the targets of a quarantine statement end: " strict", " forensic "
 * or the end. */
static const char *targets_end(const char *s)
{
	const char *e = s + strlen(s), *p;

	p = strstr(s, " strict");
	if (p && (p[7] == '\0' || p[7] == ' ') && p < e)
		e = p;
	p = strstr(s, " forensic");
	if (p && (p[9] == '\0' || p[9] == ' ') && p < e)
		e = p;
	return e;
}

int xs_overlay_quarantine_parts(const char *text, char ***targets, size_t *ntargets, char **mode)
{
	const char *s, *e;
	char **v = NULL;
	size_t n = 0;

	*targets = NULL;
	*ntargets = 0;
	*mode = NULL;
	if (strncmp(text, "quarantine ", 11))
		return -EINVAL;
	s = text + 11;
	e = targets_end(s);
	while (s < e) {
		const char *c = memchr(s, ',', (size_t)(e - s)), *ie = c ? c : e, *is = s;
		char **nv;

		strip(&is, &ie);
		if (is < ie) {
			nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv || !(nv[n] = strndup(is, (size_t)(ie - is)))) {
				xs_overlay_strv_free(nv ? nv : v, n);
				return -ENOMEM;
			}
			v = nv;
			n++;
		}
		s = c ? c + 1 : e;
	}
	*mode = strdup(e);
	if (!*mode) {
		xs_overlay_strv_free(v, n);
		return -ENOMEM;
	}
	*targets = v;
	*ntargets = n;
	return 0;
}

void xs_overlay_mode(const char *text, char *buf, size_t size)
{
	const char *e = strncmp(text, "quarantine ", 11) ? "" : targets_end(text + 11);

	while (*e == ' ')
		e++;
	if (!strcmp(e, "strict"))
		snprintf(buf, size, "strict");
	else if (*e)
		snprintf(buf, size, "%s", e);
	else
		snprintf(buf, size, "forensic (the policy's)");
}

bool xs_overlay_target_eq(const char *a, const char *b)
{
	char ca[INET6_ADDRSTRLEN + 8], cb[INET6_ADDRSTRLEN + 8];

	if (canon_addr(a, strlen(a), ca, sizeof(ca)) && canon_addr(b, strlen(b), cb, sizeof(cb)))
		return !strcmp(ca, cb);
	return !strcmp(a, b);
}

int xs_overlay_list_add(struct xs_overlay_list *l, const struct xs_overlay_in *o)
{
	struct xs_overlay_in *nv = realloc(l->v, (l->n + 1) * sizeof(*nv)), *d;

	if (!nv)
		return -ENOMEM;
	l->v = nv;
	d = &l->v[l->n];
	*d = *o;
	d->text = strdup(o->text ? o->text : "");
	d->reason = strdup(o->reason ? o->reason : "");
	if (!d->text || !d->reason) {
		free((char *)d->text);
		free((char *)d->reason);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

void xs_overlay_list_del(struct xs_overlay_list *l, size_t i)
{
	free((char *)l->v[i].text);
	free((char *)l->v[i].reason);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
}

ssize_t xs_overlay_list_find(const struct xs_overlay_list *l, uint32_t number)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].number == number)
			return (ssize_t)i;
	return -1;
}

void xs_overlay_list_free(struct xs_overlay_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].text);
		free((char *)l->v[i].reason);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* `quarantine` + targets but v[skip] + mode, into *out. */
static int rejoin(char **v, size_t n, size_t skip, const char *mode, char **out)
{
	struct sbuf b = { 0 };
	bool any = false;

	sb_puts(&b, "quarantine ");
	for (size_t i = 0; i < n; i++) {
		if (i == skip)
			continue;
		if (any)
			sb_puts(&b, ", ");
		sb_puts(&b, v[i]);
		any = true;
	}
	sb_puts(&b, mode);
	if (b.bad) {
		free(b.s);
		return -ENOMEM;
	}
	*out = b.s;
	return 0;
}

int xs_overlay_release_target(struct xs_overlay_list *l, const char *target, size_t *released)
{
	*released = 0;
	for (size_t i = 0; i < l->n;) {
		char **v = NULL, *mode = NULL, *text = NULL;
		size_t n = 0, hit = SIZE_MAX;
		int err;

		if (l->v[i].kind != XS_OVERLAY_QUARANTINE ||
		    xs_overlay_quarantine_parts(l->v[i].text, &v, &n, &mode)) {
			i++;
			continue;
		}
		for (size_t k = 0; k < n && hit == SIZE_MAX; k++)
			if (xs_overlay_target_eq(v[k], target))
				hit = k;
		if (hit == SIZE_MAX) {
			xs_overlay_strv_free(v, n);
			free(mode);
			i++;
			continue;
		}
		(*released)++;
		if (n == 1) {
			xs_overlay_strv_free(v, n);
			free(mode);
			xs_overlay_list_del(l, i);
			continue;
		}
		err = rejoin(v, n, hit, mode, &text);
		xs_overlay_strv_free(v, n);
		free(mode);
		if (err)
			return err;
		free((char *)l->v[i].text);
		l->v[i].text = text;
		i++;
	}
	return 0;
}

int xs_failsafe_check(const char *value, char *err, size_t errlen)
{
	const char *e = value + strlen(value), *colon = services_colon(value, e), *s = value;
	struct sbuf b = { 0 };
	bool any = false;
	int ret = 0;

	if (!colon)
		return fail(err, errlen, -EINVAL,
			    "bad value '%s' for failsafe: expected ADDR[/LEN][, ADDR[/LEN]]... : "
			    "SERVICES (as 192.0.2.10 : tcp/22)",
			    value);
	while (!ret && s < colon) {
		const char *c = memchr(s, ',', (size_t)(colon - s)), *ie = c ? c : colon, *is = s;
		char addr[INET6_ADDRSTRLEN + 8];

		strip(&is, &ie);
		if (is == ie || !canon_addr(is, (size_t)(ie - is), addr, sizeof(addr)))
			ret = fail(err, errlen, -EINVAL,
				   "bad address '%.*s' in failsafe: an IPv4 or IPv6 address or "
				   "prefix (ADDR/LEN); the failsafe ports are addresses of this "
				   "host, not segments",
				   (int)(ie - is), is);
		any = true;
		s = c ? c + 1 : colon;
	}
	if (!ret && !any)
		ret = fail(err, errlen, -EINVAL, "failsafe '%s': no address before ':'", value);
	if (!ret)
		ret = add_services(&b, colon + 1, e, err, errlen);
	free(b.s);
	return ret;
}

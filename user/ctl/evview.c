// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Events decoded, rendered and filtered, for watch and the agent (evview.h). */
#include "evview.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "confirm.h"
#include "json.h"
#include "show.h"
#include "util.h"

const char *xs_evfrom_name(enum xs_evfrom from)
{
	switch (from) {
	case XS_EV_HISTORY:
		return "history";
	case XS_EV_BUFFERED:
		return "buffered";
	default:
		return "live";
	}
}

/* ---- Decoding ---- */

/*
 * The origin of `rule_id` as the event's generation knew it. The set is
 * reused two generations later, so the origin is trusted only while the
 * set's metadata still names that generation (checked before and after).
 */
bool xs_evview_origin(const struct xs_maps *m, uint32_t generation, uint32_t rule_id,
		      struct xs_origin *o)
{
	struct xs_policy_meta a, b;
	uint32_t set = generation & 1;

	if (!generation || !rule_id)
		return false;
	if (xs_meta_get(m, set, &a) || a.generation != generation)
		return false;
	if (xs_origin_get(m, set, rule_id, o))
		return false;
	return xs_meta_get(m, set, &b) == 0 && b.generation == generation;
}

void xs_evview_iface(const struct xs_maps *m, uint32_t ifindex, char *buf, size_t size)
{
	struct xs_iface e;
	char tmp[IF_NAMESIZE];

	if (bpf_map_lookup_elem(m->ifaces, &ifindex, &e) == 0) {
		snprintf(buf, size, "%.*s", (int)sizeof(e.name), e.name);
		return;
	}
	if (if_indextoname(ifindex, tmp))
		snprintf(buf, size, "%s", tmp);
	else
		snprintf(buf, size, "if%u", ifindex);
}

/*
 * A rollback (XS_EVF_ROLLBACK): the policy of the set gone back to, under
 * the event's generation, or under the new one a command or the agent gave
 * it since when they made the rollback explicit.
 */
static void rollback_file(const struct xs_maps *m, const struct xs_event *e, char *buf, size_t size)
{
	struct xs_policy_meta meta;
	struct xs_confirm c;

	if (xs_meta_get(m, e->generation & 1, &meta) == 0 && meta.file[0] &&
	    (meta.generation == e->generation ||
	     (xs_confirm_read(m, &c) == 0 && meta.generation == c.generation &&
	      c.undone_generation == e->generation + 1)))
		snprintf(buf, size, "%.*s", (int)sizeof(meta.file), meta.file);
	else
		snprintf(buf, size, "?");
}

int xs_evview_decode(const struct xs_maps *m, int64_t mono_to_real_ns, const void *rec, size_t size,
		     struct xs_evview *v, struct xs_evview_buf *buf)
{
	const struct xs_event *e = rec;
	uint32_t set;

	memset(v, 0, sizeof(*v));
	if (size < sizeof(e->kind) || e->kind != XS_REC_EVENT)
		return -ENOMSG;
	if (size < sizeof(*e) || e->snap_len > XS_EV_SNAP_MAX || size < sizeof(*e) + e->snap_len)
		return -EBADMSG;
	v->e = *e;
	if (e->snap_len) {
		memcpy(buf->snap, (const uint8_t *)rec + sizeof(*e), e->snap_len);
		v->snap = buf->snap;
	}
	v->real_ns = (int64_t)e->ts_ns + mono_to_real_ns;
	xs_evview_iface(m, e->ifindex, buf->iface, sizeof(buf->iface));
	v->iface = buf->iface;
	buf->src_seg[0] = buf->dst_seg[0] = buf->policy_file[0] = '\0';
	v->src_seg = buf->src_seg;
	v->dst_seg = buf->dst_seg;
	v->file = v->text = "";
	v->policy_file = buf->policy_file;
	if (e->flags & XS_EVF_ROLLBACK) {
		rollback_file(m, e, buf->policy_file, sizeof(buf->policy_file));
		return 0;
	}
	set = e->generation & 1;
	xs_segment_name(m, set, e->src_seg, buf->src_seg, sizeof(buf->src_seg));
	xs_segment_name(m, set, e->dst_seg, buf->dst_seg, sizeof(buf->dst_seg));
	v->have_origin = xs_evview_origin(m, e->generation, e->rule_id, &buf->o);
	if (v->have_origin) {
		v->line = buf->o.line;
		v->file = buf->o.file;
		v->text = buf->o.text;
	}
	return 0;
}

struct xs_evview *xs_evview_dup(const struct xs_evview *v)
{
	const char *strs[] = { v->iface, v->src_seg, v->dst_seg, v->file, v->text, v->policy_file };
	size_t len[6], size = sizeof(*v) + v->e.snap_len;
	struct xs_evview *c;
	char *p;

	for (size_t i = 0; i < 6; i++) {
		len[i] = strlen(strs[i]) + 1;
		size += len[i];
	}
	c = malloc(size);
	if (!c)
		return NULL;
	*c = *v;
	p = (char *)(c + 1);
	if (v->e.snap_len) {
		memcpy(p, v->snap, v->e.snap_len);
		c->snap = (const uint8_t *)p;
		p += v->e.snap_len;
	}
	for (size_t i = 0; i < 6; i++) {
		memcpy(p, strs[i], len[i]);
		strs[i] = p;
		p += len[i];
	}
	c->iface = strs[0];
	c->src_seg = strs[1];
	c->dst_seg = strs[2];
	c->file = strs[3];
	c->text = strs[4];
	c->policy_file = strs[5];
	return c;
}

/* ---- Rendering ---- */

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* "HH:MM:SS" (UTC) and the milliseconds of the event's wall-clock time. */
static void clock_of(const struct xs_evview *v, char *when, size_t size, long long *ms)
{
	time_t secs = (time_t)(v->real_ns / (int64_t)XS_NS_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(when, size, "%H:%M:%S", &tm);
	*ms = (long long)(v->real_ns % (int64_t)XS_NS_PER_SEC) / 1000000;
}

void xs_evview_text(FILE *f, const struct xs_evview *v, enum xs_evfrom from)
{
	const struct xs_event *e = &v->e;
	char src[64], dst[64], s[96], d[96], pbuf[16], when[32], origin[160];
	bool arp = e->flags & XS_EVF_ARP;
	const char *proto = pbuf;
	long long ms;

	clock_of(v, when, sizeof(when), &ms);
	if (e->flags & XS_EVF_ROLLBACK) {
		fprintf(f,
			"%s.%03lld %s ROLLBACK the confirm deadline passed: the datapath went back "
			"to generation %u (%s) %s\n",
			when, ms, v->iface, e->generation, v->policy_file, xs_evfrom_name(from));
		return;
	}
	xs_show_addr(e->family, e->saddr, true, src, sizeof(src));
	xs_show_addr(e->family, e->daddr, true, dst, sizeof(dst));
	if (arp) { /* a bound port's spoofed ARP: sender -> target address */
		snprintf(s, sizeof(s), "%s", src);
		snprintf(d, sizeof(d), "%s", dst);
		proto = "arp";
	} else if (is_icmp(e->proto)) {
		snprintf(s, sizeof(s), "%s", src);
		snprintf(d, sizeof(d), "%s", dst);
		snprintf(pbuf, sizeof(pbuf), "%s/%u", e->proto == IPPROTO_ICMP ? "icmp" : "icmp6",
			 e->icmp_type);
	} else {
		snprintf(s, sizeof(s), "%s:%u", src, e->sport);
		snprintf(d, sizeof(d), "%s:%u", dst, e->dport);
		proto = xs_show_proto(e->proto, pbuf, sizeof(pbuf));
	}
	if (v->have_origin)
		snprintf(origin, sizeof(origin), "%s:%u", v->file, v->line);
	else
		snprintf(origin, sizeof(origin), "-");
	fprintf(f, "%s.%03lld %s %s %s %s %s -> %s %s -> %s %s %s %s\n", when, ms, v->iface,
		e->hook == XS_HOOK_EGRESS ? "out" : "in", xs_verdict_upper(e->verdict), proto, s, d,
		v->src_seg, v->dst_seg, xs_show_reason(e->reason), origin, xs_evfrom_name(from));
}

static void put_base64(FILE *f, const uint8_t *b, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	fputc('"', f);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)b[i] << 16;

		if (i + 1 < n)
			w |= (uint32_t)b[i + 1] << 8;
		if (i + 2 < n)
			w |= b[i + 2];
		fputc(tab[w >> 18 & 63], f);
		fputc(tab[w >> 12 & 63], f);
		fputc(i + 1 < n ? tab[w >> 6 & 63] : '=', f);
		fputc(i + 2 < n ? tab[w & 63] : '=', f);
	}
	fputc('"', f);
}

/* The text line as a JSON string (without its newline). */
static void put_text(FILE *f, const struct xs_evview *v, enum xs_evfrom from)
{
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);

	if (!m) {
		fputs("null", f);
		return;
	}
	xs_evview_text(m, v, from);
	fclose(m);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	json_print_str(f, line);
	free(line);
}

static void put_tail(FILE *f, const struct xs_evview *v, enum xs_evfrom from, unsigned int flags)
{
	fprintf(f, ",\"live\":%s", from == XS_EV_LIVE ? "true" : "false");
	if (from == XS_EV_BUFFERED)
		fputs(",\"buffered\":true", f);
	if ((flags & XS_EVJ_SNAP) && v->e.snap_len && v->snap) {
		fprintf(f, ",\"snap_len\":%u,\"pkt_len\":%u,\"snap\":", v->e.snap_len,
			v->e.pkt_len);
		put_base64(f, v->snap, v->e.snap_len);
	}
	if (flags & XS_EVJ_TEXT) {
		fputs(",\"text\":", f);
		put_text(f, v, from);
	}
	fputs("}\n", f);
}

void xs_evview_json(FILE *f, const struct xs_evview *v, enum xs_evfrom from, unsigned int flags)
{
	const struct xs_event *e = &v->e;
	bool arp = e->flags & XS_EVF_ARP;
	char src[64], dst[64], pbuf[16];
	int64_t real = v->real_ns;

	fprintf(f, "{\"time\":%lld.%09lld,\"iface\":", (long long)(real / (int64_t)XS_NS_PER_SEC),
		(long long)(real % (int64_t)XS_NS_PER_SEC));
	json_print_str(f, v->iface);
	if (e->flags & XS_EVF_ROLLBACK) {
		fprintf(f, ",\"rollback\":true,\"generation\":%u,\"file\":", e->generation);
		json_print_str(f, v->policy_file);
		put_tail(f, v, from, flags);
		return;
	}
	xs_show_addr(e->family, e->saddr, false, src, sizeof(src));
	xs_show_addr(e->family, e->daddr, false, dst, sizeof(dst));
	fprintf(f,
		",\"dir\":\"%s\",\"verdict\":\"%s\",\"reason\":\"%s\",\"proto\":\"%s\","
		"\"family\":%u,\"src\":\"%s\",\"dst\":\"%s\"",
		e->hook == XS_HOOK_EGRESS ? "out" : "in", xs_show_verdict(e->verdict),
		xs_show_reason(e->reason),
		arp ? "arp" : xs_show_proto(e->proto, pbuf, sizeof(pbuf)), e->family, src, dst);
	if (arp)
		; /* sender and target addresses only */
	else if (is_icmp(e->proto))
		fprintf(f, ",\"icmp_type\":%u,\"icmp_code\":%u,\"icmp_id\":%u", e->icmp_type,
			e->icmp_code, e->sport);
	else
		fprintf(f, ",\"sport\":%u,\"dport\":%u", e->sport, e->dport);
	fputs(",\"src_seg\":", f);
	json_print_str(f, v->src_seg);
	fputs(",\"dst_seg\":", f);
	json_print_str(f, v->dst_seg);
	fprintf(f,
		",\"src_seg_id\":%u,\"dst_seg_id\":%u,\"generation\":%u,\"rule_id\":%u,"
		"\"len\":%u,\"origin\":",
		e->src_seg, e->dst_seg, e->generation, e->rule_id, e->pkt_len);
	if (v->have_origin) {
		fputs("{\"file\":", f);
		json_print_str(f, v->file);
		fprintf(f, ",\"line\":%u,\"text\":", v->line);
		json_print_str(f, v->text);
		fputs("}", f);
	} else {
		fputs("null", f);
	}
	put_tail(f, v, from, flags);
}

/* ---- Filters ---- */

void xs_evfilter_init(struct xs_evfilter *f)
{
	memset(f, 0, sizeof(*f));
	f->verdict = -1;
	f->port = -1;
}

static int bad(char *why, size_t size, const char *fmt, const char *s)
{
	snprintf(why, size, fmt, s);
	return -EINVAL;
}

int xs_evfilter_verdict(struct xs_evfilter *f, const char *s, char *why, size_t size)
{
	if (!strcmp(s, "allow"))
		f->verdict = XS_VERDICT_ALLOW;
	else if (!strcmp(s, "drop"))
		f->verdict = XS_VERDICT_DROP;
	else if (!strcmp(s, "audit"))
		f->verdict = XS_VERDICT_AUDIT;
	else
		return bad(why, size, "unknown verdict '%s': use allow, drop or audit", s);
	return 0;
}

int xs_evfilter_segment(struct xs_evfilter *f, const char *s, char *why, size_t size)
{
	if (!*s || strlen(s) >= sizeof(f->segment))
		return bad(why, size, "bad segment name '%s': 1 to 119 bytes", s);
	snprintf(f->segment, sizeof(f->segment), "%s", s);
	return 0;
}

/* A whole number in 0..max, nothing else (no sign, no blank). */
static int whole(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int xs_evfilter_port(struct xs_evfilter *f, const char *s, char *why, size_t size)
{
	uint64_t v;

	if (whole(s, 65535, &v))
		return bad(why, size, "bad port '%s': use 0..65535", s);
	f->port = (long)v;
	return 0;
}

int xs_evfilter_iface(struct xs_evfilter *f, const char *s, char *why, size_t size)
{
	size_t len = strlen(s);

	if (!len || len >= sizeof(f->iface) || strpbrk(s, "/: \t\n") || !strcmp(s, ".") ||
	    !strcmp(s, ".."))
		return bad(why, size,
			   "bad interface name '%s': 1 to 15 bytes, no '/', ':' or blank", s);
	memcpy(f->iface, s, len + 1);
	return 0;
}

int xs_evfilter_addr(struct xs_evfilter *f, const char *s, char *why, size_t size)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	uint8_t addr[16] = { 0 }, family;
	unsigned int max;
	uint64_t plen;

	if (!hlen || hlen >= sizeof(host))
		goto syntax;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1) {
		family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		family = 6;
		max = 128;
	} else {
		goto syntax;
	}
	plen = max;
	if (slash && whole(slash + 1, 255, &plen))
		goto syntax;
	if (plen > max) {
		snprintf(why, size, "bad prefix length in '%s': at most %u for an IPv%u address", s,
			 max, family);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int keep = plen > i * 8 ? (unsigned int)plen - i * 8 : 0;

		if (keep < 8)
			addr[i] &= (uint8_t)(0xff00 >> keep);
	}
	f->family = family;
	f->plen = (uint8_t)plen;
	memcpy(f->addr, addr, sizeof(addr));
	return 0;
syntax:
	return bad(why, size,
		   "bad address '%s': an IPv4 or IPv6 address, with /LEN or without "
		   "(10.0.0.0/8, fd00::/16, 10.0.0.1)",
		   s);
}

int xs_evfilter_rule(struct xs_evfilter *f, const char *s, char *why, size_t size)
{
	const char *colon = strrchr(s, ':');
	uint64_t line;

	if (!colon || colon == s || whole(colon + 1, UINT32_MAX, &line) || !line ||
	    (size_t)(colon - s) >= sizeof(f->rule_file))
		return bad(why, size,
			   "bad rule '%s': FILE:LINE as watch and stats show it (farm.policy:12)",
			   s);
	memcpy(f->rule_file, s, (size_t)(colon - s));
	f->rule_file[colon - s] = '\0';
	f->rule_line = (unsigned int)line;
	return 0;
}

int xs_evfilter_since(const char *s, uint64_t *secs, char *why, size_t size)
{
	if (xs_parse_duration(s, secs))
		return bad(why, size,
			   "bad duration '%s': a number with its unit, as 90s, 5m, 1h or 1h30m", s);
	return 0;
}

int xs_evfilter_count(const char *s, uint64_t *n, char *why, size_t size)
{
	if (whole(s, 1ULL << 40, n) || !*n)
		return bad(why, size, "bad count '%s': use a positive number", s);
	return 0;
}

/* Is `a` (family `family`) in the filter's prefix? */
static bool in_prefix(const struct xs_evfilter *f, uint8_t family, const uint8_t *a)
{
	unsigned int full = f->plen / 8, rest = f->plen % 8;

	if (family != f->family)
		return false;
	if (memcmp(a, f->addr, full))
		return false;
	return !rest || (a[full] & (uint8_t)(0xff00 >> rest)) == f->addr[full];
}

/* FILE as given names `file`: the same, or its last path components. */
static bool same_file(const char *given, const char *file)
{
	size_t lg = strlen(given), lf = strlen(file);

	if (lg > lf)
		return false;
	if (strcmp(file + lf - lg, given))
		return false;
	return lg == lf || given[0] == '/' || file[lf - lg - 1] == '/';
}

bool xs_evfilter_match(const struct xs_evfilter *f, const struct xs_evview *v)
{
	const struct xs_event *e = &v->e;

	if (e->flags & XS_EVF_ROLLBACK)
		return true;
	if (f->verdict >= 0 && e->verdict != f->verdict)
		return false;
	if (f->port >= 0 && (is_icmp(e->proto) || (e->sport != f->port && e->dport != f->port)))
		return false;
	if (f->segment[0] && strcmp(f->segment, v->src_seg) && strcmp(f->segment, v->dst_seg))
		return false;
	if (f->iface[0] && strcmp(f->iface, v->iface))
		return false;
	if (f->family && !in_prefix(f, e->family, e->saddr) && !in_prefix(f, e->family, e->daddr))
		return false;
	if (f->rule_line &&
	    (!v->have_origin || v->line != f->rule_line || !same_file(f->rule_file, v->file)))
		return false;
	return true;
}

bool xs_evfilter_any(const struct xs_evfilter *f)
{
	return f->verdict >= 0 || f->segment[0] || f->port >= 0 || f->iface[0] || f->family ||
	       f->rule_line;
}

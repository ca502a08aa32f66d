// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The compiled form as text and as JSON: what `xdpseg compile` prints. */
#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#include "internal.h"
#include "json.h"

static const char *act_name(uint8_t a)
{
	return a == XS_ACT_ALLOW ? "allow" : a == XS_ACT_DENY ? "deny" : "none";
}

static void fmt_addr(char *buf, size_t size, int family, const uint8_t *a, uint32_t len)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
	snprintf(buf, size, "%s/%u", s, len);
}

/* "tcp 1024-2047", "tcp *", "* *" */
static void fmt_ports(char *buf, size_t size, const struct xs_rule_key *k)
{
	uint32_t lo, hi, bits;
	const char *pn;

	if (k->prefixlen == XS_RULE_PLEN_PAIR) {
		snprintf(buf, size, "any");
		return;
	}
	pn = xs_proto_name(k->proto);
	bits = k->prefixlen - XS_RULE_PLEN_PROTO;
	lo = ntohs(k->port);
	hi = lo + (bits == 16 ? 0 : (1u << (16 - bits)) - 1);
	if (bits == 0)
		snprintf(buf, size, "%s", pn ? pn : "?");
	else if (lo == hi)
		snprintf(buf, size, "%s/%u", pn ? pn : "?", lo);
	else
		snprintf(buf, size, "%s/%u-%u", pn ? pn : "?", lo, hi);
}

/* A unix second as UTC, "2025-01-31T08:00:00Z". */
static const char *utc_time(char *buf, size_t size, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%llu", (unsigned long long)t);
	return buf;
}

/* The record of the overlay whose origin is `id`, or NULL. */
static const struct xs_overlay *overlay_of(const struct xs_compiled *c, uint32_t id)
{
	for (size_t i = 0; i < c->noverlays; i++)
		if (c->overlays[i].rule_id == id)
			return &c->overlays[i].rec;
	return NULL;
}

static const struct xs_origin_entry *origin_of(const struct xs_policy *p, uint32_t id)
{
	if (id == 0 || id > p->norigins)
		return NULL;
	return &p->origins[id - 1];
}

/* "#ID FILE:LINE" (the file name escaped as in diagnostics). */
static void put_origin(FILE *out, const struct xs_policy *p, uint32_t id)
{
	const struct xs_origin_entry *o = origin_of(p, id);

	fprintf(out, "#%u ", id);
	xs_put_escaped(out, o ? o->file : "?");
	fprintf(out, ":%d", o ? o->line : 0);
}

static void print_bind_entry(FILE *out, int family, uint32_t bind, const uint8_t *addr,
			     uint32_t prefixlen, uint32_t val)
{
	char buf[96];

	fmt_addr(buf, sizeof(buf), family, addr, prefixlen - XS_BIND_PLEN(0));
	fprintf(out, "  bind %-4u %-43s -> %u%s\n", bind, buf, val, val ? "" : " (not allowed)");
}

static void print_binds(FILE *out, const struct xs_compiled *c)
{
	const struct xs_policy *p = c->policy;

	fprintf(out, "\nbinds (%zu):\n", p->nbindings);
	for (size_t i = 1; i < c->nbinds; i++) {
		const struct xs_bind_info *b = &c->binds[i];

		fprintf(out, "  %4zu %-16s -> %-12s ", i, b->pattern,
			xs_policy_segment_name(p, b->seg));
		put_origin(out, p, b->rule_id);
		fputc('\n', out);
	}
	fprintf(out, "\nbind ipv4 entries (%zu):\n", c->nbind4);
	for (size_t i = 0; i < c->nbind4; i++)
		print_bind_entry(out, 4, c->bind4[i].key.bind, c->bind4[i].key.addr,
				 c->bind4[i].key.prefixlen, c->bind4[i].val);
	fprintf(out, "\nbind ipv6 entries (%zu):\n", c->nbind6);
	for (size_t i = 0; i < c->nbind6; i++)
		print_bind_entry(out, 6, c->bind6[i].key.bind, c->bind6[i].key.addr,
				 c->bind6[i].key.prefixlen, c->bind6[i].val);
}

/* " grant until TIME, then deny #7 FILE:LINE", " forensic", " failsafe" */
static void print_flags(FILE *out, const struct xs_compiled *c, const struct xs_rule_val *v)
{
	const struct xs_overlay *o = overlay_of(c, v->rule_id);
	char when[40];

	if (v->flags & XS_RULEF_FORENSIC)
		fprintf(out, " forensic");
	if (v->flags & XS_RULEF_FAILSAFE)
		fprintf(out, " failsafe");
	if (!(v->flags & XS_RULEF_GRANT))
		return;
	if (o) /* the record's end: the entry's is CLOCK_TAI */
		utc_time(when, sizeof(when), o->expires);
	else
		snprintf(when, sizeof(when), "TAI %u", v->expires);
	fprintf(out, " grant%s until %s, then %s", (v->flags & XS_RULEF_DRAIN) ? " (drain)" : "",
		when, act_name(v->fb_action));
	if (v->fb_action) {
		fputc(' ', out);
		put_origin(out, c->policy, v->fb_rule_id);
	}
}

/* The overlays in force (nothing when there are none). */
static void print_overlays(FILE *out, const struct xs_compiled *c)
{
	char when[40];

	if (!c->noverlays)
		return;
	fprintf(out, "\noverlays (%zu):\n", c->noverlays);
	for (size_t i = 0; i < c->noverlays; i++) {
		const struct xs_overlay *o = &c->overlays[i].rec;

		fprintf(out, "  %-10s %4u #%u ",
			o->kind == XS_OVERLAY_GRANT ? "grant" : "quarantine", o->number,
			c->overlays[i].rule_id);
		xs_put_escaped(out, o->text);
		if (o->kind == XS_OVERLAY_GRANT)
			fprintf(out, " until %s", utc_time(when, sizeof(when), o->expires));
		if (o->reason[0]) {
			fprintf(out, " (");
			xs_put_escaped(out, o->reason);
			fputc(')', out);
		}
		fputc('\n', out);
	}
}

void xs_compiled_print(FILE *out, const struct xs_compiled *c)
{
	const struct xs_policy *p = c->policy;
	char buf[96];

	fprintf(out, "hash ");
	for (int i = 0; i < 32; i++)
		fprintf(out, "%02x", c->hash[i]);
	fprintf(out, "\n\nsegments (%zu):\n", p->nsegments + 1);
	for (size_t i = 0; i < c->nseginfo; i++) {
		const struct xs_seg_info *si = &c->seginfo[i];

		fprintf(out, "  %4zu %-16s in %-5s (", i, xs_policy_segment_name(p, (uint16_t)i),
			act_name(si->in_action));
		put_origin(out, p, si->in_rule_id);
		fprintf(out, ") out %-5s (", act_name(si->out_action));
		put_origin(out, p, si->out_rule_id);
		fprintf(out, ")%s", si->monitor ? " monitor" : "");
		if (si->flags & XS_SEGF_QUARANTINE) {
			fprintf(out, " quarantine (");
			put_origin(out, p, si->quar_rule_id);
			fputc(')', out);
		}
		fputc('\n', out);
	}
	fprintf(out, "\nipv4 prefixes (%zu):\n", c->nv4);
	for (size_t i = 0; i < c->nv4; i++) {
		fmt_addr(buf, sizeof(buf), 4, c->v4[i].key.addr, c->v4[i].key.prefixlen);
		fprintf(out, "  %-43s -> %s\n", buf, xs_policy_segment_name(p, c->v4[i].val.seg));
	}
	fprintf(out, "\nipv6 prefixes (%zu):\n", c->nv6);
	for (size_t i = 0; i < c->nv6; i++) {
		fmt_addr(buf, sizeof(buf), 6, c->v6[i].key.addr, c->v6[i].key.prefixlen);
		fprintf(out, "  %-43s -> %s\n", buf, xs_policy_segment_name(p, c->v6[i].val.seg));
	}
	fprintf(out, "\nrules (%zu entries):\n", c->nrules);
	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_entry *e = &c->rules[i];

		fmt_ports(buf, sizeof(buf), &e->key);
		fprintf(out, "  %-12s -> %-12s %-18s /%-2u %-5s ",
			xs_policy_segment_name(p, e->key.src_seg),
			xs_policy_segment_name(p, e->key.dst_seg), buf, e->key.prefixlen,
			act_name(e->val.action));
		put_origin(out, p, e->val.rule_id);
		print_flags(out, c, &e->val);
		fputc('\n', out);
	}
	print_binds(out, c);
	print_overlays(out, c);
}

static void json_origin(FILE *out, const struct xs_policy *p, uint32_t id)
{
	const struct xs_origin_entry *o = origin_of(p, id);

	if (!o) {
		fprintf(out, "null");
		return;
	}
	fprintf(out, "{\"file\":");
	json_print_str(out, o->file);
	fprintf(out, ",\"line\":%d}", o->line);
}

static void json_binds(FILE *out, const struct xs_compiled *c)
{
	const struct xs_policy *p = c->policy;
	char buf[96];

	fprintf(out, ",\"link_local_id\":%u", c->setinfo.ll_seg);
	json_print_key(out, "binds", 0);
	fprintf(out, "[");
	for (size_t i = 1; i < c->nbinds; i++) {
		const struct xs_bind_info *b = &c->binds[i];

		fprintf(out, "%s{\"id\":%zu,\"pattern\":", i > 1 ? "," : "", i);
		json_print_str(out, b->pattern);
		fprintf(out, ",\"segment\":");
		json_print_str(out, xs_policy_segment_name(p, b->seg));
		fprintf(out, ",\"segment_id\":%u,\"rule_id\":%u,\"origin\":", b->seg, b->rule_id);
		json_origin(out, p, b->rule_id);
		fprintf(out, "}");
	}
	fprintf(out, "]");
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t n = fam == 4 ? c->nbind4 : c->nbind6;

		json_print_key(out, fam == 4 ? "bind_ipv4" : "bind_ipv6", 0);
		fprintf(out, "[");
		for (size_t i = 0; i < n; i++) {
			const uint8_t *a = fam == 4 ? c->bind4[i].key.addr : c->bind6[i].key.addr;
			uint32_t plen =
				fam == 4 ? c->bind4[i].key.prefixlen : c->bind6[i].key.prefixlen;
			uint32_t bind = fam == 4 ? c->bind4[i].key.bind : c->bind6[i].key.bind;
			uint32_t val = fam == 4 ? c->bind4[i].val : c->bind6[i].val;

			fmt_addr(buf, sizeof(buf), fam, a, plen - XS_BIND_PLEN(0));
			fprintf(out, "%s{\"bind\":%u,\"prefix\":", i ? "," : "", bind);
			json_print_str(out, buf);
			fprintf(out, ",\"value\":%u}", val);
		}
		fprintf(out, "]");
	}
}

/* ,"overlays":[...] when there are any. */
static void json_overlays(FILE *out, const struct xs_compiled *c)
{
	if (!c->noverlays)
		return;
	json_print_key(out, "overlays", 0);
	fprintf(out, "[");
	for (size_t i = 0; i < c->noverlays; i++) {
		const struct xs_overlay *o = &c->overlays[i].rec;

		fprintf(out,
			"%s{\"number\":%u,\"kind\":\"%s\",\"rule_id\":%u,\"created\":%llu,"
			"\"expires\":%llu,\"uid\":%u,\"drain\":%s,\"text\":",
			i ? "," : "", o->number,
			o->kind == XS_OVERLAY_GRANT ? "grant" : "quarantine",
			c->overlays[i].rule_id, (unsigned long long)o->created,
			(unsigned long long)o->expires, o->uid,
			(o->flags & XS_RULEF_DRAIN) ? "true" : "false");
		json_print_str(out, o->text);
		fprintf(out, ",\"reason\":");
		json_print_str(out, o->reason);
		fprintf(out, "}");
	}
	fprintf(out, "]");
}

void xs_compiled_print_json(FILE *out, const struct xs_compiled *c)
{
	const struct xs_policy *p = c->policy;
	char buf[96];

	fprintf(out, "{");
	json_print_key(out, "hash", 1);
	json_print_hex(out, c->hash, 32);
	json_print_key(out, "segments", 0);
	fprintf(out, "[");
	for (size_t i = 0; i < c->nseginfo; i++) {
		const struct xs_seg_info *si = &c->seginfo[i];

		fprintf(out, "%s{\"id\":%zu", i ? "," : "", i);
		json_print_key(out, "name", 0);
		json_print_str(out, xs_policy_segment_name(p, (uint16_t)i));
		fprintf(out, ",\"in\":\"%s\",\"out\":\"%s\",\"monitor\":%s",
			act_name(si->in_action), act_name(si->out_action),
			si->monitor ? "true" : "false");
		fprintf(out, ",\"in_rule_id\":%u,\"out_rule_id\":%u", si->in_rule_id,
			si->out_rule_id);
		if (i && p->segments[i - 1].derived)
			fprintf(out, ",\"derived\":true,\"parent\":%u", p->segments[i - 1].parent);
		if (si->flags & XS_SEGF_QUARANTINE)
			fprintf(out, ",\"quarantine_rule_id\":%u", si->quar_rule_id);
		fprintf(out, "}");
	}
	fprintf(out, "]");
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t n = fam == 4 ? c->nv4 : c->nv6;

		json_print_key(out, fam == 4 ? "ipv4" : "ipv6", 0);
		fprintf(out, "[");
		for (size_t i = 0; i < n; i++) {
			const uint8_t *a = fam == 4 ? c->v4[i].key.addr : c->v6[i].key.addr;
			uint32_t len = fam == 4 ? c->v4[i].key.prefixlen : c->v6[i].key.prefixlen;
			uint16_t seg = fam == 4 ? c->v4[i].val.seg : c->v6[i].val.seg;

			fmt_addr(buf, sizeof(buf), fam, a, len);
			fprintf(out, "%s{\"prefix\":", i ? "," : "");
			json_print_str(out, buf);
			fprintf(out, ",\"segment\":");
			json_print_str(out, xs_policy_segment_name(p, seg));
			fprintf(out, ",\"segment_id\":%u}", seg);
		}
		fprintf(out, "]");
	}
	json_print_key(out, "rules", 0);
	fprintf(out, "[");
	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_entry *e = &c->rules[i];
		uint32_t bits = e->key.prefixlen > XS_RULE_PLEN_PROTO
					? e->key.prefixlen - XS_RULE_PLEN_PROTO
					: 0;
		uint32_t lo = ntohs(e->key.port);

		fprintf(out, "%s{\"src\":", i ? "," : "");
		json_print_str(out, xs_policy_segment_name(p, e->key.src_seg));
		fprintf(out, ",\"dst\":");
		json_print_str(out, xs_policy_segment_name(p, e->key.dst_seg));
		fprintf(out, ",\"src_id\":%u,\"dst_id\":%u,\"prefixlen\":%u", e->key.src_seg,
			e->key.dst_seg, e->key.prefixlen);
		if (e->key.prefixlen == XS_RULE_PLEN_PAIR)
			fprintf(out, ",\"proto\":\"any\"");
		else
			fprintf(out, ",\"proto\":\"%s\",\"port_lo\":%u,\"port_hi\":%u",
				xs_proto_name(e->key.proto) ? xs_proto_name(e->key.proto) : "?",
				e->key.prefixlen == XS_RULE_PLEN_PROTO ? 0 : lo,
				e->key.prefixlen == XS_RULE_PLEN_PROTO
					? 65535
					: lo + (1u << (16 - bits)) - 1);
		fprintf(out,
			",\"action\":\"%s\",\"rule_id\":%u,\"origin\":", act_name(e->val.action),
			e->val.rule_id);
		json_origin(out, p, e->val.rule_id);
		if (e->val.flags & XS_RULEF_FORENSIC)
			fprintf(out, ",\"forensic\":true");
		if (e->val.flags & XS_RULEF_FAILSAFE)
			fprintf(out, ",\"failsafe\":true");
		if (e->val.flags & XS_RULEF_GRANT)
			fprintf(out,
				",\"grant\":{\"expires_tai\":%u,\"drain\":%s,\"then\":\"%s\","
				"\"then_rule_id\":%u}",
				e->val.expires, (e->val.flags & XS_RULEF_DRAIN) ? "true" : "false",
				act_name(e->val.fb_action), e->val.fb_rule_id);
		fprintf(out, "}");
	}
	fprintf(out, "]");
	json_binds(out, c);
	json_print_key(out, "origins", 0);
	fprintf(out, "[");
	for (size_t i = 0; i < p->norigins; i++) {
		static const char *const kinds[] = { "?",	"rule",	   "default",	 "implicit",
						     "segment", "bind",	   "quarantine", "forensic",
						     "grant",	"failsafe" };
		const struct xs_origin_entry *o = &p->origins[i];

		fprintf(out, "%s{\"rule_id\":%u,\"kind\":\"%s\",\"file\":", i ? "," : "",
			o->rule_id, o->kind <= XS_ORIGIN_FAILSAFE ? kinds[o->kind] : "?");
		json_print_str(out, o->file);
		fprintf(out, ",\"line\":%d,\"text\":", o->line);
		json_print_str(out, o->text ? o->text : "");
		fprintf(out, "}");
	}
	fprintf(out, "]");
	json_overlays(out, c);
	fprintf(out, "}\n");
}

void xs_origin_print(FILE *out, const struct xs_compiled *c, uint32_t id)
{
	const struct xs_origin_entry *o = xs_compiled_origin(c, id);

	if (!o) {
		fprintf(out, "#%u", id);
		return;
	}
	xs_print_escaped(out, o->file);
	fprintf(out, ":%d: ", o->line);
	xs_print_escaped(out, o->text);
}

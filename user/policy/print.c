// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The compiled form as text and as JSON: what `xdpseg compile` prints. */
#include <arpa/inet.h>
#include <stdio.h>

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

static const struct xs_origin_entry *origin_of(const struct xs_policy *p, uint32_t id)
{
	if (id == 0 || id > p->norigins)
		return NULL;
	return &p->origins[id - 1];
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
		const struct xs_origin_entry *oi = origin_of(p, si->in_rule_id);
		const struct xs_origin_entry *oo = origin_of(p, si->out_rule_id);

		fprintf(out, "  %4zu %-16s in %-5s (#%u %s:%d) out %-5s (#%u %s:%d)%s\n", i,
			xs_policy_segment_name(p, (uint16_t)i), act_name(si->in_action),
			si->in_rule_id, oi ? oi->file : "?", oi ? oi->line : 0,
			act_name(si->out_action), si->out_rule_id, oo ? oo->file : "?",
			oo ? oo->line : 0, si->monitor ? " monitor" : "");
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
		const struct xs_origin_entry *o = origin_of(p, e->val.rule_id);

		fmt_ports(buf, sizeof(buf), &e->key);
		fprintf(out, "  %-12s -> %-12s %-18s /%-2u %-5s #%u %s:%d\n",
			xs_policy_segment_name(p, e->key.src_seg),
			xs_policy_segment_name(p, e->key.dst_seg), buf, e->key.prefixlen,
			act_name(e->val.action), e->val.rule_id, o ? o->file : "?",
			o ? o->line : 0);
	}
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
		fprintf(out, ",\"in_rule_id\":%u,\"out_rule_id\":%u}", si->in_rule_id,
			si->out_rule_id);
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
		const struct xs_origin_entry *o = origin_of(p, e->val.rule_id);
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
		if (o) {
			fprintf(out, "{\"file\":");
			json_print_str(out, o->file);
			fprintf(out, ",\"line\":%d}", o->line);
		} else {
			fprintf(out, "null");
		}
		fprintf(out, "}");
	}
	fprintf(out, "]");
	json_print_key(out, "origins", 0);
	fprintf(out, "[");
	for (size_t i = 0; i < p->norigins; i++) {
		static const char *const kinds[] = { "?", "rule", "default", "implicit",
						     "segment" };
		const struct xs_origin_entry *o = &p->origins[i];

		fprintf(out, "%s{\"rule_id\":%u,\"kind\":\"%s\",\"file\":", i ? "," : "",
			o->rule_id, o->kind <= 4 ? kinds[o->kind] : "?");
		json_print_str(out, o->file);
		fprintf(out, ",\"line\":%d,\"text\":", o->line);
		json_print_str(out, o->text ? o->text : "");
		fprintf(out, "}");
	}
	fprintf(out, "]}\n");
}

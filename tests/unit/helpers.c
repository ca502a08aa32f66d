// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "helpers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mem_resolve(void *ctx, const char *from, const char *name, size_t limit, struct xs_file *out)
{
	const struct memfs *fs = ctx;

	for (size_t i = 0; i < fs->n; i++) {
		const struct memfile *f = &fs->files[i];
		size_t len = f->len ? f->len : strlen(f->text);

		if (strcmp(f->name, name))
			continue;
		if (len > limit)
			return -EFBIG;
		out->path = strdup(name);
		out->text = malloc(len + 1);
		if (!out->path || !out->text) {
			free(out->path);
			free(out->text);
			return -ENOMEM;
		}
		memcpy(out->text, f->text, len);
		out->text[len] = '\0';
		out->len = len;
		return 0;
	}
	return -ENOENT;
}

int compile_files(const struct memfile *files, size_t n, struct xs_compiled **out,
		  struct xs_diags *d)
{
	struct memfs fs = { files, n };

	return xs_policy_compile(files[0].name, mem_resolve, &fs, out, d);
}

int compile_text(const char *text, struct xs_compiled **out, struct xs_diags *d)
{
	struct memfile f = { "main.policy", text, 0 };

	return compile_files(&f, 1, out, d);
}

char *compile_diags(const char *path, xs_resolve_fn resolve, void *ctx, int *rc)
{
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	char *s;

	xs_diags_init(&d);
	*rc = xs_policy_compile(path, resolve, ctx, &c, &d);
	s = diags_str(&d);
	xs_diags_free(&d);
	xs_compiled_free(c);
	return s;
}

static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static uint16_t seg_lookup(const struct xs_compiled *c, uint8_t family, const uint8_t *addr)
{
	int best = -1;
	uint16_t seg = XS_SEG_WORLD;

	if (family == 4) {
		for (size_t i = 0; i < c->nv4; i++)
			if ((int)c->v4[i].key.prefixlen > best &&
			    bits_equal(c->v4[i].key.addr, addr, c->v4[i].key.prefixlen))
				best = (int)c->v4[i].key.prefixlen, seg = c->v4[i].val.seg;
	} else {
		for (size_t i = 0; i < c->nv6; i++)
			if ((int)c->v6[i].key.prefixlen > best &&
			    bits_equal(c->v6[i].key.addr, addr, c->v6[i].key.prefixlen))
				best = (int)c->v6[i].key.prefixlen, seg = c->v6[i].val.seg;
	}
	return seg;
}

void compiled_decide(const struct xs_compiled *c, const struct xs_flow *f, struct xs_decision *d)
{
	struct xs_rule_key k = { 0 };
	const struct xs_rule_entry *hit = NULL;
	const struct xs_seg_info *s, *t;

	memset(d, 0, sizeof(*d));
	d->src_seg = seg_lookup(c, f->family, f->saddr);
	d->dst_seg = seg_lookup(c, f->family, f->daddr);
	/* link-local behind a bound port: the port's segment */
	if (d->src_seg && d->src_seg == c->setinfo.ll_seg && f->src_port_seg)
		d->src_seg = f->src_port_seg;
	if (d->dst_seg && d->dst_seg == c->setinfo.ll_seg && f->dst_port_seg)
		d->dst_seg = f->dst_port_seg;
	k.src_seg = d->src_seg;
	k.dst_seg = d->dst_seg;
	k.proto = f->proto;
	k.port = htons(f->dport);
	/* longest prefix over the key's data bytes, as the kernel's LPM trie */
	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_entry *e = &c->rules[i];

		if (hit && e->key.prefixlen <= hit->key.prefixlen)
			continue;
		if (bits_equal((const uint8_t *)&e->key.src_seg, (const uint8_t *)&k.src_seg,
			       e->key.prefixlen))
			hit = e;
	}
	s = &c->seginfo[d->src_seg];
	t = &c->seginfo[d->dst_seg];
	if (hit && hit->val.action == XS_ACT_DENY) {
		d->verdict = XS_VERDICT_DROP, d->reason = XS_REASON_DENY_RULE;
		d->rule_id = hit->val.rule_id;
	} else if (hit) {
		d->verdict = XS_VERDICT_ALLOW, d->reason = XS_REASON_RULE;
		d->rule_id = hit->val.rule_id;
	} else if (s->out_action == XS_ACT_DENY) {
		d->verdict = XS_VERDICT_DROP, d->reason = XS_REASON_DEFAULT_OUT;
		d->rule_id = s->out_rule_id;
	} else if (t->in_action == XS_ACT_DENY) {
		d->verdict = XS_VERDICT_DROP, d->reason = XS_REASON_DEFAULT_IN;
		d->rule_id = t->in_rule_id;
	} else {
		d->verdict = XS_VERDICT_ALLOW, d->reason = XS_REASON_DEFAULT;
		d->rule_id = t->in_rule_id;
	}
	if (d->verdict == XS_VERDICT_DROP && (s->monitor || t->monitor))
		d->verdict = XS_VERDICT_AUDIT;
}

bool compiled_bind_allows(const struct xs_compiled *c, uint32_t bind, uint8_t family,
			  const uint8_t *addr)
{
	int best = -1;
	uint32_t val = 0;

	if (seg_lookup(c, family, addr) == c->setinfo.ll_seg)
		return true;
	if (family == 4) {
		for (size_t i = 0; i < c->nbind4; i++) {
			const struct xs_bind4_entry *e = &c->bind4[i];
			int len = (int)e->key.prefixlen - 32;

			if (e->key.bind == bind && len > best &&
			    bits_equal(e->key.addr, addr, (unsigned int)len))
				best = len, val = e->val;
		}
	} else {
		for (size_t i = 0; i < c->nbind6; i++) {
			const struct xs_bind6_entry *e = &c->bind6[i];
			int len = (int)e->key.prefixlen - 32;

			if (e->key.bind == bind && len > best &&
			    bits_equal(e->key.addr, addr, (unsigned int)len))
				best = len, val = e->val;
		}
	}
	return best >= 0 && val == bind;
}

char *diags_str(const struct xs_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%s:%d:%d: %s: %s\n", d->v[i].file, d->v[i].line, d->v[i].col,
			d->v[i].severity == XS_SEV_ERROR     ? "error"
			: d->v[i].severity == XS_SEV_WARNING ? "warning"
							     : "note",
			d->v[i].msg);
	fclose(f);
	return buf;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The service catalog: the names `map` and `suggest` give observed ports,
 * from a policy file's `service` statements and the presets
 * (citrix-services.policy, found as `include` finds it).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"

#define PRESETS_FILE "citrix-services.policy"

/* A top-level file that only includes the presets; the rest from the file system. */
struct presets_ctx {
	struct xs_resolve_fs_ctx fs;
};

static int resolve_presets(void *ctx, const char *from, const char *name, size_t limit,
			   struct xs_file *out)
{
	struct presets_ctx *x = ctx;
	static const char top[] = "include \"" PRESETS_FILE "\"\n";

	if (from)
		return xs_resolve_fs(&x->fs, from, name, limit, out);
	out->path = strdup(name);
	out->text = strdup(top);
	if (!out->path || !out->text)
		return -ENOMEM;
	out->len = sizeof(top) - 1;
	return 0;
}

static uint64_t spec_ports(const struct xs_portspec *p)
{
	uint64_t n = (uint64_t)p->hi - p->lo + 1;

	return p->proto ? n : n * 256; /* every protocol: wider than any one */
}

static int add_services(struct learn_catalog *cat, const struct xs_policy *p)
{
	size_t n0 = cat->n;
	struct learn_service *v = realloc(cat->v, (cat->n + p->nservices + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	cat->v = v;
	for (size_t i = 0; p->services && i < p->nservices; i++) {
		const struct xs_service *s = &p->services[i];
		struct learn_service *d;
		bool dup = false;

		for (size_t j = 0; j < n0 && !dup; j++)
			dup = !strcmp(cat->v[j].name, s->name);
		if (dup || !s->nspecs)
			continue;
		d = &cat->v[cat->n];
		memset(d, 0, sizeof(*d));
		d->name = s->name;
		d->specs = s->specs;
		d->nspecs = s->nspecs;
		d->leaf = s->leaf;
		d->order = (unsigned int)cat->n;
		for (size_t k = 0; k < s->nspecs; k++) {
			uint64_t n = spec_ports(&s->specs[k]);

			d->nports += n;
			d->range |= n >= LEARN_RANGE_MIN;
		}
		cat->n++;
	}
	return 0;
}

/* The presets found on the search path (none found is not an error). */
static int add_presets(struct learn_catalog *cat, const char *const *dirs, size_t ndirs)
{
	struct presets_ctx px = { .fs = { .dirs = dirs, .ndirs = ndirs } };
	struct xs_diags d;
	int ret = 0;

	xs_diags_init(&d);
	if (!xs_policy_compile(PRESETS_FILE, resolve_presets, &px, &cat->owned[1], &d)) {
		cat->presets = true;
		ret = add_services(cat, cat->owned[1]->policy);
	}
	xs_diags_free(&d);
	return ret;
}

int learn_catalog_load(struct learn_catalog *cat, const char *policy_file, const char *const *dirs,
		       size_t ndirs, char *err, size_t errlen)
{
	struct xs_resolve_fs_ctx fs = { .dirs = dirs, .ndirs = ndirs };
	struct xs_diags d;
	int ret = 0;

	memset(cat, 0, sizeof(*cat));
	snprintf(cat->presets_name, sizeof(cat->presets_name), "%s", PRESETS_FILE);
	if (policy_file) {
		xs_diags_init(&d);
		ret = xs_policy_compile(policy_file, xs_resolve_fs, &fs, &cat->owned[0], &d);
		xs_diags_free(&d);
		if (ret) {
			snprintf(err, errlen, "%s: the policy does not compile (xdpseg check %s)",
				 policy_file, policy_file);
			goto fail;
		}
		ret = add_services(cat, cat->owned[0]->policy);
		if (ret)
			goto fail;
	}
	ret = add_presets(cat, dirs, ndirs);
	if (ret)
		goto fail;
	return 0;
fail:
	learn_catalog_free(cat);
	return ret;
}

int learn_catalog_load_compiled(struct learn_catalog *cat, const struct xs_compiled *c,
				const char *const *dirs, size_t ndirs, char *err, size_t errlen)
{
	const struct xs_policy *p = c->policy;
	struct xs_diags d;
	int ret = 0;

	memset(cat, 0, sizeof(*cat));
	snprintf(cat->presets_name, sizeof(cat->presets_name), "%s", PRESETS_FILE);
	if ((!p || !p->services) && c->nsources) {
		/* read back: its services are in the sources it was compiled from */
		xs_diags_init(&d);
		ret = xs_policy_compile(c->sources[0].path, xs_resolve_sources, (void *)c,
					&cat->owned[0], &d);
		xs_diags_free(&d);
		if (ret) {
			snprintf(err, errlen,
				 "%s: the policy's sources, as applied, do not compile again",
				 c->sources[0].path);
			goto fail;
		}
		p = cat->owned[0]->policy;
	}
	if (p) {
		ret = add_services(cat, p);
		if (ret)
			goto fail;
	}
	ret = add_presets(cat, dirs, ndirs);
	if (ret)
		goto fail;
	return 0;
fail:
	learn_catalog_free(cat);
	return ret;
}

void learn_catalog_free(struct learn_catalog *cat)
{
	free(cat->v);
	xs_compiled_free(cat->owned[0]);
	xs_compiled_free(cat->owned[1]);
	memset(cat, 0, sizeof(*cat));
}

bool learn_service_holds(const struct learn_service *s, uint8_t proto, int32_t port)
{
	for (size_t i = 0; i < s->nspecs; i++) {
		const struct xs_portspec *p = &s->specs[i];

		if (p->proto && p->proto != proto)
			continue;
		if (port < 0 ? (p->lo == 0 && p->hi == 65535) : (port >= p->lo && port <= p->hi))
			return true;
	}
	return false;
}

const struct learn_service *learn_port_service(const struct learn_catalog *cat, uint8_t proto,
					       int32_t port)
{
	const struct learn_service *best = NULL;

	for (size_t i = 0; i < cat->n; i++) {
		const struct learn_service *s = &cat->v[i];

		if (!s->leaf || !learn_service_holds(s, proto, port))
			continue;
		if (!best || s->nports < best->nports ||
		    (s->nports == best->nports && s->order < best->order))
			best = s;
	}
	return best;
}

void learn_port_text(char *buf, size_t size, uint8_t proto, int32_t port)
{
	const char *n = proto == IPPROTO_TCP	  ? "tcp"
			: proto == IPPROTO_UDP	  ? "udp"
			: proto == IPPROTO_ICMP	  ? "icmp"
			: proto == IPPROTO_ICMPV6 ? "icmpv6"
						  : NULL;

	if (n && port >= 0)
		snprintf(buf, size, "%s/%d", n, port);
	else if (n)
		snprintf(buf, size, "%s", n);
	else
		snprintf(buf, size, "ip-%u", proto);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The bytes a policy was compiled from: a resolver that records what
 * another one reads (xs_compiled.sources), and a resolver over a compiled
 * policy's sources (xs_resolve_sources()), so that a running policy is
 * recompiled with new overlays from the bytes in force, not from the files
 * as edited since.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void xs_files_free(struct xs_file *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].text);
	}
	free(v);
}

/* A copy of f (path, bytes and a NUL, id) into *out, or -ENOMEM. */
static int copy_file(const struct xs_file *f, struct xs_file *out)
{
	out->path = strdup(f->path);
	out->text = malloc(f->len + 1);
	if (!out->path || !out->text) {
		free(out->path);
		free(out->text);
		out->path = out->text = NULL;
		return -ENOMEM;
	}
	memcpy(out->text, f->text, f->len);
	out->text[f->len] = '\0';
	out->len = f->len;
	memcpy(out->id, f->id, sizeof(out->id));
	out->id[sizeof(out->id) - 1] = '\0';
	return 0;
}

int xs_record_resolve(void *ctx, const char *from, const char *name, size_t limit,
		      struct xs_file *out)
{
	struct xs_recorder *r = ctx;
	struct xs_file *f;
	int err = r->fn(r->ctx, from, name, limit, out);

	if (err || !out->path || !out->text || out->len > limit)
		return err; /* the parser reports it */
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].path, out->path))
			return 0; /* read again: an include once, or a cycle */
	f = xs_push(&r->v, &r->n, &r->cap, sizeof(*f));
	if (!f || copy_file(out, f)) {
		if (f)
			r->n--;
		r->nomem = true;
	}
	return 0;
}

/*
 * "dir/./a/../b" as "dir/b", in place (as the file-system resolver names
 * files), so that an include's name finds the source it named.
 */
static void normalise(char *path)
{
	char *out = path, *p = path;
	size_t keep = *path == '/';

	out += keep;
	p += keep;
	while (*p) {
		char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.' && (size_t)(out - path) > keep &&
			   !((size_t)(out - path) >= keep + 3 && !strncmp(out - 3, "../", 3))) {
			out--;
			while (out > path + keep && out[-1] != '/')
				out--;
		} else {
			memmove(out, p, n);
			out += n;
			if (e)
				*out++ = '/';
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (out > path + keep && out[-1] == '/')
		out--;
	if (out == path)
		*out++ = '.';
	*out = '\0';
}

/* The source named `path`, or NULL. */
static const struct xs_file *source_named(const struct xs_compiled *c, const char *path)
{
	for (size_t i = 0; i < c->nsources; i++)
		if (!strcmp(c->sources[i].path, path))
			return &c->sources[i];
	return NULL;
}

/* The source whose path ends in "/name", the first one (a search path's). */
static const struct xs_file *source_ending(const struct xs_compiled *c, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < c->nsources; i++) {
		const char *p = c->sources[i].path;
		size_t k = strlen(p);

		if (k > n && p[k - n - 1] == '/' && !strcmp(p + k - n, name))
			return &c->sources[i];
	}
	return NULL;
}

/*
 * As the file-system resolver found it: the top-level file; an include
 * next to its including file; else as named; else in a folder of the
 * search path (a source whose path ends in the name).
 */
int xs_resolve_sources(void *ctx, const char *from, const char *name, size_t limit,
		       struct xs_file *out)
{
	const struct xs_compiled *c = ctx;
	const struct xs_file *f = NULL;
	const char *slash = from ? strrchr(from, '/') : NULL;
	char *p = NULL, *n = NULL;

	if (!c || !c->nsources)
		return -ENOENT;
	if (!from) {
		f = source_named(c, name);
		if (!f)
			f = &c->sources[0];
	} else {
		if (name[0] == '/' || !slash)
			p = strdup(name);
		else if (asprintf(&p, "%.*s/%s", (int)(slash - from), from, name) < 0)
			p = NULL;
		n = strdup(name);
		if (!p || !n) {
			free(p);
			free(n);
			return -ENOMEM;
		}
		normalise(p);
		normalise(n);
		f = source_named(c, p);
		if (!f)
			f = source_named(c, name);
		if (!f && name[0] != '/')
			f = source_ending(c, n);
		free(p);
		free(n);
	}
	if (!f) {
		snprintf(out->err, sizeof(out->err),
			 "not among the sources of the policy in force");
		return -ENOENT;
	}
	if (f->len > limit)
		return -EFBIG;
	return copy_file(f, out);
}

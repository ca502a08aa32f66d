// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The file-system resolver: the only part of the policy compiler that does I/O. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* Read a whole file, NUL-terminated. */
static int read_all(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (cap - n < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);

		n += r;
		if (r == 0) {
			if (ferror(f))
				err = -EIO;
			break;
		}
	}
out:
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/*
 * Lexically normalise a path in place: drop "." components and fold
 * "dir/.." pairs, so one file is one path for cycle detection.
 */
static void normalise(char *path)
{
	char *out = path, *p = path;
	bool abs = *path == '/';
	size_t keep = abs ? 1 : 0; /* never fold above this */

	if (abs)
		out++, p++;
	while (*p) {
		char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.' && out - path > (ptrdiff_t)keep &&
			   !(out - path >= (ptrdiff_t)keep + 3 && !strncmp(out - 3, "../", 3))) {
			/* back up over the previous component */
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

int xs_resolve_fs(void *ctx, const char *from, const char *name, char **path, char **text,
		  size_t *len)
{
	const char *slash = from ? strrchr(from, '/') : NULL;
	char *p;
	int err;

	if (name[0] == '/' || !slash) {
		p = strdup(name);
	} else if (asprintf(&p, "%.*s/%s", (int)(slash - from), from, name) < 0) {
		p = NULL;
	}
	if (!p)
		return -ENOMEM;
	normalise(p);
	err = read_all(p, text, len);
	if (err) {
		free(p);
		return err;
	}
	*path = p;
	return 0;
}

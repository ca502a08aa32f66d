// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The file-system resolver: the only part of the policy compiler that does I/O. */
#include <errno.h>
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
	err = read_all(p, text, len);
	if (err) {
		free(p);
		return err;
	}
	*path = p;
	return 0;
}

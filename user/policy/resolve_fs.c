// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The file-system resolver: the only part of the policy compiler that does I/O. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

/* Where `include` looks after the including file's folder (meson sets it to
 * DATADIR/xdpseg/policies, where `meson install` puts the presets). */
#ifndef XS_POLICY_DATADIR
#define XS_POLICY_DATADIR "/usr/share/xdpseg/policies"
#endif

static const char *kind_of(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "an unknown kind of file";
}

/* Refuse anything but a regular file, naming what it is. */
static int regular(const struct stat *st, struct xs_file *out)
{
	if (S_ISREG(st->st_mode))
		return 0;
	snprintf(out->err, sizeof(out->err), "not a regular file (%s)", kind_of(st->st_mode));
	return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
}

/*
 * Read at most limit bytes of a regular file, NUL-terminated; -EFBIG if it
 * has more. The kind is checked before the open (which never blocks: no
 * FIFO or device is opened) and again on the open file (it may have been
 * replaced in between).
 */
static int read_file(const char *path, size_t limit, struct xs_file *out)
{
	struct stat st;
	size_t n = 0, cap;
	char *buf = NULL;
	int fd, err;

	if (stat(path, &st))
		return -errno;
	err = regular(&st, out);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	err = regular(&st, out);
	if (err)
		goto out;
	if ((uint64_t)st.st_size > limit) {
		err = -EFBIG;
		goto out;
	}
	/* st_size may be wrong (procfs says 0) or the file may grow: read on, but
	 * never more than limit + 1 bytes (the one that says "too long") */
	cap = (size_t)st.st_size + 1 > 4096 ? (size_t)st.st_size + 1 : 4096;
	if (cap > limit + 1)
		cap = limit + 1;
	for (;;) {
		ssize_t r;

		if (!buf || n == cap) {
			char *nb;

			if (buf && cap > limit)
				break;
			if (buf)
				cap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > limit) {
		err = -EFBIG;
		goto out;
	}
	buf[n] = '\0';
	out->text = buf;
	out->len = n;
	snprintf(out->id, sizeof(out->id), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	buf = NULL;
out:
	close(fd);
	free(buf);
	return err;
}

/*
 * Lexically normalise a path in place: drop "." components and fold
 * "dir/.." pairs, so that diagnostics name a file simply. (Cycles and
 * repeated includes are found by device and inode, symbolic links too.)
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

/* Read `p` (malloc'd, normalised here) into *out, which takes it over. */
static int read_as(char *p, size_t limit, struct xs_file *out)
{
	int err;

	normalise(p);
	err = read_file(p, limit, out);
	if (err) {
		free(p);
		return err;
	}
	out->path = p;
	return 0;
}

const char *xs_policy_path(void)
{
	const char *env = getenv("XDPSEG_POLICY_PATH");

	return env ? env : XS_POLICY_DATADIR;
}

/* The folders an include was looked for in, quoted: "no such file in 'a', 'b'". */
struct looked {
	char s[sizeof(((struct xs_file *)0)->err)];
};

/* Append folder `dir` (len bytes) to *l ("..." once it is full). */
static void looked_in(struct looked *l, const char *dir, int len)
{
	size_t o = strlen(l->s), room = sizeof(l->s) - o;
	int n;

	if (o >= 3 && !strcmp(l->s + o - 3, "..."))
		return;
	n = snprintf(l->s + o, room, "%s'%.*s'", o ? ", " : "no such file in ", len, dir);
	if (n < 0 || (size_t)n >= room)
		strcpy(l->s + sizeof(l->s) - 4, "...");
}

/* Read dir/name (dir: len bytes) unless it does not exist (-ENOENT). */
static int try_in(struct looked *l, const char *dir, int len, const char *name, size_t limit,
		  struct xs_file *out)
{
	char *p;

	looked_in(l, dir, len);
	if (asprintf(&p, "%.*s/%s", len, dir, name) < 0)
		return -ENOMEM;
	return read_as(p, limit, out);
}

/*
 * An include that is not next to the including file: each -I folder (ctx),
 * then each folder of the search path, in turn. The first file that exists
 * is the one (an error reading it is the include's error); none: -ENOENT.
 */
static int search(const struct xs_resolve_fs_ctx *ctx, struct looked *l, const char *name,
		  size_t limit, struct xs_file *out)
{
	const char *dirs = xs_policy_path();
	int err;

	for (size_t i = 0; ctx && i < ctx->ndirs; i++) {
		if (!ctx->dirs[i] || !ctx->dirs[i][0])
			continue;
		err = try_in(l, ctx->dirs[i], (int)strlen(ctx->dirs[i]), name, limit, out);
		if (err != -ENOENT)
			return err;
	}
	while (*dirs) {
		size_t len = strcspn(dirs, ":");

		if (len) {
			err = try_in(l, dirs, (int)len, name, limit, out);
			if (err != -ENOENT)
				return err;
		}
		dirs += len + (dirs[len] == ':');
	}
	return -ENOENT;
}

int xs_resolve_fs(void *ctx, const char *from, const char *name, size_t limit, struct xs_file *out)
{
	const char *slash = from ? strrchr(from, '/') : NULL;
	struct looked l = { "" };
	char *p;
	int err;

	if (name[0] == '/' || !slash) {
		p = strdup(name);
	} else if (asprintf(&p, "%.*s/%s", (int)(slash - from), from, name) < 0) {
		p = NULL;
	}
	if (!p)
		return -ENOMEM;
	err = read_as(p, limit, out);
	/* an include by a relative name: then the -I folders and the search path */
	if (err == -ENOENT && from && name[0] != '/') {
		if (slash)
			looked_in(&l, from, (int)(slash - from));
		else
			looked_in(&l, ".", 1);
		err = search(ctx, &l, name, limit, out);
		if (err == -ENOENT)
			memcpy(out->err, l.s, sizeof(out->err));
	}
	return err;
}

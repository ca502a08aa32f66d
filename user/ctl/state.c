// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The state directory (state.h): the last good policy as a compiled
 * artefact. Trusted like the pin directory (loader.c): every directory from
 * / down to it is opened without following a link and checked on its fd
 * (owned by root, or by us; not writable by group or others unless sticky,
 * as /tmp), and the directory and its file must be root's (or ours) and
 * writable by their owner alone. A save is atomic: a temporary file written
 * and synced, renamed over the old one, the directory synced.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "util.h"

#define STATE_FILE "policy.xsc"
#define STATE_TMP "policy.xsc.tmp"
/* No artefact is larger (artefact.c); past this the file is not read. */
#define STATE_MAX_BYTES (512u << 20)

typedef void (*report_fn)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

const char *xs_state_dir(void)
{
	const char *env = getenv("XDPSEG_STATE_DIR");

	return env && *env ? env : XS_STATE_DIR;
}

/*
 * One directory on the way to the state directory (`ancestor`), the state
 * directory itself, or its file: refuse what another user could have made
 * or could change.
 */
static int state_check(report_fn report, const char *path, const struct stat *st, bool ancestor,
		       bool want_dir, const char *dir)
{
	const char *fix = ancestor ? "give XDPSEG_STATE_DIR a path whose directories only root "
				     "can change"
				   : "xdpseg keeps the last good policy only where no other user "
				     "can change it; make it root's, mode 0700 (or remove it)";
	mode_t mode = st->st_mode & 07777;

	if (S_ISLNK(st->st_mode)) {
		report("the state directory %s: %s is a symbolic link: %s", dir, path, fix);
		return -EPERM;
	}
	if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		report("the state directory %s: %s is not a %s: %s", dir, path,
		       want_dir ? "directory" : "regular file", fix);
		return -EPERM;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		report("the state directory %s: %s is owned by uid %u, not root: %s", dir, path,
		       (unsigned)st->st_uid, fix);
		return -EPERM;
	}
	if ((mode & (S_IWGRP | S_IWOTH)) && !(ancestor && (mode & S_ISVTX))) {
		report("the state directory %s: %s is group- or world-writable%s (mode %04o): %s",
		       dir, path, ancestor ? " and not sticky" : "", (unsigned)mode, fix);
		return -EPERM;
	}
	return 0;
}

/* Check `name` under `at`, open it as a directory without following a
 * link, and check it again on the fd. */
static int open_checked(report_fn report, int at, const char *name, const char *path, bool ancestor,
			const char *dir)
{
	struct stat st;
	int fd, err;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	err = state_check(report, path, &st, ancestor, true, dir);
	if (err)
		return err;
	fd = openat(at, name,
		    (ancestor ? O_PATH : O_RDONLY) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || state_check(report, path, &st, ancestor, true, dir)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/*
 * Walk from / to `dir` and open it (O_RDONLY: for flock and fsync), making
 * its last component (0700) when `create`. Returns the fd; -ENOENT without
 * a word when it does not exist and !create; another negative errno after
 * reporting why.
 */
static int state_dir_open(report_fn report, const char *dir, bool create)
{
	char path[PATH_MAX] = "", name[NAME_MAX + 1];
	const char *p = dir;
	struct stat st;
	int fd, err;

	if (dir[0] != '/') {
		report("the state directory '%s' (XDPSEG_STATE_DIR) is not an absolute path", dir);
		return -EINVAL;
	}
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || state_check(report, "/", &st, true, true, dir)) {
		close(fd);
		return -EPERM;
	}
	for (;;) {
		size_t len, plen = strlen(path);
		bool last;
		int nfd;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		last = p[len + strspn(p + len, "/")] == '\0';
		if (!len || len > NAME_MAX || plen + 1 + len >= sizeof(path)) {
			report("the state directory %s: not a directory path xdpseg can use", dir);
			err = -ENAMETOOLONG;
			break;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		snprintf(path + plen, sizeof(path) - plen, "/%s", name);
		p += len;
		if (last && create && mkdirat(fd, name, 0700) == 0) {
			/* 0700 whatever the umask; then checked like any other */
			int dfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (dfd >= 0) {
				fchmod(dfd, 0700);
				close(dfd);
			}
		}
		nfd = open_checked(report, fd, name, path, !last, dir);
		if (nfd < 0) {
			err = nfd;
			if (err == -ENOENT && create)
				report("cannot make the state directory %s: %s does not exist", dir,
				       path);
			else if (err != -ENOENT && err != -EPERM)
				report("cannot open the state directory %s: %s: %s", dir, path,
				       strerror(-err));
			break;
		}
		close(fd);
		fd = nfd;
		if (last)
			return fd;
	}
	close(fd);
	return err;
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The warning every failed save ends with: the push happened. */
#define SAVE_FAILED                                                                       \
	"the policy is enforced all the same (the kernel is the source of truth), but a " \
	"reboot will not restore it from there"

int xs_state_save(const char *dir, const struct xs_compiled *c, const char *file)
{
	void *buf = NULL;
	size_t len;
	int dfd, fd = -1, err;
	const char *step;

	err = xs_compiled_serialize(c, file, &buf, &len);
	if (err) {
		p_warn("cannot save the last good policy in %s: %s: " SAVE_FAILED, dir,
		       strerror(-err));
		return err;
	}
	dfd = state_dir_open(p_warn, dir, true);
	if (dfd < 0) {
		p_warn("the last good policy is not saved in %s: " SAVE_FAILED, dir);
		free(buf);
		return dfd;
	}
	/* One writer at a time (the CLI's apply, the agent): the temporary
	 * file has one name. */
	step = "lock";
	err = flock(dfd, LOCK_EX) ? -errno : 0;
	if (!err) {
		step = "create " STATE_TMP;
		if (unlinkat(dfd, STATE_TMP, 0) && errno != ENOENT)
			err = -errno;
		else if ((fd = openat(dfd, STATE_TMP,
				      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) <
			 0)
			err = -errno;
		else if (fchmod(fd, 0600))
			err = -errno;
	}
	if (!err) {
		step = "write " STATE_TMP;
		err = write_all(fd, buf, len);
	}
	if (!err) {
		step = "sync " STATE_TMP;
		err = fsync(fd) ? -errno : 0;
	}
	if (fd >= 0 && close(fd) && !err) {
		step = "close " STATE_TMP;
		err = -errno;
	}
	if (!err) {
		step = "rename " STATE_TMP " to " STATE_FILE;
		err = renameat(dfd, STATE_TMP, dfd, STATE_FILE) ? -errno : 0;
	}
	if (!err) {
		step = "sync the directory";
		err = fsync(dfd) ? -errno : 0;
	}
	if (err) {
		p_warn("cannot save the last good policy in %s/%s (%s: %s): " SAVE_FAILED, dir,
		       STATE_FILE, step, strerror(-err));
		unlinkat(dfd, STATE_TMP, 0);
	}
	close(dfd); /* and the lock */
	free(buf);
	return err;
}

/* Read the whole regular file `fd` (at most STATE_MAX_BYTES). */
static int read_all(int fd, size_t size, uint8_t **out, size_t *n)
{
	uint8_t *b = malloc(size ? size : 1);
	size_t got = 0;

	if (!b)
		return -ENOMEM;
	while (got < size) {
		ssize_t r = read(fd, b + got, size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return -errno;
		}
		if (r == 0)
			break; /* shorter than it said: the reader says truncated */
		got += (size_t)r;
	}
	*out = b;
	*n = got;
	return 0;
}

int xs_state_load(const char *dir, struct xs_compiled **out, char **file)
{
	char path[PATH_MAX + 16], why[256];
	uint8_t *buf = NULL;
	struct stat st;
	size_t n = 0;
	int dfd, fd, err;

	*out = NULL;
	*file = NULL;
	dfd = state_dir_open(p_err, dir, false);
	if (dfd < 0)
		return dfd;
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	fd = openat(dfd, STATE_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(dfd);
	if (fd < 0) {
		err = -errno;
		if (err == -ELOOP)
			p_err("the last good policy %s is a symbolic link: xdpseg keeps the last "
			      "good policy only where no other user can change it; remove it",
			      path);
		else if (err != -ENOENT)
			p_err("cannot read the last good policy %s: %s", path, strerror(-err));
		return err;
	}
	err = fstat(fd, &st) ? -errno : state_check(p_err, path, &st, false, false, dir);
	if (!err && (uint64_t)st.st_size > STATE_MAX_BYTES) {
		p_err("the last good policy %s is %llu bytes: larger than any compiled policy",
		      path, (unsigned long long)st.st_size);
		err = -EFBIG;
	}
	if (!err) {
		err = read_all(fd, (size_t)st.st_size, &buf, &n);
		if (err)
			p_err("cannot read the last good policy %s: %s", path, strerror(-err));
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	err = xs_compiled_deserialize(buf, n, out, file, why, sizeof(why));
	free(buf);
	if (err == -EINVAL)
		p_err("the last good policy %s cannot be used: %s", path, why);
	else if (err)
		p_err("cannot read the last good policy %s: %s", path, strerror(-err));
	return err;
}

int xs_state_load_running(const char *dir, const struct xs_maps *m, struct xs_compiled **out,
			  char **file)
{
	struct xs_policy_meta meta;
	struct xs_config cfg;
	char have[65], want[65];
	__u32 set;
	int err;

	*out = NULL;
	*file = NULL;
	err = xs_config_read(m, &cfg);
	if (err) {
		p_err("cannot read the datapath's configuration: %s", strerror(-err));
		return err;
	}
	if (!cfg.generation) {
		p_err("no policy is applied: apply one first ('xdpseg apply FILE')");
		return -ENOENT;
	}
	set = cfg.generation & 1;
	if (bpf_map_lookup_elem(m->meta, &set, &meta)) {
		err = -errno;
		p_err("cannot read the active policy's metadata: %s", strerror(-err));
		return err;
	}
	meta.file[sizeof(meta.file) - 1] = '\0';
	err = xs_state_load(dir, out, file);
	if (err == -ENOENT) {
		p_err("the policy in force (generation %u, applied from %s) is not saved in the "
		      "state directory %s: apply the policy again ('xdpseg apply FILE'), then try "
		      "again",
		      cfg.generation, meta.file, dir);
		return err;
	}
	if (err) {
		p_err("the policy in force cannot be recompiled without its last good copy: apply "
		      "the policy again ('xdpseg apply FILE'), then try again");
		return err;
	}
	if (memcmp((*out)->hash, meta.hash, sizeof(meta.hash))) {
		xs_hex((*out)->hash, sizeof((*out)->hash), have);
		xs_hex(meta.hash, sizeof(meta.hash), want);
		p_err("the last good policy in %s (sha256 %.16s..., applied from %s) is not the "
		      "policy the kernel enforces (sha256 %.16s..., generation %u, applied from "
		      "%s): apply the policy again ('xdpseg apply FILE'), then try again",
		      dir, have, *file, want, cfg.generation, meta.file);
		xs_compiled_free(*out);
		free(*file);
		*out = NULL;
		*file = NULL;
		return -ESTALE;
	}
	return 0;
}

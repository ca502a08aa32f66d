// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One agent per pin directory: a POSIX record lock on a file named after
 * the pin directory in the run directory (/run/xdpseg), so that it works
 * before the pin directory exists and across network namespaces (the
 * bpffs is shared by all of them, abstract sockets are not). F_GETLK names
 * the holder's pid for the refusal. Next to it, the file of the links the
 * agent set down (its path; links.c writes it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/log.h"

#define RUN_DIR "/run/xdpseg"

/*
 * "/sys/fs/bpf/xdpseg" -> "sys-fs-bpf-xdpseg-1f0c33a2": readable (a byte
 * other than [A-Za-z0-9._-] becomes '_', '/' becomes '-') and made unique
 * by a hash of the whole path (FNV-1a), so "a-b" and "a/b" differ.
 */
static void escape_path(const char *path, char *out, size_t size)
{
	uint32_t h = 2166136261u;
	size_t o = 0;

	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	path += strspn(path, "/");
	for (const char *p = path; *p && o + 10 < size && o < 100; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/')
			out[o++] = '-';
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && o))
			out[o++] = (char)c;
		else
			out[o++] = '_';
	}
	snprintf(out + o, size - o, "-%08x", h);
}

static int run_dir(void)
{
	if (mkdir(RUN_DIR, 0755) && errno != EEXIST) {
		int err = -errno;

		agent_log(LOG_ERR, "cannot create %s: %s", RUN_DIR, strerror(errno));
		return err;
	}
	return 0;
}

int agent_guard_take(struct agent *a)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char name[128], pid[32];
	struct stat st1, st2;
	int fd, err;

	escape_path(a->cfg.pin_dir, name, sizeof(name));
	snprintf(a->guard_path, sizeof(a->guard_path), "%s/agent-%s.lock", RUN_DIR, name);
	snprintf(a->down_path, sizeof(a->down_path), "%s/agent-%s.down", RUN_DIR, name);
	err = run_dir();
	if (err)
		return err;
	for (int tries = 0; tries < 10; tries++) {
		fd = open(a->guard_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0) {
			err = -errno;
			agent_log(LOG_ERR, "cannot open %s: %s", a->guard_path, strerror(errno));
			return err;
		}
		if (fcntl(fd, F_SETLK, &fl)) {
			err = -errno;
			if (err == -EACCES || err == -EAGAIN) {
				struct flock q = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

				if (fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK)
					agent_log(
						LOG_ERR,
						"another agent (pid %d) enforces the pin directory "
						"%s: stop it first (it holds %s)",
						(int)q.l_pid, a->cfg.pin_dir, a->guard_path);
				else
					agent_log(
						LOG_ERR,
						"another agent enforces the pin directory %s: stop "
						"it first (it holds %s)",
						a->cfg.pin_dir, a->guard_path);
				err = -EBUSY;
			} else {
				agent_log(LOG_ERR, "cannot lock %s: %s", a->guard_path,
					  strerror(-err));
			}
			close(fd);
			return err;
		}
		/* The holder before us may have removed the file at its stop: lock
		 * the file the path names now. */
		if (fstat(fd, &st1) == 0 && stat(a->guard_path, &st2) == 0 &&
		    st1.st_ino == st2.st_ino && st1.st_dev == st2.st_dev)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		agent_log(LOG_ERR, "cannot lock %s: it keeps being replaced", a->guard_path);
		return -EAGAIN;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, strlen(pid), 0) < 0)
		agent_log(LOG_WARNING, "cannot write the pid into %s: %s", a->guard_path,
			  strerror(errno));
	a->guard_fd = fd;
	return 0;
}

void agent_guard_release(struct agent *a)
{
	if (a->guard_fd < 0)
		return;
	/* Removed while locked: a waiting agent sees the path changed and retries. */
	unlink(a->down_path);
	unlink(a->guard_path);
	close(a->guard_fd);
	a->guard_fd = -1;
}

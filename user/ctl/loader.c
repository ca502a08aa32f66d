// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Loading the object once, pinning it, reopening the pinned state, the lock. */
#include "loader.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util.h"
#include "xdpseg.skel.h"

static const char *const prog_names[] = { "xs_xdp", "xs_tc_egress", "xs_tc_ingress" };
#define NPROGS (sizeof(prog_names) / sizeof(prog_names[0]))

const char *xs_pin_dir(void)
{
	const char *env = getenv("XDPSEG_PIN_DIR");

	return env && *env ? env : XS_PIN_DIR;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!xs_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void xs_libbpf_log_setup(void)
{
	libbpf_set_print(libbpf_log);
}

int xs_ctl_check_env(const char *dir)
{
	char buf[256];
	struct statfs st;

	if (geteuid() != 0) {
		p_err("xdpseg must run as root (it loads BPF programs and changes interfaces): "
		      "try 'sudo xdpseg ...'");
		return -EPERM;
	}
	snprintf(buf, sizeof(buf), "%s", dir);
	if (statfs(dirname(buf), &st) || st.f_type != BPF_FS_MAGIC) {
		snprintf(buf, sizeof(buf), "%s", dir);
		p_err("no bpffs mounted at %s: mount it with 'mount -t bpf bpffs %s' "
		      "(scripts/setup does this)",
		      dirname(buf), buf);
		return -ENOENT;
	}
	return 0;
}

void xs_ctl_init(struct xs_ctl *ctl)
{
	memset(ctl, 0, sizeof(*ctl));
	snprintf(ctl->dir, sizeof(ctl->dir), "%s", xs_pin_dir());
	ctl->lock_fd = -1;
	ctl->prog_xdp = ctl->prog_tc_egress = ctl->prog_tc_ingress = -1;
	xs_maps_close(&ctl->maps); /* sets every fd to -1 */
}

int xs_ctl_path(const struct xs_ctl *ctl, char *buf, size_t size, const char *sub, const char *name)
{
	int n;

	if (name)
		n = snprintf(buf, size, "%s/%s/%s", ctl->dir, sub, name);
	else
		n = snprintf(buf, size, "%s/%s", ctl->dir, sub);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- Trusting the pin directory ----------------------------------------------
 *
 * Every directory from / down to the pin directory is opened with
 * O_NOFOLLOW and checked on its fd: owned by root and not group- or
 * world-writable, or, above the pin directory, sticky (the bpffs root is
 * 1777: nobody can rename or remove root's entries there). The pin
 * directory, maps/, progs/, links/ and every entry in them must be root's
 * and writable by root alone. Once that holds, nobody but root can change
 * what the paths below lead to, so the rest of the code may use paths.
 */

/* The part of a refusal that says how to get out of it. */
static void pin_refuse(const char *path, const char *what, const char *dir, bool ancestor)
{
	if (ancestor)
		p_err("%s %s: another user could replace the pin directory %s below it; give "
		      "XDPSEG_PIN_DIR a path whose directories only root can change",
		      path, what, dir);
	else
		p_err("%s %s: xdpseg trusts no pinned state another user could have made or "
		      "changed; remove %s ('rm -rf %s'), then run 'xdpseg detach --all' and "
		      "attach again",
		      path, what, dir, dir);
}

/*
 * Check one directory on the way (`ancestor`) or one component of the
 * pinned tree. Prints the refusal and returns -EPERM.
 */
static int pin_check(const char *path, const struct stat *st, const char *dir, bool ancestor,
		     bool want_dir)
{
	char what[96];
	mode_t mode = st->st_mode & 07777;

	if (S_ISLNK(st->st_mode)) {
		pin_refuse(path, "is a symbolic link", dir, ancestor);
		return -EPERM;
	}
	if (want_dir && !S_ISDIR(st->st_mode)) {
		pin_refuse(path, "is not a directory", dir, ancestor);
		return -EPERM;
	}
	if (st->st_uid != 0) {
		snprintf(what, sizeof(what), "is owned by uid %u, not root", (unsigned)st->st_uid);
		pin_refuse(path, what, dir, ancestor);
		return -EPERM;
	}
	if ((mode & (S_IWGRP | S_IWOTH)) && !(ancestor && (mode & S_ISVTX))) {
		snprintf(what, sizeof(what), "is group- or world-writable%s (mode %04o)",
			 ancestor ? " and not sticky" : "", (unsigned)mode);
		pin_refuse(path, what, dir, ancestor);
		return -EPERM;
	}
	return 0;
}

/*
 * Open `name` under `at` as a directory without following a link, and
 * check it both before (for the message) and after (on the fd) opening.
 */
static int pin_open_dir(int at, const char *name, const char *path, const char *dir, bool ancestor,
			int flags)
{
	struct stat st;
	int fd, err;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW)) {
		err = -errno;
		if (err != -ENOENT)
			p_err("cannot open %s: %s", path, strerror(errno));
		return err;
	}
	err = pin_check(path, &st, dir, ancestor, true);
	if (err)
		return err;
	fd = openat(at, name, flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		p_err("cannot open %s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) || pin_check(path, &st, dir, ancestor, true)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Create the pin directory `name` under `at`: 0700 whatever the umask. */
static int pin_mkdir(int at, const char *name, const char *dir)
{
	int fd, err = 0;

	if (mkdirat(at, name, 0700)) {
		if (errno == EEXIST)
			return 0; /* made by someone else meanwhile: checked next */
		err = -errno;
		p_err("cannot create the pin directory %s: %s", dir, strerror(errno));
		return err;
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0700))
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		p_err("cannot set the mode of %s: %s", dir, strerror(-err));
	return err;
}

/*
 * Walk from / to the pin directory and open it (O_RDONLY, for flock).
 * Returns the fd, -ENOENT silently when it does not exist and !create, or
 * another negative errno after printing why.
 */
static int pin_dir_open(const char *dir, bool create)
{
	char path[PATH_MAX] = "", name[NAME_MAX + 1];
	const char *p = dir;
	struct stat st;
	int fd, err;

	if (dir[0] != '/') {
		p_err("the pin directory '%s' (XDPSEG_PIN_DIR) is not an absolute path: give the "
		      "full path, e.g. %s",
		      dir, XS_PIN_DIR);
		return -EINVAL;
	}
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || pin_check("/", &st, dir, true, true)) {
		err = fd < 0 ? -errno : -EPERM;
		goto out;
	}
	for (;;) {
		size_t len, plen = strlen(path);
		bool last;
		int nfd;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		last = p[len + strspn(p + len, "/")] == '\0';
		if (len > NAME_MAX || plen + 1 + len >= sizeof(path)) {
			p_err("the pin directory %s: path too long", dir);
			err = -ENAMETOOLONG;
			goto out;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		snprintf(path + plen, sizeof(path) - plen, "/%s", name);
		p += len;

		if (last && create) {
			err = pin_mkdir(fd, name, dir);
			if (err)
				goto out;
		}
		nfd = pin_open_dir(fd, name, path, dir, !last, last ? O_RDONLY : O_PATH);
		if (nfd < 0) {
			err = nfd;
			if (err == -ENOENT && create)
				p_err("cannot create the pin directory %s: %s does not exist", dir,
				      path);
			goto out;
		}
		close(fd);
		fd = nfd;
		if (last)
			return fd;
	}
out:
	if (fd >= 0)
		close(fd);
	return err;
}

/* maps/, progs/, links/ and every entry in them. */
static int pin_tree_check(const char *dir, int dirfd)
{
	static const char *const subs[] = { "maps", "progs", "links" };
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	int err = 0;

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]) && !err; i++) {
		int fd;
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
		fd = pin_open_dir(dirfd, subs[i], path, dir, false, O_RDONLY);
		if (fd == -ENOENT)
			continue; /* not made yet (or removed by unload) */
		if (fd < 0)
			return fd;
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -errno;
		}
		while (!err && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
				continue; /* removed meanwhile */
			snprintf(path, sizeof(path), "%s/%s/%s", dir, subs[i], de->d_name);
			err = pin_check(path, &st, dir, false, false);
		}
		closedir(d);
	}
	return err;
}

/*
 * The one check of the pinned state: the path to the pin directory and
 * the tree below it. Returns the directory's fd (see pin_dir_open()).
 */
static int pin_dir_trusted(const char *dir, bool create)
{
	int fd = pin_dir_open(dir, create);
	int err;

	if (fd < 0)
		return fd;
	err = pin_tree_check(dir, fd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int xs_ctl_trust(const struct xs_ctl *ctl)
{
	int fd = pin_dir_trusted(ctl->dir, false);

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* ---- The lock ------------------------------------------------------------------ */

/* $XDPSEG_LOCK_TIMEOUT in seconds (a fraction is fine), or the default. */
static int lock_timeout(double *secs)
{
	const char *env = getenv("XDPSEG_LOCK_TIMEOUT");
	char *end;

	*secs = XS_LOCK_TIMEOUT_DEFAULT;
	if (!env || !*env)
		return 0;
	errno = 0;
	*secs = strtod(env, &end);
	if (errno || *end || end == env || !isfinite(*secs) || *secs < 0 || *secs > 86400) {
		p_err("XDPSEG_LOCK_TIMEOUT='%s' is not a number of seconds (0 to 86400): unset it "
		      "for the default of %d s",
		      env, XS_LOCK_TIMEOUT_DEFAULT);
		return -EINVAL;
	}
	return 0;
}

/* The command line of `pid` ("xdpseg attach vnet3"), printable, into buf. */
static void proc_cmdline(pid_t pid, char *buf, size_t size)
{
	char path[64], raw[512], *arg0;
	size_t n, o = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	f = fopen(path, "re");
	n = f ? fread(raw, 1, sizeof(raw) - 1, f) : 0;
	if (f)
		fclose(f);
	raw[n] = '\0';
	if (!n) {
		snprintf(buf, size, "command line unknown");
		return;
	}
	arg0 = strrchr(raw, '/'); /* in argv[0] only: it ends at the first NUL */
	arg0 = arg0 ? arg0 + 1 : raw;
	for (size_t i = (size_t)(arg0 - raw); i < n && o + 1 < size; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (!c && i + 1 == n)
			break;
		buf[o++] = !c ? ' ' : isprint(c) ? (char)c : '?';
	}
	buf[o] = '\0';
}

/* Who holds the flock on `fd`: its pid from /proc/locks, or 0. */
static pid_t lock_holder(int fd)
{
	char line[256], kind[16];
	unsigned int maj, min;
	unsigned long ino;
	struct stat st;
	pid_t pid = 0;
	int holder;
	FILE *f;

	if (fstat(fd, &st))
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:27:29530 0 EOF"; waiters read "1: -> FLOCK ..." */
	while (!pid && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", kind, &holder, &maj, &min,
			   &ino) != 5)
			continue;
		if (!strcmp(kind, "FLOCK") && maj == major(st.st_dev) && min == minor(st.st_dev) &&
		    ino == st.st_ino)
			pid = holder;
	}
	fclose(f);
	return pid;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* flock(LOCK_EX) on `fd`, giving up after the timeout with the holder's name. */
static int lock_wait(int fd, const char *dir)
{
	double timeout, deadline, delay = 0.001;
	char cmd[256];
	pid_t pid;
	int err;

	err = lock_timeout(&timeout);
	if (err)
		return err;
	deadline = mono_now() + timeout;
	for (;;) {
		double left;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err = -errno;
			p_err("cannot lock %s: %s", dir, strerror(errno));
			return err;
		}
		left = deadline - mono_now();
		if (left <= 0)
			break;
		if (delay > left)
			delay = left;
		nanosleep(&(struct timespec){ .tv_sec = (time_t)delay,
					      .tv_nsec = (long)((delay - (time_t)delay) * 1e9) },
			  NULL);
		delay = delay * 2 > 0.05 ? 0.05 : delay * 2;
	}
	pid = lock_holder(fd);
	if (pid > 0) {
		proc_cmdline(pid, cmd, sizeof(cmd));
		p_err("%s is locked by pid %d (%s) for %g s: wait for it to finish, or stop it",
		      dir, (int)pid, cmd, timeout);
	} else {
		p_err("%s is locked by another process for %g s (see /proc/locks): wait for it to "
		      "finish, or stop it",
		      dir, timeout);
	}
	return -EAGAIN;
}

int xs_ctl_lock(struct xs_ctl *ctl, bool create)
{
	struct stat a, b;

	for (;;) {
		int fd, err;

		fd = pin_dir_trusted(ctl->dir, create);
		if (fd < 0)
			return fd;
		err = lock_wait(fd, ctl->dir);
		if (err) {
			close(fd);
			return err;
		}
		/* The holder before us may have unloaded and removed the
		 * directory: then lock the new one (or report it gone). */
		if (fstat(fd, &a) == 0 && lstat(ctl->dir, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			ctl->lock_fd = fd;
			return 0;
		}
		close(fd);
		if (!create)
			return -ENOENT;
	}
}

void xs_ctl_unlock(struct xs_ctl *ctl)
{
	if (ctl->lock_fd >= 0)
		close(ctl->lock_fd); /* releases the flock */
	ctl->lock_fd = -1;
}

/* Remove every entry of DIR/sub, then DIR/sub itself. */
static int remove_subdir(const struct xs_ctl *ctl, const char *sub)
{
	char path[512], file[768];
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (xs_ctl_path(ctl, path, sizeof(path), sub, NULL))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		if (unlink(file) && errno != ENOENT && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(path) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

/* Loaded means every program is pinned: a load killed between two pins is not. */
bool xs_ctl_loaded(const struct xs_ctl *ctl)
{
	char path[512];

	for (size_t i = 0; i < NPROGS; i++) {
		if (xs_ctl_path(ctl, path, sizeof(path), "progs", prog_names[i]) ||
		    access(path, F_OK))
			return false;
	}
	return true;
}

static int mkdir_sub(const struct xs_ctl *ctl, const char *sub)
{
	char path[512];

	if (xs_ctl_path(ctl, path, sizeof(path), sub, NULL))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700)) {
		int err = -errno;

		if (err == -EEXIST)
			return 0;
		p_err("cannot create %s: %s", path, strerror(errno));
		return err;
	}
	/* 0700 whatever the umask: nobody but root may look or change. */
	if (chmod(path, 0700)) {
		int err = -errno;

		p_err("cannot set the mode of %s: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

/* Give each xs_* map its pin path, so that load pins it (or reuses a pin). */
static int set_pin_paths(const struct xs_ctl *ctl, struct bpf_object *obj)
{
	struct bpf_map *map;
	char path[512];

	bpf_object__for_each_map(map, obj)
	{
		if (bpf_map__is_internal(map) || strncmp(bpf_map__name(map), "xs_", 3))
			continue;
		if (xs_ctl_path(ctl, path, sizeof(path), "maps", bpf_map__name(map)))
			return -ENAMETOOLONG;
		if (bpf_map__set_pin_path(map, path))
			return -ENOMEM;
	}
	return 0;
}

static int pin_progs(const struct xs_ctl *ctl, struct bpf_object *obj)
{
	char path[512];
	int err;

	/* Pinned last: their presence is what "loaded" means. */
	for (size_t i = 0; i < NPROGS; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(obj, prog_names[i]);

		if (!p) {
			p_err("the BPF object has no program '%s': rebuild xdpseg (scripts/build)",
			      prog_names[i]);
			return -ENOENT;
		}
		if (xs_ctl_path(ctl, path, sizeof(path), "progs", prog_names[i]))
			return -ENAMETOOLONG;
		err = bpf_program__pin(p, path);
		if (err) {
			p_err("cannot pin program %s at %s: %s", prog_names[i], path,
			      strerror(-err));
			return err;
		}
	}
	return 0;
}

/* First use: load the skeleton, pin maps and programs, set the defaults. */
static int load_object(struct xs_ctl *ctl)
{
	struct xdpseg *skel;
	int err;

	/* Not every program pinned means nothing can be attached: programs,
	 * maps or links left over here come from an interrupted run. */
	remove_subdir(ctl, "links");
	remove_subdir(ctl, "progs");
	remove_subdir(ctl, "maps");
	err = mkdir_sub(ctl, "maps");
	if (!err)
		err = mkdir_sub(ctl, "progs");
	if (!err)
		err = mkdir_sub(ctl, "links");
	if (err)
		return err;

	skel = xdpseg__open();
	if (!skel) {
		err = -errno;
		p_err("cannot open the embedded BPF object: %s (run with -v for libbpf's log)",
		      strerror(-err));
		return err;
	}
	err = set_pin_paths(ctl, skel->obj);
	if (err)
		goto out;
	err = xdpseg__load(skel);
	if (err) {
		p_err("loading the BPF programs into the kernel failed: %s; run 'xdpseg -v attach "
		      "...' for libbpf's and the verifier's log",
		      strerror(-err));
		goto out;
	}
	err = pin_progs(ctl, skel->obj);
	if (err)
		goto out;
	ctl->loaded_now = true;
out:
	xdpseg__destroy(skel); /* the pins keep maps and programs alive */
	if (err) {
		remove_subdir(ctl, "progs");
		remove_subdir(ctl, "maps");
	}
	return err;
}

/* Event rate limits and the bytes drop and audit events carry start at
 * their defaults; the flow tables' hash seed is drawn once, before any
 * packet is tracked (the maps are new). */
static int config_defaults(struct xs_ctl *ctl)
{
	struct xs_config cfg;
	__u32 zero = 0;
	int err;

	err = xs_config_read(&ctl->maps, &cfg);
	if (err)
		return err;
	if ((cfg.drop_ev_rate || cfg.drop_ev_burst) && cfg.flow_seed)
		return 0;
	if (!cfg.drop_ev_rate && !cfg.drop_ev_burst) {
		cfg.drop_ev_rate = XS_DEFAULT_DROP_EV_RATE;
		cfg.drop_ev_burst = XS_DEFAULT_DROP_EV_BURST;
		cfg.snap_len = XS_DEFAULT_SNAP_LEN;
	}
	while (!cfg.flow_seed) {
		if (getrandom(&cfg.flow_seed, sizeof(cfg.flow_seed), 0) != sizeof(cfg.flow_seed))
			return errno ? -errno : -EIO;
	}
	if (bpf_map_update_elem(ctl->maps.config, &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

static int open_pinned(struct xs_ctl *ctl)
{
	int *fds[] = { &ctl->prog_xdp, &ctl->prog_tc_egress, &ctl->prog_tc_ingress };
	char path[512];
	int err;

	for (size_t i = 0; i < NPROGS; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		if (xs_ctl_path(ctl, path, sizeof(path), "progs", prog_names[i]))
			return -ENAMETOOLONG;
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0) {
			err = -errno;
			goto stale;
		}
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(*fds[i], &info, &len)) {
			err = -errno;
			goto stale;
		}
		ctl->prog_id[i] = info.id;
	}
	if (xs_ctl_path(ctl, path, sizeof(path), "maps", NULL))
		return -ENAMETOOLONG;
	err = xs_maps_open_pinned(path, &ctl->maps);
	if (err)
		goto stale;
	return 0;
stale:
	p_err("the pinned state under %s is incomplete or from another xdpseg build (%s): "
	      "remove it with 'xdpseg detach --all'",
	      ctl->dir, strerror(-err));
	return err;
}

int xs_ctl_load(struct xs_ctl *ctl)
{
	int err;

	if (!xs_ctl_loaded(ctl)) {
		err = load_object(ctl);
		if (err)
			return err;
	}
	err = open_pinned(ctl);
	if (!err && ctl->loaded_now)
		err = config_defaults(ctl);
	return err;
}

int xs_ctl_open(struct xs_ctl *ctl)
{
	int err;

	/* Under the lock, xs_ctl_lock() checked the directory already. */
	if (ctl->lock_fd < 0) {
		err = xs_ctl_trust(ctl);
		if (err)
			return err;
	}
	if (!xs_ctl_loaded(ctl)) {
		p_err("xdpseg is not loaded (nothing pinned under %s): run 'xdpseg attach IFACE' "
		      "first",
		      ctl->dir);
		return -ENOENT;
	}
	return open_pinned(ctl);
}

int xs_ctl_unload(struct xs_ctl *ctl)
{
	int err, ret = 0;

	/* Reverse order of load: links, programs (the "loaded" mark), maps. */
	const char *subs[] = { "links", "progs", "maps" };

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		err = remove_subdir(ctl, subs[i]);
		if (err && !ret) {
			p_err("cannot remove %s/%s: %s", ctl->dir, subs[i], strerror(-err));
			ret = err;
		}
	}
	if (!ret && rmdir(ctl->dir) && errno != ENOENT) {
		ret = -errno;
		p_err("cannot remove %s: %s", ctl->dir, strerror(errno));
	}
	return ret;
}

void xs_ctl_close(struct xs_ctl *ctl)
{
	int *fds[] = { &ctl->prog_xdp, &ctl->prog_tc_egress, &ctl->prog_tc_ingress };

	xs_maps_close(&ctl->maps);
	for (size_t i = 0; i < NPROGS; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	memset(ctl->prog_id, 0, sizeof(ctl->prog_id));
	xs_ctl_unlock(ctl);
}

static int iface_cmp(const void *a, const void *b)
{
	return strcmp(((const struct xs_iface *)a)->name, ((const struct xs_iface *)b)->name);
}

int xs_ifaces_list(const struct xs_maps *m, struct xs_iface **out, size_t *n)
{
	struct xs_iface *v = NULL;
	__u32 key, *prev = NULL;
	size_t cnt = 0, cap = 0;

	while (bpf_map_get_next_key(m->ifaces, prev, &key) == 0) {
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct xs_iface *nv = realloc(v, ncap * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		if (bpf_map_lookup_elem(m->ifaces, &key, &v[cnt]) == 0)
			cnt++;
		prev = &key;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), iface_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

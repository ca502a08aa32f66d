// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Loading the object once, pinning it, reopening the pinned state, the lock. */
#include "loader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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

int xs_ctl_lock(struct xs_ctl *ctl, bool create)
{
	struct stat a, b;

	for (;;) {
		int fd;

		if (create && mkdir(ctl->dir, 0700) && errno != EEXIST) {
			int err = -errno;

			p_err("cannot create the pin directory %s: %s", ctl->dir, strerror(errno));
			return err;
		}
		fd = open(ctl->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			int err = -errno;

			if (err != -ENOENT)
				p_err("cannot open the pin directory %s: %s", ctl->dir,
				      strerror(errno));
			return err;
		}
		if (flock(fd, LOCK_EX)) {
			int err = -errno;

			p_err("cannot lock %s: %s", ctl->dir, strerror(errno));
			close(fd);
			return err;
		}
		/* The holder before us may have unloaded and removed the
		 * directory: then lock the new one (or report it gone). */
		if (fstat(fd, &a) == 0 && stat(ctl->dir, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			ctl->lock_fd = fd;
			return 0;
		}
		close(fd);
		if (!create)
			return -ENOENT;
	}
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

static bool progs_pinned(const struct xs_ctl *ctl)
{
	char path[512];

	if (xs_ctl_path(ctl, path, sizeof(path), "progs", prog_names[0]))
		return false;
	return access(path, F_OK) == 0;
}

static int mkdir_sub(const struct xs_ctl *ctl, const char *sub)
{
	char path[512];

	if (xs_ctl_path(ctl, path, sizeof(path), sub, NULL))
		return -ENAMETOOLONG;
	if (mkdir(path, 0700) && errno != EEXIST) {
		int err = -errno;

		p_err("cannot create %s: %s", path, strerror(errno));
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

	/* No programs pinned means nothing can be attached: maps or links
	 * left over here come from an interrupted run and are stale. */
	remove_subdir(ctl, "links");
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

/* Event rate limits start at their defaults. */
static int config_defaults(struct xs_ctl *ctl)
{
	struct xs_config cfg;
	__u32 zero = 0;
	int err;

	err = xs_config_read(&ctl->maps, &cfg);
	if (err)
		return err;
	if (cfg.drop_ev_rate || cfg.drop_ev_burst)
		return 0;
	cfg.drop_ev_rate = XS_DEFAULT_DROP_EV_RATE;
	cfg.drop_ev_burst = XS_DEFAULT_DROP_EV_BURST;
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
		if (xs_ctl_path(ctl, path, sizeof(path), "progs", prog_names[i]))
			return -ENAMETOOLONG;
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0) {
			err = -errno;
			goto stale;
		}
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

	if (!progs_pinned(ctl)) {
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
	if (!progs_pinned(ctl)) {
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
	if (ctl->lock_fd >= 0)
		close(ctl->lock_fd); /* releases the flock */
	ctl->lock_fd = -1;
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

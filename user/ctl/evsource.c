// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The pinned xs_events ring buffer, read by one reader at a time (evsource.h). */
#include "evsource.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "show.h"
#include "util.h"

static int64_t mono_to_real(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - m.tv_sec) * (int64_t)XS_NS_PER_SEC +
	       ((int64_t)r.tv_nsec - m.tv_nsec);
}

/* The kernel id of a map (0 when it cannot be read). */
static uint32_t map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

/* The id of the ring buffer pinned now (0: none: unloaded, or being reloaded). */
static uint32_t pinned_events_id(const struct xs_ctl *ctl)
{
	char path[512];
	uint32_t id;
	int fd;

	if (xs_ctl_path(ctl, path, sizeof(path), "maps", "xs_events"))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	id = map_id(fd);
	close(fd);
	return id;
}

/* The reader lock: an flock on DIR/maps (-EBUSY: another reader holds it). */
static int lock_reader(const struct xs_ctl *ctl)
{
	char path[512];
	int fd;

	if (xs_ctl_path(ctl, path, sizeof(path), "maps", NULL))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct xs_evsource *s = ctx;
	bool buffered;

	if (s->cons_pos) {
		buffered = __atomic_load_n(s->cons_pos, __ATOMIC_ACQUIRE) < s->open_pos;
	} else {
		/* no view of the positions: by the record's time (events carry
		 * the coarse clock after their kind and length) */
		const struct xs_event *e = data;

		buffered = size >= sizeof(*e) && e->ts_ns < s->open_mono_ns;
	}
	s->fn(s->ctx, data, size, buffered);
	return 0;
}

/* Map the ring's two position pages read-only (nothing when it fails). */
static void map_positions(struct xs_evsource *s)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = s->ctl.maps.events;
	void *c, *p;

	c = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return;
	p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, page);
	if (p == MAP_FAILED) {
		munmap(c, (size_t)page);
		return;
	}
	s->cons_page = c;
	s->prod_page = p;
	s->cons_pos = c;
	s->open_pos = __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
}

static void unmap_positions(struct xs_evsource *s)
{
	long page = sysconf(_SC_PAGESIZE);

	if (s->cons_page)
		munmap(s->cons_page, (size_t)page);
	if (s->prod_page)
		munmap(s->prod_page, (size_t)page);
	s->cons_page = s->prod_page = NULL;
	s->cons_pos = NULL;
}

void xs_evsource_init(struct xs_evsource *s, const char *dir)
{
	memset(s, 0, sizeof(*s));
	xs_ctl_init(&s->ctl);
	snprintf(s->ctl.dir, sizeof(s->ctl.dir), "%s", dir);
	s->lock_fd = -1;
}

void xs_evsource_close(struct xs_evsource *s)
{
	ring_buffer__free(s->rb);
	s->rb = NULL;
	unmap_positions(s);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
	xs_ctl_close(&s->ctl);
	s->events_id = 0;
}

int xs_evsource_open(struct xs_evsource *s, xs_evsource_fn fn, void *ctx)
{
	struct timespec now;
	int err;

	s->fn = fn;
	s->ctx = ctx;
	/* the pin directory checked first (a refusal says why, with the fix) */
	err = xs_ctl_trust(&s->ctl);
	if (err)
		return err;
	if (!xs_ctl_loaded(&s->ctl))
		return -ENOENT;
	err = xs_ctl_open(&s->ctl);
	if (err)
		goto fail;
	s->lock_fd = lock_reader(&s->ctl);
	if (s->lock_fd < 0) {
		err = s->lock_fd;
		if (err != -EBUSY)
			p_err("cannot lock %s/maps: %s", s->ctl.dir, strerror(-err));
		goto fail;
	}
	/* The positions first: what the buffer holds from here on is new. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	s->open_mono_ns = (uint64_t)now.tv_sec * XS_NS_PER_SEC + (uint64_t)now.tv_nsec;
	map_positions(s);
	s->rb = ring_buffer__new(s->ctl.maps.events, on_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		p_err("cannot open the event ring buffer %s/maps/xs_events: %s", s->ctl.dir,
		      strerror(-err));
		goto fail;
	}
	s->events_id = map_id(s->ctl.maps.events);
	s->mono_to_real_ns = mono_to_real();
	if (xs_event_losses(&s->ctl.maps, &s->lost0, &s->rlim0))
		s->lost0 = s->rlim0 = 0;
	return 0;
fail:
	xs_evsource_close(s);
	return err;
}

int xs_evsource_epoll_fd(const struct xs_evsource *s)
{
	return s->rb ? ring_buffer__epoll_fd(s->rb) : -1;
}

int xs_evsource_consume(struct xs_evsource *s)
{
	return s->rb ? ring_buffer__consume(s->rb) : 0;
}

int xs_evsource_poll(struct xs_evsource *s, int timeout_ms)
{
	return s->rb ? ring_buffer__poll(s->rb, timeout_ms) : 0;
}

int xs_evsource_follow(struct xs_evsource *s)
{
	char dir[sizeof(s->ctl.dir)];
	struct xs_ctl lock;
	int err;

	if (!s->rb)
		return -ENOENT;
	if (pinned_events_id(&s->ctl) == s->events_id)
		return 0;
	snprintf(dir, sizeof(dir), "%s", s->ctl.dir);
	ring_buffer__consume(s->rb); /* what the old buffer still holds */
	xs_evsource_close(s);
	xs_ctl_init(&lock);
	snprintf(lock.dir, sizeof(lock.dir), "%s", dir);
	err = xs_ctl_lock(&lock, false);
	if (err && err != -ENOENT)
		return err;
	if (err == -ENOENT || !xs_ctl_loaded(&lock)) {
		xs_ctl_close(&lock);
		return -ENOENT;
	}
	xs_ctl_init(&s->ctl);
	snprintf(s->ctl.dir, sizeof(s->ctl.dir), "%s", dir);
	err = xs_evsource_open(s, s->fn, s->ctx);
	xs_ctl_close(&lock);
	if (err)
		return err;
	/* the new maps count their losses from their load */
	s->lost0 = s->rlim0 = 0;
	return 1;
}

int xs_evsource_losses(struct xs_evsource *s, uint64_t *lost, uint64_t *ratelimited)
{
	uint64_t l, r;
	int err;

	*lost = *ratelimited = 0;
	if (!s->rb)
		return 0;
	err = xs_event_losses(&s->ctl.maps, &l, &r);
	if (err)
		return err;
	/* counters only grow while these maps live; never report a negative */
	*lost = l >= s->lost0 ? l - s->lost0 : 0;
	*ratelimited = r >= s->rlim0 ? r - s->rlim0 : 0;
	s->lost0 = l;
	s->rlim0 = r;
	return *lost || *ratelimited;
}

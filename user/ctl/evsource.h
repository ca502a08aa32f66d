/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The event source: the records of a pin directory's xs_events ring buffer
 * (events, and the other XS_REC_* kinds), for `xdpseg watch` when no agent
 * runs and for the agent (user/agent/records.c), which is then their one
 * reader and serves them to any number of clients.
 *
 * A ring buffer has one consumer position: two readers would split its
 * records between them. The reader holds an flock on DIR/maps while it
 * reads (the same lock for watch and the agent). Each record is handed on
 * with `buffered`: it was in the buffer before this reader opened it (made
 * before the reader was there, so never to be shown as live). When xdpseg
 * is reloaded (new maps pinned), xs_evsource_follow() reads what is left in
 * the old buffer and opens the new one; when it is unloaded, it says so.
 */
#ifndef XS_EVSOURCE_H
#define XS_EVSOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"

struct ring_buffer;

/* One record: its bytes (a kind first, XS_REC_*), and whether it was buffered. */
typedef void (*xs_evsource_fn)(void *ctx, const void *rec, size_t size, bool buffered);

struct xs_evsource {
	struct xs_ctl ctl; /* the pinned maps (names and origins the records need) */
	int lock_fd;	   /* flock on DIR/maps: one reader per ring buffer */
	struct ring_buffer *rb;
	uint32_t events_id;	 /* the kernel id of the xs_events map rb reads */
	int64_t mono_to_real_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC at open */
	xs_evsource_fn fn;
	void *ctx;
	/* Read-only views of the ring's positions: the consumer position is the
	 * record being handed on (libbpf advances it after the callback), so
	 * `buffered` is exact: that position is before the producer's at open. */
	const uint64_t *cons_pos;
	void *cons_page, *prod_page;
	uint64_t open_pos;     /* the producer position at open */
	uint64_t open_mono_ns; /* CLOCK_MONOTONIC_COARSE at open (without the pages) */
	uint64_t lost0, rlim0; /* the kernel's loss counters at the last xs_evsource_losses() */
};

/* Initialise for pin directory `dir` (xs_evsource_close() is then always safe). */
void xs_evsource_init(struct xs_evsource *s, const char *dir);

/*
 * Open what is pinned now: the maps, the reader lock, the ring buffer.
 * Returns 0; -ENOENT when nothing is loaded (nothing printed); -EBUSY when
 * another reader holds the lock (nothing printed: the caller says who it
 * may be); another negative errno, printed with p_err() (a pin directory
 * xdpseg does not trust: why, and the fix).
 */
int xs_evsource_open(struct xs_evsource *s, xs_evsource_fn fn, void *ctx);

/* Is it open? */
static inline bool xs_evsource_is_open(const struct xs_evsource *s)
{
	return s->rb != NULL;
}

/* A descriptor that is readable when records wait (for an epoll loop). */
int xs_evsource_epoll_fd(const struct xs_evsource *s);

/* Hand on every record waiting (consume), or wait up to `timeout_ms` first
 * (poll). Records handed on, or a negative errno (-EINTR: a signal). */
int xs_evsource_consume(struct xs_evsource *s);
int xs_evsource_poll(struct xs_evsource *s, int timeout_ms);

/*
 * Is the ring buffer pinned now the one being read? 0: yes. 1: xdpseg was
 * reloaded: what the old buffer held was handed on, the new one is open
 * (its loss counters count from zero). -ENOENT: xdpseg was unloaded (the
 * source is closed). Another negative errno: the new one cannot be opened
 * (closed; -EBUSY: another reader took it). Decided under the pin
 * directory's lock, so an attach or detach in progress is seen finished.
 */
int xs_evsource_follow(struct xs_evsource *s);

/*
 * Events the kernel lost (ring buffer full) and drop events it did not send
 * (rate limit) since the last call (or the open). Returns 1 when either is
 * not zero, 0 when both are, or a negative errno.
 */
int xs_evsource_losses(struct xs_evsource *s, uint64_t *lost, uint64_t *ratelimited);

/* Release the buffer, the lock and the maps. */
void xs_evsource_close(struct xs_evsource *s);

#endif /* XS_EVSOURCE_H */

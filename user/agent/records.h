/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's records: while the agent runs it is the one reader of the
 * datapath's xs_events ring buffer (ctl/evsource.h: the same reader lock as
 * `xdpseg watch`; the buffer's epoll fd in the agent's loop under
 * AGENT_TAG_EVENTS), opened when the datapath is loaded or adopted,
 * followed across a reload, released when the agent stops.
 *
 * Every record read goes to every sink of a small registry, in the order
 * they were added: the events' history (first: it keeps the last
 * `event-history` events, decoded as they arrived), the watch streams
 * (watch.c), and whatever is added later (flow records, pcap). A record
 * starts with its kind (XS_REC_*); a sink ignores the kinds it does not
 * know. What the dispatcher knows of the record being handed on (decoded,
 * buffered) is agent_records_current().
 */
#ifndef XS_AGENT_RECORDS_H
#define XS_AGENT_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct json_object;
struct xs_evview;

/* A sink: one record, `size` bytes, a kind first (XS_REC_*). */
typedef void (*agent_record_fn)(struct agent *a, const void *rec, size_t size, void *arg);

/* Add a sink (every record from now on). 0, or -ENOMEM. */
int agent_records_sink_add(struct agent *a, agent_record_fn fn, void *arg);

/* The record being handed to the sinks. */
struct agent_record_info {
	/* it was in the ring buffer before the agent opened it: made before
	 * (the ring buffer's earlier reader did not read it), or while the
	 * agent was following a reload */
	bool buffered;
	/* an event (XS_REC_EVENT): decoded as it arrived (names and FILE:LINE
	 * as its generation knew them); NULL for another kind */
	const struct xs_evview *ev;
	uint64_t ev_seq; /* an event: its number (the history's) */
};

/* During a sink's call: the record's info (else NULL). */
const struct agent_record_info *agent_records_current(const struct agent *a);

/* Set up the registry, the history (a->cfg.event_history) and the watch sink. */
int agent_records_init(struct agent *a);
/* Free it all (after agent_records_stop()). */
void agent_records_free(struct agent *a);

/* Become the reader of the loaded datapath's ring buffer when it is not yet
 * (at start; then at every tick until it works). */
void agent_records_open(struct agent *a);
/* AGENT_TAG_EVENTS: read what waits. */
void agent_records_event(struct agent *a);
/* Once a second: follow a reload, open after a load, tell the streams of
 * the kernel's losses. */
void agent_records_tick(struct agent *a);
/* The configuration was reloaded: resize the history. */
void agent_records_reconfigure(struct agent *a);
/* The agent stops: end the streams, release the ring buffer. */
void agent_records_stop(struct agent *a);

/* Is the agent the ring buffer's reader now? If not, *why says why. */
bool agent_records_reading(const struct agent *a, const char **why);

/* For `status`: {"reader", "error", "map_id", "records", "history", ...}. */
struct json_object *agent_records_status(struct agent *a);

/* ---- The history (watch.c reads it) ---- */

/* Events are numbered from 1 as they arrive; the history holds the numbers
 * [first, next) (first == next: none). */
uint64_t agent_history_first(const struct agent *a);
uint64_t agent_history_next(const struct agent *a);
/* Event number `seq` (NULL when not held); *buffered: see above. */
const struct xs_evview *agent_history_get(const struct agent *a, uint64_t seq, bool *buffered);

/* ---- watch.c: the watch request's streams, a sink of the events ---- */

struct agent_client;

/* Add the sink that sends each event to the watch streams. */
int agent_watch_init(struct agent *a);

/*
 * {"cmd":"watch", ...} from client `c` (xdpseg(8), AGENT SOCKET): its
 * filters checked, the connection made a stream; `reply` (the first reply,
 * ok) gets the stream's facts. On an error: -EINVAL and the message in
 * why[size] (nothing started).
 */
int agent_watch_request(struct agent *a, struct agent_client *c, struct json_object *req,
			struct json_object *reply, char *why, size_t size);

/*
 * Called with each event the history is about to forget (it is full, or
 * made smaller), before it is freed (v NULL: it was not kept): a stream
 * that had not been sent it yet counts it as missed when it would have
 * passed its filters.
 */
void agent_watch_forget(struct agent *a, uint64_t seq, const struct xs_evview *v);

/* Tell every watch stream: the kernel lost or did not send events; the
 * datapath was reloaded (a new ring buffer, its map id). */
void agent_watch_losses(struct agent *a, uint64_t lost, uint64_t ratelimited);
void agent_watch_reloaded(struct agent *a, uint32_t map_id);

/* The agent stops: a last line to every stream. */
void agent_watch_stop(struct agent *a);

/* For `status` (server_streams_status()). */
struct json_object *agent_watch_status(struct agent *a);

#endif /* XS_AGENT_RECORDS_H */

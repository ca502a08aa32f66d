// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's records (records.h): the ring buffer's one reader, the sink
 * registry, and the events' history (a ring of decoded events, each in one
 * malloc'd block).
 */
#include "records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/log.h"
#include "agent/server.h"
#include "ctl/evsource.h"
#include "ctl/evview.h"

struct sink {
	agent_record_fn fn;
	void *arg;
};

struct hist_entry {
	struct xs_evview *v; /* xs_evview_dup(): one block */
	bool buffered;
};

struct agent_records {
	struct xs_evsource src;
	bool registered;   /* src's fd is in the agent's epoll */
	int open_err;	   /* the last failure to open (0: none; told once) */
	uint64_t records;  /* read from the ring buffer, every kind */
	uint64_t bad;	   /* events shorter than they say */
	uint32_t reopened; /* buffers followed across a reload */
	struct sink *sinks;
	size_t nsinks;
	const struct agent_record_info *current;

	/* Events are numbered from 1; the history holds [first, next), at most
	 * cap of them, event s at hist[s % cap] (v NULL: out of memory then). */
	struct hist_entry *hist;
	size_t cap;
	uint64_t first, next;
};

uint64_t agent_history_first(const struct agent *a)
{
	return a->rec->first;
}

uint64_t agent_history_next(const struct agent *a)
{
	return a->rec->next;
}

const struct xs_evview *agent_history_get(const struct agent *a, uint64_t seq, bool *buffered)
{
	const struct agent_records *r = a->rec;
	const struct hist_entry *h;

	if (seq < r->first || seq >= r->next || !r->cap)
		return NULL;
	h = &r->hist[seq % r->cap];
	if (buffered)
		*buffered = h->buffered;
	return h->v;
}

/* Forget the oldest event held. */
static void forget_oldest(struct agent *a)
{
	struct agent_records *r = a->rec;
	struct hist_entry *h = &r->hist[r->first % r->cap];

	agent_watch_forget(a, r->first, h->v);
	free(h->v);
	h->v = NULL;
	r->first++;
}

/* The history as a sink (the first one): every event, numbered; the oldest
 * forgotten when full. */
static void history_sink(struct agent *a, const void *rec, size_t size, void *arg)
{
	struct agent_records *r = a->rec;
	const struct agent_record_info *info = r->current;
	struct hist_entry *h;

	if (!info->ev)
		return;
	/* on_record() numbered it: next is past it */
	if (!r->cap) {
		r->first = r->next;
		return;
	}
	if (info->ev_seq - r->first == r->cap)
		forget_oldest(a);
	h = &r->hist[info->ev_seq % r->cap];
	h->v = xs_evview_dup(info->ev); /* NULL: out of memory, not kept */
	h->buffered = info->buffered;
}

/* Make the history hold `cap` events (the newest stay). */
static int history_resize(struct agent *a, size_t cap)
{
	struct agent_records *r = a->rec;
	struct hist_entry *nh = NULL;

	if (cap == r->cap)
		return 0;
	while (r->next - r->first > cap)
		forget_oldest(a);
	if (cap) {
		nh = calloc(cap, sizeof(*nh));
		if (!nh)
			return -ENOMEM;
		for (uint64_t s = r->first; s < r->next; s++)
			nh[s % cap] = r->hist[s % r->cap];
	}
	free(r->hist);
	r->hist = nh;
	r->cap = cap;
	if (!cap)
		r->first = r->next;
	return 0;
}

int agent_records_sink_add(struct agent *a, agent_record_fn fn, void *arg)
{
	struct agent_records *r = a->rec;
	struct sink *n = realloc(r->sinks, (r->nsinks + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	r->sinks = n;
	r->sinks[r->nsinks++] = (struct sink){ fn, arg };
	return 0;
}

const struct agent_record_info *agent_records_current(const struct agent *a)
{
	return a->rec ? a->rec->current : NULL;
}

/* One record from the ring buffer: decoded once, then to every sink. */
static void on_record(void *ctx, const void *rec, size_t size, bool buffered)
{
	struct agent *a = ctx;
	struct agent_records *r = a->rec;
	struct agent_record_info info = { .buffered = buffered };
	struct xs_evview_buf buf;
	struct xs_evview v;
	int err;

	r->records++;
	err = xs_evview_decode(&r->src.ctl.maps, r->src.mono_to_real_ns, rec, size, &v, &buf);
	if (err == -EBADMSG) {
		if (!r->bad++)
			agent_log(LOG_WARNING,
				  "an event of %zu bytes is shorter than it says: skipped (counted "
				  "in status)",
				  size);
		return;
	}
	if (!err) {
		info.ev = &v;
		info.ev_seq = r->next++;
	}
	r->current = &info;
	for (size_t i = 0; i < r->nsinks; i++)
		r->sinks[i].fn(a, rec, size, r->sinks[i].arg);
	r->current = NULL;
}

int agent_records_init(struct agent *a)
{
	struct agent_records *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	a->rec = r;
	xs_evsource_init(&r->src, a->cfg.pin_dir);
	r->first = r->next = 1;
	err = history_resize(a, a->cfg.event_history);
	if (!err)
		err = agent_records_sink_add(a, history_sink, NULL);
	if (!err)
		err = agent_watch_init(a);
	return err;
}

static void unregister(struct agent *a)
{
	struct agent_records *r = a->rec;

	if (r->registered)
		epoll_ctl(a->epfd, EPOLL_CTL_DEL, xs_evsource_epoll_fd(&r->src), NULL);
	r->registered = false;
}

static int do_register(struct agent *a)
{
	struct agent_records *r = a->rec;
	int fd = xs_evsource_epoll_fd(&r->src);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = AGENT_TAG(AGENT_TAG_EVENTS, fd) };

	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	r->registered = true;
	return 0;
}

void agent_records_open(struct agent *a)
{
	struct agent_records *r = a->rec;
	int err;

	if (!r || xs_evsource_is_open(&r->src))
		return;
	xs_evsource_init(&r->src, a->cfg.pin_dir);
	err = xs_evsource_open(&r->src, on_record, a);
	if (!err)
		err = do_register(a);
	if (err) {
		if (err != r->open_err && err == -EBUSY)
			agent_log(
				LOG_WARNING,
				"another reader holds the events of %s (an 'xdpseg watch' "
				"started before the agent?): the agent serves no events, keeps no "
				"history, until it stops",
				a->cfg.pin_dir);
		else if (err != r->open_err && err != -ENOENT)
			agent_log(LOG_WARNING, "cannot read the events of %s: %s", a->cfg.pin_dir,
				  strerror(-err));
		r->open_err = err;
		xs_evsource_close(&r->src);
		return;
	}
	if (r->open_err == -EBUSY)
		agent_log(LOG_NOTICE, "the other reader is gone: the agent reads the events of %s",
			  a->cfg.pin_dir);
	r->open_err = 0;
	agent_log(LOG_INFO, "reading the events of %s (ring buffer map id %u)", a->cfg.pin_dir,
		  r->src.events_id);
	/* what waits now: before any client (buffered events go to the history) */
	xs_evsource_consume(&r->src);
}

void agent_records_event(struct agent *a)
{
	struct agent_records *r = a->rec;
	int n;

	if (!r || !xs_evsource_is_open(&r->src))
		return;
	n = xs_evsource_consume(&r->src);
	if (n < 0 && n != -EINTR)
		agent_log(LOG_ERR, "reading the events of %s: %s", a->cfg.pin_dir, strerror(-n));
}

void agent_records_tick(struct agent *a)
{
	struct agent_records *r = a->rec;
	uint64_t lost, rlim;
	int err;

	if (!r)
		return;
	if (!xs_evsource_is_open(&r->src)) {
		agent_records_open(a);
		return;
	}
	if (xs_evsource_losses(&r->src, &lost, &rlim) > 0)
		agent_watch_losses(a, lost, rlim);
	unregister(a);
	err = xs_evsource_follow(&r->src);
	if (err == 0 || err == 1) {
		if (do_register(a)) {
			agent_log(LOG_ERR, "cannot watch the event ring buffer: %s",
				  strerror(errno));
			xs_evsource_close(&r->src);
			return;
		}
		if (err == 1) {
			r->reopened++;
			agent_log(LOG_NOTICE,
				  "xdpseg was reloaded: reading the new event ring buffer (map id "
				  "%u)",
				  r->src.events_id);
			agent_watch_reloaded(a, r->src.events_id);
			xs_evsource_consume(&r->src);
		}
		return;
	}
	if (err == -ENOENT)
		agent_log(LOG_INFO, "xdpseg was unloaded: no events until it is loaded again");
	else
		agent_records_open(a); /* says why it cannot, once */
}

void agent_records_reconfigure(struct agent *a)
{
	if (a->rec && history_resize(a, a->cfg.event_history))
		agent_log(LOG_ERR, "out of memory: the event history keeps its size");
}

void agent_records_stop(struct agent *a)
{
	struct agent_records *r = a->rec;

	if (!r)
		return;
	if (xs_evsource_is_open(&r->src))
		xs_evsource_consume(&r->src);
	agent_watch_stop(a);
	unregister(a);
	xs_evsource_close(&r->src);
}

void agent_records_free(struct agent *a)
{
	struct agent_records *r = a->rec;

	if (!r)
		return;
	unregister(a);
	xs_evsource_close(&r->src);
	for (uint64_t s = r->first; r->cap && s < r->next; s++)
		free(r->hist[s % r->cap].v);
	free(r->hist);
	free(r->sinks);
	free(r);
	a->rec = NULL;
}

bool agent_records_reading(const struct agent *a, const char **why)
{
	const struct agent_records *r = a->rec;

	*why = NULL;
	if (r && xs_evsource_is_open(&r->src))
		return true;
	if (!r || !r->open_err || r->open_err == -ENOENT)
		*why = "xdpseg is not loaded";
	else if (r->open_err == -EBUSY)
		*why = "another reader holds the ring buffer (an 'xdpseg watch' started before the "
		       "agent?)";
	else
		*why = strerror(-r->open_err);
	return false;
}

struct json_object *agent_records_status(struct agent *a)
{
	struct agent_records *r = a->rec;
	struct json_object *o = json_object_new_object(), *h;
	const char *why;
	bool open;

	if (!r)
		return o;
	open = agent_records_reading(a, &why);
	json_object_object_add(o, "reader", json_object_new_boolean(open));
	json_object_object_add(o, "error", why ? json_object_new_string(why) : NULL);
	json_object_object_add(o, "map_id", json_object_new_int64(open ? r->src.events_id : 0));
	json_object_object_add(o, "records", json_object_new_int64((int64_t)r->records));
	json_object_object_add(o, "bad", json_object_new_int64((int64_t)r->bad));
	json_object_object_add(o, "reloads_followed", json_object_new_int64(r->reopened));
	h = json_object_new_object();
	json_object_object_add(h, "events", json_object_new_int64((int64_t)(r->next - r->first)));
	json_object_object_add(h, "max", json_object_new_int64((int64_t)r->cap));
	json_object_object_add(o, "history", h);
	json_object_object_add(o, "streams", agent_watch_status(a));
	return o;
}

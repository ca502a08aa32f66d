// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The watch request (records.h): each client's filters, its history first
 * (marked "live": false), then the events as they come ("live": true).
 *
 * A client that asked for history reads it from the history itself: its
 * cursor walks the event numbers from the first it asked for, as far as its
 * queue takes (server.h: refill), through the events that arrive meanwhile
 * (they are in the history too) until it has caught up; from then on each
 * event is sent to it as it arrives. An event the history forgets before
 * such a cursor reached it is counted as missed for that client, as a line
 * its full queue dropped is: no client holds up the agent or another.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/log.h"
#include "agent/records.h"
#include "agent/server.h"
#include "ctl/evview.h"
#include "util.h"

/* One watch stream. */
struct wclient {
	struct xs_evfilter f;
	unsigned int flags; /* XS_EVJ_*: what each line carries */
	uint64_t cursor;    /* catching up: the next event number to consider */
	uint64_t live_from; /* events from this number on are live */
	uint64_t start_ns;  /* CLOCK_MONOTONIC_COARSE at the request */
	bool catching_up;   /* reads the history (cursor < the history's next) */
};

static const struct agent_stream_ops watch_ops;

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * XS_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/*
 * Live or history: an event that arrived after the request is live, unless
 * it was in the ring buffer before the agent opened it (a reload followed)
 * and made before the request.
 */
static enum xs_evfrom from_of(const struct wclient *w, uint64_t seq, const struct xs_evview *v,
			      bool buffered)
{
	if (seq < w->live_from)
		return XS_EV_HISTORY;
	if (buffered && v->e.ts_ns < w->start_ns)
		return XS_EV_HISTORY;
	return XS_EV_LIVE;
}

/* The line for `v` (malloc'd, without its newline) in *line, *len. */
static int render(const struct wclient *w, const struct xs_evview *v, enum xs_evfrom from,
		  char **line, size_t *len)
{
	FILE *f;

	*line = NULL;
	*len = 0;
	f = open_memstream(line, len);
	if (!f)
		return -ENOMEM;
	xs_evview_json(f, v, from, w->flags);
	if (fclose(f)) {
		free(*line);
		*line = NULL;
		return -ENOMEM;
	}
	if (*len && (*line)[*len - 1] == '\n')
		(*line)[--*len] = '\0';
	return 0;
}

/* Catching up: send from the history while the queue takes it. */
static void refill(struct agent *a, struct agent_client *c, void *ctx)
{
	struct wclient *w = ctx;

	while (w->catching_up) {
		const struct xs_evview *v;
		bool buffered = false;
		size_t len;
		char *line;

		if (w->cursor >= agent_history_next(a)) {
			w->catching_up = false; /* from now on, each event as it comes */
			break;
		}
		v = agent_history_get(a, w->cursor, &buffered);
		if (!v || !xs_evfilter_match(&w->f, v)) {
			w->cursor++;
			continue;
		}
		if (render(w, v, from_of(w, w->cursor, v, buffered), &line, &len))
			break;
		if (len + 1 > server_stream_room(c)) {
			free(line); /* no room now: again when the queue drains */
			break;
		}
		w->cursor++;
		if (server_stream_send(a, c, line, len)) {
			free(line);
			break;
		}
		free(line);
	}
}

static void close_ctx(struct agent *a, void *ctx)
{
	free(ctx);
}

static const struct agent_stream_ops watch_ops = {
	.kind = "events",
	.refill = refill,
	.close = close_ctx,
};

/* One live event to one stream (a stream still catching up gets it from
 * the history). */
static void send_live(struct agent *a, struct agent_client *c, void *ctx, void *arg)
{
	const struct agent_record_info *info = arg;
	struct wclient *w = ctx;
	size_t len;
	char *line;

	if (w->catching_up) {
		/* it reads the history, this event included (history_sink() ran
		 * first); its queue drained without a refill after the history
		 * shrank: go on now */
		if (server_stream_room(c) >= SERVER_STREAM_MAX / 2)
			server_stream_refill(a, c);
		if (w->catching_up || agent_history_get(a, info->ev_seq, NULL))
			return; /* behind, or sent by the refill */
				/* caught up, and no history holds this one: as it comes */
	}
	if (!xs_evfilter_match(&w->f, info->ev))
		return;
	if (render(w, info->ev, from_of(w, info->ev_seq, info->ev, info->buffered), &line, &len))
		return;
	server_stream_send(a, c, line, len);
	free(line);
}

static void watch_sink(struct agent *a, const void *rec, size_t size, void *arg)
{
	const struct agent_record_info *info = agent_records_current(a);

	if (!info || !info->ev)
		return; /* not an event */
	server_streams_each(a, &watch_ops, send_live, (void *)info);
}

int agent_watch_init(struct agent *a)
{
	return agent_records_sink_add(a, watch_sink, NULL);
}

struct forget {
	uint64_t seq;
	const struct xs_evview *v;
};

static void forget_one(struct agent *a, struct agent_client *c, void *ctx, void *arg)
{
	const struct forget *fg = arg;
	struct wclient *w = ctx;

	if (!w->catching_up || w->cursor != fg->seq)
		return;
	w->cursor++;
	if (fg->v && xs_evfilter_match(&w->f, fg->v))
		server_stream_missed(a, c, 1);
}

void agent_watch_forget(struct agent *a, uint64_t seq, const struct xs_evview *v)
{
	struct forget fg = { seq, v };

	server_streams_each(a, &watch_ops, forget_one, &fg);
}

static void send_line(struct agent *a, struct agent_client *c, void *ctx, void *arg)
{
	const char *line = arg;

	server_stream_send(a, c, line, strlen(line));
}

void agent_watch_losses(struct agent *a, uint64_t lost, uint64_t ratelimited)
{
	char line[96];

	snprintf(line, sizeof(line), "{\"lost\":%llu,\"ratelimited\":%llu}",
		 (unsigned long long)lost, (unsigned long long)ratelimited);
	server_streams_each(a, &watch_ops, send_line, line);
}

void agent_watch_reloaded(struct agent *a, uint32_t map_id)
{
	char line[96];

	snprintf(line, sizeof(line), "{\"reloaded\":true,\"events_map_id\":%u}", map_id);
	server_streams_each(a, &watch_ops, send_line, line);
}

void agent_watch_stop(struct agent *a)
{
	server_streams_end(a, "{\"ok\":true,\"protocol\":1,\"end\":\"the agent stopped\"}");
}

struct json_object *agent_watch_status(struct agent *a)
{
	return server_streams_status(a);
}

/* ---- The request ---- */

/* Member `key` as text: a string, or a whole number written out (for port,
 * last); NULL when absent. -EINVAL for another type. */
static int text_of(struct json_object *req, const char *key, const char **out, char *buf,
		   size_t size)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		*out = json_object_get_string(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_int)) {
		snprintf(buf, size, "%lld", (long long)json_object_get_int64(v));
		*out = buf;
		return 0;
	}
	return -EINVAL;
}

static int bool_of(struct json_object *req, const char *key, bool *out, char *why, size_t size)
{
	struct json_object *v;

	*out = false;
	if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(why, size, "\"%s\" is true or false", key);
		return -EINVAL;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

typedef int (*filter_fn)(struct xs_evfilter *f, const char *s, char *why, size_t size);

/* The filters: field name, parser. */
static const struct {
	const char *key;
	filter_fn parse;
} filters[] = {
	{ "verdict", xs_evfilter_verdict }, { "segment", xs_evfilter_segment },
	{ "port", xs_evfilter_port },	    { "iface", xs_evfilter_iface },
	{ "addr", xs_evfilter_addr },	    { "rule", xs_evfilter_rule },
};

/* "since": seconds (a number), or a duration ("5m"). */
static int since_of(struct json_object *req, uint64_t *secs, char *why, size_t size)
{
	struct json_object *v;

	*secs = 0;
	if (!json_object_object_get_ex(req, "since", &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0) {
		*secs = (uint64_t)json_object_get_int64(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_string))
		return xs_evfilter_since(json_object_get_string(v), secs, why, size);
	snprintf(why, size, "\"since\" is a number of seconds, or a duration as \"5m\"");
	return -EINVAL;
}

/* Where the history part starts: the first of the last `last` matching
 * events of the last `since` seconds (either 0: no limit of that kind). */
static uint64_t history_start(struct agent *a, const struct wclient *w, uint64_t since,
			      uint64_t last, uint64_t *count)
{
	uint64_t first = agent_history_first(a), next = agent_history_next(a), start = next;
	uint64_t from = since && since * XS_NS_PER_SEC < w->start_ns
				? w->start_ns - since * XS_NS_PER_SEC
				: 0;

	*count = 0;
	for (uint64_t s = next; s > first; s--) {
		const struct xs_evview *v = agent_history_get(a, s - 1, NULL);

		if (!v)
			continue;
		if (since && v->e.ts_ns < from)
			break;
		if (!xs_evfilter_match(&w->f, v))
			continue;
		start = s - 1;
		if (++*count == last)
			break;
	}
	return start;
}

int agent_watch_request(struct agent *a, struct agent_client *c, struct json_object *req,
			struct json_object *reply, char *why, size_t size)
{
	struct wclient *w;
	uint64_t since = 0, last = 0, count = 0;
	const char *text, *whynot;
	bool snap, astext, reading;
	char num[32];

	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(why, size, "out of memory");
		return -ENOMEM;
	}
	xs_evfilter_init(&w->f);
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		if (text_of(req, filters[i].key, &text, num, sizeof(num))) {
			snprintf(why, size, "\"%s\" is a string", filters[i].key);
			goto bad;
		}
		if (text && filters[i].parse(&w->f, text, why, size))
			goto bad;
	}
	if (since_of(req, &since, why, size))
		goto bad;
	if (text_of(req, "last", &text, num, sizeof(num))) {
		snprintf(why, size, "\"last\" is a positive number");
		goto bad;
	}
	if (text && xs_evfilter_count(text, &last, why, size))
		goto bad;
	if (bool_of(req, "snap", &snap, why, size) || bool_of(req, "text", &astext, why, size))
		goto bad;
	w->flags = (snap ? XS_EVJ_SNAP : 0) | (astext ? XS_EVJ_TEXT : 0);
	w->start_ns = coarse_ns();
	w->live_from = agent_history_next(a);
	w->cursor = w->live_from;
	if (since || last)
		w->cursor = history_start(a, w, since, last, &count);
	w->catching_up = w->cursor < w->live_from;
	if (server_stream_start(a, c, &watch_ops, w)) {
		snprintf(why, size, "the connection cannot stream");
		return -EINVAL; /* w freed by close_ctx() */
	}
	json_object_object_add(reply, "continues", json_object_new_boolean(1));
	json_object_object_add(reply, "stream", json_object_new_string("events"));
	json_object_object_add(reply, "pin_dir", json_object_new_string(a->cfg.pin_dir));
	json_object_object_add(reply, "history", json_object_new_int64((int64_t)count));
	json_object_object_add(reply, "history_max", json_object_new_int64(a->cfg.event_history));
	reading = agent_records_reading(a, &whynot);
	json_object_object_add(reply, "reader", json_object_new_boolean(reading));
	json_object_object_add(reply, "reader_error",
			       reading ? NULL : json_object_new_string(whynot));
	return 0;
bad:
	free(w);
	return -EINVAL;
}

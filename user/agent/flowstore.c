// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's flow store (flowstore.h): flowlog.c's observations, as
 * user/store/ keys them, into the database the configuration names.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/flowlog.h"
#include "agent/flowstore.h"
#include "agent/log.h"
#include "store/store.h"

/* Seconds between two tries to open a store that failed to open. */
#define FLOWSTORE_RETRY_S 60
/* Kinds of error logged (each once per store opened). */
#define FLOWSTORE_KINDS 8

struct agent_flowstore {
	struct xs_store *s;
	char path[PATH_MAX]; /* as configured when it was opened (or tried) */
	struct xs_store_limits lim;
	char error[PATH_MAX + 256];  /* the last failure, until a flush works ("": none) */
	int logged[FLOWSTORE_KINDS]; /* the errnos logged */
	size_t nlogged;
	uint64_t errors;	/* failed opens and flushes */
	uint64_t rejected;	/* observations xs_store_add() refused */
	unsigned long retry_at; /* a->ticks */
};

static void limits_of(const struct agent_config *c, struct xs_store_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->retention_days = c->flow_store_days;
	lim->max_bytes = c->flow_store_size;
	lim->max_day_rows = c->flow_store_day_rows;
}

/* A failure: kept for the status, counted, logged the first time its kind occurs. */
static void failed(struct agent_flowstore *st, int err, const char *msg)
{
	bool seen = false;

	snprintf(st->error, sizeof(st->error), "%s", msg);
	st->errors++;
	for (size_t i = 0; i < st->nlogged; i++)
		seen |= st->logged[i] == err;
	if (seen)
		return;
	if (st->nlogged < FLOWSTORE_KINDS)
		st->logged[st->nlogged++] = err;
	agent_log(LOG_ERR, "flow store: %s (logged once; counted in the status)", msg);
}

/* The store's directory, when missing (the state directory's first use). */
static void make_dir(const char *path)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	if (mkdir(dirname(copy), 0700) && errno != EEXIST)
		return; /* the open says why */
}

static void open_store(struct agent *a)
{
	struct agent_flowstore *st = a->store;
	char err[PATH_MAX + 256];
	int rc;

	snprintf(st->path, sizeof(st->path), "%s", a->cfg.flow_store);
	limits_of(&a->cfg, &st->lim);
	make_dir(st->path);
	rc = xs_store_open(st->path, true, &st->lim, &st->s, err, sizeof(err));
	if (rc) {
		st->retry_at = a->ticks + FLOWSTORE_RETRY_S;
		failed(st, rc, err);
		return;
	}
	st->error[0] = '\0';
	agent_log(LOG_INFO, "flow store: %s", st->path);
}

static void close_store(struct agent *a)
{
	struct agent_flowstore *st = a->store;
	char err[PATH_MAX + 256];

	if (st->s && xs_store_flush(st->s, time(NULL), err, sizeof(err)))
		agent_log(LOG_ERR, "flow store: %s", err);
	xs_store_close(st->s);
	st->s = NULL;
	st->nlogged = 0;
	st->error[0] = '\0';
}

int flowstore_init(struct agent *a)
{
	a->store = calloc(1, sizeof(*a->store));
	if (!a->store)
		return -ENOMEM;
	if (a->cfg.flow_store[0])
		open_store(a);
	return 0;
}

void flowstore_reconfigure(struct agent *a)
{
	struct agent_flowstore *st = a->store;
	struct xs_store_limits lim;

	if (!st)
		return;
	if (strcmp(st->path, a->cfg.flow_store)) {
		if (st->s)
			agent_log(LOG_INFO, "flow store: %s closed", st->path);
		close_store(a);
		st->path[0] = '\0';
		st->error[0] = '\0';
		if (a->cfg.flow_store[0])
			open_store(a);
		return;
	}
	limits_of(&a->cfg, &lim);
	if (memcmp(&lim, &st->lim, sizeof(lim))) {
		st->lim = lim;
		xs_store_set_limits(st->s, &lim);
	}
}

bool flowstore_on(const struct agent *a)
{
	return a->store && a->cfg.flow_store[0];
}

void flowstore_observe(void *agent, const struct flowlog_obs *o)
{
	struct agent *a = agent;
	struct agent_flowstore *st = a->store;
	struct xs_store_obs so;
	int rc;

	if (!st || !st->s)
		return;
	memset(&so, 0, sizeof(so));
	so.family = o->family;
	so.proto = o->proto;
	so.decision = o->verdict == XS_VERDICT_DROP    ? XS_STORE_DROP
		      : o->verdict == XS_VERDICT_AUDIT ? XS_STORE_AUDIT
						       : XS_STORE_ALLOW;
	memcpy(so.src, o->src, sizeof(so.src));
	memcpy(so.dst, o->dst, sizeof(so.dst));
	so.port = o->port;
	so.generation = o->generation;
	so.time = o->time;
	so.connections = o->connections;
	so.packets = o->packets;
	so.bytes = o->bytes;
	if (o->names) {
		so.rule = o->names->rule;
		so.src_segment = o->names->src_seg;
		so.dst_segment = o->names->dst_seg;
		so.iface = o->names->iface;
	}
	rc = xs_store_add(st->s, &so);
	if (rc) {
		char msg[PATH_MAX + 64];

		st->rejected++;
		snprintf(msg, sizeof(msg), "%s: an observation not kept: %s", st->path,
			 strerror(-rc));
		failed(st, rc, msg);
	}
}

void flowstore_flush(struct agent *a)
{
	struct agent_flowstore *st = a->store;
	char err[PATH_MAX + 256];
	int rc;

	if (!st || !a->cfg.flow_store[0])
		return;
	if (!st->s && a->ticks >= st->retry_at)
		open_store(a);
	if (!st->s)
		return;
	rc = xs_store_flush(st->s, time(NULL), err, sizeof(err));
	if (rc)
		failed(st, rc, err);
	else
		st->error[0] = '\0';
}

void flowstore_stop(struct agent *a)
{
	if (!a->store)
		return;
	close_store(a);
	free(a->store);
	a->store = NULL;
}

static void add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

struct json_object *flowstore_status(struct agent *a)
{
	struct agent_flowstore *st = a->store;
	struct json_object *o = json_object_new_object();
	struct xs_store_stats s;
	char day[16];

	json_object_object_add(o, "enabled", json_object_new_boolean(flowstore_on(a)));
	if (!flowstore_on(a))
		return o;
	json_object_object_add(o, "path", json_object_new_string(a->cfg.flow_store));
	json_object_object_add(o, "open", json_object_new_boolean(st->s != NULL));
	if (st->s && xs_store_stats(st->s, &s) == 0) {
		add_u64(o, "rows", s.rows);
		add_u64(o, "days", s.days);
		add_u64(o, "bytes", s.bytes);
		add_u64(o, "pending", s.pending);
		add_u64(o, "aggregated", s.aggregated);
		add_u64(o, "expired", s.expired);
		add_u64(o, "lost", s.lost);
		add_u64(o, "flushes", s.flushes);
		if (s.oldest_day >= 0) {
			time_t t = (time_t)(s.oldest_day * 86400);
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
			json_object_object_add(o, "oldest_day", json_object_new_string(day));
		} else {
			json_object_object_add(o, "oldest_day", NULL);
		}
	}
	add_u64(o, "retention_days", a->cfg.flow_store_days);
	add_u64(o, "max_bytes", a->cfg.flow_store_size);
	add_u64(o, "max_day_rows", a->cfg.flow_store_day_rows);
	add_u64(o, "errors", st->errors);
	add_u64(o, "rejected", st->rejected);
	json_object_object_add(o, "error", st->error[0] ? json_object_new_string(st->error) : NULL);
	return o;
}

int flowstore_sync(struct agent *a, struct json_object *reply, const char **code, char *why,
		   size_t size)
{
	struct agent_flowstore *st = a->store;
	struct xs_store_stats s;
	int rc;

	if (!flowstore_on(a)) {
		snprintf(why, size, "the flow store is off (flow-store = off in %s)", a->cfg.file);
		*code = "store-off";
		return -ENOENT;
	}
	if (!st->s)
		st->retry_at = 0; /* try to open it now */
	flowstore_flush(a);
	if (!st->s || st->error[0]) {
		snprintf(why, size, "%s", st->error[0] ? st->error : "the flow store is not open");
		*code = "store-error";
		return -EIO;
	}
	rc = xs_store_stats(st->s, &s);
	if (rc) {
		snprintf(why, size, "%s: cannot count its rows: %s", st->path, strerror(-rc));
		*code = "store-error";
		return rc;
	}
	json_object_object_add(reply, "path", json_object_new_string(st->path));
	add_u64(reply, "rows", s.rows);
	return 0;
}

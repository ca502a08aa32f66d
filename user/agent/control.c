// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The socket's commands: status, watch, flows and store-sync (anyone who can
 * connect), reload and stop (root). Every reply carries "protocol": 1 and echoes the
 * request's "id"; errors carry a message and a stable code (xdpseg(8),
 * AGENT SOCKET). watch makes the connection a stream (watch.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <bpf/bpf.h>
#include <systemd/sd-daemon.h>

#include "agent/agent.h"
#include "agent/log.h"
#include "agent/records.h"
#include "agent/capture.h"
#include "agent/flows.h"
#include "agent/flowstore.h"
#include "agent/fleet.h"
#include "agent/server.h"
#include "ctl/hooks.h"
#include "policy.h"
#include "util.h"
#include "xdpseg.h"

#define PROTOCOL 1

static struct json_object *reply_new(bool ok)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "ok", json_object_new_boolean(ok));
	json_object_object_add(r, "protocol", json_object_new_int(PROTOCOL));
	return r;
}

static struct json_object *error_new(const char *code, const char *msg)
{
	struct json_object *r = reply_new(false);

	json_object_object_add(r, "error", json_object_new_string(msg));
	json_object_object_add(r, "code", json_object_new_string(code));
	return r;
}

static struct json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static struct json_object *str_array(char **v, size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

static void rfc3339(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The state of selected link `l` now, checked against the kernel. */
static void link_state(const struct xs_ctl *ctl, bool open, const struct agent_link *l,
		       const char **state, char *error, size_t size)
{
	struct xs_iface_live live;
	struct xs_iface rec;
	__u32 key = l->ifindex;
	bool recorded = false;

	memset(&live, 0, sizeof(live));
	error[0] = '\0';
	if (open && bpf_map_lookup_elem(ctl->maps.ifaces, &key, &rec) == 0) {
		rec.name[sizeof(rec.name) - 1] = '\0';
		recorded = !strcmp(rec.name, l->name);
	}
	if (recorded) {
		struct xs_hooks h;

		/* the XDP ids of the dump just read: no dump per interface */
		xs_hooks_query_xdp_known(l->ifindex, l->xdp_drv, l->xdp_skb, &h);
		xs_iface_live_hooks(ctl, &rec, &h, &live);
		if (live.state == XS_LIVE_PROTECTED) {
			*state = "protected";
			return;
		}
		xs_live_problems(&live, error, size);
	}
	if (l->downed) {
		*state = "down";
		snprintf(error, size, "%s", l->error[0] ? l->error : "set down: not protected");
	} else if (l->state == AGENT_LINK_FAILED) {
		*state = "attach-failed";
		snprintf(error, size, "%s", l->error);
	} else if (recorded && (live.want & ~live.bad) && live.bad) {
		*state = "partial";
	} else {
		*state = "unprotected";
		if (!error[0])
			snprintf(error, size, "%s",
				 !open ? "xdpseg is not loaded" : "not attached (yet)");
	}
}

static int link_cmp(const void *x, const void *y)
{
	const struct agent_link *const *a = x, *const *b = y;

	return strcmp((*a)->name, (*b)->name);
}

static struct json_object *status_interfaces(struct agent *a)
{
	struct json_object *arr = json_object_new_array();
	const struct agent_link **v;
	struct xs_ctl ctl;
	size_t n = 0;
	bool open;

	v = calloc(a->nlinks + 1, sizeof(*v));
	if (!v)
		return arr;
	for (size_t i = 0; i < a->nlinks; i++) {
		if (a->links[i].matched_by[0])
			v[n++] = &a->links[i];
	}
	qsort(v, n, sizeof(*v), link_cmp);
	open = dp_open(a, &ctl) == 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		const char *state;
		char error[256];

		link_state(&ctl, open, v[i], &state, error, sizeof(error));
		json_object_object_add(o, "name", json_object_new_string(v[i]->name));
		json_object_object_add(o, "ifindex", json_object_new_int64(v[i]->ifindex));
		json_object_object_add(o, "matched_by", json_object_new_string(v[i]->matched_by));
		json_object_object_add(o, "state", json_object_new_string(state));
		json_object_object_add(o, "error", str_or_null(error));
		json_object_array_add(arr, o);
	}
	xs_ctl_close(&ctl);
	free(v);
	return arr;
}

static struct json_object *reply_status(struct agent *a)
{
	struct json_object *r = reply_new(true), *o;
	const struct agent_config *c = &a->cfg;
	char when[32];

	/* The kernel is the truth: a generation someone applied since the last
	 * tick, the links as they are now (what changed is handled after). */
	dp_poll(a);
	agent_links_resync(a);

	o = json_object_new_object();
	rfc3339(a->started_at, when, sizeof(when));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "config", json_object_new_string(c->file));
	json_object_object_add(o, "started_at", json_object_new_string(when));
	json_object_object_add(o, "uptime_s",
			       json_object_new_int64((int64_t)(agent_now() - a->started_mono)));
	json_object_object_add(o, "version", json_object_new_string(XS_VERSION));
	json_object_object_add(r, "agent", o);

	o = json_object_new_object();
	json_object_object_add(o, "interfaces", str_array(c->ifpat, c->nifpat));
	json_object_object_add(o, "bridges", str_array(c->bridges, c->nbridges));
	json_object_object_add(o, "mode", json_object_new_string(c->mode));
	json_object_object_add(
		o, "unprotected",
		json_object_new_string(c->unprotected == AGENT_UNPROT_DOWN ? "down" : "warn"));
	json_object_object_add(o, "pin_dir", json_object_new_string(c->pin_dir));
	json_object_object_add(o, "state_dir", json_object_new_string(c->state_dir));
	json_object_object_add(o, "policy", str_or_null(c->policy));
	json_object_object_add(o, "socket", json_object_new_string(c->sock));
	json_object_object_add(o, "reconcile_interval_s", json_object_new_int64(c->interval));
	json_object_object_add(o, "event_history", json_object_new_int64(c->event_history));
	json_object_object_add(r, "config", o);

	o = json_object_new_object();
	json_object_object_add(o, "generation", json_object_new_int64(a->pol.generation));
	json_object_object_add(o, "hash", str_or_null(a->pol.hash));
	json_object_object_add(o, "file", str_or_null(a->pol.file));
	json_object_object_add(o, "source", str_or_null(a->pol.source));
	json_object_object_add(o, "file_error", str_or_null(a->pol.file_error));
	json_object_object_add(o, "file_hash", str_or_null(a->pol.compiled_hash));
	json_object_object_add(r, "policy", o);
	json_object_object_add(r, "metrics", metrics_status(a));
	json_object_object_add(r, "fleet", agent_fleet_status(a));

	json_object_object_add(r, "interfaces", status_interfaces(a));
	json_object_object_add(r, "events", agent_records_status(a));
	json_object_object_add(r, "flows", agent_flows_status(a));
	json_object_object_add(r, "store", flowstore_status(a));
	return r;
}

int agent_reload(struct agent *a, char **errmsg, const char **code, bool *applied)
{
	struct agent_config_errors errs = { 0 };
	struct xs_compiled *comp = NULL;
	char hash[65] = "", *errline = NULL;
	struct agent_config nc;
	bool fleet;
	int err;

	*applied = false;
	*errmsg = NULL;
	agent_log(LOG_INFO, "reloading %s", a->cfg.file);
	err = agent_config_read(a->cfg.file, &nc, &errs);
	if (err) {
		for (size_t i = 0; i < errs.n; i++)
			agent_log_raw(LOG_ERR, errs.v[i]);
		*errmsg = errs.n ? strdup(errs.v[0]) : strdup("cannot read the configuration");
		*code = "config-error";
		agent_config_errors_free(&errs);
		agent_log(LOG_ERR, "reload refused: the configuration and policy in force stay");
		return -EINVAL;
	}
	if (strcmp(nc.pin_dir, a->cfg.pin_dir) || strcmp(nc.sock, a->cfg.sock)) {
		bool pin = strcmp(nc.pin_dir, a->cfg.pin_dir);
		enum agent_key k = pin ? AGENT_KEY_PIN_DIR : AGENT_KEY_SOCKET;

		if (asprintf(errmsg,
			     "%s:%d: error: %s cannot change while the agent runs (it is %s): "
			     "restart the agent",
			     nc.file, nc.line[k], agent_key_name(k),
			     pin ? a->cfg.pin_dir : a->cfg.sock) < 0)
			*errmsg = NULL;
		*code = "config-error";
		agent_log(LOG_ERR, "reload refused: %s", *errmsg ? *errmsg : "out of memory");
		agent_config_free(&nc);
		return -EINVAL;
	}
	if (nc.policy) {
		err = dp_compile(a, &nc, nc.policy, &comp, &errline);
		if (err) {
			agent_count_apply(a, XS_APPLY_REJECTED, 1);
			free(a->pol.file_error);
			a->pol.file_error = errline ? strdup(errline) : NULL;
			*errmsg = errline;
			*code = "policy-error";
			agent_log(LOG_ERR,
				  "reload refused: %s does not compile; the configuration "
				  "and policy in force stay",
				  nc.policy);
			agent_config_free(&nc);
			return -EINVAL;
		}
		xs_hex(comp->hash, sizeof(comp->hash), hash);
	}

	/* A metrics endpoint that moves: its new address bound first. */
	err = metrics_prepare(a, &nc, errmsg);
	if (err) {
		*code = "config-error";
		agent_log(LOG_ERR, "reload refused: %s; the configuration and policy in force stay",
			  *errmsg ? *errmsg : strerror(-err));
		xs_compiled_free(comp);
		agent_config_free(&nc);
		return -EINVAL;
	}

	/* Everything checked: take it all. */
	fleet = agent_fleet_changed(&a->cfg, &nc);
	if (fleet)
		agent_fleet_stop(a);
	agent_config_free(&a->cfg);
	a->cfg = nc;
	metrics_commit(a);
	agent_records_reconfigure(a);
	agent_flows_reconfigure(a);
	agent_capture_reconfigure(a);
	if (fleet)
		agent_fleet_start(a); /* a failure is logged; status says so */
	xs_compiled_free(a->pol.compiled);
	a->pol.compiled = comp;
	snprintf(a->pol.compiled_hash, sizeof(a->pol.compiled_hash), "%s", hash);
	free(a->pol.file_error);
	a->pol.file_error = NULL;
	dp_poll(a);
	if (comp && strcmp(hash, a->pol.hash)) {
		err = dp_apply(a, a->cfg.policy, "config");
		if (err == -EBUSY) {
			/* the configuration is taken; the policy waits for the confirm */
			if (asprintf(errmsg,
				     "%s is not applied: a commit-confirm is pending (run 'xdpseg "
				     "confirm' or 'xdpseg rollback', then reload)",
				     a->cfg.policy) < 0)
				*errmsg = NULL;
			*code = "confirm-pending";
			return err;
		}
		if (err) {
			if (asprintf(errmsg, "applying %s failed: %s (see the log)", a->cfg.policy,
				     strerror(-err)) < 0)
				*errmsg = NULL;
			*code = "apply-failed";
			return err;
		}
		*applied = true;
	}
	agent_links_rematch(a);
	agent_flush(a);
	agent_log(LOG_NOTICE, "reloaded %s: %s", a->cfg.file,
		  *applied	    ? "policy applied"
		  : comp	    ? "the policy in force is the configured one"
		  : a->cfg.fleet[0] ? "the policy comes from the fleet"
				    : "no policy configured");
	return 0;
}

static struct json_object *reply_reload(struct agent *a)
{
	struct json_object *r;
	const char *code = "internal";
	bool applied;
	char *msg;

	sd_notify(0, "RELOADING=1");
	if (agent_reload(a, &msg, &code, &applied)) {
		r = error_new(code, msg ? msg : "reload failed");
		free(msg);
	} else {
		r = reply_new(true);
		json_object_object_add(r, "applied", json_object_new_boolean(applied));
		json_object_object_add(r, "generation", json_object_new_int64(a->pol.generation));
	}
	sd_notify(0, "READY=1");
	return r;
}

static struct json_object *reply_flows(struct agent *a, struct agent_client *c)
{
	struct json_object *r = reply_new(true);

	if (agent_flows_follow(a, c, r)) {
		json_object_put(r);
		return error_new("internal", "cannot start the stream");
	}
	return r;
}

/* `store-sync`: what the flows carried until now, in the store (a walk of the
 * flow tables, a flush), so that a reader that follows sees it. */
static struct json_object *reply_store_sync(struct agent *a)
{
	struct json_object *r = reply_new(true);
	const char *code = "internal";
	char why[PATH_MAX + 256];

	agent_flows_walk_now(a);
	if (flowstore_sync(a, r, &code, why, sizeof(why))) {
		json_object_put(r);
		return error_new(code, why);
	}
	return r;
}

static struct json_object *reply_watch(struct agent *a, struct agent_client *c,
				       struct json_object *req)
{
	struct json_object *r = reply_new(true);
	char why[256];

	if (agent_watch_request(a, c, req, r, why, sizeof(why))) {
		json_object_put(r);
		return error_new("bad-request", why);
	}
	return r;
}

struct json_object *control_request(struct agent *a, struct agent_client *c,
				    const struct agent_peer *peer, const char *line, size_t len)
{
	struct json_object *req, *r, *v, *id = NULL;
	struct json_tokener *tok;
	const char *cmd;

	if (memchr(line, '\0', len))
		return error_new("bad-request", "a NUL byte in the request");
	tok = json_tokener_new();
	if (!tok)
		return error_new("internal", "out of memory");
	req = json_tokener_parse_ex(tok, line, (int)len);
	if (!req || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset < (int)len) {
		json_tokener_free(tok);
		json_object_put(req);
		return error_new("bad-request", "not one JSON object");
	}
	json_tokener_free(tok);
	if (!json_object_is_type(req, json_type_object)) {
		json_object_put(req);
		return error_new("bad-request", "not one JSON object");
	}
	if (json_object_object_get_ex(req, "id", &v))
		id = json_object_get(v);
	if (json_object_object_get_ex(req, "protocol", &v) &&
	    (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != PROTOCOL)) {
		r = error_new("unsupported-protocol", "this agent speaks protocol 1");
	} else if (!json_object_object_get_ex(req, "cmd", &v) ||
		   !json_object_is_type(v, json_type_string)) {
		r = error_new("bad-request", "no \"cmd\" string in the request");
	} else {
		cmd = json_object_get_string(v);
		if (!strcmp(cmd, "status")) {
			r = reply_status(a);
		} else if (!strcmp(cmd, "watch")) {
			r = reply_watch(a, c, req);
		} else if (!strcmp(cmd, "flows")) {
			r = reply_flows(a, c);
		} else if (!strcmp(cmd, "store-sync")) {
			r = reply_store_sync(a);
		} else if (strcmp(cmd, "reload") && strcmp(cmd, "stop")) {
			r = error_new("unknown-command",
				      "unknown command: the commands are status, watch, flows, "
				      "store-sync, reload, stop");
		} else if (peer->uid != 0) {
			r = error_new("permission-denied",
				      "only root may reload or stop the agent");
			agent_log(LOG_WARNING, "refused '%s' from uid %u (pid %d): not root", cmd,
				  (unsigned)peer->uid, (int)peer->pid);
		} else if (!strcmp(cmd, "reload")) {
			r = reply_reload(a);
		} else {
			agent_log(LOG_NOTICE, "stop asked by pid %d: enforcement stays",
				  (int)peer->pid);
			a->stop = true;
			r = reply_new(true);
		}
	}
	if (id)
		json_object_object_add(r, "id", id);
	json_object_put(req);
	return r;
}

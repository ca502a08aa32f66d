// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's part of `xdpseg status` (status_agent.h). */
#include "status_agent.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "agent/client.h"
#include "json.h"
#include "util.h"

#define AGENT_TIMEOUT_MS 1000

/* Member `key` of `o` if it has type `t`, else NULL. */
static struct json_object *member(struct json_object *o, const char *key, enum json_type t)
{
	struct json_object *m;

	if (!o || !json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, t))
		return NULL;
	return m;
}

/* A string member, or `dflt`. */
static const char *str(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *m = member(o, key, json_type_string);

	return m ? json_object_get_string(m) : dflt;
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *m = member(o, key, json_type_int);

	return m ? json_object_get_int64(m) : -1;
}

/* Print s with control bytes as '?' (what the agent says is printed to a terminal). */
static void put_clean(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* The same into buf (an interface name may hold control bytes). */
static const char *clean(char *buf, size_t size, const char *s)
{
	size_t i = 0;

	for (; *s && i + 1 < size; s++)
		buf[i++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	buf[i] = '\0';
	return buf;
}

/* An interface of the reply it calls anything but protected. */
static bool bad_iface(struct json_object *i)
{
	const char *state = str(i, "state", NULL);

	return !state || strcmp(state, "protected");
}

void xs_agent_view_get(struct xs_agent_view *v)
{
	struct json_object *r = NULL, *ifs, *pol;
	bool ok;

	memset(v, 0, sizeof(*v));
	v->sock = xs_agent_sock_path();
	v->err = xs_agent_call(v->sock, "{\"cmd\":\"status\"}", AGENT_TIMEOUT_MS, &r);
	if (v->err == -ENOENT || v->err == -ECONNREFUSED)
		return;
	if (v->err == -ETIMEDOUT) {
		snprintf(v->why, sizeof(v->why), "no answer on %s within %d ms", v->sock,
			 AGENT_TIMEOUT_MS);
		return;
	}
	if (v->err == -EBADMSG) {
		snprintf(v->why, sizeof(v->why), "%s answered with something that is not JSON",
			 v->sock);
		return;
	}
	if (v->err) {
		snprintf(v->why, sizeof(v->why), "cannot ask it on %s: %s", v->sock,
			 strerror(-v->err));
		return;
	}
	ok = member(r, "ok", json_type_boolean) &&
	     json_object_get_boolean(member(r, "ok", json_type_boolean));
	ifs = member(r, "interfaces", json_type_array);
	pol = member(r, "policy", json_type_object);
	if (!ok) {
		snprintf(v->why, sizeof(v->why), "it answered with an error: %s",
			 str(r, "error", "(none given)"));
	} else if (!member(r, "agent", json_type_object) || !ifs || !pol) {
		snprintf(v->why, sizeof(v->why), "its answer on %s is not a status", v->sock);
	} else {
		for (size_t i = 0; i < json_object_array_length(ifs); i++)
			if (bad_iface(json_object_array_get_idx(ifs, i)))
				v->nbad++;
		v->file_error = str(pol, "file_error", NULL);
		v->reply = r;
		return;
	}
	v->err = -EPROTO;
	json_object_put(r);
}

void xs_agent_view_free(struct xs_agent_view *v)
{
	json_object_put(v->reply);
	v->reply = NULL;
}

size_t xs_agent_view_summary(const struct xs_agent_view *v, char *buf, size_t size, size_t *o,
			     size_t base, bool (*skip)(void *ctx, const char *name), void *ctx)
{
	struct json_object *ifs = member(v->reply, "interfaces", json_type_array);
	char clean_name[64];
	size_t n = 0;

	for (size_t i = 0; ifs && i < json_object_array_length(ifs); i++) {
		struct json_object *e = json_object_array_get_idx(ifs, i);
		const char *name = str(e, "name", "?");

		if (!bad_iface(e) || (skip && skip(ctx, name)))
			continue;
		*o += (size_t)snprintf(buf + *o, *o < size ? size - *o : 0, "%s %s %s (agent)",
				       *o > base ? "," : "",
				       clean(clean_name, sizeof(clean_name), name),
				       str(e, "state", "?"));
		n++;
	}
	return n;
}

/* "3h12m", "5m2s", "2d4h". */
static void uptime(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		snprintf(buf, size, "?");
	else if (s < 60)
		snprintf(buf, size, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%lldm%llds", (long long)s / 60, (long long)s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%lldh%lldm", (long long)s / 3600, (long long)s % 3600 / 60);
	else
		snprintf(buf, size, "%lldd%lldh", (long long)s / 86400,
			 (long long)s % 86400 / 3600);
}

/* The agent's events: whether it reads them, its history, its streams' drops. */
static void events_text(struct json_object *ev)
{
	struct json_object *h = member(ev, "history", json_type_object);
	struct json_object *st = member(ev, "streams", json_type_object);
	struct json_object *reader = member(ev, "reader", json_type_boolean);

	if (!reader)
		return; /* an agent from before events */
	if (!json_object_get_boolean(reader)) {
		printf("  events: not read by the agent: ");
		put_clean(stdout, str(ev, "error", "?"));
		printf("\n");
		return;
	}
	printf("  events: read by the agent, history %lld of %lld, %lld watch stream%s",
	       (long long)num(h, "events"), (long long)num(h, "max"), (long long)num(st, "clients"),
	       num(st, "clients") == 1 ? "" : "s");
	if (num(st, "dropped_total") > 0)
		printf(", %lld events dropped for slow readers",
		       (long long)num(st, "dropped_total"));
	printf("\n");
}

/* "512 KiB", "1.5 MiB", "256 MiB". */
static void human_bytes(int64_t n, char *buf, size_t size)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)(n < 0 ? 0 : n);
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (!u || v >= 100 || v == (double)(int64_t)v)
		snprintf(buf, size, "%.0f %s", v, units[u]);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
}

/* The agent's flow store: where, how much, what it could not keep. */
static void store_text(struct json_object *st)
{
	struct json_object *en = member(st, "enabled", json_type_boolean);
	char used[32], max[32];

	if (!en)
		return; /* an agent from before the store */
	if (!json_object_get_boolean(en)) {
		printf("  flow store: off\n");
		return;
	}
	printf("  flow store: ");
	put_clean(stdout, str(st, "path", "?"));
	if (!member(st, "rows", json_type_int)) {
		printf(", not open: ");
		put_clean(stdout, str(st, "error", "?"));
		printf("\n");
		return;
	}
	human_bytes(num(st, "bytes"), used, sizeof(used));
	human_bytes(num(st, "max_bytes"), max, sizeof(max));
	printf(", %lld rows over %lld day%s, %s of %s", (long long)num(st, "rows"),
	       (long long)num(st, "days"), num(st, "days") == 1 ? "" : "s", used, max);
	if (num(st, "aggregated") > 0)
		printf(", %lld observations aggregated", (long long)num(st, "aggregated"));
	if (num(st, "lost") > 0)
		printf(", %lld lost", (long long)num(st, "lost"));
	if (str(st, "error", NULL)) {
		printf("; failing: ");
		put_clean(stdout, str(st, "error", ""));
	}
	printf("\n");
}

/* One line: the fleet followed, and whether etcd is reachable. */
static void fleet_text(struct json_object *fl)
{
	struct json_object *c = member(fl, "connected", json_type_boolean);
	bool up = c && json_object_get_boolean(c);

	if (!fl)
		return;
	printf("  fleet ");
	put_clean(stdout, str(fl, "fleet", "?"));
	printf(" as ");
	put_clean(stdout, str(fl, "host", "?"));
	printf(": %s since ", up ? "connected" : "NOT connected to etcd");
	put_clean(stdout, str(fl, "since", "start"));
	printf(", %sgeneration %lld", up ? "" : "enforcing ", (long long)num(fl, "generation"));
	if (str(fl, "hash", NULL))
		printf(" (sha256 %.12s)", str(fl, "hash", ""));
	if (str(fl, "error", NULL)) {
		printf("; last error: ");
		put_clean(stdout, str(fl, "error", ""));
	}
	printf("\n");
}

void xs_agent_view_text(const struct xs_agent_view *v)
{
	struct json_object *a, *pol, *ifs;
	char up[32], name[64];

	if (!v->reply) {
		if (v->why[0]) {
			printf("agent: not answering: ");
			put_clean(stdout, v->why);
			printf("\n");
		} else {
			printf("agent: not running\n");
		}
		return;
	}
	a = member(v->reply, "agent", json_type_object);
	pol = member(v->reply, "policy", json_type_object);
	ifs = member(v->reply, "interfaces", json_type_array);
	uptime(num(a, "uptime_s"), up, sizeof(up));
	printf("agent: running, pid %lld, config ", (long long)num(a, "pid"));
	put_clean(stdout, str(a, "config", "?"));
	printf(", up %s, policy source ", up);
	put_clean(stdout, str(pol, "source", "?"));
	printf(" (generation %lld", (long long)num(pol, "generation"));
	if (str(pol, "file", NULL)) {
		printf(", ");
		put_clean(stdout, str(pol, "file", ""));
	}
	printf(")\n");
	printf("  interfaces it selects: %zu, not protected: %zu\n", json_object_array_length(ifs),
	       v->nbad);
	for (size_t i = 0; i < json_object_array_length(ifs); i++) {
		struct json_object *e = json_object_array_get_idx(ifs, i);

		if (!bad_iface(e))
			continue;
		printf("    %-15s ifindex %-4lld matched by ",
		       clean(name, sizeof(name), str(e, "name", "?")),
		       (long long)num(e, "ifindex"));
		put_clean(stdout, str(e, "matched_by", "?"));
		printf("   ");
		put_clean(stdout, str(e, "state", "?"));
		if (str(e, "error", NULL)) {
			printf(": ");
			put_clean(stdout, str(e, "error", ""));
		}
		printf("\n");
	}
	fleet_text(member(v->reply, "fleet", json_type_object));
	events_text(member(v->reply, "events", json_type_object));
	store_text(member(v->reply, "store", json_type_object));
	if (v->file_error) {
		printf("  policy ");
		put_clean(stdout, str(member(v->reply, "config", json_type_object), "policy", "?"));
		printf(" no longer compiles: ");
		put_clean(stdout, v->file_error);
		printf("; enforcing the last good (hash %s)\n", str(pol, "hash", "?"));
	}
}

static void put_json(struct json_object *o)
{
	fputs(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE)
		: "null",
	      stdout);
}

void xs_agent_view_json(const struct xs_agent_view *v)
{
	static const char *const keys[] = { "pid", "config", "started_at", "uptime_s", "version" };
	struct json_object *a = member(v->reply, "agent", json_type_object);
	struct json_object *ifs = member(v->reply, "interfaces", json_type_array);

	printf("{\"socket\":");
	json_print_str(stdout, v->sock);
	if (!v->reply) {
		/* none listens: not running; no usable answer: unknown */
		printf(",\"running\":%s,\"error\":", v->why[0] ? "null" : "false");
		if (v->why[0])
			json_print_str(stdout, v->why);
		else
			printf("null");
		printf("}");
		return;
	}
	printf(",\"running\":true,\"error\":null");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct json_object *m = NULL;

		json_object_object_get_ex(a, keys[i], &m);
		printf(",\"%s\":", keys[i]);
		put_json(m);
	}
	printf(",\"configuration\":");
	put_json(member(v->reply, "config", json_type_object));
	printf(",\"policy\":");
	put_json(member(v->reply, "policy", json_type_object));
	printf(",\"fleet\":");
	put_json(member(v->reply, "fleet", json_type_object));
	printf(",\"events\":");
	put_json(member(v->reply, "events", json_type_object));
	printf(",\"store\":");
	put_json(member(v->reply, "store", json_type_object));
	printf(",\"interfaces\":");
	put_json(ifs);
	printf(",\"not_protected\":[");
	for (size_t i = 0, k = 0; i < json_object_array_length(ifs); i++) {
		struct json_object *e = json_object_array_get_idx(ifs, i);

		if (!bad_iface(e))
			continue;
		printf("%s", k++ ? "," : "");
		json_print_str(stdout, str(e, "name", "?"));
	}
	printf("]}");
}

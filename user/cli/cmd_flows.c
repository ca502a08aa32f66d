// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg flows: follow the agent's flow records (xdpseg(8), FLOW RECORDS)
 * on its socket: begin, update and end of every tracked flow with packets
 * and bytes each way, and per interval the deny records. One line each, or
 * the records themselves (--json, as the flow log has them).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent/client.h"
#include "cmds.h"
#include "util.h"

#define AGENT_TIMEOUT_MS 1000

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_string))
		return NULL;
	return json_object_get_string(m);
}

static long long num(struct json_object *o, const char *key)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_int))
		return -1;
	return (long long)json_object_get_int64(m);
}

/* "ADDR:PORT" (IPv6: "[ADDR]:PORT"), or the address alone. */
static void endpoint(struct json_object *o, const char *akey, const char *pkey, char *buf,
		     size_t size)
{
	const char *a = str(o, akey);
	long long p = num(o, pkey);

	if (!a)
		a = "*";
	if (p < 0)
		snprintf(buf, size, "%s", a);
	else if (strchr(a, ':'))
		snprintf(buf, size, "[%s]:%lld", a, p);
	else
		snprintf(buf, size, "%s:%lld", a, p);
}

/* One record as a line: TIME STATE PROTO SRC -> DST SEGS VERDICT RULE COUNTS. */
static void print_text(struct json_object *o)
{
	const char *kind = str(o, "kind"), *t = str(o, "time"), *rule = str(o, "rule");
	const char *cause = str(o, "cause");
	char src[80], dst[80];

	endpoint(o, "src", "sport", src, sizeof(src));
	endpoint(o, "dst", "dport", dst, sizeof(dst));
	printf("%s %s %-6s %s %s -> %s %s -> %s %s %s", t ? t : "?", str(o, "state") ?: "?",
	       kind ? kind : "?", str(o, "proto") ?: "?", src, dst, str(o, "src_segment") ?: "-",
	       str(o, "dst_segment") ?: "-", str(o, "verdict") ?: "?", rule ? rule : "-");
	if (kind && !strcmp(kind, "deny"))
		printf(" count %lld bytes %lld%s\n", num(o, "count"), num(o, "bytes"),
		       str(o, "reason") ? "" : "");
	else
		printf(" pkts %lld/%lld bytes %lld/%lld %lldms%s%s\n", num(o, "packets_fwd"),
		       num(o, "packets_rev"), num(o, "bytes_fwd"), num(o, "bytes_rev"),
		       num(o, "duration_ms"), cause ? " " : "", cause ? cause : "");
}

static const char flows_help[] =
	"Usage: xdpseg flows [--json] [--kind begin|update|end|deny] [--count N]\n\n"
	"Follow the agent's flow records: a flow's begin (B), its updates while it\n"
	"lives (C, every flow-update-interval), its end (E, with the cause: fin, rst,\n"
	"timeout, evicted, revoked, grant-expired, replaced, removed), and per\n"
	"flow-deny-interval one deny record (D) per denied source, destination,\n"
	"protocol and port, with its count. Packets and bytes are counted each way\n"
	"(fwd: from the flow's initiator). Needs the agent (xdpseg agent); the flows\n"
	"in the table when it starts come as begin records within seconds.\n\n"
	"  -j, --json          the records as the flow log writes them (xdpseg(8))\n"
	"  -k, --kind KIND     only begin, update, end or deny records\n"
	"  -c, --count N       stop after N records\n"
	"  -h, --help          this help\n";

int cmd_flows(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "kind", required_argument, NULL, 'k' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xs_agent_stream st = { .fd = -1 };
	const char *sock = xs_agent_sock_path(), *kind = NULL;
	struct json_object *r = NULL;
	unsigned long long count = 0, seen = 0;
	struct sigaction sa;
	char *end;
	int c, err, ret = XS_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "jk:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			xs_json = true;
			break;
		case 'k':
			if (strcmp(optarg, "begin") && strcmp(optarg, "update") &&
			    strcmp(optarg, "end") && strcmp(optarg, "deny"))
				return p_usage("flows",
					       "unknown kind '%s': use begin, update, end or deny",
					       optarg);
			kind = optarg;
			break;
		case 'c':
			errno = 0;
			count = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-' || !count)
				return p_usage("flows", "bad count '%s': a whole number, 1 or more",
					       optarg);
			break;
		case 'h':
			fputs(flows_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("flows", "bad option");
		}
	}
	if (optind < argc)
		return p_usage("flows", "unexpected argument '%s'", argv[optind]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);

	err = xs_agent_stream_open(&st, sock, "{\"cmd\":\"flows\",\"protocol\":1}",
				   AGENT_TIMEOUT_MS, &r);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		p_err("flow records come from the agent, and no agent answers on %s (start it: "
		      "'xdpseg agent', or 'systemctl start xdpseg')",
		      sock);
		goto out;
	}
	if (err) {
		p_err("the agent on %s does not answer: %s", sock, strerror(-err));
		goto out;
	}
	if (!json_object_get_boolean(json_object_object_get(r, "ok"))) {
		p_err("the agent on %s refused: %s", sock, str(r, "error") ?: "(no message)");
		goto out;
	}
	while (!stop) {
		struct json_object *o;
		char *line;

		err = xs_agent_stream_line(&st, &line, 500);
		if (err == -ETIMEDOUT || err == -EINTR)
			continue;
		if (err) {
			p_err("the agent on %s closed the stream: no more records", sock);
			goto out;
		}
		o = json_tokener_parse(line);
		if (!o || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			p_err("the agent on %s sent a line that is not a JSON object", sock);
			goto out;
		}
		if (str(o, "end")) {
			p_err("%s: no more records", str(o, "end"));
			json_object_put(o);
			goto out;
		}
		if (json_object_object_get_ex(o, "dropped", NULL)) {
			if (xs_json)
				printf("%s\n", line);
			else
				printf("-- the agent dropped %lld records for this client (it did "
				       "not "
				       "read them fast enough)\n",
				       num(o, "dropped"));
		} else if (str(o, "kind") && (!kind || !strcmp(kind, str(o, "kind")))) {
			if (xs_json)
				printf("%s\n", line);
			else
				print_text(o);
			seen++;
		}
		fflush(stdout);
		json_object_put(o);
		if (count && seen >= count)
			break;
	}
	ret = XS_EXIT_OK;
out:
	json_object_put(r);
	xs_agent_stream_close(&st);
	return ret;
}

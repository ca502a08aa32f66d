// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg watch: the event stream. Through the agent when one runs for the
 * pin directory (its socket: any number of watches, its history for
 * --since and --last), else from the xs_events ring buffer directly (one
 * reader: ctl/evsource.h). The same lines both ways (ctl/evview.h), each
 * saying whether it is live, history or buffered.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "agent/client.h"
#include "cmds.h"
#include "ctl/evsource.h"
#include "ctl/evview.h"
#include "ctl/loader.h"
#include "ctl/show.h"
#include "obs/b64.h"
#include "obs/pcap.h"
#include "util.h"

/* How long the agent may take to answer the request (then: direct). */
#define AGENT_TIMEOUT_MS 1000

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

struct watch {
	struct xs_evfilter f;
	uint64_t count; /* 0: unlimited */
	uint64_t seen;
	uint64_t since; /* seconds of history (0: none asked) */
	uint64_t last;	/* events of history (0: none asked) */
	const struct xs_maps *maps;
	int64_t mono_to_real_ns;
	struct xs_pcap *pcap; /* --pcap: the bytes of the drops and audits shown */
	const char *pcap_path;
};

/* --pcap: an event shown that carries bytes of its packet (a drop, an
 * audit) goes into the pcap file, what decided it into the sidecar. A file
 * that cannot be written stops watch (the close says why). */
static void watch_pcap(struct watch *w, int64_t real_ns, uint32_t pkt_len, const uint8_t *bytes,
		       uint32_t caplen, const struct xs_pcap_meta *m)
{
	int err;

	if (!w->pcap || !bytes || !caplen)
		return;
	err = xs_pcap_write(w->pcap, real_ns, pkt_len, bytes, caplen, m);
	if (err && err != -EINVAL)
		stop = 1;
}

static void seen_one(struct watch *w)
{
	fflush(stdout);
	w->seen++;
	if (w->count && w->seen >= w->count)
		stop = 1;
}

/* --pcap FILE: the files made; in direct mode a warning when events carry no bytes. */
static int watch_pcap_open(struct watch *w)
{
	return xs_pcap_open(&w->pcap, w->pcap_path, XS_EV_SNAP_MAX) ? -1 : 0;
}

static void watch_pcap_snap_warn(const struct watch *w)
{
	struct xs_config cfg;

	if (w->pcap && w->maps && xs_config_read(w->maps, &cfg) == 0 && !cfg.snap_len)
		p_warn("events carry no packet bytes (the datapath's snap length is 0): %s stays "
		       "empty",
		       w->pcap_path);
}

static int watch_pcap_close(struct watch *w)
{
	uint64_t n = xs_pcap_count(w->pcap);
	int err = xs_pcap_close(w->pcap);

	w->pcap = NULL;
	if (err) {
		p_err("cannot write to %s: %s", w->pcap_path, strerror(-err));
		return err;
	}
	/* (on stderr, also with --json: as tcpdump says what it captured) */
	fprintf(stderr, "xdpseg: %llu packet%s written to %s (what decided each: %s%s)\n",
		(unsigned long long)n, n == 1 ? "" : "s", w->pcap_path, w->pcap_path,
		XS_PCAP_META_SUFFIX);
	return 0;
}

/* ---- Direct: the ring buffer ---- */

static void on_record(void *ctx, const void *rec, size_t size, bool buffered)
{
	struct watch *w = ctx;
	struct xs_evview_buf buf;
	struct xs_evview v;
	enum xs_evfrom from = buffered ? XS_EV_BUFFERED : XS_EV_LIVE;

	/* another kind of record, or a short one: not an event to show */
	if (stop || xs_evview_decode(w->maps, w->mono_to_real_ns, rec, size, &v, &buf))
		return;
	if (!xs_evfilter_match(&w->f, &v))
		return;
	if (xs_json)
		xs_evview_json(stdout, &v, from, 0);
	else
		xs_evview_text(stdout, &v, from);
	if (w->pcap && v.snap) {
		struct xs_pcap_meta m = {
			.iface = v.iface,
			.dir = v.e.hook == XS_HOOK_EGRESS ? "out" : "in",
			.verdict = xs_show_verdict(v.e.verdict),
			.reason = xs_show_reason(v.e.reason),
			.rule_file = v.have_origin ? v.file : NULL,
			.rule_line = v.have_origin ? v.line : 0,
			.rule_id = v.e.rule_id,
			.generation = v.e.generation,
			.src_seg = v.src_seg,
			.dst_seg = v.dst_seg,
		};

		watch_pcap(w, v.real_ns, v.e.pkt_len, v.snap, v.e.snap_len, &m);
	}
	seen_one(w);
}

static void say_losses(uint64_t lost, uint64_t rl)
{
	if (xs_json)
		printf("{\"lost\":%llu,\"ratelimited\":%llu}\n", (unsigned long long)lost,
		       (unsigned long long)rl);
	else
		printf("-- %llu events lost (ring buffer full), %llu drop events rate-limited\n",
		       (unsigned long long)lost, (unsigned long long)rl);
	fflush(stdout);
}

static void say_reloaded(uint32_t id)
{
	if (xs_json)
		printf("{\"reloaded\":true,\"events_map_id\":%u}\n", id);
	else
		printf("-- xdpseg was reloaded (new programs and maps): following the new event "
		       "buffer (map id %u)\n",
		       id);
	fflush(stdout);
}

/* Report the kernel's losses since the last call. */
static void report_losses(struct xs_evsource *src)
{
	uint64_t lost, rl;

	if (xs_evsource_losses(src, &lost, &rl) > 0)
		say_losses(lost, rl);
}

static int open_direct(struct xs_evsource *src, struct watch *w)
{
	int err = xs_evsource_open(src, on_record, w);

	if (err == -ENOENT)
		p_err("xdpseg is not loaded (nothing pinned under %s): run 'xdpseg attach IFACE' "
		      "first",
		      src->ctl.dir);
	else if (err == -EBUSY)
		p_err("another 'xdpseg watch' is reading the events of %s: a ring buffer has one "
		      "reader, stop the other one first (an agent serves any number: "
		      "'xdpseg agent')",
		      src->ctl.dir);
	if (err)
		return err;
	w->maps = &src->ctl.maps;
	w->mono_to_real_ns = src->mono_to_real_ns;
	return 0;
}

static int watch_direct(struct watch *w)
{
	struct xs_evsource src;
	time_t last_check = 0;
	int err, ret = XS_EXIT_FAIL;

	xs_evsource_init(&src, xs_pin_dir());
	if (xs_ctl_check_env(src.ctl.dir) || open_direct(&src, w))
		goto out;
	watch_pcap_snap_warn(w);
	while (!stop) {
		err = xs_evsource_poll(&src, 100);
		if (err < 0 && err != -EINTR) {
			p_err("reading events failed: %s", strerror(-err));
			goto out;
		}
		if (time(NULL) == last_check)
			continue;
		last_check = time(NULL);
		report_losses(&src);
		/* Never read a dead buffer: follow a reload, stop at an unload. */
		err = xs_evsource_follow(&src);
		if (err == 1) {
			w->maps = &src.ctl.maps;
			w->mono_to_real_ns = src.mono_to_real_ns;
			say_reloaded(src.events_id);
		} else if (err == -ENOENT) {
			p_err("xdpseg was unloaded (nothing is pinned under %s any more): no more "
			      "events; watch again after 'xdpseg attach IFACE'",
			      xs_pin_dir());
			goto out;
		} else if (err) {
			if (err == -EBUSY)
				p_err("another reader took the events of %s during the reload: "
				      "no more events",
				      xs_pin_dir());
			goto out;
		}
	}
	report_losses(&src);
	ret = XS_EXIT_OK;
out:
	xs_evsource_close(&src);
	return ret;
}

/* ---- Through the agent ---- */

/* Member `key` of `o` when it has type `t`. */
static struct json_object *member(struct json_object *o, const char *key, enum json_type t)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, t))
		return NULL;
	return m;
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *m = member(o, key, json_type_int);

	return m ? json_object_get_int64(m) : 0;
}

static const char *str(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *m = member(o, key, json_type_string);

	return m ? json_object_get_string(m) : dflt;
}

/* The watch request for the agent: the filters as given, text lines unless --json. */
static char *agent_request(const struct watch *w, char *const *opt)
{
	static const char *const keys[] = { "verdict", "segment", "port", "iface", "addr", "rule" };
	struct json_object *r = json_object_new_object();
	char *text;

	json_object_object_add(r, "cmd", json_object_new_string("watch"));
	json_object_object_add(r, "protocol", json_object_new_int(1));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (opt[i])
			json_object_object_add(r, keys[i], json_object_new_string(opt[i]));
	}
	if (w->since)
		json_object_object_add(r, "since", json_object_new_int64((int64_t)w->since));
	if (w->last)
		json_object_object_add(r, "last", json_object_new_int64((int64_t)w->last));
	if (!xs_json)
		json_object_object_add(r, "text", json_object_new_boolean(1));
	if (w->pcap)
		json_object_object_add(r, "snap", json_object_new_boolean(1));
	text = strdup(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN));
	json_object_put(r);
	return text;
}

/* Print what the agent sent as control bytes made '?' (text mode). */
static void put_clean(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* --pcap through the agent: the bytes it sent ("snap", base64) and what
 * decided them, from the event's object. */
static void stream_pcap(struct watch *w, struct json_object *o)
{
	struct json_object *t = member(o, "time", json_type_double), *origin;
	uint8_t bytes[XS_EV_SNAP_MAX];
	const char *snap = str(o, "snap", NULL);
	struct xs_pcap_meta m = {
		.iface = str(o, "iface", "?"),
		.dir = str(o, "dir", "in"),
		.verdict = str(o, "verdict", "?"),
		.reason = str(o, "reason", "?"),
		.rule_id = (uint32_t)num(o, "rule_id"),
		.generation = (uint32_t)num(o, "generation"),
		.src_seg = str(o, "src_seg", "?"),
		.dst_seg = str(o, "dst_seg", "?"),
	};
	int64_t real = 0;
	int n;

	if (!snap)
		return;
	n = xs_b64_decode(snap, bytes, sizeof(bytes));
	if (n <= 0)
		return; /* not base64 of at most XS_EV_SNAP_MAX bytes: not written */
	if (t)
		real = (int64_t)(json_object_get_double(t) * 1e9);
	origin = member(o, "origin", json_type_object);
	if (origin) {
		m.rule_file = str(origin, "file", NULL);
		m.rule_line = (uint32_t)num(origin, "line");
	}
	watch_pcap(w, real, (uint32_t)(num(o, "pkt_len") ? num(o, "pkt_len") : num(o, "len")),
		   bytes, (uint32_t)n, &m);
}

/*
 * One line of the stream. Returns 0 to go on, 1 when the stream ended (the
 * agent stops), -EBADMSG for a line that is not a JSON object.
 */
static int stream_line(struct watch *w, const char *line)
{
	struct json_object *o = json_tokener_parse(line), *m;
	int ret = 0;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	if (member(o, "verdict", json_type_string) || member(o, "rollback", json_type_boolean)) {
		if (xs_json) {
			printf("%s\n", line); /* the agent's object, as direct mode prints it */
		} else {
			put_clean(str(o, "text", "?"));
			putchar('\n');
		}
		if (w->pcap)
			stream_pcap(w, o);
		seen_one(w);
	} else if ((m = member(o, "dropped", json_type_int))) {
		if (xs_json)
			printf("{\"dropped\":%lld}\n", (long long)json_object_get_int64(m));
		else
			printf("-- the agent dropped %lld events for this watch (it did not read "
			       "them fast enough)\n",
			       (long long)json_object_get_int64(m));
		fflush(stdout);
	} else if (member(o, "lost", json_type_int)) {
		say_losses((uint64_t)num(o, "lost"), (uint64_t)num(o, "ratelimited"));
	} else if (member(o, "reloaded", json_type_boolean)) {
		say_reloaded((uint32_t)num(o, "events_map_id"));
	} else if (member(o, "end", json_type_string)) {
		p_err("%s: no more events; watch again", str(o, "end", "?"));
		ret = 1;
	} else if (member(o, "ok", json_type_boolean) &&
		   !json_object_get_boolean(member(o, "ok", json_type_boolean))) {
		p_err("the agent: %s", str(o, "error", "(no message)"));
		ret = 1;
	}
	/* anything else: a line of a newer agent, not for this watch */
	json_object_put(o);
	return ret;
}

static int watch_agent(struct watch *w, struct xs_agent_stream *st, const char *sock)
{
	while (!stop) {
		char *line;
		int err = xs_agent_stream_line(st, &line, 500);

		if (err == -ETIMEDOUT || err == -EINTR)
			continue;
		if (err == -ECONNRESET) {
			p_err("the agent on %s closed the stream: no more events; watch again",
			      sock);
			return XS_EXIT_FAIL;
		}
		if (err) {
			p_err("reading the agent's stream on %s: %s", sock, strerror(-err));
			return XS_EXIT_FAIL;
		}
		err = stream_line(w, line);
		if (err == -EBADMSG) {
			p_err("the agent on %s sent a line that is not a JSON object", sock);
			return XS_EXIT_FAIL;
		}
		if (err)
			return XS_EXIT_FAIL;
	}
	return XS_EXIT_OK;
}

/*
 * Ask the agent for the stream. Returns 1 when it streams (st open), 0 when
 * there is no agent for this pin directory (read directly; *why says why
 * not when it matters), or an exit code's negative when watch must stop.
 */
static int agent_open(struct watch *w, char *const *opt, struct xs_agent_stream *st,
		      const char *sock, char *why, size_t size)
{
	struct json_object *r = NULL;
	const char *code, *dir;
	char *req = agent_request(w, opt);
	int err;

	why[0] = '\0';
	if (!req)
		return -XS_EXIT_FAIL;
	err = xs_agent_stream_open(st, sock, req, AGENT_TIMEOUT_MS, &r);
	free(req);
	if (err == -ENOENT || err == -ECONNREFUSED)
		return 0; /* no agent */
	if (err) {
		snprintf(why, size, "the agent on %s does not answer: %s", sock, strerror(-err));
		return 0;
	}
	code = str(r, "code", NULL);
	if (!member(r, "ok", json_type_boolean) ||
	    !json_object_get_boolean(member(r, "ok", json_type_boolean))) {
		if (code && !strcmp(code, "unknown-command")) {
			/* an agent from before watch: it does not read the events */
			snprintf(why, size, "the agent on %s does not serve events", sock);
			json_object_put(r);
			return 0;
		}
		p_err("the agent on %s refused the watch: %s", sock,
		      str(r, "error", "(no message)"));
		json_object_put(r);
		return -XS_EXIT_FAIL;
	}
	dir = str(r, "pin_dir", "");
	if (strcmp(dir, xs_pin_dir())) {
		snprintf(why, size, "the agent on %s serves the pin directory %s, not %s", sock,
			 dir, xs_pin_dir());
		json_object_put(r);
		return 0;
	}
	if (member(r, "reader", json_type_boolean) &&
	    !json_object_get_boolean(member(r, "reader", json_type_boolean)))
		p_warn("the agent does not read the events now (%s): they follow once it does",
		       str(r, "reader_error", "?"));
	json_object_put(r);
	return 1;
}

static const char watch_help[] =
	"Usage: xdpseg watch [--json] [--verdict allow|drop|audit] [--segment NAME]\n"
	"                    [--port N] [--iface NAME] [--addr CIDR] [--rule FILE:LINE]\n"
	"                    [--since DURATION] [--last N] [--count N] [--pcap FILE]\n\n"
	"Stream flow events, one line each:\n"
	"  TIME IFACE DIR VERDICT PROTO SRC:PORT -> DST:PORT SRCSEG -> DSTSEG REASON FILE:LINE "
	"WHEN\n"
	"(ICMP: PROTO is icmp/TYPE and the addresses have no port). WHEN is live,\n"
	"history (from the agent's history: --since, --last) or buffered (in the ring\n"
	"buffer before watch started). When the agent runs, watch reads its socket (any\n"
	"number of watches; events the agent had to drop for this one are reported);\n"
	"else the ring buffer directly (one watch at a time). Lost events are reported.\n"
	"When xdpseg is reloaded, follows the new event buffer (with a notice line);\n"
	"when it is unloaded (no agent), exits with an error. Stops on SIGINT/SIGTERM\n"
	"or after --count events.\n\n"
	"  -j, --json              one JSON object per line (\"live\": true or false)\n"
	"  -V, --verdict VERDICT   only allow, drop or audit events\n"
	"  -s, --segment NAME      only events from or to segment NAME\n"
	"  -p, --port N            only events with source or destination port N\n"
	"  -i, --iface NAME        only events on interface NAME\n"
	"  -a, --addr CIDR         only events from or to an address in CIDR (IPv4 or IPv6)\n"
	"  -r, --rule FILE:LINE    only events decided by the rule or default at FILE:LINE\n"
	"      --since DURATION    first the agent's events of the last DURATION (90s, 5m, 1h)\n"
	"      --last N            first the agent's last N events (with --since: of those)\n"
	"  -c, --count N           stop after N events\n"
	"  -w, --pcap FILE         also write the bytes drop and audit events carry (of\n"
	"                          the events shown) to FILE (pcap), what decided each\n"
	"                          packet to FILE.meta.ndjson\n"
	"  -h, --help              this help\n";

int cmd_watch(int argc, char **argv)
{
	enum { OPT_SINCE = 256, OPT_LAST };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verdict", required_argument, NULL, 'V' },
		{ "segment", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "iface", required_argument, NULL, 'i' },
		{ "addr", required_argument, NULL, 'a' },
		{ "rule", required_argument, NULL, 'r' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "last", required_argument, NULL, OPT_LAST },
		{ "count", required_argument, NULL, 'c' },
		{ "pcap", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	/* the filters as given, for the agent: verdict segment port iface addr rule */
	char *opt[6] = { NULL };
	struct watch w = { .count = 0 };
	struct xs_agent_stream st = { .fd = -1 };
	const char *sock = xs_agent_sock_path();
	struct sigaction sa;
	char why[512];
	int c, err, ret;

	xs_evfilter_init(&w.f);
	while ((c = getopt_long(argc, argv, "jV:s:p:i:a:r:c:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			xs_json = true;
			break;
		case 'V':
			err = xs_evfilter_verdict(&w.f, optarg, why, sizeof(why));
			opt[0] = optarg;
			break;
		case 's':
			err = xs_evfilter_segment(&w.f, optarg, why, sizeof(why));
			opt[1] = optarg;
			break;
		case 'p':
			err = xs_evfilter_port(&w.f, optarg, why, sizeof(why));
			opt[2] = optarg;
			break;
		case 'i':
			err = xs_evfilter_iface(&w.f, optarg, why, sizeof(why));
			opt[3] = optarg;
			break;
		case 'a':
			err = xs_evfilter_addr(&w.f, optarg, why, sizeof(why));
			opt[4] = optarg;
			break;
		case 'r':
			err = xs_evfilter_rule(&w.f, optarg, why, sizeof(why));
			opt[5] = optarg;
			break;
		case OPT_SINCE:
			err = xs_evfilter_since(optarg, &w.since, why, sizeof(why));
			break;
		case OPT_LAST:
			err = xs_evfilter_count(optarg, &w.last, why, sizeof(why));
			break;
		case 'c':
			err = xs_evfilter_count(optarg, &w.count, why, sizeof(why));
			break;
		case 'w':
			w.pcap_path = optarg;
			err = 0;
			break;
		case 'h':
			fputs(watch_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("watch", "bad option");
		}
		if (err)
			return p_usage("watch", "%s", why);
	}
	if (optind < argc)
		return p_usage("watch", "unexpected argument '%s'", argv[optind]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);

	xs_libbpf_log_setup();
	if (w.pcap_path && watch_pcap_open(&w))
		return XS_EXIT_FAIL;
	err = agent_open(&w, opt, &st, sock, why, sizeof(why));
	if (err < 0) {
		ret = -err;
	} else if (err > 0) {
		ret = watch_agent(&w, &st, sock);
	} else if (w.since || w.last) {
		if (why[0])
			p_err("--since and --last read the agent's history: %s", why);
		else
			p_err("--since and --last read the agent's history, and no agent answers "
			      "on %s (start it: 'xdpseg agent', or 'systemctl start xdpseg')",
			      sock);
		ret = XS_EXIT_FAIL;
	} else {
		if (why[0])
			p_warn("%s: reading the ring buffer directly", why);
		ret = watch_direct(&w);
	}
	xs_agent_stream_close(&st);
	if (w.pcap && watch_pcap_close(&w))
		ret = XS_EXIT_FAIL;
	return ret;
}

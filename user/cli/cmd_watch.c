// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg watch: the live event stream from the xs_events ring buffer. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmds.h"
#include "ctl/confirm.h"
#include "json.h"
#include "ctl/loader.h"
#include "ctl/show.h"
#include "obs/pcap.h"
#include "util.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

struct watch {
	const struct xs_maps *maps;
	int verdict;	     /* -1: any */
	const char *segment; /* NULL: any */
	long port;	     /* -1: any */
	long count;	     /* 0: unlimited */
	long seen;
	int64_t mono_to_real_ns; /* realtime - monotonic, for event times */
	struct xs_pcap *pcap;	 /* --pcap: the bytes of drops and audits shown */
	const char *pcap_path;
};

/*
 * The origin of `rule_id` as the event's generation knew it. The set is
 * reused two generations later, so the origin is trusted only while the
 * set's metadata still names that generation (checked before and after).
 */
static bool event_origin(const struct xs_maps *m, uint32_t generation, uint32_t rule_id,
			 struct xs_origin *o)
{
	struct xs_policy_meta a, b;
	uint32_t set = generation & 1;

	if (!generation || !rule_id)
		return false;
	if (xs_meta_get(m, set, &a) || a.generation != generation)
		return false;
	if (xs_origin_get(m, set, rule_id, o))
		return false;
	return xs_meta_get(m, set, &b) == 0 && b.generation == generation;
}

static void iface_name(const struct xs_maps *m, uint32_t ifindex, char *buf, size_t size)
{
	struct xs_iface e;
	char tmp[IF_NAMESIZE];

	if (bpf_map_lookup_elem(m->ifaces, &ifindex, &e) == 0) {
		snprintf(buf, size, "%.*s", (int)sizeof(e.name), e.name);
		return;
	}
	if (if_indextoname(ifindex, tmp))
		snprintf(buf, size, "%s", tmp);
	else
		snprintf(buf, size, "if%u", ifindex);
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/*
 * The datapath passed a commit-confirm deadline (XS_EVF_ROLLBACK): from this
 * packet on it decides by the event's generation, the policy before `apply
 * --confirm`. Shown whatever the filters: it is the policy's change, not a flow.
 */
static void print_rollback(const struct watch *w, const struct xs_event *e, const char *ifn)
{
	int64_t real = (int64_t)e->ts_ns + w->mono_to_real_ns;
	time_t secs = (time_t)(real / (int64_t)XS_NS_PER_SEC);
	char when[32], file[256];
	struct xs_policy_meta meta;
	struct xs_confirm c;
	struct tm tm;

	/* the set's policy: under the event's generation, or under the new one
	 * a command or the agent gave it since when they made it explicit */
	if (xs_meta_get(w->maps, e->generation & 1, &meta) == 0 && meta.file[0] &&
	    (meta.generation == e->generation ||
	     (xs_confirm_read(w->maps, &c) == 0 && meta.generation == c.generation &&
	      c.undone_generation == e->generation + 1)))
		snprintf(file, sizeof(file), "%.*s", (int)sizeof(meta.file), meta.file);
	else
		snprintf(file, sizeof(file), "?");
	if (xs_json) {
		printf("{\"time\":%lld.%09lld,\"iface\":", (long long)secs,
		       (long long)(real % (int64_t)XS_NS_PER_SEC));
		json_print_str(stdout, ifn);
		printf(",\"rollback\":true,\"generation\":%u,\"file\":", e->generation);
		json_print_str(stdout, file);
		printf("}\n");
		return;
	}
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	printf("%s.%03lld %s ROLLBACK the confirm deadline passed: the datapath went back to "
	       "generation %u (%s)\n",
	       when, (long long)(real % (int64_t)XS_NS_PER_SEC) / 1000000, ifn, e->generation,
	       file);
}

/* --pcap: an event shown that carries bytes of its packet (a drop, an
 * audit) goes into the pcap file, what decided it into the sidecar. */
static void watch_pcap(struct watch *w, const struct xs_event *e, size_t size, int64_t real,
		       const char *ifn, const char *sseg, const char *dseg,
		       const struct xs_origin *o)
{
	struct xs_pcap_meta m = {
		.iface = ifn,
		.dir = e->hook == XS_HOOK_EGRESS ? "out" : "in",
		.verdict = xs_show_verdict(e->verdict),
		.reason = xs_show_reason(e->reason),
		.rule_file = o ? o->file : NULL,
		.rule_line = o ? o->line : 0,
		.rule_id = e->rule_id,
		.generation = e->generation,
		.src_seg = sseg,
		.dst_seg = dseg,
	};
	int err;

	if (!e->snap_len || size < sizeof(*e) + e->snap_len)
		return;
	/* a file that cannot be written stops watch: the close says why */
	err = xs_pcap_write(w->pcap, real, e->pkt_len, e + 1, e->snap_len, &m);
	if (err && err != -EINVAL)
		stop = 1;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct watch *w = ctx;
	const struct xs_event *e = data;
	bool arp;
	char ifn[32], src[64], dst[64], sseg[XS_ORIGIN_TEXT_LEN], dseg[XS_ORIGIN_TEXT_LEN];
	char pbuf[16], when[32];
	struct xs_origin o;
	bool have_origin;
	uint32_t set;
	time_t secs;
	struct tm tm;
	int64_t real;

	/* another kind of record, or a short one: not an event to show */
	if (size < sizeof(*e) || e->kind != XS_REC_EVENT || stop)
		return 0;
	if (e->flags & XS_EVF_ROLLBACK) {
		iface_name(w->maps, e->ifindex, ifn, sizeof(ifn));
		print_rollback(w, e, ifn);
		fflush(stdout);
		w->seen++;
		if (w->count && w->seen >= w->count)
			stop = 1;
		return 0;
	}
	arp = e->flags & XS_EVF_ARP;
	if (w->verdict >= 0 && e->verdict != w->verdict)
		return 0;
	if (w->port >= 0 && (is_icmp(e->proto) || (e->sport != w->port && e->dport != w->port)))
		return 0;
	set = e->generation & 1;
	xs_segment_name(w->maps, set, e->src_seg, sseg, sizeof(sseg));
	xs_segment_name(w->maps, set, e->dst_seg, dseg, sizeof(dseg));
	if (w->segment && strcmp(w->segment, sseg) && strcmp(w->segment, dseg))
		return 0;
	have_origin = event_origin(w->maps, e->generation, e->rule_id, &o);
	iface_name(w->maps, e->ifindex, ifn, sizeof(ifn));

	real = (int64_t)e->ts_ns + w->mono_to_real_ns;
	if (w->pcap)
		watch_pcap(w, e, size, real, ifn, sseg, dseg, have_origin ? &o : NULL);
	secs = (time_t)(real / (int64_t)XS_NS_PER_SEC);
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);

	if (xs_json) {
		xs_show_addr(e->family, e->saddr, false, src, sizeof(src));
		xs_show_addr(e->family, e->daddr, false, dst, sizeof(dst));
		printf("{\"time\":%lld.%09lld,\"iface\":", (long long)secs,
		       (long long)(real % (int64_t)XS_NS_PER_SEC));
		json_print_str(stdout, ifn);
		printf(",\"dir\":\"%s\",\"verdict\":\"%s\",\"reason\":\"%s\",\"proto\":\"%s\","
		       "\"family\":%u,\"src\":\"%s\",\"dst\":\"%s\"",
		       e->hook == XS_HOOK_EGRESS ? "out" : "in", xs_show_verdict(e->verdict),
		       xs_show_reason(e->reason),
		       arp ? "arp" : xs_show_proto(e->proto, pbuf, sizeof(pbuf)), e->family, src,
		       dst);
		if (arp)
			; /* sender and target addresses only */
		else if (is_icmp(e->proto))
			printf(",\"icmp_type\":%u,\"icmp_code\":%u,\"icmp_id\":%u", e->icmp_type,
			       e->icmp_code, e->sport);
		else
			printf(",\"sport\":%u,\"dport\":%u", e->sport, e->dport);
		printf(",\"src_seg\":");
		json_print_str(stdout, sseg);
		printf(",\"dst_seg\":");
		json_print_str(stdout, dseg);
		printf(",\"src_seg_id\":%u,\"dst_seg_id\":%u,\"generation\":%u,\"rule_id\":%u,"
		       "\"len\":%u,\"origin\":",
		       e->src_seg, e->dst_seg, e->generation, e->rule_id, e->pkt_len);
		if (have_origin) {
			printf("{\"file\":");
			json_print_str(stdout, o.file);
			printf(",\"line\":%u,\"text\":", o.line);
			json_print_str(stdout, o.text);
			printf("}");
		} else {
			printf("null");
		}
		printf("}\n");
	} else {
		char s[96], d[96], origin[160];
		const char *proto = pbuf;

		xs_show_addr(e->family, e->saddr, true, src, sizeof(src));
		xs_show_addr(e->family, e->daddr, true, dst, sizeof(dst));
		if (arp) { /* a bound port's spoofed ARP: sender -> target address */
			snprintf(s, sizeof(s), "%s", src);
			snprintf(d, sizeof(d), "%s", dst);
			proto = "arp";
		} else if (is_icmp(e->proto)) {
			snprintf(s, sizeof(s), "%s", src);
			snprintf(d, sizeof(d), "%s", dst);
			snprintf(pbuf, sizeof(pbuf), "%s/%u",
				 e->proto == IPPROTO_ICMP ? "icmp" : "icmp6", e->icmp_type);
		} else {
			snprintf(s, sizeof(s), "%s:%u", src, e->sport);
			snprintf(d, sizeof(d), "%s:%u", dst, e->dport);
			proto = xs_show_proto(e->proto, pbuf, sizeof(pbuf));
		}
		if (have_origin)
			snprintf(origin, sizeof(origin), "%s:%u", o.file, o.line);
		else
			snprintf(origin, sizeof(origin), "-");
		printf("%s.%03lld %s %s %s %s %s -> %s %s -> %s %s %s\n", when,
		       (long long)(real % (int64_t)XS_NS_PER_SEC) / 1000000, ifn,
		       e->hook == XS_HOOK_EGRESS ? "out" : "in", xs_verdict_upper(e->verdict),
		       proto, s, d, sseg, dseg, xs_show_reason(e->reason), origin);
	}
	fflush(stdout);
	w->seen++;
	if (w->count && w->seen >= w->count)
		stop = 1;
	return 0;
}

/* Tell the user when the kernel lost or suppressed events since the last call. */
static void report_losses(const struct xs_maps *m, uint64_t *lost0, uint64_t *rl0)
{
	uint64_t lost, rl;

	if (xs_event_losses(m, &lost, &rl))
		return;
	if (lost == *lost0 && rl == *rl0)
		return;
	if (xs_json)
		printf("{\"lost\":%llu,\"ratelimited\":%llu}\n",
		       (unsigned long long)(lost - *lost0), (unsigned long long)(rl - *rl0));
	else
		printf("-- %llu events lost (ring buffer full), %llu drop events rate-limited\n",
		       (unsigned long long)(lost - *lost0), (unsigned long long)(rl - *rl0));
	fflush(stdout);
	*lost0 = lost;
	*rl0 = rl;
}

/*
 * A ring buffer has one consumer position: two readers would split the
 * events between them. Hold a lock on DIR/maps while watching.
 */
static int lock_consumer(const struct xs_ctl *ctl)
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

/* The kernel id of a map (0 when it cannot be read). */
static __u32 map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

/* The id of the ring buffer pinned now (0: none: unloaded, or being reloaded). */
static __u32 pinned_events_id(const struct xs_ctl *ctl)
{
	char path[512];
	__u32 id;
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

/* What one `watch` reads: the opened pinned state, its reader lock, its buffer. */
struct source {
	struct xs_ctl ctl;
	int lock_fd; /* flock on DIR/maps: one reader per ring buffer */
	struct ring_buffer *rb;
	__u32 events_id; /* the id of the xs_events map rb reads */
};

static void source_close(struct source *src)
{
	ring_buffer__free(src->rb);
	src->rb = NULL;
	if (src->lock_fd >= 0)
		close(src->lock_fd);
	src->lock_fd = -1;
	xs_ctl_close(&src->ctl);
	src->events_id = 0;
}

/* Open what is pinned now: maps, the reader lock, a ring buffer on xs_events. */
static int source_open(struct source *src, struct watch *w)
{
	int err;

	err = xs_ctl_open(&src->ctl);
	if (err)
		return err;
	src->lock_fd = lock_consumer(&src->ctl);
	if (src->lock_fd < 0) {
		err = src->lock_fd;
		if (err == -EBUSY)
			p_err("another 'xdpseg watch' is reading the events of %s: a ring buffer "
			      "has one reader, stop the other one first",
			      src->ctl.dir);
		else
			p_err("cannot lock %s/maps: %s", src->ctl.dir, strerror(-err));
		return err;
	}
	w->maps = &src->ctl.maps;
	src->rb = ring_buffer__new(src->ctl.maps.events, handle_event, w, NULL);
	if (!src->rb) {
		err = -errno;
		p_err("cannot open the event ring buffer %s/maps/xs_events: %s", src->ctl.dir,
		      strerror(errno));
		return err;
	}
	src->events_id = map_id(src->ctl.maps.events);
	return 0;
}

/*
 * The pinned ring buffer is not the one being read: xdpseg was unloaded
 * (exit with an error) or reloaded (follow the new buffer, say so). Decided
 * under the pin directory's lock, so that an attach or detach in progress
 * is seen finished, not half-way.
 */
static int source_follow(struct source *src, struct watch *w)
{
	const char *dir = src->ctl.dir;
	char path[sizeof(src->ctl.dir)];
	int err;

	snprintf(path, sizeof(path), "%s", dir);
	ring_buffer__consume(src->rb); /* what the old buffer still holds */
	source_close(src);
	xs_ctl_init(&src->ctl);
	err = xs_ctl_lock(&src->ctl, false);
	if (err && err != -ENOENT)
		return err;
	if (err == -ENOENT || !xs_ctl_loaded(&src->ctl)) {
		p_err("xdpseg was unloaded (nothing is pinned under %s any more): no more events; "
		      "watch again after 'xdpseg attach IFACE'",
		      path);
		return -ENOENT;
	}
	err = source_open(src, w);
	xs_ctl_unlock(&src->ctl);
	if (err)
		return err;
	if (xs_json)
		printf("{\"reloaded\":true,\"events_map_id\":%u}\n", src->events_id);
	else
		printf("-- xdpseg was reloaded (new programs and maps): following the new event "
		       "buffer (map id %u)\n",
		       src->events_id);
	fflush(stdout);
	return 0;
}

static int64_t mono_to_real(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - m.tv_sec) * (int64_t)XS_NS_PER_SEC +
	       ((int64_t)r.tv_nsec - m.tv_nsec);
}

static const char watch_help[] =
	"Usage: xdpseg watch [--json] [--verdict allow|drop|audit] [--segment NAME]\n"
	"                    [--port N] [--count N] [--pcap FILE]\n\n"
	"Stream live flow events, one line each:\n"
	"  TIME IFACE DIR VERDICT PROTO SRC:PORT -> DST:PORT SRCSEG -> DSTSEG REASON FILE:LINE\n"
	"(ICMP: PROTO is icmp/TYPE and the addresses have no port). Lost events are\n"
	"reported. When xdpseg is reloaded, follows the new event buffer (with a notice\n"
	"line); when it is unloaded, exits with an error. Stops on SIGINT/SIGTERM or\n"
	"after --count events.\n\n"
	"  -j, --json              one JSON object per line\n"
	"  -V, --verdict VERDICT   only allow, drop or audit events\n"
	"  -s, --segment NAME      only events from or to segment NAME\n"
	"  -p, --port N            only events with source or destination port N\n"
	"  -c, --count N           stop after N events\n"
	"  -w, --pcap FILE         also write the bytes drop and audit events carry (of\n"
	"                          the events shown) to FILE (pcap), what decided each\n"
	"                          packet to FILE.meta.ndjson\n"
	"  -h, --help              this help\n";

/* --pcap FILE: the files made, and a warning when events carry no bytes. */
static int watch_pcap_open(struct watch *w)
{
	struct xs_config cfg;

	if (xs_pcap_open(&w->pcap, w->pcap_path, XS_EV_SNAP_MAX))
		return -1;
	if (xs_config_read(w->maps, &cfg) == 0 && !cfg.snap_len)
		p_warn("events carry no packet bytes (the datapath's snap length is 0): %s stays "
		       "empty",
		       w->pcap_path);
	return 0;
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

static int parse_num(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verdict", required_argument, NULL, 'V' },
		{ "segment", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "pcap", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct watch w = { .verdict = -1, .port = -1 };
	struct source src = { .lock_fd = -1 };
	struct sigaction sa;
	uint64_t lost0 = 0, rl0 = 0;
	time_t last_check = 0;
	int c, err, ret = XS_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "jV:s:p:c:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			xs_json = true;
			break;
		case 'V':
			if (!strcmp(optarg, "allow"))
				w.verdict = XS_VERDICT_ALLOW;
			else if (!strcmp(optarg, "drop"))
				w.verdict = XS_VERDICT_DROP;
			else if (!strcmp(optarg, "audit"))
				w.verdict = XS_VERDICT_AUDIT;
			else
				return p_usage("watch",
					       "unknown verdict '%s': use allow, drop or audit",
					       optarg);
			break;
		case 's':
			w.segment = optarg;
			break;
		case 'p':
			if (parse_num(optarg, 65535, &w.port))
				return p_usage("watch", "bad port '%s': use 0..65535", optarg);
			break;
		case 'c':
			if (parse_num(optarg, 1L << 40, &w.count) || w.count == 0)
				return p_usage("watch", "bad count '%s': use a positive number",
					       optarg);
			break;
		case 'w':
			w.pcap_path = optarg;
			break;
		case 'h':
			fputs(watch_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("watch", "bad option");
		}
	}
	if (optind < argc)
		return p_usage("watch", "unexpected argument '%s'", argv[optind]);

	xs_libbpf_log_setup();
	xs_ctl_init(&src.ctl);
	if (xs_ctl_check_env(src.ctl.dir) || source_open(&src, &w))
		goto out;
	if (w.pcap_path && watch_pcap_open(&w))
		goto out;
	w.mono_to_real_ns = mono_to_real();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);

	xs_event_losses(w.maps, &lost0, &rl0);
	while (!stop) {
		err = ring_buffer__poll(src.rb, 100);
		if (err < 0 && err != -EINTR) {
			p_err("reading events failed: %s", strerror(-err));
			goto out;
		}
		if (time(NULL) == last_check)
			continue;
		last_check = time(NULL);
		report_losses(w.maps, &lost0, &rl0);
		/* Never read a dead buffer: follow a reload, stop at an unload. */
		if (pinned_events_id(&src.ctl) != src.events_id) {
			if (source_follow(&src, &w))
				goto out;
			lost0 = rl0 = 0; /* the new maps count from their load */
		}
	}
	report_losses(w.maps, &lost0, &rl0);
	ret = XS_EXIT_OK;
out:
	if (w.pcap && watch_pcap_close(&w))
		ret = XS_EXIT_FAIL;
	source_close(&src);
	return ret;
}

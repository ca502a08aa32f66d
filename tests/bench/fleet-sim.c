// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg-fleet-sim: N hosts following one fleet, in one process, on one
 * curl multi (scripts/bench --fleet N; issue 12, "Scale test"). Not a test.
 *
 * Every simulated host is a real follower (user/fleet/follow.c: the
 * pointer read and watched, the bundle fetched and verified, the report
 * put under its lease), with its own name, its own etcd client and its own
 * watch; only `apply` is simulated (it records the time and accepts: no
 * BPF). Their clients share one CURLM (and so its connection cache),
 * driven by a curl_multi_poll() loop that hands finished transfers to
 * xs_etcd_done() and runs xs_follow_tick() for the hosts whose timers are
 * due.
 *
 * A run: the hosts start (spread over --ramp ms), then the warm-up waits
 * until every host's report of the fleet's current hash has landed. Then
 * each sample: a publish (--publish FILE: compiled here and published
 * with xs_fleet_publish() from a thread of its own, so the loop keeps
 * running; without --publish: "ready" on stdout, and whoever publishes),
 * and the time from the pointer's time_ms to the moment each host's
 * report of the new hash landed, until all converged or --timeout.
 * One line per sample on stdout, key=value:
 *
 *   sample hosts=N gen=G converged=C p50_ms= p99_ms= max_ms= apply_p50_ms=
 *          apply_p99_ms= etcd_cpu_s= etcd_rss_kib= sim_cpu_s= wall_ms=
 *
 * apply_*: pointer to apply (the watch's event, the bundle's fetch); the
 * rest of a host's time is its report's put. etcd_*: from /proc of
 * --etcd-pid (CPU over the sample, RSS at its end); sim_cpu_s: this
 * process's (curl, json-c, the followers).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fleet/etcd.h"
#include "fleet/fleet.h"
#include "fleet/follow.h"
#include "policy.h"

#define SIM_MAX_HOSTS 100000
#define SIM_MAX_PUBLISH 16
#define SIM_POLL_MAX_MS 100
#define SIM_WARMUP_MIN_S 60

struct sim_opts {
	struct xs_etcd_opts etcd;
	const char *fleet;
	unsigned int hosts;
	const char *base; /* published before the hosts start */
	const char *publish[SIM_MAX_PUBLISH];
	size_t npublish;
	unsigned int samples;	/* without --publish: publishes to wait for */
	unsigned int timeout_s; /* a sample's */
	unsigned int ramp_ms;	/* the hosts start over this long */
	unsigned int settle_ms; /* quiet time between samples */
	unsigned int report_s;
	pid_t etcd_pid;
	bool verbose;
};

struct sim;

struct sim_host {
	struct sim *sim;
	struct xs_etcd *etcd; /* its own client (token, endpoint), on the shared multi */
	struct xs_follow *f;
	char name[XS_FLEET_NAME_LEN];
	int64_t start_ms; /* monotonic: when it starts following */
	bool started;
	unsigned int sample;  /* the sample its times below belong to */
	int64_t applied_ms;   /* wall clock: the sample's pointer applied */
	int64_t reported_ms;  /* wall clock: its report of the sample's hash landed */
	unsigned int reached; /* the last sample it reported the target of */
};

/* The publish of a sample, in a thread of its own. */
struct sim_pub {
	const struct xs_etcd_opts *etcd;
	struct xs_fleet_publish p;
	void *artefact;
	CURLM *wake;
	struct xs_fleet_pointer out;
	int err;
	char msg[XS_ETCD_ERR_LEN];
	atomic_bool failed; /* err set: the sample need not wait */
};

/* The sample being measured: the hash every host is to report. */
struct sim_target {
	unsigned int sample; /* 1: the warm-up (a host's 0: none yet) */
	bool known;	     /* hash and time_ms below are the sample's */
	char hash[65];	     /* "": nothing published (any first report) */
	uint64_t generation;
	int64_t time_ms; /* the pointer's */
	unsigned int reached;
};

struct sim {
	struct sim_opts o;
	CURLM *multi;
	struct sim_host *hosts;
	struct sim_target t;
	struct sim_pub *pub; /* the sample's publish, in flight */
	uint64_t events[XS_FOLLOW_REPORT_FAILED + 1];
};

static volatile sig_atomic_t sim_stop;

static void sim_on_signal(int sig)
{
	(void)sig;
	sim_stop = 1;
}

static int64_t sim_clock_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sim_mono_ms(void)
{
	return sim_clock_ms(CLOCK_MONOTONIC);
}

static int64_t sim_wall_ms(void)
{
	return sim_clock_ms(CLOCK_REALTIME);
}

/* ---- /proc: etcd's CPU and memory, ours ------------------------------------ */

/* utime + stime of `pid`, in seconds; -1 when unknown. */
static double sim_proc_cpu_s(pid_t pid)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's ")": state is field 3, utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS of `pid` in KiB; -1 when unknown. */
static long sim_proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static double sim_self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Room for every host's watch and requests: 0 or -EMFILE. */
static int sim_raise_nofile(unsigned int hosts)
{
	rlim_t need = (rlim_t)hosts * 4 + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = need;
	if (rl.rlim_max < need)
		rl.rlim_max = need; /* root may raise it */
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		fprintf(stderr, "fleet-sim: %u hosts need %llu file descriptors: %s\n", hosts,
			(unsigned long long)need, strerror(errno));
		return -EMFILE;
	}
	return 0;
}

/* ---- A simulated host ------------------------------------------------------- */

static int sim_apply(void *arg, const struct xs_fleet_pointer *p, const void *artefact, size_t len,
		     char *err, size_t errlen)
{
	struct sim_host *h = arg;
	struct sim *s = h->sim;

	(void)artefact;
	(void)len;
	(void)err;
	(void)errlen;
	/* The first host to see a new generation makes it the sample's
	 * target (a publish by anyone: --publish or another process). */
	if (!s->t.known && p->generation > s->t.generation) {
		s->t.known = true;
		s->t.generation = p->generation;
		snprintf(s->t.hash, sizeof(s->t.hash), "%s", p->hash);
		s->t.time_ms = p->time_ms;
	}
	if (s->t.known && p->generation == s->t.generation) {
		h->sample = s->t.sample;
		h->applied_ms = sim_wall_ms();
	}
	return 0;
}

static void sim_reported(void *arg, const struct xs_fleet_report *r, int64_t now_ms)
{
	struct sim_host *h = arg;
	struct sim *s = h->sim;

	(void)now_ms; /* the follower's clock; the pointer's is the wall clock */
	if (!s->t.known || h->reached == s->t.sample || strcmp(r->hash, s->t.hash) != 0)
		return;
	h->reached = s->t.sample;
	h->reported_ms = sim_wall_ms();
	s->t.reached++;
}

static void sim_event(void *arg, enum xs_follow_event ev, const char *msg)
{
	struct sim_host *h = arg;

	if ((unsigned int)ev < sizeof(h->sim->events) / sizeof(h->sim->events[0]))
		h->sim->events[ev]++;
	if (h->sim->o.verbose && ev != XS_FOLLOW_CONNECTED && ev != XS_FOLLOW_APPLIED)
		fprintf(stderr, "%s: %s\n", h->name, msg);
}

static const struct xs_follow_ops sim_ops = {
	.apply = sim_apply,
	.event = sim_event,
	.reported = sim_reported,
};

static int sim_hosts_new(struct sim *s, int64_t now_ms)
{
	struct xs_follow_opts fo = { .fleet = s->o.fleet, .report_s = s->o.report_s };
	char msg[XS_ETCD_ERR_LEN];
	unsigned int i;
	int err;

	s->hosts = calloc(s->o.hosts, sizeof(*s->hosts));
	if (!s->hosts)
		return -ENOMEM;
	for (i = 0; i < s->o.hosts; i++) {
		struct sim_host *h = &s->hosts[i];

		h->sim = s;
		snprintf(h->name, sizeof(h->name), "sim-%05u", i);
		h->start_ms = now_ms + (int64_t)s->o.ramp_ms * i / s->o.hosts;
		fo.host = h->name;
		fo.seed = i + 1;
		err = xs_etcd_new(s->multi, &s->o.etcd, &h->etcd, msg, sizeof(msg));
		if (err) {
			fprintf(stderr, "fleet-sim: %s\n", msg);
			return err;
		}
		err = xs_follow_new(h->etcd, &fo, &sim_ops, h, &h->f);
		if (err)
			return err;
	}
	return 0;
}

/* ---- The loop --------------------------------------------------------------- */

/* A finished transfer to the host whose client it is. */
static void sim_done(struct sim *s, CURL *easy, CURLcode code)
{
	unsigned int i;

	for (i = 0; i < s->o.hosts; i++)
		if (xs_etcd_done(s->hosts[i].etcd, easy, code))
			return;
	fprintf(stderr, "fleet-sim: a transfer nobody owns\n");
}

static void sim_drain(struct sim *s)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(s->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			sim_done(s, m->easy_handle, m->data.result);
}

/* Starts and ticks the hosts due at now_ms; the earliest next timer. */
static int64_t sim_tick(struct sim *s, int64_t now_ms)
{
	int64_t next = INT64_MAX, t;
	unsigned int i;

	for (i = 0; i < s->o.hosts; i++) {
		struct sim_host *h = &s->hosts[i];

		if (!h->started) {
			if (h->start_ms > now_ms) {
				next = h->start_ms < next ? h->start_ms : next;
				continue;
			}
			h->started = true;
			xs_follow_start(h->f, now_ms);
		}
		t = xs_follow_next_ms(h->f);
		if (t <= now_ms) {
			xs_follow_tick(h->f, now_ms);
			t = xs_follow_next_ms(h->f);
		}
		next = t < next ? t : next;
	}
	return next;
}

static int sim_step(struct sim *s, int64_t deadline_ms)
{
	int64_t now, next, wait;
	CURLMcode mc;
	int running;

	mc = curl_multi_perform(s->multi, &running);
	if (mc != CURLM_OK)
		goto fail;
	sim_drain(s);
	now = sim_mono_ms();
	next = sim_tick(s, now);
	next = next < deadline_ms ? next : deadline_ms;
	wait = next - now;
	wait = wait < 0 ? 0 : wait > SIM_POLL_MAX_MS ? SIM_POLL_MAX_MS : wait;
	mc = curl_multi_poll(s->multi, NULL, 0, (int)wait, NULL);
	if (mc == CURLM_OK)
		return 0;
fail:
	fprintf(stderr, "fleet-sim: curl multi: %s\n", curl_multi_strerror(mc));
	return -EIO;
}

static bool sim_all_reached(const struct sim *s)
{
	return s->t.reached >= s->o.hosts;
}

/* A sample is over when every host reached it, or its publish failed. */
static bool sim_sample_over(const struct sim *s)
{
	return sim_all_reached(s) || (s->pub && atomic_load(&s->pub->failed));
}

/* Runs the loop until every host reached the target, `until` returns
 * true, or deadline_ms (monotonic): 0, -ETIMEDOUT, -EINTR or -EIO. */
static int sim_run(struct sim *s, int64_t deadline_ms, bool (*until)(const struct sim *))
{
	int err;

	while (!until(s)) {
		if (sim_stop)
			return -EINTR;
		if (sim_mono_ms() >= deadline_ms)
			return -ETIMEDOUT;
		err = sim_step(s, deadline_ms);
		if (err)
			return err;
	}
	return 0;
}

static bool sim_never(const struct sim *s)
{
	(void)s;
	return false;
}

/* Keeps the loop going for `ms` (the fleet settles). */
static int sim_idle(struct sim *s, unsigned int ms)
{
	int err = sim_run(s, sim_mono_ms() + ms, sim_never);

	return err == -ETIMEDOUT ? 0 : err;
}

/* ---- Publishing ------------------------------------------------------------- */

/* FILE compiled and serialized (malloc'd) into p. */
static int sim_compile(const char *file, bool verbose, struct sim_pub *p)
{
	struct xs_compiled *c = NULL;
	struct xs_diags diags;
	int err;

	xs_diags_init(&diags);
	err = xs_policy_compile(file, xs_resolve_fs, NULL, &c, &diags);
	if (err) {
		xs_diags_print(stderr, &diags, false);
		fprintf(stderr, "fleet-sim: %s does not compile\n", file);
		goto out;
	}
	err = xs_compiled_serialize(c, file, &p->artefact, &p->p.len);
	p->p.artefact = p->artefact;
	p->p.file = file;
	if (!err && verbose)
		fprintf(stderr, "fleet-sim: %s: an artefact of %zu bytes\n", file, p->p.len);
out:
	xs_compiled_free(c);
	xs_diags_free(&diags);
	return err;
}

static void *sim_publish_thread(void *arg)
{
	struct sim_pub *p = arg;
	struct xs_etcd_sync *es = NULL;

	p->err = xs_etcd_sync_new(p->etcd, &es, p->msg, sizeof(p->msg));
	if (!p->err)
		p->err = xs_fleet_publish(es, &p->p, &p->out, p->msg, sizeof(p->msg));
	xs_etcd_sync_free(es);
	atomic_store(&p->failed, p->err != 0);
	curl_multi_wakeup(p->wake);
	return NULL;
}

/* FILE published before the hosts start (the same hash again is fine). */
static int sim_publish_base(struct sim *s, const char *file)
{
	struct sim_pub pub = { .etcd = &s->o.etcd, .wake = s->multi };
	int err;

	pub.p.fleet = s->o.fleet;
	pub.p.author = "fleet-sim";
	err = sim_compile(file, s->o.verbose, &pub);
	if (!err) {
		sim_publish_thread(&pub);
		err = pub.err == -EALREADY ? 0 : pub.err;
		if (err)
			fprintf(stderr, "fleet-sim: publish %s: %s\n", file, pub.msg);
	}
	free(pub.artefact);
	return err;
}

/* ---- Samples ---------------------------------------------------------------- */

static int sim_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile of v[0..n) (sorted); -1 when empty. */
static int64_t sim_pct(const int64_t *v, size_t n, unsigned int pct)
{
	size_t rank;

	if (!n)
		return -1;
	rank = ((size_t)pct * n + 99) / 100;
	return v[rank ? rank - 1 : 0];
}

struct sim_measure {
	double etcd_cpu0, self_cpu0;
	int64_t start_ms; /* monotonic */
};

static void sim_measure_start(const struct sim *s, struct sim_measure *m)
{
	m->etcd_cpu0 = s->o.etcd_pid ? sim_proc_cpu_s(s->o.etcd_pid) : -1;
	m->self_cpu0 = sim_self_cpu_s();
	m->start_ms = sim_mono_ms();
}

/* The sample's line on stdout. */
static int sim_print_sample(const struct sim *s, const struct sim_measure *m)
{
	int64_t *conv, *appl;
	size_t nc = 0, na = 0;
	unsigned int i;
	double cpu1;

	conv = calloc(s->o.hosts, sizeof(*conv));
	appl = calloc(s->o.hosts, sizeof(*appl));
	if (!conv || !appl) {
		free(conv);
		free(appl);
		return -ENOMEM;
	}
	for (i = 0; i < s->o.hosts; i++) {
		const struct sim_host *h = &s->hosts[i];

		if (h->reached == s->t.sample)
			conv[nc++] = h->reported_ms - s->t.time_ms;
		if (h->sample == s->t.sample)
			appl[na++] = h->applied_ms - s->t.time_ms;
	}
	qsort(conv, nc, sizeof(*conv), sim_cmp_i64);
	qsort(appl, na, sizeof(*appl), sim_cmp_i64);
	cpu1 = s->o.etcd_pid ? sim_proc_cpu_s(s->o.etcd_pid) : -1;
	printf("sample hosts=%u gen=%llu converged=%zu p50_ms=%lld p99_ms=%lld max_ms=%lld "
	       "apply_p50_ms=%lld apply_p99_ms=%lld etcd_cpu_s=%.2f etcd_rss_kib=%ld "
	       "sim_cpu_s=%.2f wall_ms=%lld\n",
	       s->o.hosts, (unsigned long long)s->t.generation, nc,
	       (long long)sim_pct(conv, nc, 50), (long long)sim_pct(conv, nc, 99),
	       (long long)(nc ? conv[nc - 1] : -1), (long long)sim_pct(appl, na, 50),
	       (long long)sim_pct(appl, na, 99),
	       cpu1 >= 0 && m->etcd_cpu0 >= 0 ? cpu1 - m->etcd_cpu0 : -1.0,
	       s->o.etcd_pid ? sim_proc_rss_kib(s->o.etcd_pid) : -1L,
	       sim_self_cpu_s() - m->self_cpu0, (long long)(sim_mono_ms() - m->start_ms));
	fflush(stdout);
	free(conv);
	free(appl);
	return 0;
}

/* A new sample: its target is known when the first host applies it. */
static void sim_target_next(struct sim *s)
{
	s->t.sample++;
	s->t.known = false;
	s->t.hash[0] = '\0';
	s->t.reached = 0;
}

static bool sim_target_known(const struct sim *s)
{
	return s->t.known;
}

/* FILE's publish in a thread of its own: the loop keeps running. */
static int sim_publish_start(struct sim *s, struct sim_pub *pub, pthread_t *th)
{
	int err = -pthread_create(th, NULL, sim_publish_thread, pub);

	if (!err)
		s->pub = pub;
	return err;
}

/* Its end: 0, or why it failed. */
static int sim_publish_join(struct sim *s, const char *file, pthread_t th)
{
	struct sim_pub *pub = s->pub;
	int err = -pthread_join(th, NULL);

	s->pub = NULL;
	if (err)
		return err;
	if (pub->err)
		fprintf(stderr, "fleet-sim: publish %s: %s\n", file, pub->msg);
	return pub->err;
}

/* Without --publish: "ready", then whoever publishes; measured from the
 * first apply of the new generation. */
static int sim_await_publish(struct sim *s, struct sim_measure *m)
{
	int err;

	printf("ready\n");
	fflush(stdout);
	err = sim_run(s, INT64_MAX, sim_target_known);
	if (!err)
		sim_measure_start(s, m);
	return err;
}

/* One sample published by FILE (NULL: by someone else). */
static int sim_sample(struct sim *s, const char *file)
{
	struct sim_pub pub = { .etcd = &s->o.etcd, .wake = s->multi };
	uint64_t before = s->t.generation;
	struct sim_measure m;
	pthread_t th;
	int err, perr;

	pub.p.fleet = s->o.fleet;
	pub.p.author = "fleet-sim";
	err = file ? sim_compile(file, s->o.verbose, &pub) : 0;
	if (err)
		goto out;
	sim_target_next(s);
	sim_measure_start(s, &m);
	err = file ? sim_publish_start(s, &pub, &th) : sim_await_publish(s, &m);
	if (err)
		goto out;
	err = sim_run(s, m.start_ms + (int64_t)s->o.timeout_s * 1000, sim_sample_over);
	perr = file ? sim_publish_join(s, file, th) : 0;
	if (perr || (err && err != -ETIMEDOUT)) {
		err = perr ? perr : err;
		goto out;
	}
	if (s->t.generation == before)
		fprintf(stderr, "fleet-sim: no host applied generation %llu\n",
			(unsigned long long)before + 1);
	err = sim_print_sample(s, &m);
out:
	free(pub.artefact);
	return err;
}

/* The current pointer, read once: the warm-up's target. */
static int sim_target_current(struct sim *s)
{
	struct xs_fleet_pointer p;
	struct xs_etcd_sync *es = NULL;
	char msg[XS_ETCD_ERR_LEN];
	int err;

	err = xs_etcd_sync_new(&s->o.etcd, &es, msg, sizeof(msg));
	if (!err)
		err = xs_fleet_current(es, s->o.fleet, &p, msg, sizeof(msg));
	xs_etcd_sync_free(es);
	if (err == -ENOENT)
		return 0;
	if (err) {
		fprintf(stderr, "fleet-sim: %s\n", msg);
		return err;
	}
	snprintf(s->t.hash, sizeof(s->t.hash), "%s", p.hash);
	s->t.generation = p.generation;
	s->t.time_ms = p.time_ms;
	return 0;
}

/* Every host following, every host's report of the current hash landed. */
static int sim_warm_up(struct sim *s)
{
	unsigned int limit = SIM_WARMUP_MIN_S + s->o.hosts / 20;
	int64_t t0 = sim_mono_ms();
	int err;

	s->t.sample = 1;
	err = s->o.base ? sim_publish_base(s, s->o.base) : 0;
	if (!err)
		err = sim_target_current(s);
	if (err)
		return err;
	s->t.known = true;
	err = sim_hosts_new(s, t0);
	if (err)
		return err;
	err = sim_run(s, t0 + s->o.ramp_ms + (int64_t)limit * 1000, sim_all_reached);
	if (err == -ETIMEDOUT)
		fprintf(stderr, "fleet-sim: warm-up: %u of %u hosts reported in %u s\n",
			s->t.reached, s->o.hosts, limit);
	if (!err && s->o.verbose)
		fprintf(stderr, "fleet-sim: %u hosts warm in %lld ms\n", s->o.hosts,
			(long long)(sim_mono_ms() - t0));
	return err;
}

static int sim_multi_new(struct sim *s)
{
	s->multi = curl_multi_init();
	if (!s->multi)
		return -ENOMEM;
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
	curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
	curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->o.hosts * 2 + 16);
	return 0;
}

static void sim_free(struct sim *s)
{
	unsigned int i;

	for (i = 0; s->hosts && i < s->o.hosts; i++) {
		xs_follow_free(s->hosts[i].f);
		xs_etcd_free(s->hosts[i].etcd);
	}
	free(s->hosts);
	if (s->multi)
		curl_multi_cleanup(s->multi);
}

static void sim_print_events(const struct sim *s)
{
	static const char *const names[] = {
		[XS_FOLLOW_LOST] = "lost",	     [XS_FOLLOW_COMPACTED] = "compacted",
		[XS_FOLLOW_FAILED] = "failed",	     [XS_FOLLOW_REPORT_FAILED] = "report-failed",
		[XS_FOLLOW_CONNECTED] = "connected", [XS_FOLLOW_APPLIED] = "applied",
	};
	unsigned int i;

	fprintf(stderr, "fleet-sim: events:");
	for (i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		fprintf(stderr, " %s=%llu", names[i], (unsigned long long)s->events[i]);
	fprintf(stderr, "\n");
}

static int sim_main(struct sim *s)
{
	size_t i;
	int err;

	err = sim_raise_nofile(s->o.hosts);
	if (err)
		return err;
	err = sim_multi_new(s);
	if (err)
		return err;
	err = sim_warm_up(s);
	for (i = 0; !err && i < (s->o.npublish ? s->o.npublish : s->o.samples); i++) {
		err = sim_idle(s, s->o.settle_ms);
		if (!err)
			err = sim_sample(s, s->o.npublish ? s->o.publish[i] : NULL);
	}
	if (s->o.verbose)
		sim_print_events(s);
	return err;
}

/* ---- Options ---------------------------------------------------------------- */

static void sim_usage(FILE *out)
{
	fprintf(out,
		"usage: xdpseg-fleet-sim --etcd URL[,URL] --hosts N [--fleet NAME] [--base FILE]\n"
		"                        [--publish FILE]... [--samples K] [--timeout S]\n"
		"                        [--ramp MS] [--settle MS] [--report S] [--etcd-pid PID] "
		"[-v]\n"
		"N hosts follow fleet NAME (default: bench) on one curl multi (--base FILE\n"
		"published first); after the warm-up (every host reports the current hash),\n"
		"each --publish FILE is published in turn (without it: \"ready\"\n"
		"on stdout, then K publishes by anyone are measured), and one line per\n"
		"sample gives the time from the pointer's time to each host's report of\n"
		"the new hash (p50, p99, max), and etcd's CPU and RSS (--etcd-pid).\n");
}

static int sim_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int sim_opt(struct sim_opts *o, int c, char *arg, char *err, size_t errlen)
{
	unsigned int v;

	switch (c) {
	case 'e':
		return xs_etcd_parse_endpoints(arg, &o->etcd, err, errlen);
	case 'f':
		o->fleet = arg;
		return xs_fleet_name_ok(arg) ? 0 : -EINVAL;
	case 'n':
		return sim_uint(arg, SIM_MAX_HOSTS, &o->hosts);
	case 'b':
		o->base = arg;
		return 0;
	case 'p':
		if (o->npublish == SIM_MAX_PUBLISH)
			return -E2BIG;
		o->publish[o->npublish++] = arg;
		return 0;
	case 'k':
		return sim_uint(arg, 1000, &o->samples);
	case 't':
		return sim_uint(arg, 3600, &o->timeout_s);
	case 'r':
		return sim_uint(arg, 600000, &o->ramp_ms);
	case 's':
		return sim_uint(arg, 600000, &o->settle_ms);
	case 'R':
		return sim_uint(arg, 3600, &o->report_s);
	case 'P':
		if (sim_uint(arg, INT_MAX, &v))
			return -EINVAL;
		o->etcd_pid = (pid_t)v;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	}
	return -EINVAL;
}

static int sim_parse(int argc, char **argv, struct sim_opts *o)
{
	static const struct option longs[] = {
		{ "etcd", required_argument, NULL, 'e' },
		{ "fleet", required_argument, NULL, 'f' },
		{ "hosts", required_argument, NULL, 'n' },
		{ "base", required_argument, NULL, 'b' },
		{ "publish", required_argument, NULL, 'p' },
		{ "samples", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "ramp", required_argument, NULL, 'r' },
		{ "settle", required_argument, NULL, 's' },
		{ "report", required_argument, NULL, 'R' },
		{ "etcd-pid", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char err[256] = "";
	int c;

	*o = (struct sim_opts){
		.fleet = "bench", .samples = 1, .timeout_s = 30, .settle_ms = 1000
	};
	o->ramp_ms = UINT_MAX;
	while ((c = getopt_long(argc, argv, "e:f:n:b:p:k:t:r:s:R:P:vh", longs, NULL)) != -1) {
		if (c == 'h') {
			sim_usage(stdout);
			exit(0);
		}
		if (sim_opt(o, c, optarg, err, sizeof(err))) {
			fprintf(stderr, "fleet-sim: -%c %s: %s\n", c, optarg ? optarg : "",
				*err ? err : "invalid");
			return -EINVAL;
		}
	}
	if (optind != argc || !o->etcd.nendpoints || !o->hosts) {
		sim_usage(stderr);
		return -EINVAL;
	}
	if (o->ramp_ms == UINT_MAX) /* a host a millisecond, at most 5 s */
		o->ramp_ms = o->hosts < 5000 ? o->hosts : 5000;
	return 0;
}

int main(int argc, char **argv)
{
	struct sim s = { 0 };
	struct sigaction sa = { .sa_handler = sim_on_signal };
	int err;

	if (sim_parse(argc, argv, &s.o))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	err = sim_main(&s);
	sim_free(&s);
	curl_global_cleanup();
	if (err && err != -EINTR)
		fprintf(stderr, "fleet-sim: %s\n", strerror(-err));
	return err ? 1 : 0;
}

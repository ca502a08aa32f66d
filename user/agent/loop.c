// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's life: configuration, the single-agent guard, link events
 * subscribed before the first dump, the socket, the datapath adopted or
 * loaded, a first reconcile, READY=1; then one epoll over rtnetlink, the
 * signals (signalfd), a 1 s timer (timerfd), the socket's clients and the
 * metrics endpoint (libmicrohttpd's own epoll fd, run in this loop), until
 * stop, SIGTERM or SIGINT. Stopping leaves pins and hooks in place: the
 * agent is not in the datapath.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <systemd/sd-daemon.h>

#include "agent/agent.h"
#include "agent/log.h"
#include "agent/records.h"
#include "agent/capture.h"
#include "agent/flows.h"
#include "agent/fleet.h"
#include "agent/server.h"
#include "policy.h"

static int watch_fd(struct agent *a, int fd, enum agent_tag tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = AGENT_TAG(tag, fd) };

	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int setup_signals(struct agent *a)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->sigfd < 0)
		return -errno;
	return watch_fd(a, a->sigfd, AGENT_TAG_SIGNAL);
}

static int setup_timer(struct agent *a)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };

	a->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->timerfd < 0 || timerfd_settime(a->timerfd, 0, &its, NULL))
		return -errno;
	return watch_fd(a, a->timerfd, AGENT_TAG_TIMER);
}

static void on_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			const char *code;
			bool applied;
			char *msg;

			sd_notify(0, "RELOADING=1");
			if (agent_reload(a, &msg, &code, &applied) == 0)
				agent_log(LOG_INFO, "SIGHUP: reloaded%s",
					  applied ? " and applied the policy" : "");
			free(msg);
			sd_notify(0, "READY=1");
		} else {
			agent_log(LOG_NOTICE, "%s: stopping; enforcement stays",
				  si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			a->stop = true;
		}
	}
}

static void on_timer(struct agent *a)
{
	uint64_t n = 0;
	bool repair;

	if (read(a->timerfd, &n, sizeof(n)) != sizeof(n))
		return;
	if (n > 1)
		agent_log(LOG_DEBUG, "the loop fell %llu s behind", (unsigned long long)n - 1);
	a->ticks += n;
	server_tick(a);
	metrics_tick(a);
	repair = dp_poll(a);
	agent_records_tick(a);
	agent_flows_tick(a);
	agent_capture_tick(a);
	agent_fleet_tick(a);
	if (repair || a->ticks % a->cfg.interval == 0)
		a->resync = true; /* a full reconcile after this round of events */
	agent_notify_status(a);
}

static void on_netlink(struct agent *a)
{
	int r = nl_monitor_read(a->mon, agent_link_event, a);

	if (r == -ENOBUFS) {
		agent_log(LOG_WARNING,
			  "rtnetlink link events were lost (ENOBUFS): listing every link again");
		a->resync = true;
	} else if (r < 0) {
		agent_log(LOG_ERR, "reading rtnetlink events: %s", strerror(-r));
		a->resync = true;
	}
}

static int loop(struct agent *a)
{
	struct epoll_event evs[32];

	while (!a->stop) {
		/* no longer than the metrics endpoint may wait for its run */
		int n = epoll_wait(a->epfd, evs, 32, metrics_timeout_ms(a));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			agent_log(LOG_ERR, "epoll_wait: %s", strerror(errno));
			return AGENT_EXIT_FAIL;
		}
		if (n == 0)
			metrics_event(a);
		for (int i = 0; i < n && !a->stop; i++) {
			enum agent_tag tag = (enum agent_tag)(evs[i].data.u64 >> 32);
			int fd = (int)(uint32_t)evs[i].data.u64;

			switch (tag) {
			case AGENT_TAG_NETLINK:
				on_netlink(a);
				break;
			case AGENT_TAG_SIGNAL:
				on_signal(a);
				break;
			case AGENT_TAG_TIMER:
				on_timer(a);
				break;
			case AGENT_TAG_METRICS:
				metrics_event(a);
				break;
			case AGENT_TAG_EVENTS:
				agent_records_event(a);
				break;
			case AGENT_TAG_FLEET:
			case AGENT_TAG_FLEET_TIMER:
				agent_fleet_event(a, tag, fd, evs[i].events);
				break;
			default:
				server_event(a, tag, fd, evs[i].events);
				break;
			}
		}
		server_reap(a);
		if (a->stop)
			break;
		/* Events first, then one round of kernel changes for all of them. */
		if (a->resync)
			agent_reconcile(a);
		else
			agent_flush(a);
	}
	return AGENT_EXIT_STOPPED;
}

static int start(struct agent *a)
{
	size_t sel, prot;
	int err;

	if (xs_ctl_check_env(a->cfg.pin_dir))
		return AGENT_EXIT_FAIL;
	if (agent_guard_take(a))
		return AGENT_EXIT_FAIL;
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	err = a->epfd < 0 ? -errno : setup_signals(a);
	if (err) {
		agent_log(LOG_ERR, "cannot set up the event loop: %s", strerror(-err));
		return AGENT_EXIT_FAIL;
	}
	/* Subscribe first, then dump: no link slips between the two. */
	a->mon = nl_monitor_open();
	if (!a->mon || watch_fd(a, mnl_socket_get_fd(a->mon), AGENT_TAG_NETLINK)) {
		agent_log(LOG_ERR, "cannot listen to rtnetlink link events: %s", strerror(errno));
		return AGENT_EXIT_FAIL;
	}
	if (server_open(a) || metrics_start(a))
		return AGENT_EXIT_FAIL;
	if (dp_boot(a)) {
		agent_log(LOG_ERR, "cannot load or adopt xdpseg under %s (see above)",
			  a->cfg.pin_dir);
		return AGENT_EXIT_FAIL;
	}
	/* The events' one reader from now on (what the buffer holds: history). */
	if (agent_records_init(a) || agent_flows_init(a) || agent_capture_init(a)) {
		agent_log(LOG_ERR, "out of memory");
		return AGENT_EXIT_FAIL;
	}
	agent_records_open(a);
	if (agent_links_resync(a))
		return AGENT_EXIT_FAIL;
	agent_downed_load(a);
	agent_reconcile(a);
	if (setup_timer(a)) {
		agent_log(LOG_ERR, "cannot arm the timer: %s", strerror(errno));
		return AGENT_EXIT_FAIL;
	}
	/* The last good policy is in force: now the fleet's may come. */
	if (agent_fleet_start(a))
		return AGENT_EXIT_FAIL;
	agent_links_count(a, &sel, &prot);
	agent_log(LOG_NOTICE,
		  "started (pid %d, %s): protecting %zu of %zu selected interfaces, policy "
		  "generation %u (%s)",
		  (int)getpid(), a->cfg.file, prot, sel, a->pol.generation, a->pol.source);
	agent_notify_status(a); /* if the reconcile did not */
	sd_notifyf(0, "READY=1\nMAINPID=%d", (int)getpid());
	a->ready = true;
	return 0;
}

static void finish(struct agent *a)
{
	agent_records_stop(a);
	agent_flows_stop(a); /* its last deny records, to the streams too */
	agent_capture_stop(a);
	agent_fleet_stop(a);
	server_flush(a, 200);
	server_close(a);
	metrics_stop(a);
	agent_records_free(a);
	if (a->mon)
		mnl_socket_close(a->mon);
	if (a->timerfd >= 0)
		close(a->timerfd);
	if (a->sigfd >= 0)
		close(a->sigfd);
	if (a->epfd >= 0)
		close(a->epfd);
	agent_guard_release(a);
	xs_compiled_free(a->pol.compiled);
	free(a->pol.file_error);
	free(a->links);
	free(a->gone);
	free(a->ended);
	agent_config_free(&a->cfg);
}

int agent_run(const char *config)
{
	struct agent_config_errors errs = { 0 };
	struct agent a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.guard_fd = a.epfd = a.sigfd = a.timerfd = -1;
	a.started_at = time(NULL);
	a.started_mono = agent_now();
	agent_log_init();
	xs_libbpf_log_setup();
	if (agent_config_read(config, &a.cfg, &errs)) {
		for (size_t i = 0; i < errs.n; i++)
			agent_log_raw(LOG_ERR, errs.v[i]);
		agent_log(LOG_ERR, "%s: %zu error%s: not started, nothing changed", config, errs.n,
			  errs.n == 1 ? "" : "s");
		agent_config_errors_free(&errs);
		return AGENT_EXIT_CONFIG;
	}
	if (!a.cfg.nifpat && !a.cfg.nbridges)
		agent_log(LOG_WARNING,
			  "%s sets neither interfaces nor bridge: no interface is "
			  "selected",
			  config);
	ret = start(&a);
	if (!ret)
		ret = loop(&a);
	if (a.ready)
		sd_notify(0, "STOPPING=1");
	finish(&a);
	if (ret == AGENT_EXIT_STOPPED)
		agent_log(LOG_NOTICE, "stopped: pins and hooks stay in place");
	return ret;
}

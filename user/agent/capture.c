// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's capture (`capture = FILE`, xdpseg(8)): the bytes every drop
 * and audit event carries, into a pcap file with its sidecar (obs/pcap.c,
 * as `watch --pcap` writes them), a records.c sink. The file is made anew
 * when the agent starts and when a reload names another one. And how many
 * bytes events carry (`snap-len`), written into the datapath's
 * configuration at start and at each reload (or once a commit-confirm is
 * settled: never while one is pending).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "agent/log.h"
#include "agent/records.h"
#include "ctl/evview.h"
#include "ctl/loader.h"
#include "ctl/maps.h"
#include "ctl/show.h"
#include "obs/pcap.h"

struct agent_capture {
	struct xs_pcap *w;
	char path[PATH_MAX];
	bool snap_pending; /* snap-len not written yet (a commit-confirm pending) */
};

/* Write snap-len into the datapath's configuration, under the lock. */
static void apply_snap(struct agent *a)
{
	struct agent_capture *c = a->capture;
	struct xs_ctl ctl;
	int err;

	err = dp_begin(a, &ctl);
	if (!err) {
		err = xs_config_set_snap(&ctl.maps, a->cfg.snap_len);
		dp_end(&ctl);
	}
	if (err == -EBUSY) {
		if (!c->snap_pending)
			agent_log(LOG_NOTICE,
				  "snap-len %u waits until the pending commit-confirm is settled",
				  a->cfg.snap_len);
		c->snap_pending = true;
		return;
	}
	c->snap_pending = false;
	if (err)
		agent_log(LOG_ERR, "snap-len: writing the datapath's configuration: %s",
			  strerror(-err));
}

static void on_record(struct agent *a, const void *rec, size_t size, void *arg)
{
	struct agent_capture *c = a->capture;
	const struct agent_record_info *info = agent_records_current(a);
	const struct xs_evview *v;
	struct xs_pcap_meta m;
	int err;

	if (!c || !c->w || !info || !info->ev || !info->ev->snap)
		return;
	v = info->ev;
	m = (struct xs_pcap_meta){
		.iface = v->iface,
		.dir = v->e.hook == XS_HOOK_EGRESS ? "out" : "in",
		.verdict = xs_show_verdict(v->e.verdict),
		.reason = xs_show_reason(v->e.reason),
		.rule_file = v->have_origin ? v->file : NULL,
		.rule_line = v->have_origin ? v->line : 0,
		.rule_id = v->e.rule_id,
		.generation = v->e.generation,
		.src_seg = v->src_seg,
		.dst_seg = v->dst_seg,
	};
	err = xs_pcap_write(c->w, v->real_ns, v->e.pkt_len, v->snap, v->e.snap_len, &m);
	if (err && err != -EINVAL) {
		agent_log(LOG_ERR, "capture: writing %s: %s; no more capture until a reload",
			  c->path, strerror(-err));
		xs_pcap_close(c->w);
		c->w = NULL;
	}
}

static void configure(struct agent *a)
{
	struct agent_capture *c = a->capture;
	const char *want = a->cfg.capture;

	apply_snap(a);
	if (c->w && !strcmp(c->path, want))
		return;
	if (c->w) {
		xs_pcap_close(c->w);
		c->w = NULL;
	}
	snprintf(c->path, sizeof(c->path), "%s", want);
	if (!want[0])
		return;
	if (xs_pcap_open(&c->w, want, XS_EV_SNAP_MAX))
		agent_log(LOG_ERR,
			  "capture: cannot create %s (see above); no capture until a reload", want);
	else
		agent_log(LOG_NOTICE, "capture: the bytes of drop and audit events go to %s", want);
}

int agent_capture_init(struct agent *a)
{
	a->capture = calloc(1, sizeof(*a->capture));
	if (!a->capture)
		return -ENOMEM;
	configure(a);
	return agent_records_sink_add(a, on_record, NULL);
}

void agent_capture_reconfigure(struct agent *a)
{
	if (a->capture)
		configure(a);
}

void agent_capture_tick(struct agent *a)
{
	if (a->capture && a->capture->snap_pending)
		apply_snap(a);
}

void agent_capture_stop(struct agent *a)
{
	if (!a->capture)
		return;
	xs_pcap_close(a->capture->w);
	free(a->capture);
	a->capture = NULL;
}

uint64_t agent_capture_count(const struct agent *a)
{
	return a->capture && a->capture->w ? xs_pcap_count(a->capture->w) : 0;
}

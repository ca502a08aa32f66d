// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Keeping the selected links protected: attach pending links (right after
 * their event), drop the records of links that went away, check every
 * link and record against the kernel at each reconcile and repair what
 * is missing (a hook removed by hand, an event lost), and, with
 * `unprotected = down`, hold a link down while it cannot be protected.
 *
 * Reads need no lock. Changes take the ctl lock per batch of at most
 * BATCH links, so a CLI command waits for one batch, never a whole sweep.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <systemd/sd-daemon.h>

#include "agent/agent.h"
#include "agent/log.h"
#include "ctl/hooks.h"
#include "ctl/iface.h"

#define BATCH 16

/* The record of `l`, when it records this very link (its ifindex and name). */
static bool own_record(const struct xs_ctl *ctl, const struct agent_link *l, struct xs_iface *rec)
{
	__u32 key = l->ifindex;

	if (bpf_map_lookup_elem(ctl->maps.ifaces, &key, rec))
		return false;
	rec->name[sizeof(rec->name) - 1] = '\0';
	return !strcmp(rec->name, l->name);
}

/*
 * Is `l` protected now, by its record and the hooks the kernel runs? The
 * XDP program ids are rtnetlink's last word on the link (an event or the
 * reconcile's dump): one TC query per interface instead of a dump of every
 * link per interface (libbpf's XDP query). Stale ids can only delay a
 * repair to the next reconcile, which reads them fresh.
 */
static bool dumped_protected(const struct xs_ctl *ctl, struct agent_link *l)
{
	struct xs_iface_live live;
	struct xs_iface rec;
	struct xs_hooks h;

	if (!own_record(ctl, l, &rec))
		return false;
	xs_hooks_query_xdp_known(l->ifindex, l->xdp_drv, l->xdp_skb, &h);
	xs_iface_live_hooks(ctl, &rec, &h, &live);
	if (live.state != XS_LIVE_PROTECTED)
		return false;
	l->xdp_ours = rec.tc_ingress ? 0 : ctl->prog_id[XS_PROG_XDP];
	return true;
}

static void set_up(struct agent *a, struct agent_link *l, bool up)
{
	int err = nl_set_up(l->ifindex, up);

	if (err) {
		agent_log(LOG_ERR, "%s: cannot set it %s: %s", l->name, up ? "up" : "down",
			  strerror(-err));
		return;
	}
	l->downed = !up;
	if (up)
		l->flags |= IFF_UP;
	else
		l->flags &= ~IFF_UP;
	agent_downed_save(a);
	if (up)
		agent_log(LOG_NOTICE, "%s: protected now: set up again", l->name);
	else
		agent_log(LOG_ERR,
			  "%s: set down until it can be protected (unprotected = down); retried "
			  "every %u s",
			  l->name, a->cfg.interval);
}

static void attach_failed(struct agent *a, struct agent_link *l, int err)
{
	const char *why = agent_log_last();
	bool news;

	if (!why)
		why = strerror(-err);
	news = l->state != AGENT_LINK_FAILED || strcmp(l->error, why);
	l->state = AGENT_LINK_FAILED;
	snprintf(l->error, sizeof(l->error), "%s", why);
	if (news)
		agent_log(LOG_WARNING, "%s: NOT protected (%s); retried every %u s", l->name, why,
			  a->cfg.interval);
	if (a->cfg.unprotected == AGENT_UNPROT_DOWN && (l->flags & IFF_UP))
		set_up(a, l, false);
}

/* Attach (or repair) one link; the lock is held. */
static void attach_one(struct agent *a, struct xs_ctl *ctl, struct agent_link *l)
{
	struct xs_attach_opts o = a->cfg.attach;
	struct xs_attach_result res;
	struct xs_iface rec;
	int err;

	/* A record of this link keeps its mode (the CLI may have chosen it). */
	if (own_record(ctl, l, &rec) && rec.state == XS_IFACE_ATTACHED) {
		o.tc_ingress = rec.tc_ingress;
		o.mode = rec.xdp_mode == XS_XDP_GENERIC ? XS_XDP_GENERIC : XS_XDP_NATIVE;
		o.mode_given = false;
	}
	agent_log_clear_last();
	err = xs_iface_attach(ctl, l->name, &o, &res);
	l->pending = false;
	if (err == -ENODEV)
		return; /* gone or renamed meanwhile: its event follows */
	if (err) {
		attach_failed(a, l, err);
		return;
	}
	if (res.rec.ifindex != l->ifindex)
		return; /* the name is another link's now: its event follows */
	switch (res.outcome) {
	case XS_ATTACH_NEW:
		agent_log(LOG_INFO, "%s (ifindex %u, %s): protected (%s) %.1f ms after its event",
			  l->name, l->ifindex, l->matched_by[0] ? l->matched_by : "renamed",
			  xs_iface_mode_name(&res.rec), (agent_now() - l->event_at) * 1e3);
		break;
	case XS_ATTACH_REPAIRED:
		agent_log(LOG_WARNING, "%s: was unprotected (%s): hooks put back", l->name,
			  res.problems);
		break;
	default:
		break;
	}
	l->state = AGENT_LINK_PROTECTED;
	l->error[0] = '\0';
	l->xdp_ours = res.rec.tc_ingress ? 0 : ctl->prog_id[XS_PROG_XDP];
	if (l->downed)
		set_up(a, l, true);
}

/* Drop the record of a link that went away, if it is still that link's. */
static void drop_gone(struct agent *a, struct xs_ctl *ctl, const struct agent_gone *g)
{
	struct xs_iface rec;
	__u32 key = g->ifindex;

	if (agent_link_find(a, g->ifindex))
		return; /* the ifindex is back (another link): not a stale record */
	if (bpf_map_lookup_elem(ctl->maps.ifaces, &key, &rec))
		return;
	rec.name[sizeof(rec.name) - 1] = '\0';
	/* Live 0: the name may belong to a new link already, not to be touched. */
	if (xs_iface_drop(ctl, &rec, 0) == 0)
		agent_log(LOG_INFO, "%s (ifindex %u) went away: dropped its record", rec.name,
			  g->ifindex);
}

/* Must `l` be attached now? A selected link, or a renamed protected one. */
static bool wants_attach(const struct agent_link *l)
{
	return l->pending && (l->matched_by[0] || l->state == AGENT_LINK_PROTECTED);
}

static bool any_work(const struct agent *a)
{
	if (a->ngone)
		return true;
	for (size_t i = 0; i < a->nlinks; i++) {
		if (wants_attach(&a->links[i]))
			return true;
	}
	return false;
}

void agent_flush(struct agent *a)
{
	struct xs_ctl ctl;
	bool open;

	if (!a->npending)
		return;
	a->npending = false;

	/* Without the lock: what is protected already needs nothing, a link
	 * gone without a record leaves nothing to drop. */
	open = dp_open(a, &ctl) == 0;
	for (size_t i = 0; open && i < a->ngone;) {
		struct xs_iface rec;
		__u32 key = a->gone[i].ifindex;

		if (bpf_map_lookup_elem(ctl.maps.ifaces, &key, &rec))
			a->gone[i] = a->gone[--a->ngone];
		else
			i++;
	}
	for (size_t i = 0; i < a->nlinks; i++) {
		struct agent_link *l = &a->links[i];

		if (!wants_attach(l)) {
			l->pending = false;
			continue;
		}
		if (open && dumped_protected(&ctl, l)) {
			l->pending = false;
			l->state = AGENT_LINK_PROTECTED;
			l->error[0] = '\0';
			if (l->downed)
				set_up(a, l, true);
		}
	}
	xs_ctl_close(&ctl);

	/* Under the lock, a batch at a time (a load may add work: loop). */
	while (any_work(a)) {
		size_t n = 0;
		int err;

		err = dp_begin(a, &ctl);
		if (err) {
			agent_log(LOG_ERR,
				  "cannot change the datapath under %s (%s): retrying in %u s",
				  a->cfg.pin_dir, strerror(-err), a->cfg.interval);
			a->npending = true;
			break;
		}
		for (size_t i = 0; i < a->ngone; i++)
			drop_gone(a, &ctl, &a->gone[i]);
		a->ngone = 0;
		for (size_t i = 0; i < a->nlinks && n < BATCH; i++) {
			if (wants_attach(&a->links[i])) {
				attach_one(a, &ctl, &a->links[i]);
				n++;
			}
		}
		dp_end(&ctl);
	}
	agent_notify_status(a);
}

void agent_reconcile(struct agent *a)
{
	struct xs_iface *recs = NULL;
	double start = agent_now();
	struct xs_ctl ctl;
	size_t n = 0;
	int err;

	/* The kernel is the truth: list every link again (a lost event, a
	 * missed interface), then check every selected link and record. */
	a->resync = false;
	agent_links_resync(a);
	err = dp_open(a, &ctl);
	if (err) {
		xs_ctl_close(&ctl);
		agent_links_invalidate(a); /* not loaded: the flush loads and attaches */
		agent_flush(a);
		return;
	}
	if (xs_ifaces_list(&ctl.maps, &recs, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct agent_link *l = agent_link_find(a, recs[i].ifindex);

			if (!l) {
				agent_link_gone(a, recs[i].ifindex, recs[i].name);
			} else if (strncmp(l->name, recs[i].name, sizeof(recs[i].name))) {
				/* renamed while an event was lost: record it again */
				l->state = AGENT_LINK_PROTECTED;
				l->pending = true;
				a->npending = true;
			}
		}
	}
	free(recs);
	for (size_t i = 0; i < a->nlinks; i++) {
		struct agent_link *l = &a->links[i];

		if (!l->matched_by[0] || l->pending)
			continue;
		if (l->state == AGENT_LINK_PROTECTED && dumped_protected(&ctl, l))
			continue;
		l->pending = true;
		a->npending = true;
		l->event_at = agent_now();
	}
	xs_ctl_close(&ctl);
	agent_log(LOG_DEBUG, "reconcile: %zu links, %zu records checked in %.1f ms", a->nlinks, n,
		  (agent_now() - start) * 1e3);
	agent_flush(a);
}

void agent_notify_status(struct agent *a)
{
	char line[256];
	size_t sel, prot;

	agent_links_count(a, &sel, &prot);
	snprintf(line, sizeof(line), "protecting %zu of %zu interfaces; policy generation %u (%s)",
		 prot, sel, a->pol.generation, a->pol.source ? a->pol.source : "none");
	if (!strcmp(line, a->status_line))
		return;
	snprintf(a->status_line, sizeof(a->status_line), "%s", line);
	sd_notifyf(0, "STATUS=%s", line);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The links of the network namespace as rtnetlink describes them, and the
 * selection: a link is the agent's when its name matches an `interfaces`
 * pattern, or its master is a configured bridge. Events and dumps feed the
 * same idempotent handler; a link that needs hooks is marked pending and
 * attached at the next flush (reconcile.c). A link that goes is queued for
 * its record to be dropped; the links the agent set down are kept in a
 * file, for a restarted agent.
 */
#include <errno.h>
#include <fnmatch.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/log.h"

struct agent_link *agent_link_find(struct agent *a, unsigned int ifindex)
{
	for (size_t i = 0; i < a->nlinks; i++) {
		if (a->links[i].ifindex == ifindex)
			return &a->links[i];
	}
	return NULL;
}

struct agent_link *agent_link_by_name(struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->nlinks; i++) {
		if (!strcmp(a->links[i].name, name))
			return &a->links[i];
	}
	return NULL;
}

void agent_link_gone(struct agent *a, unsigned int ifindex, const char *name)
{
	struct agent_gone *nv;

	for (size_t i = 0; i < a->ngone; i++) {
		if (a->gone[i].ifindex == ifindex)
			return;
	}
	nv = realloc(a->gone, (a->ngone + 1) * sizeof(*nv));
	if (!nv) {
		a->resync = true; /* the next reconcile finds the record */
		return;
	}
	a->gone = nv;
	a->gone[a->ngone].ifindex = ifindex;
	snprintf(a->gone[a->ngone].name, sizeof(a->gone[0].name), "%s", name);
	a->ngone++;
	a->npending = true;
}

void agent_downed_save(const struct agent *a)
{
	char tmp[PATH_MAX + 8];
	size_t n = 0;
	FILE *f;

	for (size_t i = 0; i < a->nlinks; i++)
		n += a->links[i].downed;
	if (!n) {
		unlink(a->down_path);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", a->down_path);
	f = fopen(tmp, "we");
	if (!f) {
		agent_log(LOG_WARNING, "cannot write %s: %s", tmp, strerror(errno));
		return;
	}
	for (size_t i = 0; i < a->nlinks; i++) {
		if (a->links[i].downed)
			fprintf(f, "%u %s\n", a->links[i].ifindex, a->links[i].name);
	}
	if (fclose(f) || rename(tmp, a->down_path)) {
		agent_log(LOG_WARNING, "cannot write %s: %s", a->down_path, strerror(errno));
		unlink(tmp);
	}
}

void agent_downed_load(struct agent *a)
{
	char name[IF_NAMESIZE + 1];
	unsigned int ifindex;
	FILE *f;

	f = fopen(a->down_path, "re");
	if (!f)
		return;
	while (fscanf(f, "%u %16s", &ifindex, name) == 2) {
		struct agent_link *l = agent_link_find(a, ifindex);

		/* Only the very link: an ifindex reused by another name is not ours. */
		if (l && !strcmp(l->name, name) && !(l->flags & IFF_UP)) {
			l->downed = true;
			agent_log(LOG_INFO, "%s: set down by an earlier agent until protected",
				  name);
		}
	}
	fclose(f);
}

static bool is_bridge_name(const struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->cfg.nbridges; i++) {
		if (!strcmp(a->cfg.bridges[i], name))
			return true;
	}
	return false;
}

/* What selects link `l` into matched_by ("" when nothing does). */
static void match(struct agent *a, struct agent_link *l)
{
	l->matched_by[0] = '\0';
	for (size_t i = 0; i < a->cfg.nifpat; i++) {
		if (fnmatch(a->cfg.ifpat[i], l->name, 0) == 0) {
			snprintf(l->matched_by, sizeof(l->matched_by), "%s", a->cfg.ifpat[i]);
			return;
		}
	}
	if (l->master) {
		struct agent_link *m = agent_link_find(a, l->master);

		if (m && is_bridge_name(a, m->name))
			snprintf(l->matched_by, sizeof(l->matched_by), "bridge %s", m->name);
	}
}

static void set_pending(struct agent *a, struct agent_link *l)
{
	if (!l->pending)
		l->event_at = agent_now();
	l->pending = true;
	a->npending = true;
}

void agent_links_rematch(struct agent *a)
{
	for (size_t i = 0; i < a->nlinks; i++) {
		struct agent_link *l = &a->links[i];
		bool was = l->matched_by[0];

		match(a, l);
		if (l->matched_by[0] && (!was || l->state != AGENT_LINK_PROTECTED))
			set_pending(a, l);
	}
}

void agent_links_invalidate(struct agent *a)
{
	for (size_t i = 0; i < a->nlinks; i++) {
		if (a->links[i].state == AGENT_LINK_PROTECTED)
			a->links[i].state = AGENT_LINK_NEW;
	}
	agent_links_rematch(a);
}

static struct agent_link *link_add(struct agent *a, const struct nl_link *m)
{
	struct agent_link *l;

	if (a->nlinks == a->caplinks) {
		size_t ncap = a->caplinks ? a->caplinks * 2 : 64;
		struct agent_link *nv = realloc(a->links, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		a->links = nv;
		a->caplinks = ncap;
	}
	l = &a->links[a->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = m->ifindex;
	return l;
}

static void link_remove(struct agent *a, struct agent_link *l)
{
	bool downed = l->downed;

	*l = a->links[--a->nlinks];
	if (downed)
		agent_downed_save(a);
}

void agent_link_event(void *agent, const struct nl_link *m)
{
	struct agent *a = agent;
	struct agent_link *l = agent_link_find(a, m->ifindex);
	bool fresh = !l, renamed, changed, bridge, was;

	if (m->del) {
		if (!l)
			return;
		bridge = is_bridge_name(a, l->name);
		/* Records of links the agent never selected are the reconcile's. */
		if (l->matched_by[0] || l->state != AGENT_LINK_NEW)
			agent_link_gone(a, l->ifindex, l->name);
		link_remove(a, l);
		if (bridge)
			agent_links_rematch(a);
		return;
	}
	if (fresh) {
		l = link_add(a, m);
		if (!l) {
			agent_log(LOG_ERR, "out of memory: %s is not followed", m->name);
			a->resync = true;
			return;
		}
	}
	l->seen = true;
	renamed = !fresh && strcmp(l->name, m->name);
	changed = fresh || renamed || l->master != m->master || l->flags != m->flags ||
		  l->xdp_prog != m->xdp_prog;
	bridge = is_bridge_name(a, m->name) || (renamed && is_bridge_name(a, l->name));
	if (renamed)
		agent_log(LOG_INFO, "%s (ifindex %u) is now %s", l->name, l->ifindex, m->name);
	snprintf(l->name, sizeof(l->name), "%s", m->name);
	l->master = m->master;
	l->flags = m->flags;
	l->xdp_prog = m->xdp_prog;
	l->xdp_drv = m->xdp_drv;
	l->xdp_skb = m->xdp_skb;
	if (!changed)
		return;
	if (bridge) {
		/* A configured bridge came, went or was renamed: its ports change. */
		agent_links_rematch(a);
	}
	was = l->matched_by[0];
	match(a, l);
	if (renamed && l->state == AGENT_LINK_PROTECTED) {
		/* Its record names the old name: record it again, keeping it
		 * protected even when the new name is not selected (the agent
		 * never removes a live interface's hooks). */
		set_pending(a, l);
		return;
	}
	if (!l->matched_by[0])
		return;
	if (fresh || !was || l->state == AGENT_LINK_NEW)
		set_pending(a, l);
	else if (l->state == AGENT_LINK_PROTECTED && !a->cfg.attach.tc_ingress && l->xdp_ours &&
		 l->xdp_prog != l->xdp_ours)
		set_pending(a, l); /* its XDP program was replaced or removed */
	else if (l->state == AGENT_LINK_FAILED)
		set_pending(a, l); /* something changed: try again now */
}

int agent_links_resync(struct agent *a)
{
	int err;

	for (size_t i = 0; i < a->nlinks; i++)
		a->links[i].seen = false;
	err = nl_dump_links(agent_link_event, a);
	if (err) {
		agent_log(LOG_ERR, "cannot list the links (rtnetlink dump): %s", strerror(-err));
		return err;
	}
	/* What the dump did not list is gone (its DELLINK was lost). */
	for (size_t i = 0; i < a->nlinks;) {
		struct agent_link *l = &a->links[i];

		if (l->seen) {
			i++;
			continue;
		}
		agent_link_gone(a, l->ifindex, l->name);
		link_remove(a, l);
	}
	agent_links_rematch(a);
	return 0;
}

void agent_links_count(const struct agent *a, size_t *selected, size_t *protected_)
{
	*selected = *protected_ = 0;
	for (size_t i = 0; i < a->nlinks; i++) {
		if (!a->links[i].matched_by[0])
			continue;
		(*selected)++;
		*protected_ += a->links[i].state == AGENT_LINK_PROTECTED;
	}
}

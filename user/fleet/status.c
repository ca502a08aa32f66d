// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fleet's state (fleet.h): the pointer, every host's leased report
 * (status/) and every host's last report without a lease (seen/). A host
 * whose leased report expired is lost; one whose report does not parse is
 * failing, with why (a host is never dropped from the list for what it
 * wrote).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"

#define KEY_LEN 256

/* The host named by `key` below `prefix`, or NULL when it is not a name. */
static const char *key_host(const char *key, const char *prefix)
{
	size_t plen = strlen(prefix);

	if (strncmp(key, prefix, plen) || !xs_fleet_name_ok(key + plen))
		return NULL;
	return key + plen;
}

static struct xs_fleet_host *find_host(struct xs_fleet_state *st, const char *name)
{
	for (size_t i = 0; i < st->nhosts; i++)
		if (!strcmp(st->hosts[i].r.host, name))
			return &st->hosts[i];
	return NULL;
}

/* One report into a host: parsed, or failing with why. */
static void host_report(struct xs_fleet_host *h, const char *name, const struct xs_etcd_kv *kv)
{
	char why[200];

	memset(h, 0, sizeof(*h));
	if (xs_fleet_report_parse(kv->value, kv->len, &h->r, why, sizeof(why))) {
		memset(&h->r, 0, sizeof(h->r));
		snprintf(h->r.error, sizeof(h->r.error), "bad report: %s", why);
	} else if (strcmp(h->r.host, name)) {
		snprintf(why, sizeof(why), "bad report: host %s under the key of %s", h->r.host,
			 name);
		memset(&h->r, 0, sizeof(h->r));
		snprintf(h->r.error, sizeof(h->r.error), "%s", why);
	}
	snprintf(h->r.host, sizeof(h->r.host), "%s", name);
	h->converge_ms = -1;
}

/* Every key below `prefix` as hosts: status/ (lost false) or seen/ (lost
 * true: only hosts without a status report are added). */
static int read_hosts(struct xs_etcd_sync *s, const char *prefix, bool lost,
		      struct xs_fleet_state *st, char *err, size_t errlen)
{
	struct xs_etcd_result r = { 0 };
	struct xs_fleet_host *v;
	int rc = xs_etcd_sync_range(s, prefix, true, 0, &r);

	if (rc) {
		snprintf(err, errlen, "%s", r.msg);
		goto out;
	}
	v = realloc(st->hosts, (st->nhosts + r.nkvs + 1) * sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	st->hosts = v;
	for (size_t i = 0; i < r.nkvs; i++) {
		const char *name = key_host(r.kvs[i].key, prefix);
		struct xs_fleet_host *h;

		if (!name || (lost && find_host(st, name)))
			continue;
		h = &st->hosts[st->nhosts++];
		host_report(h, name, &r.kvs[i]);
		if (lost)
			h->state = XS_FLEET_LOST;
	}
out:
	xs_etcd_result_free(&r);
	return rc;
}

static int cmp_host(const void *a, const void *b)
{
	return strcmp(((const struct xs_fleet_host *)a)->r.host,
		      ((const struct xs_fleet_host *)b)->r.host);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p% of them at or below. */
static int64_t rank(const int64_t *v, size_t n, unsigned int p)
{
	size_t k = (p * n + 99) / 100;

	return v[k ? k - 1 : 0];
}

void xs_fleet_state_summarize(struct xs_fleet_state *st)
{
	int64_t *conv = calloc(st->nhosts + 1, sizeof(*conv));
	size_t nconv = 0;

	memset(st->count, 0, sizeof(st->count));
	st->p50_ms = st->p99_ms = st->max_ms = -1;
	qsort(st->hosts, st->nhosts, sizeof(*st->hosts), cmp_host);
	for (size_t i = 0; i < st->nhosts; i++) {
		struct xs_fleet_host *h = &st->hosts[i];

		h->converge_ms = -1;
		if (h->state != XS_FLEET_LOST) {
			if (h->r.error[0])
				h->state = XS_FLEET_FAILING;
			else if (st->published && !strcmp(h->r.hash, st->current.hash))
				h->state = XS_FLEET_CURRENT;
			else
				h->state = XS_FLEET_BEHIND;
		}
		st->count[h->state]++;
		if (h->state != XS_FLEET_CURRENT || !h->r.applied_ms)
			continue;
		/* a clock behind the publisher's: converged at once */
		h->converge_ms = h->r.applied_ms > st->current.time_ms
					 ? h->r.applied_ms - st->current.time_ms
					 : 0;
		if (conv)
			conv[nconv++] = h->converge_ms;
	}
	if (nconv) {
		qsort(conv, nconv, sizeof(*conv), cmp_i64);
		st->p50_ms = rank(conv, nconv, 50);
		st->p99_ms = rank(conv, nconv, 99);
		st->max_ms = conv[nconv - 1];
	}
	free(conv);
}

int xs_fleet_state_read(struct xs_etcd_sync *s, const char *fleet, struct xs_fleet_state *st,
			char *err, size_t errlen)
{
	char prefix[KEY_LEN];
	int rc;

	memset(st, 0, sizeof(*st));
	if (!xs_fleet_name_ok(fleet)) {
		snprintf(err, errlen, "'%s' is not a fleet name (1-63 of A-Z a-z 0-9 . _ -)",
			 fleet ? fleet : "");
		return -EINVAL;
	}
	rc = xs_fleet_current(s, fleet, &st->current, err, errlen);
	if (rc && rc != -ENOENT)
		return rc;
	st->published = !rc;
	xs_fleet_key_status(prefix, sizeof(prefix), fleet, NULL);
	rc = read_hosts(s, prefix, false, st, err, errlen);
	if (!rc) {
		xs_fleet_key_seen(prefix, sizeof(prefix), fleet, NULL);
		rc = read_hosts(s, prefix, true, st, err, errlen);
	}
	if (rc) {
		xs_fleet_state_free(st);
		return rc;
	}
	xs_fleet_state_summarize(st);
	return 0;
}

void xs_fleet_state_free(struct xs_fleet_state *st)
{
	free(st->hosts);
	st->hosts = NULL;
	st->nhosts = 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Reading and naming what the datapath left in the pinned maps. */
#include "show.h"

#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

const char *xs_show_verdict(unsigned int v)
{
	static const char *const names[] = {
		[XS_VERDICT_ALLOW] = "allow",
		[XS_VERDICT_DROP] = "drop",
		[XS_VERDICT_AUDIT] = "audit",
	};

	return v < XS_VERDICT__MAX ? names[v] : "?";
}

const char *xs_verdict_upper(unsigned int v)
{
	static const char *const names[] = {
		[XS_VERDICT_ALLOW] = "ALLOW",
		[XS_VERDICT_DROP] = "DROP",
		[XS_VERDICT_AUDIT] = "AUDIT",
	};

	return v < XS_VERDICT__MAX ? names[v] : "?";
}

const char *xs_show_reason(unsigned int r)
{
	return xs_reason_name((enum xs_reason)r);
}

const char *xs_show_proto(uint8_t proto, char *buf, size_t size)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		snprintf(buf, size, "ip-%u", proto);
		return buf;
	}
}

void xs_show_addr(uint8_t family, const uint8_t *addr, bool bracket, char *buf, size_t size)
{
	char tmp[INET6_ADDRSTRLEN];

	if (family == 4) {
		inet_ntop(AF_INET, addr, buf, size);
		return;
	}
	if (family != 6) {
		snprintf(buf, size, "-");
		return;
	}
	inet_ntop(AF_INET6, addr, tmp, sizeof(tmp));
	snprintf(buf, size, bracket ? "[%s]" : "%s", tmp);
}

void xs_show_time(uint64_t secs, char *buf, size_t size)
{
	time_t t = (time_t)secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

int xs_percpu_sum(int fd, uint32_t key, size_t nfields, uint64_t *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	size_t stride;
	uint64_t *v;

	memset(sum, 0, nfields * sizeof(*sum));
	if (ncpu < 0)
		return ncpu;
	/* the kernel copies whole values, 8-byte aligned, one per CPU: a buffer
	 * sized by the map (a caller may sum the first fields only) */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	stride = (info.value_size + 7) / 8;
	if (nfields > stride)
		return -EINVAL;
	v = calloc((size_t)ncpu, stride * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (int c = 0; c < ncpu; c++) {
		for (size_t f = 0; f < nfields; f++)
			sum[f] += v[(size_t)c * stride + f];
	}
	free(v);
	return 0;
}

int xs_stat_read(const struct xs_maps *m, uint32_t idx, struct xs_counter *c)
{
	uint64_t v[sizeof(*c) / sizeof(uint64_t)];
	int err;

	_Static_assert(sizeof(*c) == sizeof(v), "struct xs_counter is u64s only");
	err = xs_percpu_sum(m->stats, idx, sizeof(v) / sizeof(v[0]), v);
	memcpy(c, v, sizeof(*c));
	return err;
}

bool xs_counter_balanced(const struct xs_counter *c)
{
	uint64_t sum = 0;

	for (int o = 0; o < XS_EV__OUTCOMES; o++)
		sum += c->ev[o];
	return sum == c->packets;
}

void xs_event_sum(const struct xs_counter *st, struct xs_counter *t)
{
	memset(t, 0, sizeof(*t));
	for (uint32_t idx = 0; idx < XS_STAT_IDX(XS_VERDICT__MAX, 0); idx++) {
		t->packets += st[idx].packets;
		t->bytes += st[idx].bytes;
		for (int o = 0; o < XS_EV__OUTCOMES; o++)
			t->ev[o] += st[idx].ev[o];
	}
	t->ev[XS_EV_LOST] += st[XS_STAT_EV_LOST_OTHER].packets;
}

int xs_event_totals(const struct xs_maps *m, struct xs_counter *t)
{
	struct xs_counter st[XS_STAT__MAX];
	int err;

	for (uint32_t idx = 0; idx < XS_STAT__MAX; idx++) {
		err = xs_stat_read(m, idx, &st[idx]);
		if (err)
			return err;
	}
	xs_event_sum(st, t);
	return 0;
}

int xs_origin_get(const struct xs_maps *m, uint32_t set, uint32_t rule_id, struct xs_origin *o)
{
	struct xs_origin_key k = { .set = set, .rule_id = rule_id };

	if (bpf_map_lookup_elem(m->origins, &k, o))
		return -errno;
	o->file[sizeof(o->file) - 1] = '\0';
	o->text[sizeof(o->text) - 1] = '\0';
	return 0;
}

void xs_segment_name(const struct xs_maps *m, uint32_t set, uint16_t seg, char *buf, size_t size)
{
	struct xs_origin o;

	if (seg == XS_SEG_WORLD)
		snprintf(buf, size, "world");
	else if (xs_origin_get(m, set, XS_ORIGIN_SEG_KEY(seg), &o) == 0)
		snprintf(buf, size, "%s", o.text);
	else
		snprintf(buf, size, "seg-%u", seg);
}

int xs_meta_get(const struct xs_maps *m, uint32_t set, struct xs_policy_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	if (bpf_map_lookup_elem(m->meta, &set, meta))
		return -errno;
	meta->file[sizeof(meta->file) - 1] = '\0';
	return 0;
}

int xs_event_losses(const struct xs_maps *m, uint64_t *lost, uint64_t *ratelimited)
{
	struct xs_counter t;
	int err;

	err = xs_event_totals(m, &t);
	if (err)
		return err;
	*lost = t.ev[XS_EV_LOST];
	*ratelimited = t.ev[XS_EV_RATELIMITED];
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* rtnetlink with libmnl: link events, link dumps, link up/down. */
#include "netlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

/* Receive buffer of the monitor: a burst of thousands of link events fits. */
#define MONITOR_RCVBUF (8 << 20)
/* Datagrams read per wakeup before the loop gets a turn. */
#define MONITOR_BATCH 64
/* One recv: a dump part is at most 32 KiB (the kernel's default for dumps). */
#define NL_RECV_SIZE 32768
/* Dumps redone at most this often when a change interrupts them. */
#define DUMP_TRIES 10

/* The program ids of IFLA_XDP: per mode, and the one attached whichever mode. */
static int xdp_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;
	__u32 id;

	if (mnl_attr_validate(a, MNL_TYPE_U32))
		return MNL_CB_OK;
	id = mnl_attr_get_u32(a);
	switch (mnl_attr_get_type(a)) {
	case IFLA_XDP_DRV_PROG_ID:
		l->xdp_drv = id;
		break;
	case IFLA_XDP_SKB_PROG_ID:
		l->xdp_skb = id;
		break;
	case IFLA_XDP_PROG_ID:
		break;
	default:
		return MNL_CB_OK;
	}
	if (!l->xdp_prog)
		l->xdp_prog = id;
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
		break;
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->master = mnl_attr_get_u32(a);
		break;
	case IFLA_XDP:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			mnl_attr_parse_nested(a, xdp_attr, l);
		break;
	}
	return MNL_CB_OK;
}

struct cb_ctx {
	nl_link_fn fn;
	void *data;
	bool intr; /* a dump part flagged NLM_F_DUMP_INTR */
};

static int link_msg(const struct nlmsghdr *h, void *data)
{
	struct cb_ctx *cx = data;
	const struct ifinfomsg *ifi;
	struct nl_link l;

	if (h->nlmsg_flags & NLM_F_DUMP_INTR)
		cx->intr = true;
	if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(h);
	/* AF_BRIDGE messages describe bridge ports (a DELLINK there is a port
	 * leaving its bridge, not a link going away): only AF_UNSPEC counts. */
	if (ifi->ifi_family != AF_UNSPEC || ifi->ifi_index <= 0)
		return MNL_CB_OK;
	memset(&l, 0, sizeof(l));
	l.del = h->nlmsg_type == RTM_DELLINK;
	l.ifindex = (unsigned int)ifi->ifi_index;
	l.flags = ifi->ifi_flags;
	mnl_attr_parse(h, sizeof(*ifi), link_attr, &l);
	if (!l.name[0])
		return MNL_CB_OK;
	cx->fn(cx->data, &l);
	return MNL_CB_OK;
}

struct mnl_socket *nl_monitor_open(void)
{
	struct mnl_socket *nl;
	int size = MONITOR_RCVBUF, fd;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!nl)
		return NULL;
	fd = mnl_socket_get_fd(nl);
	/* Past the rmem_max limit with CAP_NET_ADMIN; otherwise as large as allowed. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (mnl_socket_bind(nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID)) {
		int err = errno;

		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

int nl_monitor_read(struct mnl_socket *nl, nl_link_fn fn, void *data)
{
	static char buf[NL_RECV_SIZE];
	struct cb_ctx cx = { .fn = fn, .data = data };

	for (int i = 0; i < MONITOR_BATCH; i++) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno; /* ENOBUFS: the kernel dropped events */
		}
		/* seq and portid 0: multicast from the kernel */
		mnl_cb_run(buf, (size_t)n, 0, 0, link_msg, &cx);
	}
	return 1;
}

/* One dump on a fresh socket; -EINTR when the kernel says it was interrupted. */
static int dump_once(nl_link_fn fn, void *data)
{
	char *buf = malloc(NL_RECV_SIZE);
	struct cb_ctx cx = { .fn = fn, .data = data };
	struct mnl_socket *nl = NULL;
	struct nlmsghdr *h;
	struct rtgenmsg *g;
	unsigned int seq, portid;
	int ret, err = 0;

	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)) {
		err = -errno;
		goto out;
	}
	h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = RTM_GETLINK;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	h->nlmsg_seq = seq = (unsigned int)time(NULL);
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, NL_RECV_SIZE);

		if (n < 0) {
			err = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, link_msg, &cx);
		if (ret == MNL_CB_STOP)
			break;
		if (ret < 0) {
			err = -errno;
			break;
		}
	}
	if (!err && cx.intr)
		err = -EINTR;
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return err;
}

int nl_dump_links(nl_link_fn fn, void *data)
{
	int err = -EINTR;

	for (int i = 0; i < DUMP_TRIES && err == -EINTR; i++)
		err = dump_once(fn, data);
	return err;
}

int nl_set_up(unsigned int ifindex, bool up)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct ifinfomsg *ifi;
	struct nlmsghdr *h;
	unsigned int seq, portid;
	ssize_t n;
	int err = 0;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID)) {
		err = -errno;
		goto out;
	}
	h = mnl_nlmsg_put_header(buf);
	h->nlmsg_type = RTM_NEWLINK;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = seq = (unsigned int)time(NULL);
	ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	portid = mnl_socket_get_portid(nl);
	if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0) {
		err = -errno;
		goto out;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL) < 0)
		err = -errno;
out:
	mnl_socket_close(nl);
	return err;
}

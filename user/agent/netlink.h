/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rtnetlink through libmnl: a monitor socket for link events (RTMGRP_LINK),
 * a dump of every link, and setting a link up or down. Every message, event
 * or dump, becomes one struct nl_link for the same handler.
 */
#ifndef XS_AGENT_NETLINK_H
#define XS_AGENT_NETLINK_H

#include <net/if.h>
#include <stdbool.h>

#include <linux/types.h>

struct mnl_socket;

/* What a RTM_NEWLINK or RTM_DELLINK says about one link. */
struct nl_link {
	bool del; /* RTM_DELLINK: gone (deleted, or moved to another namespace) */
	unsigned int ifindex;
	char name[IF_NAMESIZE];
	unsigned int master; /* IFLA_MASTER (a bridge's ifindex), 0: none */
	unsigned int flags;  /* IFF_* */
	__u32 xdp_prog;	     /* the XDP program on it (either mode), 0: none */
	__u32 xdp_drv;	     /* ... in native (driver) mode */
	__u32 xdp_skb;	     /* ... in generic (skb) mode */
};

typedef void (*nl_link_fn)(void *data, const struct nl_link *l);

/* The monitor: non-blocking, subscribed to link events, a large receive buffer. */
struct mnl_socket *nl_monitor_open(void);

/*
 * Read what the monitor has (at most a bounded batch, so that a storm of
 * events cannot starve the loop) and hand each link message to `fn`.
 * Returns 0 (nothing more now), 1 (more may wait), -ENOBUFS (events were
 * lost: dump again) or another negative errno.
 */
int nl_monitor_read(struct mnl_socket *nl, nl_link_fn fn, void *data);

/* Every link of the network namespace, to `fn` (a dump interrupted by a change is redone). */
int nl_dump_links(nl_link_fn fn, void *data);

/* Set link `ifindex` up or down (IFF_UP), waiting for the kernel's answer. */
int nl_set_up(unsigned int ifindex, bool up);

#endif /* XS_AGENT_NETLINK_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The hooks the kernel runs on an interface now, whatever xs_ifaces says:
 * what `status` checks each record against, what `detach` removes and
 * verifies. A hook is xdpseg's when its program is named like ours (XDP
 * `xs_xdp`, TC `xs_tc_*` at our handle and priority), and it enforces the
 * loaded policy only when its program id is the pinned program's.
 */
#ifndef XS_HOOKS_H
#define XS_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "loader.h"

/* One bit per hook an interface can carry. */
enum xs_hk {
	XS_HK_XDP_NATIVE = 1U << 0,
	XS_HK_XDP_GENERIC = 1U << 1,
	XS_HK_TC_EGRESS = 1U << 2,
	XS_HK_TC_INGRESS = 1U << 3,
};
#define XS_HK__COUNT 4

struct xs_hooks {
	__u32 id[XS_HK__COUNT]; /* program id on each hook, by bit number (0: none) */
	unsigned int ours;	/* XS_HK_*: hooks running a program named like xdpseg's */
	int err;		/* a query failed: treat what is missing as unknown */
};

/* The program id on hook `bit` (XS_HK_*). */
static inline __u32 xs_hooks_id(const struct xs_hooks *h, unsigned int bit)
{
	return h->id[__builtin_ctz(bit)];
}

/* Query XDP (both modes) and our TC filters (both directions) of `ifindex`. */
int xs_hooks_query(unsigned int ifindex, struct xs_hooks *h);

/*
 * The same, with the XDP program ids already known (a link dump reports
 * them for every link at once, IFLA_XDP_DRV_PROG_ID and _SKB_PROG_ID):
 * only the TC filters are queried. A libbpf XDP query dumps every link of
 * the namespace, so checking N interfaces one by one costs N dumps.
 */
int xs_hooks_query_xdp_known(unsigned int ifindex, __u32 drv_id, __u32 skb_id, struct xs_hooks *h);

/*
 * Remove every xdpseg hook (by program name) from `ifindex`, whoever
 * attached it: an XDP bpf_link is detached, a netlink-attached XDP program
 * removed, our TC filters deleted. Returns the XS_HK_* mask of xdpseg hooks
 * still there afterwards (0 when all went), or a negative errno.
 */
int xs_hooks_remove(unsigned int ifindex);

/* "xdp native, tc egress" for a mask of hooks ("none" when empty). */
void xs_hooks_names(unsigned int mask, char *buf, size_t size);

/* A command that removes hook `bit` by hand, for an error message. */
void xs_hook_fix(unsigned int bit, const char *ifname, char *buf, size_t size);

/* What a record of xs_ifaces is, checked against the live interface. */
enum xs_live {
	XS_LIVE_PROTECTED,   /* every recorded hook runs the pinned program */
	XS_LIVE_UNPROTECTED, /* no recorded hook runs the pinned program */
	XS_LIVE_PARTIAL,     /* some do, some are missing or run another program */
	XS_LIVE_ATTACHING,   /* recorded by an attach that did not finish */
	XS_LIVE_REPLACED,    /* the name now belongs to another ifindex */
	XS_LIVE_GONE,	     /* no interface has the name */
};

struct xs_iface_live {
	enum xs_live state;
	unsigned int ifindex; /* the name's ifindex now (0: none) */
	unsigned int want;    /* XS_HK_*: the hooks the record asks for */
	unsigned int bad;     /* ... of them not running the pinned program */
	struct xs_hooks hooks;
};

/* Check record `e` against the live link: ifindex by name, hooks by program id. */
void xs_iface_live(const struct xs_ctl *ctl, const struct xs_iface *e, struct xs_iface_live *l);

/* The same, for a caller that knows the record's name still has its ifindex
 * and has queried its hooks `h`. */
void xs_iface_live_hooks(const struct xs_ctl *ctl, const struct xs_iface *e,
			 const struct xs_hooks *h, struct xs_iface_live *l);

/*
 * What is wrong with the recorded hooks of a checked record, e.g.
 * "no xdp native, tc egress runs prog 42" ("" when nothing).
 */
void xs_live_problems(const struct xs_iface_live *l, char *buf, size_t size);

/* "protected", "unprotected", "partial", "attaching", "replaced", "gone". */
const char *xs_live_name(enum xs_live s);

/* The hooks record `e` asks for (XS_HK_*). */
unsigned int xs_iface_want(const struct xs_iface *e);

#endif /* XS_HOOKS_H */

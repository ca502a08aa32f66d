/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One interface's hooks: attach, repair, drop (iface.c). */
#ifndef XS_IFACE_H
#define XS_IFACE_H

#include <stdbool.h>

#include "loader.h"

struct xs_attach_opts {
	enum xs_xdp_mode mode; /* XS_XDP_NATIVE (default, may fall back) or GENERIC */
	bool mode_given;       /* the user chose the mode: say so when it falls back */
	bool tc_ingress;       /* ingress by TC instead of XDP */
};

enum xs_attach_outcome {
	XS_ATTACH_NEW = 1,	/* recorded and hooked now */
	XS_ATTACH_ALREADY = 2,	/* recorded and protected already: nothing done */
	XS_ATTACH_REPAIRED = 3, /* recorded, but a hook was missing: put back */
};

struct xs_attach_result {
	enum xs_attach_outcome outcome;
	struct xs_iface rec; /* the record as it stands now */
	char problems[128];  /* REPAIRED: what was missing */
	int bind;	     /* the bind id the active policy gave it (0: not bound) */
};

/*
 * Attach xdpseg to interface `ifname`: drop stale records of its name or
 * ifindex, record it, bind it by the active policy's `bind` statements,
 * then hook TC and XDP. Idempotent; repairs a missing hook. Errors are
 * reported (p_err) and returned as a negative errno, with a new record
 * removed again. Precondition: the lock is held and the object loaded.
 */
int xs_iface_attach(struct xs_ctl *ctl, const char *ifname, const struct xs_attach_opts *o,
		    struct xs_attach_result *res);

/*
 * Remove what record `e` describes: its hooks on `live` (the ifindex its
 * name has now, 0 if gone) and on the recorded ifindex, its link pin, the
 * clsact qdisc xdpseg made, its binding and the record. Returns 0, or
 * -EBUSY when a hook stayed (the record is kept).
 */
int xs_iface_drop(const struct xs_ctl *ctl, const struct xs_iface *e, unsigned int live);

/* Remove every xdpseg hook on `ifindex` and check none stayed (0 or -EBUSY). */
int xs_iface_remove_hooks(unsigned int ifindex);

/* "xdp native ingress, tc egress", ... */
const char *xs_iface_mode_name(const struct xs_iface *e);

#endif /* XS_IFACE_H */

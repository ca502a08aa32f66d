/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's maps as file descriptors (names as in bpf/lib/maps.h and
 * include/xdpseg.h): borrowed from a loaded object, or opened from their
 * pins; the barrier that waits for running programs; the configuration.
 */
#ifndef XS_MAPS_H
#define XS_MAPS_H

#include <stdbool.h>

#include "xdpseg.h"

struct bpf_object;

struct xs_maps {
	int config;
	int seg4[XS_POLICY_SETS];
	int seg6[XS_POLICY_SETS];
	int rules[XS_POLICY_SETS];
	int rexact[XS_POLICY_SETS];
	int seginfo[XS_POLICY_SETS];
	int rstats[XS_POLICY_SETS];
	int binds[XS_POLICY_SETS];
	int bind4[XS_POLICY_SETS];
	int bind6[XS_POLICY_SETS];
	int ifbind[XS_POLICY_SETS];  /* ifindex < XS_IFBIND_DIRECT */
	int ifbindx[XS_POLICY_SETS]; /* the larger ones */
	/* derived at push from the above (user/policy/fast.c) */
	int dir4[XS_POLICY_SETS];
	int seg6h[XS_POLICY_SETS];
	int seg6a[XS_POLICY_SETS];
	int paira[XS_POLICY_SETS];
	int portmap[XS_POLICY_SETS];
	int pairc[XS_POLICY_SETS];
	int pairs[XS_POLICY_SETS];
	int fast;
	int sets;
	int stats;
	int flow4; /* the flow tables (tracked flows, remembered denials) */
	int flow6;
	int frags;
	int events;
	int origins;
	int meta;
	int ifaces;
	int overlays;
	int barrier;
	int barrier_in;
	bool owned; /* fds were opened here (pinned): xs_maps_close() closes them */
};

/* Borrow the fds of a loaded object's maps (e.g. a skeleton's obj). */
int xs_maps_from_object(struct bpf_object *obj, struct xs_maps *m);
/* Open the maps pinned under `dir` (XS_PIN_DIR "/maps"). */
int xs_maps_open_pinned(const char *dir, struct xs_maps *m);
void xs_maps_close(struct xs_maps *m);

/* Wait until every program run that started before this call has ended. */
int xs_maps_barrier(const struct xs_maps *m);

/* Read the configuration (generation, event rate, flags). */
int xs_config_read(const struct xs_maps *m, struct xs_config *cfg);

/*
 * Set the bytes drop and audit events carry (xs_config.snap_len, at most
 * XS_EV_SNAP_MAX). The configuration is written whole, so the caller holds
 * the pin directory's lock, and it is not written while a commit-confirm
 * is pending (the datapath may write rolled_back then): -EBUSY, try later.
 * Returns 0 (also when it is already `snap`) or a negative errno.
 */
int xs_config_set_snap(const struct xs_maps *m, __u32 snap);

#endif /* XS_MAPS_H */

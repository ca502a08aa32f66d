/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's maps as file descriptors, and the atomic policy push.
 *
 * Apply protocol (see include/xdpseg.h): wait for running programs; write
 * the inactive policy set completely; flip xs_config.generation; wait again.
 * A failure before the flip leaves the active policy untouched.
 */
#ifndef XS_PUSH_H
#define XS_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

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

struct xs_push_result {
	uint32_t generation; /* the new generation, now active */
	uint32_t set;	     /* generation & 1 */
};

/*
 * Push `c` atomically as the new active policy. `file` is recorded in the
 * metadata for `status` (may be NULL). Returns 0, or a negative errno with
 * the active policy unchanged.
 */
int xs_policy_push(const struct xs_maps *m, const struct xs_compiled *c, const char *file,
		   struct xs_push_result *res);

/*
 * Bind interface `ifindex` named `name` in the ACTIVE policy set: the first
 * `bind` statement whose pattern matches the name (xs_binds_<set>) binds it
 * in xs_ifbind_<set>; no match removes a stale entry. Call it after the
 * interface is recorded and before its hooks are attached, so no packet
 * crosses a hooked port that the policy binds without its check. Returns
 * the bind id (0: not bound), or a negative errno. No policy applied: 0.
 */
int xs_iface_bind(const struct xs_maps *m, uint32_t ifindex, const char *name);

/* Forget interface `ifindex` in both sets' xs_ifbind (detach). */
void xs_iface_unbind(const struct xs_maps *m, uint32_t ifindex);

/* The bind id of `ifindex` in the active set and its bind info (0: not bound). */
uint32_t xs_iface_binding(const struct xs_maps *m, uint32_t ifindex, struct xs_bind_info *bi);

/* Read the configuration (generation, event rate, flags). */
int xs_config_read(const struct xs_maps *m, struct xs_config *cfg);

#endif /* XS_PUSH_H */

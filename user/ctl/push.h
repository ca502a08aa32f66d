/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The atomic policy push, and the port bindings of the set in force.
 *
 * Apply protocol (see include/xdpseg.h): wait for running programs; write
 * the inactive policy set completely; flip xs_config.generation; wait again.
 * A failure before the flip leaves the active policy untouched.
 */
#ifndef XS_PUSH_H
#define XS_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "maps.h"
#include "policy.h"

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

#endif /* XS_PUSH_H */

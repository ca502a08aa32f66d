/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Operating a policy: THE path every policy change takes (`apply`,
 * `quarantine`, `release`, `grant`, `revoke`, the agent's applies,
 * `apply --confirm`, whose own steps are in confirm.h).
 *
 *   compile(base sources, overlays, failsafe ports, now)
 *     -> xs_policy_push() (which writes the new set's xs_overlays)
 *     -> xs_state_save() (the last good policy, with its sources)
 *
 * The base sources are a policy file, or the running policy's own sources
 * as the state artefact keeps them, after checking that artefact is what
 * the kernel enforces (its hash equals the active set's metadata hash):
 * a quarantine or a grant never recompiles files edited since the last
 * apply. The overlays are, unless the caller names them, the ones in force
 * (the active set's xs_overlays), so an `apply` of a new policy keeps every
 * quarantine and grant, re-validated against the new policy (one it cannot
 * hold is an error that changes nothing).
 *
 * Errors are printed in the project's style (p_err(); compile diagnostics
 * gcc-style on stderr, or into the caller's xs_diags) and on any error the
 * active policy is unchanged.
 */
#ifndef XS_OPERATE_H
#define XS_OPERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"
#include "policy.h"
#include "push.h"

struct xs_resolve_fs_ctx; /* policy.h: the include search (-I dirs) */

struct xs_operate {
	/* ---- in ---- */
	/* The policy file to compile, or NULL: the running policy's sources
	 * from the state artefact, checked against the kernel's active hash
	 * (else an error: "apply the policy again"). */
	const char *file;
	/* Include search for `file` (NULL: no -I dirs). */
	const struct xs_resolve_fs_ctx *search;
	/* The state directory (NULL: xs_state_dir()): read when file is
	 * NULL, written after every push. */
	const char *state_dir;
	/* false: the overlays in force (xs_operate_overlays_in_force());
	 * true: exactly overlays[0..noverlays) (quarantine, grant, release,
	 * revoke build the new list from the one in force). */
	bool set_overlays;
	const struct xs_overlay_in *overlays;
	size_t noverlays;
	/* The configuration's failsafe ports (agent/config.h, `failsafe =`). */
	const struct xs_failsafe_in *failsafe;
	size_t nfailsafe;
	/* Compile and check only: nothing pushed, nothing saved (comp is set). */
	bool dry_run;
	/* Where compile diagnostics go: NULL prints them on stderr
	 * (gcc-style, colour on a terminal); else they are added here and
	 * not printed (the agent logs them). */
	struct xs_diags *diags;
	/* The command, for the refusal while a commit-confirm is pending
	 * ("apply", "grant", ...; NULL: "a policy change"). */
	const char *what;
	/* Refuse nothing because a commit-confirm is pending (the
	 * commit-confirm's own push, after xs_confirm_prearm()). Everything
	 * else refuses then (xs_confirm_refuse()). */
	bool allow_pending;
	/* Where the pushed policy's artefact is saved (NULL: state_dir);
	 * `apply --confirm` keeps it in STATE_DIR/confirm until confirmed. */
	const char *save_dir;

	/* ---- out ---- */
	struct xs_compiled *comp;  /* what was compiled (and pushed); xs_operate_free() */
	char *applied_from;	   /* the file recorded in the metadata and the artefact
				    * (absolute when it could be resolved) */
	struct xs_push_result res; /* generation and set now active (not on dry_run) */
	size_t nerrors;		   /* compile errors (diagnostics) */
	bool saved;		   /* the state artefact was written */
};

/*
 * The overlays in force: the active set's xs_overlays, sorted by number,
 * as one malloc'd block (*out, free() it; text and reason point into it).
 * No policy active: *n = 0. Returns 0 or a negative errno (not printed).
 */
int xs_operate_overlays_in_force(const struct xs_maps *m, struct xs_overlay_in **out, size_t *n);

/* The highest overlay number of `v` plus one (1 for none): a new handle. */
uint32_t xs_operate_next_number(const struct xs_overlay_in *v, size_t n);

/*
 * Compile and push as described above. Preconditions: ctl locked
 * (xs_ctl_lock()) and its maps open (xs_ctl_load() / xs_ctl_open()).
 * Compile options: now = time(NULL), tai_offset = CLOCK_TAI - CLOCK_REALTIME.
 * First makes a rollback the datapath did explicit (xs_confirm_settle(),
 * confirm.h: a push never rewrites the set the datapath went back to);
 * then refuses (unless allow_pending) while a commit-confirm is pending,
 * with a message naming `xdpseg confirm` and `xdpseg rollback`.
 * Returns 0; -EINVAL on a policy error (diagnostics printed, nerrors set);
 * -EBUSY when refused because a commit-confirm is pending; -ESTALE when
 * the state artefact is not what the kernel enforces (file NULL); another
 * negative errno. Every error is printed; the active policy is unchanged.
 * A failed save of the state artefact is a warning, not an error.
 */
int xs_operate_push(struct xs_ctl *ctl, struct xs_operate *op);

/* Free what xs_operate_push() set (comp, applied_from). */
void xs_operate_free(struct xs_operate *op);

/* CLOCK_TAI - CLOCK_REALTIME in whole seconds (37 on a synchronised host,
 * 0 where the kernel's TAI offset was never set). */
int64_t xs_tai_offset(void);

#endif /* XS_OPERATE_H */

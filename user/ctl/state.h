/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The state directory: the last good policy, as the compiled artefact every
 * successful apply writes (the CLI's and the agent's), so that a host that
 * reboots enforces what it enforced before, even when its policy file no
 * longer compiles.
 *
 *   DIR/policy.xsc   the last good compiled policy (xs_compiled_serialize())
 */
#ifndef XS_STATE_H
#define XS_STATE_H

#include "policy.h"
#include "push.h"

#define XS_STATE_DIR "/var/lib/xdpseg"

/* The state directory in force: $XDPSEG_STATE_DIR or XS_STATE_DIR. */
const char *xs_state_dir(void);

/*
 * Save `c`, applied from `file`, as the last good policy under `dir`: made
 * 0700 when missing, written to a temporary file then renamed (a crash
 * leaves the old one or the new one), 0600. Returns 0, or a negative errno
 * after reporting why with the path, as a warning (p_warn): the caller has
 * pushed `c` already, and the kernel enforces it whatever the save does.
 */
int xs_state_save(const char *dir, const struct xs_compiled *c, const char *file);

/*
 * Load the last good policy under `dir` into *out (and the file it was
 * applied from into *file, malloc'd). Returns 0; -ENOENT when there is
 * none (not reported); another negative errno after reporting why it
 * cannot be used (unreadable, not xdpseg's, another format version, its
 * content does not match its hash).
 */
int xs_state_load(const char *dir, struct xs_compiled **out, char **file);

/*
 * Load the last good policy under `dir` as xs_state_load() does, and check
 * it is the policy the kernel enforces: its hash equals the active set's
 * metadata hash (maps `m`). Returns 0; -ENOENT when no policy is applied
 * or none is saved, -ESTALE when the saved one is not the one in force,
 * another negative errno: each reported (p_err()) with the fix ("apply
 * the policy again").
 */
int xs_state_load_running(const char *dir, const struct xs_maps *m, struct xs_compiled **out,
			  char **file);

#endif /* XS_STATE_H */

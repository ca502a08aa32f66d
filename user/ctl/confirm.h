/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Commit-confirm: `apply --confirm DUR`, `confirm`, `rollback`.
 *
 * The deadline lives in the kernel (xs_config, include/xdpseg.h): from
 * confirm_deadline_ns on, the datapath decides by rollback_generation's set
 * (the policy before, still in the other set) and sets rolled_back once,
 * with an event (XS_EVF_ROLLBACK), whether or not any xdpseg process runs.
 * The next command or agent tick makes that rollback explicit
 * (xs_confirm_settle()): the old set becomes active under a new generation.
 *
 * xs_config through one commit-confirm (G: the generation before):
 *
 *   state            generation  deadline  rollback_generation  rolled_back
 *   none             G           0         (any)                0
 *   pending          G+1         D         G                    0
 *   rolled back      G+1         D (past)  G                    0, 1 once a packet saw it
 *   made explicit    G+2         0         G+1 (missed) / 0      0
 *   confirmed        G+1         0         0                    0
 *
 * G+2 has G's parity: the set of G, its xs_meta rewritten (generation G+2,
 * applied_at the time of the rollback). After a missed confirm,
 * rollback_generation keeps the generation undone (userspace's own note,
 * the datapath reads it only under a deadline) so `status` can say
 * "rolled back at ... (confirm missed)" until the next apply.
 *
 * The unconfirmed policy's artefact waits in STATE_DIR/confirm/policy.xsc
 * (XS_CONFIRM_SUBDIR); `confirm` makes it the last good policy, a rollback
 * removes it: the last good policy is never an unconfirmed one, so a host
 * that reboots before the confirm comes back with the policy before.
 *
 * Every function that writes takes the maps of a locked xs_ctl (the pin
 * directory's lock orders it with every push). The datapath's clock is
 * CLOCK_MONOTONIC_COARSE (bpf_ktime_get_coarse_ns()) + clock_offset_ns.
 */
#ifndef XS_CONFIRM_H
#define XS_CONFIRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "push.h"

/* Under the state directory: the unconfirmed policy's artefact. */
#define XS_CONFIRM_SUBDIR "confirm"

enum xs_confirm_state {
	XS_CONFIRM_NONE = 0,	    /* no deadline */
	XS_CONFIRM_PENDING = 1,	    /* a deadline ahead: waiting for `confirm` */
	XS_CONFIRM_ROLLED_BACK = 2, /* the deadline passed: the datapath went back */
};

/* The commit-confirm as xs_config describes it now. */
struct xs_confirm {
	enum xs_confirm_state state;
	uint32_t generation;	      /* in force (PENDING: the unconfirmed one) */
	uint32_t rollback_generation; /* PENDING, ROLLED_BACK: the one to go back to */
	uint64_t deadline_ns;	      /* the datapath's clock */
	int64_t left_ns;	      /* PENDING: time left; ROLLED_BACK: <= 0 */
	time_t deadline_at;	      /* the deadline, wall clock */
	bool seen;		      /* ROLLED_BACK: a packet saw it (rolled_back = 1) */
	/* NONE: the last missed confirm made explicit, while its rollback is
	 * the policy in force (0: none): the generation undone, and when. */
	uint32_t undone_generation;
	time_t undone_at;
};

/* The datapath's clock now (ns), under configuration `cfg`. */
uint64_t xs_confirm_clock(const struct xs_config *cfg);

/* The file generation `generation`'s policy was applied from, as its set's
 * metadata says ("?" when the set holds another generation by now). */
void xs_generation_file(const struct xs_maps *m, uint32_t generation, char *buf, size_t size);

/* Read the commit-confirm's state. Returns 0 or a negative errno. */
int xs_confirm_read(const struct xs_maps *m, struct xs_confirm *c);

/*
 * Is a commit-confirm pending (xs_config.confirm_deadline_ns set and not
 * passed)? 1 yes, 0 no, negative errno when the config cannot be read.
 * Pure: a deadline that has passed is 0 here; before a push, call
 * xs_confirm_settle() first (a push must never rewrite the set the
 * datapath rolled back to).
 */
int xs_confirm_pending(const struct xs_maps *m);

/*
 * Print the refusal of a policy change (`what`: "apply", "grant", ...)
 * while a commit-confirm is pending, naming `xdpseg confirm`, `xdpseg
 * rollback` and the time left (p_err()). Returns -EBUSY.
 */
int xs_confirm_refuse(const struct xs_maps *m, const char *what);

/*
 * Before the push of `apply --confirm`: write a provisional deadline
 * (`secs` + a margin ahead, rollback to the generation in force), so the
 * generation flip carries a deadline and no moment exists where the new
 * policy is in force without one. Refuses (p_err(), -ENOENT) when no policy
 * is in force (nothing to go back to) and (-EBUSY) while one is pending.
 * *prev: the generation in force.
 */
int xs_confirm_prearm(const struct xs_maps *m, uint64_t secs, uint32_t *prev);

/* The push failed after xs_confirm_prearm(): clear the deadline again. */
void xs_confirm_disarm(const struct xs_maps *m);

/*
 * After the push: the deadline `secs` from now, rollback_generation `prev`,
 * rolled_back 0, in one map update. *c: the state written.
 */
int xs_confirm_arm(const struct xs_maps *m, uint32_t prev, uint64_t secs, struct xs_confirm *c);

/*
 * `xdpseg confirm`: clear the deadline; save the unconfirmed policy's
 * artefact (STATE_DIR/confirm) as the last good policy of `state_dir`
 * (NULL: xs_state_dir()). Refuses (p_err()) with -ENOENT when nothing is
 * pending, -ESTALE when the deadline has passed (the datapath rolled back:
 * made explicit here, then refused).
 */
int xs_confirm_confirm(const struct xs_maps *m, const char *state_dir, struct xs_confirm *c);

/*
 * Where the unconfirmed policy's artefact goes: "STATE_DIR/confirm" into
 * buf (state_dir NULL: xs_state_dir()), the state directory made (0700)
 * when missing so that xs_state_save() can make the subdirectory.
 */
const char *xs_confirm_dir(const char *state_dir, char *buf, size_t size);

/* Save the unconfirmed policy `c` applied from `file` there (a failure is
 * a warning: `confirm` then leaves the last good policy as it was). */
int xs_confirm_save(const char *state_dir, const struct xs_compiled *c, const char *file);

/* What a rollback did: the generation undone, the one restored, the new one. */
struct xs_rollback {
	uint32_t undone;     /* the unconfirmed generation */
	uint32_t restored;   /* the generation gone back to (the set it used) */
	uint32_t generation; /* the new generation of that set, now in force */
	bool missed;	     /* the datapath rolled back at the deadline */
	time_t at;	     /* when (the deadline's wall time when missed) */
	char undone_file[256], restored_file[256];
};

/*
 * `xdpseg rollback`: go back now to the policy before, explicitly: the old
 * set active under a new generation of its parity, the deadline cleared,
 * the unconfirmed artefact removed. -ENOENT (p_err()) when nothing is
 * pending. A deadline that has passed is made explicit as a missed one.
 */
int xs_confirm_rollback(const struct xs_maps *m, const char *state_dir, struct xs_rollback *rb);

/*
 * Make a rollback the datapath did on its own explicit (the deadline has
 * passed): as xs_confirm_rollback(), saying so with p_warn() (the agent's
 * log, the command's stderr). Returns 1 when it did (rb filled, may be
 * NULL), 0 when there was nothing to do, a negative errno (printed).
 * Every command that changes the policy, `status` and the agent's tick
 * call it first.
 */
int xs_confirm_settle(const struct xs_maps *m, const char *state_dir, struct xs_rollback *rb);

#endif /* XS_CONFIRM_H */

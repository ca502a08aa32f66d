/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pinned state under the pin directory, and the lock that serialises
 * the commands that change it.
 *
 * Layout (DIR is XS_PIN_DIR, or $XDPSEG_PIN_DIR when set):
 *   DIR/maps/<map name>    every map of the object (libbpf pin_root_path)
 *   DIR/progs/<prog name>  xs_xdp, xs_tc_egress, xs_tc_ingress; their presence
 *                          means "loaded": they are pinned last on load and
 *                          removed first on unload
 *   DIR/links/xdp-<iface>  one XDP bpf_link per interface
 * TC programs are attached with netlink filters (libbpf 1.1 has no tcx);
 * the filters hold their programs, so they need no pin.
 *
 * Only root may have made or changed any of it (bpffs is mounted 1777, so
 * anyone can create a directory there first): every command that reads or
 * changes the pinned state checks the path and the tree below it (owner
 * root, not group- or world-writable, no symbolic link) before it trusts
 * any of it, and refuses with an error naming the path and the fix.
 */
#ifndef XS_LOADER_H
#define XS_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "push.h"

/* Handle, priority and chain of our clsact filters (both directions). */
#define XS_TC_HANDLE 0x5853 /* "XS" */
#define XS_TC_PRIORITY 1

/* Seconds to wait for the lock, unless $XDPSEG_LOCK_TIMEOUT says otherwise. */
#define XS_LOCK_TIMEOUT_DEFAULT 10

/* The pinned programs, in the order of struct xs_ctl's fds and ids. */
enum xs_prog {
	XS_PROG_XDP,
	XS_PROG_TC_EGRESS,
	XS_PROG_TC_INGRESS,
	XS_PROG__COUNT,
};

struct xs_ctl {
	char dir[256];	     /* the pin directory */
	int lock_fd;	     /* the locked directory, or -1 */
	struct xs_maps maps; /* opened from DIR/maps */
	int prog_xdp, prog_tc_egress, prog_tc_ingress;
	__u32 prog_id[XS_PROG__COUNT]; /* kernel ids of the pinned programs */
	bool loaded_now;	       /* this invocation loaded the object */
};

/* The pin directory in force: $XDPSEG_PIN_DIR or XS_PIN_DIR. */
const char *xs_pin_dir(void);

/* Route libbpf's log through -v (silent otherwise). Call once, first. */
void xs_libbpf_log_setup(void);

/*
 * Check what every datapath command needs: root and a bpffs under the pin
 * directory's parent. Prints the error (with the fix) and returns < 0.
 */
int xs_ctl_check_env(const char *dir);

/* Initialise `ctl` so that xs_ctl_close() is always safe. */
void xs_ctl_init(struct xs_ctl *ctl);

/*
 * Take the exclusive lock on the pin directory, creating it (mode 0700)
 * when `create` (attach, apply). Without `create`, a missing directory
 * returns -ENOENT silently so callers can say "not attached". Checks the
 * directory first (see above). Waits for another holder at most
 * $XDPSEG_LOCK_TIMEOUT seconds (default XS_LOCK_TIMEOUT_DEFAULT), then
 * fails naming the holder's pid and command line.
 */
int xs_ctl_lock(struct xs_ctl *ctl, bool create);

/*
 * Check the pin directory without locking (see above); a missing one is
 * fine (returns 0). Prints the refusal and returns < 0.
 */
int xs_ctl_trust(const struct xs_ctl *ctl);

/* Release the lock taken by xs_ctl_lock(), keeping the opened fds. */
void xs_ctl_unlock(struct xs_ctl *ctl);

/* Are all the programs pinned (the object is loaded)? */
bool xs_ctl_loaded(const struct xs_ctl *ctl);

/*
 * Make sure the object is loaded and pinned (load it on first use), then
 * open the pinned programs and maps. Precondition: the lock is held.
 */
int xs_ctl_load(struct xs_ctl *ctl);

/*
 * Open the pinned maps (and programs) of a loaded instance without loading.
 * Checks the pin directory first unless the lock is held (it was checked
 * then). Returns -ENOENT (after printing "not loaded") when nothing is
 * loaded.
 */
int xs_ctl_open(struct xs_ctl *ctl);

/* Remove every pin and the directory. Precondition: the lock is held and
 * no interface is attached any more. */
int xs_ctl_unload(struct xs_ctl *ctl);

/* Close fds and release the lock. */
void xs_ctl_close(struct xs_ctl *ctl);

/* Every entry of xs_ifaces, sorted by name (malloc'd array in *out). */
int xs_ifaces_list(const struct xs_maps *m, struct xs_iface **out, size_t *n);

/* "DIR/SUB/NAME" into buf. */
int xs_ctl_path(const struct xs_ctl *ctl, char *buf, size_t size, const char *sub,
		const char *name);

#endif /* XS_LOADER_H */

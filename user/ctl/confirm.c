// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Commit-confirm (confirm.h): the deadline in xs_config, and the rollback
 * the datapath does by itself made explicit.
 *
 * xs_config is written whole (an array map's update copies the value, and
 * a packet may read it half copied), so every change here is a read, a
 * change and an update, of one field at a time where a mix of old and new
 * fields could select the wrong policy set (a rollback). The datapath
 * writes one field of it, rolled_back (an atomic exchange at the first
 * packet past the deadline); an update here that races with it writes what
 * this code decided, which is always the state that follows: a confirm
 * that wins keeps the new policy, a rollback clears the flag anyway.
 */
#include "confirm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "counters.h"
#include "loader.h"
#include "show.h"
#include "state.h"
#include "util.h"

/* The provisional deadline of xs_confirm_prearm(): the window asked for
 * plus this, so that compiling and pushing never eat into it. */
#define PREARM_MARGIN_S 60
/* The artefact file of a state directory (state.c's STATE_FILE). */
#define STATE_FILE "policy.xsc"

uint64_t xs_confirm_clock(const struct xs_config *cfg)
{
	struct timespec ts;

	/* bpf_ktime_get_coarse_ns() is ktime_get_coarse_ns(): this clock */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * XS_NS_PER_SEC + (uint64_t)ts.tv_nsec +
	       (uint64_t)cfg->clock_offset_ns;
}

/* The generation after `cur` that selects set `parity` (never 0: "no policy"). */
static uint32_t gen_after(uint32_t cur, uint32_t parity)
{
	uint32_t n = cur + 1;

	if ((n & 1) != parity)
		n++;
	if (n == 0)
		n = 2;
	return n;
}

/* A datapath clock reading `at` (ns) as wall-clock seconds, `now` being now. */
static time_t wall_of(uint64_t at, uint64_t now)
{
	int64_t d = (int64_t)(at - now);

	return time(NULL) + (d >= 0 ? (d + 500000000) : (d - 500000000)) / (int64_t)XS_NS_PER_SEC;
}

static int config_write(const struct xs_maps *m, const struct xs_config *cfg)
{
	__u32 zero = 0;

	return bpf_map_update_elem(m->config, &zero, cfg, BPF_EXIST) ? -errno : 0;
}

static void state_of(const struct xs_maps *m, const struct xs_config *cfg, struct xs_confirm *c)
{
	uint64_t now = xs_confirm_clock(cfg);

	memset(c, 0, sizeof(*c));
	c->generation = cfg->generation;
	if (cfg->confirm_deadline_ns) {
		c->deadline_ns = cfg->confirm_deadline_ns;
		c->rollback_generation = cfg->rollback_generation;
		c->left_ns = (int64_t)(cfg->confirm_deadline_ns - now);
		c->deadline_at = wall_of(cfg->confirm_deadline_ns, now);
		c->seen = cfg->rolled_back != 0;
		/* the datapath's test: now >= deadline */
		c->state = now >= cfg->confirm_deadline_ns ? XS_CONFIRM_ROLLED_BACK
							   : XS_CONFIRM_PENDING;
		return;
	}
	/* the generation made explicit followed the undone one, with the
	 * other parity (the set gone back to): any push since moved it on */
	if (cfg->generation && cfg->rollback_generation &&
	    gen_after(cfg->rollback_generation, (cfg->rollback_generation & 1) ^ 1) ==
		    cfg->generation) {
		struct xs_policy_meta meta;

		/* a missed confirm made explicit, and no apply since */
		c->undone_generation = cfg->rollback_generation;
		if (xs_meta_get(m, cfg->generation & 1, &meta) == 0)
			c->undone_at = (time_t)meta.applied_at;
	}
}

int xs_confirm_read(const struct xs_maps *m, struct xs_confirm *c)
{
	struct xs_config cfg;
	int err = xs_config_read(m, &cfg);

	if (err) {
		memset(c, 0, sizeof(*c));
		return err;
	}
	state_of(m, &cfg, c);
	return 0;
}

int xs_confirm_pending(const struct xs_maps *m)
{
	struct xs_confirm c;
	int err = xs_confirm_read(m, &c);

	if (err)
		return err;
	return c.state == XS_CONFIRM_PENDING;
}

void xs_generation_file(const struct xs_maps *m, uint32_t generation, char *buf, size_t size)
{
	struct xs_policy_meta meta;

	if (generation && xs_meta_get(m, generation & 1, &meta) == 0 &&
	    meta.generation == generation && meta.file[0])
		snprintf(buf, size, "%.*s", (int)sizeof(meta.file), meta.file);
	else
		snprintf(buf, size, "?");
}

int xs_confirm_refuse(const struct xs_maps *m, const char *what)
{
	char left[32], file[256];
	struct xs_confirm c;

	xs_confirm_read(m, &c);
	xs_format_duration(c.left_ns > 0 ? ((uint64_t)c.left_ns + XS_NS_PER_SEC - 1) / XS_NS_PER_SEC
					 : 0,
			   left, sizeof(left));
	xs_generation_file(m, c.generation, file, sizeof(file));
	p_err("%s refused: a commit-confirm is pending: generation %u (%s) goes back to generation "
	      "%u in %s unless confirmed; run 'xdpseg confirm' to keep it or 'xdpseg rollback' to "
	      "go back now, then %s again",
	      what, c.generation, file, c.rollback_generation, left, what);
	return -EBUSY;
}

int xs_confirm_prearm(const struct xs_maps *m, uint64_t secs, uint32_t *prev)
{
	struct xs_policy_meta meta;
	struct xs_config cfg;
	struct xs_confirm c;
	int err;

	err = xs_config_read(m, &cfg);
	if (err)
		return err;
	state_of(m, &cfg, &c);
	if (c.state != XS_CONFIRM_NONE)
		return xs_confirm_refuse(m, "apply --confirm");
	if (!cfg.generation) {
		p_err("apply --confirm needs a policy in force to go back to, and none is applied: "
		      "apply the first policy without --confirm");
		return -ENOENT;
	}
	/* The set in force must be what its metadata says: it is the way back. */
	if (xs_meta_get(m, cfg.generation & 1, &meta) || meta.generation != cfg.generation) {
		p_err("the policy set of generation %u is not what its metadata says: apply a "
		      "policy without --confirm first",
		      cfg.generation);
		return -ESTALE;
	}
	cfg.confirm_deadline_ns = xs_confirm_clock(&cfg) + (secs + PREARM_MARGIN_S) * XS_NS_PER_SEC;
	cfg.rollback_generation = cfg.generation;
	cfg.rolled_back = 0;
	err = config_write(m, &cfg);
	if (err)
		return err;
	*prev = cfg.generation;
	return 0;
}

void xs_confirm_disarm(const struct xs_maps *m)
{
	struct xs_config cfg;

	if (xs_config_read(m, &cfg))
		return;
	cfg.confirm_deadline_ns = 0; /* first, alone (see xs_confirm_confirm()) */
	if (config_write(m, &cfg))
		return;
	cfg.rollback_generation = 0;
	cfg.rolled_back = 0;
	config_write(m, &cfg);
}

int xs_confirm_arm(const struct xs_maps *m, uint32_t prev, uint64_t secs, struct xs_confirm *c)
{
	struct xs_config cfg;
	int err;

	err = xs_config_read(m, &cfg);
	if (err)
		return err;
	if (cfg.generation == prev || cfg.rollback_generation != prev) {
		p_err("the commit-confirm's state changed under this apply (generation %u, going "
		      "back to %u, expected %u)",
		      cfg.generation, cfg.rollback_generation, prev);
		return -ESTALE;
	}
	cfg.confirm_deadline_ns = xs_confirm_clock(&cfg) + secs * XS_NS_PER_SEC;
	cfg.rollback_generation = prev;
	cfg.rolled_back = 0;
	err = config_write(m, &cfg);
	if (err)
		return err;
	if (c)
		state_of(m, &cfg, c);
	return 0;
}

static const char *state_dir_or_default(const char *dir)
{
	return dir ? dir : xs_state_dir();
}

/* "DIR/confirm" into buf. */
static void confirm_dir(const char *state_dir, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", state_dir_or_default(state_dir), XS_CONFIRM_SUBDIR);
}

const char *xs_confirm_dir(const char *state_dir, char *buf, size_t size)
{
	const char *dir = state_dir_or_default(state_dir);

	/* 0700 whatever the umask (xs_state_save() checks it as it does any) */
	if (mkdir(dir, 0700) == 0)
		chmod(dir, 0700);
	confirm_dir(state_dir, buf, size);
	return buf;
}

int xs_confirm_save(const char *state_dir, const struct xs_compiled *c, const char *file)
{
	char dir[4096];
	int err;

	err = xs_state_save(xs_confirm_dir(state_dir, dir, sizeof(dir)), c, file);
	if (err)
		p_warn("the unconfirmed policy is not saved in %s: 'xdpseg confirm' will keep it "
		       "in force but not make it the last good policy",
		       dir);
	return err;
}

/* The unconfirmed artefact is gone (confirmed or rolled back). */
static void pending_remove(const char *state_dir)
{
	char dir[4096], path[4200];

	confirm_dir(state_dir, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	if (unlink(path) && errno != ENOENT)
		p_warn("cannot remove the unconfirmed policy %s: %s", path, strerror(errno));
}

/*
 * Format the wall-clock time `t` for messages (as status prints times).
 */
static void when(time_t t, char *buf, size_t size)
{
	xs_show_time((uint64_t)t, buf, size);
}

/* The last good policy of the state directory should be the one gone back
 * to (an unconfirmed one is never saved there): say so when it is not. */
static void check_last_good(const char *state_dir, const struct xs_policy_meta *meta)
{
	const char *dir = state_dir_or_default(state_dir);
	struct xs_compiled *c = NULL;
	char *file = NULL;
	int err;

	err = xs_state_load(dir, &c, &file);
	if (err == 0 && !memcmp(c->hash, meta->hash, sizeof(meta->hash))) {
		xs_compiled_free(c);
		free(file);
		return;
	}
	p_warn("the last good policy in %s is not the policy in force now (%s): a reboot would "
	       "enforce %s; apply %s again to save it",
	       dir, err == 0 ? "another one" : "none could be read", err == 0 ? file : "nothing",
	       meta->file);
	xs_compiled_free(c);
	free(file);
}

/*
 * Go back to the set of cfg->rollback_generation, explicitly. `missed`: the
 * deadline passed (the datapath went back at it).
 */
static int do_rollback(const struct xs_maps *m, struct xs_config *cfg, bool missed,
		       const char *state_dir, struct xs_rollback *rb)
{
	uint32_t undone = cfg->generation, back = cfg->rollback_generation, next, set;
	struct xs_policy_meta meta;
	struct xs_iface *ifs = NULL;
	uint64_t now = xs_confirm_clock(cfg);
	size_t nifs = 0;
	int err;

	memset(rb, 0, sizeof(*rb));
	rb->undone = undone;
	rb->restored = back;
	rb->missed = missed;
	rb->at = missed ? wall_of(cfg->confirm_deadline_ns, now) : time(NULL);
	xs_generation_file(m, undone, rb->undone_file, sizeof(rb->undone_file));
	xs_generation_file(m, back, rb->restored_file, sizeof(rb->restored_file));

	if (back == undone) {
		/* an apply --confirm stopped before its push: nothing to undo
		 * (the deadline first, alone, see below) */
		cfg->confirm_deadline_ns = 0;
		err = config_write(m, cfg);
		if (err)
			return err;
		cfg->rollback_generation = 0;
		cfg->rolled_back = 0;
		rb->generation = undone;
		pending_remove(state_dir);
		return config_write(m, cfg);
	}
	set = back & 1;
	if (xs_meta_get(m, set, &meta) || meta.generation != back) {
		p_err("cannot go back to generation %u: its policy set was rewritten since (it "
		      "holds generation %u); apply the policy you want",
		      back, meta.generation);
		return -ESTALE;
	}
	/* The counts the undone policy made go back with the rules both have
	 * (counters.h); a failure costs counts, never the rollback. */
	err = xs_rstats_carry(m, (int)(undone & 1), set, meta.nrules + 1, XS_CARRY_MERGE, NULL);
	if (err)
		p_warn("the rule counters of generation %u are not carried back: %s", undone,
		       strerror(-err));
	next = gen_after(undone, set);
	meta.generation = next;
	meta.applied_at = (__u64)rb->at;
	if (bpf_map_update_elem(m->meta, &set, &meta, BPF_ANY))
		return -errno;

	/*
	 * The old set under a new generation, then no deadline, then the
	 * note of what was undone: one field per update. A packet reads the
	 * configuration while it is copied in, so it may see some fields old
	 * and some new; changing one at a time, each mix selects the old set
	 * (the deadline still set selects it by rollback_generation, the new
	 * generation has its parity) and never the undone one. rolled_back is
	 * set first: the datapath sends its one event no more.
	 */
	cfg->generation = next;
	cfg->rolled_back = 1;
	err = config_write(m, cfg);
	if (!err) {
		cfg->confirm_deadline_ns = 0;
		err = config_write(m, cfg);
	}
	if (!err) {
		cfg->rollback_generation = missed ? undone : 0;
		cfg->rolled_back = 0;
		err = config_write(m, cfg);
	}
	if (err)
		return err;
	rb->generation = next;
	/* When we return, no packet is decided by the undone policy any more. */
	xs_maps_barrier(m);

	/* Interfaces attached while the confirm was pending were bound in the
	 * new set only: bind every recorded one in the set now in force. */
	if (xs_ifaces_list(m, &ifs, &nifs) == 0) {
		for (size_t i = 0; i < nifs; i++)
			xs_iface_bind(m, ifs[i].ifindex, ifs[i].name);
		free(ifs);
	}
	pending_remove(state_dir);
	check_last_good(state_dir, &meta);
	return 0;
}

int xs_confirm_rollback(const struct xs_maps *m, const char *state_dir, struct xs_rollback *rb)
{
	struct xs_config cfg;
	struct xs_confirm c;
	int err;

	err = xs_config_read(m, &cfg);
	if (err)
		return err;
	state_of(m, &cfg, &c);
	if (c.state == XS_CONFIRM_NONE) {
		char at[64];

		if (c.undone_generation) {
			when(c.undone_at, at, sizeof(at));
			p_err("nothing to roll back: generation %u was rolled back already at %s "
			      "(confirm missed); generation %u is in force",
			      c.undone_generation, at, c.generation);
		} else {
			p_err("nothing to roll back: no apply --confirm is pending (generation %u "
			      "is in force)",
			      c.generation);
		}
		return -ENOENT;
	}
	return do_rollback(m, &cfg, c.state == XS_CONFIRM_ROLLED_BACK, state_dir, rb);
}

int xs_confirm_settle(const struct xs_maps *m, const char *state_dir, struct xs_rollback *out)
{
	struct xs_rollback rb;
	struct xs_config cfg;
	struct xs_confirm c;
	char at[64];
	int err;

	err = xs_config_read(m, &cfg);
	if (err)
		return err;
	state_of(m, &cfg, &c);
	if (c.state != XS_CONFIRM_ROLLED_BACK)
		return 0;
	err = do_rollback(m, &cfg, true, state_dir, &rb);
	if (err) {
		p_err("the datapath rolled back to generation %u at its confirm deadline, and "
		      "making it explicit failed: %s",
		      c.rollback_generation, strerror(-err));
		return err;
	}
	when(rb.at, at, sizeof(at));
	if (rb.undone == rb.restored)
		p_warn("an apply --confirm stopped before its push: its deadline (%s) is cleared, "
		       "generation %u stays in force",
		       at, rb.generation);
	else
		p_warn("rolled back at %s (confirm missed): generation %u (%s) was not confirmed "
		       "in time, so the datapath went back to the policy before; it is in force "
		       "as generation %u (%s)",
		       at, rb.undone, rb.undone_file, rb.generation, rb.restored_file);
	if (out)
		*out = rb;
	return 1;
}

int xs_confirm_confirm(const struct xs_maps *m, const char *state_dir, struct xs_confirm *out)
{
	const char *sdir = state_dir_or_default(state_dir);
	struct xs_compiled *comp = NULL;
	struct xs_rollback rb;
	struct xs_config cfg;
	struct xs_confirm c;
	char cdir[4096], at[64], *file = NULL;
	int err;

	err = xs_config_read(m, &cfg);
	if (err)
		return err;
	state_of(m, &cfg, &c);
	if (c.state == XS_CONFIRM_ROLLED_BACK) {
		if (xs_confirm_settle(m, state_dir, &rb) == 1)
			p_err("too late to confirm: the deadline passed and generation %u is "
			      "rolled "
			      "back; apply %s again (with --confirm) to retry",
			      rb.undone, rb.undone_file);
		return -ESTALE;
	}
	if (c.state == XS_CONFIRM_NONE) {
		if (c.undone_generation) {
			when(c.undone_at, at, sizeof(at));
			p_err("nothing to confirm: generation %u was rolled back at %s (confirm "
			      "missed); apply it again (with --confirm) to retry",
			      c.undone_generation, at);
		} else {
			p_err("nothing to confirm: no apply --confirm is pending (generation %u is "
			      "in force)",
			      c.generation);
		}
		return -ENOENT;
	}
	/* The deadline first, alone: a packet that reads the configuration
	 * half copied never sees a deadline without its rollback generation. */
	cfg.confirm_deadline_ns = 0;
	err = config_write(m, &cfg);
	if (err)
		return err;
	cfg.rollback_generation = 0;
	cfg.rolled_back = 0;
	config_write(m, &cfg);
	if (out)
		*out = c;

	/* The unconfirmed policy becomes the last good one. */
	confirm_dir(state_dir, cdir, sizeof(cdir));
	err = xs_state_load(cdir, &comp, &file);
	if (err == 0) {
		if (xs_state_save(sdir, comp, file) == 0)
			pending_remove(state_dir);
	} else {
		p_warn("the confirmed policy's artefact is not in %s: the last good policy in %s "
		       "stays the one before; apply the policy again to save it",
		       cdir, sdir);
	}
	xs_compiled_free(comp);
	free(file);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The datapath as the agent holds it: adopt what is loaded, or load it and
 * apply a policy before any interface is hooked; the policy in force, who
 * applied it, and the configured policy compiled.
 *
 * Which policy a fresh load applies, in order: the configured policy when
 * it compiles (what the admin wrote); else the last good policy of the
 * state directory (said loudly: the file is broken); else a built-in
 * deny-all policy. The datapath with no policy (generation 0) passes every
 * packet, so hooking interfaces without a policy would be falling open;
 * deny-all is failing closed, until a policy applies (reload or `apply`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "agent/agent.h"
#include "agent/log.h"
#include "ctl/confirm.h"
#include "ctl/operate.h"
#include "ctl/push.h"
#include "ctl/show.h"
#include "ctl/state.h"
#include "policy.h"
#include "util.h"

#define BUILTIN_DENY_NAME "(built-in deny-all)"
static const char builtin_deny[] = "segment quarantine 0.0.0.0/0, ::/0\n"
				   "default quarantine in deny out deny\n"
				   "default link-local in deny out deny\n";

/* The built-in policy's only file. */
static int resolve_builtin(void *ctx, const char *from, const char *name, size_t limit,
			   struct xs_file *out)
{
	if (from)
		return -ENOENT;
	out->path = strdup(name);
	out->text = strdup(builtin_deny);
	out->len = strlen(builtin_deny);
	if (!out->path || !out->text) {
		free(out->path);
		free(out->text);
		return -ENOMEM;
	}
	return 0;
}

/* One diagnostic as `xdpseg check` prints its first line (escaped). */
static char *diag_line(const struct xs_diag *g)
{
	struct xs_diag one = *g;
	struct xs_diags d = { .v = &one, .n = 1, .cap = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	one.line_text = NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	xs_diags_print(f, &d, false);
	fclose(f);
	if (buf && len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return buf;
}

/* Log compile diagnostics as `check` prints them; *errline: the first error. */
static void log_diags(const struct xs_diags *diags, char **errline)
{
	for (size_t i = 0; i < diags->n; i++) {
		const struct xs_diag *g = &diags->v[i];
		char *line = diag_line(g);

		if (!line)
			continue;
		agent_log_raw(g->severity == XS_SEV_ERROR ? LOG_ERR : LOG_WARNING, line);
		if (errline && g->severity == XS_SEV_ERROR && !*errline)
			*errline = line;
		else
			free(line);
	}
}

static int compile_with(const char *path, xs_resolve_fn resolve, void *ctx,
			const struct xs_compile_opts *o, struct xs_compiled **out, char **errline)
{
	struct xs_diags diags;
	int err;

	*out = NULL;
	*errline = NULL;
	xs_diags_init(&diags);
	err = xs_policy_compile_opts(path, resolve, ctx, o, out, &diags);
	log_diags(&diags, errline);
	if (err && !*errline &&
	    asprintf(errline, "%s: error: %s", path,
		     err == -EINVAL ? "the policy has errors" : strerror(-err)) < 0)
		*errline = NULL;
	if (err && diags.errors == 0 && *errline)
		agent_log_raw(LOG_ERR, *errline);
	xs_diags_free(&diags);
	return err;
}

/* ---- What every compile of the agent adds: overlays and failsafe ports ---- */

/*
 * The compile options of the agent: the failsafe ports of `cfg`, now and
 * the TAI offset, and overlays (quarantines and grants) that `ov` owns.
 */
struct dp_opts {
	struct xs_compile_opts o;
	struct xs_overlay_in *ov; /* one malloc'd block */
	struct xs_overlay *recs;  /* the artefact's records, copied (text, reason) */
};

static void opts_init(const struct agent_config *cfg, struct dp_opts *d)
{
	memset(d, 0, sizeof(*d));
	d->o.failsafe = cfg->failsafe;
	d->o.nfailsafe = cfg->nfailsafe;
	d->o.now = (uint64_t)time(NULL);
	d->o.tai_offset = xs_tai_offset();
}

static void opts_free(struct dp_opts *d)
{
	free(d->ov);
	free(d->recs);
	d->ov = NULL;
	d->recs = NULL;
}

/* The overlays in force: the active set's (a datapath with a policy). */
static int opts_in_force(const struct xs_ctl *ctl, struct dp_opts *d)
{
	int err = xs_operate_overlays_in_force(&ctl->maps, &d->ov, &d->o.noverlays);

	d->o.overlays = d->ov;
	return err;
}

/*
 * The overlays a compiled artefact carries (the last good policy, at a
 * fresh load: quarantines and grants survive a reboot), but the grants that
 * have ended meanwhile: each one logged, and left out.
 */
static int opts_from_artefact(const struct xs_compiled *c, struct dp_opts *d)
{
	size_t n = 0;
	char until[64];

	d->recs = calloc(c->noverlays + 1, sizeof(*d->recs));
	d->ov = calloc(c->noverlays + 1, sizeof(*d->ov));
	if (!d->recs || !d->ov)
		return -ENOMEM;
	for (size_t i = 0; i < c->noverlays; i++) {
		struct xs_overlay *r = &d->recs[n];

		*r = c->overlays[i].rec;
		r->text[sizeof(r->text) - 1] = '\0';
		r->reason[sizeof(r->reason) - 1] = '\0';
		if (r->kind == XS_OVERLAY_GRANT && r->expires && r->expires <= d->o.now) {
			xs_show_time(r->expires, until, sizeof(until));
			agent_log(LOG_NOTICE,
				  "grant %u ended at %s, while the datapath was down: %s "
				  "(left out)",
				  r->number, until, r->text);
			continue;
		}
		d->ov[n] = xs_overlay_in_of(r);
		n++;
	}
	d->o.overlays = d->ov;
	d->o.noverlays = n;
	return 0;
}

/*
 * The overlays to compile with: the ones in force when a policy is, else
 * the last good policy's (the datapath is not loaded yet, or was unloaded).
 */
static void opts_current(struct agent *a, const struct agent_config *cfg, struct dp_opts *d)
{
	struct xs_compiled *c = NULL;
	struct xs_config kc;
	struct xs_ctl ctl;
	char *file = NULL;

	opts_init(cfg, d);
	if (dp_open(a, &ctl) == 0 && xs_config_read(&ctl.maps, &kc) == 0 && kc.generation) {
		opts_in_force(&ctl, d);
		xs_ctl_close(&ctl);
		return;
	}
	xs_ctl_close(&ctl);
	if (xs_state_load(cfg->state_dir, &c, &file) == 0)
		opts_from_artefact(c, d);
	xs_compiled_free(c);
	free(file);
}

int dp_compile(struct agent *a, const struct agent_config *cfg, const char *path,
	       struct xs_compiled **out, char **errline)
{
	struct dp_opts d;
	int err;

	opts_current(a, cfg, &d);
	err = compile_with(path, xs_resolve_fs, NULL, &d.o, out, errline);
	opts_free(&d);
	return err;
}

void dp_compile_configured(struct agent *a)
{
	struct agent_policy *p = &a->pol;

	xs_compiled_free(p->compiled);
	p->compiled = NULL;
	p->compiled_hash[0] = '\0';
	free(p->file_error);
	p->file_error = NULL;
	if (!a->cfg.policy)
		return;
	if (dp_compile(a, &a->cfg, a->cfg.policy, &p->compiled, &p->file_error) == 0)
		xs_hex(p->compiled->hash, sizeof(p->compiled->hash), p->compiled_hash);
}

static void ctl_setup(struct agent *a, struct xs_ctl *ctl)
{
	xs_ctl_init(ctl);
	snprintf(ctl->dir, sizeof(ctl->dir), "%s", a->cfg.pin_dir);
}

int dp_open(struct agent *a, struct xs_ctl *ctl)
{
	ctl_setup(a, ctl);
	if (!xs_ctl_loaded(ctl))
		return -ENOENT;
	return xs_ctl_open(ctl);
}

/* The policy in force: generation, then its metadata. */
static int read_in_force(const struct xs_ctl *ctl, uint32_t *gen, struct xs_policy_meta *meta)
{
	struct xs_config cfg;
	__u32 set;
	int err;

	memset(meta, 0, sizeof(*meta));
	err = xs_config_read(&ctl->maps, &cfg);
	if (err)
		return err;
	*gen = cfg.generation;
	if (!cfg.generation)
		return 0;
	set = cfg.generation & 1;
	if (bpf_map_lookup_elem(ctl->maps.meta, &set, meta))
		return -errno;
	meta->file[sizeof(meta->file) - 1] = '\0';
	return 0;
}

static void note_in_force(struct agent *a, uint32_t gen, const struct xs_policy_meta *meta,
			  const char *source)
{
	a->pol.generation = gen;
	if (gen) {
		xs_hex(meta->hash, sizeof(meta->hash), a->pol.hash);
		snprintf(a->pol.file, sizeof(a->pol.file), "%s", meta->file);
	} else {
		a->pol.hash[0] = a->pol.file[0] = '\0';
	}
	a->pol.source = source;
}

/* Push `c` (locked), note it; save it as the last good when asked. */
static int push(struct agent *a, struct xs_ctl *ctl, const struct xs_compiled *c, const char *file,
		const char *source, bool save)
{
	struct xs_push_result res;
	int err;

	err = xs_policy_push(&ctl->maps, c, file, &res);
	agent_count_apply(a, err ? XS_APPLY_FAILED : XS_APPLY_APPLIED, 1);
	if (err) {
		agent_log(LOG_ERR,
			  "pushing %s into the maps under %s failed: %s; the active policy is "
			  "unchanged",
			  file, ctl->dir, strerror(-err));
		return err;
	}
	a->pol.generation = res.generation;
	xs_hex(c->hash, sizeof(c->hash), a->pol.hash);
	snprintf(a->pol.file, sizeof(a->pol.file), "%s", file);
	a->pol.source = source;
	agent_log(LOG_NOTICE, "applied %s: generation %u, sha256 %s (%s)", file, res.generation,
		  a->pol.hash, source);
	if (save && xs_state_save(a->cfg.state_dir, c, file) == 0)
		agent_log(LOG_INFO, "saved it as the last good policy in %s", a->cfg.state_dir);
	return 0;
}

/*
 * Nothing applied yet (a fresh load): the configured policy, the last good,
 * or deny-all; each with the failsafe ports, and the first two with the
 * quarantines and grants of the last good policy (those that have not
 * ended): what was in force before the reboot.
 */
static int apply_initial(struct agent *a, struct xs_ctl *ctl)
{
	struct xs_compiled *st = NULL, *c = NULL;
	char *file = NULL, *errline = NULL;
	struct dp_opts d;
	int err, serr;

	opts_init(&a->cfg, &d);
	serr = xs_state_load(a->cfg.state_dir, &st, &file);
	if (serr == 0 && opts_from_artefact(st, &d)) {
		agent_log(LOG_ERR, "out of memory");
		err = -ENOMEM;
		goto out;
	}

	if (a->cfg.policy) {
		err = compile_with(a->cfg.policy, xs_resolve_fs, NULL, &d.o, &c, &errline);
		if (!err) {
			err = push(a, ctl, c, a->cfg.policy, "config", true);
			goto out;
		}
		agent_count_apply(a, XS_APPLY_REJECTED, 1);
		if (!a->pol.file_error)
			a->pol.file_error = errline;
		else
			free(errline);
		errline = NULL;
	}

	if (serr == 0) {
		if (a->pol.file_error)
			agent_log(LOG_CRIT,
				  "the configured policy %s does not compile (%s): enforcing the "
				  "last good policy from %s instead (applied from %s); fix the "
				  "file, then reload",
				  a->cfg.policy, a->pol.file_error, a->cfg.state_dir, file);
		else if (a->cfg.fleet[0])
			agent_log(LOG_NOTICE,
				  "fleet %s: enforcing the last good policy from %s until the "
				  "fleet's arrives",
				  a->cfg.fleet, a->cfg.state_dir);
		else
			agent_log(LOG_WARNING, "no configured policy to apply: enforcing the last "
					       "good policy from the state directory");
		/* Its own sources, compiled again: the ended grants left out, the
		 * failsafe ports of this configuration in. */
		if (st->nsources && compile_with(st->sources[0].path, xs_resolve_sources, st, &d.o,
						 &c, &errline) == 0) {
			err = push(a, ctl, c, file, "state", true);
			goto out;
		}
		free(errline);
		errline = NULL;
		agent_log(LOG_WARNING, "the last good policy is enforced as it was saved");
		err = push(a, ctl, st, file, "state", false);
		goto out;
	}

	if (serr != -ENOENT)
		agent_log(LOG_ERR, "the last good policy in %s cannot be used (see above)",
			  a->cfg.state_dir);

	/* Nothing to enforce: fail closed (but the failsafe ports). */
	d.o.overlays = NULL;
	d.o.noverlays = 0;
	err = compile_with(BUILTIN_DENY_NAME, resolve_builtin, NULL, &d.o, &c, &errline);
	if (err)
		goto out;
	agent_log(LOG_CRIT,
		  "no policy to enforce (%s; no last good policy in %s): every protected "
		  "interface drops every IP packet (a built-in deny-all policy%s) until a policy "
		  "applies: %s",
		  a->pol.file_error ? a->pol.file_error
		  : a->cfg.policy   ? "the configured policy does not compile"
		  : a->cfg.fleet[0] ? "the fleet's policy has not arrived yet"
				    : "no policy configured",
		  a->cfg.state_dir, a->cfg.nfailsafe ? ", but the failsafe ports" : "",
		  a->cfg.fleet[0] ? "the fleet's first policy (xdpseg publish) will"
				  : "fix it, then reload the agent or run 'xdpseg apply FILE'");
	err = push(a, ctl, c, BUILTIN_DENY_NAME, "builtin-deny", false);
out:
	xs_compiled_free(c);
	xs_compiled_free(st);
	free(file);
	free(errline);
	opts_free(&d);
	return err;
}

/*
 * A missed commit-confirm: the datapath went back to the policy before at
 * the deadline by itself; make it explicit (a new generation of the old
 * set, the log says so). Precondition: the lock is held.
 */
static void settle_locked(struct agent *a, struct xs_ctl *ctl)
{
	struct xs_policy_meta meta;
	struct xs_rollback rb;
	uint32_t gen = 0;

	if (xs_confirm_settle(&ctl->maps, a->cfg.state_dir, &rb) != 1)
		return;
	agent_count_apply(a, XS_APPLY_ROLLED_BACK, 1);
	/* xs_confirm_settle() logged the warning (p_warn: the agent's log) */
	if (read_in_force(ctl, &gen, &meta) == 0)
		note_in_force(a, gen, &meta, "rollback");
}

/*
 * The same from the unlocked view of a tick: the lock is taken only when the
 * deadline has passed. Returns true when it made a rollback explicit.
 */
static bool settle_unlocked(struct agent *a, struct xs_ctl *ctl)
{
	uint32_t before = a->pol.generation;
	struct xs_confirm c;

	if (xs_confirm_read(&ctl->maps, &c) || c.state != XS_CONFIRM_ROLLED_BACK)
		return false;
	if (xs_ctl_lock(ctl, false))
		return false;
	settle_locked(a, ctl);
	xs_ctl_unlock(ctl);
	return a->pol.generation != before;
}

int dp_begin(struct agent *a, struct xs_ctl *ctl)
{
	struct xs_policy_meta meta;
	uint32_t gen = 0;
	int err;

	ctl_setup(a, ctl);
	err = xs_ctl_lock(ctl, true);
	if (err)
		return err;
	err = xs_ctl_load(ctl);
	if (!err)
		err = read_in_force(ctl, &gen, &meta);
	if (err)
		goto fail;
	if (ctl->loaded_now)
		agent_log(LOG_NOTICE, "loaded xdpseg (pinned under %s)", ctl->dir);
	else
		settle_locked(a, ctl);
	if (ctl->prog_id[XS_PROG_XDP] != a->xdp_prog_id) {
		/* Loaded anew since the agent last looked: no hook of before counts. */
		a->xdp_prog_id = ctl->prog_id[XS_PROG_XDP];
		agent_links_invalidate(a);
	}
	if (!gen) {
		/* Nothing may be hooked while no policy decides (everything passes). */
		err = apply_initial(a, ctl);
		if (err)
			goto fail;
	}
	return 0;
fail:
	if (ctl->loaded_now) {
		/* Loaded for nothing: leave nothing pinned. */
		xs_maps_close(&ctl->maps);
		xs_ctl_unload(ctl);
	}
	xs_ctl_close(ctl);
	return err;
}

void dp_end(struct xs_ctl *ctl)
{
	xs_ctl_close(ctl);
}

int dp_boot(struct agent *a)
{
	struct xs_policy_meta meta;
	struct xs_ctl ctl;
	uint32_t gen = 0;
	int err;

	dp_compile_configured(a);
	err = dp_open(a, &ctl);
	/* A confirm missed while no agent ran: explicit before anything else. */
	if (!err)
		settle_unlocked(a, &ctl);
	if (!err && read_in_force(&ctl, &gen, &meta) == 0 && gen) {
		/* Loaded and enforcing: adopt it as it is. */
		note_in_force(a, gen, &meta, "adopted");
		a->xdp_prog_id = ctl.prog_id[XS_PROG_XDP];
		xs_ctl_close(&ctl);
		agent_log(LOG_NOTICE,
			  "adopted the loaded datapath under %s: policy generation %u, %s (sha256 "
			  "%s); nothing reloaded",
			  a->cfg.pin_dir, gen, a->pol.file, a->pol.hash);
		if (a->pol.file_error)
			agent_log(LOG_CRIT,
				  "the configured policy %s does not compile (%s): the policy in "
				  "force stays",
				  a->cfg.policy, a->pol.file_error);
		else if (a->pol.compiled && strcmp(a->pol.compiled_hash, a->pol.hash))
			agent_log(
				LOG_WARNING,
				"the configured policy %s (sha256 %s) is not the policy in force: "
				"left as it is at start; a reload (SIGHUP) applies it",
				a->cfg.policy, a->pol.compiled_hash);
		return 0;
	}
	xs_ctl_close(&ctl);
	err = dp_begin(a, &ctl);
	if (err)
		return err;
	a->xdp_prog_id = ctl.prog_id[XS_PROG_XDP];
	dp_end(&ctl);
	return 0;
}

int dp_apply(struct agent *a, const char *file, const char *source)
{
	struct xs_operate op = { 0 };
	struct xs_diags diags;
	struct xs_ctl ctl;
	int err;

	err = dp_begin(a, &ctl);
	if (err) {
		agent_count_apply(a, XS_APPLY_FAILED, 1);
		return err;
	}
	/* THE path of every policy change (ctl/operate.h): the overlays in
	 * force and the failsafe ports; refused while a confirm is pending. */
	xs_diags_init(&diags);
	op.file = file;
	op.state_dir = a->cfg.state_dir;
	op.failsafe = a->cfg.failsafe;
	op.nfailsafe = a->cfg.nfailsafe;
	op.diags = &diags;
	op.what = "reload";
	err = xs_operate_push(&ctl, &op);
	log_diags(&diags, NULL);
	xs_diags_free(&diags);
	agent_count_apply(a, err ? XS_APPLY_FAILED : XS_APPLY_APPLIED, 1);
	if (!err) {
		a->pol.generation = op.res.generation;
		xs_hex(op.comp->hash, sizeof(op.comp->hash), a->pol.hash);
		snprintf(a->pol.file, sizeof(a->pol.file), "%s", file);
		a->pol.source = source;
		agent_log(LOG_NOTICE, "applied %s: generation %u, sha256 %s (%s)", file,
			  op.res.generation, a->pol.hash, source);
		if (op.saved)
			agent_log(LOG_INFO, "saved it as the last good policy in %s",
				  a->cfg.state_dir);
	}
	xs_operate_free(&op);
	dp_end(&ctl);
	return err;
}

int dp_apply_compiled(struct agent *a, const struct xs_compiled *c, const char *file,
		      const char *source, char *why, size_t whylen)
{
	struct xs_compiled *nc = NULL;
	char *errline = NULL;
	struct xs_ctl ctl;
	struct dp_opts d;
	int err;

	why[0] = '\0';
	err = dp_begin(a, &ctl);
	if (err) {
		agent_count_apply(a, XS_APPLY_FAILED, 1);
		snprintf(why, whylen, "cannot load or lock the datapath under %s: %s",
			 a->cfg.pin_dir, strerror(-err));
		return err;
	}
	if (xs_confirm_pending(&ctl.maps) > 0) {
		snprintf(why, whylen,
			 "a commit-confirm is pending ('xdpseg confirm' or 'xdpseg rollback')");
		err = -EBUSY;
		goto out;
	}
	/* The bundle's own sources, compiled again with what is this host's:
	 * the quarantines and grants in force, the failsafe ports. */
	opts_init(&a->cfg, &d);
	err = opts_in_force(&ctl, &d);
	if (!err && c->nsources)
		err = compile_with(c->sources[0].path, xs_resolve_sources, (void *)c, &d.o, &nc,
				   &errline);
	else if (!err && (d.o.noverlays || d.o.nfailsafe))
		err = -ENOTSUP; /* nothing to compile them with */
	opts_free(&d);
	if (err) {
		agent_count_apply(a, XS_APPLY_REJECTED, 1);
		snprintf(why, whylen, "%s",
			 errline	   ? errline
			 : err == -ENOTSUP ? "the bundle carries no sources to compile this host's "
					     "quarantines, grants and failsafe ports with"
					   : strerror(-err));
		goto out;
	}
	err = push(a, &ctl, nc ? nc : c, file, source, true);
	if (err)
		snprintf(why, whylen, "pushing it into the maps failed: %s", strerror(-err));
out:
	free(errline);
	xs_compiled_free(nc);
	dp_end(&ctl);
	return err;
}

/*
 * The grants in force whose end has passed: the datapath closed them by
 * itself at that second (their flows are cut at their next packet, or
 * drain); the log says so once per grant, with its number and statement.
 */
static void note_grant_ends(struct agent *a, const struct xs_ctl *ctl)
{
	struct xs_overlay_in *v = NULL;
	uint64_t now = (uint64_t)time(NULL);
	size_t n = 0, kept = 0;
	char until[64];

	if (xs_operate_overlays_in_force(&ctl->maps, &v, &n))
		return;
	/* forget the ones no longer in force (revoked, or left out by a push) */
	for (size_t i = 0; i < a->nended; i++) {
		bool found = false;

		for (size_t k = 0; k < n && !found; k++)
			found = v[k].kind == XS_OVERLAY_GRANT &&
				v[k].number == a->ended[i].number &&
				v[k].created == a->ended[i].created;
		if (found)
			a->ended[kept++] = a->ended[i];
	}
	a->nended = kept;
	for (size_t k = 0; k < n; k++) {
		struct agent_grant_end *ne;
		bool told = false;

		if (v[k].kind != XS_OVERLAY_GRANT || !v[k].expires || v[k].expires > now)
			continue;
		for (size_t i = 0; i < a->nended && !told; i++)
			told = a->ended[i].number == v[k].number &&
			       a->ended[i].created == v[k].created;
		if (told)
			continue;
		ne = realloc(a->ended, (a->nended + 1) * sizeof(*ne));
		if (!ne)
			break;
		a->ended = ne;
		a->ended[a->nended++] = (struct agent_grant_end){ v[k].number, v[k].created };
		xs_show_time(v[k].expires, until, sizeof(until));
		agent_log(LOG_NOTICE, "grant %u ended at %s: %s%s%s%s", v[k].number, until,
			  v[k].text,
			  v[k].flags & XS_RULEF_DRAIN ? " (--drain: its flows may finish)" : "",
			  v[k].reason[0] ? "; reason: " : "", v[k].reason);
	}
	free(v);
}

/* Another process applied generation `gen`: say so, and when it is an
 * unconfirmed apply --confirm, what it goes back to and when. */
static void note_applied(const struct xs_ctl *ctl, uint32_t gen, const char *file, const char *hash)
{
	char at[64] = "";
	struct xs_confirm c;

	if (xs_confirm_read(&ctl->maps, &c) == 0 && c.state == XS_CONFIRM_PENDING &&
	    c.generation == gen) {
		xs_show_time((uint64_t)c.deadline_at, at, sizeof(at));
		agent_log(LOG_NOTICE,
			  "policy generation %u applied by another process: %s (sha256 %s), "
			  "unconfirmed: goes back to generation %u at %s unless 'xdpseg confirm'",
			  gen, file, hash, c.rollback_generation, at);
		return;
	}
	agent_log(LOG_NOTICE, "policy generation %u applied by another process: %s (sha256 %s)",
		  gen, file, hash);
}

bool dp_poll(struct agent *a)
{
	struct xs_policy_meta meta;
	struct xs_ctl ctl;
	uint32_t gen = 0;
	bool repair = false;
	int err;

	memset(&meta, 0, sizeof(meta));
	err = dp_open(a, &ctl);
	if (err == -ENOENT) {
		/* Once: the next batch loads it again (at once when something is
		 * selected, else at the first selected link that appears). */
		repair = a->pol.generation || a->xdp_prog_id;
		if (repair) {
			agent_log(LOG_WARNING,
				  "xdpseg was unloaded under %s while the agent runs ('xdpseg "
				  "detach --all'?): loading it again (stop the agent first to stop "
				  "enforcing)",
				  a->cfg.pin_dir);
			note_in_force(a, 0, &meta, "none");
			a->xdp_prog_id = 0;
		}
		xs_ctl_close(&ctl);
		return repair;
	}
	if (err) {
		xs_ctl_close(&ctl);
		return false;
	}
	/* A missed confirm the datapath rolled back: explicit within a tick. */
	settle_unlocked(a, &ctl);
	if (read_in_force(&ctl, &gen, &meta)) {
		xs_ctl_close(&ctl);
		return false;
	}
	if (gen)
		note_grant_ends(a, &ctl);
	if (ctl.prog_id[XS_PROG_XDP] != a->xdp_prog_id) {
		if (a->xdp_prog_id)
			agent_log(LOG_WARNING,
				  "xdpseg was reloaded under %s (program ids changed): checking "
				  "every interface",
				  a->cfg.pin_dir);
		a->xdp_prog_id = ctl.prog_id[XS_PROG_XDP];
		agent_links_invalidate(a);
		repair = true;
	}
	if (gen != a->pol.generation) {
		/* every generation another process made (one per push) */
		if (gen)
			agent_count_apply(a, XS_APPLY_EXTERNAL,
					  a->pol.generation && gen > a->pol.generation
						  ? gen - a->pol.generation
						  : 1);
		note_in_force(a, gen, &meta, "cli");
		if (gen)
			note_applied(&ctl, gen, a->pol.file, a->pol.hash);
		else
			repair = true; /* nothing applied: the next batch applies one */
	}
	xs_ctl_close(&ctl);
	return repair;
}

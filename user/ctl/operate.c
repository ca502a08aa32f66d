// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* THE path every policy change takes: compile with the overlays, push, save (operate.h). */
#include "operate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "confirm.h"
#include "state.h"
#include "util.h"

int64_t xs_tai_offset(void)
{
	struct timespec tai, real;
	int64_t ns;

	if (clock_gettime(CLOCK_TAI, &tai) || clock_gettime(CLOCK_REALTIME, &real))
		return 0;
	ns = ((int64_t)tai.tv_sec - (int64_t)real.tv_sec) * 1000000000LL +
	     ((int64_t)tai.tv_nsec - (int64_t)real.tv_nsec);
	/* a whole number of seconds, read a few ns apart: round */
	return ns >= 0 ? (ns + 500000000LL) / 1000000000LL : -((-ns + 500000000LL) / 1000000000LL);
}

uint32_t xs_operate_next_number(const struct xs_overlay_in *v, size_t n)
{
	uint32_t max = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].number > max)
			max = v[i].number;
	return max + 1;
}

static int by_number(const void *a, const void *b)
{
	uint32_t x = ((const struct xs_overlay_in *)a)->number;
	uint32_t y = ((const struct xs_overlay_in *)b)->number;

	return x < y ? -1 : x > y;
}

int xs_operate_overlays_in_force(const struct xs_maps *m, struct xs_overlay_in **out, size_t *n)
{
	struct xs_overlay_key key, cur, *keys = NULL;
	struct xs_overlay_in *v = NULL;
	struct xs_overlay *recs;
	size_t cnt = 0, cap = 0, got = 0;
	struct xs_config cfg;
	bool first = true;
	__u32 set;
	int err;

	*out = NULL;
	*n = 0;
	err = xs_config_read(m, &cfg);
	if (err || !cfg.generation)
		return err;
	set = cfg.generation & 1;
	/* Keys first, then the records. */
	while (bpf_map_get_next_key(m->overlays, first ? NULL : &cur, &key) == 0) {
		first = false;
		cur = key;
		if (key.set != set)
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct xs_overlay_key *nk = realloc(keys, ncap * sizeof(*nk));

			if (!nk) {
				free(keys);
				return -ENOMEM;
			}
			keys = nk;
			cap = ncap;
		}
		keys[cnt++] = key;
	}
	if (!cnt) {
		free(keys);
		return 0;
	}
	/* One block: the array, then the records its strings point into. */
	v = calloc(1, cnt * (sizeof(*v) + sizeof(*recs)));
	if (!v) {
		free(keys);
		return -ENOMEM;
	}
	recs = (struct xs_overlay *)(v + cnt);
	for (size_t i = 0; i < cnt; i++) {
		struct xs_overlay *r = &recs[got];
		bool dup = false;

		if (bpf_map_lookup_elem(m->overlays, &keys[i], r))
			continue; /* gone meanwhile */
		r->text[sizeof(r->text) - 1] = '\0';
		r->reason[sizeof(r->reason) - 1] = '\0';
		for (size_t k = 0; k < got; k++)
			dup = dup || v[k].number == r->number;
		if (dup)
			continue;
		v[got] = xs_overlay_in_of(r);
		got++;
	}
	free(keys);
	/* Sorting moves only the array: the strings stay where they are. */
	qsort(v, got, sizeof(*v), by_number);
	*out = v;
	*n = got;
	return 0;
}

void xs_operate_free(struct xs_operate *op)
{
	xs_compiled_free(op->comp);
	op->comp = NULL;
	free(op->applied_from);
	op->applied_from = NULL;
}

/* The running policy's artefact, checked against the kernel's active hash. */
static int running_base(const struct xs_maps *m, const char *dir, struct xs_compiled **base,
			char **file)
{
	int err = xs_state_load_running(dir, m, base, file);

	if (err)
		return err;
	if (!(*base)->nsources) {
		p_err("the last good policy in %s keeps no policy sources (saved by an older "
		      "xdpseg): apply the policy again ('xdpseg apply FILE'), then try again",
		      dir);
		xs_compiled_free(*base);
		free(*file);
		*base = NULL;
		*file = NULL;
		return -ESTALE;
	}
	return 0;
}

/* Is `file` one of the files `c` was compiled from? */
static bool is_source(const struct xs_compiled *c, const char *file)
{
	for (size_t i = 0; c && file && i < c->nsources; i++)
		if (c->sources[i].path && !strcmp(c->sources[i].path, file))
			return true;
	return false;
}

/*
 * Diagnostics on stderr. Recompiling the running policy (`base`), its own
 * warnings were shown when it was applied: they are not shown again, only
 * errors (with their notes) and what concerns the overlays ("<grant N>",
 * "<quarantine N>") or the configuration's failsafe ports.
 */
static void print_diags(const struct xs_diags *d, const struct xs_compiled *base)
{
	struct xs_diags some = *d;
	bool kept = false;

	if (base && d->n) {
		some.v = calloc(d->n, sizeof(*some.v));
		if (!some.v) {
			xs_diags_print(stderr, d, isatty(STDERR_FILENO));
			return;
		}
		some.n = 0;
		for (size_t i = 0; i < d->n; i++) {
			const struct xs_diag *g = &d->v[i];

			kept = g->severity == XS_SEV_ERROR || !is_source(base, g->file) ||
			       (g->severity == XS_SEV_NOTE && kept);
			if (kept)
				some.v[some.n++] = *g;
		}
	}
	xs_diags_print(stderr, &some, isatty(STDERR_FILENO));
	if (some.v != d->v)
		free(some.v);
}

int xs_operate_push(struct xs_ctl *ctl, struct xs_operate *op)
{
	const char *dir = op->state_dir ? op->state_dir : xs_state_dir();
	struct xs_overlay_in *inforce = NULL;
	struct xs_compiled *base = NULL;
	struct xs_diags local, *diags = op->diags ? op->diags : &local;
	struct xs_compile_opts o = { 0 };
	const char *path, *what;
	char *basefile = NULL;
	size_t ninforce = 0, before;
	xs_resolve_fn resolve;
	void *rctx;
	int err;

	op->comp = NULL;
	op->applied_from = NULL;
	op->nerrors = 0;
	op->saved = false;
	memset(&op->res, 0, sizeof(op->res));
	xs_diags_init(&local);

	/* A rollback the datapath did is made explicit first: a push must
	 * never rewrite the set it went back to. */
	err = xs_confirm_settle(&ctl->maps, dir, NULL);
	if (err < 0)
		return err;
	if (!op->allow_pending) {
		err = xs_confirm_pending(&ctl->maps);
		if (err < 0) {
			p_err("cannot read the datapath's configuration under %s: %s", ctl->dir,
			      strerror(-err));
			return err;
		}
		if (err)
			return xs_confirm_refuse(&ctl->maps,
						 op->what ? op->what : "a policy change");
	}

	if (op->set_overlays) {
		o.overlays = op->overlays;
		o.noverlays = op->noverlays;
	} else {
		err = xs_operate_overlays_in_force(&ctl->maps, &inforce, &ninforce);
		if (err) {
			p_err("cannot read the overlays in force under %s: %s; nothing changed",
			      ctl->dir, strerror(-err));
			return err;
		}
		o.overlays = inforce;
		o.noverlays = ninforce;
	}
	o.failsafe = op->failsafe;
	o.nfailsafe = op->nfailsafe;
	o.now = (uint64_t)time(NULL);
	o.tai_offset = xs_tai_offset();

	if (op->file) {
		char *abs = realpath(op->file, NULL);

		path = op->file;
		resolve = xs_resolve_fs;
		rctx = (void *)op->search;
		op->applied_from = abs ? abs : strdup(op->file);
		what = op->file;
	} else {
		err = running_base(&ctl->maps, dir, &base, &basefile);
		if (err)
			goto out;
		path = base->sources[0].path;
		resolve = xs_resolve_sources;
		rctx = base;
		op->applied_from = basefile;
		basefile = NULL;
		what = op->applied_from;
	}
	if (!op->applied_from) {
		err = -ENOMEM;
		p_err("out of memory");
		goto out;
	}

	before = diags->errors;
	err = xs_policy_compile_opts(path, resolve, rctx, &o, &op->comp, diags);
	op->nerrors = diags->errors - before;
	if (!op->diags)
		print_diags(&local, base);
	if (err) {
		op->comp = NULL;
		if (op->nerrors)
			p_err("%s%s: %zu error%s: nothing %s, the active policy is unchanged",
			      op->file ? "" : "the running policy, applied from ", what,
			      op->nerrors, op->nerrors == 1 ? "" : "s",
			      op->dry_run ? "checked" : "applied");
		else
			p_err("%s: %s: nothing applied, the active policy is unchanged", what,
			      strerror(-err));
		goto out;
	}
	if (op->dry_run)
		goto out;

	err = xs_policy_push(&ctl->maps, op->comp, op->file ? op->file : op->applied_from,
			     &op->res);
	if (err) {
		p_err("pushing %s into the maps under %s failed: %s; the active policy is "
		      "unchanged",
		      what, ctl->dir, strerror(-err));
		goto out;
	}
	/* Pushed: the kernel enforces it whatever the save does (a warning). */
	op->saved =
		xs_state_save(op->save_dir ? op->save_dir : dir, op->comp, op->applied_from) == 0;
out:
	xs_diags_free(&local);
	xs_compiled_free(base);
	free(basefile);
	free(inforce);
	return err;
}

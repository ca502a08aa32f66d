// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg quarantine / release / grant / revoke: runtime overlays of the
 * running policy. Each builds the new list of overlays from the one in
 * force (the kernel's xs_overlays) and pushes the running policy's own
 * sources with it (ctl/operate.h): one atomic generation flip, the state
 * artefact saved, nothing changed on any error.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/config.h"
#include "cmds.h"
#include "ctl/confirm.h"
#include "ctl/loader.h"
#include "ctl/operate.h"
#include "ctl/overlay.h"
#include "ctl/show.h"
#include "json.h"
#include "util.h"

/* What every overlay command holds while it works. */
struct session {
	struct agent_config cfg;
	bool have_cfg;
	struct xs_ctl ctl;
	struct xs_overlay_list list; /* the overlays in force, then the new list */
};

int xs_cli_config(struct agent_config *c)
{
	struct agent_config_errors errs = { 0 };
	const char *file = agent_config_path();
	int err;

	err = agent_config_read_optional(file, c, &errs);
	if (err) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		agent_config_errors_free(&errs);
		p_err("the configuration %s has errors (above): nothing changed; fix it (or point "
		      "XDPSEG_CONFIG elsewhere) and try again",
		      file);
		return -EINVAL;
	}
	return 0;
}

/* The configuration (grant-max, grant-reason, failsafe, state-dir). */
static int read_config(struct session *s)
{
	int err = xs_cli_config(&s->cfg);

	s->have_cfg = !err;
	return err;
}

/* Lock the pinned state, settle a rollback the datapath did, refuse while a
 * commit-confirm is pending, read the overlays in force. */
static int session_open(struct session *s, const char *what)
{
	struct xs_overlay_in *v = NULL;
	size_t n = 0;
	int err;

	memset(s, 0, sizeof(*s));
	xs_ctl_init(&s->ctl);
	err = read_config(s);
	if (err)
		return err;
	xs_libbpf_log_setup();
	if (xs_ctl_check_env(s->ctl.dir))
		return -EPERM;
	err = xs_ctl_lock(&s->ctl, false);
	if (err == -ENOENT)
		p_err("xdpseg is not loaded (nothing pinned under %s): apply a policy first "
		      "('xdpseg apply FILE')",
		      s->ctl.dir);
	if (err)
		return err;
	err = xs_ctl_open(&s->ctl);
	if (err)
		return err;
	err = xs_confirm_settle(&s->ctl.maps, s->cfg.state_dir, NULL);
	if (err < 0)
		return err;
	err = xs_confirm_pending(&s->ctl.maps);
	if (err > 0)
		return xs_confirm_refuse(&s->ctl.maps, what);
	if (!err)
		err = xs_operate_overlays_in_force(&s->ctl.maps, &v, &n);
	if (err) {
		p_err("cannot read the pinned maps under %s: %s", s->ctl.dir, strerror(-err));
		return err;
	}
	for (size_t i = 0; !err && i < n; i++)
		err = xs_overlay_list_add(&s->list, &v[i]);
	free(v);
	if (err)
		p_err("out of memory");
	return err;
}

/* Push the running policy with the new list of overlays. */
static int session_push(struct session *s, const char *what, struct xs_push_result *res)
{
	struct xs_operate op = {
		.file = NULL,
		.state_dir = s->cfg.state_dir,
		.set_overlays = true,
		.overlays = s->list.v,
		.noverlays = s->list.n,
		.failsafe = s->cfg.failsafe,
		.nfailsafe = s->cfg.nfailsafe,
		.what = what,
	};
	int err = xs_operate_push(&s->ctl, &op);

	if (!err)
		*res = op.res;
	xs_operate_free(&op);
	return err;
}

static void session_close(struct session *s)
{
	xs_overlay_list_free(&s->list);
	xs_ctl_close(&s->ctl);
	if (s->have_cfg)
		agent_config_free(&s->cfg);
}

/* --reason TEXT: printable, short enough for the kernel's record. */
static int check_reason(const char *cmd, const char *reason)
{
	if (strlen(reason) >= XS_OVERLAY_REASON_LEN)
		return p_usage(cmd, "--reason is %zu bytes: at most %d", strlen(reason),
			       XS_OVERLAY_REASON_LEN - 1);
	for (const char *p = reason; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return p_usage(cmd, "--reason holds a control character (0x%02x)",
				       (unsigned char)*p);
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* A number argument (release N, revoke N), 1..UINT32_MAX. */
static bool parse_number(const char *s, uint32_t *n)
{
	unsigned long v;
	char *end;

	if (!all_digits(s) || strlen(s) > 10)
		return false;
	v = strtoul(s, &end, 10);
	if (*end || !v || v > UINT32_MAX)
		return false;
	*n = (uint32_t)v;
	return true;
}

/* One line (or one JSON object) for an overlay a command made or changed. */
static void print_done(const char *verb, const struct xs_overlay_in *o,
		       const struct xs_push_result *res)
{
	char until[64], dur[32];
	time_t now = time(NULL);

	if (xs_json) {
		printf("{\"%s\":%u,\"generation\":%u,\"statement\":", verb, o->number,
		       res->generation);
		json_print_str(stdout, o->text);
		printf(",\"reason\":");
		json_print_str(stdout, o->reason);
		if (o->kind == XS_OVERLAY_GRANT)
			printf(",\"expires\":%llu,\"drain\":%s", (unsigned long long)o->expires,
			       o->flags & XS_RULEF_DRAIN ? "true" : "false");
		printf("}\n");
		return;
	}
	if (o->kind == XS_OVERLAY_GRANT) {
		xs_show_time(o->expires, until, sizeof(until));
		xs_format_duration(o->expires > (uint64_t)now ? o->expires - (uint64_t)now : 0, dur,
				   sizeof(dur));
		printf("grant %u in force until %s (%s%s), generation %u: %s\n", o->number, until,
		       dur, o->flags & XS_RULEF_DRAIN ? ", --drain" : "", res->generation, o->text);
	} else {
		printf("quarantine %u in force, generation %u: %s\n", o->number, res->generation,
		       o->text);
	}
}

/* ---- quarantine ----------------------------------------------------------- */

static const char quarantine_help[] =
	"Usage: xdpseg quarantine ADDR|SEGMENT... [--strict] [--forensic SEG[:SERVICES]]...\n"
	"                         [--reason TEXT] [--json]\n\n"
	"Quarantine addresses, prefixes or whole segments: nothing reaches them and\n"
	"they reach nothing (ARP and neighbour discovery excepted), whatever the rules,\n"
	"defaults, monitor modes, grants and failsafe ports say, established\n"
	"connections included (cut at their next packet). Only forensic access passes:\n"
	"by default the policy's own (`quarantine forensic SEG : SERVICES`), or the\n"
	"segments named with --forensic, or none with --strict. An address becomes a\n"
	"derived segment PARENT[ADDR] with its parent's rules for when it is released.\n"
	"The quarantine survives `apply` of a new policy (which must still hold it) and\n"
	"is listed by `status`. Prints its number, for `xdpseg release N`.\n\n"
	"  -s, --strict                 let nothing in, not even forensic tools\n"
	"  -f, --forensic SEG[:SVC,..]  only SEG (on those services) may reach it;\n"
	"                               repeatable; SEG may be a list (a,b)\n"
	"  -r, --reason TEXT            why (listed by status, in the kernel's record)\n"
	"  -j, --json                   print the result as one JSON object\n"
	"  -h, --help                   this help\n\n"
	"Refused while a commit-confirm is pending (xdpseg confirm / xdpseg rollback).\n";

int cmd_quarantine(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "strict", no_argument, NULL, 's' },
		{ "forensic", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char **forensic = NULL;
	const char *reason = "";
	struct xs_push_result res;
	struct session s;
	struct xs_overlay_in o = { 0 };
	size_t nforensic = 0;
	char *text = NULL, why[512], **nt = NULL, *mode = NULL;
	size_t nnt = 0;
	bool strict = false, opened = false;
	int c, err, ret = XS_EXIT_FAIL;

	forensic = calloc((size_t)argc + 1, sizeof(*forensic));
	if (!forensic)
		return XS_EXIT_FAIL;
	while ((c = getopt_long(argc, argv, "sf:r:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			strict = true;
			break;
		case 'f':
			forensic[nforensic++] = optarg;
			break;
		case 'r':
			reason = optarg;
			break;
		case 'j':
			xs_json = true;
			break;
		case 'h':
			fputs(quarantine_help, stdout);
			ret = XS_EXIT_OK;
			goto out;
		default:
			ret = p_usage("quarantine", "bad option");
			goto out;
		}
	}
	if (optind >= argc) {
		ret = p_usage("quarantine", "name what to quarantine (addresses or segments)");
		goto out;
	}
	if (check_reason("quarantine", reason)) {
		ret = XS_EXIT_USAGE;
		goto out;
	}
	err = xs_overlay_quarantine_text((const char *const *)argv + optind,
					 (size_t)(argc - optind), strict, forensic, nforensic,
					 &text, why, sizeof(why));
	if (err == -ENOMEM) {
		p_err("out of memory");
		goto out;
	}
	if (err) {
		ret = p_usage("quarantine", "%s", why);
		goto out;
	}
	opened = true;
	if (session_open(&s, "quarantine"))
		goto out;
	/* A target quarantined already: say where, change nothing. */
	if (xs_overlay_quarantine_parts(text, &nt, &nnt, &mode)) {
		p_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < s.list.n; i++) {
		char **ot = NULL, *om = NULL;
		size_t non = 0;

		if (s.list.v[i].kind != XS_OVERLAY_QUARANTINE ||
		    xs_overlay_quarantine_parts(s.list.v[i].text, &ot, &non, &om))
			continue;
		for (size_t a = 0; a < nnt; a++) {
			for (size_t b = 0; b < non; b++) {
				if (!xs_overlay_target_eq(nt[a], ot[b]))
					continue;
				p_err("%s is quarantined already (quarantine %u: %s): release it "
				      "first to change how; nothing changed",
				      nt[a], s.list.v[i].number, s.list.v[i].text);
				xs_overlay_strv_free(ot, non);
				free(om);
				goto out;
			}
		}
		xs_overlay_strv_free(ot, non);
		free(om);
	}
	o = (struct xs_overlay_in){
		.number = xs_operate_next_number(s.list.v, s.list.n),
		.kind = XS_OVERLAY_QUARANTINE,
		.uid = (uint32_t)getuid(),
		.created = (uint64_t)time(NULL),
		.text = text,
		.reason = reason,
	};
	if (xs_overlay_list_add(&s.list, &o)) {
		p_err("out of memory");
		goto out;
	}
	if (session_push(&s, "quarantine", &res))
		goto out;
	print_done("quarantine", &o, &res);
	ret = XS_EXIT_OK;
out:
	if (opened)
		session_close(&s);
	xs_overlay_strv_free(nt, nnt);
	free(mode);
	free(text);
	free(forensic);
	return ret;
}

/* ---- release -------------------------------------------------------------- */

static const char release_help[] =
	"Usage: xdpseg release N|TARGET... [--json]\n\n"
	"End quarantines: by number (as `quarantine` printed it and `status` lists\n"
	"it), or by target (an address, prefix or segment as it was quarantined): a\n"
	"quarantine of several targets keeps the others. Traffic is decided by the\n"
	"policy again at once, established connections included. All or nothing: a\n"
	"number or target that is not quarantined changes nothing.\n\n"
	"  -j, --json   print the result as one JSON object\n"
	"  -h, --help   this help\n";

/* ---- revoke --------------------------------------------------------------- */

static const char revoke_help[] =
	"Usage: xdpseg revoke N... [--json]\n\n"
	"End grants now, by number (as `grant` printed it and `status` lists it). New\n"
	"connections of the grant are decided by the policy again; established ones\n"
	"are cut at their next packet unless the policy allows them.\n\n"
	"  -j, --json   print the result as one JSON object\n"
	"  -h, --help   this help\n";

/* release and revoke: remove overlays of `kind` named by number (or, for
 * release, by target). */
static int remove_overlays(int argc, char **argv, const char *cmd, const char *help, uint8_t kind)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *noun = kind == XS_OVERLAY_GRANT ? "grant" : "quarantine";
	struct xs_push_result res;
	struct session s;
	int c, ret = XS_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			xs_json = true;
			break;
		case 'h':
			fputs(help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage(cmd, "bad option");
		}
	}
	if (optind >= argc)
		return p_usage(cmd, kind == XS_OVERLAY_GRANT
					    ? "name the grant to revoke by its number"
					    : "name the quarantine to release: its number or its "
					      "target");
	for (int i = optind; i < argc; i++) {
		uint32_t n;

		if (kind == XS_OVERLAY_GRANT && !parse_number(argv[i], &n))
			return p_usage(cmd, "'%s' is not a grant's number", argv[i]);
	}
	if (session_open(&s, cmd))
		goto out;
	for (int i = optind; i < argc; i++) {
		uint32_t n;
		ssize_t at;

		if (!parse_number(argv[i], &n)) {
			size_t released = 0;

			if (xs_overlay_release_target(&s.list, argv[i], &released)) {
				p_err("out of memory");
				goto out;
			}
			if (!released) {
				p_err("%s is not quarantined ('xdpseg status' lists the "
				      "quarantines); nothing changed",
				      argv[i]);
				goto out;
			}
			continue;
		}
		at = xs_overlay_list_find(&s.list, n);
		if (at < 0) {
			p_err("there is no %s %u ('xdpseg status' lists them); nothing changed",
			      noun, n);
			goto out;
		}
		if (s.list.v[at].kind != kind) {
			p_err("%u is a %s, not a %s: %s it with 'xdpseg %s %u'; nothing changed", n,
			      kind == XS_OVERLAY_GRANT ? "quarantine" : "grant", noun,
			      kind == XS_OVERLAY_GRANT ? "release" : "revoke",
			      kind == XS_OVERLAY_GRANT ? "release" : "revoke", n);
			goto out;
		}
		xs_overlay_list_del(&s.list, (size_t)at);
	}
	if (session_push(&s, cmd, &res))
		goto out;
	if (xs_json) {
		printf("{\"%s\":[", kind == XS_OVERLAY_GRANT ? "revoked" : "released");
		for (int i = optind; i < argc; i++) {
			printf("%s", i > optind ? "," : "");
			json_print_str(stdout, argv[i]);
		}
		printf("],\"generation\":%u}\n", res.generation);
	} else {
		printf("%s", kind == XS_OVERLAY_GRANT ? "revoked grant" : "released");
		for (int i = optind; i < argc; i++)
			printf("%s %s", i > optind ? "," : "", argv[i]);
		printf(", generation %u\n", res.generation);
	}
	ret = XS_EXIT_OK;
out:
	session_close(&s);
	return ret;
}

int cmd_release(int argc, char **argv)
{
	return remove_overlays(argc, argv, "release", release_help, XS_OVERLAY_QUARANTINE);
}

int cmd_revoke(int argc, char **argv)
{
	return remove_overlays(argc, argv, "revoke", revoke_help, XS_OVERLAY_GRANT);
}

/* ---- grant ---------------------------------------------------------------- */

static const char grant_help[] =
	"Usage: xdpseg grant SRC -> DST : SERVICES --for DURATION | --until TIME\n"
	"                    [--drain] [--reason TEXT] [--json]\n\n"
	"Open access that closes by itself: from SRC to DST (segments, addresses or\n"
	"prefixes; lists as a, b) on SERVICES, outranking deny rules and defaults (not\n"
	"a quarantine), until the end. The end lives in the kernel's rule entry: the\n"
	"grant closes at its time with no xdpseg process running; connections it let\n"
	"in are cut at their next packet then (with --drain they may finish). Every\n"
	"use and the expiry are events (reasons grant, grant-expired). The grant\n"
	"survives `apply` of a new policy (which must still hold its segments and\n"
	"services) and is listed by `status` with the time left. Prints its number,\n"
	"for `xdpseg revoke N`. Quote the statement or not: its words are joined.\n\n"
	"  --for DURATION   how long: 90s, 15m, 8h, 1d (at most grant-max, default 24h)\n"
	"  --until TIME     until 'YYYY-MM-DD HH:MM[:SS]' (local time) or unix seconds\n"
	"  --drain          connections it let in may finish after the end\n"
	"  --reason TEXT    why (required when the configuration says grant-reason =\n"
	"                   required)\n"
	"  -j, --json       print the result as one JSON object\n"
	"  -h, --help       this help\n\n"
	"Configuration (" AGENT_CONFIG_FILE ", or $XDPSEG_CONFIG): grant-max = DURATION,\n"
	"grant-reason = required|optional. Refused while a commit-confirm is pending.\n";

/* The value of option `name` at argv[*i] ("--for X" or "--for=X"); NULL
 * when argv[*i] is not that option. Exits through *bad when its value is
 * missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *bad)
{
	size_t len = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, len))
		return NULL;
	if (a[len] == '=')
		return a + len + 1;
	if (a[len])
		return NULL;
	if (*i + 1 >= argc) {
		*bad = true;
		return NULL;
	}
	return argv[++*i];
}

/* "YYYY-MM-DD" alone, and "HH:MM[:SS]": --until's two halves as two words. */
static bool is_date(const char *s)
{
	return strlen(s) == 10 && isdigit((unsigned char)s[0]) && s[4] == '-' && s[7] == '-' &&
	       strspn(s, "0123456789-") == 10;
}

static bool is_clock(const char *s)
{
	size_t n = strlen(s);

	return (n == 5 || n == 8) && strspn(s, "0123456789:") == n && s[2] == ':' &&
	       (n == 5 || s[5] == ':');
}

int cmd_grant(int argc, char **argv)
{
	const char *dur = NULL, *until = NULL, *reason = NULL, **words;
	struct xs_push_result res;
	struct xs_overlay_in o = { 0 };
	struct session s;
	size_t nwords = 0;
	uint64_t now, expires;
	char *text = NULL, why[512], until_buf[64];
	bool drain = false, opened = false;
	int err, ret = XS_EXIT_FAIL;

	words = calloc((size_t)argc + 1, sizeof(*words));
	if (!words)
		return XS_EXIT_FAIL;
	/* By hand: `->` is a word here, not an option. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		bool bad = false;

		if (!strcmp(a, "--")) {
			while (++i < argc)
				words[nwords++] = argv[i];
			break;
		}
		if ((v = opt_value(argc, argv, &i, "--for", &bad))) {
			dur = v;
		} else if ((v = opt_value(argc, argv, &i, "--until", &bad))) {
			until = v;
			/* --until 2026-11-25 18:00 (unquoted): the time is the next word */
			if (is_date(v) && i + 1 < argc && is_clock(argv[i + 1])) {
				snprintf(until_buf, sizeof(until_buf), "%s %s", v, argv[++i]);
				until = until_buf;
			}
		} else if ((v = opt_value(argc, argv, &i, "--reason", &bad)) ||
			   (v = opt_value(argc, argv, &i, "-r", &bad))) {
			reason = v;
		} else if (bad) {
			ret = p_usage("grant", "option '%s' needs a value", a);
			goto out;
		} else if (!strcmp(a, "--drain")) {
			drain = true;
		} else if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			xs_json = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(grant_help, stdout);
			ret = XS_EXIT_OK;
			goto out;
		} else if (a[0] == '-' && a[1] && strncmp(a, "->", 2)) {
			ret = p_usage("grant", "unknown option '%s'", a);
			goto out;
		} else {
			words[nwords++] = a;
		}
	}
	if (reason && check_reason("grant", reason)) {
		ret = XS_EXIT_USAGE;
		goto out;
	}
	err = xs_overlay_grant_text(words, nwords, &text, why, sizeof(why));
	if (err == -ENOMEM) {
		p_err("out of memory");
		goto out;
	}
	if (err) {
		ret = p_usage("grant", "%s", why);
		goto out;
	}
	opened = true;
	if (session_open(&s, "grant"))
		goto out;
	if (s.cfg.grant_reason_required && (!reason || !*reason)) {
		p_err("a grant needs a reason here (grant-reason = required in %s): add --reason "
		      "TEXT; nothing changed",
		      s.cfg.file);
		goto out;
	}
	now = (uint64_t)time(NULL);
	if (xs_grant_expiry(dur, until, now, s.cfg.grant_max, s.cfg.file, &expires, why,
			    sizeof(why))) {
		p_err("%s; nothing changed", why);
		goto out;
	}
	o = (struct xs_overlay_in){
		.number = xs_operate_next_number(s.list.v, s.list.n),
		.kind = XS_OVERLAY_GRANT,
		.flags = drain ? XS_RULEF_DRAIN : 0,
		.uid = (uint32_t)getuid(),
		.created = now,
		.expires = expires,
		.text = text,
		.reason = reason ? reason : "",
	};
	if (xs_overlay_list_add(&s.list, &o)) {
		p_err("out of memory");
		goto out;
	}
	if (session_push(&s, "grant", &res))
		goto out;
	print_done("grant", &o, &res);
	ret = XS_EXIT_OK;
out:
	if (opened)
		session_close(&s);
	free(text);
	free(words);
	return ret;
}

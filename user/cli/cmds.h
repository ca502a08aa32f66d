/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every `xdpseg` subcommand: argv[0] is the command's name; returns an exit code. */
#ifndef XS_CMDS_H
#define XS_CMDS_H

#include <stddef.h>
#include <stdint.h>

struct xs_compiled;

int cmd_check(int argc, char **argv);	/* cmd_policy.c */
int cmd_compile(int argc, char **argv); /* cmd_policy.c */
int cmd_attach(int argc, char **argv);	/* ctl/ */
int cmd_detach(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_confirm(int argc, char **argv);	   /* cmd_confirm.c */
int cmd_rollback(int argc, char **argv);   /* cmd_confirm.c */
int cmd_quarantine(int argc, char **argv); /* cmd_overlay.c */
int cmd_release(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_metrics(int argc, char **argv); /* cmd_metrics.c */
int cmd_watch(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_show(int argc, char **argv);	/* cmd_show.c */
int cmd_verify(int argc, char **argv);	/* cmd_verify.c */
int cmd_diff(int argc, char **argv);	/* cmd_diff.c */
int cmd_map(int argc, char **argv);	/* cmd_map.c */
int cmd_suggest(int argc, char **argv); /* cmd_suggest.c */
int cmd_replay(int argc, char **argv);	/* cmd_replay.c */
int cmd_agent(int argc, char **argv);	/* agent/ */
int cmd_publish(int argc, char **argv); /* cmd_publish.c */
int cmd_fleet(int argc, char **argv);	/* cmd_fleet.c */

/*
 * Compile a policy file for a command: diagnostics go to stderr (with the
 * file's own error when it has none, e.g. unreadable). Returns 0 and *out,
 * or a negative errno; *nerrors (if not NULL) counts the errors printed.
 * Includes are looked for in the -I folders given (xs_cli_include_dir()).
 */
int xs_cli_compile(const char *file, struct xs_compiled **out, size_t *nerrors);

/*
 * `-I DIR` / `--include-dir DIR`, for every command that compiles a policy
 * file: add XS_CLI_OPT_INCLUDE to its options, "I:" to its short ones,
 * XS_CLI_HELP_INCLUDE to its help, and call xs_cli_include_dir(optarg) for
 * 'I'. The folders are searched in the order given, after the including
 * file's folder and before the installed presets (policies/README.md,
 * `include`). xs_cli_include_ctx() is the resolver context they make
 * (for xs_resolve_fs()).
 */
#define XS_CLI_OPT_INCLUDE                                  \
	{                                                   \
		"include-dir", required_argument, NULL, 'I' \
	}
#define XS_CLI_HELP_INCLUDE                                                                     \
	"  -I, --include-dir DIR   look for included files in DIR too (repeatable, in order:\n" \
	"                          after the including file's folder, before the presets)\n"
int xs_cli_include_dir(const char *dir);
struct xs_resolve_fs_ctx *xs_cli_include_ctx(void);

/*
 * The configuration as every policy change reads it (cmd_overlay.c):
 * $XDPSEG_CONFIG or /etc/xdpseg/xdpseg.conf, every default when it does
 * not exist: the failsafe ports (struct xs_operate's failsafe), grant-max,
 * grant-reason, state-dir. A file with an error is printed line by line
 * and refused (-EINVAL): the failsafe ports it holds must not be lost.
 * agent_config_free() it.
 */
struct agent_config;
int xs_cli_config(struct agent_config *c);

/* apply --dry-run FILE [--limit N]: what the apply would change and cut,
 * changing nothing (dry_run.c). `limit`: NULL (10), a number, or "all". */
int xs_cli_apply_dry_run(const char *file, const char *limit);

/* Open the pinned maps to read them (no lock: nothing is changed), as
 * status and stats do; prints why not. 0 or a negative errno. */
struct xs_ctl;
int xs_cli_open_readonly(struct xs_ctl *ctl);

/* Parse a command's only options, [--json] [--help] (main.c). Returns -1
 * to go on, else the exit code (help printed, or a usage error). */
int xs_cli_json_opts(int argc, char **argv, const char *cmd, const char *help);

/*
 * The options of the commands that talk to the fleet's etcd (publish,
 * fleet; cmd_fleet.c): add XS_CLI_OPTS_ETCD to the options,
 * XS_CLI_HELP_ETCD to the help, hand every option the command does not
 * know to xs_cli_etcd_opt() (0: taken), then xs_cli_etcd_open(): the
 * defaults (--etcd: $XDPSEG_ETCD, then the configuration; --fleet:
 * $XDPSEG_FLEET, then the configuration, then "default"), the secrets read,
 * the client made. It returns -1 to go on, else the exit code (the error
 * printed). xs_cli_etcd_free() in every case.
 */
enum {
	XS_CLI_OPT_ETCD = 0x100,
	XS_CLI_OPT_FLEET,
	XS_CLI_OPT_USER,
	XS_CLI_OPT_PASSWORD_FILE,
	XS_CLI_OPT_TOKEN_FILE,
};
#define XS_CLI_OPTS_ETCD                                                                \
	{ "etcd", required_argument, NULL, XS_CLI_OPT_ETCD },                           \
		{ "fleet", required_argument, NULL, XS_CLI_OPT_FLEET },                 \
		{ "user", required_argument, NULL, XS_CLI_OPT_USER },                   \
		{ "password-file", required_argument, NULL, XS_CLI_OPT_PASSWORD_FILE }, \
	{                                                                               \
		"token-file", required_argument, NULL, XS_CLI_OPT_TOKEN_FILE            \
	}
#define XS_CLI_HELP_ETCD                                                                   \
	"      --etcd URL[,URL]    the fleet's etcd (default: $XDPSEG_ETCD)\n"             \
	"      --fleet NAME        the fleet (default: $XDPSEG_FLEET, else \"default\")\n" \
	"      --user USER         etcd's user, its password in --password-file\n"         \
	"      --password-file F   the file holding the password (its first line)\n"       \
	"      --token-file F      or an etcd token, from F (its first line)\n"
struct xs_etcd_sync;
struct xs_cli_etcd {
	const char *etcd, *fleet, *user, *password_file, *token_file;
	char *buf;    /* the endpoints, parsed in place */
	char *secret; /* the password or the token read */
};
void xs_cli_etcd_init(struct xs_cli_etcd *e);
int xs_cli_etcd_opt(struct xs_cli_etcd *e, int c, const char *arg);
int xs_cli_etcd_open(struct xs_cli_etcd *e, const char *cmd, struct xs_etcd_sync **out);
void xs_cli_etcd_free(struct xs_cli_etcd *e);

/* Unix seconds as "2024-05-01T10:00:00Z" ("-" for 0). */
void xs_cli_time(int64_t t, char *buf, size_t size);
/* A pointer's fields as JSON members (no braces; strings escaped). */
struct xs_fleet_pointer;
void xs_cli_pointer_json(const struct xs_fleet_pointer *p);

#endif /* XS_CMDS_H */

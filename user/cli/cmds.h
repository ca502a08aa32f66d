/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every `xdpseg` subcommand: argv[0] is the command's name; returns an exit code. */
#ifndef XS_CMDS_H
#define XS_CMDS_H

#include <stddef.h>

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

#endif /* XS_CMDS_H */

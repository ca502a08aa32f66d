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
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_agent(int argc, char **argv); /* agent/ */

/*
 * Compile a policy file for a command: diagnostics go to stderr (with the
 * file's own error when it has none, e.g. unreadable). Returns 0 and *out,
 * or a negative errno; *nerrors (if not NULL) counts the errors printed.
 */
int xs_cli_compile(const char *file, struct xs_compiled **out, size_t *nerrors);

#endif /* XS_CMDS_H */

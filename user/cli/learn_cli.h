/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What `map`, `suggest` and `replay` share: the flow stores they read
 * (--store FILE, repeatable; the agent's by default), the window (--since),
 * the policy the observations are judged under (the running one, or a
 * file), the service catalog, and the observations judged.
 */
#ifndef XS_LEARN_CLI_H
#define XS_LEARN_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "learn/learn.h"
#include "policy_view.h"

#define LEARN_CLI_MAX_STORES 64

/* Add to a command's options: 'S' --store, 'W' --since ("S:W:" short-less). */
#define LEARN_CLI_OPTS                                \
	{ "store", required_argument, NULL, 'S' },    \
	{                                             \
		"since", required_argument, NULL, 'W' \
	}
#define LEARN_CLI_HELP_OPTS                                                                 \
	"      --since WINDOW      flows seen over the last WINDOW (7d, 24h, 90m, 1d12h)\n" \
	"      --store FILE        read the flow store FILE (repeatable: several hosts'\n"  \
	"                          stores together) instead of the agent's\n"

struct learn_cli {
	const char *cmd;
	const char *stores[LEARN_CLI_MAX_STORES];
	size_t nstores;
	char default_store[4096];
	int64_t since_s; /* the window's length */
	int64_t now;	 /* wall clock, Unix seconds */
	struct xs_view view;
	bool have_view;
	struct xs_tables t;
	struct learn_catalog cat;
	struct learn_set set;
};

/* `cmd` names the command in errors; `since_s` the default window. */
void learn_cli_init(struct learn_cli *l, const char *cmd, int64_t since_s);
/* An option of LEARN_CLI_OPTS: 0, or the exit code of a usage error (printed). */
int learn_cli_option(struct learn_cli *l, int opt, const char *arg);
/*
 * Judge the stores' flows under `policy` (XS_VIEW_RUNNING or a file):
 * every store read (the default one when none was named), the view
 * opened, the catalog loaded (the policy's services, then the presets'),
 * each flow judged. Errors printed ("xdpseg
 * CMD: ..."); returns 0 or a negative errno.
 */
int learn_cli_open(struct learn_cli *l, const char *policy);
void learn_cli_free(struct learn_cli *l);

/* A segment's name under the view ("world"). */
const char *learn_cli_seg(const struct learn_cli *l, uint16_t seg, char *buf, size_t size);

#endif /* XS_LEARN_CLI_H */

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg: command dispatch (bpftool style: a table and unambiguous prefixes). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "util.h"
#include "xdpseg.h"

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
	const char *summary;
};

static const struct cmd cmds[] = {
	{ "check", cmd_check, "check policy files and print diagnostics" },
	{ "compile", cmd_compile, "print the map entries a policy compiles to" },
	{ "attach", cmd_attach, "load xdpseg and attach it to interfaces" },
	{ "detach", cmd_detach, "detach from interfaces (--all: unload everything)" },
	{ "apply", cmd_apply, "compile a policy and push it atomically" },
	{ "confirm", cmd_confirm, "keep a policy applied with apply --confirm" },
	{ "rollback", cmd_rollback, "go back now to the policy before apply --confirm" },
	{ "quarantine", cmd_quarantine, "cut addresses or segments off (forensic access only)" },
	{ "release", cmd_release, "end a quarantine" },
	{ "grant", cmd_grant, "open access that closes by itself (--for 8h)" },
	{ "revoke", cmd_revoke, "end a grant now" },
	{ "status", cmd_status, "interfaces, active policy, conntrack, event losses" },
	{ "stats", cmd_stats, "counters per rule, per default and per drop reason" },
	{ "metrics", cmd_metrics, "the counters in the Prometheus text format" },
	{ "show", cmd_show, "the running policy as it is enforced" },
	{ "verify", cmd_verify, "would a flow pass? the verdict and the rule that decides" },
	{ "diff", cmd_diff, "what two policies (files or 'running') decide differently" },
	{ "map", cmd_map, "who talks to whom (the flow store) and what the policy does" },
	{ "suggest", cmd_suggest, "policy text allowing what the flow store observed" },
	{ "replay", cmd_replay, "what a candidate policy would change for the observed flows" },
	{ "watch", cmd_watch, "stream live flow events" },
	{ "flows", cmd_flows, "follow the agent's flow records (begin, update, end, deny)" },
	{ "agent", cmd_agent, "run the host agent (follows interfaces, keeps them protected)" },
	{ "publish", cmd_publish, "compile a policy and publish it to the fleet (etcd)" },
	{ "fleet", cmd_fleet, "the fleet's state: its hosts, on the published policy or not" },
};

int xs_cli_json_opts(int argc, char **argv, const char *cmd, const char *help)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

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
	if (optind < argc)
		return p_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: xdpseg [-v] COMMAND [ARGS...]\n"
		     "       xdpseg --version | --help\n\n"
		     "eBPF/XDP microsegmentation enforcer.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out, "\nOptions:\n"
		     "  -v, --verbose   show libbpf's own log\n"
		     "  -V, --version   print the version\n"
		     "  -h, --help      this help; 'xdpseg COMMAND --help' for a command's\n\n"
		     "Commands may be abbreviated to any unambiguous prefix.\n"
		     "See xdpseg(8) and policies/README.md for the policy language.\n");
}

static const struct cmd *cmd_select(const char *name)
{
	const struct cmd *found = NULL;
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
		if (strncmp(cmds[i].name, name, len) == 0) {
			if (found) {
				p_err("'%s' is ambiguous: it could be '%s' or '%s'", name,
				      found->name, cmds[i].name);
				return NULL;
			}
			found = &cmds[i];
		}
	}
	if (!found)
		p_err("unknown command '%s'; run 'xdpseg --help' for the list", name);
	return found;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct cmd *cmd;
	int c;

	/* '+': stop at the first non-option, the command's own options follow it. */
	while ((c = getopt_long(argc, argv, "+vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			xs_verbose++;
			break;
		case 'V':
			printf("xdpseg %s\n", XS_VERSION);
			return XS_EXIT_OK;
		case 'h':
			usage(stdout);
			return XS_EXIT_OK;
		default:
			usage(stderr);
			return XS_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return XS_EXIT_USAGE;
	}
	cmd = cmd_select(argv[optind]);
	if (!cmd)
		return XS_EXIT_USAGE;
	argc -= optind;
	argv += optind;
	optind = 0; /* let the command run getopt_long from scratch */
	return cmd->func(argc, argv);
}

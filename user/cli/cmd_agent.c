// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg agent: the command line of the host agent (agent.h, loop.c). */
#include <getopt.h>
#include <stdio.h>

#include "agent/agent.h"
#include "cmds.h"
#include "util.h"

static const char agent_help[] =
	"Usage: xdpseg agent [--config FILE] [--foreground]\n\n"
	"Run the host agent in the foreground: adopt the loaded datapath (or load it\n"
	"and apply the configured policy, else the last good one), attach to every\n"
	"interface the configuration selects as it appears, repair what is missing,\n"
	"and serve status, reload and stop on its socket. Stopping it (stop, SIGTERM,\n"
	"SIGINT) leaves enforcement in place. SIGHUP reloads. See xdpseg(8), AGENT.\n\n"
	"  -c, --config FILE   the configuration (default " AGENT_CONFIG_FILE ")\n"
	"  -f, --foreground    run in the foreground (the only way it runs)\n"
	"  -h, --help          this help\n\n"
	"Exit status: 0 stopped, 1 a runtime failure, 2 a configuration or usage error.\n";

int cmd_agent(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = AGENT_CONFIG_FILE;
	int c;

	while ((c = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			break;
		case 'h':
			fputs(agent_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("agent", "bad option");
		}
	}
	if (optind < argc)
		return p_usage("agent", "unexpected argument '%s'", argv[optind]);
	return agent_run(config);
}

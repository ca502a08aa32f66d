// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdpseg metrics: the Prometheus exposition, once, from the pinned maps (no agent needed). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl/loader.h"
#include "ctl/metrics.h"
#include "util.h"

static const char metrics_help[] =
	"Usage: xdpseg metrics [--output FILE]\n\n"
	"Print xdpseg's metrics once in the Prometheus text format, read from the\n"
	"pinned maps: counters per verdict and reason and per rule (FILE:LINE), the\n"
	"policy generation, flow-table and map fill, interfaces by state (xdpseg(8),\n"
	"METRICS). Needs no agent (the agent's own families, e.g. policy applies, are\n"
	"then absent). Not loaded: xdpseg_up 0.\n\n"
	"  -o, --output FILE   write FILE instead, atomically (a temporary file in its\n"
	"                      folder, then renamed): for node_exporter's textfile\n"
	"                      collector, FILE ends in .prom\n"
	"  -h, --help          this help\n";

int cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *output = NULL;
	struct xs_ctl ctl;
	bool loaded;
	char *text = NULL;
	size_t len = 0;
	int c, err, ret = XS_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'h':
			fputs(metrics_help, stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("metrics", "bad option");
		}
	}
	if (optind < argc)
		return p_usage("metrics", "unexpected argument '%s'", argv[optind]);
	if (output && !*output)
		return p_usage("metrics", "--output needs a file name");

	xs_libbpf_log_setup();
	xs_ctl_init(&ctl);
	if (xs_ctl_check_env(ctl.dir) || xs_ctl_trust(&ctl))
		goto out;
	loaded = xs_ctl_loaded(&ctl);
	if (!loaded)
		p_warn("xdpseg is not loaded (nothing pinned under %s): xdpseg_up is 0", ctl.dir);
	else if (xs_ctl_open(&ctl))
		goto out;
	err = xs_metrics_build(loaded ? &ctl : NULL, NULL, NULL, &text, &len);
	if (err) {
		p_err("cannot read the pinned maps under %s: %s", ctl.dir, strerror(-err));
		goto out;
	}
	if (output) {
		err = xs_metrics_write_file(output, text, len);
		if (err) {
			p_err("cannot write %s: %s (its folder must exist and be writable)", output,
			      strerror(-err));
			goto out;
		}
	} else if (fwrite(text, 1, len, stdout) != len || fflush(stdout)) {
		p_err("cannot write the metrics to stdout: %s", strerror(errno));
		goto out;
	}
	ret = XS_EXIT_OK;
out:
	free(text);
	xs_ctl_close(&ctl);
	return ret;
}

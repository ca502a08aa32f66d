// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `xdpseg check` and `xdpseg compile`: the policy compiler on the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "policy.h"
#include "util.h"

static void check_usage(FILE *out)
{
	fprintf(out, "Usage: xdpseg check [-I DIR]... FILE...\n\n"
		     "Parse and compile each policy FILE; print gcc-style diagnostics\n"
		     "(FILE:LINE:COL: error|warning: MESSAGE) and, for each file without\n"
		     "errors, one summary line. Exit status 1 if any file has an error.\n\n"
		     "Options:\n" XS_CLI_HELP_INCLUDE "  -h, --help              this help\n");
}

static void compile_usage(FILE *out)
{
	fprintf(out, "Usage: xdpseg compile [-I DIR]... FILE [--json]\n\n"
		     "Print the map entries FILE compiles to: prefix -> segment, rule keys\n"
		     "-> action with the rule's origin (FILE:LINE), segment defaults, hash.\n\n"
		     "Options:\n"
		     "  -j, --json              print JSON\n" XS_CLI_HELP_INCLUDE
		     "  -h, --help              this help\n");
}

/* The -I folders of this command, in the order given (argv's strings). */
static const char **include_dirs;
static size_t ninclude_dirs;
static struct xs_resolve_fs_ctx include_ctx;

int xs_cli_include_dir(const char *dir)
{
	const char **v = realloc(include_dirs, (ninclude_dirs + 1) * sizeof(*v));

	if (!v) {
		p_err("out of memory");
		return -1;
	}
	include_dirs = v;
	include_dirs[ninclude_dirs++] = dir;
	return 0;
}

struct xs_resolve_fs_ctx *xs_cli_include_ctx(void)
{
	include_ctx.dirs = include_dirs;
	include_ctx.ndirs = ninclude_dirs;
	return &include_ctx;
}

int xs_cli_compile(const char *file, struct xs_compiled **out, size_t *nerrors)
{
	struct xs_diags diags;
	int err;

	xs_diags_init(&diags);
	err = xs_policy_compile(file, xs_resolve_fs, xs_cli_include_ctx(), out, &diags);
	xs_diags_print(stderr, &diags, isatty(STDERR_FILENO));
	if (err && err != -EINVAL && !diags.errors)
		p_err("%s: %s", file, strerror(-err));
	if (nerrors)
		*nerrors = diags.errors;
	xs_diags_free(&diags);
	return err;
}

/* One line per file: what it declares (segments: the declared ones, not the
 * built-in link-local), then the map entries (link-local's prefixes in). */
static void summary(const char *file, const struct xs_compiled *c)
{
	const struct xs_policy *p = c->policy;

	printf("%s: ok: %zu segments, %zu services, %zu rules", file,
	       xs_policy_declared_segments(p), p->nservices, xs_policy_rule_statements(p));
	if (p->nbindings)
		printf(", %zu binds", p->nbindings);
	printf("; map entries: %zu ipv4, %zu ipv6, %zu rules, %zu seginfo", c->nv4, c->nv6,
	       c->nrules, c->nseginfo);
	if (p->nbindings)
		printf(", %zu bind ipv4, %zu bind ipv6", c->nbind4, c->nbind6);
	printf("\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		XS_CLI_OPT_INCLUDE,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, rc = XS_EXIT_OK;

	optind = 0; /* 0: full re-initialisation, so options may follow FILE */
	while ((c = getopt_long(argc, argv, "I:h", opts, NULL)) != -1) {
		switch (c) {
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_FAIL;
			break;
		case 'h':
			check_usage(stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("check", "unknown option");
		}
	}
	if (optind >= argc)
		return p_usage("check", "check: no policy FILE given");
	for (int i = optind; i < argc; i++) {
		struct xs_compiled *comp = NULL;

		if (xs_cli_compile(argv[i], &comp, NULL)) {
			rc = XS_EXIT_FAIL;
			continue;
		}
		summary(argv[i], comp);
		xs_compiled_free(comp);
	}
	return rc;
}

int cmd_compile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		XS_CLI_OPT_INCLUDE,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xs_compiled *comp = NULL;
	int c;

	optind = 0; /* 0: full re-initialisation, so options may follow FILE */
	while ((c = getopt_long(argc, argv, "jI:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			xs_json = true;
			break;
		case 'I':
			if (xs_cli_include_dir(optarg))
				return XS_EXIT_FAIL;
			break;
		case 'h':
			compile_usage(stdout);
			return XS_EXIT_OK;
		default:
			return p_usage("compile", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return p_usage("compile", "compile: expected exactly one policy FILE");
	if (xs_cli_compile(argv[optind], &comp, NULL)) {
		if (xs_json)
			p_err("%s: the policy has errors (see stderr)", argv[optind]);
		return XS_EXIT_FAIL;
	}
	if (xs_json)
		xs_compiled_print_json(stdout, comp);
	else
		xs_compiled_print(stdout, comp);
	xs_compiled_free(comp);
	return XS_EXIT_OK;
}

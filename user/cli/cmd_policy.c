// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `xdpseg check` and `xdpseg compile`: the policy compiler on the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "json.h"
#include "policy.h"
#include "util.h"

static void check_usage(FILE *out)
{
	fprintf(out, "Usage: xdpseg check [-I DIR]... [--strict] [--json] FILE...\n\n"
		     "Parse and compile each policy FILE; print gcc-style diagnostics\n"
		     "(FILE:LINE:COL: error|warning|note: MESSAGE) and, for each file without\n"
		     "errors, one summary line. Exit status 1 if any file has an error\n"
		     "(with --strict: an error or a warning).\n\n"
		     "Options:\n"
		     "  -s, --strict            a warning fails the file too (for CI)\n"
		     "  -j, --json              print one JSON document on stdout: every\n"
		     "                          diagnostic {file, line, column, severity,\n"
		     "                          message, hint}, each file's result, the "
		     "counts\n" XS_CLI_HELP_INCLUDE "  -h, --help              this help\n");
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

/* What a compiled policy holds, for check --json. */
struct check_counts {
	size_t segments, services, rules, binds;
	size_t v4, v6, entries, seginfo, bind4, bind6;
};

/* What check found in one file. */
struct checked {
	const char *file;
	struct xs_compiled *comp; /* NULL: it does not compile (or counted and freed) */
	bool compiled;
	struct check_counts n;
	struct xs_diags diags;
	int err;	   /* the compiler's */
	size_t notes;	   /* notes kept */
	bool failed;	   /* an error, or a warning under --strict */
	const char *other; /* an error that is no diagnostic (strerror), or NULL */
};

static void check_one(struct checked *k, const char *file, bool strict)
{
	memset(k, 0, sizeof(*k));
	k->file = file;
	xs_diags_init(&k->diags);
	k->err = xs_policy_compile(file, xs_resolve_fs, xs_cli_include_ctx(), &k->comp, &k->diags);
	if (k->err && k->err != -EINVAL && !k->diags.errors)
		k->other = strerror(-k->err);
	for (size_t i = 0; i < k->diags.n; i++)
		k->notes += k->diags.v[i].severity == XS_SEV_NOTE;
	k->failed = k->err || (strict && k->diags.warnings);
	k->compiled = k->comp;
	if (k->comp)
		k->n = (struct check_counts){
			.segments = xs_policy_declared_segments(k->comp->policy),
			.services = k->comp->policy->nservices,
			.rules = xs_policy_rule_statements(k->comp->policy),
			.binds = k->comp->policy->nbindings,
			.v4 = k->comp->nv4,
			.v6 = k->comp->nv6,
			.entries = k->comp->nrules,
			.seginfo = k->comp->nseginfo,
			.bind4 = k->comp->nbind4,
			.bind6 = k->comp->nbind6,
		};
}

static void checked_free(struct checked *k)
{
	xs_compiled_free(k->comp);
	xs_diags_free(&k->diags);
}

/* Text: the diagnostics on stderr, then the file's line on stdout. */
static void check_text(const struct checked *k)
{
	xs_diags_print(stderr, &k->diags, isatty(STDERR_FILENO));
	if (k->other)
		p_err("%s: %s", k->file, k->other);
	if (!k->comp)
		return;
	if (k->failed)
		printf("%s: failed: %zu warning%s (--strict)\n", k->file, k->diags.warnings,
		       k->diags.warnings == 1 ? "" : "s");
	else
		summary(k->file, k->comp);
}

static void json_count(const char *key, size_t n)
{
	json_print_key(stdout, key, 0);
	printf("%zu", n);
}

/* JSON: the file's result, an element of "policies". */
static void check_json_policy(const struct checked *k, bool first)
{
	const struct check_counts *c = &k->n;

	fputs(first ? "{" : ",{", stdout);
	json_print_key(stdout, "file", 1);
	xs_json_escaped(stdout, k->file);
	json_print_key(stdout, "ok", 0);
	fputs(k->failed ? "false" : "true", stdout);
	json_count("errors", k->diags.errors + (k->other ? 1 : 0));
	json_count("warnings", k->diags.warnings);
	json_count("notes", k->notes);
	if (k->compiled) {
		json_count("segments", c->segments);
		json_count("services", c->services);
		json_count("rules", c->rules);
		json_count("binds", c->binds);
		json_print_key(stdout, "entries", 0);
		printf("{\"ipv4\":%zu,\"ipv6\":%zu,\"rules\":%zu,\"seginfo\":%zu,\"bind_ipv4\":%zu,"
		       "\"bind_ipv6\":%zu}",
		       c->v4, c->v6, c->entries, c->seginfo, c->bind4, c->bind6);
	}
	fputc('}', stdout);
}

static void check_json(const struct checked *v, size_t n, bool strict)
{
	size_t errors = 0, warnings = 0, notes = 0, dropped = 0, failed = 0;
	bool first = true;

	printf("{\"strict\":%s", strict ? "true" : "false");
	json_print_key(stdout, "diagnostics", 0);
	fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		xs_diags_print_json(stdout, &v[i].diags, &first);
		if (v[i].other) {
			fputs(first ? "{" : ",{", stdout);
			first = false;
			json_print_key(stdout, "file", 1);
			xs_json_escaped(stdout, v[i].file);
			printf(",\"line\":null,\"column\":null,\"severity\":\"error\"");
			json_print_key(stdout, "message", 0);
			json_print_str(stdout, v[i].other);
			printf(",\"hint\":null}");
		}
		errors += v[i].diags.errors + (v[i].other ? 1 : 0);
		warnings += v[i].diags.warnings;
		notes += v[i].notes;
		dropped += v[i].diags.dropped;
		failed += v[i].failed;
	}
	fputc(']', stdout);
	json_print_key(stdout, "policies", 0);
	fputc('[', stdout);
	for (size_t i = 0; i < n; i++)
		check_json_policy(&v[i], i == 0);
	fputc(']', stdout);
	json_print_key(stdout, "summary", 0);
	printf("{\"files\":%zu,\"ok\":%zu,\"failed\":%zu,\"errors\":%zu,\"warnings\":%zu,"
	       "\"notes\":%zu,\"not_shown\":%zu}}\n",
	       n, n - failed, failed, errors, warnings, notes, dropped);
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "strict", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		XS_CLI_OPT_INCLUDE,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct checked *v;
	bool strict = false;
	int c, rc = XS_EXIT_OK;

	optind = 0; /* 0: full re-initialisation, so options may follow FILE */
	while ((c = getopt_long(argc, argv, "sjI:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			strict = true;
			break;
		case 'j':
			xs_json = true;
			break;
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
	v = calloc((size_t)(argc - optind), sizeof(*v));
	if (!v) {
		p_err("out of memory");
		return XS_EXIT_FAIL;
	}
	for (int i = optind; i < argc; i++) {
		struct checked *k = &v[i - optind];

		check_one(k, argv[i], strict);
		if (k->failed)
			rc = XS_EXIT_FAIL;
		if (!xs_json)
			check_text(k);
		/* one compiled policy at a time in memory (JSON keeps the diagnostics) */
		xs_compiled_free(k->comp);
		k->comp = NULL;
		if (!xs_json)
			xs_diags_free(&k->diags);
	}
	if (xs_json) {
		check_json(v, (size_t)(argc - optind), strict);
		for (int i = 0; i < argc - optind; i++)
			checked_free(&v[i]);
	}
	free(v);
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

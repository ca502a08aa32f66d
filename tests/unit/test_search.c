// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The include search path (xs_resolve_fs): an include by a relative name is
 * read next to the including file first, then from each -I folder (the
 * resolver's context), then from each folder of $XDPSEG_POLICY_PATH (or the
 * installed DATADIR/xdpseg/policies) in turn; the top-level file and
 * absolute names are never searched for. Not found: one error naming every
 * folder looked in. In a temporary directory.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

static char tmp[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	char d[128];

	snprintf(tmp, sizeof(tmp), "/tmp/xs-search-XXXXXX");
	cr_assert(mkdtemp(tmp));
	for (const char *const *s =
		     (const char *const[]){ "farm", "share", "share2", "inc", "inc2", NULL };
	     *s; s++) {
		snprintf(d, sizeof(d), "%s/%s", tmp, *s);
		cr_assert_eq(mkdir(d, 0700), 0);
	}
	put("share/web.policy", "service web tcp/443\n");
	put("share2/web.policy", "service web tcp/8443\n");
	put("farm/main.policy", "include \"web.policy\"\nsegment a 10.1.0.0/16\n"
				"segment b 10.2.0.0/16\nallow a -> b : web\n");
}

static void teardown(void)
{
	char cmd[128];

	unsetenv("XDPSEG_POLICY_PATH");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(search, .init = setup, .fini = teardown);

/* Compile farm/main.policy (or `top`) with XDPSEG_POLICY_PATH = `path`
 * (folders of tmp, ':'-separated; NULL: unset) and the -I folders `idirs`
 * (of tmp, NULL-terminated; NULL: a NULL context). Returns the one port the
 * rule allows (0: did not compile) and the diagnostics in *diags. */
static unsigned int port_of_I(const char *top, const char *path, const char *const *idirs,
			      char **diags)
{
	char env[512] = "", main[128], *p = env, dirs[8][128];
	const char *dirv[8];
	struct xs_resolve_fs_ctx ctx = { dirv, 0 };
	struct xs_compiled *c = NULL;
	unsigned int port = 0;
	struct xs_diags d;

	for (size_t i = 0; idirs && idirs[i] && i < 8; i++) {
		/* "" stays empty (skipped); a relative name stays relative */
		snprintf(dirs[i], sizeof(dirs[i]), "%s%s", idirs[i][0] == '/' ? tmp : "", idirs[i]);
		dirv[ctx.ndirs++] = dirs[i];
	}

	if (path) {
		for (const char *s = path; *s;) {
			size_t len = strcspn(s, ":");

			p += snprintf(p, sizeof(env) - (size_t)(p - env), "%s%s%.*s",
				      p == env ? "" : ":", len ? tmp : "", (int)len, s);
			s += len + (s[len] == ':');
		}
		setenv("XDPSEG_POLICY_PATH", env, 1);
	} else {
		unsetenv("XDPSEG_POLICY_PATH");
	}
	snprintf(main, sizeof(main), "%s/%s", tmp, top ? top : "farm/main.policy");
	xs_diags_init(&d);
	if (xs_policy_compile(main, xs_resolve_fs, idirs ? &ctx : NULL, &c, &d) == 0) {
		for (size_t i = 0; i < c->nrules; i++)
			if (c->rules[i].key.proto == 6)
				port = (c->rules[i].key.port >> 8 | c->rules[i].key.port << 8) &
				       0xffff;
	}
	*diags = diags_str(&d);
	xs_diags_free(&d);
	xs_compiled_free(c);
	return port;
}

static unsigned int port_of(const char *top, const char *path, char **diags)
{
	return port_of_I(top, path, NULL, diags);
}

Test(search, datadir_when_not_next_to_it)
{
	char *diags;

	cr_assert_eq(port_of(NULL, "/share", &diags), 443, "%s", diags);
	free(diags);
	/* each folder in turn; empty ones and missing ones are skipped */
	cr_assert_eq(port_of(NULL, "/none::/share2:/share", &diags), 8443, "%s", diags);
	free(diags);
	cr_assert_eq(port_of(NULL, "/share:/share2", &diags), 443, "%s", diags);
	free(diags);
}

Test(search, next_to_the_including_file_first)
{
	char *diags;

	put("farm/web.policy", "service web tcp/22\n");
	cr_assert_eq(port_of(NULL, "/share", &diags), 22, "%s", diags);
	free(diags);
}

Test(search, not_found_anywhere)
{
	char *diags, want[512];

	cr_assert_eq(port_of(NULL, "/none", &diags), 0);
	snprintf(want, sizeof(want),
		 "%s/farm/main.policy:1:9: error: cannot include 'web.policy': no such file in "
		 "'%s/farm', '%s/none'\n",
		 tmp, tmp, tmp);
	cr_assert(!strncmp(diags, want, strlen(want)), "%s", diags);
	free(diags);
	/* an empty search path searches nowhere */
	cr_assert_eq(port_of(NULL, "", &diags), 0);
	snprintf(want, sizeof(want),
		 "%s/farm/main.policy:1:9: error: cannot include 'web.policy': no such file in "
		 "'%s/farm'\n",
		 tmp, tmp);
	cr_assert(!strncmp(diags, want, strlen(want)), "%s", diags);
	free(diags);
}

Test(search, diagnostics_name_the_file_found)
{
	char *diags, want[256];

	put("share/web.policy", "service web tcp/0\n");
	cr_assert_eq(port_of(NULL, "/share", &diags), 0);
	snprintf(want, sizeof(want), "%s/share/web.policy:1:17: error: port 0 is not a valid port",
		 tmp);
	cr_assert(strstr(diags, want), "%s", diags);
	free(diags);
}

/* An error reading the file found is the include's error: it is not
 * skipped for the next folder. */
Test(search, a_fifo_found_is_an_error)
{
	char path[256], *diags;

	snprintf(path, sizeof(path), "%s/share/web.policy", tmp);
	unlink(path);
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(port_of(NULL, "/share:/share2", &diags), 0);
	snprintf(path, sizeof(path),
		 "%s/farm/main.policy:1:9: error: cannot include 'web.policy': not a regular file "
		 "(a FIFO)\n",
		 tmp);
	cr_assert(!strncmp(diags, path, strlen(path)), "%s", diags);
	free(diags);
}

Test(search, top_level_and_absolute_names_not_searched)
{
	char *diags, text[256];

	/* the top-level file is the name given */
	cr_assert_eq(port_of("web.policy", "/share", &diags), 0);
	cr_assert(strstr(diags, "cannot read the policy: No such file or directory"), "%s", diags);
	free(diags);
	/* an absolute include is that file only */
	snprintf(text, sizeof(text),
		 "include \"%s/nowhere/web.policy\"\nsegment a 10.1.0.0/16\n"
		 "segment b 10.2.0.0/16\nallow a -> b : web\n",
		 tmp);
	put("farm/main.policy", text);
	cr_assert_eq(port_of(NULL, "/share", &diags), 0);
	cr_assert(strstr(diags, "No such file or directory"), "%s", diags);
	free(diags);
}

Test(search, default_path)
{
	unsetenv("XDPSEG_POLICY_PATH");
	cr_assert(strlen(xs_policy_path()) > strlen("/xdpseg/policies"));
	cr_assert_str_eq(xs_policy_path() + strlen(xs_policy_path()) - strlen("/xdpseg/policies"),
			 "/xdpseg/policies");
	cr_assert_eq(xs_policy_path()[0], '/');
}

/* -I folders: after the including file's folder, in the order given, before
 * the search path. */
Test(search, include_dirs_in_order)
{
	char *diags;

	put("inc/web.policy", "service web tcp/1001\n");
	put("inc2/web.policy", "service web tcp/1002\n");
	cr_assert_eq(
		port_of_I(NULL, "/share", (const char *const[]){ "/inc", "/inc2", NULL }, &diags),
		1001, "%s", diags);
	free(diags);
	cr_assert_eq(
		port_of_I(NULL, "/share", (const char *const[]){ "/inc2", "/inc", NULL }, &diags),
		1002, "%s", diags);
	free(diags);
	/* a folder without it, and an empty name, are skipped */
	cr_assert_eq(port_of_I(NULL, "/share",
			       (const char *const[]){ "/farm/none", "", "/inc2", NULL }, &diags),
		     1002, "%s", diags);
	free(diags);
	/* none of them has it: the search path */
	cr_assert_eq(port_of_I(NULL, "/share", (const char *const[]){ "/share2/x", NULL }, &diags),
		     443, "%s", diags);
	free(diags);
	/* the including file's folder first */
	put("farm/web.policy", "service web tcp/22\n");
	cr_assert_eq(port_of_I(NULL, "/share", (const char *const[]){ "/inc", NULL }, &diags), 22,
		     "%s", diags);
	free(diags);
}

/* Diagnostics name the file by the -I folder it was found in. */
Test(search, include_dirs_name_the_file_found)
{
	char *diags, want[256];

	put("inc/web.policy", "service web tcp/0\n");
	cr_assert_eq(port_of_I(NULL, "", (const char *const[]){ "/inc", NULL }, &diags), 0);
	snprintf(want, sizeof(want), "%s/inc/web.policy:1:17: error: port 0 is not a valid port",
		 tmp);
	cr_assert(strstr(diags, want), "%s", diags);
	free(diags);
}

/* Not found: one error, naming every folder looked in, in order (and the
 * note on the service it would have declared). */
Test(search, not_found_names_every_folder)
{
	char *diags, want[1024];

	cr_assert_eq(port_of_I(NULL, "/none::/share3",
			       (const char *const[]){ "/inc", "", "/inc2", NULL }, &diags),
		     0);
	snprintf(want, sizeof(want),
		 "%s/farm/main.policy:1:9: error: cannot include 'web.policy': no such file in "
		 "'%s/farm', '%s/inc', '%s/inc2', '%s/none', '%s/share3'\n"
		 "%s/farm/main.policy:1:9: note: 1 use of unknown segment or service names is not "
		 "reported: they may be declared in 'web.policy', which could not be included\n",
		 tmp, tmp, tmp, tmp, tmp, tmp, tmp);
	cr_assert_str_eq(diags, want);
	free(diags);
}

/* A folder list longer than the message has room for ends in "...". */
Test(search, not_found_long_list_is_cut)
{
	const char *dirs[9];
	char names[8][128], *diags;

	for (int i = 0; i < 8; i++) {
		snprintf(names[i], sizeof(names[i]), "/%0100d", i);
		dirs[i] = names[i];
	}
	dirs[8] = NULL;
	cr_assert_eq(port_of_I(NULL, "", dirs, &diags), 0);
	cr_assert(strstr(diags, "error: cannot include 'web.policy': no such file in '"), "%s",
		  diags);
	cr_assert(strstr(diags, "...\n"), "%s", diags);
	free(diags);
}

/* An include naming a folder is that folder's error; a top-level file is
 * never looked for in the -I folders. */
Test(search, include_dirs_not_for_the_top_level_file)
{
	char *diags;

	put("inc/top.policy", "segment a 10.0.0.0/8\nallow a -> world\n");
	cr_assert_eq(port_of_I("top.policy", "", (const char *const[]){ "/inc", NULL }, &diags), 0);
	cr_assert(strstr(diags, "cannot read the policy: No such file or directory"), "%s", diags);
	free(diags);
}

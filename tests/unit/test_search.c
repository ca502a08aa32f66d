// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The include search path (xs_resolve_fs): an include by a relative name is
 * read next to the including file first, then from each folder of
 * $XDPSEG_POLICY_PATH (or the installed DATADIR/xdpseg/policies) in turn;
 * the top-level file and absolute names are never searched for. In a
 * temporary directory.
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
	for (const char *const *s = (const char *const[]){ "farm", "share", "share2", NULL }; *s;
	     s++) {
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
 * (folders of tmp, ':'-separated; NULL: unset). Returns the one port the
 * rule allows (0: did not compile) and the diagnostics in *diags. */
static unsigned int port_of(const char *top, const char *path, char **diags)
{
	char env[512] = "", main[128], *p = env;
	struct xs_compiled *c = NULL;
	unsigned int port = 0;
	struct xs_diags d;

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
	if (xs_policy_compile(main, xs_resolve_fs, NULL, &c, &d) == 0) {
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
	char *diags, want[256];

	cr_assert_eq(port_of(NULL, "/none", &diags), 0);
	snprintf(want, sizeof(want),
		 "%s/farm/main.policy:1:9: error: cannot include 'web.policy': No such file or "
		 "directory\n",
		 tmp);
	cr_assert(!strncmp(diags, want, strlen(want)), "%s", diags);
	free(diags);
	/* an empty search path searches nowhere */
	cr_assert_eq(port_of(NULL, "", &diags), 0);
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

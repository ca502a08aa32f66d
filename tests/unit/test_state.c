// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The state directory (user/ctl/state.c) in a temporary directory: a save
 * and a load give back the policy, the modes are 0700 and 0600, and a state
 * directory or file that another user could change (a symbolic link, group-
 * or world-writable, another owner, an ancestor anyone may rename) is
 * refused with a reason; a corrupt file is refused, a missing one is
 * -ENOENT without a word.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "helpers.h"
#include "state.h"
#include "util.h"

static char tmp[64], dir[128], msgs[4096];

/* p_err and p_warn land here: "E: msg\n" or "W: msg\n". */
static void logged(int level, const char *msg)
{
	size_t o = strlen(msgs);

	snprintf(msgs + o, sizeof(msgs) - o, "%s: %s\n", level == LOG_ERR ? "E" : "W", msg);
}

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/xs-state-XXXXXX");
	cr_assert(mkdtemp(tmp));
	snprintf(dir, sizeof(dir), "%s/state", tmp);
	msgs[0] = '\0';
	xs_set_log(logged);
}

static void teardown(void)
{
	char cmd[160];

	xs_set_log(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	cr_assert_eq(system(cmd), 0);
}

static struct xs_compiled *small(void)
{
	struct xs_compiled *c = NULL;
	struct xs_diags d;

	xs_diags_init(&d);
	cr_assert_eq(compile_text("segment a 10.1.0.0/16\nsegment b 10.2.0.0/16\n"
				  "allow a -> b : tcp/22\nbind a vnet*\n",
				  &c, &d),
		     0);
	xs_diags_free(&d);
	return c;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(lstat(path, &st), 0, "%s", path);
	return st.st_mode & 07777;
}

TestSuite(state, .init = setup, .fini = teardown);

Test(state, save_then_load)
{
	struct xs_compiled *c = small(), *l = NULL;
	char path[192], *file = NULL;
	FILE *f;

	cr_assert_eq(xs_state_load(dir, &l, &file), -ENOENT);
	cr_assert_str_eq(msgs, "", "a missing state says nothing");
	umask(0);
	cr_assert_eq(xs_state_save(dir, c, "/etc/xdpseg/farm.policy"), 0, "%s", msgs);
	umask(022);
	cr_assert_eq(mode_of(dir), 0700);
	snprintf(path, sizeof(path), "%s/policy.xsc", dir);
	cr_assert_eq(mode_of(path), 0600);
	snprintf(path, sizeof(path), "%s/policy.xsc.tmp", dir);
	cr_assert_neq(access(path, F_OK), 0, "the temporary file is gone");
	cr_assert_eq(xs_state_load(dir, &l, &file), 0, "%s", msgs);
	cr_assert_str_eq(file, "/etc/xdpseg/farm.policy");
	cr_assert(!memcmp(l->hash, c->hash, 32));
	cr_assert_eq(l->nrules, c->nrules);
	cr_assert_str_eq(msgs, "");
	xs_compiled_free(l);
	free(file);
	/* saved again over it; a stale temporary file of a crashed save is replaced */
	snprintf(path, sizeof(path), "%s/policy.xsc.tmp", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("half", f);
	fclose(f);
	cr_assert_eq(xs_state_save(dir, c, "second"), 0, "%s", msgs);
	cr_assert_eq(xs_state_load(dir, &l, &file), 0);
	cr_assert_str_eq(file, "second");
	cr_assert_neq(access(path, F_OK), 0);
	xs_compiled_free(l);
	free(file);
	xs_compiled_free(c);
}

Test(state, corrupt_file_refused)
{
	struct xs_compiled *c = small(), *l = NULL;
	char path[192], want[512], *file = NULL;
	FILE *f;

	cr_assert_eq(xs_state_save(dir, c, "x"), 0);
	snprintf(path, sizeof(path), "%s/policy.xsc", dir);
	f = fopen(path, "r+");
	cr_assert(f);
	fseek(f, 100, SEEK_SET);
	fputc('!', f);
	fclose(f);
	cr_assert_eq(xs_state_load(dir, &l, &file), -EINVAL);
	cr_assert_null(l);
	snprintf(want, sizeof(want),
		 "E: the last good policy %s cannot be used: corrupt: its bytes do not match "
		 "their checksum\n",
		 path);
	cr_assert_str_eq(msgs, want);
	cr_assert_eq(truncate(path, 10), 0);
	msgs[0] = '\0';
	cr_assert_eq(xs_state_load(dir, &l, &file), -EINVAL);
	cr_assert(strstr(msgs, "truncated: 10 bytes"), "%s", msgs);
	xs_compiled_free(c);
}

Test(state, untrusted_refused)
{
	struct xs_compiled *c = small(), *l = NULL;
	char path[192], want[768], *file = NULL;
	const char *fix = "xdpseg keeps the last good policy only where no other user can "
			  "change it; make it root's, mode 0700 (or remove it)";

	cr_assert_eq(xs_state_save(dir, c, "x"), 0);

	/* group-writable */
	chmod(dir, 0770);
	cr_assert_eq(xs_state_load(dir, &l, &file), -EPERM);
	snprintf(want, sizeof(want),
		 "E: the state directory %s: %s is group- or world-writable (mode 0770): %s\n", dir,
		 dir, fix);
	cr_assert_str_eq(msgs, want);
	msgs[0] = '\0';
	cr_assert_eq(xs_state_save(dir, c, "x"), -EPERM);
	cr_assert(!strncmp(msgs, "W: the state directory", 22), "a save only warns: %s", msgs);
	cr_assert(strstr(msgs, "the policy is enforced all the same (the kernel is the source "
			       "of truth)"),
		  "%s", msgs);
	chmod(dir, 0700);

	/* the file writable by others */
	snprintf(path, sizeof(path), "%s/policy.xsc", dir);
	chmod(path, 0666);
	msgs[0] = '\0';
	cr_assert_eq(xs_state_load(dir, &l, &file), -EPERM);
	cr_assert(strstr(msgs, "is group- or world-writable (mode 0666)"), "%s", msgs);
	chmod(path, 0600);

	/* the file a symbolic link */
	snprintf(want, sizeof(want), "%s/elsewhere", tmp);
	cr_assert_eq(rename(path, want), 0);
	cr_assert_eq(symlink(want, path), 0);
	msgs[0] = '\0';
	cr_assert_eq(xs_state_load(dir, &l, &file), -ELOOP);
	cr_assert(strstr(msgs, "is a symbolic link"), "%s", msgs);
	unlink(path);

	/* the directory a symbolic link */
	snprintf(path, sizeof(path), "%s/link", tmp);
	cr_assert_eq(symlink(dir, path), 0);
	msgs[0] = '\0';
	cr_assert_eq(xs_state_load(path, &l, &file), -EPERM);
	snprintf(want, sizeof(want), "E: the state directory %s: %s is a symbolic link: %s\n", path,
		 path, fix);
	cr_assert_str_eq(msgs, want);

	/* an ancestor anyone may change (not sticky) */
	chmod(tmp, 0777);
	msgs[0] = '\0';
	cr_assert_eq(xs_state_load(dir, &l, &file), -EPERM);
	snprintf(want, sizeof(want),
		 "E: the state directory %s: %s is group- or world-writable and not sticky (mode "
		 "0777): give XDPSEG_STATE_DIR a path whose directories only root can change\n",
		 dir, tmp);
	cr_assert_str_eq(msgs, want);
	chmod(tmp, 0700);

	/* another owner (root can make one) */
	if (geteuid() == 0) {
		cr_assert_eq(chown(dir, 65534, 65534), 0);
		msgs[0] = '\0';
		cr_assert_eq(xs_state_load(dir, &l, &file), -EPERM);
		snprintf(want, sizeof(want),
			 "E: the state directory %s: %s is owned by uid 65534, not root: %s\n", dir,
			 dir, fix);
		cr_assert_str_eq(msgs, want);
	}

	/* relative */
	msgs[0] = '\0';
	cr_assert_eq(xs_state_load("state", &l, &file), -EINVAL);
	cr_assert_str_eq(msgs, "E: the state directory 'state' (XDPSEG_STATE_DIR) is not an "
			       "absolute path\n");
	xs_compiled_free(c);
}

Test(state, env)
{
	setenv("XDPSEG_STATE_DIR", "/run/x", 1);
	cr_assert_str_eq(xs_state_dir(), "/run/x");
	setenv("XDPSEG_STATE_DIR", "", 1);
	cr_assert_str_eq(xs_state_dir(), "/var/lib/xdpseg");
	unsetenv("XDPSEG_STATE_DIR");
	cr_assert_str_eq(xs_state_dir(), "/var/lib/xdpseg");
}

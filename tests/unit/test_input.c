// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy input is untrusted text (issue 6, class 5): bytes a policy may not
 * hold, escaped diagnostics, what may be included and how much, and that
 * `check` stays fast on large policies.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "expect.h"
#include "internal.h"
#include "json.h"

/* Compile `len` bytes of text as main.policy; the diagnostics as text. */
static char *diags_of_bytes(const char *text, size_t len, int *rc)
{
	struct memfile f = { "main.policy", text, len };
	struct memfs fs = { &f, 1 };

	return compile_diags(f.name, mem_resolve, &fs, rc);
}

#define expect_bytes(lit, rc_want, want)                                        \
	do {                                                                    \
		int rc_;                                                        \
		char *s_ = diags_of_bytes(lit, sizeof(lit) - 1, &rc_);          \
                                                                                \
		cr_expect_eq(rc_, rc_want, "rc %d; diagnostics:\n%s", rc_, s_); \
		cr_expect_str_eq(s_, want);                                     \
		free(s_);                                                       \
	} while (0)

/* ---- Bytes a policy may not hold ---------------------------------------------- */

Test(input, nul_byte_is_an_error_at_its_place)
{
	/* Before: the NUL ended the file; the deny after it vanished and check said ok. */
	expect_bytes("segment a 10.0.0.0/8\n"
		     "allow a -> world : tcp/1\0 oops\n"
		     "deny a -> world\n",
		     -EINVAL,
		     "main.policy:2:25: error: NUL byte: a policy is text (is this a binary "
		     "file?)\n");
}

Test(input, control_bytes_are_errors)
{
	expect_bytes("segment a 10.0.0.0/8\n"
		     "\x1b[2Kallow a -> world\n"
		     "allow a -> a : tcp/1\x7f\n"
		     "mode a\rmonitor\n"
		     "# a comment with a bell \a\n"
		     "deny a -> world : \"\x01\"\n"
		     "allow a -> world\r\n",
		     -EINVAL,
		     "main.policy:2:1: error: control character 0x1b: a policy is text (tabs, "
		     "newlines and CR LF line ends only)\n"
		     "main.policy:3:21: error: control character 0x7f: a policy is text (tabs, "
		     "newlines and CR LF line ends only)\n"
		     "main.policy:4:7: error: control character 0x0d: a policy is text (tabs, "
		     "newlines and CR LF line ends only)\n"
		     "main.policy:5:25: error: control character 0x07: a policy is text (tabs, "
		     "newlines and CR LF line ends only)\n"
		     "main.policy:6:20: error: control character 0x01: a policy is text (tabs, "
		     "newlines and CR LF line ends only)\n");
}

Test(input, non_ascii_only_in_comments_and_strings)
{
	expect_bytes(
		"segment caf\xc3\xa9 10.0.0.0/8\n"
		"segment a 10.0.0.0/8 # caf\xc3\xa9, \xe2\x80\xae, even \xff: a comment\n"
		"include \"\xe2\x80\xae.policy\"\n"
		"allow a -> world\t: tcp/1\n",
		-EINVAL,
		"main.policy:1:12: error: byte 0xc3 outside a comment or a \"string\": "
		"statements are ASCII\n"
		"main.policy:3:9: error: cannot include '\xe2\x80\xae.policy': No such file or "
		"directory\n");
}

Test(input, crlf_and_tabs_are_text)
{
	expect_bytes("segment a\t10.0.0.0/8\r\n"
		     "allow a -> world : tcp/1 # \"\r\n"
		     "\r\n",
		     0, "");
}

Test(input, a_binary_file_is_not_read)
{
	char buf[200];
	int rc;
	char *s;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = i % 9 == 8 ? '\n' : (char)(i * 37);
	s = diags_of_bytes(buf, sizeof(buf), &rc);
	cr_expect_eq(rc, -EINVAL);
	/* ten lines reported, then one error that says the file is not read */
	cr_expect(strstr(s, "main.policy:11:"), "%s", s);
	cr_expect(strstr(s, "more lines with such bytes follow: nothing of main.policy is read "
			    "(is it a text file?)"),
		  "%s", s);
	cr_expect_null(strstr(s, "main.policy:12:"), "%s", s);
	cr_expect_null(strstr(s, "expected"), "no syntax errors from a binary file:\n%s", s);
	cr_expect_null(strstr(s, "unknown"), "no syntax errors from a binary file:\n%s", s);
	free(s);
}

/* ---- Diagnostics never print raw control bytes ------------------------------------- */

static char *printed(const char *name, const char *text)
{
	struct memfile f = { name, text, 0 };
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	xs_diags_init(&d);
	cr_assert_neq(compile_files(&f, 1, &c, &d), 0);
	out = open_memstream(&buf, &len);
	xs_diags_print(out, &d, false);
	fclose(out);
	xs_diags_free(&d);
	return buf;
}

Test(input, diagnostics_escape_what_a_terminal_would_obey)
{
	/* ESC and C1 in the file name, C1, bidi overrides and invalid UTF-8 in a
	 * comment of the echoed line: each byte as \xNN, the caret under 'b' */
	char *s = printed(
		"m\x1b]0;x\x07\xc2\x9b.policy",
		"segment a 10.0.0.0/8 # \xc2\x85\xe2\x80\xae\xe2\x81\xa6\xff\xc3\n"
		"allow a -> b # caf\xc3\xa9 \xe2\x80\x8f\xe2\x80\xaa\xe2\x80\xac\xe2\x81\xa9 "
		"\xed\xa0\x80 \xc0\xaf\n");

	cr_expect_str_eq(s, "m\\x1b]0;x\\x07\\xc2\\x9b.policy:2:12: error: unknown segment 'b'\n"
			    "allow a -> b # caf\xc3\xa9 \xe2\x80\x8f\\xe2\\x80\\xaa\\xe2\\x80\\xac"
			    "\\xe2\\x81\\xa9 \\xed\\xa0\\x80 \\xc0\\xaf\n"
			    "           ^\n");
	free(s);
}

Test(input, caret_counts_escapes_and_characters)
{
	/* the caret stands under the error after escaped and multibyte characters */
	char *s = printed("main.policy", "allow \"\xc3\xa9\xe2\x80\xae\xff\" -> world\n");

	cr_expect_str_eq(s, "main.policy:1:7: error: expected: allow SRC[, SRC...] -> DST[, "
			    "DST...] [: SERVICE|PROTO/PORT, ...]\n"
			    "allow \"\xc3\xa9\\xe2\\x80\\xae\\xff\" -> world\n"
			    "      ^\n");
	free(s);
	s = printed("main.policy", "segment a 10.0.0.0/8 \"\xc3\xa9\xe2\x80\xae\xff\" bad\n");
	cr_expect_str_eq(s, "main.policy:1:22: error: expected ',' before '\xc3\xa9\\xe2\\x80"
			    "\\xae\\xff'\n"
			    "segment a 10.0.0.0/8 \"\xc3\xa9\\xe2\\x80\\xae\\xff\" bad\n"
			    "                     ^\n");
	free(s);
	s = printed("main.policy", "# \xe2\x80\xae\xc2\x9b\nallow a\t\xc2\x85 -> world\n");
	cr_expect_str_eq(s, "main.policy:2:9: error: byte 0xc2 outside a comment or a "
			    "\"string\": statements are ASCII\n"
			    "allow a\t\\xc2\\x85 -> world\n"
			    "       \t^\n");
	free(s);
}

Test(input, long_lines_are_excerpts)
{
	size_t n = 1 << 20;
	char *text = malloc(n + 64), *s, want[512];

	memset(text, ' ', n);
	strcpy(text + n, "allow world -> b\n");
	s = printed("main.policy", text);
	/* the excerpt: "...", 160 bytes before the column (145 blanks and
	 * "allow world -> "), what follows to the end of the line; the caret
	 * under 'b' */
	snprintf(want, sizeof(want),
		 "main.policy:1:1048592: error: unknown segment 'b'\n"
		 "...%145sallow world -> b\n%163s^\n",
		 "", "");
	cr_expect_str_eq(s, want);
	free(s);
	free(text);
}

Test(input, many_errors_are_counted_not_all_kept)
{
	size_t n = XS_MAX_DIAGS + 50;
	char *text = malloc(n * 16 + 1), *o = text;
	struct memfile f = { "main.policy", NULL, 0 };
	struct xs_compiled *c = NULL;
	struct xs_diags d;

	for (size_t i = 0; i < n; i++)
		o += sprintf(o, "frob %zu\n", i);
	f.text = text;
	xs_diags_init(&d);
	cr_expect_eq(compile_files(&f, 1, &c, &d), -EINVAL);
	cr_expect_eq(d.n, XS_MAX_DIAGS);
	cr_expect_eq(d.errors, n);
	cr_expect_eq(d.dropped, 50);
	xs_diags_free(&d);
	free(text);
}

/* ---- What may be included, how much --------------------------------------------- */

/* A scratch folder with the policy files; removed by the fixture. */
static char dir[64];

static void mkdir_tmp(void)
{
	strcpy(dir, "/tmp/xs-input-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static char *at(const char *name)
{
	static char path[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	return path[k];
}

static void expect_fs(int rc_want, const char *fmt, ...)
{
	char *want, *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&want, fmt, ap), 0);
	va_end(ap);
	s = compile_diags(at("main.policy"), xs_resolve_fs, NULL, &rc);
	cr_expect_eq(rc, rc_want, "rc %d:\n%s", rc, s);
	cr_expect_str_eq(s, want);
	free(s);
	free(want);
}

TestSuite(files, .init = mkdir_tmp, .fini = rm_tmp, .timeout = 30);

Test(files, nul_and_control_bytes_from_disk)
{
	char text[] = "segment a 10.0.0.0/8\nallow a -> world\0\ndeny a -> world\n";
	int fd = open(at("main.policy"), O_WRONLY | O_CREAT, 0644);

	cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	expect_fs(-EINVAL, "%s:2:17: error: NUL byte: a policy is text (is this a binary file?)\n",
		  at("main.policy"));
}

Test(files, include_only_regular_files)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert_eq(mkfifo(at("fifo"), 0644), 0);
	cr_assert_eq(mkdir(at("folder"), 0755), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", at("sock"));
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(symlink("/dev/null", at("null")), 0);
	put("main.policy", "include \"fifo\"\n"
			   "include \"folder\"\n"
			   "include \"null\"\n"
			   "include \"sock\"\n"
			   "include \"/dev/zero\"\n"
			   "segment a 10.0.0.0/8\n"
			   "allow a -> world\n");
	/* a FIFO without a writer would block a reader: it is never opened */
	expect_fs(-EINVAL,
		  "%1$s:1:9: error: cannot include 'fifo': not a regular file (a FIFO)\n"
		  "%1$s:2:9: error: cannot include 'folder': not a regular file (a directory)\n"
		  "%1$s:3:9: error: cannot include 'null': not a regular file (a character "
		  "device)\n"
		  "%1$s:4:9: error: cannot include 'sock': not a regular file (a socket)\n"
		  "%1$s:5:9: error: cannot include '/dev/zero': not a regular file (a character "
		  "device)\n",
		  at("main.policy"));
	close(s);
}

Test(files, top_level_must_be_a_regular_file)
{
	struct xs_compiled *c = NULL;
	struct xs_diags d;
	char *s;

	cr_assert_eq(mkfifo(at("main.policy"), 0644), 0);
	xs_diags_init(&d);
	cr_expect_eq(xs_policy_compile(at("main.policy"), xs_resolve_fs, NULL, &c, &d), -EINVAL);
	s = diags_str(&d);
	cr_expect(strstr(s, ":0:0: error: cannot read the policy: not a regular file (a FIFO)\n"),
		  "%s", s);
	free(s);
	xs_diags_free(&d);
}

Test(files, size_limit_per_file)
{
	int fd = open(at("big.policy"), O_WRONLY | O_CREAT, 0644);

	/* sparse: no 16 MiB written */
	cr_assert_eq(ftruncate(fd, XS_MAX_FILE_BYTES + 1), 0);
	close(fd);
	put("main.policy", "include \"big.policy\"\n"
			   "segment a 10.0.0.0/8\n"
			   "allow a -> world\n");
	expect_fs(-EINVAL,
		  "%s:1:9: error: cannot include 'big.policy': it is larger than 16 MiB (the "
		  "limit per file)\n",
		  at("main.policy"));
	cr_assert_eq(rename(at("big.policy"), at("main.policy")), 0);
	expect_fs(-EFBIG,
		  "%s:0:0: error: cannot read the policy: it is larger than 16 MiB (the limit "
		  "per file)\n",
		  at("main.policy"));
}

Test(files, symlink_loops_and_links_back_are_cycles)
{
	cr_assert_eq(symlink("loop", at("loop")), 0);
	cr_assert_eq(symlink("main.policy", at("back.policy")), 0);
	put("main.policy", "include \"loop\"\n"
			   "include \"inc.policy\"\n"
			   "segment a 10.0.0.0/8\n"
			   "allow a -> world\n");
	put("inc.policy", "include \"back.policy\"\n");
	expect_fs(-EINVAL,
		  "%1$s:1:9: error: include cycle: %1$s -> loop (a loop of symbolic links)\n"
		  "%2$s:1:9: error: include cycle: %1$s -> %2$s -> %3$s (the same file as %1$s)\n",
		  at("main.policy"), at("inc.policy"), at("back.policy"));
}

Test(files, a_file_through_a_link_is_included_once)
{
	cr_assert_eq(symlink("svc.policy", at("svc-link.policy")), 0);
	put("svc.policy", "service web tcp/443\n");
	put("main.policy", "include \"svc.policy\"\n"
			   "include \"svc-link.policy\"\n"
			   "segment a 10.0.0.0/8\n"
			   "allow a -> world : web\n");
	/* before: read twice, "duplicate service 'web'" */
	expect_fs(0, "");
}

/* A memory resolver whose files are `size` bytes of blank lines. */
static int blank_resolve(void *ctx, const char *from, const char *name, size_t limit,
			 struct xs_file *out)
{
	size_t size = *(const size_t *)ctx;

	if (!from) {
		static const char top[] = "include \"1\"\ninclude \"2\"\ninclude \"3\"\n"
					  "include \"4\"\ninclude \"5\"\n"
					  "segment a 10.0.0.0/8\nallow a -> world\n";

		size = sizeof(top) - 1;
		out->text = strdup(top);
	} else {
		if (size > limit)
			return -EFBIG;
		out->text = malloc(size + 1);
		cr_assert_not_null(out->text);
		for (size_t i = 0; i < size; i++)
			out->text[i] = i % 4096 == 4095 ? '\n' : ' ';
		out->text[size] = '\0';
	}
	out->path = strdup(name);
	out->len = size;
	return 0;
}

Test(input, size_limit_per_policy)
{
	size_t size = XS_MAX_FILE_BYTES; /* each at the limit per file: accepted */
	int rc;
	char *s = compile_diags("main.policy", blank_resolve, &size, &rc);

	cr_expect_eq(rc, -EINVAL);
	/* 4 x 16 MiB and the top file pass 64 MiB: the fourth include is refused */
	cr_expect_str_eq(s, "main.policy:4:9: error: cannot include '4': the policy's files "
			    "would be larger than 64 MiB together (the limit per policy)\n"
			    "main.policy:5:9: error: cannot include '5': the policy's files "
			    "would be larger than 64 MiB together (the limit per policy)\n");
	free(s);
}

Test(input, json_escapes_every_control_byte)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_print_str(f, "a\x01\x1b\x1f\x7f\"\\\t\xc3\xa9");
	fclose(f);
	cr_expect_str_eq(buf, "\"a\\u0001\\u001b\\u001f\\u007f\\\"\\\\\\t\xc3\xa9\"");
	free(buf);
}

/* ---- Expansion stays bounded -------------------------------------------------------- */

static char *gen(void (*fn)(FILE *f))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fn(f);
	fclose(f);
	return text;
}

static void doubling_services(FILE *f)
{
	fprintf(f, "service s0 tcp/1, tcp/2\n");
	for (int i = 1; i < 40; i++)
		fprintf(f, "service s%d s%d, s%d\n", i, i - 1, i - 1);
	fprintf(f, "segment a 10.0.0.0/8\nallow a -> world : s39\n");
}

Test(input, services_naming_each_other_are_bounded)
{
	/* s39 would be 2^40 port specs: before, check ran out of memory or time */
	char *text = gen(doubling_services);

	expect_diags(text, -EINVAL,
		     "main.policy:22:13: error: service 's21' expands to too many port specs (at "
		     "most 4194304 in a policy): do services name each other over and over?\n");
	free(text);
}

static void any_to_any(FILE *f)
{
	for (int i = 0; i < 200; i++) /* each bound to a port: used */
		fprintf(f, "segment s%d 10.%d.%d.0/24\nbind s%d t%d\n", i, i / 256, i % 256, i, i);
	fprintf(f, "allow any -> any : tcp/1-65534\n"); /* 30 entries per pair */
}

Test(input, rule_entries_stop_at_the_limit)
{
	char *text = gen(any_to_any);

	expect_diags(text, -EINVAL,
		     "main.policy:0:0: error: the policy compiles to more than 1048576 rule "
		     "entries (XS_MAX_RULE_ENTRIES): use fewer 'any' endpoints or port ranges\n");
	free(text);
}

static void many_any_rules(FILE *f)
{
	for (int i = 0; i < 40; i++) /* each bound to a port: used */
		fprintf(f, "segment s%d 10.%d.0.0/16\nbind s%d t%d\n", i, i, i, i);
	for (int i = 0; i < 17000; i++)
		fprintf(f, "%s any -> any\n", i ? "deny" : "allow");
}

Test(input, compile_work_stops_at_its_limit)
{
	/* 42 x 42 segment pairs x 17,000 rules: more work than the compiler does */
	char *text = gen(many_any_rules);
	struct memfile f = { "main.policy", text, 0 };
	struct memfs fs = { &f, 1 };
	int rc;
	char *s = compile_diags(f.name, mem_resolve, &fs, &rc);

	/* (and a warning: the allow is shadowed) */
	cr_expect_eq(rc, -EINVAL);
	cr_expect(strstr(s, "main.policy:0:0: error: the policy's rules apply to too many "
			    "segment pairs (more than 16777216 pair and port spec combinations): "
			    "use fewer 'any' endpoints\n"),
		  "%.2000s", s);
	cr_expect_null(strstr(strstr(s, ": error: ") + 1, ": error: "), "one error only");
	free(s);
	free(text);
}

static void many_bound_addresses(FILE *f)
{
	fprintf(f, "segment a 10.0.0.0/8\nallow a -> world\n");
	for (int b = 0; b < 33; b++) {
		fprintf(f, "bind a t%d", b);
		for (int i = 0; i < 2000; i++)
			fprintf(f, "%s 10.%d.%d.%d", i ? "," : "", b, i / 256, i % 256);
		fprintf(f, "\n");
	}
}

Test(input, bound_addresses_stop_at_the_limit)
{
	char *text = gen(many_bound_addresses);

	expect_diags(text, -EINVAL,
		     "main.policy:0:0: error: the binds compile to more than 65536 IPv4 or IPv6 "
		     "entries (XS_MAX_BIND_PREFIXES, per family): list fewer addresses\n");
	free(text);
}

/* ---- check scales ----------------------------------------------------------------- */

static void single_ports(FILE *f)
{
	fprintf(f, "segment s1 10.1.0.0/16\nsegment s2 10.2.0.0/16\n");
	for (int n = 1; n <= 65531; n++)
		fprintf(f, "allow s1 -> s2 : tcp/%d\n", n);
}

Test(input, large_policy_compiles_to_the_expected_entries)
{
	/* 65,531 single-port rules: the most rule ids allow next to the implicit
	 * defaults of s1, s2, world and link-local. One /64 entry each. */
	char *text = gen(single_ports);
	struct xs_compiled *c = must_compile(text);
	const struct xs_policy *p = c->policy;

	cr_assert_eq(c->nrules, 65531);
	for (size_t i = 0; i < c->nrules; i++) {
		const struct xs_rule_entry *e = &c->rules[i];

		cr_assert(e->key.src_seg == 1 && e->key.dst_seg == 2 && e->key.proto == 6 &&
				  e->key.prefixlen == XS_RULE_PLEN_PORT(16) &&
				  ntohs(e->key.port) == i + 1 && e->val.rule_id == i + 1 &&
				  e->val.action == XS_ACT_ALLOW,
			  "entry %zu", i);
	}
	cr_expect_eq(p->norigins, 65535);
	cr_expect_eq(p->world_in_rule_id, 65534);
	cr_expect_eq(c->seginfo[3].in_rule_id, 65535); /* link-local's, last */
	xs_compiled_free(c);
	free(text);
}

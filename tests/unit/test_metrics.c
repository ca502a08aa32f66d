// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/ctl/metrics.c without a datapath: label values escaped as the text
 * format wants them (quotes, backslashes, newlines; control bytes and
 * invalid UTF-8 as the text \xNN, valid UTF-8 kept); the segment_pair of
 * each kind of origin (a rule's endpoints as written, a long rule's cut
 * marked, a default's, an implicit default's and a bind's segment, none
 * for overlays); the exposition without a datapath; and the atomic
 * textfile (written whole, 0644, no temporary file left, an error for a
 * missing folder).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/metrics.h"
#include "xdpseg.h"

static char *label(const char *value)
{
	static char buf[256];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	cr_assert_not_null(f);
	xs_metrics_label(f, value);
	fclose(f);
	return buf;
}

Test(metrics, label_escapes)
{
	cr_assert_str_eq(label("/etc/xdpseg/farm.policy:12"), "/etc/xdpseg/farm.policy:12");
	cr_assert_str_eq(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
	cr_assert_str_eq(label("tab\there"), "tab\\\\x09here");
	cr_assert_str_eq(label("caf\xc3\xa9"), "caf\xc3\xa9", "valid UTF-8 stays");
	cr_assert_str_eq(label("bad\xff\xc3"), "bad\\\\xff\\\\xc3", "invalid UTF-8 as text");
	cr_assert_str_eq(label("\xed\xa0\x80"), "\\\\xed\\\\xa0\\\\x80", "a surrogate is invalid");
	cr_assert_str_eq(label("\xe0\x80\xaf"), "\\\\xe0\\\\x80\\\\xaf",
			 "an overlong form is invalid");
}

static const char *pair(uint32_t kind, const char *text)
{
	static char buf[XS_ORIGIN_TEXT_LEN];

	xs_metrics_segment_pair(kind, text, buf, sizeof(buf));
	return buf;
}

Test(metrics, segment_pairs)
{
	cr_assert_str_eq(pair(XS_ORIGIN_RULE, "allow clients -> vda : ica, hdx-audio"),
			 "clients->vda");
	cr_assert_str_eq(pair(XS_ORIGIN_RULE, "allow storefront, connector -> vda, vda2 : web"),
			 "storefront,connector->vda,vda2");
	cr_assert_str_eq(pair(XS_ORIGIN_RULE, "deny vda -> vda"), "vda->vda");
	cr_assert_str_eq(pair(XS_ORIGIN_RULE, "allow any -> world : tcp/443"), "any->world");
	cr_assert_str_eq(pair(XS_ORIGIN_RULE, "allow a, b, c -> d, e ... #0123456789abcdef"),
			 "a,b,c->d,e...", "cut before the services: the pair says so");
	cr_assert_str_eq(pair(XS_ORIGIN_RULE, "allow a -> b : tcp/1, tcp/2 ... #0123456789abcdef"),
			 "a->b");
	cr_assert_str_eq(pair(XS_ORIGIN_RULE, "nonsense"), "");
	cr_assert_str_eq(pair(XS_ORIGIN_DEFAULT, "default vda in deny out allow"), "vda");
	cr_assert_str_eq(
		pair(XS_ORIGIN_IMPLICIT, "segment vda (implicit default in deny out allow)"),
		"vda");
	cr_assert_str_eq(pair(XS_ORIGIN_IMPLICIT, "world (implicit default in allow out allow)"),
			 "world");
	cr_assert_str_eq(pair(XS_ORIGIN_IMPLICIT, "link-local (built in: fe80::/10, "
						  "169.254.0.0/16; implicit default in deny out "
						  "allow)"),
			 "link-local");
	cr_assert_str_eq(pair(XS_ORIGIN_BIND, "bind vda vnet* 10.10.10.11, fd00::11"), "vda");
	cr_assert_str_eq(pair(XS_ORIGIN_GRANT, "grant bastion -> 10.10.10.12 : rdp"), "",
			 "an overlay may name addresses: no pair");
	cr_assert_str_eq(pair(XS_ORIGIN_FAILSAFE, "failsafe = 192.0.2.10 : tcp/22"), "");
	cr_assert_str_eq(pair(XS_ORIGIN_QUARANTINE, "quarantine 10.10.10.11"), "");
}

Test(metrics, without_a_datapath)
{
	struct xs_metrics_agent ag = { .applies = { 2, 1, 0, 3, 0 } };
	char *text;
	size_t len;

	cr_assert_eq(xs_metrics_build(NULL, NULL, NULL, &text, &len), 0);
	cr_assert_eq(strlen(text), len);
	cr_assert_str_eq(text, "# HELP xdpseg_up 1 when xdpseg's datapath is loaded and its maps "
			       "were read, else 0.\n"
			       "# TYPE xdpseg_up gauge\n"
			       "xdpseg_up 0\n"
			       "# HELP xdpseg_build_info The version of xdpseg serving these "
			       "metrics.\n"
			       "# TYPE xdpseg_build_info gauge\n"
			       "xdpseg_build_info{version=\"" XS_VERSION "\"} 1\n");
	free(text);
	cr_assert_eq(xs_metrics_build(NULL, &ag, NULL, &text, &len), 0);
	cr_assert(strstr(text, "# TYPE xdpseg_policy_applies_total counter\n"
			       "xdpseg_policy_applies_total{outcome=\"applied\"} 2\n"
			       "xdpseg_policy_applies_total{outcome=\"external\"} 1\n"
			       "xdpseg_policy_applies_total{outcome=\"rolled_back\"} 0\n"
			       "xdpseg_policy_applies_total{outcome=\"rejected\"} 3\n"
			       "xdpseg_policy_applies_total{outcome=\"failed\"} 0\n"),
		  "%s", text);
	free(text);
}

Test(metrics, textfile)
{
	char dir[] = "/tmp/xs-metrics-XXXXXX", path[64], bad[96], cmd[96];
	struct stat st;
	char buf[32] = { 0 };
	FILE *f;

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/xdpseg.prom", dir);
	cr_assert_eq(xs_metrics_write_file(path, "xdpseg_up 1\n", 12), 0);
	cr_assert_eq(xs_metrics_write_file(path, "xdpseg_up 0\n", 12), 0);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fread(buf, 1, sizeof(buf) - 1, f), 12);
	fclose(f);
	cr_assert_str_eq(buf, "xdpseg_up 0\n");
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644);
	snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s)\" = xdpseg.prom", dir);
	cr_assert_eq(system(cmd), 0, "a temporary file was left in %s", dir);
	snprintf(bad, sizeof(bad), "%s/none/x.prom", dir);
	cr_assert_eq(xs_metrics_write_file(bad, "x\n", 2), -ENOENT);
	unlink(path);
	cr_assert_eq(rmdir(dir), 0);
}

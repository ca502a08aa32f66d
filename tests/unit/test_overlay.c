// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Overlays as the commands make them (user/ctl/overlay.c): the quarantine
 * and grant statements from the command's words, a grant's end from --for
 * and --until (grant-max), the failsafe value's check, and releasing a
 * target from a list of quarantines. Every error message exactly.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/overlay.h"

static char err[512];

/* The quarantine statement, or "ERROR: message". */
static char *qtext(const char *const *t, size_t nt, bool strict, const char *const *f, size_t nf)
{
	static char buf[1024];
	char *out = NULL;
	int ret;

	err[0] = '\0';
	ret = xs_overlay_quarantine_text(t, nt, strict, f, nf, &out, err, sizeof(err));
	if (ret) {
		cr_assert_null(out);
		snprintf(buf, sizeof(buf), "ERROR: %s", err);
	} else {
		snprintf(buf, sizeof(buf), "%s", out);
	}
	free(out);
	return buf;
}

#define Q(...) ((const char *const[]){ __VA_ARGS__ })

Test(overlay, quarantine_text)
{
	cr_assert_str_eq(qtext(Q("10.10.10.11"), 1, true, NULL, 0),
			 "quarantine 10.10.10.11 strict");
	cr_assert_str_eq(
		qtext(Q("vda", "10.0.0.5/32,fd00::5/128", " 10.1.0.0/16 "), 3, false, NULL, 0),
		"quarantine vda, 10.0.0.5, fd00::5, 10.1.0.0/16");
	cr_assert_str_eq(qtext(Q("vda"), 1, false, Q("bastion:rdp,ssh", "jump , ops"), 2),
			 "quarantine vda forensic bastion : rdp, ssh forensic jump, ops");
	cr_assert_str_eq(qtext(Q("FD00:0:0::5"), 1, false, Q("bastion: tcp/22 , udp/53-54"), 1),
			 "quarantine fd00::5 forensic bastion : tcp/22, udp/53-54");

	cr_assert_str_eq(
		qtext(Q("vda"), 1, true, Q("bastion"), 1),
		"ERROR: --strict and --forensic together: a strict quarantine lets nothing "
		"in, a forensic one lets the named tools in");
	cr_assert_str_eq(qtext(Q("10.0.0.256"), 1, false, NULL, 0),
			 "ERROR: bad target '10.0.0.256': a segment's name, an address or a prefix "
			 "(ADDR/LEN)");
	cr_assert_str_eq(
		qtext(Q("10.0.0.1/33"), 1, false, NULL, 0),
		"ERROR: bad target '10.0.0.1/33': a segment's name, an address or a prefix "
		"(ADDR/LEN)");
	cr_assert_str_eq(qtext(Q("vda strict"), 1, false, NULL, 0),
			 "ERROR: bad target 'vda strict': a segment's name, an address or a prefix "
			 "(ADDR/LEN)");
	cr_assert_str_eq(qtext(Q("strict"), 1, false, NULL, 0),
			 "ERROR: bad target 'strict': a segment's name, an address or a prefix "
			 "(ADDR/LEN)");
	cr_assert_str_eq(qtext(Q("a,,b"), 1, false, NULL, 0), "ERROR: an empty target in 'a,,b'");
	cr_assert_str_eq(qtext(Q("a,"), 1, false, NULL, 0), "ERROR: an empty target after ','");
	cr_assert_str_eq(qtext(Q(""), 1, false, NULL, 0),
			 "ERROR: name what to quarantine (an address or a segment)");
	cr_assert_str_eq(qtext(Q("vda"), 1, false, Q(":ssh"), 1),
			 "ERROR: --forensic ':ssh': name the forensic segment (SEG[:SERVICES])");
	cr_assert_str_eq(qtext(Q("vda"), 1, false, Q("bastion:"), 1),
			 "ERROR: no services after ':'");
	cr_assert_str_eq(qtext(Q("vda"), 1, false, Q("bastion:r d p"), 1),
			 "ERROR: bad service 'r d p': a service's name or PROTO/PORT (tcp/443, "
			 "udp/53-54, icmp/8)");
}

Test(overlay, quarantine_text_too_long)
{
	char *many[40], name[16];
	char *out = NULL;

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "segment-%02d", i);
		many[i] = strdup(name);
	}
	cr_assert_eq(xs_overlay_quarantine_text((const char *const *)many, 40, true, NULL, 0, &out,
						err, sizeof(err)),
		     -E2BIG);
	cr_assert_null(out);
	cr_assert(strstr(err, "bytes: at most 255 fit in the kernel's record; name fewer targets "
			      "(one command each)"),
		  "%s", err);
	for (int i = 0; i < 40; i++)
		free(many[i]);
}

static char *gtext(const char *const *w, size_t n)
{
	static char buf[1024];
	char *out = NULL;

	if (xs_overlay_grant_text(w, n, &out, err, sizeof(err)))
		snprintf(buf, sizeof(buf), "ERROR: %s", err);
	else
		snprintf(buf, sizeof(buf), "%s", out);
	free(out);
	return buf;
}

Test(overlay, grant_text)
{
	cr_assert_str_eq(gtext(Q("bastion", "->", "vda", ":", "rdp"), 5),
			 "grant bastion -> vda : rdp");
	cr_assert_str_eq(gtext(Q("bastion->vda:rdp,tcp/3389"), 1),
			 "grant bastion -> vda : rdp, tcp/3389");
	cr_assert_str_eq(gtext(Q("bastion,  jump -> 10.10.10.11/32 : rdp"), 1),
			 "grant bastion, jump -> 10.10.10.11 : rdp");
	/* IPv6: the services' ':' is the spaced one, else the last */
	cr_assert_str_eq(gtext(Q("10.0.0.1", "->", "fd00::5:ssh"), 3),
			 "grant 10.0.0.1 -> fd00::5 : ssh");
	cr_assert_str_eq(gtext(Q("fd00::1 -> fd00::5 : ssh"), 1), "grant fd00::1 -> fd00::5 : ssh");

	cr_assert_str_eq(gtext(Q("bastion", "vda", ":", "rdp"), 4),
			 "ERROR: expected SRC -> DST : SERVICES (one '->'), found 'bastion vda : "
			 "rdp'");
	cr_assert_str_eq(gtext(Q("a -> b -> c : rdp"), 1),
			 "ERROR: expected SRC -> DST : SERVICES (one '->'), found 'a -> b -> c : "
			 "rdp'");
	cr_assert_str_eq(gtext(Q("a", "->", "b"), 3),
			 "ERROR: expected SRC -> DST : SERVICES (the services after ':'), found "
			 "'a -> b'");
	cr_assert_str_eq(gtext(Q("->", "b", ":", "rdp"), 4), "ERROR: no source before '->'");
	cr_assert_str_eq(gtext(Q("a", "->", ":", "rdp"), 4), "ERROR: no destination after '->'");
	cr_assert_str_eq(gtext(NULL, 0), "ERROR: expected SRC -> DST : SERVICES");
	cr_assert_str_eq(gtext(Q("a$ -> b : rdp"), 1),
			 "ERROR: bad source 'a$': a segment's name, an address or a prefix "
			 "(ADDR/LEN)");
}

Test(overlay, parse_time)
{
	uint64_t t;

	setenv("TZ", "UTC", 1);
	tzset();
	cr_assert_eq(xs_parse_time("@1700000000", &t), 0);
	cr_assert_eq(t, 1700000000);
	cr_assert_eq(xs_parse_time("1700000000", &t), 0);
	cr_assert_eq(t, 1700000000);
	cr_assert_eq(xs_parse_time("2026-01-02 03:04:05", &t), 0);
	cr_assert_eq(t, 1767323045);
	cr_assert_eq(xs_parse_time("2026-01-02 03:04", &t), 0);
	cr_assert_eq(t, 1767323040);
	cr_assert_eq(xs_parse_time("2026-01-02T03:04", &t), 0);
	cr_assert_eq(t, 1767323040);
	/* local time */
	setenv("TZ", "CET-1", 1);
	tzset();
	cr_assert_eq(xs_parse_time("2026-01-02 04:04", &t), 0);
	cr_assert_eq(t, 1767323040);
	unsetenv("TZ");
	tzset();
	cr_assert_eq(xs_parse_time("tomorrow", &t), -EINVAL);
	cr_assert_eq(xs_parse_time("2026-01-02", &t), -EINVAL);
	cr_assert_eq(xs_parse_time("2026-01-02 03:04 PM", &t), -EINVAL);
	cr_assert_eq(xs_parse_time("@", &t), -EINVAL);
	cr_assert_eq(xs_parse_time("-5", &t), -EINVAL);
}

/* The end, or "ERROR: message". */
static const char *expiry(const char *dur, const char *until, uint64_t now, uint64_t max)
{
	static char buf[600];
	uint64_t end = 0;

	if (xs_grant_expiry(dur, until, now, max, "/etc/xdpseg/xdpseg.conf", &end, err,
			    sizeof(err)))
		snprintf(buf, sizeof(buf), "ERROR: %s", err);
	else
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)end);
	return buf;
}

Test(overlay, grant_expiry)
{
	const uint64_t now = 1700000000, day = 86400;

	cr_assert_str_eq(expiry("90s", NULL, now, day), "1700000090");
	cr_assert_str_eq(expiry("15m", NULL, now, day), "1700000900");
	cr_assert_str_eq(expiry("8h", NULL, now, day), "1700028800");
	cr_assert_str_eq(expiry("1d", NULL, now, day), "1700086400");
	cr_assert_str_eq(expiry(NULL, "@1700003600", now, day), "1700003600");
	cr_assert_str_eq(expiry("30d", NULL, now, 0), "1702592000"); /* no limit */

	cr_assert_str_eq(expiry("25h", NULL, now, day),
			 "ERROR: a grant of 1d1h is longer than grant-max = 1d in "
			 "/etc/xdpseg/xdpseg.conf allows: grant less (or raise grant-max there)");
	cr_assert_str_eq(expiry(NULL, "@1700090000", now, day),
			 "ERROR: a grant of 1d1h is longer than grant-max = 1d in "
			 "/etc/xdpseg/xdpseg.conf allows: grant less (or raise grant-max there)");
	cr_assert_str_eq(expiry("8", NULL, now, day),
			 "ERROR: --for '8': a duration with its unit, as 90s, 15m, 8h or 1d");
	cr_assert_str_eq(expiry("0s", NULL, now, day),
			 "ERROR: --for '0s': a duration with its unit, as 90s, 15m, 8h or 1d");
	cr_assert_str_eq(expiry("999999999d", NULL, now, day),
			 "ERROR: --for '999999999d': too long");
	cr_assert_str_eq(expiry(NULL, "@1699999999", now, day),
			 "ERROR: --until '@1699999999': that time has passed");
	cr_assert_str_eq(expiry(NULL, "soon", now, day),
			 "ERROR: --until 'soon': a time as 'YYYY-MM-DD HH:MM[:SS]' (local time) or "
			 "unix seconds");
	cr_assert_str_eq(expiry(NULL, NULL, now, day),
			 "ERROR: say how long the grant lasts: --for DURATION (90s, 15m, 8h, 1d) "
			 "or --until TIME ('YYYY-MM-DD HH:MM[:SS]' local time, or unix seconds), "
			 "one of them");
	cr_assert_str_eq(expiry("1h", "@1700003600", now, day),
			 "ERROR: say how long the grant lasts: --for DURATION (90s, 15m, 8h, 1d) "
			 "or --until TIME ('YYYY-MM-DD HH:MM[:SS]' local time, or unix seconds), "
			 "one of them");
}

Test(overlay, failsafe_check)
{
	cr_assert_eq(xs_failsafe_check("192.0.2.10 : tcp/22", err, sizeof(err)), 0);
	cr_assert_eq(xs_failsafe_check("192.0.2.0/24, fd00::1:ssh", err, sizeof(err)), 0);
	cr_assert_eq(xs_failsafe_check("fd00::1 : ssh, tcp/443", err, sizeof(err)), 0);
	cr_assert_eq(xs_failsafe_check(", 192.0.2.1 : ssh", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "bad address '' in failsafe: an IPv4 or IPv6 address or prefix "
			      "(ADDR/LEN); the failsafe ports are addresses of this host, not "
			      "segments");
}

Test(overlay, parts_and_mode)
{
	char **t = NULL, *mode = NULL, buf[256];
	size_t n = 0;

	cr_assert_eq(xs_overlay_quarantine_parts("quarantine vda, 10.0.0.5 forensic bastion : rdp",
						 &t, &n, &mode),
		     0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(t[0], "vda");
	cr_assert_str_eq(t[1], "10.0.0.5");
	cr_assert_str_eq(mode, " forensic bastion : rdp");
	xs_overlay_strv_free(t, n);
	free(mode);
	cr_assert_eq(xs_overlay_quarantine_parts("grant a -> b : c", &t, &n, &mode), -EINVAL);

	xs_overlay_mode("quarantine vda strict", buf, sizeof(buf));
	cr_assert_str_eq(buf, "strict");
	xs_overlay_mode("quarantine vda", buf, sizeof(buf));
	cr_assert_str_eq(buf, "forensic (the policy's)");
	xs_overlay_mode("quarantine strict-vda forensic bastion : rdp", buf, sizeof(buf));
	cr_assert_str_eq(buf, "forensic bastion : rdp");

	cr_assert(xs_overlay_target_eq("10.0.0.5", "10.0.0.5/32"));
	cr_assert(xs_overlay_target_eq("fd00::5", "FD00:0::5/128"));
	cr_assert(!xs_overlay_target_eq("10.0.0.5", "10.0.0.0/24"));
	cr_assert(xs_overlay_target_eq("vda", "vda"));
	cr_assert(!xs_overlay_target_eq("vda", "VDA"));
}

Test(overlay, release_target)
{
	struct xs_overlay_list l = { 0 };
	struct xs_overlay_in q1 = { .number = 1,
				    .kind = XS_OVERLAY_QUARANTINE,
				    .text = "quarantine vda, 10.0.0.5 strict",
				    .reason = "x" };
	struct xs_overlay_in g2 = { .number = 2,
				    .kind = XS_OVERLAY_GRANT,
				    .text = "grant a -> 10.0.0.5 : rdp",
				    .reason = "" };
	struct xs_overlay_in q3 = { .number = 3,
				    .kind = XS_OVERLAY_QUARANTINE,
				    .text = "quarantine 10.0.0.6",
				    .reason = "" };
	size_t released;

	cr_assert_eq(xs_overlay_list_add(&l, &q1), 0);
	cr_assert_eq(xs_overlay_list_add(&l, &g2), 0);
	cr_assert_eq(xs_overlay_list_add(&l, &q3), 0);

	cr_assert_eq(xs_overlay_release_target(&l, "10.0.0.5/32", &released), 0);
	cr_assert_eq(released, 1);
	cr_assert_eq(l.n, 3);
	cr_assert_str_eq(l.v[0].text, "quarantine vda strict"); /* the others keep it */
	cr_assert_eq(l.v[0].number, 1);
	cr_assert_str_eq(l.v[0].reason, "x");
	cr_assert_str_eq(l.v[1].text, "grant a -> 10.0.0.5 : rdp"); /* grants untouched */

	cr_assert_eq(xs_overlay_release_target(&l, "10.0.0.6", &released), 0);
	cr_assert_eq(released, 1);
	cr_assert_eq(l.n, 2);
	cr_assert_eq(xs_overlay_list_find(&l, 3), -1);
	cr_assert_eq(xs_overlay_list_find(&l, 2), 1);

	cr_assert_eq(xs_overlay_release_target(&l, "nothing", &released), 0);
	cr_assert_eq(released, 0);
	xs_overlay_list_del(&l, 0);
	cr_assert_eq(l.n, 1);
	cr_assert_eq(l.v[0].number, 2);
	xs_overlay_list_free(&l);
}

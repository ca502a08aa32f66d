// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/util.c: the duration parser the commands share (apply --confirm,
 * grant --for) and its printer: every unit, sums of units, the refusals
 * (no unit, an unknown one, zero, a sign, a space, past 100 years).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "util.h"

static uint64_t dur(const char *s)
{
	uint64_t secs = 0;

	cr_assert_eq(xs_parse_duration(s, &secs), 0, "'%s' refused", s);
	return secs;
}

static int dur_err(const char *s)
{
	uint64_t secs = 7;
	int err = xs_parse_duration(s, &secs);

	cr_assert_eq(secs, 7, "'%s': *secs written on an error", s);
	return err;
}

Test(duration, units)
{
	cr_assert_eq(dur("90s"), 90);
	cr_assert_eq(dur("1s"), 1);
	cr_assert_eq(dur("15m"), 900);
	cr_assert_eq(dur("8h"), 28800);
	cr_assert_eq(dur("1d"), 86400);
	cr_assert_eq(dur("120s"), 120);
	cr_assert_eq(dur("007s"), 7);
}

Test(duration, sums)
{
	cr_assert_eq(dur("1h30m"), 5400);
	cr_assert_eq(dur("1d2h3m4s"), 86400 + 7200 + 180 + 4);
	cr_assert_eq(dur("0h10s"), 10);
}

Test(duration, refused)
{
	static const char *const bad[] = {
		"",    "8",  "s",    "10x",  "10 s", " 10s", "10s ", "-5s",
		"+5s", "0s", "0h0m", "1.5h", "10S",  "h10",  "10sm", "1e3s",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(dur_err(bad[i]), -EINVAL, "'%s' accepted", bad[i]);
	cr_expect_eq(xs_parse_duration(NULL, &(uint64_t){ 0 }), -EINVAL);
}

Test(duration, range)
{
	cr_assert_eq(dur("36600d"), 36600ULL * 86400);
	cr_expect_eq(dur_err("36601d"), -ERANGE);
	cr_expect_eq(dur_err("99999999999999999999999s"), -ERANGE);
	cr_expect_eq(dur_err("36600d1s"), -ERANGE);
}

static void fmt_is(uint64_t secs, const char *want)
{
	char buf[32];

	xs_format_duration(secs, buf, sizeof(buf));
	cr_expect_str_eq(buf, want, "%llu s", (unsigned long long)secs);
}

Test(duration, format)
{
	fmt_is(0, "0s");
	fmt_is(45, "45s");
	fmt_is(60, "1m");
	fmt_is(150, "2m30s");
	fmt_is(3600, "1h");
	fmt_is(3725, "1h2m");
	fmt_is(28800, "8h");
	fmt_is(86400 + 7200, "1d2h");
	fmt_is(86400 + 59, "1d");
}

Test(duration, round_trip)
{
	char buf[32];

	for (uint64_t s = 1; s < 200000; s += 37) {
		uint64_t back;

		xs_format_duration(s, buf, sizeof(buf));
		cr_assert_eq(xs_parse_duration(buf, &back), 0, "%s", buf);
		cr_assert_leq(back, s);
	}
}

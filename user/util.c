// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "json.h"

int xs_verbose;
bool xs_json;
static xs_log_fn log_fn;

void xs_set_log(xs_log_fn fn)
{
	log_fn = fn;
}

void p_err(const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (log_fn) {
		log_fn(LOG_ERR, msg ? msg : "out of memory");
	} else if (xs_json) {
		fputs("{\"error\":", stdout);
		json_print_str(stdout, msg ? msg : "out of memory");
		fputs("}\n", stdout);
		fflush(stdout);
	} else {
		fprintf(stderr, "xdpseg: error: %s\n", msg ? msg : "out of memory");
	}
	free(msg);
}

void p_warn(const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (log_fn)
		log_fn(LOG_WARNING, msg ? msg : "out of memory");
	else
		fprintf(stderr, "xdpseg: warning: %s\n", msg ? msg : "out of memory");
	free(msg);
}

int p_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("xdpseg: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'xdpseg %s --help'.\n", cmd);
	return XS_EXIT_USAGE;
}

void xs_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* 100 years: no window is longer, and no sum of units overflows on the way. */
#define XS_DURATION_MAX (100ULL * 366 * 86400)

int xs_parse_duration(const char *s, uint64_t *secs)
{
	uint64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		uint64_t n = 0, unit;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (uint64_t)(*s++ - '0');
			if (n > XS_DURATION_MAX)
				return -ERANGE;
		}
		switch (*s++) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		default: /* no unit, or one we do not know */
			return -EINVAL;
		}
		total += n * unit;
		if (total > XS_DURATION_MAX)
			return -ERANGE;
	}
	if (!total)
		return -EINVAL;
	*secs = total;
	return 0;
}

void xs_format_duration(uint64_t secs, char *buf, size_t size)
{
	static const struct {
		uint64_t secs;
		char unit;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
	size_t i = 0, len;

	while (i < 3 && secs < units[i].secs)
		i++;
	len = (size_t)snprintf(buf, size, "%llu%c", (unsigned long long)(secs / units[i].secs),
			       units[i].unit);
	secs %= units[i].secs;
	if (i < 3 && secs / units[i + 1].secs && len < size)
		snprintf(buf + len, size - len, "%llu%c",
			 (unsigned long long)(secs / units[i + 1].secs), units[i + 1].unit);
}

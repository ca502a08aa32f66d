// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "util.h"

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

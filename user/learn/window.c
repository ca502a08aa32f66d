// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The window the commands look back over: `--since 7d`. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "learn.h"

int64_t learn_parse_window(const char *s)
{
	char *end;
	long long v;
	int64_t unit;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || v <= 0)
		return -EINVAL;
	switch (*end) {
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
	case 'w':
		unit = 7 * 86400;
		break;
	default:
		return -EINVAL;
	}
	if (end[1] || v > (int64_t)(100 * 365) * 86400 / unit)
		return -EINVAL;
	return v * unit;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Base64, RFC 4648 (see b64.h). */
#include "b64.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void xs_b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* The 6-bit value of an alphabet character, or -1. */
static int value(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

int xs_b64_decode(const char *in, uint8_t *out, size_t size)
{
	size_t len = strlen(in), o = 0;

	if (len % 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		int a = value(in[i]), b = value(in[i + 1]), c, d;
		bool last = i + 4 == len;
		size_t n = 3;
		uint32_t v;

		/* padding only in the last group: "xx==" or "xxx=" */
		if (last && in[i + 2] == '=' && in[i + 3] == '=') {
			c = d = 0;
			n = 1;
		} else if (last && in[i + 3] == '=') {
			c = value(in[i + 2]);
			d = 0;
			n = 2;
		} else {
			c = value(in[i + 2]);
			d = value(in[i + 3]);
		}
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -EINVAL;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		/* the bits under the padding are zero in canonical base64 */
		if ((n == 1 && (v & 0xffff)) || (n == 2 && (v & 0xff)))
			return -EINVAL;
		if (size - o < n)
			return -ENOSPC;
		out[o++] = (uint8_t)(v >> 16);
		if (n > 1)
			out[o++] = (uint8_t)(v >> 8);
		if (n > 2)
			out[o++] = (uint8_t)v;
	}
	return o > (size_t)0x7fffffff ? -ENOSPC : (int)o;
}

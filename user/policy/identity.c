// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A rule's identity across applies: its kind and its normalised text (the
 * lexer's tokens, one space apart), never its line or position; fitted into
 * an origin record (XS_ORIGIN_TEXT_LEN bytes) without losing it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What ends a text too long for its record: " ... #" and 16 hex digits. */
#define FIT_MARK " ... #"
#define FIT_HEX 16

char *xs_origin_normalise(enum xs_origin_kind kind, const char *text)
{
	/* allow/deny and `quarantine forensic` statements read ':' as a token
	 * (the parser lexes them so); every other statement and overlay reads
	 * it inside words (IPv6 addresses) */
	bool colon_word = kind != XS_ORIGIN_RULE && !(kind == XS_ORIGIN_FORENSIC &&
						      !strncmp(text, "quarantine forensic ", 20));
	size_t n = strlen(text);
	/* one space at most before each byte: twice the length bounds it */
	char *out = malloc(2 * n + 1), *o = out;
	const char *p = text;

	if (!out)
		return NULL;
	while (*p) {
		const char *s = p;

		if (*p == ' ' || *p == '\t') {
			p++;
			continue;
		}
		if (*p == ',') {
			p++;
		} else if (*p == ':' && !colon_word) {
			p++;
		} else if (p[0] == '-' && p[1] == '>') {
			p += 2;
		} else if (*p == '"') {
			const char *e = strchr(p + 1, '"');

			if (!e)
				goto as_is;
			p = e + 1;
		} else if (xs_word_char(*p, colon_word, true)) {
			while (xs_word_char(*p, colon_word, true) && !(p[0] == '-' && p[1] == '>'))
				p++;
		} else {
			/* not a statement the lexer reads (an implicit default's
			 * generated text): it is its own normal form */
			goto as_is;
		}
		if (o != out && *s != ',')
			*o++ = ' ';
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
	}
	*o = '\0';
	return out;
as_is:
	memcpy(out, text, n + 1);
	return out;
}

int xs_origin_text(enum xs_origin_kind kind, const char *text, char out[XS_ORIGIN_TEXT_LEN])
{
	char *norm = xs_origin_normalise(kind, text ? text : "");
	uint8_t sum[32];
	size_t n, head;

	if (!norm)
		return -ENOMEM;
	n = strlen(norm);
	if (n < XS_ORIGIN_TEXT_LEN) {
		memcpy(out, norm, n + 1);
		free(norm);
		return 0;
	}
	head = XS_ORIGIN_TEXT_LEN - 1 - (sizeof(FIT_MARK) - 1) - FIT_HEX;
	/* never half a UTF-8 sequence (a string may hold one), nor a blank */
	while (head && ((unsigned char)norm[head] & 0xc0) == 0x80)
		head--;
	while (head && norm[head - 1] == ' ')
		head--;
	xs_sha256(norm, n, sum);
	memcpy(out, norm, head);
	memcpy(out + head, FIT_MARK, sizeof(FIT_MARK) - 1);
	head += sizeof(FIT_MARK) - 1;
	for (int i = 0; i < FIT_HEX / 2; i++)
		snprintf(out + head + 2 * (size_t)i, 3, "%02x", sum[i]);
	out[head + FIT_HEX] = '\0';
	free(norm);
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Minimal JSON output: every JSON twin of a text output uses these. */
#ifndef XS_JSON_H
#define XS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A JSON string literal, quoted and escaped (control chars as \u00XX). */
void json_print_str(FILE *f, const char *s);
/* "key": (with a leading comma unless first) */
void json_print_key(FILE *f, const char *key, int first);
/* Lowercase hex of a byte string, quoted. */
void json_print_hex(FILE *f, const uint8_t *b, size_t n);

#endif /* XS_JSON_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * How `suggest` and `replay` write what they read: dates, addresses, port
 * specs, origins, and strings from a store or a file (untrusted) inside a
 * policy's comment, where a newline would end the comment and start a
 * statement.
 */
#ifndef XS_LEARN_TEXT_H
#define XS_LEARN_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

/* "2025-01-31" (UTC); t < 0: "-". */
void learn_date(char *buf, size_t size, int64_t t);
/* "10.1.2.3", "fd00::1" (family 4 or 6). */
void learn_addr(char *buf, size_t size, uint8_t family, const uint8_t *addr);
/* "10.1.0.0/16"; a whole address (/32, /128) bare. */
void learn_prefix(char *buf, size_t size, uint8_t family, const uint8_t *addr, unsigned int len);
/* A port spec as the policy language writes it: "tcp/80", "tcp/1-2", "udp"
 * (every port), "icmp/8", "icmp" (every type); "" for one it cannot (every
 * protocol). */
void learn_spec_text(char *buf, size_t size, const struct xs_portspec *p);
/* s with every byte but printable ASCII (0x20-0x7e) as \xNN: nothing in it
 * can end a comment, move the cursor or reorder what a terminal shows. */
void learn_print_safe(FILE *out, const char *s);

#endif /* XS_LEARN_TEXT_H */

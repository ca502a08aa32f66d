/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Output helpers shared by every command: errors, warnings, verbosity. */
#ifndef XS_UTIL_H
#define XS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes. */
#define XS_EXIT_OK 0
#define XS_EXIT_FAIL 1	/* the command failed (policy error, kernel error, ...) */
#define XS_EXIT_USAGE 2 /* bad command line */
/* status: something that should be protected is not (an interface, a
 * policy, an agent's interface): a monitoring check's failure. */
#define XS_EXIT_UNPROTECTED 3

extern int xs_verbose; /* -v: show libbpf's own log */
extern bool xs_json;   /* the command prints JSON: errors become {"error": ...} */

/* "xdpseg: error: MSG" on stderr, or {"error":"MSG"} on stdout in JSON mode. */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "xdpseg: warning: MSG" on stderr (also in JSON mode). */
void p_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Where p_err() and p_warn() go instead (a long-running process's log), or
 * NULL for stderr. `level` is a syslog priority (LOG_ERR, LOG_WARNING).
 */
typedef void (*xs_log_fn)(int level, const char *msg);
void xs_set_log(xs_log_fn fn);

/* Usage error for command `cmd`: prints MSG and "try 'xdpseg CMD --help'". */
int p_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Lowercase hex of `n` bytes into `out` (2n+1 bytes, NUL-terminated). */
void xs_hex(const uint8_t *b, size_t n, char *out);

#endif /* XS_UTIL_H */

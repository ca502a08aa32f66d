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

/*
 * A duration as the commands take it (apply --confirm, grant --for): one or
 * more NUMBER UNIT pairs, unit s, m, h or d, as `90s`, `15m`, `8h`, `1d`,
 * `1h30m`; a unit is required (is `8` hours or seconds?). Returns 0 and
 * *secs (at least 1), -EINVAL for anything else (empty, no unit, an unknown
 * unit, a sign, a space, zero), -ERANGE past 100 years.
 */
int xs_parse_duration(const char *s, uint64_t *secs);

/* `secs` the way a person reads it: the largest unit, and the next one when
 * it is not zero ("45s", "2m30s", "8h", "1d2h"; 3725 s is "1h2m"). */
void xs_format_duration(uint64_t secs, char *buf, size_t size);

#endif /* XS_UTIL_H */

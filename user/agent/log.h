/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's log: one line per event on stderr, with a level. Under
 * systemd (stderr is the journal's stream, $JOURNAL_STREAM) each line
 * starts with its syslog priority, "<3>...", as sd-daemon(3) describes;
 * otherwise with "xdpseg-agent: LEVEL: ".
 */
#ifndef XS_AGENT_LOG_H
#define XS_AGENT_LOG_H

#include <syslog.h>

/* Decide the format once (is stderr the journal?) and take p_err/p_warn over. */
void agent_log_init(void);

/* One event at a syslog level (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG). */
void agent_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line that already names its place and level ("FILE:LINE: error: ..."). */
void agent_log_raw(int level, const char *msg);

/* The last error p_err() reported since agent_log_clear_last() (NULL: none). */
void agent_log_clear_last(void);
const char *agent_log_last(void);

#endif /* XS_AGENT_LOG_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where flow records go besides the socket: an NDJSON file rotated by size
 * (FILE, FILE.1, ... FILE.KEEP, as logrotate names them), and syslog(3)
 * (journald, or the host's syslog daemon, which writes RFC 5424).
 */
#ifndef XS_AGENT_FLOWSINK_H
#define XS_AGENT_FLOWSINK_H

#include <stddef.h>
#include <stdint.h>

struct flowsink_file;

/*
 * Open (append to) `path`, rotated when a record would take it past
 * `max_bytes`, keeping `keep` rotated files (0: the file is truncated
 * instead). Returns 0 or a negative errno; `err` then says why.
 */
int flowsink_file_open(struct flowsink_file **out, const char *path, uint64_t max_bytes,
		       unsigned int keep, char *err, size_t errlen);
/* Append one record (a line without its newline). 0 or a negative errno. */
int flowsink_file_write(struct flowsink_file *f, const char *line);
/* Records written, and rotations done, since the open. */
uint64_t flowsink_file_records(const struct flowsink_file *f);
uint64_t flowsink_file_rotations(const struct flowsink_file *f);
void flowsink_file_close(struct flowsink_file *f);

/* syslog(3): one message per record, identity "xdpseg-flows", LOG_INFO
 * (deny records LOG_NOTICE), facility LOG_DAEMON. */
void flowsink_syslog_open(void);
void flowsink_syslog_write(const char *kind, const char *line);
void flowsink_syslog_close(void);

#endif /* XS_AGENT_FLOWSINK_H */

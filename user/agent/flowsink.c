// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Flow records' file and syslog sinks (flowsink.h). */
#include "flowsink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

struct flowsink_file {
	char *path;
	int fd;
	uint64_t size; /* of the open file */
	uint64_t max_bytes;
	unsigned int keep;
	uint64_t records, rotations;
};

static int open_append(struct flowsink_file *f)
{
	struct stat st;

	f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st)) {
		int err = -errno;

		close(f->fd);
		f->fd = -1;
		return err;
	}
	f->size = (uint64_t)st.st_size;
	return 0;
}

int flowsink_file_open(struct flowsink_file **out, const char *path, uint64_t max_bytes,
		       unsigned int keep, char *err, size_t errlen)
{
	struct flowsink_file *f = calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (!f || !(f->path = strdup(path))) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->max_bytes = max_bytes;
	f->keep = keep;
	rc = open_append(f);
	if (rc) {
		snprintf(err, errlen, "cannot open the flow log %s: %s", path, strerror(-rc));
		free(f->path);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* FILE.(n-1) -> FILE.n, ..., FILE -> FILE.1, then a new FILE. */
static int rotate(struct flowsink_file *f)
{
	size_t n = strlen(f->path) + 16;
	char *from = malloc(n), *to = malloc(n);
	int rc = 0;

	if (!from || !to) {
		rc = -ENOMEM;
		goto out;
	}
	close(f->fd);
	f->fd = -1;
	if (!f->keep) {
		if (truncate(f->path, 0))
			rc = -errno;
	} else {
		for (unsigned int i = f->keep; i > 1; i--) {
			snprintf(from, n, "%s.%u", f->path, i - 1);
			snprintf(to, n, "%s.%u", f->path, i);
			if (rename(from, to) && errno != ENOENT)
				rc = -errno;
		}
		snprintf(to, n, "%s.1", f->path);
		if (rename(f->path, to) && errno != ENOENT)
			rc = -errno;
	}
	f->rotations++;
	{
		int orc = open_append(f);

		if (orc)
			rc = orc;
	}
out:
	free(from);
	free(to);
	return rc;
}

int flowsink_file_write(struct flowsink_file *f, const char *line)
{
	size_t len = strlen(line);
	char *buf;
	ssize_t w;
	int rc = 0;

	if (f->fd < 0) { /* a failed rotation: try again */
		rc = open_append(f);
		if (rc)
			return rc;
	}
	if (f->max_bytes && f->size && f->size + len + 1 > f->max_bytes) {
		rc = rotate(f);
		if (rc && f->fd < 0)
			return rc;
	}
	/* one write per record: O_APPEND keeps lines whole */
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, line, len);
	buf[len] = '\n';
	w = write(f->fd, buf, len + 1);
	free(buf);
	if (w < 0)
		return -errno;
	f->size += (uint64_t)w;
	f->records++;
	return (size_t)w == len + 1 ? 0 : -EIO;
}

uint64_t flowsink_file_records(const struct flowsink_file *f)
{
	return f->records;
}

uint64_t flowsink_file_rotations(const struct flowsink_file *f)
{
	return f->rotations;
}

void flowsink_file_close(struct flowsink_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

void flowsink_syslog_open(void)
{
	openlog("xdpseg-flows", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void flowsink_syslog_write(const char *kind, const char *line)
{
	syslog(strcmp(kind, "deny") ? LOG_INFO : LOG_NOTICE, "%s", line);
}

void flowsink_syslog_close(void)
{
	closelog();
}

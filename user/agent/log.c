// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's log: stderr, one line per event, journal priorities when under systemd. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static bool journal;
static char last_err[256]; /* the last error the ctl library reported */

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
		return "critical";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The same line again within REPEAT_S seconds is counted, not printed (a
 * failure retried every second must not flood the journal); the count is
 * said before the next different line, or with the line a minute later.
 */
#define REPEAT_S 60
static char last_line[2048];
static int last_level;
static double last_at;
static unsigned long repeats;

static void say_repeats(void)
{
	if (!repeats)
		return;
	if (journal)
		fprintf(stderr, "<%d>(the last message was repeated %lu more times)\n", last_level,
			repeats);
	else
		fprintf(stderr,
			"xdpseg-agent: %s: (the last message was repeated %lu more times)\n",
			level_name(last_level), repeats);
	repeats = 0;
}

/* One line: a newline or control byte inside a message would forge a second one. */
static void emit(int level, const char *prefix, const char *msg)
{
	char line[2048];
	size_t o = 0;
	double now;

	if (level >= LOG_DEBUG && !xs_verbose)
		return;
	for (const char *p = msg; *p && o + 1 < sizeof(line); p++)
		line[o++] = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
	line[o] = '\0';
	now = mono();
	if (level == last_level && !strcmp(line, last_line) && now - last_at < REPEAT_S) {
		repeats++;
		return;
	}
	say_repeats();
	memcpy(last_line, line, o + 1);
	last_level = level;
	last_at = now;
	if (journal)
		fprintf(stderr, "<%d>%s\n", level, line);
	else if (prefix)
		fprintf(stderr, "xdpseg-agent: %s: %s\n", prefix, line);
	else
		fprintf(stderr, "%s\n", line);
	fflush(stderr);
}

void agent_log_raw(int level, const char *msg)
{
	emit(level, NULL, msg);
}

static void from_ctl(int level, const char *msg)
{
	if (level <= LOG_ERR)
		snprintf(last_err, sizeof(last_err), "%s", msg);
	emit(level, level_name(level), msg);
}

void agent_log_clear_last(void)
{
	last_err[0] = '\0';
}

const char *agent_log_last(void)
{
	return last_err[0] ? last_err : NULL;
}

void agent_log(int level, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	emit(level, level_name(level), msg ? msg : "out of memory");
	free(msg);
}

void agent_log_init(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	/* sd-daemon(3): the journal's stream only if stderr is that very socket. */
	journal = env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
		  fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
		  (unsigned long long)st.st_ino == ino;
	xs_set_log(from_ctl);
}

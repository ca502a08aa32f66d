/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The agent's capture of dropped and audited packets (capture.c). */
#ifndef XS_AGENT_CAPTURE_H
#define XS_AGENT_CAPTURE_H

#include <stdint.h>

struct agent;

/* At start, after agent_records_init(): snap-len, the file of `capture`, and a sink. */
int agent_capture_init(struct agent *a);
/* After a reload: a new file when `capture` names another one. */
void agent_capture_reconfigure(struct agent *a);
/* Once a second: snap-len, when it waited for a commit-confirm. */
void agent_capture_tick(struct agent *a);
void agent_capture_stop(struct agent *a);
/* Packets written to the file in force. */
uint64_t agent_capture_count(const struct agent *a);

#endif /* XS_AGENT_CAPTURE_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's part of `xdpseg status`: asked over its socket (agent/client.h)
 * for its status, it says what it selects and whether each interface is
 * protected, where its policy comes from, and whether its policy file still
 * compiles. No agent is no error: status then checks what is recorded.
 */
#ifndef XS_STATUS_AGENT_H
#define XS_STATUS_AGENT_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

struct xs_agent_view {
	const char *sock;	   /* where it was asked */
	int err;		   /* 0: it answered; -ENOENT, -ECONNREFUSED: none listens */
	char why[256];		   /* when it did not answer usably, why */
	struct json_object *reply; /* its status (a checked shape), when it answered */
	size_t nbad;		   /* interfaces it selects that are not protected */
	const char *file_error;	   /* its policy file no longer compiles: the error */
};

/* Ask the agent (at most 1 s). */
void xs_agent_view_get(struct xs_agent_view *v);
void xs_agent_view_free(struct xs_agent_view *v);

/* It answered. */
static inline bool xs_agent_view_running(const struct xs_agent_view *v)
{
	return v->reply != NULL;
}

/*
 * Append " NAME STATE (agent)" to a summary at buf[*o] for each interface
 * it selects that is not protected (after a comma when *o > base), except
 * `skip(ctx, NAME)` ones (named already). Returns how many it appended.
 */
size_t xs_agent_view_summary(const struct xs_agent_view *v, char *buf, size_t size, size_t *o,
			     size_t base, bool (*skip)(void *ctx, const char *name), void *ctx);

/* The agent's section of the text output, and its JSON object ("agent"). */
void xs_agent_view_text(const struct xs_agent_view *v);
void xs_agent_view_json(const struct xs_agent_view *v);

#endif /* XS_STATUS_AGENT_H */

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The stores, window and policy `map`, `suggest` and `replay` share. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/client.h"
#include "cmds.h"
#include "learn_cli.h"
#include "util.h"

void learn_cli_init(struct learn_cli *l, const char *cmd, int64_t since_s)
{
	memset(l, 0, sizeof(*l));
	l->cmd = cmd;
	l->since_s = since_s;
	l->now = (int64_t)time(NULL);
}

int learn_cli_option(struct learn_cli *l, int opt, const char *arg)
{
	uint64_t w;

	switch (opt) {
	case 'S':
		if (l->nstores == LEARN_CLI_MAX_STORES)
			return p_usage(l->cmd, "at most %d --store", LEARN_CLI_MAX_STORES);
		l->stores[l->nstores++] = arg;
		return 0;
	case 'W':
		if (xs_parse_duration(arg, &w))
			return p_usage(
				l->cmd,
				"--since '%s': give a number and a unit: 90m, 24h, 7d, 1d12h", arg);
		l->since_s = (int64_t)w;
		return 0;
	default:
		return p_usage(l->cmd, "bad option");
	}
}

/*
 * The agent's store, brought up to now: the agent running on the socket in
 * force walks its flow tables and flushes (store-sync) and names its file;
 * without an agent, the state directory's store as it is.
 */
static int default_store(struct learn_cli *l)
{
	char msg[sizeof(l->default_store)] = "";
	int ret = agent_store_sync(msg, sizeof(msg));

	switch (ret) {
	case 0:
		snprintf(l->default_store, sizeof(l->default_store), "%s", msg);
		break;
	case -ENODATA:
		fprintf(stderr,
			"xdpseg %s: the agent keeps no flow store (%s): set flow-store in its "
			"configuration, or name a store with --store FILE\n",
			l->cmd, msg);
		return ret;
	case -EIO:
		fprintf(stderr,
			"xdpseg %s: warning: the agent's flow store: %s; reading it as it is\n",
			l->cmd, msg);
		break;
	case -ENOENT:
	case -ECONNREFUSED: /* no agent: the store as it is */
		break;
	default:
		fprintf(stderr,
			"xdpseg %s: warning: the agent did not bring its flow store up to now "
			"(%s); reading it as it is\n",
			l->cmd, strerror(-ret));
	}
	if (ret) {
		ret = xs_store_default_path(l->default_store, sizeof(l->default_store));
		if (ret) {
			fprintf(stderr, "xdpseg %s: the flow store's path: %s\n", l->cmd,
				strerror(-ret));
			return ret;
		}
	}
	l->stores[l->nstores++] = l->default_store;
	return 0;
}

int learn_cli_open(struct learn_cli *l, const char *policy)
{
	const struct xs_resolve_fs_ctx *inc = xs_cli_include_ctx();
	char err[4096 + 256] = "";
	int ret;

	if (!l->nstores) {
		ret = default_store(l);
		if (ret)
			return ret;
	}
	ret = xs_view_open(&l->view, policy);
	if (ret)
		return ret;
	l->have_view = true;
	xs_tables_init(&l->t, l->view.c);
	ret = learn_catalog_load_compiled(&l->cat, l->view.c, inc ? inc->dirs : NULL,
					  inc ? inc->ndirs : 0, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "xdpseg %s: %s\n", l->cmd, err);
		return ret;
	}
	ret = learn_load(l->stores, l->nstores, l->now - l->since_s, l->now, &l->set, err,
			 sizeof(err));
	if (ret) {
		fprintf(stderr, "xdpseg %s: %s\n", l->cmd, err);
		return ret;
	}
	learn_judge(&l->set, &l->t, l->view.now_tai);
	return 0;
}

void learn_cli_free(struct learn_cli *l)
{
	learn_set_free(&l->set);
	learn_catalog_free(&l->cat);
	if (l->have_view)
		xs_view_free(&l->view);
	l->have_view = false;
}

const char *learn_cli_seg(const struct learn_cli *l, uint16_t seg, char *buf, size_t size)
{
	return xs_view_seg(l->view.c, seg, buf, size);
}

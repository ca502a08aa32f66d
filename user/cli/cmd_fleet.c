// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg fleet status: the fleet's pointer, its hosts by state, how fast
 * they converged on the last publish (xs_fleet_state_read()). Also the
 * options publish and fleet share: which etcd, which fleet, which
 * credentials (xs_cli_etcd_*).
 *
 * Strings read from etcd are untrusted: printed escaped (text) or through
 * xs_json_escaped() (JSON).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/config.h"
#include "cmds.h"
#include "fleet/fleet.h"
#include "json.h"
#include "policy.h"
#include "util.h"

/*
 * What the configuration (the agent's: $XDPSEG_CONFIG or
 * /etc/xdpseg/xdpseg.conf) says of the fleet, read once: the defaults of
 * --etcd, --fleet and the credentials, so that `xdpseg fleet status` on a
 * host of the fleet needs no option. A configuration with errors is
 * reported and refused (-EINVAL): its endpoints may be what was meant.
 */
static int fleet_config(const struct agent_config **out)
{
	static struct agent_config cfg;
	static int state; /* 0 unread, 1 read, < 0 its error */

	if (!state) {
		state = xs_cli_config(&cfg);
		if (!state)
			state = 1;
	}
	*out = state == 1 ? &cfg : NULL;
	return state == 1 ? 0 : state;
}

/* A configuration value, NULL when empty. */
static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

void xs_cli_etcd_init(struct xs_cli_etcd *e)
{
	memset(e, 0, sizeof(*e));
}

/* The first line of a secret file (a trailing newline is not the secret). */
static char *read_secret(const char *path, const char *what)
{
	char buf[4097];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		p_err("%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		p_err("%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0] || (size_t)n == sizeof(buf) - 1) {
		p_err("%s %s: %s", what, path, buf[0] ? "longer than 4 KiB" : "empty");
		return NULL;
	}
	return strdup(buf);
}

int xs_cli_etcd_opt(struct xs_cli_etcd *e, int c, const char *arg)
{
	const char **slot[] = {
		[XS_CLI_OPT_ETCD - XS_CLI_OPT_ETCD] = &e->etcd,
		[XS_CLI_OPT_FLEET - XS_CLI_OPT_ETCD] = &e->fleet,
		[XS_CLI_OPT_USER - XS_CLI_OPT_ETCD] = &e->user,
		[XS_CLI_OPT_PASSWORD_FILE - XS_CLI_OPT_ETCD] = &e->password_file,
		[XS_CLI_OPT_TOKEN_FILE - XS_CLI_OPT_ETCD] = &e->token_file,
	};

	if (c < XS_CLI_OPT_ETCD || c > XS_CLI_OPT_TOKEN_FILE)
		return -1;
	*slot[c - XS_CLI_OPT_ETCD] = arg;
	return 0;
}

int xs_cli_etcd_open(struct xs_cli_etcd *e, const char *cmd, struct xs_etcd_sync **out)
{
	const struct agent_config *cfg = NULL;
	struct xs_etcd_opts o = { 0 };
	char err[XS_ETCD_ERR_LEN];
	const char *env;
	int rc;

	*out = NULL;
	/* the options, then the environment, then the configuration */
	if (!e->fleet && (env = getenv("XDPSEG_FLEET")) && *env)
		e->fleet = env;
	if (!e->etcd && (env = getenv("XDPSEG_ETCD")) && *env)
		e->etcd = env;
	if (!e->fleet || !e->etcd) {
		if (fleet_config(&cfg))
			return XS_EXIT_FAIL;
		if (!e->fleet)
			e->fleet = nonempty(cfg->fleet);
		if (!e->etcd) {
			e->etcd = nonempty(cfg->etcd);
			/* the configuration's endpoints with its credentials */
			if (e->etcd && !e->user && !e->password_file && !e->token_file) {
				e->user = nonempty(cfg->etcd_user);
				e->password_file = nonempty(cfg->etcd_password_file);
				e->token_file = nonempty(cfg->etcd_token_file);
			}
		}
	}
	if (!e->fleet)
		e->fleet = "default";
	if (!xs_fleet_name_ok(e->fleet))
		return p_usage(cmd, "'%s' is not a fleet name (1-63 of A-Z a-z 0-9 . _ -)",
			       e->fleet);
	if (!e->etcd)
		return p_usage(cmd, "no etcd: give --etcd URL[,URL], set XDPSEG_ETCD, or `etcd` in "
				    "the configuration");
	if (e->token_file && (e->user || e->password_file))
		return p_usage(cmd, "--token-file or --user with --password-file, not both");
	if (!e->user != !e->password_file)
		return p_usage(cmd, "--user and --password-file go together");
	e->buf = strdup(e->etcd);
	if (!e->buf) {
		p_err("out of memory");
		return XS_EXIT_FAIL;
	}
	if (xs_etcd_parse_endpoints(e->buf, &o, err, sizeof(err)))
		return p_usage(cmd, "--etcd: %s", err);
	if (e->password_file && !(e->secret = read_secret(e->password_file, "--password-file")))
		return XS_EXIT_FAIL;
	if (e->token_file && !(e->secret = read_secret(e->token_file, "--token-file")))
		return XS_EXIT_FAIL;
	o.user = e->user;
	o.password = e->user ? e->secret : NULL;
	o.token = e->token_file ? e->secret : NULL;
	rc = xs_etcd_sync_new(&o, out, err, sizeof(err));
	if (rc) {
		p_err("%s", err);
		return XS_EXIT_FAIL;
	}
	return -1;
}

void xs_cli_etcd_free(struct xs_cli_etcd *e)
{
	free(e->buf);
	if (e->secret) {
		explicit_bzero(e->secret, strlen(e->secret));
		free(e->secret);
	}
	xs_cli_etcd_init(e);
}

void xs_cli_time(int64_t t, char *buf, size_t size)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&s, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "-");
}

/* ---- fleet status ------------------------------------------------------ */

static const char fleet_help[] =
	"Usage: xdpseg fleet status [--etcd URL[,URL]] [--fleet NAME]\n"
	"                           [--user USER --password-file F | --token-file F]\n"
	"                           [--json]\n\n"
	"The fleet's state as its hosts report it in etcd (xdpseg(8), FLEET): the\n"
	"policy published (generation, sha256, author, time), the hosts by state\n"
	"(current: on the published policy; behind: on an older one; failing: with\n"
	"an error; lost: its report expired, only its last one is left), the time\n"
	"the current hosts took to apply the last publish (p50, p99, max), and one\n"
	"line per host.\n\n" XS_CLI_HELP_ETCD "  -j, --json              print one JSON object\n"
	"  -h, --help              this help\n\n"
	"Exit status: 0 every host on the published policy, 3 a host behind, failing\n"
	"or lost (a monitoring check's failure), 1 etcd could not be read, 2 a usage\n"
	"error.\n";

static const char *const state_names[] = { "current", "behind", "failing", "lost" };

static void print_ms(int64_t ms)
{
	if (ms < 0)
		printf("-");
	else
		printf("%" PRId64 " ms", ms);
}

static void status_text(const char *fleet, const struct xs_fleet_state *st)
{
	const struct xs_fleet_pointer *p = &st->current;
	size_t w = 4;
	char when[32];

	printf("fleet %s: ", fleet);
	if (st->published) {
		xs_cli_time(p->time, when, sizeof(when));
		printf("generation %" PRIu64 ", sha256 %s\n  published %s by ", p->generation,
		       p->hash, when);
		xs_print_escaped(stdout, p->author);
		printf(" from ");
		xs_print_escaped(stdout, p->file);
		printf(" (%" PRIu32 " chunk%s, %" PRIu64 " bytes)\n", p->chunks,
		       p->chunks == 1 ? "" : "s", p->size);
	} else {
		printf("nothing published\n");
	}
	printf("hosts: %zu: %zu current, %zu behind, %zu failing, %zu lost\n", st->nhosts,
	       st->count[XS_FLEET_CURRENT], st->count[XS_FLEET_BEHIND], st->count[XS_FLEET_FAILING],
	       st->count[XS_FLEET_LOST]);
	printf("converged: ");
	if (st->p50_ms < 0) {
		printf("no host on the current policy\n");
	} else {
		printf("p50 ");
		print_ms(st->p50_ms);
		printf(", p99 ");
		print_ms(st->p99_ms);
		printf(", max ");
		print_ms(st->max_ms);
		printf("\n");
	}
	if (!st->nhosts)
		return;
	for (size_t i = 0; i < st->nhosts; i++)
		if (strlen(st->hosts[i].r.host) > w)
			w = strlen(st->hosts[i].r.host);
	printf("\n%-*s  %-7s  %-5s  %-20s  %-9s  %s\n", (int)w, "HOST", "STATE", "GEN", "APPLIED",
	       "CONVERGED", "ERROR");
	for (size_t i = 0; i < st->nhosts; i++) {
		const struct xs_fleet_host *h = &st->hosts[i];
		char gen[24] = "-", conv[24] = "-";

		if (h->r.generation)
			snprintf(gen, sizeof(gen), "%" PRIu64, h->r.generation);
		if (h->converge_ms >= 0)
			snprintf(conv, sizeof(conv), "%" PRId64 " ms", h->converge_ms);
		xs_cli_time(h->r.applied, when, sizeof(when));
		printf("%-*s  %-7s  %-5s  %-20s  %-9s  ", (int)w, h->r.host, state_names[h->state],
		       gen, when, conv);
		if (h->r.error[0])
			xs_print_escaped(stdout, h->r.error);
		else
			printf("-");
		printf("\n");
	}
}

static void json_int(const char *key, int64_t v)
{
	json_print_key(stdout, key, 0);
	printf("%" PRId64, v);
}

/* An integer, or null when negative (unknown). */
static void json_ms(const char *key, int64_t v, int first)
{
	json_print_key(stdout, key, first);
	if (v < 0)
		printf("null");
	else
		printf("%" PRId64, v);
}

static void json_untrusted(const char *key, const char *s)
{
	json_print_key(stdout, key, 0);
	xs_json_escaped(stdout, s);
}

void xs_cli_pointer_json(const struct xs_fleet_pointer *p)
{
	json_print_key(stdout, "generation", 1);
	printf("%" PRIu64, p->generation);
	json_untrusted("hash", p->hash);
	json_int("chunks", p->chunks);
	json_int("size", (int64_t)p->size);
	json_untrusted("author", p->author);
	json_int("time", p->time);
	json_int("time_ms", p->time_ms);
	json_untrusted("file", p->file);
	json_int("mod_revision", p->mod_revision);
}

static void host_json(const struct xs_fleet_host *h)
{
	const struct xs_fleet_report *r = &h->r;

	json_print_key(stdout, "host", 1);
	xs_json_escaped(stdout, r->host);
	json_print_key(stdout, "state", 0);
	json_print_str(stdout, state_names[h->state]);
	json_untrusted("hash", r->hash);
	json_int("generation", (int64_t)r->generation);
	json_int("applied", r->applied);
	json_int("applied_ms", r->applied_ms);
	json_ms("converge_ms", h->converge_ms, 0);
	json_int("time", r->time);
	json_untrusted("report_state", r->state);
	json_untrusted("error", r->error);
	json_int("interfaces", r->interfaces);
	json_int("protected", r->protected_);
	json_int("packets", (int64_t)r->packets);
	json_int("drops", (int64_t)r->drops);
	json_untrusted("version", r->version);
}

static void status_json(const char *fleet, const struct xs_fleet_state *st)
{
	printf("{");
	json_print_key(stdout, "fleet", 1);
	json_print_str(stdout, fleet);
	json_print_key(stdout, "published", 0);
	printf(st->published ? "true" : "false");
	json_print_key(stdout, "current", 0);
	if (st->published) {
		printf("{");
		xs_cli_pointer_json(&st->current);
		printf("}");
	} else {
		printf("null");
	}
	json_print_key(stdout, "counts", 0);
	printf("{\"hosts\":%zu", st->nhosts);
	for (size_t i = 0; i < 4; i++)
		json_int(state_names[i], (int64_t)st->count[i]);
	printf("}");
	json_print_key(stdout, "converge", 0);
	printf("{");
	json_ms("p50_ms", st->p50_ms, 1);
	json_ms("p99_ms", st->p99_ms, 0);
	json_ms("max_ms", st->max_ms, 0);
	printf("}");
	json_print_key(stdout, "hosts", 0);
	printf("[");
	for (size_t i = 0; i < st->nhosts; i++) {
		printf("%s{", i ? "," : "");
		host_json(&st->hosts[i]);
		printf("}");
	}
	printf("]}\n");
}

static int fleet_status(int argc, char **argv)
{
	static const struct option opts[] = {
		XS_CLI_OPTS_ETCD,
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xs_etcd_sync *s = NULL;
	struct xs_fleet_state st = { 0 };
	struct xs_cli_etcd e;
	char err[XS_ETCD_ERR_LEN];
	int c, rc;

	xs_cli_etcd_init(&e);
	optind = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			xs_json = true;
			break;
		case 'h':
			fputs(fleet_help, stdout);
			return XS_EXIT_OK;
		default:
			if (xs_cli_etcd_opt(&e, c, optarg))
				return p_usage("fleet", "bad option");
		}
	}
	if (optind < argc)
		return p_usage("fleet", "unexpected argument '%s'", argv[optind]);
	rc = xs_cli_etcd_open(&e, "fleet", &s);
	if (rc >= 0)
		goto out;
	rc = XS_EXIT_FAIL;
	if (xs_fleet_state_read(s, e.fleet, &st, err, sizeof(err))) {
		p_err("%s", err);
		goto out;
	}
	if (xs_json)
		status_json(e.fleet, &st);
	else
		status_text(e.fleet, &st);
	/* a monitoring check: every host on the published policy, or not */
	rc = st.count[XS_FLEET_BEHIND] || st.count[XS_FLEET_FAILING] || st.count[XS_FLEET_LOST]
		     ? XS_EXIT_UNPROTECTED
		     : XS_EXIT_OK;
out:
	xs_fleet_state_free(&st);
	xs_etcd_sync_free(s);
	xs_cli_etcd_free(&e);
	return rc;
}

int cmd_fleet(int argc, char **argv)
{
	if (argc < 2)
		return p_usage("fleet", "a subcommand is needed: status");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(fleet_help, stdout);
		return XS_EXIT_OK;
	}
	if (!strcmp(argv[1], "status"))
		return fleet_status(argc - 1, argv + 1);
	return p_usage("fleet", "unknown subcommand '%s' (status)", argv[1]);
}

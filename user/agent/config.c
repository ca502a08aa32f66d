// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The agent's configuration file: read whole, checked whole, then used. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/client.h"
#include "ctl/loader.h"
#include "ctl/overlay.h"
#include "ctl/state.h"
#include "fleet/fleet.h"
#include "store/store.h"
#include "util.h"

/* Past this many errors the rest of the file is not read. */
#define MAX_ERRORS 20

static const char *const key_names[AGENT_KEY__COUNT] = {
	[AGENT_KEY_POLICY] = "policy",
	[AGENT_KEY_INTERFACES] = "interfaces",
	[AGENT_KEY_BRIDGE] = "bridge",
	[AGENT_KEY_MODE] = "mode",
	[AGENT_KEY_PIN_DIR] = "pin-dir",
	[AGENT_KEY_STATE_DIR] = "state-dir",
	[AGENT_KEY_UNPROTECTED] = "unprotected",
	[AGENT_KEY_SOCKET] = "socket",
	[AGENT_KEY_RECONCILE_INTERVAL] = "reconcile-interval",
	[AGENT_KEY_FAILSAFE] = "failsafe",
	[AGENT_KEY_GRANT_MAX] = "grant-max",
	[AGENT_KEY_GRANT_REASON] = "grant-reason",
	[AGENT_KEY_METRICS_LISTEN] = "metrics-listen",
	[AGENT_KEY_METRICS_TEXTFILE] = "metrics-textfile",
	[AGENT_KEY_METRICS_INTERVAL] = "metrics-interval",
	[AGENT_KEY_EVENT_HISTORY] = "event-history",
	[AGENT_KEY_FLOW_LOG] = "flow-log",
	[AGENT_KEY_FLOW_LOG_SIZE] = "flow-log-size",
	[AGENT_KEY_FLOW_LOG_KEEP] = "flow-log-keep",
	[AGENT_KEY_FLOW_SYSLOG] = "flow-syslog",
	[AGENT_KEY_FLOW_UPDATE] = "flow-update-interval",
	[AGENT_KEY_FLOW_DENY] = "flow-deny-interval",
	[AGENT_KEY_CAPTURE] = "capture",
	[AGENT_KEY_SNAP_LEN] = "snap-len",
	[AGENT_KEY_FLOW_STORE] = "flow-store",
	[AGENT_KEY_FLOW_STORE_DAYS] = "flow-store-days",
	[AGENT_KEY_FLOW_STORE_SIZE] = "flow-store-size",
	[AGENT_KEY_FLOW_STORE_DAY_ROWS] = "flow-store-day-rows",
	[AGENT_KEY_ETCD] = "etcd",
	[AGENT_KEY_FLEET] = "fleet",
	[AGENT_KEY_FLEET_HOST] = "fleet-host",
	[AGENT_KEY_ETCD_USER] = "etcd-user",
	[AGENT_KEY_ETCD_PASSWORD_FILE] = "etcd-password-file",
	[AGENT_KEY_ETCD_TOKEN_FILE] = "etcd-token-file",
	[AGENT_KEY_FLEET_REPORT] = "fleet-report-interval",
	[AGENT_KEY_FLEET_TTL] = "fleet-ttl",
};

const char *agent_key_name(enum agent_key k)
{
	return key_names[k];
}

struct reader {
	const char *file;
	int line;
	struct agent_config_errors *errs;
};

static void add_error(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_error(struct reader *r, const char *fmt, ...)
{
	char *msg = NULL, *full = NULL, **nv;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (r->line)
		n = asprintf(&full, "%s:%d: error: %s", r->file, r->line, msg);
	else
		n = asprintf(&full, "%s: error: %s", r->file, msg);
	free(msg);
	if (n < 0)
		return;
	nv = realloc(r->errs->v, (r->errs->n + 1) * sizeof(*nv));
	if (!nv) {
		free(full);
		return;
	}
	r->errs->v = nv;
	r->errs->v[r->errs->n++] = full;
}

void agent_config_errors_free(struct agent_config_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

static void free_words(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void agent_config_free(struct agent_config *c)
{
	free(c->file);
	free(c->policy);
	free_words(c->ifpat, c->nifpat);
	free_words(c->bridges, c->nbridges);
	for (size_t i = 0; i < c->nfailsafe; i++)
		free((char *)c->failsafe[i].text);
	free(c->failsafe);
	memset(c, 0, sizeof(*c));
}

/* Levenshtein distance of two short words (keys), for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[40], cur[40];

	if (la >= 40 || lb >= 40)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(*prev));
	}
	return prev[lb];
}

static void unknown_key(struct reader *r, const char *key)
{
	size_t best = 99, d;
	int found = -1;

	for (int k = 0; k < AGENT_KEY__COUNT; k++) {
		d = distance(key, key_names[k]);
		/* "interface", "pin_dir", "reconcile": a typo or a shorter form */
		if (strlen(key) >= 3 && !strncmp(key, key_names[k], strlen(key)))
			d = 1;
		if (d < best) {
			best = d;
			found = k;
		}
	}
	if (found >= 0 && best <= 2 && best * 2 < strlen(key)) {
		add_error(r, "unknown key '%s': did you mean '%s'?", key, key_names[found]);
	} else {
		char all[1024];
		size_t o = 0;

		for (int k = 0; k < AGENT_KEY__COUNT && o < sizeof(all); k++)
			o += (size_t)snprintf(all + o, sizeof(all) - o, "%s%s", k ? ", " : "",
					      key_names[k]);
		add_error(r, "unknown key '%s': the keys are %s", key, all);
	}
}

/* Split `value` at blanks into a malloc'd array of words. */
static int split_words(const char *value, char ***out, size_t *n)
{
	char **v = NULL;
	size_t cnt = 0;

	for (const char *p = value; *p;) {
		size_t len;
		char **nv;

		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		if (!len)
			break;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv)
			goto nomem;
		v = nv;
		v[cnt] = strndup(p, len);
		if (!v[cnt])
			goto nomem;
		cnt++;
		p += len;
	}
	*out = v;
	*n = cnt;
	return 0;
nomem:
	free_words(v, cnt);
	return -ENOMEM;
}

/* An interface name the kernel accepts: 1-15 bytes, no '/', ':' or blank. */
static bool ifname_ok(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len < 16 && !strpbrk(s, "/: \t") && strcmp(s, ".") && strcmp(s, "..");
}

static int set_path(struct reader *r, const char *key, const char *value, char *dst, size_t size)
{
	if (value[0] != '/') {
		add_error(r, "%s '%s' is not an absolute path", key, value);
		return -EINVAL;
	}
	if (strlen(value) >= size) {
		add_error(r, "%s '%s' is too long (at most %zu bytes)", key, value, size - 1);
		return -EINVAL;
	}
	snprintf(dst, size, "%s", value);
	return 0;
}

/* A size in bytes with an optional unit: 4096, 512K, 100M, 2G (powers of 1024). */
static int parse_size(const char *value, uint64_t *out)
{
	uint64_t mult = 1;
	char *end;
	unsigned long long n;

	if (value[0] < '0' || value[0] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(value, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		if (end[1])
			return -EINVAL;
		switch (*end) {
		case 'K':
			mult = 1ULL << 10;
			break;
		case 'M':
			mult = 1ULL << 20;
			break;
		case 'G':
			mult = 1ULL << 30;
			break;
		default:
			return -EINVAL;
		}
	}
	if (n > (1ULL << 50) / mult)
		return -EINVAL;
	*out = n * mult;
	return 0;
}

/* `flow-update-interval`, `flow-deny-interval`: a duration, 1 s to 1 day. */
static int set_interval(struct reader *r, const char *key, const char *value, unsigned int *dst)
{
	uint64_t secs;

	if (xs_parse_duration(value, &secs) || secs < 1 || secs > 86400) {
		add_error(r,
			  "bad value '%s' for %s: a duration with its unit from 1s to 1d, as 30s, "
			  "1m or 15m",
			  value, key);
		return -EINVAL;
	}
	*dst = (unsigned int)secs;
	return 0;
}

/* `policy`: relative to the configuration file's folder. */
static int set_policy(struct reader *r, struct agent_config *c, const char *value)
{
	char *copy, *dir;
	int n;

	if (value[0] == '/') {
		c->policy = strdup(value);
		return c->policy ? 0 : -ENOMEM;
	}
	copy = strdup(r->file);
	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	n = asprintf(&c->policy, "%s/%s", dir, value);
	free(copy);
	if (n < 0) {
		c->policy = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* `failsafe`: checked here (addresses, the services' syntax), compiled
 * with every policy (the services' names are the policy's). */
static int add_failsafe(struct reader *r, struct agent_config *c, const char *value)
{
	struct xs_failsafe_in *nv;
	char why[256];

	if (xs_failsafe_check(value, why, sizeof(why))) {
		add_error(r, "%s", why);
		return -EINVAL;
	}
	nv = realloc(c->failsafe, (c->nfailsafe + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	c->failsafe = nv;
	nv[c->nfailsafe].text = strdup(value);
	if (!nv[c->nfailsafe].text)
		return -ENOMEM;
	nv[c->nfailsafe].line = r->line;
	nv[c->nfailsafe].file = NULL; /* c->file, set when the read is done */
	c->nfailsafe++;
	return 0;
}

/* `metrics-listen`: IPv4:PORT or [IPv6]:PORT, numeric (no name is looked up). */
static int set_listen(struct reader *r, struct agent_config *c, const char *value)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&c->metrics_addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&c->metrics_addr;
	const char *colon = strrchr(value, ':'), *host = value;
	char addr[INET6_ADDRSTRLEN + 2];
	size_t hlen;
	char *end;
	long port;

	if (strlen(value) >= sizeof(c->metrics_listen) || !colon)
		goto bad;
	hlen = (size_t)(colon - value);
	if (value[0] == '[') {
		if (hlen < 3 || value[hlen - 1] != ']')
			goto bad;
		host++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(addr))
		goto bad;
	memcpy(addr, host, hlen);
	addr[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535 ||
	    !isdigit((unsigned char)colon[1]))
		goto bad;
	memset(&c->metrics_addr, 0, sizeof(c->metrics_addr));
	if (value[0] != '[' && inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		c->metrics_addrlen = sizeof(*in4);
	} else if (value[0] == '[' && inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		c->metrics_addrlen = sizeof(*in6);
	} else {
		goto bad;
	}
	snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", value);
	return 0;
bad:
	add_error(r,
		  "bad value '%s' for metrics-listen: an address and a port, as 127.0.0.1:9753 or "
		  "[::1]:9753 (no host name)",
		  value);
	return -EINVAL;
}

/* `metrics-textfile`: an absolute path node_exporter's textfile collector reads. */
static int set_textfile(struct reader *r, struct agent_config *c, const char *value)
{
	size_t len = strlen(value);

	if (set_path(r, "metrics-textfile", value, c->metrics_textfile,
		     sizeof(c->metrics_textfile)))
		return -EINVAL;
	if (len < 6 || strcmp(value + len - 5, ".prom") || value[len - 6] == '/') {
		add_error(r,
			  "metrics-textfile '%s' does not end in .prom: node_exporter's textfile "
			  "collector reads only *.prom files",
			  value);
		c->metrics_textfile[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

/* A whole number of seconds, 1 to 86400. */
static int set_seconds(struct reader *r, const char *key, const char *value, unsigned int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno || *end || end == value || n < 1 || n > 86400) {
		add_error(r, "bad value '%s' for %s: a whole number of seconds, 1 to 86400", value,
			  key);
		return -EINVAL;
	}
	*out = (unsigned int)n;
	return 0;
}

/* `etcd`: http:// or https:// URLs, separated by commas or blanks; kept
 * comma-separated (xs_etcd_parse_endpoints() reads them so). */
static int set_etcd(struct reader *r, struct agent_config *c, const char *value)
{
	size_t n = 0, o = 0;

	for (const char *p = value; *p;) {
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (!len)
			break;
		if ((strncmp(p, "http://", 7) || len <= 7) &&
		    (strncmp(p, "https://", 8) || len <= 8)) {
			add_error(r,
				  "bad etcd endpoint '%.*s': a URL, as http://10.0.0.1:2379 or "
				  "https://etcd1:2379",
				  (int)len, p);
			return -EINVAL;
		}
		if (++n > XS_ETCD_MAX_ENDPOINTS || o + len + 2 > sizeof(c->etcd)) {
			add_error(r, "too many etcd endpoints (at most %d)", XS_ETCD_MAX_ENDPOINTS);
			return -EINVAL;
		}
		o += (size_t)snprintf(c->etcd + o, sizeof(c->etcd) - o, "%s%.*s", o ? "," : "",
				      (int)len, p);
		p += len;
	}
	return 0;
}

/* `fleet`, `fleet-host`: a name etcd's keys can carry. */
static int set_name(struct reader *r, const char *key, const char *value, char *dst, size_t size)
{
	if (!xs_fleet_name_ok(value)) {
		add_error(r, "bad value '%s' for %s: 1 to 63 of A-Z a-z 0-9 . _ -", value, key);
		return -EINVAL;
	}
	snprintf(dst, size, "%s", value);
	return 0;
}

/* A secret's file: absolute, and readable now (its content is read when
 * the agent connects). */
static int set_secret(struct reader *r, const char *key, const char *value, char *dst, size_t size)
{
	if (set_path(r, key, value, dst, size))
		return -EINVAL;
	if (access(value, R_OK)) {
		add_error(r, "%s '%s' cannot be read: %s", key, value, strerror(errno));
		dst[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

static int set_key(struct reader *r, struct agent_config *c, enum agent_key k, const char *value)
{
	uint64_t secs;
	const char *key = key_names[k];
	char *end;
	long n;
	int err;

	switch (k) {
	case AGENT_KEY_POLICY:
		return set_policy(r, c, value);
	case AGENT_KEY_INTERFACES:
		err = split_words(value, &c->ifpat, &c->nifpat);
		for (size_t i = 0; !err && i < c->nifpat; i++) {
			if (strlen(c->ifpat[i]) > 64 || strchr(c->ifpat[i], '/')) {
				add_error(r,
					  "bad interface pattern '%s': a glob of interface names "
					  "(at most 64 bytes, no '/')",
					  c->ifpat[i]);
				return -EINVAL;
			}
		}
		return err;
	case AGENT_KEY_BRIDGE:
		err = split_words(value, &c->bridges, &c->nbridges);
		for (size_t i = 0; !err && i < c->nbridges; i++) {
			if (!ifname_ok(c->bridges[i])) {
				add_error(r,
					  "bad bridge name '%s': an interface name (1 to 15 bytes, "
					  "no '/', ':' or blank)",
					  c->bridges[i]);
				return -EINVAL;
			}
		}
		return err;
	case AGENT_KEY_MODE:
		c->attach.mode_given = true;
		if (!strcmp(value, "native")) {
			c->attach.mode = XS_XDP_NATIVE;
			c->mode = "native";
		} else if (!strcmp(value, "generic")) {
			c->attach.mode = XS_XDP_GENERIC;
			c->mode = "generic";
		} else if (!strcmp(value, "tc-ingress")) {
			c->attach.tc_ingress = true;
			c->attach.mode_given = false;
			c->mode = "tc-ingress";
		} else {
			add_error(r, "bad value '%s' for mode: use native, generic or tc-ingress",
				  value);
			return -EINVAL;
		}
		return 0;
	case AGENT_KEY_PIN_DIR:
		return set_path(r, key, value, c->pin_dir, sizeof(c->pin_dir));
	case AGENT_KEY_STATE_DIR:
		return set_path(r, key, value, c->state_dir, sizeof(c->state_dir));
	case AGENT_KEY_SOCKET:
		return set_path(r, key, value, c->sock, sizeof(c->sock));
	case AGENT_KEY_UNPROTECTED:
		if (!strcmp(value, "warn")) {
			c->unprotected = AGENT_UNPROT_WARN;
		} else if (!strcmp(value, "down")) {
			c->unprotected = AGENT_UNPROT_DOWN;
		} else {
			add_error(r, "bad value '%s' for unprotected: use warn or down", value);
			return -EINVAL;
		}
		return 0;
	case AGENT_KEY_RECONCILE_INTERVAL:
		return set_seconds(r, key, value, &c->interval);
	case AGENT_KEY_METRICS_LISTEN:
		return set_listen(r, c, value);
	case AGENT_KEY_METRICS_TEXTFILE:
		return set_textfile(r, c, value);
	case AGENT_KEY_METRICS_INTERVAL:
		return set_seconds(r, key, value, &c->metrics_interval);
	case AGENT_KEY_EVENT_HISTORY:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || *end || end == value || value[0] == '-' || value[0] == '+' || n < 0 ||
		    n > AGENT_EVENT_HISTORY_MAX) {
			add_error(r,
				  "bad value '%s' for event-history: a whole number of events, 0 "
				  "(none) to %d",
				  value, AGENT_EVENT_HISTORY_MAX);
			return -EINVAL;
		}
		c->event_history = (unsigned int)n;
		return 0;
	case AGENT_KEY_FAILSAFE:
		return add_failsafe(r, c, value);
	case AGENT_KEY_GRANT_MAX:
		if (xs_parse_duration(value, &secs)) {
			add_error(r,
				  "bad value '%s' for grant-max: a duration with its unit, as 90s, "
				  "15m, 8h or 1d",
				  value);
			return -EINVAL;
		}
		c->grant_max = secs;
		return 0;
	case AGENT_KEY_GRANT_REASON:
		if (!strcmp(value, "required")) {
			c->grant_reason_required = true;
		} else if (!strcmp(value, "optional")) {
			c->grant_reason_required = false;
		} else {
			add_error(r, "bad value '%s' for grant-reason: use required or optional",
				  value);
			return -EINVAL;
		}
		return 0;
	case AGENT_KEY_FLOW_LOG:
		return set_path(r, key, value, c->flow_log, sizeof(c->flow_log));
	case AGENT_KEY_FLOW_LOG_SIZE:
		if (parse_size(value, &c->flow_log_size)) {
			add_error(
				r,
				"bad value '%s' for flow-log-size: bytes, or a number with K, M or "
				"G, as 100M (0: never rotate)",
				value);
			return -EINVAL;
		}
		return 0;
	case AGENT_KEY_FLOW_LOG_KEEP:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || *end || end == value || n < 0 || n > 100) {
			add_error(r, "bad value '%s' for flow-log-keep: a whole number, 0 to 100",
				  value);
			return -EINVAL;
		}
		c->flow_log_keep = (unsigned int)n;
		return 0;
	case AGENT_KEY_FLOW_SYSLOG:
		if (!strcmp(value, "yes")) {
			c->flow_syslog = true;
		} else if (!strcmp(value, "no")) {
			c->flow_syslog = false;
		} else {
			add_error(r, "bad value '%s' for flow-syslog: use yes or no", value);
			return -EINVAL;
		}
		return 0;
	case AGENT_KEY_FLOW_UPDATE:
		return set_interval(r, key, value, &c->flow_update);
	case AGENT_KEY_FLOW_DENY:
		return set_interval(r, key, value, &c->flow_deny);
	case AGENT_KEY_CAPTURE:
		return set_path(r, key, value, c->capture, sizeof(c->capture));
	case AGENT_KEY_SNAP_LEN:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || *end || end == value || n < 0 || n > XS_EV_SNAP_MAX) {
			add_error(
				r,
				"bad value '%s' for snap-len: a whole number of bytes, 0 (none) to "
				"%d",
				value, XS_EV_SNAP_MAX);
			return -EINVAL;
		}
		c->snap_len = (unsigned int)n;
		return 0;
	case AGENT_KEY_FLOW_STORE:
		if (!strcmp(value, "off")) {
			c->flow_store[0] = '\0';
			return 0;
		}
		return set_path(r, key, value, c->flow_store, sizeof(c->flow_store));
	case AGENT_KEY_FLOW_STORE_DAYS:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || *end || end == value || n < 1 || n > AGENT_FLOW_STORE_DAYS_MAX) {
			add_error(r,
				  "bad value '%s' for flow-store-days: a whole number of days, 1 "
				  "to %d",
				  value, AGENT_FLOW_STORE_DAYS_MAX);
			return -EINVAL;
		}
		c->flow_store_days = (unsigned int)n;
		return 0;
	case AGENT_KEY_FLOW_STORE_SIZE:
		if (parse_size(value, &c->flow_store_size) ||
		    c->flow_store_size < AGENT_FLOW_STORE_SIZE_MIN) {
			add_error(r,
				  "bad value '%s' for flow-store-size: bytes, or a number with K, "
				  "M or "
				  "G, as 256M (at least 64K)",
				  value);
			return -EINVAL;
		}
		return 0;
	case AGENT_KEY_FLOW_STORE_DAY_ROWS:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || *end || end == value || n < 1 ||
		    (unsigned long long)n > AGENT_FLOW_STORE_DAY_ROWS_MAX) {
			add_error(r,
				  "bad value '%s' for flow-store-day-rows: a whole number of rows, "
				  "1 to "
				  "%llu",
				  value, AGENT_FLOW_STORE_DAY_ROWS_MAX);
			return -EINVAL;
		}
		c->flow_store_day_rows = (uint64_t)n;
		return 0;
	case AGENT_KEY_ETCD:
		return set_etcd(r, c, value);
	case AGENT_KEY_FLEET:
		return set_name(r, key, value, c->fleet, sizeof(c->fleet));
	case AGENT_KEY_FLEET_HOST:
		return set_name(r, key, value, c->fleet_host, sizeof(c->fleet_host));
	case AGENT_KEY_ETCD_USER:
		if (strlen(value) >= sizeof(c->etcd_user) || strpbrk(value, " \t")) {
			add_error(r,
				  "bad value '%s' for etcd-user: a user name (no blank, at most "
				  "%zu bytes)",
				  value, sizeof(c->etcd_user) - 1);
			return -EINVAL;
		}
		snprintf(c->etcd_user, sizeof(c->etcd_user), "%s", value);
		return 0;
	case AGENT_KEY_ETCD_PASSWORD_FILE:
		return set_secret(r, key, value, c->etcd_password_file,
				  sizeof(c->etcd_password_file));
	case AGENT_KEY_ETCD_TOKEN_FILE:
		return set_secret(r, key, value, c->etcd_token_file, sizeof(c->etcd_token_file));
	case AGENT_KEY_FLEET_REPORT:
		return set_interval(r, key, value, &c->fleet_report);
	case AGENT_KEY_FLEET_TTL:
		return set_interval(r, key, value, &c->fleet_ttl);
	default:
		return -EINVAL;
	}
}

static void trim(char **s, char *end)
{
	while (**s == ' ' || **s == '\t')
		(*s)++;
	while (end > *s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
}

/* One line (NUL-terminated, without its newline). */
static int parse_line(struct reader *r, struct agent_config *c, char *line, size_t len)
{
	char *key, *value, *eq, *p;
	int k;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			add_error(r, "control character 0x%02x in column %zu%s", ch, i + 1,
				  ch == '\r' ? " (DOS line ends? convert the file with dos2unix)"
					     : "");
			return -EINVAL;
		}
	}
	p = strchr(line, '#');
	if (p)
		*p = '\0';
	key = line;
	trim(&key, key + strlen(key));
	if (!*key)
		return 0;
	eq = strchr(key, '=');
	if (!eq) {
		add_error(r, "expected 'KEY = VALUE', found '%s'", key);
		return -EINVAL;
	}
	*eq = '\0';
	value = eq + 1;
	trim(&key, eq);
	trim(&value, value + strlen(value));
	if (!*key) {
		add_error(r, "expected 'KEY = VALUE': no key before '='");
		return -EINVAL;
	}
	for (k = 0; k < AGENT_KEY__COUNT && strcmp(key, key_names[k]); k++)
		;
	if (k == AGENT_KEY__COUNT) {
		unknown_key(r, key);
		return -EINVAL;
	}
	if (c->line[k] && k != AGENT_KEY_FAILSAFE) {
		add_error(r, "duplicate key '%s' (first at line %d)", key, c->line[k]);
		return -EINVAL;
	}
	c->line[k] = r->line;
	if (!*value) {
		add_error(r, "'%s' needs a value", key);
		return -EINVAL;
	}
	return set_key(r, c, (enum agent_key)k, value);
}

/* The whole file, checked: a regular file of bounded size. */
static int read_file(struct reader *r, char **text, size_t *len)
{
	struct stat st;
	ssize_t got;
	size_t o = 0;
	char *buf;
	int fd;

	fd = open(r->file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int err = errno;

		add_error(r, "cannot read it: %s", strerror(err));
		return -err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		add_error(r, "not a regular file");
		close(fd);
		return -EINVAL;
	}
	if ((size_t)st.st_size > AGENT_CONFIG_MAX_BYTES) {
		add_error(r, "too large (%lld bytes; at most %u)", (long long)st.st_size,
			  AGENT_CONFIG_MAX_BYTES);
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (o < (size_t)st.st_size && (got = read(fd, buf + o, (size_t)st.st_size - o)) > 0)
		o += (size_t)got;
	close(fd);
	buf[o] = '\0';
	*text = buf;
	*len = o;
	return 0;
}

/* The fleet's keys together: each needs the others it names. */
static void check_fleet(struct reader *r, const struct agent_config *c)
{
	const int *line = c->line;
	unsigned int report = c->fleet_report ? c->fleet_report : AGENT_FLEET_REPORT_DEFAULT;
	unsigned int ttl = c->fleet_ttl ? c->fleet_ttl : AGENT_FLEET_TTL_DEFAULT;

	r->line = line[AGENT_KEY_FLEET];
	if (c->fleet[0] && !c->etcd[0])
		add_error(r, "fleet = %s needs etcd = URL[,URL...]: where the fleet's policy is",
			  c->fleet);
	if (c->fleet[0] && c->policy)
		add_error(r,
			  "fleet = %s and policy (line %d) are both set: in a fleet the policy "
			  "comes from etcd (xdpseg publish); remove one",
			  c->fleet, line[AGENT_KEY_POLICY]);
	for (int k = AGENT_KEY_ETCD; k <= AGENT_KEY_FLEET_TTL; k++) {
		if (k == AGENT_KEY_FLEET || !line[k] || c->fleet[0])
			continue;
		r->line = line[k];
		add_error(r, "%s is set but fleet is not: set fleet = NAME to follow a fleet",
			  key_names[k]);
	}
	r->line = line[AGENT_KEY_ETCD_PASSWORD_FILE];
	if (c->etcd_password_file[0] && !c->etcd_user[0])
		add_error(r, "etcd-password-file needs etcd-user");
	r->line = line[AGENT_KEY_ETCD_USER];
	if (c->etcd_user[0] && !c->etcd_password_file[0])
		add_error(r, "etcd-user needs etcd-password-file: the file holding its password");
	r->line = line[AGENT_KEY_ETCD_TOKEN_FILE];
	if (c->etcd_token_file[0] && c->etcd_user[0])
		add_error(r, "etcd-token-file and etcd-user are both set: use one");
	r->line = line[AGENT_KEY_FLEET_TTL] ? line[AGENT_KEY_FLEET_TTL]
					    : line[AGENT_KEY_FLEET_REPORT];
	if (c->fleet[0] && ttl <= report)
		add_error(r,
			  "fleet-ttl (%us) must be longer than fleet-report-interval (%us): the "
			  "report's lease would expire between two reports",
			  ttl, report);
}

static void set_defaults(struct agent_config *c)
{
	const char *env;

	if (!c->mode) {
		c->attach.mode = XS_XDP_NATIVE;
		c->mode = "native";
	}
	if (!c->line[AGENT_KEY_PIN_DIR])
		snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", xs_pin_dir());
	if (!c->line[AGENT_KEY_STATE_DIR]) {
		env = getenv("XDPSEG_STATE_DIR");
		snprintf(c->state_dir, sizeof(c->state_dir), "%s",
			 env && *env ? env : XS_STATE_DIR);
	}
	if (!c->line[AGENT_KEY_SOCKET])
		snprintf(c->sock, sizeof(c->sock), "%s", xs_agent_sock_path());
	if (!c->interval)
		c->interval = AGENT_RECONCILE_DEFAULT;
	if (!c->line[AGENT_KEY_GRANT_MAX])
		c->grant_max = AGENT_GRANT_MAX_DEFAULT;
	if (!c->metrics_interval)
		c->metrics_interval = AGENT_METRICS_INTERVAL_DEFAULT;
	if (!c->line[AGENT_KEY_EVENT_HISTORY])
		c->event_history = AGENT_EVENT_HISTORY_DEFAULT;
	if (!c->line[AGENT_KEY_FLOW_LOG_SIZE])
		c->flow_log_size = AGENT_FLOW_LOG_SIZE_DEFAULT;
	if (!c->line[AGENT_KEY_FLOW_LOG_KEEP])
		c->flow_log_keep = AGENT_FLOW_LOG_KEEP_DEFAULT;
	if (!c->flow_update)
		c->flow_update = AGENT_FLOW_UPDATE_DEFAULT;
	if (!c->flow_deny)
		c->flow_deny = AGENT_FLOW_DENY_DEFAULT;
	if (!c->line[AGENT_KEY_SNAP_LEN])
		c->snap_len = XS_DEFAULT_SNAP_LEN;
	if (!c->line[AGENT_KEY_FLOW_STORE] &&
	    snprintf(c->flow_store, sizeof(c->flow_store), "%s/%s", c->state_dir, XS_STORE_FILE) >=
		    (int)sizeof(c->flow_store))
		c->flow_store[0] = '\0'; /* no room for the name: off */
	if (!c->flow_store_days)
		c->flow_store_days = XS_STORE_DEFAULT_DAYS;
	if (!c->flow_store_size)
		c->flow_store_size = XS_STORE_DEFAULT_BYTES;
	if (!c->flow_store_day_rows)
		c->flow_store_day_rows = XS_STORE_DEFAULT_DAY_ROWS;
	for (size_t i = 0; i < c->nfailsafe; i++)
		c->failsafe[i].file = c->file;
	if (!c->fleet_report)
		c->fleet_report = AGENT_FLEET_REPORT_DEFAULT;
	if (!c->fleet_ttl)
		c->fleet_ttl = AGENT_FLEET_TTL_DEFAULT;
	if (c->fleet[0] && !c->fleet_host[0]) {
		char host[256] = "";

		gethostname(host, sizeof(host) - 1);
		if (!xs_fleet_name_ok(host))
			host[strcspn(host, ".")] = '\0'; /* too long: the short name */
		if (!xs_fleet_name_ok(host))
			snprintf(host, sizeof(host), "unnamed");
		snprintf(c->fleet_host, sizeof(c->fleet_host), "%s", host);
	}
}

int agent_config_read(const char *file, struct agent_config *out, struct agent_config_errors *errs)
{
	struct reader r = { .file = file, .errs = errs };
	struct agent_config c;
	char *text = NULL, *p;
	size_t len = 0;
	int err;

	memset(&c, 0, sizeof(c));
	err = read_file(&r, &text, &len);
	if (err)
		return -EINVAL;
	p = text;
	for (r.line = 1; p < text + len && errs->n < MAX_ERRORS; r.line++) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(text + len - p);

		p[l] = '\0';
		if (parse_line(&r, &c, p, l) == -ENOMEM) {
			r.line = 0;
			add_error(&r, "out of memory");
			break;
		}
		p += l + 1;
	}
	free(text);
	if (!errs->n) /* the keys together, once each is good */
		check_fleet(&r, &c);
	r.line = 0;
	c.file = strdup(file);
	if (!c.file)
		add_error(&r, "out of memory");
	if (errs->n) {
		agent_config_free(&c);
		return -EINVAL;
	}
	set_defaults(&c);
	*out = c;
	return 0;
}

const char *agent_config_path(void)
{
	const char *env = getenv("XDPSEG_CONFIG");

	return env && *env ? env : AGENT_CONFIG_FILE;
}

int agent_config_read_optional(const char *file, struct agent_config *c,
			       struct agent_config_errors *errs)
{
	struct agent_config d;

	if (access(file, F_OK) == 0 || errno != ENOENT)
		return agent_config_read(file, c, errs);
	memset(&d, 0, sizeof(d));
	d.file = strdup(file);
	if (!d.file)
		return -ENOMEM;
	set_defaults(&d);
	*c = d;
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The policy a command asks about, and how its answers are named. */
#include "policy_view.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "ctl/fastcheck.h"
#include "ctl/loader.h"
#include "json.h"
#include "util.h"

static int64_t tai_offset(void)
{
	struct timespec tai, real;

	clock_gettime(CLOCK_TAI, &tai);
	clock_gettime(CLOCK_REALTIME, &real);
	return (int64_t)tai.tv_sec - (int64_t)real.tv_sec +
	       ((tai.tv_nsec - real.tv_nsec) >= 500000000L ? 1 : 0);
}

/* The policy in force; with `check`, its set's derived tables checked too. */
static int view_running(struct xs_view *v, bool check)
{
	char err[512] = "";
	struct xs_ctl ctl;
	int rc;

	memset(v, 0, sizeof(*v));
	v->running = true;
	v->tai_offset = tai_offset();
	xs_libbpf_log_setup();
	xs_ctl_init(&ctl);
	if (xs_ctl_check_env(ctl.dir))
		return -EPERM;
	rc = xs_ctl_open(&ctl);
	if (rc == -ENOENT) {
		/* xs_ctl_open() said "not loaded" */
		return rc;
	}
	if (rc)
		return rc;
	if (check)
		rc = xs_readback_checked(&ctl.maps, &v->c, &v->rb, err, sizeof(err));
	else
		rc = xs_readback(&ctl.maps, &v->c, &v->rb, err, sizeof(err));
	if (rc == -ENOENT)
		p_err("%s: apply one first (xdpseg apply FILE)", err);
	else if (rc)
		p_err("reading the policy in force from %s: %s", ctl.dir, err);
	else
		v->now_tai = xs_datapath_tai_s(&v->rb.cfg);
	xs_ctl_close(&ctl);
	return rc;
}

int xs_view_running(struct xs_view *v)
{
	return view_running(v, false);
}

int xs_view_running_checked(struct xs_view *v)
{
	return view_running(v, true);
}

int xs_view_file(struct xs_view *v, const char *file)
{
	struct timespec ts;
	int rc;

	memset(v, 0, sizeof(*v));
	v->file = file;
	v->tai_offset = tai_offset();
	clock_gettime(CLOCK_TAI, &ts);
	v->now_tai = (uint64_t)ts.tv_sec;
	rc = xs_cli_compile(file, &v->c, NULL);
	return rc;
}

int xs_view_open(struct xs_view *v, const char *what)
{
	if (!strcmp(what, XS_VIEW_RUNNING))
		return xs_view_running(v);
	return xs_view_file(v, what);
}

void xs_view_free(struct xs_view *v)
{
	xs_compiled_free(v->c);
	v->c = NULL;
}

void xs_view_describe(FILE *out, const struct xs_view *v)
{
	char hash[65];

	xs_hex(v->c->hash, sizeof(v->c->hash), hash);
	if (v->running) {
		fprintf(out, "running policy (generation %u%s, ", v->rb.generation,
			v->rb.rolled_back ? ", rolled back" : "");
		xs_print_escaped(out, v->rb.meta.file);
		fprintf(out, ", sha256 %.12s)", hash);
		return;
	}
	xs_print_escaped(out, v->file);
	fprintf(out, " (sha256 %.12s)", hash);
}

void xs_view_json(FILE *out, const struct xs_view *v)
{
	char hash[65];

	xs_hex(v->c->hash, sizeof(v->c->hash), hash);
	if (v->running) {
		fprintf(out,
			"{\"source\":\"running\",\"generation\":%u,\"rolled_back\":%s,\"file\":",
			v->rb.generation, v->rb.rolled_back ? "true" : "false");
		json_print_str(out, v->rb.meta.file);
	} else {
		fprintf(out, "{\"source\":\"file\",\"file\":");
		json_print_str(out, v->file);
	}
	fprintf(out, ",\"sha256\":\"%s\"}", hash);
}

void xs_view_prefix(char *buf, size_t size, uint8_t family, const uint8_t *addr, int len)
{
	char a[INET6_ADDRSTRLEN];

	if (len < 0) {
		snprintf(buf, size, "-");
		return;
	}
	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(buf, size, "%s/%d", a, len);
}

const char *xs_view_seg(const struct xs_compiled *c, uint16_t seg, char *buf, size_t size)
{
	const char *n = xs_compiled_segment_name(c, seg);

	if (n)
		return n;
	snprintf(buf, size, "seg-%u", seg);
	return buf;
}

const char *xs_view_kind(uint32_t kind)
{
	switch (kind) {
	case XS_ORIGIN_RULE:
		return "rule";
	case XS_ORIGIN_DEFAULT:
		return "default";
	case XS_ORIGIN_IMPLICIT:
		return "implicit";
	case XS_ORIGIN_SEGMENT:
		return "segment";
	case XS_ORIGIN_BIND:
		return "bind";
	case XS_ORIGIN_QUARANTINE:
		return "quarantine";
	case XS_ORIGIN_FORENSIC:
		return "forensic";
	case XS_ORIGIN_GRANT:
		return "grant";
	case XS_ORIGIN_FAILSAFE:
		return "failsafe";
	default:
		return "?";
	}
}

void xs_view_origin_json(FILE *out, const struct xs_compiled *c, uint32_t id)
{
	const struct xs_origin_entry *o = xs_compiled_origin(c, id);

	if (!id) {
		fprintf(out, "null");
		return;
	}
	fprintf(out, "{\"rule_id\":%u", id);
	if (o) {
		fprintf(out, ",\"kind\":\"%s\",\"file\":", xs_view_kind(o->kind));
		json_print_str(out, o->file);
		fprintf(out, ",\"line\":%d,\"text\":", o->line);
		json_print_str(out, o->text);
	}
	fprintf(out, "}");
}

void xs_view_service(char *buf, size_t size, uint8_t proto, uint32_t lo, uint32_t hi)
{
	const char *n = xs_proto_name(proto);
	char pn[16];

	if (!n || !proto) {
		snprintf(pn, sizeof(pn), "ip-%u", proto);
		n = pn;
	}
	if (lo > hi)
		snprintf(buf, size, "%s", n);
	else if (lo == hi)
		snprintf(buf, size, "%s/%u", n, lo);
	else if (lo == 0 && hi == ((proto == 1 || proto == 58) ? 255u : 65535u))
		snprintf(buf, size, "%s", n);
	else
		snprintf(buf, size, "%s/%u-%u", n, lo, hi);
}

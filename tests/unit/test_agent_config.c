// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's configuration file (user/agent/config.c): every key and its
 * default, the file over the environment over the default, comments and
 * blanks, and each error as FILE:LINE: error: ... with nothing returned.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"

static char tmp[64], file[128];

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/xs-agentconf-XXXXXX");
	cr_assert(mkdtemp(tmp));
	snprintf(file, sizeof(file), "%s/xdpseg.conf", tmp);
	unsetenv("XDPSEG_PIN_DIR");
	unsetenv("XDPSEG_STATE_DIR");
	unsetenv("XDPSEG_AGENT_SOCK");
}

static void teardown(void)
{
	unlink(file);
	rmdir(tmp);
}

static void write_conf(const char *text, size_t len)
{
	FILE *f = fopen(file, "w");

	cr_assert(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* Read `text`; every error joined by newlines ("" when it reads). */
static char *read_conf(const char *text, struct agent_config *c)
{
	struct agent_config_errors errs = { 0 };
	static char out[4096];
	size_t o = 0;
	int err;

	write_conf(text, strlen(text));
	memset(c, 0, sizeof(*c));
	err = agent_config_read(file, c, &errs);
	out[0] = '\0';
	for (size_t i = 0; i < errs.n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? "\n" : "", errs.v[i]);
	cr_assert_eq(err != 0, errs.n != 0, "error %d with %zu messages", err, errs.n);
	agent_config_errors_free(&errs);
	return out;
}

/* The one error `text` gives, without the "FILE:" in front. */
static const char *one_error(const char *text)
{
	struct agent_config c;
	char *e = read_conf(text, &c);
	size_t n = strlen(file);

	cr_assert(!strchr(e, '\n'), "more than one error: %s", e);
	cr_assert(!strncmp(e, file, n) && e[n] == ':', "not FILE:...: %s", e);
	return e + n + 1;
}

TestSuite(agent_config, .init = setup, .fini = teardown);

Test(agent_config, every_key)
{
	struct agent_config c;
	char want[256];

	cr_assert_str_empty(read_conf("# the farm\n"
				      "\n"
				      "policy = farm.policy      # next to this file\n"
				      "interfaces =\tvnet*  tap[0-9]* \n"
				      "bridge = br0 br1\n"
				      "mode = generic\n"
				      "pin-dir = /sys/fs/bpf/x\n"
				      "state-dir = /var/lib/x\n"
				      "socket = /run/x/agent.sock\n"
				      "unprotected = down\n"
				      "reconcile-interval = 5\n",
				      &c));
	snprintf(want, sizeof(want), "%s/farm.policy", tmp);
	cr_assert_str_eq(c.policy, want);
	cr_assert_eq(c.nifpat, 2);
	cr_assert_str_eq(c.ifpat[0], "vnet*");
	cr_assert_str_eq(c.ifpat[1], "tap[0-9]*");
	cr_assert_eq(c.nbridges, 2);
	cr_assert_str_eq(c.bridges[1], "br1");
	cr_assert_str_eq(c.mode, "generic");
	cr_assert(c.attach.mode == XS_XDP_GENERIC && c.attach.mode_given && !c.attach.tc_ingress);
	cr_assert_str_eq(c.pin_dir, "/sys/fs/bpf/x");
	cr_assert_str_eq(c.state_dir, "/var/lib/x");
	cr_assert_str_eq(c.sock, "/run/x/agent.sock");
	cr_assert_eq(c.unprotected, AGENT_UNPROT_DOWN);
	cr_assert_eq(c.interval, 5);
	cr_assert_eq(c.line[AGENT_KEY_POLICY], 3);
	cr_assert_str_eq(c.file, file);
	agent_config_free(&c);
}

Test(agent_config, defaults)
{
	struct agent_config c;

	cr_assert_str_empty(read_conf("", &c));
	cr_assert_null(c.policy);
	cr_assert_eq(c.nifpat + c.nbridges, 0);
	cr_assert_str_eq(c.mode, "native");
	cr_assert(c.attach.mode == XS_XDP_NATIVE && !c.attach.mode_given);
	cr_assert_str_eq(c.pin_dir, "/sys/fs/bpf/xdpseg");
	cr_assert_str_eq(c.state_dir, "/var/lib/xdpseg");
	cr_assert_str_eq(c.sock, "/run/xdpseg/agent.sock");
	cr_assert_eq(c.unprotected, AGENT_UNPROT_WARN);
	cr_assert_eq(c.interval, AGENT_RECONCILE_DEFAULT);
	agent_config_free(&c);

	cr_assert_str_empty(read_conf("mode = tc-ingress\npolicy = /abs/p.policy\n", &c));
	cr_assert(c.attach.tc_ingress && !c.attach.mode_given);
	cr_assert_str_eq(c.policy, "/abs/p.policy");
	agent_config_free(&c);
}

Test(agent_config, file_over_environment_over_default)
{
	struct agent_config c;

	setenv("XDPSEG_PIN_DIR", "/sys/fs/bpf/env", 1);
	setenv("XDPSEG_STATE_DIR", "/var/lib/env", 1);
	setenv("XDPSEG_AGENT_SOCK", "/run/env.sock", 1);
	cr_assert_str_empty(read_conf("pin-dir = /sys/fs/bpf/file\n", &c));
	cr_assert_str_eq(c.pin_dir, "/sys/fs/bpf/file");
	cr_assert_str_eq(c.state_dir, "/var/lib/env");
	cr_assert_str_eq(c.sock, "/run/env.sock");
	agent_config_free(&c);
}

Test(agent_config, errors)
{
	cr_assert_str_eq(one_error("interface = vnet*\n"),
			 "1: error: unknown key 'interface': did you mean 'interfaces'?");
	cr_assert_str_eq(one_error("pin_dir = /x\n"),
			 "1: error: unknown key 'pin_dir': did you mean 'pin-dir'?");
	cr_assert_str_eq(one_error("reconcile = 3\n"),
			 "1: error: unknown key 'reconcile': did you mean 'reconcile-interval'?");
	cr_assert_str_eq(one_error("\n\nmode = native\nmode = generic\n"),
			 "4: error: duplicate key 'mode' (first at line 3)");
	cr_assert_str_eq(one_error("mode = turbo\n"),
			 "1: error: bad value 'turbo' for mode: use native, generic or tc-ingress");
	cr_assert_str_eq(one_error("unprotected = off\n"),
			 "1: error: bad value 'off' for unprotected: use warn or down");
	cr_assert_str_eq(one_error("reconcile-interval = 1.5\n"),
			 "1: error: bad value '1.5' for reconcile-interval: a whole number of "
			 "seconds, 1 to 86400");
	cr_assert_str_eq(one_error("reconcile-interval = 86401\n"),
			 "1: error: bad value '86401' for reconcile-interval: a whole number of "
			 "seconds, 1 to 86400");
	cr_assert_str_eq(one_error("policy\n"), "1: error: expected 'KEY = VALUE', found 'policy'");
	cr_assert_str_eq(one_error(" = x\n"),
			 "1: error: expected 'KEY = VALUE': no key before '='");
	cr_assert_str_eq(one_error("policy =   # nothing\n"), "1: error: 'policy' needs a value");
	cr_assert_str_eq(one_error("state-dir = var/lib\n"),
			 "1: error: state-dir 'var/lib' is not an absolute path");
	cr_assert_str_eq(
		one_error("bridge = br0 this-name-is-too-long\n"),
		"1: error: bad bridge name 'this-name-is-too-long': an interface name (1 to "
		"15 bytes, no '/', ':' or blank)");
	cr_assert_str_eq(one_error("interfaces = vnet/*\n"),
			 "1: error: bad interface pattern 'vnet/*': a glob of interface names (at "
			 "most 64 bytes, no '/')");
	cr_assert_str_eq(
		one_error("mode = native\r\n"),
		"1: error: control character 0x0d in column 14 (DOS line ends? convert the "
		"file with dos2unix)");
	cr_assert_str_eq(
		one_error("xyz = 1\n"),
		"1: error: unknown key 'xyz': the keys are policy, interfaces, bridge, mode, "
		"pin-dir, state-dir, unprotected, socket, reconcile-interval, failsafe, "
		"grant-max, grant-reason, metrics-listen, metrics-textfile, metrics-interval, "
		"event-history, flow-log, flow-log-size, flow-log-keep, flow-syslog, "
		"flow-update-interval, flow-deny-interval, capture, snap-len, flow-store, "
		"flow-store-days, flow-store-size, flow-store-day-rows, etcd, fleet, fleet-host, "
		"etcd-user, etcd-password-file, etcd-token-file, fleet-report-interval, "
		"fleet-ttl");
}

Test(agent_config, nul_byte_and_missing_file)
{
	struct agent_config_errors errs = { 0 };
	struct agent_config c;
	char want[256];

	write_conf("mode = na\0tive\n", 15);
	cr_assert_neq(agent_config_read(file, &c, &errs), 0);
	cr_assert_eq(errs.n, 1);
	snprintf(want, sizeof(want), "%s:1: error: control character 0x00 in column 10", file);
	cr_assert_str_eq(errs.v[0], want);
	agent_config_errors_free(&errs);

	unlink(file);
	cr_assert_neq(agent_config_read(file, &c, &errs), 0);
	snprintf(want, sizeof(want), "%s: error: cannot read it: No such file or directory", file);
	cr_assert_str_eq(errs.v[0], want);
	agent_config_errors_free(&errs);
}

Test(agent_config, every_error_reported)
{
	struct agent_config c;
	char *e = read_conf("mode = x\nfoo = 1\nmode = native\n", &c);
	size_t lines = 1;

	for (char *p = e; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 3, "%s", e);
}

/* The operating keys: failsafe (repeatable), grant-max, grant-reason. */
Test(agent_config, operating_keys)
{
	struct agent_config c;

	cr_assert_str_empty(read_conf("failsafe = 192.0.2.10 : tcp/22\n"
				      "# management\n"
				      "failsafe = 192.0.2.0/24, fd00::1 : ssh, tcp/443\n"
				      "grant-max = 8h\n"
				      "grant-reason = required\n",
				      &c));
	cr_assert_eq(c.nfailsafe, 2);
	cr_assert_str_eq(c.failsafe[0].text, "192.0.2.10 : tcp/22");
	cr_assert_eq(c.failsafe[0].line, 1);
	cr_assert_str_eq(c.failsafe[1].text, "192.0.2.0/24, fd00::1 : ssh, tcp/443");
	cr_assert_eq(c.failsafe[1].line, 3);
	cr_assert_str_eq(c.failsafe[1].file, file);
	cr_assert_eq(c.grant_max, 8 * 3600);
	cr_assert(c.grant_reason_required);
	agent_config_free(&c);

	/* defaults: no failsafe port, 24h, a reason optional */
	cr_assert_str_empty(read_conf("", &c));
	cr_assert_eq(c.nfailsafe, 0);
	cr_assert_eq(c.grant_max, 24 * 3600);
	cr_assert(!c.grant_reason_required);
	agent_config_free(&c);

	cr_assert_str_empty(read_conf("grant-reason = optional\ngrant-max = 1d2h\n", &c));
	cr_assert(!c.grant_reason_required);
	cr_assert_eq(c.grant_max, 26 * 3600);
	agent_config_free(&c);
}

Test(agent_config, operating_errors)
{
	cr_assert_str_eq(one_error("grant-max = 8\n"),
			 "1: error: bad value '8' for grant-max: a duration with its unit, as 90s, "
			 "15m, 8h or 1d");
	cr_assert_str_eq(
		one_error("grant-max = 0s\n"),
		"1: error: bad value '0s' for grant-max: a duration with its unit, as 90s, "
		"15m, 8h or 1d");
	cr_assert_str_eq(one_error("grant-reason = yes\n"),
			 "1: error: bad value 'yes' for grant-reason: use required or optional");
	cr_assert_str_eq(one_error("grant-max = 1h\ngrant-max = 2h\n"),
			 "2: error: duplicate key 'grant-max' (first at line 1)");
	cr_assert_str_eq(one_error("failsafe = 192.0.2.10\n"),
			 "1: error: bad value '192.0.2.10' for failsafe: expected ADDR[/LEN][, "
			 "ADDR[/LEN]]... : SERVICES (as 192.0.2.10 : tcp/22)");
	cr_assert_str_eq(one_error("failsafe = mgmt : ssh\n"),
			 "1: error: bad address 'mgmt' in failsafe: an IPv4 or IPv6 address or "
			 "prefix (ADDR/LEN); the failsafe ports are addresses of this host, not "
			 "segments");
	cr_assert_str_eq(one_error("failsafe = 192.0.2.300 : ssh\n"),
			 "1: error: bad address '192.0.2.300' in failsafe: an IPv4 or IPv6 address "
			 "or prefix (ADDR/LEN); the failsafe ports are addresses of this host, not "
			 "segments");
	cr_assert_str_eq(
		one_error("failsafe = 192.0.2.1/33 : ssh\n"),
		"1: error: bad address '192.0.2.1/33' in failsafe: an IPv4 or IPv6 address "
		"or prefix (ADDR/LEN); the failsafe ports are addresses of this host, not "
		"segments");
	cr_assert_str_eq(one_error("failsafe = 192.0.2.1 :\n"), "1: error: no services after ':'");
	cr_assert_str_eq(one_error("failsafe = 192.0.2.1 : ssh,\n"),
			 "1: error: an empty service after ','");
	cr_assert_str_eq(one_error("failsafe = 192.0.2.1 : s$h\n"),
			 "1: error: bad service 's$h': a service's name or PROTO/PORT (tcp/443, "
			 "udp/53-54, icmp/8)");
	cr_assert_str_eq(one_error("grant_max = 1h\n"),
			 "1: error: unknown key 'grant_max': did you mean 'grant-max'?");
}

/* The metrics keys: the endpoint's address, the textfile, its period. */
Test(agent_config, metrics_keys)
{
	struct sockaddr_in6 *in6;
	struct sockaddr_in *in4;
	struct agent_config c;

	cr_assert_str_empty(read_conf("metrics-listen = 127.0.0.1:9753\n"
				      "metrics-textfile = /var/lib/node/xdpseg.prom\n"
				      "metrics-interval = 60\n",
				      &c));
	in4 = (struct sockaddr_in *)&c.metrics_addr;
	cr_assert_str_eq(c.metrics_listen, "127.0.0.1:9753");
	cr_assert_eq(in4->sin_family, AF_INET);
	cr_assert_eq(ntohs(in4->sin_port), 9753);
	cr_assert_eq(ntohl(in4->sin_addr.s_addr), 0x7f000001);
	cr_assert_eq(c.metrics_addrlen, sizeof(*in4));
	cr_assert_str_eq(c.metrics_textfile, "/var/lib/node/xdpseg.prom");
	cr_assert_eq(c.metrics_interval, 60);
	agent_config_free(&c);

	cr_assert_str_empty(read_conf("metrics-listen = [::1]:80\n", &c));
	in6 = (struct sockaddr_in6 *)&c.metrics_addr;
	cr_assert_eq(in6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(in6->sin6_port), 80);
	cr_assert(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
	agent_config_free(&c);

	/* defaults: off, no textfile, every 15 s */
	cr_assert_str_empty(read_conf("", &c));
	cr_assert_str_empty(c.metrics_listen);
	cr_assert_str_empty(c.metrics_textfile);
	cr_assert_eq(c.metrics_interval, AGENT_METRICS_INTERVAL_DEFAULT);
	agent_config_free(&c);
}

Test(agent_config, metrics_errors)
{
	static const char *const bad[] = {
		"localhost:9753",  "127.0.0.1",	    "127.0.0.1:",  "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:+80", "::1:9753",	   "[::1]9753",
		"[127.0.0.1]:80",  "[]:80",	    "1.2.3.4:80x", ":9753",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128], want[256];

		snprintf(text, sizeof(text), "metrics-listen = %s\n", bad[i]);
		snprintf(want, sizeof(want),
			 "1: error: bad value '%s' for metrics-listen: an address and a port, as "
			 "127.0.0.1:9753 or [::1]:9753 (no host name)",
			 bad[i]);
		cr_assert_str_eq(one_error(text), want);
	}
	cr_assert_str_eq(one_error("metrics-textfile = /var/lib/node/xdpseg.txt\n"),
			 "1: error: metrics-textfile '/var/lib/node/xdpseg.txt' does not end in "
			 ".prom: node_exporter's textfile collector reads only *.prom files");
	cr_assert_str_eq(one_error("metrics-textfile = /x/.prom\n"),
			 "1: error: metrics-textfile '/x/.prom' does not end in .prom: "
			 "node_exporter's textfile collector reads only *.prom files");
	cr_assert_str_eq(one_error("metrics-textfile = xdpseg.prom\n"),
			 "1: error: metrics-textfile 'xdpseg.prom' is not an absolute path");
	cr_assert_str_eq(one_error("metrics-interval = 0\n"),
			 "1: error: bad value '0' for metrics-interval: a whole number of seconds, "
			 "1 to 86400");
	cr_assert_str_eq(one_error("metrics_listen = 127.0.0.1:9753\n"),
			 "1: error: unknown key 'metrics_listen': did you mean 'metrics-listen'?");
}

/* A command reads the configuration when there is one, defaults when not. */
Test(agent_config, optional)
{
	struct agent_config_errors errs = { 0 };
	struct agent_config c;

	unlink(file);
	cr_assert_eq(agent_config_read_optional(file, &c, &errs), 0);
	cr_assert_eq(errs.n, 0);
	cr_assert_eq(c.grant_max, 24 * 3600);
	cr_assert_str_eq(c.file, file);
	agent_config_free(&c);

	write_conf("grant-max = 1h\n", 15);
	cr_assert_eq(agent_config_read_optional(file, &c, &errs), 0);
	cr_assert_eq(c.grant_max, 3600);
	agent_config_free(&c);

	setenv("XDPSEG_CONFIG", "/x/y.conf", 1);
	cr_assert_str_eq(agent_config_path(), "/x/y.conf");
	unsetenv("XDPSEG_CONFIG");
	cr_assert_str_eq(agent_config_path(), AGENT_CONFIG_FILE);
}

/* event-history: the events the agent keeps for watch --since / --last. */
Test(agent_config, event_history)
{
	struct agent_config c;

	cr_assert_str_empty(read_conf("", &c));
	cr_assert_eq(c.event_history, AGENT_EVENT_HISTORY_DEFAULT);
	cr_assert_eq(c.event_history, 10000);
	agent_config_free(&c);
	cr_assert_str_empty(read_conf("event-history = 0\n", &c));
	cr_assert_eq(c.event_history, 0, "0: no history");
	agent_config_free(&c);
	cr_assert_str_empty(read_conf("event-history = 1000000\n", &c));
	cr_assert_eq(c.event_history, 1000000);
	agent_config_free(&c);
	for (const char *const *v = (const char *const[]){ "-1", "+5", "1000001", "10k", "1e3",
							   "99999999999999999999", NULL };
	     *v; v++) {
		char text[64], want[256];

		snprintf(text, sizeof(text), "event-history = %s\n", *v);
		snprintf(want, sizeof(want),
			 "1: error: bad value '%s' for event-history: a whole number of events, 0 "
			 "(none) to 1000000",
			 *v);
		cr_assert_str_eq(one_error(text), want);
	}
	cr_assert_str_eq(one_error("event_history = 5\n"),
			 "1: error: unknown key 'event_history': did you mean 'event-history'?");
}
Test(agent_config, flow_record_keys)
{
	struct agent_config c;

	cr_assert_str_empty(read_conf("", &c));
	cr_assert_str_empty(c.flow_log);
	cr_assert_eq(c.flow_log_size, 100ULL << 20);
	cr_assert_eq(c.flow_log_keep, 5);
	cr_assert(!c.flow_syslog);
	cr_assert_eq(c.flow_update, 60);
	cr_assert_eq(c.flow_deny, 60);
	agent_config_free(&c);

	cr_assert_str_empty(read_conf("flow-log = /var/log/xdpseg/flows.ndjson\n"
				      "flow-log-size = 512K\n"
				      "flow-log-keep = 0\n"
				      "flow-syslog = yes\n"
				      "flow-update-interval = 5m\n"
				      "flow-deny-interval = 10s\n",
				      &c));
	cr_assert_str_eq(c.flow_log, "/var/log/xdpseg/flows.ndjson");
	cr_assert_eq(c.flow_log_size, 512 * 1024);
	cr_assert_eq(c.flow_log_keep, 0);
	cr_assert(c.flow_syslog);
	cr_assert_eq(c.flow_update, 300);
	cr_assert_eq(c.flow_deny, 10);
	agent_config_free(&c);

	cr_assert_str_eq(one_error("flow-log = flows.ndjson\n"),
			 "1: error: flow-log 'flows.ndjson' is not an absolute path");
	cr_assert_str_eq(one_error("flow-log-size = 10MB\n"),
			 "1: error: bad value '10MB' for flow-log-size: bytes, or a number with K, "
			 "M or G, as 100M (0: never rotate)");
	cr_assert_str_eq(one_error("flow-log-keep = 101\n"),
			 "1: error: bad value '101' for flow-log-keep: a whole number, 0 to 100");
	cr_assert_str_eq(one_error("flow-syslog = on\n"),
			 "1: error: bad value 'on' for flow-syslog: use yes or no");
	cr_assert_str_eq(one_error("flow-update-interval = 60\n"),
			 "1: error: bad value '60' for flow-update-interval: a duration with its "
			 "unit from 1s to 1d, as 30s, 1m or 15m");
	cr_assert_str_eq(
		one_error("flow-deny-interval = 2d\n"),
		"1: error: bad value '2d' for flow-deny-interval: a duration with its unit "
		"from 1s to 1d, as 30s, 1m or 15m");
}

Test(agent_config, capture_and_snap_len)
{
	struct agent_config c;

	cr_assert_str_empty(read_conf("", &c));
	cr_assert_str_empty(c.capture);
	cr_assert_eq(c.snap_len, 128);
	agent_config_free(&c);
	cr_assert_str_empty(read_conf("capture = /var/lib/xdpseg/drops.pcap\nsnap-len = 0\n", &c));
	cr_assert_str_eq(c.capture, "/var/lib/xdpseg/drops.pcap");
	cr_assert_eq(c.snap_len, 0);
	agent_config_free(&c);
	cr_assert_str_eq(
		one_error("snap-len = 257\n"),
		"1: error: bad value '257' for snap-len: a whole number of bytes, 0 (none) "
		"to 256");
	cr_assert_str_eq(one_error("capture = drops.pcap\n"),
			 "1: error: capture 'drops.pcap' is not an absolute path");
}

Test(agent_config, flow_store_keys)
{
	struct agent_config c;

	/* on by default, in the state directory */
	setenv("XDPSEG_STATE_DIR", "/tmp/xs-state-dir", 1);
	cr_assert_str_empty(read_conf("", &c));
	cr_assert_str_eq(c.flow_store, "/tmp/xs-state-dir/flows.db");
	cr_assert_eq(c.flow_store_days, 30);
	cr_assert_eq(c.flow_store_size, 256ULL << 20);
	cr_assert_eq(c.flow_store_day_rows, 200000);
	agent_config_free(&c);
	cr_assert_str_empty(read_conf("state-dir = /srv/xs\n", &c));
	cr_assert_str_eq(c.flow_store, "/srv/xs/flows.db");
	agent_config_free(&c);
	unsetenv("XDPSEG_STATE_DIR");

	cr_assert_str_empty(read_conf("flow-store = /var/lib/xs/f.db\n"
				      "flow-store-days = 3650\n"
				      "flow-store-size = 1G\n"
				      "flow-store-day-rows = 1000\n",
				      &c));
	cr_assert_str_eq(c.flow_store, "/var/lib/xs/f.db");
	cr_assert_eq(c.flow_store_days, 3650);
	cr_assert_eq(c.flow_store_size, 1ULL << 30);
	cr_assert_eq(c.flow_store_day_rows, 1000);
	agent_config_free(&c);
	cr_assert_str_empty(read_conf("flow-store = off\n", &c));
	cr_assert_str_empty(c.flow_store);
	agent_config_free(&c);

	cr_assert_str_eq(one_error("flow-store = flows.db\n"),
			 "1: error: flow-store 'flows.db' is not an absolute path");
	cr_assert_str_eq(
		one_error("flow-store-days = 0\n"),
		"1: error: bad value '0' for flow-store-days: a whole number of days, 1 to "
		"3650");
	cr_assert_str_eq(one_error("flow-store-days = 30d\n"),
			 "1: error: bad value '30d' for flow-store-days: a whole number of days, 1 "
			 "to 3650");
	cr_assert_str_eq(one_error("flow-store-size = 4K\n"),
			 "1: error: bad value '4K' for flow-store-size: bytes, or a number with K, "
			 "M or G, as 256M (at least 64K)");
	cr_assert_str_eq(
		one_error("flow-store-day-rows = -1\n"),
		"1: error: bad value '-1' for flow-store-day-rows: a whole number of rows, "
		"1 to 100000000");
	cr_assert_str_eq(one_error("flow-stor = off\n"),
			 "1: error: unknown key 'flow-stor': did you mean 'flow-store'?");
}

Test(agent_config, fleet_keys)
{
	struct agent_config c;
	char text[1024], host[256] = "";

	/* Off by default; on with fleet and etcd, the rest defaulted. */
	cr_assert_str_eq(read_conf("mode = generic\n", &c), "");
	cr_assert_str_eq(c.fleet, "");
	cr_assert_str_eq(c.etcd, "");
	agent_config_free(&c);
	cr_assert_str_eq(read_conf("fleet = farm-1\netcd = http://10.0.0.1:2379 "
				   "https://e2:2379,http://[::1]:2379\n",
				   &c),
			 "");
	cr_assert_str_eq(c.fleet, "farm-1");
	cr_assert_str_eq(c.etcd, "http://10.0.0.1:2379,https://e2:2379,http://[::1]:2379");
	gethostname(host, sizeof(host) - 1);
	cr_assert_str_eq(c.fleet_host, host);
	cr_assert_eq(c.fleet_report, 30);
	cr_assert_eq(c.fleet_ttl, 90);
	agent_config_free(&c);

	snprintf(text, sizeof(text),
		 "fleet = f\netcd = http://e:2379\nfleet-host = hv-07\netcd-token-file = %s\n"
		 "fleet-report-interval = 1s\nfleet-ttl = 3s\n",
		 file);
	cr_assert_str_eq(read_conf(text, &c), "");
	cr_assert_str_eq(c.fleet_host, "hv-07");
	cr_assert_str_eq(c.etcd_token_file, file);
	cr_assert_eq(c.fleet_report, 1);
	cr_assert_eq(c.fleet_ttl, 3);
	agent_config_free(&c);
}

Test(agent_config, fleet_errors)
{
	char text[1024];

	cr_assert_str_eq(
		one_error("fleet = f\n"),
		"1: error: fleet = f needs etcd = URL[,URL...]: where the fleet's policy is");
	cr_assert_str_eq(
		one_error("etcd = http://e:2379\n"),
		"1: error: etcd is set but fleet is not: set fleet = NAME to follow a fleet");
	cr_assert_str_eq(one_error("fleet = f\netcd = e:2379\n"),
			 "2: error: bad etcd endpoint 'e:2379': a URL, as http://10.0.0.1:2379 or "
			 "https://etcd1:2379");
	cr_assert_str_eq(one_error("fleet = a/b\netcd = http://e:2379\n"),
			 "1: error: bad value 'a/b' for fleet: 1 to 63 of A-Z a-z 0-9 . _ -");
	cr_assert_str_eq(one_error("fleet = f\netcd = http://e:2379\npolicy = /x.policy\n"),
			 "1: error: fleet = f and policy (line 3) are both set: in a fleet the "
			 "policy comes from etcd (xdpseg publish); remove one");
	cr_assert_str_eq(one_error("fleet = f\netcd = http://e:2379\nfleet-ttl = 30s\n"),
			 "3: error: fleet-ttl (30s) must be longer than fleet-report-interval "
			 "(30s): the report's lease would expire between two reports");
	cr_assert_str_eq(one_error("fleet = f\netcd = http://e:2379\netcd-user = u\n"),
			 "3: error: etcd-user needs etcd-password-file: the file holding its "
			 "password");
	cr_assert_str_eq(
		one_error("fleet = f\netcd = http://e:2379\netcd-token-file = /nonexistent/t\n"),
		"3: error: etcd-token-file '/nonexistent/t' cannot be read: No such file or "
		"directory");
	snprintf(text, sizeof(text),
		 "fleet = f\netcd = http://e:2379\netcd-user = u\netcd-password-file = %s\n"
		 "etcd-token-file = %s\n",
		 file, file);
	cr_assert_str_eq(one_error(text),
			 "5: error: etcd-token-file and etcd-user are both set: use one");
	cr_assert_str_eq(one_error("fleet-ttl = 10s\n"),
			 "1: error: fleet-ttl is set but fleet is not: set fleet = NAME to follow "
			 "a fleet");
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mkstore FILE: a flow store made through the store's own API (xs_store_add,
 * xs_store_flush) from lines on stdin, for the CLI tests of suggest and
 * replay: SRC DST PROTO PORT DECISION SECONDS_AGO CONNECTIONS, e.g.
 *   10.20.1.5 10.10.10.7 6 1494 allow 3600 10
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

int main(int argc, char **argv)
{
	struct xs_store *s = NULL;
	char err[512] = "", line[512];
	int64_t now = (int64_t)time(NULL);
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: mkstore FILE < ROWS\n");
		return 2;
	}
	if (xs_store_open(argv[1], true, NULL, &s, err, sizeof(err))) {
		fprintf(stderr, "mkstore: %s\n", err);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		char src[64], dst[64], dec[16];
		unsigned int proto;
		int port;
		long long ago;
		unsigned long long conns;
		struct xs_store_obs o = { .rule = "test", .iface = "eth0" };
		int af;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %63s %u %d %15s %lld %llu", src, dst, &proto, &port, dec,
			   &ago, &conns) != 7) {
			fprintf(stderr, "mkstore: bad line: %s", line);
			return 2;
		}
		af = strchr(src, ':') ? AF_INET6 : AF_INET;
		o.family = af == AF_INET6 ? 6 : 4;
		o.proto = (uint8_t)proto;
		o.port = port;
		o.decision = !strcmp(dec, "drop")    ? XS_STORE_DROP
			     : !strcmp(dec, "audit") ? XS_STORE_AUDIT
						     : XS_STORE_ALLOW;
		o.time = now - ago;
		o.connections = conns;
		o.packets = conns * 4;
		o.bytes = conns * 400;
		if (inet_pton(af, src, o.src) != 1 || inet_pton(af, dst, o.dst) != 1) {
			fprintf(stderr, "mkstore: bad address: %s", line);
			return 2;
		}
		if (xs_store_add(s, &o)) {
			fprintf(stderr, "mkstore: add failed\n");
			return 1;
		}
		n++;
	}
	if (xs_store_flush(s, now, err, sizeof(err))) {
		fprintf(stderr, "mkstore: %s\n", err);
		return 1;
	}
	xs_store_close(s);
	printf("%d observations\n", n);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mkstore PATH MAX_DAY_ROWS: a flow store made with the store's own API
 * (xs_store_add, xs_store_flush) from lines on stdin, one observation each:
 *   SRC DST PROTO PORT DECISION CONNECTIONS TIME SRC_SEGMENT DST_SEGMENT
 * PROTO a number, DECISION allow|audit|drop, TIME Unix seconds. Past
 * MAX_DAY_ROWS keyed rows a day, the store aggregates (a flood).
 * For tests/unit/map-cli.sh.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

int main(int argc, char **argv)
{
	struct xs_store_limits lim = { 0 };
	char line[1024], err[512] = "";
	struct xs_store *s = NULL;
	int64_t last = 0;
	int n = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: mkstore PATH MAX_DAY_ROWS < observations\n");
		return 2;
	}
	lim.max_day_rows = strtoull(argv[2], NULL, 10);
	if (xs_store_open(argv[1], true, &lim, &s, err, sizeof(err))) {
		fprintf(stderr, "mkstore: %s\n", err);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		char src[64], dst[64], dec[16], sseg[128], dseg[128];
		unsigned int proto;
		int port;
		unsigned long long conn;
		long long t;
		struct xs_store_obs o = { 0 };

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %63s %u %d %15s %llu %lld %127s %127s", src, dst, &proto,
			   &port, dec, &conn, &t, sseg, dseg) != 9) {
			fprintf(stderr, "mkstore: line %d: %s", n + 1, line);
			return 1;
		}
		o.family = strchr(src, ':') ? 6 : 4;
		if (inet_pton(o.family == 4 ? AF_INET : AF_INET6, src, o.src) != 1 ||
		    inet_pton(o.family == 4 ? AF_INET : AF_INET6, dst, o.dst) != 1) {
			fprintf(stderr, "mkstore: line %d: bad address\n", n + 1);
			return 1;
		}
		o.proto = (uint8_t)proto;
		o.port = port;
		o.decision = !strcmp(dec, "allow")   ? XS_STORE_ALLOW
			     : !strcmp(dec, "audit") ? XS_STORE_AUDIT
						     : XS_STORE_DROP;
		o.connections = conn;
		o.packets = conn * 10;
		o.bytes = conn * 1000;
		o.time = t;
		o.rule = "mkstore";
		o.src_segment = sseg;
		o.dst_segment = dseg;
		if (xs_store_add(s, &o)) {
			fprintf(stderr, "mkstore: line %d: not added\n", n + 1);
			return 1;
		}
		if (t > last)
			last = t;
		n++;
	}
	if (xs_store_flush(s, last > time(NULL) ? last : (int64_t)time(NULL), err, sizeof(err))) {
		fprintf(stderr, "mkstore: %s\n", err);
		return 1;
	}
	xs_store_close(s);
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Two publishes from a stale read, at the C level: fleetrace URL FLEET.
 * xs_fleet_publish() reads the pointer, then puts its chunks; this program
 * is linked with --wrap=xs_etcd_sync_put, so at its first chunk a rival
 * publisher moves the pointer (generation + 1, by rival@test). The
 * publish's transaction must then fail: -EAGAIN, its message, the rival's
 * pointer left in place. Prints the message and the pointer's generation
 * and author; exit 0 when all of that held (fleet-cli.sh checks the lines).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"

int __real_xs_etcd_sync_put(struct xs_etcd_sync *s, const char *key, const void *value, size_t len,
			    int64_t lease, struct xs_etcd_result *r);
int __wrap_xs_etcd_sync_put(struct xs_etcd_sync *s, const char *key, const void *value, size_t len,
			    int64_t lease, struct xs_etcd_result *r);

static const char *fleet;
static bool moved;

/* The rival: the pointer moved to generation + 1 between the read and the
 * transaction. */
static void rival(struct xs_etcd_sync *s)
{
	struct xs_fleet_pointer p, cur;
	struct xs_etcd_result r = { 0 };
	char key[256], err[512], *json;

	memset(&p, 0, sizeof(p));
	if (xs_fleet_current(s, fleet, &cur, err, sizeof(err)))
		memset(&cur, 0, sizeof(cur)); /* none yet */
	p.generation = cur.generation + 1;
	xs_fleet_hash("rival", 5, p.hash);
	p.chunks = 1;
	p.size = 5;
	strcpy(p.author, "rival@test");
	p.time = 1700000000;
	p.time_ms = 1700000000000;
	strcpy(p.file, "rival.policy");
	if (xs_fleet_pointer_json(&p, &json))
		exit(2);
	xs_fleet_key_current(key, sizeof(key), fleet);
	if (__real_xs_etcd_sync_put(s, key, json, strlen(json), 0, &r)) {
		fprintf(stderr, "fleetrace: the rival's put: %s\n", r.msg);
		exit(2);
	}
	xs_etcd_result_free(&r);
	free(json);
}

int __wrap_xs_etcd_sync_put(struct xs_etcd_sync *s, const char *key, const void *value, size_t len,
			    int64_t lease, struct xs_etcd_result *r)
{
	if (!moved && strstr(key, "/bundle/")) {
		moved = true;
		rival(s);
	}
	return __real_xs_etcd_sync_put(s, key, value, len, lease, r);
}

int main(int argc, char **argv)
{
	static const char artefact[] = "not a policy: xs_fleet_publish stores bytes";
	struct xs_etcd_opts o = { 0 };
	struct xs_etcd_sync *s = NULL;
	struct xs_fleet_pointer p;
	struct xs_fleet_publish req = { 0 };
	char err[512];
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: fleetrace URL FLEET\n");
		return 2;
	}
	fleet = argv[2];
	if (xs_etcd_parse_endpoints(argv[1], &o, err, sizeof(err)) ||
	    xs_etcd_sync_new(&o, &s, err, sizeof(err))) {
		fprintf(stderr, "fleetrace: %s\n", err);
		return 2;
	}
	req = (struct xs_fleet_publish){
		.fleet = fleet, .file = "race.policy", .artefact = artefact, .len = sizeof(artefact)
	};
	rc = xs_fleet_publish(s, &req, &p, err, sizeof(err));
	printf("%s (%s)\n", err, rc == -EAGAIN ? "EAGAIN" : strerror(-rc));
	if (xs_fleet_current(s, fleet, &p, err, sizeof(err)))
		printf("%s\n", err);
	else
		printf("pointer: generation %" PRIu64 " by %s\n", p.generation, p.author);
	xs_etcd_sync_free(s);
	return moved && rc == -EAGAIN ? 0 : 1;
}

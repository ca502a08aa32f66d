// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Publishing a compiled policy to the fleet (fleet.h): the chunks first
 * (content-addressed: putting them again changes nothing a host reads),
 * then one transaction that moves the pointer only if nobody moved it since
 * it was read, then garbage collection of what the last `keep` generations
 * no longer name.
 *
 * Garbage collection runs in transactions guarded by the pointer this
 * publish wrote: once another publish moved it, that one collects. A lost
 * race leaves its chunks behind on purpose (they may be another
 * publisher's same bytes): running the publish again uses them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet/fleet.h"

#define KEY_LEN 256
#define GC_BATCH 64 /* delete operations per transaction (etcd takes 128) */

int xs_fleet_current(struct xs_etcd_sync *s, const char *fleet, struct xs_fleet_pointer *out,
		     char *err, size_t errlen)
{
	struct xs_etcd_result r = { 0 };
	char key[KEY_LEN], why[256];
	int rc;

	memset(out, 0, sizeof(*out));
	xs_fleet_key_current(key, sizeof(key), fleet);
	rc = xs_etcd_sync_range(s, key, false, 0, &r);
	if (rc) {
		snprintf(err, errlen, "%s", r.msg);
	} else if (!r.nkvs) {
		snprintf(err, errlen, "fleet %s: nothing published (no %s)", fleet, key);
		rc = -ENOENT;
	} else if (xs_fleet_pointer_parse(r.kvs[0].value, r.kvs[0].len, out, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", key, why);
		rc = -EINVAL;
	} else {
		out->mod_revision = r.kvs[0].mod_revision;
	}
	xs_etcd_result_free(&r);
	return rc;
}

/* "$SUDO_USER or $USER @ hostname". */
static void default_author(char *buf, size_t size)
{
	const char *user = getenv("SUDO_USER");
	char host[64] = "localhost";

	if (!user || !*user)
		user = getenv("USER");
	if (!user || !*user)
		user = "unknown";
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, size, "%s@%s", user, host);
	/* the pointer's reader refuses control characters: none from here */
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

static int put_chunks(struct xs_etcd_sync *s, const struct xs_fleet_publish *p,
		      const struct xs_fleet_pointer *np, char *err, size_t errlen)
{
	const char *b = p->artefact;
	char key[KEY_LEN];

	for (uint32_t i = 0; i < np->chunks; i++) {
		struct xs_etcd_result r = { 0 };
		size_t off = (size_t)i * XS_FLEET_CHUNK;
		size_t n = p->len - off < XS_FLEET_CHUNK ? p->len - off : XS_FLEET_CHUNK;
		int rc;

		xs_fleet_key_chunk(key, sizeof(key), p->fleet, np->hash, i);
		rc = xs_etcd_sync_put(s, key, b + off, n, 0, &r);
		if (rc)
			snprintf(err, errlen, "%s: %s", key, r.msg);
		xs_etcd_result_free(&r);
		if (rc)
			return rc;
	}
	return 0;
}

/* The history: generation -> hash, every entry that parses. */
struct hist {
	uint64_t gen;
	char hash[65];
};

static int read_history(struct xs_etcd_sync *s, const char *fleet, struct hist **out, size_t *n,
			char *err, size_t errlen)
{
	struct xs_etcd_result r = { 0 };
	char prefix[KEY_LEN];
	size_t plen;
	int rc;

	*out = NULL;
	*n = 0;
	xs_fleet_key_history(prefix, sizeof(prefix), fleet, 0);
	plen = strlen(prefix);
	rc = xs_etcd_sync_range(s, prefix, true, 0, &r);
	if (rc) {
		snprintf(err, errlen, "%s", r.msg);
		goto out;
	}
	*out = calloc(r.nkvs ? r.nkvs : 1, sizeof(**out));
	if (!*out) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r.nkvs; i++) {
		const char *g = r.kvs[i].key + plen;
		struct hist *h = &(*out)[*n];
		char *end;

		if (strncmp(r.kvs[i].key, prefix, plen) || *g < '1' || *g > '9')
			continue;
		errno = 0;
		h->gen = strtoull(g, &end, 10);
		if (errno || *end || r.kvs[i].len != 64 ||
		    strspn(r.kvs[i].value, "0123456789abcdef") != 64)
			continue; /* not ours: left alone */
		memcpy(h->hash, r.kvs[i].value, 64);
		(*n)++;
	}
out:
	xs_etcd_result_free(&r);
	return rc;
}

static bool kept(const struct hist *h, size_t n, uint64_t oldest, const char *hash)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].gen >= oldest && !strcmp(h[i].hash, hash))
			return true;
	return false;
}

/* Run ops[] guarded by the pointer still being `np`'s: 1 done, 0 moved
 * (another publish collects), or an error. */
static int gc_txn(struct xs_etcd_sync *s, const char *cur_key, const struct xs_fleet_pointer *np,
		  const struct xs_etcd_op *ops, size_t nops, char *err, size_t errlen)
{
	struct xs_etcd_result r = { 0 };
	int rc = xs_etcd_sync_txn(s, cur_key, np->mod_revision, ops, nops, &r);

	if (rc)
		snprintf(err, errlen, "garbage collection: %s", r.msg);
	else
		rc = r.succeeded;
	xs_etcd_result_free(&r);
	return rc;
}

/*
 * Generations older than the last `keep` lose their history entry, and
 * their bundle unless a kept generation (or the current one) has the same
 * hash: the bundle goes first, in the same transaction as the entry, so a
 * bundle is never left without the entry that names it.
 */
static int collect(struct xs_etcd_sync *s, const char *fleet, const struct xs_fleet_pointer *np,
		   unsigned int keep, char *err, size_t errlen)
{
	uint64_t oldest = np->generation > keep ? np->generation - keep + 1 : 1;
	char cur_key[KEY_LEN], (*keys)[KEY_LEN] = NULL;
	struct xs_etcd_op *ops = NULL;
	struct hist *h = NULL;
	size_t n = 0, nops = 0;
	int rc;

	xs_fleet_key_current(cur_key, sizeof(cur_key), fleet);
	rc = read_history(s, fleet, &h, &n, err, errlen);
	if (rc || !n)
		goto out;
	keys = calloc(2 * n, KEY_LEN);
	ops = calloc(2 * n, sizeof(*ops));
	if (!keys || !ops) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (h[i].gen >= oldest)
			continue;
		/* kept, or already deleted by an older entry with the same hash */
		if (strcmp(h[i].hash, np->hash) && !kept(h, n, oldest, h[i].hash) &&
		    !kept(h, i, 0, h[i].hash)) {
			xs_fleet_key_bundle(keys[nops], KEY_LEN, fleet, h[i].hash);
			ops[nops] = (struct xs_etcd_op){ .kind = XS_ETCD_DELETE_PREFIX,
							 .key = keys[nops] };
			nops++;
		}
		xs_fleet_key_history(keys[nops], KEY_LEN, fleet, h[i].gen);
		ops[nops] = (struct xs_etcd_op){ .kind = XS_ETCD_DELETE, .key = keys[nops] };
		nops++;
	}
	for (size_t i = 0; i < nops && rc == 0; i += GC_BATCH) {
		size_t m = nops - i < GC_BATCH ? nops - i : GC_BATCH;

		/* a cut between a bundle and its entry leaves the entry: the
		 * next collection deletes it (and the empty prefix) */
		rc = gc_txn(s, cur_key, np, ops + i, m, err, errlen);
		rc = rc == 1 ? 0 : rc == 0 ? 1 : rc;
	}
out:
	free(h);
	free(keys);
	free(ops);
	return rc < 0 ? rc : 0;
}

static void lost_race(struct xs_etcd_sync *s, const char *fleet, char *err, size_t errlen)
{
	struct xs_fleet_pointer now;
	char why[256];

	if (!xs_fleet_current(s, fleet, &now, why, sizeof(why)))
		snprintf(err, errlen,
			 "another publish moved the pointer first (generation %" PRIu64
			 " by %s): run it again",
			 now.generation, now.author);
	else
		snprintf(err, errlen, "another publish moved the pointer first (%s): run it again",
			 why);
}

int xs_fleet_publish(struct xs_etcd_sync *s, const struct xs_fleet_publish *p,
		     struct xs_fleet_pointer *out, char *err, size_t errlen)
{
	struct xs_fleet_pointer cur, np = { 0 };
	struct xs_etcd_result r = { 0 };
	struct xs_etcd_op ops[2];
	char cur_key[KEY_LEN], hist_key[KEY_LEN], *json = NULL;
	struct timespec now;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!xs_fleet_name_ok(p->fleet)) {
		snprintf(err, errlen, "'%s' is not a fleet name (1-63 of A-Z a-z 0-9 . _ -)",
			 p->fleet ? p->fleet : "");
		return -EINVAL;
	}
	if (!p->len || p->len > (size_t)4096 * XS_FLEET_CHUNK) {
		snprintf(err, errlen, "the artefact is %zu bytes (1 to %u chunks of %u)", p->len,
			 4096u, XS_FLEET_CHUNK);
		return p->len ? -EFBIG : -EINVAL;
	}
	xs_fleet_hash(p->artefact, p->len, np.hash);
	np.chunks = (uint32_t)((p->len + XS_FLEET_CHUNK - 1) / XS_FLEET_CHUNK);
	np.size = p->len;
	if (p->author)
		snprintf(np.author, sizeof(np.author), "%s", p->author);
	else
		default_author(np.author, sizeof(np.author));
	snprintf(np.file, sizeof(np.file), "%s", p->file ? p->file : "");

	rc = xs_fleet_current(s, p->fleet, &cur, err, errlen);
	if (rc == -ENOENT)
		memset(&cur, 0, sizeof(cur));
	else if (rc)
		return rc;
	if (cur.generation && !strcmp(cur.hash, np.hash)) {
		*out = cur;
		snprintf(err, errlen, "already published: generation %" PRIu64, cur.generation);
		return -EALREADY;
	}

	rc = put_chunks(s, p, &np, err, errlen);
	if (rc)
		return rc;

	clock_gettime(CLOCK_REALTIME, &now);
	np.generation = cur.generation + 1;
	np.time = now.tv_sec;
	np.time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	rc = xs_fleet_pointer_json(&np, &json);
	if (rc)
		return rc;
	xs_fleet_key_current(cur_key, sizeof(cur_key), p->fleet);
	xs_fleet_key_history(hist_key, sizeof(hist_key), p->fleet, np.generation);
	ops[0] = (struct xs_etcd_op){
		.kind = XS_ETCD_PUT, .key = cur_key, .value = json, .len = strlen(json)
	};
	ops[1] = (struct xs_etcd_op){
		.kind = XS_ETCD_PUT, .key = hist_key, .value = np.hash, .len = 64
	};
	rc = xs_etcd_sync_txn(s, cur_key, cur.mod_revision, ops, 2, &r);
	free(json);
	if (rc) {
		snprintf(err, errlen, "%s: %s", cur_key, r.msg);
	} else if (!r.succeeded) {
		lost_race(s, p->fleet, err, errlen);
		rc = -EAGAIN;
	} else {
		np.mod_revision = r.revision; /* the transaction's: the pointer's */
		*out = np;
	}
	xs_etcd_result_free(&r);
	if (rc)
		return rc;
	/* published: a failed collection is left to the next publish */
	collect(s, p->fleet, &np, p->keep ? p->keep : XS_FLEET_KEEP, err, errlen);
	return 0;
}

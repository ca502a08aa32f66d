// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fleet's names, keys and documents (fleet.h): the pointer and a host's
 * report to and from JSON. What is parsed here was read from etcd, where
 * anyone with write access to the prefix may have put anything: every
 * field is checked (type, range, characters) and a refusal says which
 * field and why. Fields this version does not know are ignored, so a newer
 * publisher's pointer still reads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "fleet/fleet.h"
#include "policy.h"

#define MAX_DOC (64u << 10) /* a pointer or a report is a few hundred bytes */
#define MAX_CHUNKS 4096u
#define MAX_GENERATION 1000000000000000LL /* 1e15 */
#define MAX_TIME 253402300799LL		  /* 9999-12-31T23:59:59Z */
#define MAX_COUNTER (INT64_MAX - 1)

bool xs_fleet_name_ok(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n >= XS_FLEET_NAME_LEN || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

void xs_fleet_key_current(char *buf, size_t size, const char *fleet)
{
	snprintf(buf, size, XS_FLEET_PREFIX "%s/current", fleet);
}

void xs_fleet_key_bundle(char *buf, size_t size, const char *fleet, const char *hash)
{
	snprintf(buf, size, XS_FLEET_PREFIX "%s/bundle/%s%s", fleet, hash ? hash : "",
		 hash ? "/" : "");
}

void xs_fleet_key_chunk(char *buf, size_t size, const char *fleet, const char *hash, unsigned int i)
{
	snprintf(buf, size, XS_FLEET_PREFIX "%s/bundle/%s/%04u", fleet, hash, i);
}

void xs_fleet_key_status(char *buf, size_t size, const char *fleet, const char *host)
{
	snprintf(buf, size, XS_FLEET_PREFIX "%s/status/%s", fleet, host ? host : "");
}

void xs_fleet_key_seen(char *buf, size_t size, const char *fleet, const char *host)
{
	snprintf(buf, size, XS_FLEET_PREFIX "%s/seen/%s", fleet, host ? host : "");
}

void xs_fleet_key_history(char *buf, size_t size, const char *fleet, uint64_t generation)
{
	if (generation)
		snprintf(buf, size, XS_FLEET_PREFIX "%s/history/%" PRIu64, fleet, generation);
	else
		snprintf(buf, size, XS_FLEET_PREFIX "%s/history/", fleet);
}

void xs_fleet_hash(const void *b, size_t n, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t md[32];

	xs_sha256(b, n, md);
	for (size_t i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* ---- Writing ------------------------------------------------------------- */

static int to_string(struct json_object *o, char **out)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE);

	*out = s ? strdup(s) : NULL;
	json_object_put(o);
	return *out ? 0 : -ENOMEM;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

static void add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

int xs_fleet_pointer_json(const struct xs_fleet_pointer *p, char **out)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	add_int(o, "generation", (int64_t)p->generation);
	add_str(o, "hash", p->hash);
	add_int(o, "chunks", p->chunks);
	add_int(o, "size", (int64_t)p->size);
	add_str(o, "author", p->author);
	add_int(o, "time", p->time);
	add_int(o, "time_ms", p->time_ms);
	add_str(o, "file", p->file);
	return to_string(o, out);
}

int xs_fleet_report_json(const struct xs_fleet_report *r, char **out)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	add_str(o, "host", r->host);
	add_str(o, "hash", r->hash);
	add_int(o, "generation", (int64_t)r->generation);
	add_int(o, "applied", r->applied);
	add_int(o, "applied_ms", r->applied_ms);
	add_int(o, "time", r->time);
	add_str(o, "state", r->state);
	add_str(o, "error", r->error);
	add_int(o, "interfaces", r->interfaces);
	add_int(o, "protected", r->protected_);
	add_int(o, "packets", (int64_t)r->packets);
	add_int(o, "drops", (int64_t)r->drops);
	add_str(o, "version", r->version);
	return to_string(o, out);
}

/* ---- Reading (untrusted) ------------------------------------------------- */

/* What one parse is at: the document, where its refusal goes. */
struct doc {
	struct json_object *o;
	char *err;
	size_t errlen;
};

static int refuse(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct doc *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, d->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The document: one JSON object (UTF-8, nothing after it but spaces). */
static int doc_open(struct doc *d, const char *json, size_t len)
{
	struct json_tokener *tok;
	enum json_tokener_error e;
	size_t end;

	if (len > MAX_DOC)
		return refuse(d, "not JSON: %zu bytes (at most %u)", len, MAX_DOC);
	if (memchr(json, '\0', len))
		return refuse(d, "not JSON: a NUL byte");
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	d->o = json_tokener_parse_ex(tok, json, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!d->o || e != json_tokener_success)
		return refuse(d, "not JSON: %s",
			      e == json_tokener_continue ? "truncated"
							 : json_tokener_error_desc(e));
	for (; end < len; end++)
		if (!strchr(" \t\r\n", json[end]))
			return refuse(d, "not JSON: something after the object");
	if (!json_object_is_type(d->o, json_type_object))
		return refuse(d, "not a JSON object");
	return 0;
}

/* Is `key` there? *v its value (NULL for null). */
static bool field(struct doc *d, const char *key, struct json_object **v)
{
	return json_object_object_get_ex(d->o, key, v);
}

/* An integer in [min, max] (json-c clamps what overflows 64 bits: the
 * bounds are inside, so a clamped value is refused too). */
static int get_int(struct doc *d, const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;

	if (!field(d, key, &v))
		return refuse(d, "%s: missing", key);
	if (!json_object_is_type(v, json_type_int))
		return refuse(d, "%s: not an integer", key);
	*out = json_object_get_int64(v);
	if (*out < min || *out > max)
		return refuse(d, "%s: out of range (%" PRId64 "..%" PRId64 ")", key, min, max);
	return 0;
}

/* The string `key` (*s, *n bytes: it may hold a NUL). */
static int get_string(struct doc *d, const char *key, const char **s, size_t *n)
{
	struct json_object *v;

	if (!field(d, key, &v))
		return refuse(d, "%s: missing", key);
	if (!json_object_is_type(v, json_type_string))
		return refuse(d, "%s: not a string", key);
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	return 0;
}

/* A string of at most size - 1 bytes, no control characters (UTF-8 is
 * checked by the tokener). */
static int get_str(struct doc *d, const char *key, char *buf, size_t size)
{
	const char *s = NULL;
	size_t n = 0;
	int err = get_string(d, key, &s, &n);

	if (err)
		return err;
	if (n >= size)
		return refuse(d, "%s: longer than %zu bytes", key, size - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return refuse(d, "%s: a control character", key);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* 64 lowercase hex digits (or "" when empty_ok). */
static int get_hash(struct doc *d, const char *key, char out[65], bool empty_ok)
{
	const char *s = NULL;
	size_t n = 0;
	int err = get_string(d, key, &s, &n);

	if (err)
		return err;
	if (!(n == 64 && strspn(s, "0123456789abcdef") == 64) && !(empty_ok && n == 0))
		return refuse(d, "%s: not 64 lowercase hex digits%s", key,
			      empty_ok ? " or \"\"" : "");
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* time_ms is time in milliseconds: its second must be time. */
static int check_ms(struct doc *d, const char *key, int64_t s, int64_t ms)
{
	if (ms / 1000 != s)
		return refuse(d, "%s: %" PRId64 " is not in the second %" PRId64, key, ms, s);
	return 0;
}

/* A document into *out (size bytes, zeroed on a refusal) by fields(). */
static int parse(const char *json, size_t len, void *out, size_t size,
		 int (*fields)(struct doc *d, void *out), char *err, size_t errlen)
{
	struct doc d = { .err = err, .errlen = errlen };
	int rc;

	memset(out, 0, size);
	rc = doc_open(&d, json, len);
	if (!rc)
		rc = fields(&d, out);
	json_object_put(d.o);
	if (rc)
		memset(out, 0, size);
	return rc;
}

static int pointer_fields(struct doc *d, void *out)
{
	struct xs_fleet_pointer *p = out;
	int64_t gen = 0, chunks = 0, size = 0, want;
	int err;

	if ((err = get_int(d, "generation", 1, MAX_GENERATION, &gen)) ||
	    (err = get_hash(d, "hash", p->hash, false)) ||
	    (err = get_int(d, "chunks", 1, MAX_CHUNKS, &chunks)) ||
	    (err = get_int(d, "size", 1, (int64_t)MAX_CHUNKS * XS_FLEET_CHUNK, &size)) ||
	    (err = get_str(d, "author", p->author, sizeof(p->author))) ||
	    (err = get_int(d, "time", 0, MAX_TIME, &p->time)) ||
	    (err = get_int(d, "time_ms", 0, MAX_TIME * 1000 + 999, &p->time_ms)) ||
	    (err = check_ms(d, "time_ms", p->time, p->time_ms)) ||
	    (err = get_str(d, "file", p->file, sizeof(p->file))))
		return err;
	want = (size + XS_FLEET_CHUNK - 1) / XS_FLEET_CHUNK;
	if (chunks != want)
		return refuse(d, "chunks: %" PRId64 " for %" PRId64 " bytes (%" PRId64 " expected)",
			      chunks, size, want);
	p->generation = (uint64_t)gen;
	p->chunks = (uint32_t)chunks;
	p->size = (uint64_t)size;
	return 0;
}

static const char *const report_states[] = { "current", "applying", "failing", "offline" };

static int report_fields(struct doc *d, void *out)
{
	struct xs_fleet_report *r = out;
	int64_t gen = 0, ifs = 0, prot = 0, packets = 0, drops = 0;
	bool known = false;
	int err;

	if ((err = get_str(d, "host", r->host, sizeof(r->host))))
		return err;
	if (!xs_fleet_name_ok(r->host))
		return refuse(d, "host: not a name (1-63 of A-Z a-z 0-9 . _ -)");
	if ((err = get_hash(d, "hash", r->hash, true)) ||
	    (err = get_int(d, "generation", 0, MAX_GENERATION, &gen)) ||
	    (err = get_int(d, "applied", 0, MAX_TIME, &r->applied)) ||
	    (err = get_int(d, "applied_ms", 0, MAX_TIME * 1000 + 999, &r->applied_ms)) ||
	    (err = check_ms(d, "applied_ms", r->applied, r->applied_ms)) ||
	    (err = get_int(d, "time", 0, MAX_TIME, &r->time)) ||
	    (err = get_str(d, "state", r->state, sizeof(r->state))))
		return err;
	for (size_t i = 0; i < sizeof(report_states) / sizeof(report_states[0]); i++)
		known |= !strcmp(r->state, report_states[i]);
	if (!known)
		return refuse(d, "state: not current, applying, failing or offline");
	if ((err = get_str(d, "error", r->error, sizeof(r->error))) ||
	    (err = get_int(d, "interfaces", 0, UINT32_MAX, &ifs)) ||
	    (err = get_int(d, "protected", 0, UINT32_MAX, &prot)) ||
	    (err = get_int(d, "packets", 0, MAX_COUNTER, &packets)) ||
	    (err = get_int(d, "drops", 0, MAX_COUNTER, &drops)) ||
	    (err = get_str(d, "version", r->version, sizeof(r->version))))
		return err;
	if (prot > ifs)
		return refuse(d, "protected: %" PRId64 " of %" PRId64 " interfaces", prot, ifs);
	r->generation = (uint64_t)gen;
	r->interfaces = (uint32_t)ifs;
	r->protected_ = (uint32_t)prot;
	r->packets = (uint64_t)packets;
	r->drops = (uint64_t)drops;
	return 0;
}

int xs_fleet_pointer_parse(const char *json, size_t len, struct xs_fleet_pointer *p, char *err,
			   size_t errlen)
{
	return parse(json, len, p, sizeof(*p), pointer_fields, err, errlen);
}

int xs_fleet_report_parse(const char *json, size_t len, struct xs_fleet_report *r, char *err,
			  size_t errlen)
{
	return parse(json, len, r, sizeof(*r), report_fields, err, errlen);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* user/obs: the pcap writer and its sidecar, read back with libpcap and
 * json-c; base64 both ways, and what it refuses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <pcap/pcap.h>

#include "obs/b64.h"
#include "obs/pcap.h"

static char dir[] = "/tmp/xs-test-obs-XXXXXX";
static char path[256], meta[256 + sizeof(XS_PCAP_META_SUFFIX)];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/drops.pcap", dir);
	snprintf(meta, sizeof(meta), "%s%s", path, XS_PCAP_META_SUFFIX);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

TestSuite(obs, .init = setup, .fini = teardown);

/* A frame of `n` bytes: a pattern that says where each byte is. */
static void frame(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

Test(obs, pcap_read_back_with_libpcap_and_the_sidecar_with_json)
{
	struct xs_pcap_meta m1 = {
		.iface = "vnet0",
		.dir = "in",
		.verdict = "drop",
		.reason = "deny-rule",
		.rule_file = "/etc/xdpseg/farm \"a\".policy",
		.rule_line = 12,
		.rule_id = 7,
		.generation = 3,
		.src_seg = "clients",
		.dst_seg = "vda",
	};
	struct xs_pcap_meta m2 = {
		.iface = "vnet1", .dir = "out", .verdict = "audit", .reason = "malformed"
	}; /* no rule, no segments */
	char errbuf[PCAP_ERRBUF_SIZE], line[1024];
	uint8_t a[300], b[40];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct xs_pcap *w;
	struct stat st;
	pcap_t *r;
	FILE *f;
	int n = 0;

	frame(a, sizeof(a), 1);
	frame(b, sizeof(b), 99);
	cr_assert_eq(xs_pcap_open(&w, path, XS_EV_SNAP_MAX), 0);
	cr_assert_eq(xs_pcap_write(w, 1700000000123456789LL, 300, a, 128, &m1), 0);
	cr_assert_eq(xs_pcap_write(w, 1700000001000000000LL, 40, b, 40, &m2), 0);
	/* out of range: refused, nothing written */
	cr_assert_eq(xs_pcap_write(w, 1, 10, a, 11, &m1), -EINVAL, "caplen past the frame");
	cr_assert_eq(xs_pcap_write(w, 1, 400, a, 257, &m1), -EINVAL, "caplen past the snaplen");
	cr_assert_eq(xs_pcap_write(w, 1, 10, NULL, 5, &m1), -EINVAL, "no bytes");
	cr_assert_eq(xs_pcap_count(w), 2);
	cr_assert_eq(xs_pcap_close(w), 0);

	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "pcap mode %o: packets carry payload", st.st_mode);
	r = pcap_open_offline(path, errbuf);
	cr_assert_not_null(r, "pcap_open_offline: %s", errbuf);
	cr_assert_eq(pcap_datalink(r), DLT_EN10MB);
	cr_assert_eq(pcap_snapshot(r), XS_EV_SNAP_MAX);
	cr_assert_eq(pcap_next_ex(r, &h, &data), 1);
	cr_assert_eq(h->caplen, 128);
	cr_assert_eq(h->len, 300);
	cr_assert_eq(h->ts.tv_sec, 1700000000);
	cr_assert_eq(h->ts.tv_usec, 123456);
	cr_assert_arr_eq(data, a, 128);
	cr_assert_eq(pcap_next_ex(r, &h, &data), 1);
	cr_assert_eq(h->caplen, 40);
	cr_assert_eq(h->len, 40);
	cr_assert_eq(h->ts.tv_sec, 1700000001);
	cr_assert_eq(h->ts.tv_usec, 0);
	cr_assert_arr_eq(data, b, 40);
	cr_assert_eq(pcap_next_ex(r, &h, &data), PCAP_ERROR_BREAK, "more than two packets");
	pcap_close(r);

	f = fopen(meta, "r");
	cr_assert_not_null(f, "no sidecar %s", meta);
	while (fgets(line, sizeof(line), f)) {
		struct json_object *o = json_tokener_parse(line), *v;

		cr_assert_not_null(o, "sidecar line %d is not JSON: %s", n + 1, line);
		cr_assert(json_object_object_get_ex(o, "index", &v));
		cr_assert_eq(json_object_get_int(v), n + 1);
		if (n == 0) {
			cr_assert_str_eq(
				line, "{\"index\":1,\"time\":1700000000.123456789,\"iface\":"
				      "\"vnet0\",\"dir\":\"in\",\"verdict\":\"drop\",\"reason\":"
				      "\"deny-rule\",\"rule\":\"/etc/xdpseg/farm \\\"a\\\".policy:"
				      "12\",\"rule_id\":7,\"generation\":3,\"src_seg\":\"clients\","
				      "\"dst_seg\":\"vda\",\"len\":300,\"caplen\":128}\n");
			cr_assert(json_object_object_get_ex(o, "rule", &v));
			cr_assert_str_eq(json_object_get_string(v),
					 "/etc/xdpseg/farm \"a\".policy:12");
		} else {
			cr_assert(json_object_object_get_ex(o, "rule", &v));
			cr_assert_null(v, "no rule: null");
			cr_assert(json_object_object_get_ex(o, "src_seg", &v));
			cr_assert_null(v);
			cr_assert(json_object_object_get_ex(o, "verdict", &v));
			cr_assert_str_eq(json_object_get_string(v), "audit");
			cr_assert(json_object_object_get_ex(o, "caplen", &v));
			cr_assert_eq(json_object_get_int(v), 40);
		}
		json_object_put(o);
		n++;
	}
	fclose(f);
	cr_assert_eq(n, 2, "%d sidecar lines for 2 packets", n);
}

Test(obs, pcap_open_refuses_what_it_cannot_write_and_changes_nothing)
{
	char link[300], sub[300];
	struct xs_pcap *w = (struct xs_pcap *)1;

	cr_assert_eq(xs_pcap_open(&w, "-", 128), -EINVAL);
	cr_assert_null(w);
	cr_assert_eq(xs_pcap_open(&w, "", 128), -EINVAL);
	cr_assert_eq(xs_pcap_open(&w, path, 0), -EINVAL, "snaplen 0");
	cr_assert_eq(xs_pcap_open(&w, path, XS_EV_SNAP_MAX + 1), -EINVAL);
	cr_assert_eq(access(path, F_OK), -1, "a refused open made the file");
	/* never through a symbolic link (root writing where a link points) */
	snprintf(link, sizeof(link), "%s/link.pcap", dir);
	snprintf(sub, sizeof(sub), "%s/target", dir);
	cr_assert_eq(symlink(sub, link), 0);
	cr_assert_eq(xs_pcap_open(&w, link, 128), -ELOOP);
	cr_assert_eq(access(sub, F_OK), -1, "wrote through the link");
	/* a directory that is not there */
	snprintf(sub, sizeof(sub), "%s/no/such.pcap", dir);
	cr_assert_eq(xs_pcap_open(&w, sub, 128), -ENOENT);
	cr_assert_eq(xs_pcap_close(NULL), 0);
}

Test(obs, pcap_replaces_an_older_capture)
{
	uint8_t a[60];
	struct xs_pcap *w;
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *r;
	int n = 0;

	frame(a, sizeof(a), 5);
	for (int round = 0; round < 2; round++) {
		cr_assert_eq(xs_pcap_open(&w, path, 64), 0);
		for (int i = 0; i <= round; i++)
			cr_assert_eq(xs_pcap_write(w, 0, 60, a, 60, NULL), 0);
		cr_assert_eq(xs_pcap_close(w), 0);
	}
	r = pcap_open_offline(path, errbuf);
	cr_assert_not_null(r, "%s", errbuf);
	while (pcap_next_ex(r, &h, &data) == 1)
		n++;
	pcap_close(r);
	cr_assert_eq(n, 2, "%d packets: the second capture did not replace the first", n);
}

Test(obs, base64_round_trip_and_rfc4648_vectors)
{
	static const char *const vec[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	uint8_t bytes[XS_EV_SNAP_MAX], back[XS_EV_SNAP_MAX];
	char text[XS_B64_LEN(XS_EV_SNAP_MAX) + 1];

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t n = strlen(vec[i][0]);

		xs_b64_encode((const uint8_t *)vec[i][0], n, text);
		cr_assert_str_eq(text, vec[i][1]);
		cr_assert_eq(strlen(text), XS_B64_LEN(n));
		cr_assert_eq(xs_b64_decode(vec[i][1], back, sizeof(back)), (int)n);
		cr_assert_arr_eq(back, vec[i][0], n);
	}
	for (size_t n = 0; n <= XS_EV_SNAP_MAX; n++) {
		frame(bytes, n, (uint8_t)n);
		xs_b64_encode(bytes, n, text);
		cr_assert_eq(xs_b64_decode(text, back, sizeof(back)), (int)n);
		cr_assert_arr_eq(back, bytes, n);
	}
}

Test(obs, base64_refuses_what_is_not_padded_base64)
{
	static const char *const bad[] = {
		"Zg", /* not a multiple of 4 */
		"Zg=",	      "Z===",
		"====",	      "Zm9v!A==",
		"Zm9v\nYg==", "Zg==Zm9v", /* padding inside */
		"Zm=v",	      "Zh==",	  /* bits under the padding */
		"Zm9=",			  /* ... */
		"Zm9vYmF y",  "\xc3\xa9\xc3\xa9",
	};
	uint8_t out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(xs_b64_decode(bad[i], out, sizeof(out)), -EINVAL, "'%s' decoded",
			     bad[i]);
	cr_assert_eq(xs_b64_decode("Zm9vYmFy", out, 5), -ENOSPC);
	cr_assert_eq(xs_b64_decode("Zm9vYmFy", out, 6), 6);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A pcap file of the bytes events carry, and its sidecar (see pcap.h). */
#include "pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "json.h"
#include "util.h"

struct xs_pcap {
	pcap_t *dead;	  /* libpcap's handle for writing: link type and snaplen */
	pcap_dumper_t *d; /* the pcap file */
	FILE *meta;	  /* the sidecar */
	uint32_t snaplen;
	uint64_t count;
	int err; /* the first write error (negative errno), reported by close */
};

/* A new file for writing, never through a symbolic link; mode 0600. */
static FILE *create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return f;
}

int xs_pcap_open(struct xs_pcap **out, const char *path, uint32_t snaplen)
{
	struct xs_pcap *w = NULL;
	char *meta_path = NULL;
	FILE *f = NULL;
	int err;

	*out = NULL;
	if (!path || !*path || !strcmp(path, "-")) {
		p_err("pcap file '%s': name a file (its sidecar, FILE%s, sits beside it)",
		      path ? path : "", XS_PCAP_META_SUFFIX);
		return -EINVAL;
	}
	if (snaplen < 1 || snaplen > XS_EV_SNAP_MAX) {
		p_err("pcap snap length %u: use 1 to %u", snaplen, XS_EV_SNAP_MAX);
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w || asprintf(&meta_path, "%s%s", path, XS_PCAP_META_SUFFIX) < 0) {
		meta_path = NULL;
		err = -ENOMEM;
		p_err("out of memory");
		goto out;
	}
	w->snaplen = snaplen;
	w->dead = pcap_open_dead(DLT_EN10MB, (int)snaplen);
	if (!w->dead) {
		err = -ENOMEM;
		p_err("libpcap cannot make a handle for writing (pcap_open_dead)");
		goto out;
	}
	f = create(path);
	if (!f) {
		err = -errno;
		p_err("cannot create the pcap file %s: %s", path, strerror(errno));
		goto out;
	}
	w->d = pcap_dump_fopen(w->dead, f);
	if (!w->d) {
		err = -EIO;
		p_err("cannot write the pcap file %s: %s", path, pcap_geterr(w->dead));
		fclose(f);
		goto out;
	}
	w->meta = create(meta_path);
	if (!w->meta) {
		err = -errno;
		p_err("cannot create the pcap's sidecar %s: %s", meta_path, strerror(errno));
		goto out;
	}
	if (pcap_dump_flush(w->d)) {
		err = -EIO;
		p_err("cannot write the pcap file %s: %s", path, strerror(errno));
		goto out;
	}
	*out = w;
	w = NULL;
	err = 0;
out:
	if (w) {
		if (w->meta)
			fclose(w->meta);
		if (w->d)
			pcap_dump_close(w->d);
		if (w->dead)
			pcap_close(w->dead);
		free(w);
	}
	free(meta_path);
	return err;
}

/* A string member of the sidecar line, null when absent. */
static void meta_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, ",\"%s\":", key);
	if (v)
		json_print_str(f, v);
	else
		fputs("null", f);
}

int xs_pcap_write(struct xs_pcap *w, int64_t ts_ns, uint32_t len, const void *bytes,
		  uint32_t caplen, const struct xs_pcap_meta *meta)
{
	static const struct xs_pcap_meta none = { 0 };
	struct pcap_pkthdr h;
	char rule[XS_ORIGIN_FILE_LEN + 16];

	if (!w || (caplen && !bytes) || caplen > len || caplen > w->snaplen)
		return -EINVAL;
	if (!meta)
		meta = &none;
	if (ts_ns < 0)
		ts_ns = 0;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(ts_ns / (int64_t)XS_NS_PER_SEC);
	h.ts.tv_usec = (suseconds_t)(ts_ns % (int64_t)XS_NS_PER_SEC / 1000);
	h.caplen = caplen;
	h.len = len;
	pcap_dump((u_char *)w->d, &h, bytes);
	w->count++;

	fprintf(w->meta, "{\"index\":%llu,\"time\":%lld.%09lld", (unsigned long long)w->count,
		(long long)(ts_ns / (int64_t)XS_NS_PER_SEC),
		(long long)(ts_ns % (int64_t)XS_NS_PER_SEC));
	meta_str(w->meta, "iface", meta->iface);
	meta_str(w->meta, "dir", meta->dir);
	meta_str(w->meta, "verdict", meta->verdict);
	meta_str(w->meta, "reason", meta->reason);
	if (meta->rule_file)
		snprintf(rule, sizeof(rule), "%s:%u", meta->rule_file, meta->rule_line);
	meta_str(w->meta, "rule", meta->rule_file ? rule : NULL);
	fprintf(w->meta, ",\"rule_id\":%u,\"generation\":%u", meta->rule_id, meta->generation);
	meta_str(w->meta, "src_seg", meta->src_seg);
	meta_str(w->meta, "dst_seg", meta->dst_seg);
	fprintf(w->meta, ",\"len\":%u,\"caplen\":%u}\n", len, caplen);

	/* both files whole at every packet: read while capturing, or after a kill */
	errno = 0;
	if (pcap_dump_flush(w->d) || fflush(w->meta) || ferror(w->meta)) {
		if (!w->err)
			w->err = errno ? -errno : -EIO;
		return w->err;
	}
	return 0;
}

uint64_t xs_pcap_count(const struct xs_pcap *w)
{
	return w ? w->count : 0;
}

int xs_pcap_close(struct xs_pcap *w)
{
	int err;

	if (!w)
		return 0;
	err = w->err;
	errno = 0;
	if (pcap_dump_flush(w->d) && !err)
		err = errno ? -errno : -EIO;
	pcap_dump_close(w->d);
	pcap_close(w->dead);
	if (fclose(w->meta) && !err)
		err = -errno;
	free(w);
	return err;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet capture of what the datapath dropped or audited: the bytes each
 * event carries (include/xdpseg.h, struct xs_event, snap_len) written as a
 * pcap file (LINKTYPE_ETHERNET, microsecond timestamps, libpcap's writer),
 * and beside it FILE.meta.ndjson, one JSON object per packet, in the same
 * order, saying what decided it:
 *
 *   {"index":1,"time":1700000000.123456789,"iface":"vnet0","dir":"in",
 *    "verdict":"drop","reason":"deny-rule","rule":"farm.policy:12",
 *    "rule_id":7,"generation":3,"src_seg":"clients","dst_seg":"vda",
 *    "len":74,"caplen":74}
 *
 * `index` is the packet's number in the pcap file (1 is the first, as
 * tcpdump -# and Wireshark count); `rule` is null when no rule or default
 * decided (malformed, ...). Both files are made anew (mode 0600: packets
 * carry payload), written and flushed at each packet, so they can be read
 * while the capture runs and are whole when it is killed.
 *
 * Used by `xdpseg watch --pcap FILE` from raw events, and usable from an
 * event as the agent's socket sends it (the bytes in base64: b64.h).
 */
#ifndef XS_OBS_PCAP_H
#define XS_OBS_PCAP_H

#include <stddef.h>
#include <stdint.h>

#include "xdpseg.h"

struct xs_pcap;

/* The sidecar's name: the pcap file's, then this. */
#define XS_PCAP_META_SUFFIX ".meta.ndjson"

/* What decided a packet, for its sidecar line. NULL strings print as null. */
struct xs_pcap_meta {
	const char *iface;     /* the interface's name */
	const char *dir;       /* "in" or "out" */
	const char *verdict;   /* "drop", "audit" */
	const char *reason;    /* "deny-rule", "default-in", ... */
	const char *rule_file; /* the deciding rule's or default's file; NULL: none */
	uint32_t rule_line;
	uint32_t rule_id;
	uint32_t generation;
	const char *src_seg, *dst_seg; /* segment names */
};

/*
 * Create the pcap file `path` (not "-": a file the sidecar can sit beside)
 * and `path`.meta.ndjson, replacing what is there (but never following a
 * symbolic link); packets are kept up to `snaplen` bytes (1 to
 * XS_EV_SNAP_MAX). Returns 0 and *out, or a negative errno after saying why
 * (p_err()).
 */
int xs_pcap_open(struct xs_pcap **out, const char *path, uint32_t snaplen);

/*
 * Append one packet: `caplen` bytes of a frame of `len` bytes (caplen <=
 * len, caplen <= the snaplen), seen at `ts_ns` (CLOCK_REALTIME, ns), and its
 * sidecar line. Returns 0, -EINVAL for lengths out of range (nothing
 * written), or another negative errno when a file cannot be written.
 */
int xs_pcap_write(struct xs_pcap *w, int64_t ts_ns, uint32_t len, const void *bytes,
		  uint32_t caplen, const struct xs_pcap_meta *meta);

/* Packets written so far. */
uint64_t xs_pcap_count(const struct xs_pcap *w);

/* Flush and close both files (NULL: nothing). Returns 0 or a negative errno
 * when the last writes did not reach the files. */
int xs_pcap_close(struct xs_pcap *w);

#endif /* XS_OBS_PCAP_H */

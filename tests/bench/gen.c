// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdpseg-gen: the traffic generator of the live benchmark (tests/bench/
 * live.sh, `scripts/bench --live`). Not a test, not a tool for production.
 *
 * Sends 64-byte IPv4 frames (without FCS) out of one interface for a fixed
 * time through an AF_PACKET socket with a PACKET_MMAP TX ring (TPACKET_V2,
 * qdisc bypassed), pinned to one CPU, and prints what it sent:
 *
 *   frames=N secs=T pps=P
 *
 * Two kinds of traffic:
 *  - syn: a TCP SYN flood in which every frame is a new flow: the source
 *    address takes every value of its /16 (the low 16 bits in a scrambled
 *    order, so that consecutive frames do not share cache lines in a
 *    table indexed by address), and the source port changes after each
 *    pass over the /16;
 *  - udp: one UDP flow, the same frame again and again.
 * Checksums are valid (IPv4 header and TCP/UDP), kept so by the RFC 1624
 * incremental update. The MAC addresses are pkt.c's, 02:00:00:00:00:01 ->
 * 02:00:00:00:00:02: live.sh gives them to its veths.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pkt.h"

#define FRAME_LEN 64	  /* bytes, without FCS */
#define RING_FRAME 128	  /* a ring slot: tpacket2_hdr, then the frame */
#define RING_BLOCK 4096	  /* one page */
#define RING_FRAMES 2048  /* 64 blocks */
#define BATCH 64	  /* frames per send() */
#define SCRAMBLE 40503u	  /* odd: i -> i * SCRAMBLE is a permutation of 16 bits */
#define FIRST_SPORT 1024u /* the flood's source ports: 1024 ... 65023 */
#define NSPORTS 64000u

struct gen_opts {
	const char *iface, *src, *dst;
	bool syn;
	uint16_t sport, dport;
	double secs;
	int cpu;
	uint64_t first; /* the flood's first frame number (its tuple) */
};

static void die(const char *what)
{
	fprintf(stderr, "xdpseg-gen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* RFC 1624: a checksum field after one 16-bit word changed (network order). */
static uint16_t csum_replace(uint16_t check, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~ntohs(check) + (uint32_t)(uint16_t)~ntohs(old) + ntohs(new);

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The flood's next frame: frame i's source (low 16 bits) and port. */
static void next_syn(struct pkt *p, uint64_t i)
{
	struct iphdr *ip = (struct iphdr *)(p->data + ETH_HLEN);
	struct tcphdr *t = (struct tcphdr *)(ip + 1);
	uint16_t *low = (uint16_t *)&ip->saddr + 1, lo, sp;

	lo = htons((uint16_t)((uint32_t)i * SCRAMBLE));
	sp = htons((uint16_t)(FIRST_SPORT + (i >> 16) % NSPORTS));
	ip->check = csum_replace(ip->check, *low, lo);
	t->check = csum_replace(csum_replace(t->check, *low, lo), t->source, sp);
	*low = lo;
	t->source = sp;
}

static const char usage[] =
	"Usage: xdpseg-gen IFACE --type syn|udp --src ADDR --dst ADDR --dport N\n"
	"                  [--sport N] [--secs S] [--cpu N] [--first N]\n"
	"Sends 64-byte IPv4 frames out of IFACE for S seconds (default 2) from CPU N\n"
	"(default: the last); prints frames=N secs=T pps=P. syn: a TCP SYN flood, every\n"
	"frame a new source address in ADDR's /16 and source port; udp: one UDP flow\n"
	"ADDR:sport -> ADDR:dport (sport default 5000). --first: the flood starts at its\n"
	"Nth tuple (default 0), so that runs one after the other can use new ones.\n";

static int parse(int argc, char **argv, struct gen_opts *o)
{
	static const struct option lopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "sport", required_argument, NULL, 'S' },
		{ "dport", required_argument, NULL, 'D' },
		{ "secs", required_argument, NULL, 'T' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "first", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *type = NULL;
	int c;

	*o = (struct gen_opts){ .sport = 5000,
				.secs = 2,
				.cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1 };
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			type = optarg;
			break;
		case 's':
			o->src = optarg;
			break;
		case 'd':
			o->dst = optarg;
			break;
		case 'S':
			o->sport = (uint16_t)atoi(optarg);
			break;
		case 'D':
			o->dport = (uint16_t)atoi(optarg);
			break;
		case 'T':
			o->secs = atof(optarg);
			break;
		case 'c':
			o->cpu = atoi(optarg);
			break;
		case 'f':
			o->first = strtoull(optarg, NULL, 0);
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	if (optind + 1 != argc || !type || !o->src || !o->dst || !o->dport || o->secs <= 0 ||
	    (strcmp(type, "syn") && strcmp(type, "udp"))) {
		fputs(usage, stderr);
		return -1;
	}
	o->iface = argv[optind];
	o->syn = !strcmp(type, "syn");
	return 0;
}

int main(int argc, char **argv)
{
	struct tpacket_req req = {
		.tp_block_size = RING_BLOCK,
		.tp_block_nr = RING_FRAMES * RING_FRAME / RING_BLOCK,
		.tp_frame_size = RING_FRAME,
		.tp_frame_nr = RING_FRAMES,
	};
	const size_t off = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll); /* the frame's place */
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = 0 };
	int fd, ver = TPACKET_V2, one = 1;
	uint64_t sent = 0, errs = 0, i;
	unsigned int cur = 0;
	struct gen_opts o;
	struct pkt tmpl;
	cpu_set_t set;
	double t0, t1, end;
	uint8_t *ring;

	if (parse(argc, argv, &o))
		return 2;
	if (pkt_build_payload(&tmpl, o.src, o.dst, o.syn ? IPPROTO_TCP : IPPROTO_UDP, o.sport,
			      o.dport, o.syn ? PKT_SYN : 0,
			      o.syn ? FRAME_LEN - ETH_HLEN - 20 - 20
				    : FRAME_LEN - ETH_HLEN - 20 - 8) ||
	    strchr(o.src, ':')) {
		fprintf(stderr, "xdpseg-gen: --src and --dst take IPv4 addresses\n");
		return 2;
	}
	pkt_l4_csum(&tmpl);
	i = o.first;
	if (o.syn)
		next_syn(&tmpl, i);

	CPU_ZERO(&set);
	CPU_SET(o.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
	fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: receives nothing */
	if (fd < 0)
		die("socket(AF_PACKET)");
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)))
		die("PACKET_VERSION");
	/* straight to the driver: what a flood from a VM's port looks like */
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		die("PACKET_QDISC_BYPASS");
	if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)))
		die("PACKET_TX_RING");
	sll.sll_ifindex = (int)if_nametoindex(o.iface);
	if (!sll.sll_ifindex)
		die(o.iface);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		die("bind");
	ring = mmap(NULL, (size_t)req.tp_block_size * req.tp_block_nr, PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED)
		die("mmap");
	for (unsigned int k = 0; k < RING_FRAMES; k++)
		memcpy(ring + (size_t)k * RING_FRAME + off, tmpl.data, FRAME_LEN);

	t0 = now_s();
	end = t0 + o.secs;
	do {
		int n = 0;

		for (; n < BATCH; n++) {
			struct tpacket2_hdr *h = (void *)(ring + (size_t)cur * RING_FRAME);

			if (h->tp_status & TP_STATUS_WRONG_FORMAT)
				errs++;
			else if (h->tp_status != TP_STATUS_AVAILABLE)
				break; /* still in flight: send what we have */
			if (o.syn) {
				next_syn(&tmpl, ++i);
				memcpy((uint8_t *)h + off, tmpl.data, FRAME_LEN);
			}
			h->tp_len = FRAME_LEN;
			__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
			cur = (cur + 1) % RING_FRAMES;
		}
		/* blocking: returns when the kernel has taken the batch */
		if (send(fd, NULL, 0, 0) < 0 && errno != ENOBUFS && errno != EAGAIN)
			die("send");
		sent += (uint64_t)n;
		t1 = now_s();
	} while (t1 < end);
	/* the last batch's frames are counted as sent: they were handed over */
	if (errs)
		fprintf(stderr, "xdpseg-gen: %llu frames rejected by the kernel\n",
			(unsigned long long)errs);
	printf("frames=%llu secs=%.3f pps=%.0f\n", (unsigned long long)sent, t1 - t0,
	       (double)sent / (t1 - t0));
	munmap(ring, (size_t)req.tp_block_size * req.tp_block_nr);
	close(fd);
	return 0;
}

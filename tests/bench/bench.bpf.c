// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark helpers, measured with BPF_PROG_RUN next to xs_xdp:
 *  - xs_bench_pass: only returns XDP_PASS (the framework's own cost);
 *  - xs_bench_vary: gives every run a new flow, then tail-calls the program
 *    in xs_bench_jmp[xs_bench_slot[0]] (an instance's xs_xdp, or
 *    xs_bench_pass for the baseline). BPF_PROG_RUN repeats one packet, so
 *    without this a flow's first packet could only be timed once per call.
 *    IPv4: the last byte of the source address and the source port change
 *    (256 x 60000 distinct tuples, the checksum kept valid); IPv6: the last
 *    32 bits of the source address. The source stays in its /24 or /64.
 *  - xs_bench_drop: only returns XDP_DROP: the live benchmark's floor
 *    (live.sh attaches it to a veth; nothing can drop a frame for less).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define BENCH_SLOTS 8

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, BENCH_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} xs_bench_jmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xs_bench_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xs_bench_ctr SEC(".maps");

SEC("xdp")
int xs_bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xs_bench_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/* RFC 1624 incremental checksum update for one 16-bit word. */
static __always_inline __u16 csum_update16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + (__u32) new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Precondition: the frame starts with Ethernet; anything else is passed on
 * unchanged. */
SEC("xdp")
int xs_bench_vary(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 zero = 0, *ctr, *slot, c;

	ctr = bpf_map_lookup_elem(&xs_bench_ctr, &zero);
	slot = bpf_map_lookup_elem(&xs_bench_slot, &zero);
	if (!ctr || !slot || (void *)(eth + 1) > end)
		return XDP_ABORTED;
	c = ++*ctr;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		__be16 *sport = (void *)(ip + 1), *low;
		__u16 old;

		/* Precondition: no IP options (the bench builds none). */
		if ((void *)(sport + 1) > end)
			return XDP_ABORTED;
		low = (__be16 *)&ip->saddr + 1;
		old = *low;
		*low = (old & bpf_htons(0xff00)) | bpf_htons(c & 0xff);
		ip->check = csum_update16(ip->check, old, *low);
		*sport = bpf_htons(1024 + (c >> 8) % 60000);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return XDP_ABORTED;
		ip6->saddr.in6_u.u6_addr32[3] = bpf_htonl(c);
	}
	bpf_tail_call(ctx, &xs_bench_jmp, *slot);
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

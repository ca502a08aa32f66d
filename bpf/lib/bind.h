/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bound ports (`bind` statements): which segment an attached interface
 * belongs to, and which source addresses it may use. Only sets with
 * bindings (XS_SETF_BINDS) pay for the lookups.
 */
#ifndef XS_LIB_BIND_H
#define XS_LIB_BIND_H

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/in.h>

#include "maps.h"
#include "pkt.h"
#include "policy.h"

/*
 * The bound port a packet crosses under set `set`: *bi points at its bind
 * info (xs_binds_<set>[id]), or at entry 0 (seg 0: not bound) when the set
 * binds no port or not this one. Always a map value, so what later code
 * reads from it is a plain unknown to the verifier and does not split its
 * states. Returns the bind id (0: not bound), or -1 when the maps fail.
 */
static __always_inline int bind_port(__u32 set, __u32 ifindex, int lookup,
				     const struct xs_bind_info **bi)
{
	__u32 id = 0, *v;

	if (lookup) {
		if (ifindex < XS_IFBIND_DIRECT)
			v = xs_set_lookup(set, xs_ifbind_0, xs_ifbind_1, &ifindex);
		else
			v = xs_set_lookup(set, xs_ifbindx_0, xs_ifbindx_1, &ifindex);
		if (v)
			id = *v;
	}
	*bi = xs_set_lookup(set, xs_binds_0, xs_binds_1, &id);
	return *bi ? (int)id : -1;
}

/*
 * Does the packet come from the binding's first host address of its family
 * (bi->host4/host6)? Then its source is one of the port's, no trie asked.
 */
static __always_inline int bind_host(const struct xs_bind_info *bi, const struct xs_pkt *p)
{
	const __u64 *h6 = (const __u64 *)bi->host6;

	if (p->family == 4)
		return (bi->flags & XS_BINDF_HOST4) &&
		       *(const __u32 *)bi->host4 == *(const __u32 *)p->saddr;
	return (bi->flags & XS_BINDF_HOST6) && h6[0] == p->saddr[0] && h6[1] == p->saddr[1];
}

/*
 * Is `addr` one of the addresses bind `bind` may send from? (The trie's
 * value 0 marks an address of another segment inside a bound prefix.)
 */
static __always_inline int bind_has(__u32 set, __u32 bind, __u8 family, const void *addr)
{
	__u32 *v;

	if (family == 4) {
		struct xs_bind4_key k = { .prefixlen = XS_BIND_PLEN(32), .bind = bind };

		__builtin_memcpy(k.addr, addr, 4);
		v = xs_set_lookup(set, xs_bind4_0, xs_bind4_1, &k);
	} else {
		struct xs_bind6_key k = { .prefixlen = XS_BIND_PLEN(128), .bind = bind };

		__builtin_memcpy(k.addr, addr, 16);
		v = xs_set_lookup(set, xs_bind6_0, xs_bind6_1, &k);
	}
	return v && *v;
}

/* May the port send from `addr`? One of its addresses, or a link-local one. */
static __always_inline int bind_src_ok(__u32 set, __u32 bind, __u16 ll_seg, __u8 family,
				       const __u64 *addr)
{
	if (bind_has(set, bind, family, addr))
		return 1;
	return policy_segment(set, family, addr) == ll_seg;
}

/*
 * Is the packet `p` entering from the port bound by `bind` (under policy set
 * `set`) spoofed? The unspecified source only for DHCPv4 (udp 68 -> 67),
 * duplicate address detection and MLD; an ARP packet's sender address
 * (`arp`: p->saddr holds it) like an IP source, 0.0.0.0 being a probe; a
 * neighbour advertisement's target like a source; router advertisements and
 * redirects never (RA guard). A global function: the verifier checks it
 * once, not once per caller state. Returns 1 (spoofed) or 0.
 */
__attribute__((noinline)) int xs_bind_spoofed(struct xs_pkt *p, __u32 set, __u32 bind, __u32 ll_seg,
					      __u32 arp)
{
	if (!p)
		return 1;
	if (arp)
		return !addr_unspecified(p->saddr) && !bind_src_ok(set, bind, ll_seg, 4, p->saddr);
	if (!bind_src_ok(set, bind, ll_seg, p->family, p->saddr)) {
		if (!addr_unspecified(p->saddr))
			return 1;
		if (p->family == 4)
			return !(p->proto == IPPROTO_UDP && p->sport == bpf_htons(68) &&
				 p->dport == bpf_htons(67));
		return !(p->exempt &&
			 (p->icmp_type == 135 || p->icmp_type == 131 || p->icmp_type == 143));
	}
	if (p->family != 6 || p->proto != IPPROTO_ICMPV6 || p->frag != XS_FRAG_NONE)
		return 0;
	if (p->icmp_type == 134 || p->icmp_type == 137)
		return 1;
	return p->icmp_type == 136 && !bind_src_ok(set, bind, ll_seg, 6, p->na_target);
}

#endif /* XS_LIB_BIND_H */

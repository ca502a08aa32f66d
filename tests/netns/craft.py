#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Crafted frames for tests/netns/attacks.sh, sent from an attacker's
namespace through an AF_PACKET socket, and what comes back.

  craft.py smuggle IFACE DST_MAC SRC DST SPORT DPORT
      The fragment attack of issue 6: a first IPv4 fragment whose datagram
      holds only the TCP ports and sequence number, padded with bytes that
      look like the rest of a header with ACK, then a second fragment with
      the real SYN. Exit 0 when the victim answers with a SYN-ACK (its kernel
      reassembled a SYN), 1 when nothing comes back within a second.
  craft.py syn IFACE DST_MAC SRC DST SPORT DPORT
      One plain SYN (from any source address); exit 0 on a SYN-ACK.
  craft.py garp IFACE IP
      A gratuitous ARP reply claiming IP for IFACE's MAC.
  craft.py flood IFACE DST_MAC SRC DST DPORT COUNT
      COUNT SYNs from SRC (source ports 10000 on, one each) to DST:DPORT,
      as fast as the socket takes them, without waiting for anything.
"""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def own_mac(iface):
    """IFACE's MAC in this network namespace (not /sys, which nsenter keeps)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    addr = s.getsockname()[4]
    s.close()
    return addr


def ipv4(src, dst, proto, payload, ident, frag, tot=None):
    """An IPv4 header (checksummed) + payload; `frag` is flags|offset."""
    tot = 20 + len(payload) if tot is None else tot
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, ident, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def tcp(src, dst, sport, dport, flags, seq=1000):
    """A 20-byte TCP header with a correct checksum (no payload)."""
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h))
    return h[:16] + struct.pack("!H", csum(pseudo + h)) + h[18:]


def syn_ack_from(frame, src, dst, sport, dport):
    """Is `frame` a SYN-ACK from dst:dport to src:sport?"""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00":
        return False
    ip = frame[14:]
    if ip[9] != 6 or ip[12:16] != socket.inet_aton(dst) or ip[16:20] != socket.inet_aton(src):
        return False
    t = ip[(ip[0] & 15) * 4:]
    sp, dp = struct.unpack("!HH", t[:4])
    return sp == dport and dp == sport and t[13] & 0x12 == 0x12


def send_and_wait(iface, frames, src, dst, sport, dport):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.1)
    for f in frames:
        s.send(f)
    end = time.time() + 1.0
    while time.time() < end:
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] != socket.PACKET_OUTGOING and syn_ack_from(frame, src, dst, sport, dport):
            return 0
    return 1


def smuggle(iface, dst_mac, src, dst, sport, dport):
    eth = mac(dst_mac) + own_mac(iface) + b"\x08\x00"
    syn = tcp(src, dst, sport, dport, 0x02)  # the header the receiver reassembles
    decoy = syn[:13] + b"\x10" + syn[14:]  # the same with ACK instead of SYN
    ident = 0x4242
    # first fragment: total length 28 (8 bytes of TCP), then 12 bytes of padding
    first = eth + ipv4(src, dst, 6, syn[:8], ident, 0x2000) + decoy[8:]
    # second fragment at offset 8: the rest of the real header, with SYN
    second = eth + ipv4(src, dst, 6, syn[8:], ident, 1)
    return send_and_wait(iface, [first, second], src, dst, sport, dport)


def plain_syn(iface, dst_mac, src, dst, sport, dport):
    eth = mac(dst_mac) + own_mac(iface) + b"\x08\x00"
    frame = eth + ipv4(src, dst, 6, tcp(src, dst, sport, dport, 0x02), 0x1111, 0)
    return send_and_wait(iface, [frame], src, dst, sport, dport)


def garp(iface, ip):
    me = own_mac(iface)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, me, socket.inet_aton(ip),
                      b"\xff" * 6, socket.inet_aton(ip))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    for _ in range(3):
        s.send(b"\xff" * 6 + me + b"\x08\x06" + arp)
        time.sleep(0.05)
    return 0


def flood(iface, dst_mac, src, dst, dport, count):
    eth = mac(dst_mac) + own_mac(iface) + b"\x08\x00"
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    for i in range(count):
        sport = 10000 + i % 50000
        s.send(eth + ipv4(src, dst, 6, tcp(src, dst, sport, dport, 0x02), i & 0xFFFF, 0))
    return 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "smuggle":
        return smuggle(args[0], args[1], args[2], args[3], int(args[4]), int(args[5]))
    if cmd == "syn":
        return plain_syn(args[0], args[1], args[2], args[3], int(args[4]), int(args[5]))
    if cmd == "garp":
        return garp(args[0], args[1])
    if cmd == "flood":
        return flood(args[0], args[1], args[2], args[3], int(args[4]), int(args[5]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

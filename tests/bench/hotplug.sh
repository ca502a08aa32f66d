#!/usr/bin/env bash
# Hotplug latency of the agent (scripts/bench --hotplug; not a test): in a
# namespace of its own, an agent selecting hp*; N veths are added one at a
# time (`ip -batch` already running, so no process start is timed), and
# each is polled over rtnetlink until its XDP hook shows, which xdpseg
# attaches after the TC one. Prints median/min/max in ms, and the agent's
# own figure (its link event to its hooks, from its log).
# Usage: hotplug.sh XDPSEG [N]   (root; N defaults to 50)
set -euo pipefail
XS=$(readlink -f "$1")
N=${2:-50}
PREFIX=xsb-$$
NS=$PREFIX-host
PIN=/sys/fs/bpf/$PREFIX
TMP=$(mktemp -d "/tmp/$PREFIX-XXXX")
AGENT=

cleanup() {
	local i
	if [ -n "$AGENT" ]; then
		kill "$AGENT" 2>/dev/null || true
		for i in $(seq 100); do
			kill -0 "$AGENT" 2>/dev/null || break
			sleep 0.05
		done
		kill -9 "$AGENT" 2>/dev/null || true
		wait "$AGENT" 2>/dev/null || true
	fi
	if [ -e "/run/netns/$NS" ] && [ -d "$PIN" ]; then
		XDPSEG_PIN_DIR=$PIN nsenter --net="/run/netns/$NS" -- "$XS" detach --all >/dev/null 2>&1 || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$PIN" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS"
cat >"$TMP/bench.policy" <<'EOF'
segment vms 10.0.0.0/8
allow vms -> vms : tcp/443
EOF
cat >"$TMP/agent.conf" <<EOF
policy = $TMP/bench.policy
interfaces = hp*
pin-dir = $PIN
state-dir = $TMP/state
socket = $TMP/agent.sock
EOF
nsenter --net="/run/netns/$NS" -- "$XS" agent --config "$TMP/agent.conf" 2>"$TMP/agent.log" &
AGENT=$!
for _ in $(seq 200); do
	[ -S "$TMP/agent.sock" ] && grep -q 'notice: started' "$TMP/agent.log" && break
	sleep 0.05
done
grep -q 'notice: started' "$TMP/agent.log" || {
	cat "$TMP/agent.log" >&2
	exit 1
}

nsenter --net="/run/netns/$NS" -- python3 - "$N" <<'EOF'
import socket, statistics, struct, subprocess, sys, time

RTM_GETLINK, NLM_F_REQUEST, NLMSG_ERROR = 18, 1, 2
IFLA_IFNAME, IFLA_XDP, IFLA_XDP_PROG_ID = 3, 43, 4

def xdp_prog(sock, name, seq):
    """The XDP program id on link `name` (0: none, None: no such link yet)."""
    nm = name.encode() + b"\0"
    attr = struct.pack("HH", 4 + len(nm), IFLA_IFNAME) + nm + b"\0" * (-len(nm) % 4)
    body = struct.pack("BBHiII", 0, 0, 0, 0, 0, 0) + attr
    sock.send(struct.pack("IHHII", 16 + len(body), RTM_GETLINK, NLM_F_REQUEST, seq, 0) + body)
    data = sock.recv(65536)
    length, mtype = struct.unpack_from("IH", data, 0)
    if mtype == NLMSG_ERROR:
        return None
    off = 32
    while off + 4 <= length:
        alen, atype = struct.unpack_from("HH", data, off)
        if alen < 4:
            break
        if atype & 0x3FFF == IFLA_XDP:
            o = off + 4
            while o + 4 <= off + alen:
                nlen, ntype = struct.unpack_from("HH", data, o)
                if ntype == IFLA_XDP_PROG_ID:
                    return struct.unpack_from("I", data, o + 4)[0]
                o += max(4, (nlen + 3) & ~3)
            return 0
        off += (alen + 3) & ~3
    return 0

n = int(sys.argv[1])
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
sock.bind((0, 0))
ipb = subprocess.Popen(["ip", "-batch", "-"], stdin=subprocess.PIPE, text=True)
lat = []
seq = 1
for i in range(n):
    name = "hp%d" % i
    t0 = time.monotonic()
    ipb.stdin.write("link add %s type veth peer name hq%d\n" % (name, i))
    ipb.stdin.flush()
    while True:
        seq += 1
        if xdp_prog(sock, name, seq):
            break
        if time.monotonic() - t0 > 5:
            sys.exit("hotplug: %s got no XDP hook within 5 s" % name)
        time.sleep(0.0002)  # leave the CPU to the agent
    lat.append((time.monotonic() - t0) * 1e3)
    time.sleep(0.02)  # one at a time
ipb.stdin.close()
ipb.wait()
print("hotplug: %d veths added one at a time, `ip link add` -> XDP hook attached (polled every 0.2 ms):"
      % n)
print("  median %.1f ms, min %.1f ms, max %.1f ms" % (statistics.median(lat), min(lat), max(lat)))
EOF
python3 - "$TMP/agent.log" <<'EOF'
import re, statistics, sys
ms = [float(m) for m in re.findall(r"hp\d+ \(ifindex \d+, hp\*\): protected .* ([0-9.]+) ms after its event",
                                   open(sys.argv[1]).read())]
if ms:
    print("  the agent's own figure (its link event -> both hooks attached, %d links): median %.1f ms, "
          "min %.1f ms, max %.1f ms" % (len(ms), statistics.median(ms), min(ms), max(ms)))
EOF

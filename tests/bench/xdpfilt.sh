#!/usr/bin/env bash
# xdp-filter's all-features program (xdpfilt_alw_all) for xdpseg-bench's
# side-by-side rows (issue 9). Run by xdpseg-bench, not by hand:
#   xdpfilt.sh PORT
# loads xdp-filter (the Debian package xdp-tools, its embedded BPF objects)
# with every feature on a veth in a namespace of its own, denies tcp dst
# PORT, prints "ready PROG_ID" and waits for the end of its stdin: the bench
# takes a file descriptor of the program (which keeps it and its maps) and
# closes the pipe. Then, and on any failure or signal, everything goes:
# xdp-filter unload, the namespace, xdp-filter's and libxdp's pins.
# Exit status 2: xdp-filter cannot be measured here (the reason on stderr).
set -euo pipefail
PORT=$1
PREFIX=xsb-$$
NS=$PREFIX-xf
IF=xsf$$
OURS=                          # set once /sys/fs/bpf/xdp-filter is ours
# libxdp's own state (its lock directory) in a directory of ours; legacy
# attach (no dispatcher), so the program on the link is xdpfilt_alw_all.
export LIBXDP_BPFFS=/sys/fs/bpf/$PREFIX LIBXDP_SKIP_DISPATCHER=1

in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -e "/run/netns/$NS" ]; then
		in_ns xdp-filter unload --all >/dev/null 2>&1 || true
		ip netns del "$NS" 2>/dev/null || true
	fi
	# unload removes xdp-filter's pins; a failed load may leave some
	[ -n "$OURS" ] && rm -rf /sys/fs/bpf/xdp-filter
	rm -rf "$LIBXDP_BPFFS"
	exit "$rc"
}
skip() {
	echo "xdpfilt.sh: $*" >&2
	exit 2
}

command -v xdp-filter >/dev/null || skip "xdp-filter is not installed (scripts/setup installs xdp-tools)"
# xdp-filter keeps its maps in /sys/fs/bpf/xdp-filter, one set per machine:
# a filter in use there must not get the bench's rule.
[ -e /sys/fs/bpf/xdp-filter ] && skip "/sys/fs/bpf/xdp-filter exists: xdp-filter is in use on this machine"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS"
in_ns ip link add "$IF" type veth peer name "${IF}p"
OURS=1
in_ns xdp-filter load --mode skb --features tcp,udp,ipv4,ipv6,ethernet "$IF" >&2 ||
	skip "xdp-filter load failed"
in_ns xdp-filter port --proto tcp --mode dst "$PORT" >&2 || skip "xdp-filter port failed"
id=$(in_ns ip link show dev "$IF" | sed -n 's/.*prog\/xdp[a-z]* id \([0-9]*\).*/\1/p')
[ -n "$id" ] || skip "no XDP program on $IF after xdp-filter load"
echo "ready $id"
# until the bench closes the pipe (or dies)
cat >/dev/null

# shellcheck shell=bash
# Namespace lab helpers shared by tests/netns/* and scripts/demo.
#
# Model of a hypervisor: one "host" namespace with a bridge br0 and, per VM,
# a namespace whose eth0 is a veth whose other end (h-NAME) sits in the host
# namespace on the bridge. xdpseg runs in the host namespace through
# `nsenter --net=`, which keeps this machine's /sys/fs/bpf (`ip netns exec`
# would remount /sys and hide the pins).
#
# Every name starts with LAB_PREFIX; the pin directory is LAB_PIN_DIR
# (exported as XDPSEG_PIN_DIR for every xdpseg call), the state directory
# LAB_TMP/state (exported as XDPSEG_STATE_DIR: a lab never writes the last
# good policy of the machine, /var/lib/xdpseg), the configuration
# LAB_TMP/xdpseg.conf (XDPSEG_CONFIG: never the machine's failsafe ports),
# and the agent's socket LAB_TMP/agent.sock (XDPSEG_AGENT_SOCK: `status`
# never asks the machine's agent about a lab). Usage:
#   source scripts/lib/lab.sh
#   lab_init PREFIX XDPSEG_BINARY      # sets the trap that tears everything down
#   lab_host; lab_vm client 10.20.0.10 fd00:20::10; ...
#   lab_xs attach h-client ...; lab_in client ping ...

LAB_PREFIX=
LAB_XDPSEG=
LAB_PIN_DIR=
LAB_VMS=()
LAB_PIDS=()
LAB_TMP=
LAB_KEEP=
LAB_TIMEOUT=${LAB_TIMEOUT:-2} # seconds a blocked connect waits

# lab_init PREFIX XDPSEG: PREFIX is unique per run (e.g. "xst-$$-").
lab_init() {
	LAB_PREFIX=$1
	LAB_XDPSEG=$(readlink -f "$2")
	LAB_PIN_DIR=/sys/fs/bpf/${LAB_PREFIX%-}
	LAB_TMP=$(mktemp -d "/tmp/${LAB_PREFIX}XXXX")
	export XDPSEG_PIN_DIR=$LAB_PIN_DIR
	export XDPSEG_STATE_DIR=$LAB_TMP/state
	export XDPSEG_AGENT_SOCK=$LAB_TMP/agent.sock
	# the CLI reads xdpseg.conf (failsafe ports, grant limits): a lab's own,
	# never the machine's /etc/xdpseg/xdpseg.conf (absent: the defaults)
	export XDPSEG_CONFIG=$LAB_TMP/xdpseg.conf
	if [ "$(id -u)" != 0 ]; then
		echo "lab: needs root (network namespaces, BPF)" >&2
		return 1
	fi
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpffs /sys/fs/bpf
	fi
	trap lab_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Is PID a running process (a zombie is not)?
lab_pid_alive() {
	local state
	state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# Remove what an earlier run with this base prefix left behind when it was
# killed: namespaces and pin directories named BASE<pid>-... whose pid is gone.
lab_reap_stale() {
	local base=$1 n pid
	for n in /run/netns/"$base"*; do
		[ -e "$n" ] || continue
		n=${n##*/}
		pid=${n#"$base"}
		pid=${pid%%-*}
		[[ $pid =~ ^[0-9]+$ ]] || continue
		lab_pid_alive "$pid" && continue
		ip netns del "$n" 2>/dev/null || true
	done
	for n in /sys/fs/bpf/"$base"*; do
		[ -e "$n" ] || continue
		pid=${n##*/}
		pid=${pid#"$base"}
		pid=${pid%%-*}
		[[ $pid =~ ^[0-9]+$ ]] || continue
		lab_pid_alive "$pid" && continue
		rm -rf "$n"
	done
}

lab_ns() { echo "${LAB_PREFIX}$1"; }

# Run a command in a lab namespace (host or a VM), keeping /sys/fs/bpf.
lab_in() {
	local ns
	ns=$(lab_ns "$1")
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# xdpseg in the host namespace, on this lab's pin directory.
lab_xs() {
	lab_in host "$LAB_XDPSEG" "$@"
}

lab_host() {
	ip netns add "$(lab_ns host)"
	lab_in host ip link set lo up
	lab_in host ip link add br0 type bridge
	lab_in host ip link set br0 up
}

# lab_vm NAME IPV4 [IPV6]: a VM namespace on the bridge, host side h-NAME.
# Interfaces use /8 and /16 masks so every lab address is on-link.
lab_vm() {
	local name=$1 v4=$2 v6=${3:-} ns
	ns=$(lab_ns "$name")
	ip netns add "$ns"
	LAB_VMS+=("$name")
	lab_in host ip link add "h-$name" type veth peer name eth0 netns "$ns"
	lab_in host ip link set "h-$name" master br0 up
	lab_in "$name" ip link set lo up
	lab_in "$name" ip addr add "$v4/8" dev eth0
	if [ -n "$v6" ]; then
		lab_in "$name" ip addr add "$v6/16" dev eth0 nodad
	fi
	lab_in "$name" ip link set eth0 up
}

# Every host-side interface, for `xdpseg attach`.
lab_host_ifaces() {
	local v
	for v in "${LAB_VMS[@]}"; do echo "h-$v"; done
}

# lab_spawn NS SECONDS CMD...: start CMD in namespace NS in the background,
# killed after SECONDS at the latest. Sets LAB_SPAWNED to a pid whose
# SIGTERM reaches CMD (nsenter execs timeout, which forwards the signal).
# --foreground: timeout forwards the signal alone, without the SIGCONT it
# sends otherwise, which can deadlock LeakSanitizer's exit in a test build.
LAB_SPAWNED=
lab_spawn() {
	local ns secs=$2
	ns=$(lab_ns "$1")
	shift 2
	nsenter --net="/run/netns/$ns" -- timeout --foreground "$secs" "$@" &
	LAB_SPAWNED=$!
	LAB_PIDS+=("$LAB_SPAWNED")
}

# Wait (up to 3 s) until something listens on PROTO PORT in namespace NS.
lab_wait_listen() {
	local ns=$1 proto=$2 port=$3 i flag=-ltn
	[ "$proto" = udp ] && flag=-lun
	for i in $(seq 60); do
		if lab_in "$ns" ss -H "$flag" "sport = :$port" | grep -q .; then
			return 0
		fi
		sleep 0.05
	done
	echo "lab: nothing listens on $proto/$port in $ns" >&2
	return 1
}

lab_addr_arg() { case $1 in *:*) echo "[$1]" ;; *) echo "$1" ;; esac; }

# lab_tcp SRC DST_NS DST_ADDR PORT: 0 if a TCP connection from SRC reaches a
# listener in DST_NS and a token makes the round trip (return traffic works).
lab_tcp() {
	local src=$1 dst=$2 addr=$3 port=$4 tok pf=ip4 out lpid rc
	case $addr in *:*) pf=ip6 ;; esac
	tok="xs-$RANDOM-$RANDOM"
	lab_spawn "$dst" 10 socat -T 3 "TCP-LISTEN:$port,reuseaddr,pf=$pf" EXEC:cat 2>/dev/null
	lpid=$LAB_SPAWNED
	lab_wait_listen "$dst" tcp "$port" || { kill "$lpid" 2>/dev/null; return 2; }
	out=$(echo "$tok" | lab_in "$src" timeout 4 socat -T 2 - \
		"TCP:$(lab_addr_arg "$addr"):$port,connect-timeout=$LAB_TIMEOUT,pf=$pf" 2>/dev/null) || true
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	[ "$out" = "$tok" ]
	rc=$?
	return $rc
}

# lab_udp SRC DST_NS DST_ADDR PORT: 0 if a datagram reaches an echo server
# in DST_NS and the echo comes back.
lab_udp() {
	local src=$1 dst=$2 addr=$3 port=$4 tok pf=ip4 out lpid
	case $addr in *:*) pf=ip6 ;; esac
	tok="xs-$RANDOM-$RANDOM"
	lab_spawn "$dst" 10 socat -T 3 "UDP-RECVFROM:$port,reuseaddr,pf=$pf" EXEC:cat 2>/dev/null
	lpid=$LAB_SPAWNED
	lab_wait_listen "$dst" udp "$port" || { kill "$lpid" 2>/dev/null; return 2; }
	out=$(echo "$tok" | lab_in "$src" timeout 3 socat -T "$LAB_TIMEOUT" - \
		"UDP:$(lab_addr_arg "$addr"):$port,pf=$pf" 2>/dev/null) || true
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	[ "$out" = "$tok" ]
}

# lab_ping SRC ADDR: one echo request, 1 s to answer.
lab_ping() {
	lab_in "$1" ping -n -q -c 1 -W "$LAB_TIMEOUT" "$2" >/dev/null 2>&1
}

lab_teardown() {
	local rc=$? p v
	trap - EXIT INT TERM
	for p in "${LAB_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${LAB_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$LAB_KEEP" ]; then
		[ -n "$LAB_TMP" ] && rm -rf "$LAB_TMP"
		return $rc
	fi
	if [ -n "$LAB_PREFIX" ]; then
		if [ -e "/run/netns/$(lab_ns host)" ] && [ -d "$LAB_PIN_DIR" ]; then
			lab_xs detach --all >/dev/null 2>&1 || true
		fi
		for v in "${LAB_VMS[@]}" host; do
			ip netns del "$(lab_ns "$v")" 2>/dev/null || true
		done
		# Deleting the namespaces deleted the interfaces; drop stray pins.
		[ -d "$LAB_PIN_DIR" ] && rm -rf "$LAB_PIN_DIR"
	fi
	[ -n "$LAB_TMP" ] && rm -rf "$LAB_TMP"
	return $rc
}

# lab_down PREFIX XDPSEG: tear down a lab left up (e.g. `scripts/demo --keep`)
# by its names alone.
lab_down() {
	local prefix=$1 xs=$2 n
	if [ -e "/run/netns/${prefix}host" ] && [ -d "/sys/fs/bpf/${prefix%-}" ] && [ -x "$xs" ]; then
		XDPSEG_PIN_DIR=/sys/fs/bpf/${prefix%-} nsenter --net="/run/netns/${prefix}host" -- \
			"$xs" detach --all >/dev/null 2>&1 || true
	fi
	for n in /run/netns/"$prefix"*; do
		[ -e "$n" ] && ip netns del "${n##*/}" 2>/dev/null
	done
	rm -rf "/sys/fs/bpf/${prefix%-}"
	return 0
}

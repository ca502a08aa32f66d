#!/usr/bin/env bash
# Map first, then enforce (issue 11), on a small farm with a real agent:
# the farm runs in monitor mode while traffic flows (ICA, registration both
# ways, RPC on two dynamic ports, a client on an ephemeral port reaching a
# server on another, a peer in no segment); `xdpseg map` shows the segment
# graph and its DOT renders with `dot -Tsvg`; `xdpseg suggest` prints a
# policy that `xdpseg check` accepts and `xdpseg replay` finds dropping
# nothing observed; applied in enforce mode it passes every observed flow
# again and drops the lateral movement and a flow never observed.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"
trap test_teardown EXIT

XS=$LAB_XDPSEG
T=$LAB_TMP
CONF=$T/agent.conf
LOG=$T/agent.log

lab_host
lab_vm client 10.20.0.10
lab_vm vda1 10.10.10.11
lab_vm vda2 10.10.10.12
lab_vm ddc 10.10.2.10
lab_vm ext 10.30.0.5

# The draft: the farm's segments, every one in monitor mode, no rule yet.
cat >"$T/draft.policy" <<'EOF2'
include "citrix-services.policy"
segment clients     10.20.0.0/16
segment controllers 10.10.2.0/24
segment vda         10.10.10.0/24
segment license     10.10.4.0/24
mode clients monitor
mode controllers monitor
mode vda monitor
mode license monitor
EOF2
cp "$T/draft.policy" "$T/farm.policy"
cat >"$CONF" <<EOF2
policy = $T/farm.policy
interfaces = h-*
pin-dir = $LAB_PIN_DIR
state-dir = $XDPSEG_STATE_DIR
EOF2
test_agent_start "$CONF" "$LOG" 5
ok "the agent protects the farm, every segment in monitor mode"

# tcp_from SRC DST_NS ADDR PORT SPORT: a TCP round trip from source port SPORT.
tcp_from() {
	local tok lpid out
	tok="xs-$RANDOM"
	lab_spawn "$2" 10 socat -T 3 "TCP-LISTEN:$4,reuseaddr" EXEC:cat 2>/dev/null
	lpid=$LAB_SPAWNED
	lab_wait_listen "$2" tcp "$4" || return 2
	out=$(echo "$tok" | lab_in "$1" timeout 4 socat -T 2 - \
		"TCP:$3:$4,sourceport=$5,connect-timeout=$LAB_TIMEOUT" 2>/dev/null) || true
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	[ "$out" = "$tok" ]
}

# The farm's traffic, as observed (each must pass: monitor mode).
observed() {
	lab_tcp client vda1 10.10.10.11 1494 || fail "$1: client -> vda1 tcp/1494"
	lab_udp client vda2 10.10.10.12 1494 || fail "$1: client -> vda2 udp/1494"
	lab_tcp vda1 ddc 10.10.2.10 80 || fail "$1: vda1 -> ddc tcp/80"
	lab_tcp vda2 ddc 10.10.2.10 80 || fail "$1: vda2 -> ddc tcp/80"
	lab_tcp ddc vda1 10.10.10.11 80 || fail "$1: ddc -> vda1 tcp/80"
	lab_tcp vda1 ddc 10.10.2.10 49701 || fail "$1: vda1 -> ddc tcp/49701"
	lab_tcp vda2 ddc 10.10.2.10 50702 || fail "$1: vda2 -> ddc tcp/50702"
	tcp_from client vda1 10.10.10.11 50123 60001 || fail "$1: client:60001 -> vda1 tcp/50123"
	lab_tcp ext vda1 10.10.10.11 1494 || fail "$1: ext -> vda1 tcp/1494"
}
observed "monitor mode"
ok "the farm's traffic passes in monitor mode"

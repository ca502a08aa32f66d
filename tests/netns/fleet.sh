#!/usr/bin/env bash
# A fleet (issue 12): a real etcd in a namespace of its own, two real agents
# in two host namespaces (each with its pin and state directories, socket,
# and a client and a server VM behind its bridge), linked to etcd's bridge.
# Both follow a publish and enforce it (a flow allowed, another dropped);
# host A's link to etcd cut: it keeps enforcing (the same verdicts), its
# status says not connected, `fleet status` shows it lost after the TTL; a
# second publish meanwhile reaches host B only; etcd's history compacted
# while A is away; the link back: A catches up and enforces the second
# policy. fleet-report-interval 1s, fleet-ttl 3s.
source "$(dirname "$0")/common.sh"
test_need "etcd-server, etcd-client" etcd etcdctl curl
test_lab_init "$1"
# shellcheck source=../common/etcd.sh
source "$XS_SRCDIR/tests/common/etcd.sh"

XS=$LAB_XDPSEG
T=$LAB_TMP
PIN_B=${LAB_PIN_DIR}-b
ETCD_ADDR=192.168.77.1
ETCD_PID=
URL=

fleet_teardown() {
	local rc=$? p
	for p in "${TEST_AGENT_PIDS[@]}" "$ETCD_PID"; do
		test_agent_stop "$p" # SIGTERM, then SIGKILL after 5 s
	done
	if [ -e "/run/netns/$(lab_ns hostb)" ] && [ -d "$PIN_B" ]; then
		XDPSEG_PIN_DIR=$PIN_B lab_in hostb "$XS" detach --all >/dev/null 2>&1
	fi
	rm -rf "$PIN_B"
	rm -f /run/xdpseg/agent-sys-fs-bpf-"${LAB_PREFIX%-}"*
	[ -n "$TEST_RUN_DIR_KEEP" ] || rmdir /run/xdpseg 2>/dev/null
	(exit $rc)
	lab_teardown
}
trap fleet_teardown EXIT

# ---- the lab: host A (lab_host), host B, etcd; all names under the prefix ----
lab_host
lab_vm ac 10.0.1.1
lab_vm as 10.0.1.2
# ns_bridge NAME BRIDGE: a namespace (torn down with the lab's VMs) and its bridge.
ns_bridge() {
	ip netns add "$(lab_ns "$1")"
	LAB_VMS+=("$1")
	lab_in "$1" ip link set lo up
	lab_in "$1" ip link add "$2" type bridge
	lab_in "$1" ip link set "$2" up
}
ns_bridge hostb br0
# vm_b NAME IPV4: a VM behind host B's bridge.
vm_b() {
	ip netns add "$(lab_ns "$1")"
	LAB_VMS+=("$1")
	lab_in hostb ip link add "h-$1" type veth peer name eth0 netns "$(lab_ns "$1")"
	lab_in hostb ip link set "h-$1" master br0 up
	lab_in "$1" ip link set lo up
	lab_in "$1" ip addr add "$2/8" dev eth0
	lab_in "$1" ip link set eth0 up
}
vm_b bc 10.0.2.1
vm_b bs 10.0.2.2
ns_bridge etcd ebr
lab_in etcd ip addr add "$ETCD_ADDR/24" dev ebr
# uplink HOST SIDE ADDR: HOST's fl-e, on etcd's bridge as SIDE.
uplink() {
	lab_in "$1" ip link add fl-e type veth peer name "$2" netns "$(lab_ns etcd)"
	lab_in etcd ip link set "$2" master ebr up
	lab_in "$1" ip addr add "$3/24" dev fl-e
	lab_in "$1" ip link set fl-e up
}
uplink host fl-a 192.168.77.2
uplink hostb fl-b 192.168.77.3

read -r URL ETCD_PID < <(lab_in etcd bash -c "source '$XS_SRCDIR/tests/common/etcd.sh' &&
	etcd_start '$T/etcd' $ETCD_ADDR && echo \"\$ETCD_URL \$ETCD_PID\"")
[ -n "$ETCD_PID" ] || fail "etcd did not start in its namespace"
ok "etcd runs in its namespace at $URL"

# In etcd's namespace: the CLI against the fleet, etcdctl.
fleet_xs() { lab_in etcd "$XS" "$@" --etcd "$URL" --fleet farm; }
fleet_quiet() { fleet_xs "$@" >/dev/null; }
ctl() { lab_in etcd env ETCDCTL_API=3 etcdctl --endpoints "$URL" "$@"; }

# ---- two agents ----
# agent_conf NAME PIN: its configuration (its own state directory and socket).
agent_conf() {
	mkdir -p "$T/state-$1"
	printf '%s\n' "interfaces = h-*" "mode = generic" "pin-dir = $2" \
		"state-dir = $T/state-$1" "socket = $T/$1.sock" "fleet = farm" \
		"fleet-host = hv-$1" "etcd = $URL" "fleet-report-interval = 1s" \
		"fleet-ttl = 3s" "metrics-textfile = $T/$1.prom" "metrics-interval = 1" >"$T/$1.conf"
}
# st NAME EXPR: EXPR (jpy) over agent NAME's status.
st() { echo '{"cmd":"status"}' | timeout 5 socat -t 2 - UNIX-CONNECT:"$T/$1.sock" 2>/dev/null | jpy "$2"; }
# st_is NAME EXPR WANT: is EXPR WANT now? (for wait_for, which runs it again)
st_is() { [ "$(st "$1" "$2")" = "$3" ]; }
# fleet_is EXPR WANT: the same over `fleet status --json`.
fleet_is() { [ "$(fleet_xs fleet status --json | jpy "$1")" = "$2" ]; }
# agent_start NAME NS: the agent in NS, until it protects its two ports.
agent_start() {
	nsenter --net="/run/netns/$(lab_ns "$2")" -- "$XS" agent --config "$T/$1.conf" \
		>"$T/$1.log" 2>&1 &
	TEST_AGENT_PIDS+=($!)
	wait_for 20 bash -c "[ \"\$(echo '{\"cmd\":\"status\"}' | timeout 5 socat -t 2 - \
		UNIX-CONNECT:$T/$1.sock 2>/dev/null | grep -o '\"state\":\"protected\"' | wc -l)\" \
		-ge 2 ]" || {
		cat "$T/$1.log" >&2
		fail "agent $1 did not protect its two ports"
	}
}
agent_conf a "$LAB_PIN_DIR"
agent_conf b "$PIN_B"
agent_start a host
agent_start b hostb
wait_for 10 st_is a 'd["fleet"]["connected"]' true || fail "a: not connected: $(cat "$T/a.log")"
wait_for 10 st_is b 'd["fleet"]["connected"]' true || fail "b: not connected: $(cat "$T/b.log")"
ok "both agents follow the fleet (nothing published: deny-all)"

# ---- a publish reaches both ----
printf '%s\n' "segment clients 10.0.1.1, 10.0.2.1" "segment servers 10.0.1.2, 10.0.2.2" \
	"allow clients -> servers : tcp/8080" >"$T/v1.policy"
printf '%s\n' "segment clients 10.0.1.1, 10.0.2.1" "segment servers 10.0.1.2, 10.0.2.2" \
	"allow clients -> servers : tcp/9090" >"$T/v2.policy"
fleet_xs publish "$T/v1.policy" >"$T/pub1" 2>&1 || fail "publish v1: $(cat "$T/pub1")"
for h in a b; do
	wait_for 10 st_is $h 'd["fleet"]["generation"]' 1 ||
		fail "$h did not apply generation 1: $(cat "$T/$h.log")"
done
ok "both hosts applied generation 1"
expect_eq "$(st a 'd["policy"]["source"]') $(st b 'd["policy"]["source"]')" "fleet fleet" \
	"the policy's source is the fleet"
# verdicts HOST: "8080 9090" as allowed/dropped from the client to the server
verdicts() {
	local c=$1c s=$1s addr=10.0.1.2 out="" p
	[ "$1" = b ] && addr=10.0.2.2
	for p in 8080 9090; do
		if lab_tcp "$c" "$s" "$addr" "$p"; then out+="allowed "; else out+="dropped "; fi
	done
	echo "${out% }"
}
expect_eq "$(verdicts a)" "allowed dropped" "host A enforces v1 (tcp/8080 allowed, tcp/9090 dropped)"
expect_eq "$(verdicts b)" "allowed dropped" "host B enforces v1"
wait_for 5 fleet_is 'd["counts"]["current"]' 2 ||
	fail "fleet status: $(fleet_xs fleet status)"
ok "fleet status: both hosts current"
expect_rc 0 "fleet status: exit 0, every host on the published policy" -- \
	fleet_quiet fleet status
[ -s "$T/state-a/policy.xsc" ] && [ -s "$T/state-a/fleet.json" ] || fail "a saved no last good"
ok "host A saved it as the last good policy"

# A local grant on host B (the CLI, on B's pins and state): it must survive
# the fleet's next apply, as it survives a local one.
XDPSEG_PIN_DIR=$PIN_B XDPSEG_STATE_DIR=$T/state-b lab_in hostb "$XS" grant \
	'clients -> servers : tcp/7070' --for 1h >"$T/grant" 2>&1 || fail "grant: $(cat "$T/grant")"
lab_tcp bc bs 10.0.2.2 7070 || fail "the grant does not let tcp/7070 through"
ok "host B: a local grant lets tcp/7070 through"

# ---- host A cut off from etcd ----
lab_in host ip link set fl-e down
wait_for 15 st_is a 'd["fleet"]["connected"]' false ||
	fail "a still says connected: $(st a 'd["fleet"]')"
ok "host A's status: not connected"
wait_for 5 grep -qx 'xdpseg_fleet_connected 0' "$T/a.prom" || fail "metrics: $(grep fleet "$T/a.prom")"
ok "host A's metrics: xdpseg_fleet_connected 0"
expect_match "$(XDPSEG_AGENT_SOCK=$T/a.sock lab_xs status)" \
	"fleet farm as hv-a: NOT connected to etcd since .*, enforcing generation 1" \
	"xdpseg status says so in one line"
expect_eq "$(verdicts a)" "allowed dropped" "host A keeps enforcing v1 while cut off"
wait_for 10 fleet_is '[h["state"] for h in d["hosts"] if h["host"] == "hv-a"][0]' lost ||
	fail "fleet status does not show hv-a lost: $(fleet_xs fleet status)"
ok "fleet status: hv-a lost after its TTL"
expect_rc 3 "fleet status: exit 3 while a host is lost (a monitoring check)" -- \
	fleet_quiet fleet status

fleet_xs publish "$T/v2.policy" >"$T/pub2" 2>&1 || fail "publish v2: $(cat "$T/pub2")"
wait_for 10 st_is b 'd["fleet"]["generation"]' 2 || fail "b did not apply generation 2"
expect_eq "$(verdicts b)" "dropped allowed" "host B enforces v2"
lab_tcp bc bs 10.0.2.2 7070 || fail "the fleet's apply dropped host B's grant"
ok "host B's local grant survived the fleet's apply"
expect_eq "$(st a 'd["fleet"]["generation"]')" 1 "host A is still on generation 1"
expect_eq "$(verdicts a)" "allowed dropped" "and still enforces v1"

# etcd's history compacted while A is away (up to the latest revision)
rev=$(ctl get /xdpseg/v1/farm/current -w json | jpy 'd["header"]["revision"]')
ctl compact "$rev" >/dev/null || fail "etcdctl compact $rev"
ok "etcd compacted to revision $rev"
expect_eq "$(grep -c 'etcd unreachable' "$T/a.log")" 1 "host A's log says the outage once"

# ---- the link back: A catches up ----
lab_in host ip link set fl-e up
wait_for 20 st_is a 'd["fleet"]["generation"]' 2 ||
	fail "a did not catch up: $(tail -20 "$T/a.log")"
ok "host A caught up with generation 2"
expect_eq "$(st a 'd["fleet"]["connected"]')" true "host A: connected again"
expect_eq "$(verdicts a)" "dropped allowed" "host A enforces v2"
wait_for 5 grep -qx 'xdpseg_fleet_generation 2' "$T/a.prom" || fail "metrics: $(grep fleet "$T/a.prom")"
expect_eq "$(grep -E '^xdpseg_fleet_(connected|applies_total|reconnects_total) ' "$T/a.prom" | tr '\n' ' ')" \
	"xdpseg_fleet_connected 1 xdpseg_fleet_applies_total 2 xdpseg_fleet_reconnects_total 1 " \
	"host A's metrics: connected, 2 applies, 1 reconnect"
wait_for 5 fleet_is 'd["counts"]["current"]' 2 ||
	fail "fleet status: $(fleet_xs fleet status)"
ok "fleet status: both hosts current again"
expect_match "$(st a 'd["fleet"]["counters"]')" '"reconnects": [1-9]' "host A counted the reconnect"
expect_eq "$(grep -c 'etcd unreachable' "$T/b.log")" 0 "host B saw no outage"

# ---- a restarted agent adopts what it enforces, fetches nothing again ----
test_agent_stop "${TEST_AGENT_PIDS[1]}"
: >"$T/b.log"
agent_start b hostb
wait_for 10 st_is b 'd["fleet"]["connected"]' true || fail "b: not connected after a restart"
expect_eq "$(st b 'd["fleet"]["generation"]') $(st b 'd["fleet"]["counters"]["applies"]')" "2 0" \
	"host B restarted: generation 2 adopted, nothing applied again"
expect_eq "$(verdicts b)" "dropped allowed" "and v2 enforced throughout"

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
export XDPSEG_POLICY_PATH=$XS_SRCDIR/policies # the presets

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
		"TCP:$3:$4,sourceport=$5,reuseaddr,connect-timeout=$LAB_TIMEOUT" 2>/dev/null) || true
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

# ---- the map: what was observed, what enforcing would cut ----------------------
"$XS" map >"$T/map.txt" 2>"$T/map.err" || fail "xdpseg map: $(cat "$T/map.err")"
map=$(cat "$T/map.txt")
expect_match "$map" "4 segment pairs, 8 services: 0 allowed, 8 audit \(dropped when enforcing\), 0 dropped" \
	"map: every observed flow is in it, each one audit (the agent's store brought up to now)"
expect_match "$map" $'\nclients -> vda: 3 connections from 1 client, [^\n]*\n  audit  ica \\(tcp/1494\\): 1 connection' \
	"map: clients -> vda, ICA named by its preset"
expect_match "$map" $'\n  audit  rpc-dynamic \\(tcp/50123\\): 1 connection, 1 client' \
	"map: the server's port 50123, not the client's 60001"
expect_no_match "$map" "60001" "map: never the client's ephemeral port"
expect_match "$map" $'\nvda -> controllers: 4 connections from 2 clients' \
	"map: registration and RPC from both VDAs"
expect_match "$map" $'\nworld -> vda: 1 connection from 1 client' "map: the peer in no segment"
"$XS" map --dot >"$T/map.dot" || fail "map --dot"
dot -Tsvg "$T/map.dot" >"$T/map-dot.svg" || fail "dot -Tsvg refused the map's DOT"
"$XS" map --svg "$T/map.svg" || fail "map --svg"
grep -q '<svg' "$T/map.svg" && grep -q '>vda<' "$T/map.svg" || fail "map --svg: no picture of vda"
ok "map --dot renders with dot -Tsvg; map --svg draws the segments"

# ---- suggest, check, replay ----------------------------------------------------
"$XS" suggest >"$T/suggested.policy" 2>"$T/suggest.err" ||
	fail "xdpseg suggest: $(cat "$T/suggest.err")"
rules=$(grep -E '^(allow|segment unsegmented)' "$T/suggested.policy")
expect_eq "$rules" "segment unsegmented-1 10.30.0.5
allow clients -> vda : ica
allow clients -> vda : tcp/50123
allow clients -> vda : udp/1494
allow controllers -> vda : vda-registration
allow unsegmented-1 -> vda : ica
allow vda -> controllers : vda-registration
allow vda -> controllers : rpc-dynamic" \
	"suggest: one rule per observed service, the RPC range from two ports, a proposed segment for the peer"
expect_match "$(cat "$T/suggested.policy")" "# segment license: no traffic observed since" \
	"suggest: the silent segment gets a comment, not an empty allow list"
expect_rc 0 "the suggestion passes xdpseg check --strict" -- \
	"$XS" check --strict "$T/suggested.policy"
replay=$("$XS" replay "$T/suggested.policy")
expect_eq "$?" 0 "replay of the suggestion: exit 0"
expect_match "$replay" "would be DROPPED \(passed at the time\): none" \
	"replay: nothing observed would be dropped"
expect_match "$replay" "coverage: 100.0% \(9 of 9\) of the observed connections allowed by a rule" \
	"replay: every observed connection allowed by a rule"
# a candidate without registration would cut it: replay says so, and fails
grep -v 'vda-registration' "$T/suggested.policy" >"$T/short.policy"
replay=$("$XS" replay "$T/short.policy")
expect_eq "$?" 1 "replay of a candidate without registration: exit 1"
expect_match "$replay" "vda -> controllers vda-registration: 2 connections, 2 clients; drop by" \
	"replay: the registration it would cut, grouped"

# ---- enforce the suggestion -------------------------------------------------------
cp "$T/suggested.policy" "$T/farm.policy"
expect_match "$(agent_ask '{"cmd":"reload"}')" '"ok":true' "the agent reloads the suggestion, enforcing"
observed "enforce mode"
ok "every observed flow passes again under the suggestion, enforced"
lab_tcp vda1 vda2 10.10.10.12 445 && fail "vda1 -> vda2 tcp/445 passed"
ok "the lateral movement never observed is dropped (vda1 -> vda2 tcp/445)"
lab_tcp client ddc 10.10.2.10 80 && fail "client -> ddc tcp/80 passed"
ok "a flow never observed is dropped (client -> ddc tcp/80)"
lab_tcp ext vda1 10.10.10.11 3389 && fail "ext -> vda1 tcp/3389 passed"
ok "the proposed segment gets only what it was seen using (ext -> vda1 tcp/3389 dropped)"

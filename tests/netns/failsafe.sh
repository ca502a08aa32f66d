#!/usr/bin/env bash
# Failsafe ports (issue 8): the configuration's `failsafe = ADDR : SERVICES`
# (xdpseg.conf, here $XDPSEG_CONFIG) is compiled into every policy the CLI or
# the agent applies: traffic from anywhere to those addresses and services
# passes whatever the rules and defaults say (reason `failsafe`), and only
# there; off unless configured. A policy that denies everything to the host
# leaves its management port reachable, even a deny rule for that very port
# does; a quarantine of the management address still wins (documented); and
# an agent with nothing to enforce (built-in deny-all) keeps the port open.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"
LAB_TIMEOUT=1

export XDPSEG_CONFIG=$LAB_TMP/xdpseg.conf
MGMT=10.0.0.254 PORT=2222

lab_host
lab_vm a 10.0.0.1
lab_vm b 10.0.0.2
# The host's own management address, behind the ports xdpseg guards.
lab_in host ip addr add "$MGMT/8" dev br0
lab_xs attach h-a h-b >/dev/null 2>&1 || fail "attach"

DENY=$LAB_TMP/deny.policy RULE=$LAB_TMP/rule.policy
cat >"$DENY" <<EOF
# Nothing to the host, nothing between the VMs.
segment vms  10.0.0.0/24
segment host $MGMT
default vms in deny out deny
default host in deny out deny
EOF
cat "$DENY" - >"$RULE" <<EOF
deny vms -> host : tcp/$PORT
EOF

# check EXPECT WHAT SRC DST_NS ADDR PORT
check() {
	local got
	lab_tcp "$3" "$4" "$5" "$6" && got=allowed || got=blocked
	expect_eq "$got" "$1" "$2"
}

# ---- off unless configured -------------------------------------------------
lab_xs apply "$DENY" >/dev/null || fail "apply without a configuration"
check blocked "no configuration: the deny policy cuts a -> host tcp/$PORT" a host "$MGMT" "$PORT"
echo "# no failsafe port here" >"$XDPSEG_CONFIG"
lab_xs apply "$DENY" >/dev/null || fail "apply with a configuration without failsafe"
check blocked "a configuration without failsafe: still cut" a host "$MGMT" "$PORT"

# ---- configured: the management port passes, and nothing else ----------------
cat >"$XDPSEG_CONFIG" <<EOF
# management access no policy may cut
failsafe = $MGMT : tcp/$PORT
EOF
lab_spawn host 60 "$LAB_XDPSEG" watch --json >"$LAB_TMP/events" 2>/dev/null
WATCH=$LAB_SPAWNED
lab_xs apply "$DENY" >/dev/null || fail "apply with failsafe"
check allowed "failsafe: a -> host tcp/$PORT passes the deny-all policy" a host "$MGMT" "$PORT"
check allowed "from every segment: b -> host tcp/$PORT" b host "$MGMT" "$PORT"
check blocked "another port to the host stays cut" a host "$MGMT" 2223
check blocked "the port to another address stays cut" a b 10.0.0.2 "$PORT"
out=$(lab_xs verify 10.0.0.1 "$MGMT" "tcp/$PORT")
expect_eq "$?" 0 "verify: the flow passes"
expect_match "$out" "failsafe" "verify names the failsafe port"
sleep 0.5
ev=$(grep "\"dst\":\"$MGMT\"" "$LAB_TMP/events" | grep "\"dport\":$PORT" | grep '"verdict":"allow"' | head -1)
expect_match "$ev" '"reason":"failsafe"' "the event's reason is failsafe"
expect_match "$ev" "\"origin\":\\{\"file\":\"$XDPSEG_CONFIG\",\"line\":2" "its origin is the configuration's line"

lab_xs apply "$RULE" >/dev/null || fail "apply a policy that denies the port by a rule"
check allowed "a deny rule for the very port does not cut it" a host "$MGMT" "$PORT"
check blocked "the rule still denies other ports" a host "$MGMT" 2223

# ---- a quarantine of the management address wins -----------------------------
lab_xs quarantine "$MGMT" --reason "failsafe test" >/dev/null || fail "quarantine $MGMT"
check blocked "a quarantine of the management address outranks its failsafe port" \
	a host "$MGMT" "$PORT"
sleep 0.5
ev=$(grep "\"dst\":\"$MGMT\"" "$LAB_TMP/events" | grep "\"dport\":$PORT" | grep '"verdict":"drop"' | tail -1)
expect_match "$ev" '"reason":"quarantine"' "the drop's reason is quarantine"
lab_xs release "$MGMT" >/dev/null || fail "release $MGMT"
check allowed "released: the failsafe port passes again" a host "$MGMT" "$PORT"

# ---- a configuration error changes nothing -----------------------------------
G=$(lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["generation"])')
echo "failsafe = $MGMT" >"$XDPSEG_CONFIG"
out=$(lab_xs apply "$DENY" 2>&1)
expect_eq "$?" 1 "a bad failsafe line fails the apply"
expect_match "$out" "$XDPSEG_CONFIG:1: error: " "naming the line"
expect_eq "$(lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["generation"])')" \
	"$G" "and nothing is applied"

# ---- the agent's built-in deny-all keeps the failsafe port -----------------------
kill "$WATCH" 2>/dev/null
wait "$WATCH" 2>/dev/null
lab_xs detach --all >/dev/null || fail "detach --all"
[ -d /run/xdpseg ] && RUN_DIR_KEEP=1 || RUN_DIR_KEEP=
AGENT=
agent_teardown() {
	local rc=$?
	if [ -n "$AGENT" ]; then
		kill "$AGENT" 2>/dev/null
		wait "$AGENT" 2>/dev/null
	fi
	[ -n "$RUN_DIR_KEEP" ] || rmdir /run/xdpseg 2>/dev/null
	(exit $rc)
	lab_teardown
}
trap agent_teardown EXIT
# no policy, an empty state directory: nothing to enforce but deny-all
cat >"$XDPSEG_CONFIG" <<EOF
interfaces = h-*
pin-dir    = $LAB_PIN_DIR
state-dir  = $LAB_TMP/agent-state
failsafe   = $MGMT : tcp/$PORT
EOF
lab_spawn host 60 "$LAB_XDPSEG" agent --config "$XDPSEG_CONFIG" 2>"$LAB_TMP/agent.log"
AGENT=$LAB_SPAWNED
for _ in $(seq 100); do grep -q "started (pid" "$LAB_TMP/agent.log" && break; sleep 0.1; done
expect_match "$(cat "$LAB_TMP/agent.log")" "a built-in deny-all policy, but the failsafe ports\\)" \
	"the agent enforces deny-all, saying the failsafe ports stay"
check allowed "deny-all: the management port passes" a host "$MGMT" "$PORT"
check blocked "deny-all: everything else is cut" a host "$MGMT" 2223
kill "$AGENT"
wait "$AGENT" 2>/dev/null
AGENT=

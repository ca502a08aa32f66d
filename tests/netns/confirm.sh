#!/usr/bin/env bash
# Commit-confirm (issue 8): `apply --confirm DUR` swaps to a new policy and
# writes a deadline into the kernel's configuration; unless `xdpseg confirm`
# arrives in time, the datapath itself goes back to the policy before, with
# no xdpseg process alive, and the next command (or agent tick) makes that
# explicit: a new generation of the old set, a message, status, an event.
# Also: a confirm in time keeps the new policy (and makes it the last good
# one), `rollback` goes back at once, and every other policy change is
# refused while a confirm is pending.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

lab_host
lab_vm client 10.10.1.10
lab_vm server 10.10.10.11
lab_xs attach h-client h-server >/dev/null 2>&1 || fail "attach"

S=$XDPSEG_STATE_DIR
A=$LAB_TMP/a.policy B=$LAB_TMP/b.policy
# A lets the client reach tcp/8080; B does not (the server's default denies).
cat >"$A" <<'EOF'
segment client 10.10.1.10
segment server 10.10.10.11
allow client -> server : tcp/8080
default server in deny
EOF
cat >"$B" <<'EOF'
segment client 10.10.1.10
segment server 10.10.10.11
allow client -> server : tcp/9090
default server in deny
EOF

gen() { lab_xs status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["generation"])'; }
hash_of() { od -An -tx1 -j24 -N32 "$1" | tr -d ' \n'; }
now() { date +%s.%N; }

# A server that answers every connection on tcp/8080, for the whole test.
lab_spawn server 300 socat -T 2 TCP-LISTEN:8080,reuseaddr,fork EXEC:cat
lab_wait_listen server tcp 8080 || fail "listener"
# One connection attempt: 0 when a token makes the round trip.
conn() {
	local tok="xs-$RANDOM" out
	out=$(echo "$tok" | lab_in client timeout 2 socat -T 1 - \
		TCP:10.10.10.11:8080,connect-timeout="${1:-1}" 2>/dev/null) || true
	[ "$out" = "$tok" ]
}

out=$(lab_xs apply --confirm 3s "$A" 2>&1)
expect_eq "$?" 1 "apply --confirm with no policy in force is refused"
expect_match "$out" "needs a policy in force to go back to" "it says why"
expect_rc 2 "a duration without a unit is a usage error" -- lab_xs apply --confirm 3 "$A" 2>/dev/null

lab_xs apply "$A" >/dev/null || fail "apply A"
conn || fail "A does not let the client in"
ok "policy A: client -> server tcp/8080 passes"
GA=$(gen)
HA=$(hash_of "$S/policy.xsc")

# ---- a missed confirm: the datapath goes back by itself --------------------
lab_spawn host 60 "$LAB_XDPSEG" watch --json >"$LAB_TMP/watch1" 2>/dev/null
WATCH=$LAB_SPAWNED
sleep 0.3
t0=$(now)
out=$(lab_xs apply --confirm 3s "$B") || fail "apply --confirm 3s B"
t1=$(now)
expect_match "$out" "generation $((GA + 1)) \(unconfirmed\)" "apply --confirm says the policy is unconfirmed"
expect_match "$out" "run 'xdpseg confirm' within 3s \(before .*\) to keep it" "and how to confirm"
expect_match "$out" "goes back by itself to generation $GA \($A\)" "and what it goes back to"
[ -e "$S/confirm/policy.xsc" ] || fail "the unconfirmed artefact is not in $S/confirm"
expect_eq "$(hash_of "$S/policy.xsc")" "$HA" "the last good policy is still A"

# The xdpseg processes of this lab (its binary, its pin directory).
lab_xs_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$LAB_XDPSEG" ] || continue
		tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "XDPSEG_PIN_DIR=$LAB_PIN_DIR" &&
			echo "${p#/proc/}"
	done
}
# Every one of them dies now (kill -9: no exit path runs).
pids=$(lab_xs_pids)
[ -n "$pids" ] || fail "the watch did not start"
# shellcheck disable=SC2086
kill -9 $pids
{ wait "$WATCH"; } 2>/dev/null
expect_eq "$(lab_xs_pids)" "" "kill -9 every xdpseg process of this lab ($(echo $pids))"

# Real traffic: denied until the deadline, allowed again after it.
lab_in client python3 - "$t0" "$t1" >"$LAB_TMP/probe" <<'EOF'
import socket, sys, time
t0, t1 = float(sys.argv[1]), float(sys.argv[2])
early_ok, denied, first_ok = 0, 0, None
while time.time() < t1 + 3 + 5:
    s = socket.socket()
    s.settimeout(0.1)
    t = time.time()
    try:
        s.connect(("10.10.10.11", 8080))
        if t < t0 + 3:
            early_ok += 1
        else:
            first_ok = t
            break
    except OSError:
        denied += 1
        time.sleep(max(0, 0.1 - (time.time() - t)))
    finally:
        s.close()
print(early_ok, denied, "%.3f" % (first_ok - (t1 + 3)) if first_ok else "none")
EOF
read -r early denied delay <"$LAB_TMP/probe"
expect_eq "$early" 0 "B denies tcp/8080 before the deadline ($denied attempts denied)"
[ "$delay" != none ] || fail "tcp/8080 is still denied 5 s past the deadline"
python3 -c "import sys; sys.exit(0 if float('$delay') <= 1.0 else 1)" ||
	fail "the rollback came $delay s after the deadline (more than 1 s)"
ok "with no xdpseg process, the datapath went back to A at the deadline (+${delay} s)"
conn || fail "A's connection after the rollback"
ok "connections pass again"

# The next command makes it explicit: generation, message, status, event.
out=$(lab_xs status 2>"$LAB_TMP/err")
err=$(cat "$LAB_TMP/err")
expect_match "$err" "warning: rolled back at .* \(confirm missed\): generation $((GA + 1)) \($B\) was not confirmed in time" \
	"status makes the rollback explicit, with a warning"
expect_match "$err" "in force as generation $((GA + 2)) \($A\)" "naming the new generation of A"
expect_eq "$(gen)" "$((GA + 2))" "the generation is incremented (A's set, a new generation)"
expect_match "$out" "rolled back at .* \(confirm missed\): generation $((GA + 1)) \($B\) was not confirmed" \
	"status shows the missed confirm"
expect_match "$out" "file:    $A" "A is the policy in force"
json=$(lab_xs status --json)
expect_eq "$(echo "$json" | python3 -c 'import json,sys; c=json.load(sys.stdin)["policy"]["confirm"]; print(c["state"], c["undone_generation"])')" \
	"rolled-back $((GA + 1))" "status --json too"
expect_eq "$(lab_xs status 2>&1 >/dev/null)" "" "made explicit once: no second warning"
expect_eq "$(hash_of "$S/policy.xsc")" "$HA" "the last good policy is A, the one rolled back to"
[ -e "$S/confirm/policy.xsc" ] && fail "the unconfirmed artefact is still there"
ok "the unconfirmed artefact is gone"
conn || fail "A after it was made explicit"
ok "A still lets the client in"
# The rollback event waited in the ring buffer for the next reader.
lab_spawn host 5 "$LAB_XDPSEG" watch --json >"$LAB_TMP/watch2" 2>/dev/null
sleep 1.5
kill "$LAB_SPAWNED" 2>/dev/null
wait "$LAB_SPAWNED" 2>/dev/null
rb=$(grep '"rollback":true' "$LAB_TMP/watch1" "$LAB_TMP/watch2" | head -1)
expect_match "$rb" "\"generation\":$GA,\"file\":\"$A\"" "watch shows the datapath's rollback event (generation $GA)"
expect_eq "$(grep -hc '"rollback":true' "$LAB_TMP/watch1" "$LAB_TMP/watch2" | paste -sd+ | bc)" 1 \
	"exactly one rollback event"
out=$(lab_xs confirm 2>&1)
expect_eq "$?" 1 "confirm after the rollback is refused"
expect_match "$out" "nothing to confirm: generation $((GA + 1)) was rolled back at .* \(confirm missed\)" \
	"saying it was rolled back"

# ---- a confirm in time keeps the new policy ----------------------------------
G=$(gen)
lab_xs apply --confirm 2s "$B" >/dev/null || fail "apply --confirm 2s B"
out=$(lab_xs status)
expect_match "$out" "confirm: pending: goes back to generation $G \($A\) at .*, in [12]s, unless 'xdpseg confirm'" \
	"status shows the pending confirm"
out=$(lab_xs confirm) || fail "confirm"
expect_match "$out" "^confirmed generation $((G + 1)) \($B\), .* before its deadline: it stays in force and is the last good policy" \
	"confirm keeps B"
sleep 2.5
conn 0.5 && fail "B lets tcp/8080 through after its confirm"
ok "past the deadline, B stays (tcp/8080 denied)"
expect_eq "$(gen)" "$((G + 1))" "no rollback: the generation stays"
expect_no_match "$(lab_xs status)" "confirm|rolled back" "status shows no confirm any more"
expect_eq "$(hash_of "$S/policy.xsc")" "$(lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["sha256"])')" \
	"the confirmed policy is the last good one"
out=$(lab_xs confirm 2>&1)
expect_eq "$?" 1 "a second confirm is refused"
expect_match "$out" "nothing to confirm: no apply --confirm is pending" "nothing to confirm"

# ---- refused while pending; rollback now -----------------------------------
lab_xs apply "$A" >/dev/null || fail "apply A"
G=$(gen)
lab_xs apply --confirm 60s "$B" >/dev/null || fail "apply --confirm 60s B"
out=$(lab_xs apply "$A" 2>&1)
expect_eq "$?" 1 "apply is refused while a confirm is pending"
expect_match "$out" "^xdpseg: error: apply refused: a commit-confirm is pending: generation $((G + 1)) \($B\) goes back to generation $G in (1m|59s) unless confirmed; run 'xdpseg confirm' to keep it or 'xdpseg rollback' to go back now, then apply again$" \
	"with a message naming confirm and rollback"
out=$(lab_xs apply --confirm 10s "$A" 2>&1)
expect_eq "$?" 1 "so is another apply --confirm"
expect_eq "$(gen)" "$((G + 1))" "nothing changed"
out=$(lab_xs rollback) || fail "rollback"
expect_match "$out" "^rolled back: generation $((G + 1)) \($B\) undone; the policy before \($A\) is in force as generation $((G + 2))" \
	"rollback goes back at once"
conn || fail "A after rollback"
ok "A lets the client in again at once"
expect_eq "$(gen)" "$((G + 2))" "a new generation"
expect_no_match "$(lab_xs status 2>&1)" "confirm|rolled back" "a rollback asked for is no missed confirm"
out=$(lab_xs rollback 2>&1)
expect_eq "$?" 1 "nothing left to roll back"
expect_match "$out" "nothing to roll back: no apply --confirm is pending" "rollback says so"
expect_eq "$(hash_of "$S/policy.xsc")" "$HA" "the last good policy is A"

# ---- the agent makes a missed confirm explicit by itself --------------------
# (its lock file goes in /run/xdpseg, made when missing: removed with the lab)
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
cat >"$LAB_TMP/agent.conf" <<EOF
interfaces = h-*
pin-dir = $LAB_PIN_DIR
EOF
lab_spawn host 60 "$LAB_XDPSEG" agent --config "$LAB_TMP/agent.conf" 2>"$LAB_TMP/agent.log"
AGENT=$LAB_SPAWNED
for _ in $(seq 100); do grep -q "started (pid" "$LAB_TMP/agent.log" && break; sleep 0.1; done
G=$(gen)
lab_xs apply --confirm 1s "$B" >/dev/null || fail "apply --confirm 1s B (agent running)"
# No command from here (status would make it explicit itself): the agent's
# tick does, with or without a packet.
for _ in $(seq 40); do grep -q "rolled back at" "$LAB_TMP/agent.log" && break; sleep 0.1; done
log=$(cat "$LAB_TMP/agent.log")
expect_match "$log" "notice: policy generation $((G + 1)) applied by another process: $B \(sha256 [0-9a-f]+\), unconfirmed: goes back to generation $G at " \
	"the agent notes the unconfirmed apply"
expect_match "$log" "warning: rolled back at .* \(confirm missed\): generation $((G + 1)) \($B\) was not confirmed in time, so the datapath went back to the policy before; it is in force as generation $((G + 2)) \($A\)" \
	"the agent makes the missed confirm explicit within a tick, and logs it"
expect_eq "$(gen)" "$((G + 2))" "the generation is A's new one"
expect_eq "$(lab_xs status 2>&1 >/dev/null)" "" "nothing left for status to make explicit"
conn || fail "A after the agent's rollback"
ok "A is in force"
kill "$AGENT"
wait "$AGENT" 2>/dev/null
AGENT=

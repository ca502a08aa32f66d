#!/usr/bin/env bash
# Grants (issue 8) with real traffic: a 4-second grant opens a denied port
# and closes by itself with no xdpseg process running: new connections are
# dropped after it, an established one is cut at its next packet, one of a
# --drain grant goes on; the events (read after, from the ring buffer) say
# grant and grant-expired with the grant's statement; status shows the time
# left, then "expired"; grant-max and grant-reason refuse with messages
# naming the key; a grant survives `apply` of a new policy and is
# re-validated against it (a policy without its segment is refused, nothing
# changed); revoke ends it.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"
LAB_TIMEOUT=1
STEADY=$XS_SRCDIR/tests/netns/steady.py
export XDPSEG_CONFIG=$LAB_TMP/xdpseg.conf

P1=$LAB_TMP/g1.policy P2=$LAB_TMP/g2.policy P3=$LAB_TMP/g3.policy
cat >"$P1" <<'EOF'
service rdp tcp/3389
segment clients 10.20.0.0/16
segment vda     10.10.10.0/24
segment bastion 10.10.9.7
allow bastion -> vda : tcp/22
default clients in allow out allow
default vda in deny out allow
EOF
sed 's|^allow bastion -> vda : tcp/22$|allow bastion -> vda : tcp/22, tcp/2222|' "$P1" >"$P2"
grep -v bastion "$P1" >"$P3" # no segment bastion

lab_host
lab_vm client 10.20.0.10
lab_vm vda1 10.10.10.11
lab_vm vda2 10.10.10.12
lab_vm bastion 10.10.9.7
lab_xs apply "$P1" >/dev/null || fail "apply"
lab_xs attach h-client h-vda1 h-vda2 h-bastion >/dev/null 2>&1 || fail "attach"
lab_spawn vda1 60 python3 "$STEADY" serve 10.10.10.11 3389
lab_spawn vda2 60 python3 "$STEADY" serve 10.10.10.12 3390
lab_wait_listen vda1 tcp 3389 && lab_wait_listen vda2 tcp 3390 || fail "servers"

conn() { lab_in "$1" python3 "$STEADY" connect "$2" "$3"; }
# can EXPECT WHAT SRC ADDR PORT: a new connection
can() {
	local got
	conn "$3" "$4" "$5" && got=allowed || got=blocked
	expect_eq "$got" "$1" "$2"
}
gen() { lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["generation"])'; }
at() { awk -v t="$1" -v d="$2" 'BEGIN { printf "%.3f", t + d }'; }

can blocked "before: bastion -> vda1 rdp is denied" bastion 10.10.10.11 3389

# The configuration's limits, refused before anything changes.
printf 'grant-max = 1h\ngrant-reason = required\n' >"$XDPSEG_CONFIG"
G0=$(gen)
out=$(lab_xs grant bastion -\> 10.10.10.11 : rdp --for 1h --reason "" 2>&1)
expect_eq "$?" 1 "grant-reason = required: a grant without a reason is refused"
expect_eq "$out" "xdpseg: error: a grant needs a reason here (grant-reason = required in $XDPSEG_CONFIG): add --reason TEXT; nothing changed" \
	"naming the key and the file"
out=$(lab_xs grant bastion -\> 10.10.10.11 : rdp --for 2h --reason x 2>&1)
expect_eq "$?" 1 "grant-max = 1h: a grant of 2h is refused"
expect_eq "$out" "xdpseg: error: a grant of 2h is longer than grant-max = 1h in $XDPSEG_CONFIG allows: grant less (or raise grant-max there); nothing changed" \
	"naming the key and the file"
printf 'grant-reason = oops\n' >"$XDPSEG_CONFIG"
out=$(lab_xs grant bastion -\> 10.10.10.11 : rdp --for 1m 2>&1)
expect_eq "$?" 1 "a configuration with an error refuses the grant"
expect_match "$out" "^$XDPSEG_CONFIG:1: error: bad value 'oops' for grant-reason: use required or optional" \
	"with the configuration's error"
expect_eq "$(gen)" "$G0" "nothing applied by the refusals"
: >"$XDPSEG_CONFIG" # defaults: 24h, a reason optional

# Two 4-second grants; the second with --drain.
TB=$(date +%s.%N)
out=$(lab_xs grant bastion '->' 10.10.10.11 : rdp --for 4s --reason "change 42")
expect_eq "$?" 0 "grant bastion -> 10.10.10.11 : rdp --for 4s"
expect_match "$out" "^grant 1 in force until [0-9-]+ [0-9:]+ UTC \([34]s\), generation $((G0 + 1)): grant bastion -> 10.10.10.11 : rdp$" \
	"it prints its number, end and statement"
out=$(lab_xs grant "bastion -> 10.10.10.12 : tcp/3390" --for 4s --drain)
expect_match "$out" "^grant 2 in force until .* --drain\), generation $((G0 + 2)): grant bastion -> 10.10.10.12 : tcp/3390$" \
	"a second one, --drain, the statement as one word"
TA=$(date +%s.%N)
expect_match "$(lab_xs status)" $'grants: 2\n  1    grant bastion -> 10.10.10.11 : rdp   [0-9]s left \(until [^)]*\)   by root   reason: change 42\n  2    grant bastion -> 10.10.10.12 : tcp/3390   [0-9]s left \(until [^)]*\) --drain   by root   reason: -' \
	"status lists both with the time left"
lab_spawn bastion 30 python3 "$STEADY" probe 10.10.10.11 3389 "$LAB_TMP/cut" 8
lab_spawn bastion 30 python3 "$STEADY" probe 10.10.10.12 3390 "$LAB_TMP/drain" 8
can allowed "the grant opens bastion -> vda1 rdp" bastion 10.10.10.11 3389
can blocked "only to the address granted: vda2 rdp still denied" bastion 10.10.10.12 3389

# No xdpseg process runs from here to past the end.
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" = "$LAB_XDPSEG" ] && fail "an xdpseg process runs: ${p#/proc/}"
done
ok "no xdpseg process runs"
sleep "$(awk -v a="$TA" -v n="$(date +%s.%N)" 'BEGIN { d = a + 5.6 - n; printf "%.2f", (d > 0 ? d : 0) }')"

read -r okn failn < <(python3 "$STEADY" count "$LAB_TMP/cut" "$(at "$TA" 0.1)" "$(at "$TB" 2.9)")
[ "$okn" -ge 3 ] && [ "$failn" = 0 ] || fail "the granted connection did not carry data ($okn ok, $failn failed)"
ok "the established connection carries data while the grant lasts ($okn probes)"
read -r okn failn < <(python3 "$STEADY" count "$LAB_TMP/cut" "$(at "$TA" 4.2)")
[ "$okn" = 0 ] && [ "$failn" -ge 3 ] || fail "the connection was not cut at the end ($okn ok, $failn failed after)"
ok "at the end it is cut at its next packet ($failn probes dropped), no process running"
read -r okn failn < <(python3 "$STEADY" count "$LAB_TMP/drain" "$(at "$TA" 0.1)")
[ "$okn" -ge 25 ] && [ "$failn" = 0 ] || fail "the --drain connection was cut ($okn ok, $failn failed)"
ok "the --drain grant's connection goes on after the end ($okn probes)"
can blocked "after the end: a new bastion -> vda1 rdp is dropped" bastion 10.10.10.11 3389
can blocked "after the end: a new connection of the --drain grant too" bastion 10.10.10.12 3390
expect_match "$(lab_xs status)" "  1    grant bastion -> 10.10.10.11 : rdp   expired \(until" "status says expired"

# The events, as the ring buffer kept them for the next reader.
lab_spawn host 10 "$LAB_XDPSEG" watch --json >"$LAB_TMP/events" 2>/dev/null
sleep 1
kill -INT "$LAB_SPAWNED"
wait "$LAB_SPAWNED"
python3 - "$LAB_TMP/events" <<'PY' || fail "events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"verdict"' in l]
def has(verdict, reason, dport):
    m = [e for e in ev if (e["verdict"], e["reason"], e["dst"], e.get("dport")) ==
         (verdict, reason, "10.10.10.11", dport)]
    assert m, "no %s event with reason %s to port %d: %s" % (verdict, reason, dport,
        sorted({(e["verdict"], e["reason"]) for e in ev}))
    o = m[0].get("origin") or {}
    assert o.get("text") == "grant bastion -> 10.10.10.11 : rdp" and o.get("file") == "<grant 1>", o
has("allow", "grant", 3389)
has("drop", "grant-expired", 3389)
PY
ok "events: the use (grant) and the cut (grant-expired), each naming the grant"

# A grant survives `apply` of a new policy; expired ones are gone then.
# shellcheck disable=SC2046 # --until DATE TIME as two words
out=$(lab_xs grant bastion -\> vda : rdp --until $(date -d '+1 hour' '+%Y-%m-%d %H:%M:%S') --reason "maintenance")
expect_match "$out" "^grant 3 in force until .* \((1h|59m[0-9]+s)\)" "grant 3 to the whole segment, --until a local time"
can allowed "grant 3 opens bastion -> vda1 rdp again" bastion 10.10.10.11 3389
lab_xs apply "$P2" >/dev/null 2>&1 || fail "apply P2 under a grant"
ok "apply of a new policy under a grant"
can allowed "the grant survives the apply" bastion 10.10.10.11 3389
lab_xs status --json | python3 -c '
import json, sys
g = json.load(sys.stdin)["grants"]
assert [(x["number"], x["statement"], x["reason"], x["expired"]) for x in g] == \
    [(3, "grant bastion -> vda : rdp", "maintenance", False)], g
assert 3500 < g[0]["left"] <= 3600, g
' || fail "status after the apply"
ok "status: grant 3 kept (its number, time left), the expired ones gone"

# Re-validated: a policy without the grant's segment is refused.
G1=$(gen)
out=$(lab_xs apply "$P3" 2>&1)
expect_eq "$?" 1 "apply of a policy without segment bastion is refused"
expect_eq "$out" "<grant 3>:1:7: error: unknown segment 'bastion'
grant bastion -> vda : rdp
      ^
<grant 3>: note: this policy cannot hold grant 3: revoke it ('xdpseg revoke 3'), or apply a policy that has what it names
xdpseg: error: $P3: 1 error: nothing applied, the active policy is unchanged" \
	"the error names the grant and the fix"
expect_eq "$(gen)" "$G1" "nothing changed"
can allowed "the grant still works" bastion 10.10.10.11 3389

out=$(lab_xs revoke 3)
expect_eq "$out" "revoked grant 3, generation $((G1 + 1))" "revoke 3"
can blocked "revoked: bastion -> vda1 rdp denied again" bastion 10.10.10.11 3389
out=$(lab_xs revoke 3 2>&1)
expect_eq "$out" "xdpseg: error: there is no grant 3 ('xdpseg status' lists them); nothing changed" \
	"revoking it again: nothing changes"
expect_eq "$(lab_xs status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["grants"]))')" 0 \
	"no grant listed"

# While a commit-confirm is pending, every overlay command is refused.
lab_xs apply --confirm 60s "$P2" >/dev/null 2>&1 || fail "apply --confirm"
G2=$(gen)
for cmd in "grant bastion -> vda : rdp --for 1m" "quarantine 10.10.10.11" "release 1" "revoke 1"; do
	# shellcheck disable=SC2086
	out=$(lab_xs $cmd 2>&1)
	expect_eq "$?" 1 "pending confirm: '${cmd%% *}' is refused"
	expect_match "$out" "xdpseg confirm.*xdpseg rollback" "naming xdpseg confirm and xdpseg rollback"
done
expect_eq "$(gen)" "$G2" "nothing changed"
lab_xs rollback >/dev/null 2>&1 || fail "rollback"

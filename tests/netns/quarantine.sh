#!/usr/bin/env bash
# Quarantine (issue 8) with real traffic: a strict quarantine of one address
# cuts an ESTABLISHED TCP connection at its next packet and blocks new ones
# both ways (ARP still resolves), its neighbours untouched; status lists it
# (number, target, mode, reason, who, since; JSON too); events say
# `quarantine`; forensic access lets only the named segment and service in
# (reason `forensic`), a quarantine without a mode uses the policy's own
# `quarantine forensic`; a quarantine survives `apply` of a new policy;
# release (by number, by target) restores; nothing changes on a bad one;
# an IPv6 address is a target of its own.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"
LAB_TIMEOUT=1
STEADY=$XS_SRCDIR/tests/netns/steady.py

P1=$LAB_TMP/q1.policy P2=$LAB_TMP/q2.policy
cat >"$P1" <<'EOF'
service app tcp/5000
segment clients 10.20.0.0/16, fd00:20::/48
segment vda     10.10.10.0/24, fd00:10:10::/64
segment bastion 10.10.9.7
allow clients -> vda : app
allow bastion -> vda : tcp/22, app
quarantine forensic bastion : tcp/22
default clients in allow out allow
default vda in deny out allow
EOF
# The next version: one more service, the same segments.
sed 's/^allow clients -> vda : app$/allow clients -> vda : app, tcp\/5001/' "$P1" >"$P2"

lab_host
lab_vm client 10.20.0.10 fd00:20::10
lab_vm vda1 10.10.10.11 fd00:10:10::11
lab_vm vda2 10.10.10.12
lab_vm bastion 10.10.9.7
lab_xs apply "$P1" >/dev/null || fail "apply"
lab_xs attach h-client h-vda1 h-vda2 h-bastion >/dev/null 2>&1 || fail "attach"

# check EXPECT WHAT SRC DST_NS ADDR PORT
check() {
	local got
	lab_tcp "$3" "$4" "$5" "$6" && got=allowed || got=blocked
	expect_eq "$got" "$1" "$2"
}
gen() { lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["generation"])'; }

check allowed "before: client -> vda1 app" client vda1 10.10.10.11 5000
check allowed "before: vda1 -> client (vda out allow)" vda1 client 10.20.0.10 6000

lab_spawn host 60 "$LAB_XDPSEG" watch --json >"$LAB_TMP/events" 2>/dev/null
WATCH=$LAB_SPAWNED
lab_spawn vda1 60 python3 "$STEADY" serve 10.10.10.11 5000
SERVER=$LAB_SPAWNED
lab_wait_listen vda1 tcp 5000 || fail "steady server"
lab_spawn client 60 python3 "$STEADY" probe 10.10.10.11 5000 "$LAB_TMP/steady" 8
PROBE=$LAB_SPAWNED
sleep 1
read -r okn failn < <(python3 "$STEADY" count "$LAB_TMP/steady" 0)
[ "$okn" -ge 5 ] && [ "$failn" = 0 ] || fail "the connection does not carry data before ($okn ok, $failn failed)"
ok "an established connection client -> vda1 carries data ($okn probes)"

G0=$(gen)
out=$(lab_xs quarantine 10.10.10.11 --strict --reason "compromised, ticket 7" 2>&1)
expect_eq "$?" 0 "quarantine 10.10.10.11 --strict"
T=$(date +%s.%N)
expect_eq "$out" "quarantine 1 in force, generation $((G0 + 1)): quarantine 10.10.10.11 strict" \
	"it prints its number and statement"
sleep 1.5
read -r okn failn < <(python3 "$STEADY" count "$LAB_TMP/steady" "$(awk -v t="$T" 'BEGIN { printf "%.3f", t + 0.2 }')")
[ "$okn" = 0 ] && [ "$failn" -ge 3 ] || fail "the established connection was not cut ($okn ok, $failn failed after)"
ok "the established connection is cut at its next packet ($failn probes dropped, none passed)"
kill "$PROBE" "$SERVER" 2>/dev/null
wait "$PROBE" "$SERVER" 2>/dev/null

check blocked "new client -> vda1 blocked" client vda1 10.10.10.11 5000
check blocked "new vda1 -> client blocked (out too)" vda1 client 10.20.0.10 6000
check blocked "strict: the bastion's tcp/22 blocked too" bastion vda1 10.10.10.11 22
check allowed "vda2, same segment, untouched" client vda2 10.10.10.12 5000
lab_in client ip neigh flush dev eth0
lab_ping client 10.10.10.11 && fail "ping passed a strict quarantine"
lab_in client ip neigh show 10.10.10.11 | grep -q lladdr || fail "ARP did not resolve 10.10.10.11"
ok "ARP still resolves the quarantined address"

st=$(lab_xs status)
expect_match "$st" $'quarantines: 1\n  1    10.10.10.11   mode: strict   since [0-9-]+ [0-9:]+ UTC by root   reason: compromised, ticket 7' \
	"status lists it: number, target, mode, since, who, reason"
lab_xs status --json | python3 -c '
import json, sys
q = json.load(sys.stdin)["quarantines"]
assert len(q) == 1, q
q = q[0]
assert (q["number"], q["targets"], q["mode"], q["reason"], q["user"], q["uid"]) == \
    (1, "10.10.10.11", "strict", "compromised, ticket 7", "root", 0), q
assert q["statement"] == "quarantine 10.10.10.11 strict", q
' || fail "status --json"
ok "status --json lists it"

out=$(lab_xs quarantine 10.10.10.11/32 2>&1)
expect_eq "$?" 1 "quarantining it again is refused"
expect_eq "$out" "xdpseg: error: 10.10.10.11 is quarantined already (quarantine 1: quarantine 10.10.10.11 strict): release it first to change how; nothing changed" \
	"naming the quarantine in force"
out=$(lab_xs release 7 2>&1)
expect_eq "$out" "xdpseg: error: there is no quarantine 7 ('xdpseg status' lists them); nothing changed" \
	"release of an unknown number: nothing changes"
out=$(lab_xs quarantine nosuchseg 2>&1)
expect_eq "$?" 1 "an unknown segment is a compile error"
expect_match "$out" "<quarantine 2>" "naming the overlay"
expect_eq "$(gen)" "$((G0 + 1))" "nothing applied by the refusals"

out=$(lab_xs release 1)
expect_eq "$?" 0 "release 1"
expect_eq "$out" "released 1, generation $((G0 + 2))" "it says so"
check allowed "released: client -> vda1 again" client vda1 10.10.10.11 5000
check allowed "released: vda1 -> client again" vda1 client 10.20.0.10 6000

# Forensic: only the bastion's tcp/22 gets in.
out=$(lab_xs quarantine 10.10.10.11 --forensic bastion:tcp/22 2>&1)
expect_eq "$?" 0 "quarantine --forensic bastion:tcp/22"
expect_match "$out" "^quarantine 1 in force, generation [0-9]+: quarantine 10.10.10.11 forensic bastion : tcp/22$" \
	"numbers restart when none is in force"
check allowed "forensic: bastion -> vda1 tcp/22" bastion vda1 10.10.10.11 22
check blocked "forensic: bastion -> vda1 app (allowed by the policy, not forensic)" bastion vda1 10.10.10.11 5000
check blocked "forensic: client -> vda1 app" client vda1 10.10.10.11 5000
expect_match "$(lab_xs status)" "mode: forensic bastion : tcp/22" "status shows the forensic access"
lab_xs release 10.10.10.11 >/dev/null || fail "release by target"
ok "release by target"

# No mode: the policy's `quarantine forensic bastion : tcp/22`; a whole segment too.
lab_xs quarantine 10.10.10.11 clients --reason incident >/dev/null || fail "quarantine without a mode"
check allowed "the policy's forensic access: bastion -> vda1 tcp/22" bastion vda1 10.10.10.11 22
check blocked "a whole segment: client -> vda2" client vda2 10.10.10.12 5000
expect_match "$(lab_xs status)" "10.10.10.11, clients   mode: forensic \(the policy's\)" \
	"status: both targets, the policy's mode"

# A new policy keeps the quarantine.
out=$(lab_xs apply "$P2" 2>&1)
expect_eq "$?" 0 "apply a new policy under a quarantine"
check blocked "the quarantine survives the apply" client vda2 10.10.10.12 5001
lab_xs status --json | python3 -c '
import json, sys
q = json.load(sys.stdin)["quarantines"]
assert [(x["number"], x["targets"], x["reason"]) for x in q] == [(1, "10.10.10.11, clients", "incident")], q
' || fail "status after the apply"
ok "status lists the same quarantine after the apply"

lab_xs release clients >/dev/null || fail "release clients"
expect_match "$(lab_xs status)" "  1    10.10.10.11   mode" "releasing one target keeps the other"
check allowed "clients released: the new policy's service to vda2" client vda2 10.10.10.12 5001
check blocked "vda1 still quarantined" client vda1 10.10.10.11 5001
lab_xs release 1 >/dev/null || fail "release 1"
check allowed "vda1 released, the new policy's service" client vda1 10.10.10.11 5001

# IPv6: an address of its own, the VM's IPv4 address untouched.
out=$(lab_xs quarantine fd00:10:10::11/128 --strict)
expect_match "$out" "^quarantine 1 in force, generation [0-9]+: quarantine fd00:10:10::11 strict$" \
	"quarantine an IPv6 address (canonical in the statement)"
check blocked "IPv6: client -> vda1 app" client vda1 fd00:10:10::11 5000
check allowed "the same VM's IPv4 address is another target" client vda1 10.10.10.11 5000
lab_xs release fd00:10:10::11 >/dev/null || fail "release an IPv6 target"
check allowed "IPv6 released" client vda1 fd00:10:10::11 5000

sleep 0.3
kill -INT "$WATCH"
wait "$WATCH"
python3 - "$LAB_TMP/events" <<'PY' || fail "events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"verdict"' in l]
q = [e for e in ev if e["reason"] == "quarantine"]
assert q, "no event with reason quarantine"
assert any(e["verdict"] == "drop" and e["dst"] == "10.10.10.11" and e.get("dport") == 5000 for e in q), q
o = [e["origin"] for e in q if e.get("origin")]
assert o and o[0]["text"].startswith("quarantine 10.10.10.11"), o
f = [e for e in ev if e["reason"] == "forensic"]
assert any(e["verdict"] == "allow" and e["src"] == "10.10.9.7" and e.get("dport") == 22 for e in f), f
PY
ok "events carry reasons quarantine (the statement as origin) and forensic"

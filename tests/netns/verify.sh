#!/usr/bin/env bash
# Ask, diff, preview (issue 8) against a running datapath: `verify` answers
# from the kernel's active set what a real first packet of the flow gets
# (the event's verdict, reason, rule, origin and segments, and the traffic
# passes or not as verify's exit status says), for allowed, denied, default,
# IPv4 and IPv6, TCP, UDP and ICMP flows; `show` prints the policy in force
# with the generation and hash `status` prints; `diff running FILE`;
# `apply --dry-run` lists the tracked connection a new policy would cut (with
# what it carried each way, counted once though two attached interfaces saw
# it) and changes nothing (generation, hash, tables as `show --json` reads
# them).
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

POLICY=$XS_SRCDIR/tests/netns/traffic.policy
line_of() { grep -n -F -- "$1" "$POLICY" | head -1 | cut -d: -f1; }
L_CLIENT_VDA=$(line_of "allow clients -> vda : ica, hdx-audio")
L_DENY_VDA=$(line_of "deny  vda -> vda")

lab_host
lab_vm client 10.20.0.10 fd00:20::10
lab_vm sf 10.10.1.10 fd00:10:1::10
lab_vm vda1 10.10.10.11 fd00:10:10::11
lab_vm vda2 10.10.10.12 fd00:10:10::12
lab_vm bastion 10.10.9.7

# Nothing applied yet: verify has nothing to ask (exit 2), a file it has.
lab_xs verify 10.20.0.10 10.10.1.10 tcp/443 >/dev/null 2>"$LAB_TMP/err"
expect_eq "$?" 2 "verify before anything is loaded: exit 2"
lab_xs verify 10.20.0.10 10.10.1.10 tcp/443 --policy "$POLICY" >/dev/null
expect_eq "$?" 0 "verify --policy FILE needs nothing loaded"

lab_xs apply "$POLICY" >/dev/null || fail "apply"
lab_xs attach h-client h-sf h-vda1 h-vda2 h-bastion >/dev/null 2>&1 || fail "attach"
lab_spawn host 300 "$LAB_XDPSEG" watch --json >"$LAB_TMP/events" 2>"$LAB_TMP/watch.err"
WATCH=$LAB_SPAWNED
sleep 0.3

# flow SRC_NS DST_NS SRC DST PROTO [PORT]: verify it, send it, compare.
n=0
flow() {
	local src=$1 dst=$2 sa=$3 da=$4 proto=$5 port=${6:-} svc want got rc
	case $proto in
	icmp) svc=icmp/8 port=8 ;;
	icmpv6) svc=icmpv6/128 port=128 ;;
	*) svc=$proto/$port ;;
	esac
	lab_xs verify "$sa" "$da" "$svc" --json >"$LAB_TMP/verify.$n"
	rc=$?
	[ "$rc" = 0 ] && want=allowed || want=blocked
	[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "verify $sa $da $svc: exit $rc"
	case $proto in
	tcp) lab_tcp "$src" "$dst" "$da" "$port" && got=allowed || got=blocked ;;
	udp) lab_udp "$src" "$dst" "$da" "$port" && got=allowed || got=blocked ;;
	icmp*) lab_ping "$src" "$da" && got=allowed || got=blocked ;;
	esac
	expect_eq "$got" "$want" "verify $sa -> $da $svc says $want (exit $rc), and so does the traffic"
	echo "$sa $da $proto $port $n" >>"$LAB_TMP/flows"
	n=$((n + 1))
}

flow client sf 10.20.0.10 10.10.1.10 tcp 443
flow client sf fd00:20::10 fd00:10:1::10 tcp 443
flow client sf 10.20.0.10 10.10.1.10 tcp 80
flow client vda1 10.20.0.10 10.10.10.11 tcp 1494
flow client vda1 10.20.0.10 10.10.10.11 udp 16505
flow client vda1 fd00:20::10 fd00:10:10::11 tcp 22
flow vda1 vda2 10.10.10.11 10.10.10.12 tcp 445
flow vda1 client 10.10.10.11 10.20.0.10 tcp 8080
flow bastion vda1 10.10.9.7 10.10.10.11 icmp
flow client vda1 10.20.0.10 10.10.10.11 icmp
flow client vda1 fd00:20::10 fd00:10:10::11 icmpv6

sleep 0.5
kill -INT "$WATCH"
wait "$WATCH"

# Every flow's first event (its ingress at the source's port) says what verify said.
cross_check() {
	python3 - "$LAB_TMP" <<'PY'
import json, sys, os
tmp = sys.argv[1]
events = [json.loads(l) for l in open(os.path.join(tmp, "events")) if l.strip()]
events = [e for e in events if "verdict" in e and e["dir"] == "in"]
bad = 0
for line in open(os.path.join(tmp, "flows")):
    sa, da, proto, port, n = line.split()
    v = json.load(open(os.path.join(tmp, "verify." + n)))
    def match(e):
        if e["src"] != sa or e["dst"] != da:
            return False
        if proto in ("icmp", "icmpv6"):
            return e.get("icmp_type") == int(port)
        return e["proto"] == proto and e.get("dport") == int(port)
    ev = [e for e in events if match(e)]
    if not ev:
        print("no event for", sa, da, proto, port); bad += 1; continue
    e = ev[0]
    got = (e["verdict"], e["reason"], e["rule_id"], e["src_seg"], e["dst_seg"])
    want = (v["verdict"], v["reason"], v["rule_id"], v["src_seg"], v["dst_seg"])
    eo, vo = e.get("origin"), v.get("origin")
    if got != want or (eo and (eo["file"], eo["line"], eo["text"]) != (vo["file"], vo["line"], vo["text"])):
        print("flow", sa, da, proto, port, "event", got, eo, "verify", want, vo); bad += 1
    else:
        print("ok:", sa, "->", da, proto, port, got)
sys.exit(1 if bad else 0)
PY
}
cross_check || fail "a flow's event differs from verify's answer"
ok "every flow's event has verify's verdict, reason, rule, origin and segments"

# The answers name what decided: the rule at its line, the default and its side.
out=$(lab_xs verify 10.10.10.11 10.10.10.12 tcp/445)
expect_eq "$?" 1 "verify of a denied flow exits 1"
expect_match "$out" "why: +denied by .*traffic\.policy:$L_DENY_VDA: deny vda -> vda" \
	"verify names the deny rule by FILE:LINE and text"
expect_match "$out" "from: +vda \(10\.10\.10\.0/24\)" "verify names the source's segment and prefix"
out=$(lab_xs verify 10.10.10.11 10.20.0.10 tcp/8080)
expect_match "$out" "the source denies by default \(vda out deny\)" "verify names the default and its side"
expect_match "$out" "policy: +running policy \(generation 1, " "verify says it asked the running policy"

# show: what is in force, with the generation and hash status shows.
st=$(lab_xs status --json | python3 -c "import json,sys; p = json.load(sys.stdin)['policy']; print(p['generation'], p['sha256'])")
sh=$(lab_xs show --json | python3 -c "import json,sys; p = json.load(sys.stdin); print(p['generation'], p['sha256'])")
expect_eq "$sh" "$st" "show --json: the generation and sha256 of status"
out=$(lab_xs show)
expect_eq "$?" 0 "show exits 0"
expect_match "$out" "vda +in deny .* out deny" "show: vda's defaults"
expect_match "$out" "10\.10\.10\.0/24, fd00:10:10::/64" "show: vda's prefixes"
expect_match "$out" "traffic\.policy:$L_CLIENT_VDA: allow clients -> vda : ica, hdx-audio" \
	"show: a rule with its origin"
expect_match "$out" "clients -> vda tcp/1494, tcp/2598, udp/1494, udp/2598, udp/16500-16509: allow" \
	"show: what the rule decides, as port ranges"

# diff against the running policy
lab_xs diff running "$POLICY" >"$LAB_TMP/out"
expect_eq "$?" 0 "diff running FILE-in-force: exit 0"
expect_match "$(cat "$LAB_TMP/out")" "no difference" "diff running FILE-in-force: no difference"
# ICA without tcp/1494
sed -e 's|^service ica tcp/1494, |service ica |' "$POLICY" >"$LAB_TMP/new.policy"
lab_xs diff running "$LAB_TMP/new.policy" >"$LAB_TMP/out"
expect_eq "$?" 1 "diff running NEW: exit 1"
expect_match "$(cat "$LAB_TMP/out")" "clients -> vda tcp/1494: allow -> drop" "diff: ICA's tcp/1494 closes"

# apply --dry-run: a connection the new policy would cut, nothing changed.
lab_spawn vda1 60 socat "TCP-LISTEN:1494,reuseaddr" EXEC:cat
lab_wait_listen vda1 tcp 1494 || fail "listener"
lab_spawn client 60 socat -T 60 "EXEC:sleep 50" "TCP:10.10.10.11:1494"
HOLD=$LAB_SPAWNED
for i in $(seq 40); do
	lab_in client ss -Htn state established "dport = :1494" | grep -q . && break
	sleep 0.05
done
before=$(lab_xs show --json)
out=$(lab_xs apply --dry-run "$LAB_TMP/new.policy")
expect_eq "$?" 0 "apply --dry-run exits 0"
expect_match "$out" "dry run: nothing applied, nothing changed" "apply --dry-run says it changes nothing"
expect_match "$out" "clients -> vda tcp/1494: allow -> drop" "apply --dry-run prints the semantic diff"
expect_match "$out" "the new policy would cut 1 of them" "apply --dry-run counts the connection it would cut"
expect_match "$out" "tcp 10\.20\.0\.10:[0-9]+ -> 10\.10\.10\.11:1494  clients -> vda" \
	"apply --dry-run lists it with its addresses and ports"
expect_match "$out" "now: drop +default-in +.*new\.policy:[0-9]+: default vda in deny out deny" \
	"apply --dry-run names what would cut it"
# its handshake, each packet seen at two attached interfaces and counted once
expect_match "$out" "carried: 2 packets, [0-9]+ bytes; back 1 packets, [0-9]+ bytes; for " \
	"apply --dry-run says what the connection carried each way"
js=$(lab_xs apply --dry-run --json "$LAB_TMP/new.policy" | python3 -c "import json,sys
c = json.load(sys.stdin)['connections']['listed'][0]
print(c['packets'], min(c['bytes']) > 0, c['seconds'] >= 0)")
expect_eq "$js" "[2, 1] True True" "apply --dry-run --json: packets and bytes each way, seconds"
js=$(lab_xs apply --dry-run --json --limit 0 "$LAB_TMP/new.policy" | python3 -c "import json,sys
d = json.load(sys.stdin); c = d['connections']
print(d['dry_run'], c['cut'], len(c['listed']), d['differences'] > 0)")
expect_eq "$js" "True 1 0 True" "apply --dry-run --json --limit 0: the count, none listed"
after=$(lab_xs show --json)
expect_eq "$after" "$before" "apply --dry-run changed nothing: the tables read back are the same"
st2=$(lab_xs status --json | python3 -c "import json,sys; p = json.load(sys.stdin)['policy']; print(p['generation'], p['sha256'])")
expect_eq "$st2" "$st" "apply --dry-run changed nothing: generation and sha256"
lab_in client ss -Htn state established "dport = :1494" | grep -q . ||
	fail "the held connection is gone after the dry run"
ok "the held connection is still established"
kill "$HOLD" 2>/dev/null

out=$(lab_xs apply --limit 3 "$POLICY" 2>&1)
expect_eq "$?" 2 "apply --limit without --dry-run: a usage error"

# The fast path's tables are checked against the policy in force: one DIR
# entry changed behind xdpseg's back (vda's 10.10.10.0/24 made storefront's)
# makes verify fail (exit 2) naming the map and the entry, and the traffic
# follows the changed entry; applying again repairs it.
gen=$(lab_xs status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['policy']['generation'])")
set=$((gen & 1))
sf=$(lab_xs verify 10.20.0.10 10.10.1.10 tcp/443 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['dst_seg_id'])")
vda=$(lab_xs verify 10.10.10.11 10.10.10.12 tcp/445 --json | python3 -c "import json,sys; print(json.load(sys.stdin)['src_seg_id'])")
chunk=$(python3 - "$LAB_PIN_DIR/maps/xs_dir4_$set" "$vda" "$sf" <<'PY'
import json, subprocess, sys
path, vda, sf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def key(k):
    return [str(b) for b in k.to_bytes(4, "little")]
def chunk(k):
    out = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", path, "key"] + key(k),
                         check=True, capture_output=True, text=True).stdout
    return bytearray(int(x, 16) for x in json.loads(out)["value"])
e = int.from_bytes(chunk(10)[20:22], "little")  # 10.10.0.0/16: a second-level chunk
assert e & 0x8000, "10.10.0.0/16 holds no chunk: %#x" % e
k = e & 0x7fff
c = chunk(k)
assert int.from_bytes(c[20:22], "little") == vda, "10.10.10.0/24 is not vda's"
c[20:22] = sf.to_bytes(2, "little")
subprocess.run(["bpftool", "map", "update", "pinned", path, "key"] + key(k) + ["value"] +
               [str(b) for b in c], check=True)
print(k)
PY
) || fail "changing a DIR entry with bpftool"
lab_xs verify 10.20.0.10 10.10.10.11 tcp/1494 >"$LAB_TMP/out" 2>"$LAB_TMP/err"
expect_eq "$?" 2 "verify with a changed DIR entry: exit 2"
expect_match "$(cat "$LAB_TMP/err")" \
	"xs_dir4_$set chunk $chunk entry 10 \(the addresses 10\.10\.10\.0/24\) holds segment $sf \(storefront\); the policy in force gives segment $vda \(vda\).*apply the policy again" \
	"verify names the map, the chunk, the entry, the addresses and both segments"
lab_tcp client vda1 10.10.10.11 1494 && fail "clients -> vda1 tcp/1494 passed (as if to storefront)"
ok "the datapath decides by the changed entry (clients -> storefront tcp/1494: no rule, in deny)"
lab_xs apply "$POLICY" >/dev/null || fail "apply again"
lab_xs verify 10.20.0.10 10.10.10.11 tcp/1494 >/dev/null
expect_eq "$?" 0 "verify after applying again: exit 0"
lab_tcp client vda1 10.10.10.11 1494 || fail "clients -> vda1 tcp/1494 after applying again"
ok "clients -> vda1 tcp/1494 passes again"

# Overlays as show and verify report them, and as real packets meet them.
lab_xs quarantine 10.10.10.12 --strict --reason "ticket 4711" >/dev/null || fail "quarantine"
lab_xs grant "bastion -> 10.10.10.11 : tcp/3389" --for 1h --reason patching >/dev/null || fail "grant"
out=$(lab_xs show)
expect_match "$out" "vda\[10\.10\.10\.12\] +in deny .* QUARANTINED" "show: the quarantined address as its derived segment"
expect_match "$out" "#1 quarantine 10\.10\.10\.12 strict" "show: the quarantine, its number and statement"
expect_match "$out" "reason: ticket 4711" "show: the quarantine's reason"
expect_match "$out" "#2 grant bastion -> 10\.10\.10\.11 : tcp/3389" "show: the grant"
expect_match "$out" "until .* \((59m[0-9]+s|1h) left\)" "show: the grant's time left"
expect_match "$out" "bastion -> vda\[10\.10\.10\.11\] tcp/3389: allow \(grant\)" "show: what the grant decides"
sj=$(lab_xs show --json | python3 -c "import json,sys
d = json.load(sys.stdin)
print(sorted((o['number'], o['kind']) for o in d['overlays']), [o['seconds_left'] > 3500 for o in d['overlays'] if o['kind'] == 'grant'])")
expect_eq "$sj" "[(1, 'quarantine'), (2, 'grant')] [True]" "show --json: the overlays with the grant's seconds left"

lab_spawn host 60 "$LAB_XDPSEG" watch --json >"$LAB_TMP/events2" 2>/dev/null
WATCH=$LAB_SPAWNED
sleep 0.3
: >"$LAB_TMP/flows"
n=100
flow client vda2 10.20.0.10 10.10.10.12 tcp 1494
flow bastion vda2 10.10.9.7 10.10.10.12 tcp 22
flow bastion vda1 10.10.9.7 10.10.10.11 tcp 3389
sleep 0.5
kill -INT "$WATCH"
wait "$WATCH"
mv "$LAB_TMP/events2" "$LAB_TMP/events"
cross_check || fail "an overlay flow's event differs from verify's answer"
ok "quarantine, forensic-less strict drop and grant: each event has verify's answer"
out=$(lab_xs verify 10.20.0.10 10.10.10.12 tcp/1494)
expect_eq "$?" 1 "verify: into a quarantine, exit 1"
expect_match "$out" "why: +vda\[10\.10\.10\.12\] is quarantined" "verify names the quarantined side"
expect_match "$out" "<quarantine 1>:1: quarantine 10\.10\.10\.12 strict" "verify names the quarantine"
out=$(lab_xs verify 10.10.9.7 10.10.10.11 tcp/3389)
expect_match "$out" "granted: <grant 2>:1: grant bastion -> 10\.10\.10\.11 : tcp/3389" "verify names the grant"
expect_match "$out" "until .* left\)" "verify says when the grant ends"

echo "# $XS_CHECKS checks"

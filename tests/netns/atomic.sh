#!/usr/bin/env bash
# Atomic apply: while a stream of new UDP flows alpha -> beta udp/7000 runs,
# apply atomic-a.policy and atomic-b.policy alternately. Both allow the flow,
# but with swapped segment ids and different rule ids, so a packet decided by
# a mix of the two would be dropped or carry the other policy's rule. Every
# event must name the rule and segments of its own generation's policy,
# nothing may be dropped, and every datagram must arrive.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

A=$XS_SRCDIR/tests/netns/atomic-a.policy
B=$XS_SRCDIR/tests/netns/atomic-b.policy
ROUNDS=${XS_ATOMIC_ROUNDS:-40}
FLOWS=${XS_ATOMIC_FLOWS:-4000}

lab_host
lab_vm alpha 10.10.1.10
lab_vm beta 10.10.10.11
lab_xs attach h-alpha h-beta >/dev/null 2>&1 || fail "attach"

# Rule id of the udp/7000 rule in each policy, from the pinned origins.
rule_id_of() {
	lab_xs apply --json "$1" >/dev/null || fail "apply $1"
	lab_xs stats --json | python3 -c "import json,sys
print([r['id'] for r in json.load(sys.stdin)['rules'] if r['text'].endswith('alpha -> beta : udp/7000')][0])"
}
RID_A=$(rule_id_of "$A")
RID_B=$(rule_id_of "$B")
[ -n "$RID_A" ] && [ -n "$RID_B" ] || fail "cannot find the rule ids"
[ "$RID_A" != "$RID_B" ] || fail "the two policies give the rule the same id ($RID_A): the test would be blind"
ok "rule ids: A $RID_A, B $RID_B"

# A static neighbour: no datagram waits for ARP, and no probe traffic that
# either policy would drop pollutes the drop counters.
mac=$(lab_in beta ip -br link show eth0 | awk '{print $3}')
lab_in alpha ip neigh replace 10.10.10.11 lladdr "$mac" dev eth0 nud permanent

lab_spawn host 120 "$LAB_XDPSEG" watch --json >"$LAB_TMP/events" 2>/dev/null
WATCH=$LAB_SPAWNED
lab_spawn beta 120 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("10.10.10.11", 7000))
s.settimeout(30)
n = 0
try:
    while True:
        s.recv(64)
        n += 1
        s.settimeout(3)
except socket.timeout:
    pass
open(sys.argv[1], "w").write(str(n))
' "$LAB_TMP/received"
RECV=$LAB_SPAWNED
lab_wait_listen beta udp 7000 || fail "receiver"
sleep 0.3

lab_spawn alpha 120 python3 -c '
import socket, sys, time
n, secs = int(sys.argv[1]), float(sys.argv[2])
t0 = time.monotonic()
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a new source port: a new flow
    s.sendto(b"%d" % i, ("10.10.10.11", 7000))
    s.close()
    delay = t0 + secs * (i + 1) / n - time.monotonic()
    if delay > 0:
        time.sleep(delay)
' "$FLOWS" 8
SEND=$LAB_SPAWNED

: >"$LAB_TMP/gens"
for i in $(seq "$ROUNDS"); do
	if [ $((i % 2)) = 1 ]; then p=$A; tag=A; else p=$B; tag=B; fi
	g=$(lab_xs apply --json "$p" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])') ||
		fail "apply $p"
	echo "$g $tag" >>"$LAB_TMP/gens"
	kill -0 "$SEND" 2>/dev/null || break
done
applied=$(wc -l <"$LAB_TMP/gens")
wait "$SEND" || fail "the sender failed"
wait "$RECV"
sleep 0.5
kill -INT "$WATCH"
wait "$WATCH"
[ "$applied" -ge 10 ] || fail "only $applied applies happened while traffic flowed"
ok "$applied applies while $FLOWS flows ran"

# Generations before the loop: 1 = A, 2 = B.
report=$(python3 - "$LAB_TMP/events" "$LAB_TMP/gens" "$RID_A" "$RID_B" <<'PY'
import json, sys
events, gens, rid_a, rid_b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
policy = {1: "A", 2: "B"}
for l in open(gens):
    g, tag = l.split()
    policy[int(g)] = tag
want = {"A": (rid_a, 1, 2), "B": (rid_b, 2, 1)}  # rule id, alpha's id, beta's id
n, bad, seen = 0, [], set()
for l in open(events):
    e = json.loads(l)
    if e.get("dport") != 7000 or e.get("proto") != "udp":
        continue
    n += 1
    tag = policy.get(e["generation"])
    if e["verdict"] != "allow" or tag is None:
        bad.append(e)
        continue
    seen.add(e["generation"])
    if (e["rule_id"], e["src_seg_id"], e["dst_seg_id"]) != want[tag]:
        bad.append(e)
print(n, len(seen), len(bad))
for e in bad[:5]:
    print(json.dumps(e), file=sys.stderr)
PY
)
read -r nev ngen nbad <<<"$report"
[ "$nbad" = 0 ] || fail "$nbad of $nev events do not match their generation's policy"
ok "all $nev udp/7000 events name the rule and segments of their generation's policy"
[ "$nev" -ge $((FLOWS / 2)) ] || fail "only $nev events for $FLOWS flows"
[ "$ngen" -ge 5 ] || fail "events span only $ngen generations: the applies did not overlap the traffic"
ok "events span $ngen generations"

drops=$(lab_xs stats --json | python3 -c "import json,sys
print(sum(v['packets'] for v in json.load(sys.stdin)['verdicts'] if v['verdict'] == 'drop'))")
expect_eq "$drops" 0 "no packet was dropped (a mixed policy would drop alpha -> beta)"
expect_eq "$(cat "$LAB_TMP/received")" "$FLOWS" "every datagram arrived"
echo "$XS_CHECKS checks passed"

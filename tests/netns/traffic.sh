#!/usr/bin/env bash
# Real TCP, UDP and ICMP, IPv4 and IPv6, through xdpseg on the host side of
# every VM veth: allowed flows work both ways (return traffic with inbound
# default deny), denied ones fail, egress enforces what no XDP hook saw, a
# fragmented datagram of an allowed flow arrives whole, the event stream and
# the counters name the right rule, and detach restores connectivity.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

POLICY=$XS_SRCDIR/tests/netns/traffic.policy
line_of() { grep -n -F -- "$1" "$POLICY" | head -1 | cut -d: -f1; }
L_CLIENT_SF=$(line_of "allow clients -> storefront : tcp/443")
L_CLIENT_VDA=$(line_of "allow clients -> vda : ica, hdx-audio")
L_BASTION=$(line_of "allow bastion -> any")
L_DENY_VDA=$(line_of "deny  vda -> vda")

lab_host
lab_vm client 10.20.0.10 fd00:20::10
lab_vm client2 10.20.0.11 fd00:20::11 # not attached: only egress hooks see it
lab_vm sf 10.10.1.10 fd00:10:1::10
lab_vm vda1 10.10.10.11 fd00:10:10::11
lab_vm vda2 10.10.10.12 fd00:10:10::12
lab_vm bastion 10.10.9.7

out=$(lab_xs apply "$POLICY")
expect_eq "$?" 0 "apply before attach loads xdpseg and installs the policy"
expect_match "$out" "generation 1" "the first policy is generation 1"
lab_xs attach h-client h-sf h-vda1 h-vda2 h-bastion >/dev/null 2>"$LAB_TMP/attach.err"
expect_eq "$?" 0 "attach the host side of five VMs"
expect_eq "$(cat "$LAB_TMP/attach.err")" "" "no warning: a policy is already applied"

lab_spawn host 300 "$LAB_XDPSEG" watch --json >"$LAB_TMP/events" 2>"$LAB_TMP/watch.err"
WATCH=$LAB_SPAWNED
sleep 0.3

# check EXPECT WHAT SRC DST_NS ADDR PROTO [PORT]
check() {
	local want=$1 what=$2 src=$3 dst=$4 addr=$5 proto=$6 port=${7:-} got
	case $proto in
	tcp) lab_tcp "$src" "$dst" "$addr" "$port" && got=allowed || got=blocked ;;
	udp) lab_udp "$src" "$dst" "$addr" "$port" && got=allowed || got=blocked ;;
	icmp) lab_ping "$src" "$addr" && got=allowed || got=blocked ;;
	esac
	expect_eq "$got" "$want" "$what"
}

check allowed "client -> sf tcp/443 (v4), echo comes back through sf's inbound deny" \
	client sf 10.10.1.10 tcp 443
check allowed "client -> sf tcp/443 (v6)" client sf fd00:10:1::10 tcp 443
check blocked "client -> sf tcp/80: storefront's implicit in deny" client sf 10.10.1.10 tcp 80
check allowed "client -> vda1 tcp/1494 ICA" client vda1 10.10.10.11 tcp 1494
check allowed "client -> vda1 udp/16505 (a range rule), echo returns" client vda1 10.10.10.11 udp 16505
check allowed "client -> vda1 udp/2598 (v6)" client vda1 fd00:10:10::11 udp 2598
check blocked "client -> vda1 tcp/22: vda in deny" client vda1 10.10.10.11 tcp 22
check blocked "client -> vda1 tcp/22 (v6)" client vda1 fd00:10:10::11 tcp 22
check blocked "client -> vda1 udp/5000" client vda1 10.10.10.11 udp 5000
check blocked "vda1 -> vda2 tcp/445: lateral movement (deny rule)" vda1 vda2 10.10.10.12 tcp 445
check blocked "vda1 -> vda2 tcp/445 (v6)" vda1 vda2 fd00:10:10::12 tcp 445
check blocked "vda1 -> client tcp/8080: vda's out deny" vda1 client 10.20.0.10 tcp 8080
check allowed "vda1 -> sf tcp/443" vda1 sf 10.10.1.10 tcp 443
check allowed "bastion -> vda2 tcp/22" bastion vda2 10.10.10.12 tcp 22
check allowed "bastion -> vda1 ping" bastion vda1 10.10.10.11 icmp
check blocked "client -> vda1 ping: no rule, vda in deny" client vda1 10.10.10.11 icmp
check blocked "client -> vda1 ping (v6)" client vda1 fd00:10:10::11 icmp
check allowed "client -> client2 (clients in allow), decided on h-client only" \
	client client2 10.20.0.11 tcp 9000
# client2's own veth is not attached: only the TC egress hook of h-sf / h-vda1 sees these.
check allowed "client2 -> sf tcp/443 decided on h-sf egress" client2 sf 10.10.1.10 tcp 443
check blocked "client2 -> vda1 tcp/22 dropped on h-vda1 egress" client2 vda1 10.10.10.11 tcp 22

# A 4000-byte datagram is three IPv4 fragments; only the first has ports.
frag() {
	local port=$1 addr=$2 pf=ip4
	case $addr in *:*) pf=ip6 ;; esac
	rm -f "$LAB_TMP/frag.out"
	lab_spawn vda1 5 socat -u "UDP-RECV:$port,reuseaddr,pf=$pf" \
		"OPEN:$LAB_TMP/frag.out,creat,trunc" 2>/dev/null
	local lpid=$LAB_SPAWNED
	lab_wait_listen vda1 udp "$port" || return 1
	head -c 4000 /dev/urandom >"$LAB_TMP/frag.in"
	lab_in client socat -u "OPEN:$LAB_TMP/frag.in" "UDP:$(lab_addr_arg "$addr"):$port,pf=$pf"
	sleep 0.5
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	cmp -s "$LAB_TMP/frag.in" "$LAB_TMP/frag.out"
}
frag 16501 10.10.10.11 || fail "a fragmented 4000-byte UDP datagram of an allowed flow did not arrive whole"
ok "fragmented UDP datagram of an allowed flow arrives whole (v4)"
frag 16502 fd00:10:10::11 || fail "a fragmented IPv6 UDP datagram of an allowed flow did not arrive whole"
ok "fragmented UDP datagram of an allowed flow arrives whole (v6)"
frag 5001 10.10.10.11 && fail "a fragmented datagram of a denied flow arrived"
ok "fragmented UDP datagram of a denied flow does not arrive"

sleep 0.3
kill -INT "$WATCH"
wait "$WATCH"
expect_eq "$?" 0 "watch exits cleanly on SIGINT"

# ev VERDICT DIR IFACE SRC DST DPORT REASON LINE: one matching event exists.
ev() {
	python3 - "$LAB_TMP/events" "$@" <<'PY'
import json, sys
path, verdict, d, iface, src, dst, dport, reason, line = sys.argv[1:]
for l in open(path):
    e = json.loads(l)
    if "verdict" not in e:
        continue
    if (e["verdict"], e["dir"], e["src"], e["dst"], e["reason"]) != (verdict, d, src, dst, reason):
        continue
    if iface != "*" and e["iface"] != iface:
        continue
    if dport != "*" and str(e.get("dport", e.get("icmp_type"))) != dport:
        continue
    o = e.get("origin")
    if line != "*" and not (o and o["file"].endswith("traffic.policy") and str(o["line"]) == line):
        continue
    sys.exit(0)
sys.exit(1)
PY
}
ev allow in h-client 10.20.0.10 10.10.1.10 443 rule "$L_CLIENT_SF" ||
	fail "no allow event for client -> sf 443 naming traffic.policy:$L_CLIENT_SF"
ok "event: allow client -> sf 443, rule traffic.policy:$L_CLIENT_SF"
ev allow in h-client fd00:20::10 fd00:10:1::10 443 rule "$L_CLIENT_SF" ||
	fail "no IPv6 allow event for client -> sf 443"
ok "event: allow (v6) client -> sf 443"
ev allow in h-client 10.20.0.10 10.10.10.11 16505 rule "$L_CLIENT_VDA" ||
	fail "no allow event for client -> vda1 udp/16505 naming line $L_CLIENT_VDA"
ok "event: allow client -> vda1 udp/16505, rule traffic.policy:$L_CLIENT_VDA"
ev drop in h-vda1 10.10.10.11 10.10.10.12 445 deny-rule "$L_DENY_VDA" ||
	fail "no drop event for vda1 -> vda2 445 naming the deny rule at line $L_DENY_VDA"
ok "event: drop vda1 -> vda2 445, deny rule traffic.policy:$L_DENY_VDA"
ev drop in h-client 10.20.0.10 10.10.1.10 80 default-in "*" ||
	fail "no default-in drop event for client -> sf 80"
ok "event: drop client -> sf 80, default-in"
ev drop in h-vda1 10.10.10.11 10.20.0.10 8080 default-out "*" ||
	fail "no default-out drop event for vda1 -> client 8080"
ok "event: drop vda1 -> client 8080, default-out"
ev allow in h-bastion 10.10.9.7 10.10.10.11 8 rule "$L_BASTION" ||
	fail "no allow event for the bastion's ping naming line $L_BASTION"
ok "event: allow bastion ping, rule traffic.policy:$L_BASTION"
ev allow out h-sf 10.20.0.11 10.10.1.10 443 rule "$L_CLIENT_SF" ||
	fail "no egress allow event on h-sf for client2 -> sf 443"
ok "event: egress allow on h-sf for the unattached client2"
ev drop out h-vda1 10.20.0.11 10.10.10.11 22 default-in "*" ||
	fail "no egress drop event on h-vda1 for client2 -> vda1 22"
ok "event: egress drop on h-vda1 for the unattached client2"

# Text line format of watch, from the same kind of flow.
lab_spawn host 20 "$LAB_XDPSEG" watch --verdict drop --port 445 --count 1 >"$LAB_TMP/line"
W2=$LAB_SPAWNED
sleep 0.3
lab_tcp vda1 vda2 10.10.10.12 445 && fail "vda1 -> vda2 445 passed"
wait "$W2"
expect_match "$(cat "$LAB_TMP/line")" \
	"^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} h-vda1 in DROP tcp 10\.10\.10\.11:[0-9]+ -> 10\.10\.10\.12:445 vda -> vda deny-rule .*traffic\.policy:$L_DENY_VDA live$" \
	"watch --verdict drop --port 445 --count 1 prints one line and exits"

stats=$(lab_xs stats --json)
flows=$(echo "$stats" | python3 -c "import json,sys
s = json.load(sys.stdin)
print([r['flows'] for r in s['rules'] if r['line'] == $L_CLIENT_SF][0])")
[ "$flows" -ge 3 ] || fail "stats: the clients -> storefront rule counted $flows flows, expected >= 3"
ok "stats: clients -> storefront rule counted $flows flows"
txt=$(lab_xs stats)
expect_match "$txt" "traffic\.policy:$L_DENY_VDA +[1-9][0-9]* +[1-9][0-9]* +[1-9][0-9]* +deny +vda -> vda" \
	"stats text shows the deny rule's FILE:LINE, counters and text"
st=$(lab_xs status --json | python3 -c "import json,sys
s = json.load(sys.stdin); p = s['policy']
print(len(s['interfaces']), p['generation'], p['file'].endswith('traffic.policy'), len(p['sha256']), s['conntrack']['live'] > 0)")
expect_eq "$st" "5 1 True 64 True" "status: 5 interfaces, generation 1, file, hash, live conntrack entries"

# A policy with an error is never half-applied: this one would open vda -> vda
# tcp/445 if any of it reached the maps.
L_ALLOW_VDA_SF=$(line_of "allow vda -> storefront : tcp/443")
sed -e 's/^allow vda -> storefront : tcp\/443$/allow vda -> storefrnt : tcp\/443/' \
	-e 's/^deny  vda -> vda$/allow vda -> vda : tcp\/445/' "$POLICY" >"$LAB_TMP/broken.policy"
lab_xs apply "$LAB_TMP/broken.policy" >"$LAB_TMP/out" 2>"$LAB_TMP/err"
expect_eq "$?" 1 "apply of a broken policy exits 1"
expect_eq "$(cat "$LAB_TMP/err")" "$LAB_TMP/broken.policy:$L_ALLOW_VDA_SF:14: error: unknown segment 'storefrnt'; did you mean 'storefront'?
allow vda -> storefrnt : tcp/443
             ^
xdpseg: error: $LAB_TMP/broken.policy: 1 error: nothing applied, the active policy is unchanged" \
	"apply of a broken policy prints the diagnostic and says nothing changed"
expect_eq "$(lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["generation"])')" \
	1 "the generation is unchanged"
check blocked "vda1 -> vda2 tcp/445 still blocked after the broken apply" vda1 vda2 10.10.10.12 tcp 445
check allowed "client -> sf tcp/443 still allowed after the broken apply" client sf 10.10.1.10 tcp 443

# No bpffs where the pin directory would be: a clear error, nothing attached.
err=$(XDPSEG_PIN_DIR="$LAB_TMP/nobpf/xdpseg" lab_xs attach h-client2 2>&1)
expect_eq "$?" 1 "attach without a bpffs fails"
expect_eq "$err" "xdpseg: error: no bpffs mounted at $LAB_TMP/nobpf: mount it with 'mount -t bpf bpffs $LAB_TMP/nobpf' (scripts/setup does this)" \
	"the no-bpffs error says how to mount it"
lab_in host ip link show h-client2 | grep -q xdp && fail "h-client2 got XDP without a bpffs"

out=$(lab_xs detach --all)
expect_eq "$?" 0 "detach --all"
check allowed "after detach: vda1 -> vda2 tcp/445 works again" vda1 vda2 10.10.10.12 tcp 445
check allowed "after detach: client -> vda1 ping works again" client vda1 10.10.10.11 icmp
[ -e "$LAB_PIN_DIR" ] && fail "$LAB_PIN_DIR left behind"
for i in $(lab_host_ifaces); do
	lab_in host ip link show "$i" | grep -q xdp && fail "$i still has XDP"
	[ -n "$(lab_in host tc filter show dev "$i" egress)" ] && fail "$i still has a TC filter"
done
ok "nothing left: no pins, no XDP, no TC filters"
echo "$XS_CHECKS checks passed"

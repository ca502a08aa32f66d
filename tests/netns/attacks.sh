#!/usr/bin/env bash
# Attacks from a compromised desktop, with real frames through real hooks
# (issue 6): the fragment trick that smuggles a SYN to a denied port, a
# link-local path around the segments, a spoofed source address and a
# spoofed ARP reply from a bound port. The hypervisor hooks the desktops'
# ports (XDP ingress decides what a desktop sends); the controller is a
# server the hypervisor does not host. Each attack is first shown to work
# without xdpseg (so the test can tell a blocked attack from a broken one),
# then shown to fail.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"
CRAFT=$XS_SRCDIR/tests/netns/craft.py
POLICY=$LAB_TMP/attacks.policy
cat >"$POLICY" <<'EOF'
segment vda         10.10.10.0/24, fd00:10:10::/64
segment controllers 10.10.2.0/24, fd00:10:2::/64
bind vda h-vda1 10.10.10.11, fd00:10:10::11     # vda1's port: only its own addresses
allow vda -> controllers : tcp/80               # VDA registration
allow controllers -> vda : tcp/80
EOF

lab_host
lab_vm vda1 10.10.10.11 fd00:10:10::11 # the compromised desktop
lab_vm vda2 10.10.10.12 fd00:10:10::12
lab_vm ctrl 10.10.2.10 fd00:10:2::10 # a Delivery Controller
# (through netlink: /sys under nsenter shows the host's interfaces)
mac_of() { lab_in "$1" ip -o link show dev eth0 | grep -oE 'link/ether [0-9a-f:]+' | cut -d' ' -f2; }
ll_of() { lab_in "$1" ip -6 -o addr show dev eth0 scope link | awk '{print $4}' | cut -d/ -f1; }
CTRL_MAC=$(mac_of ctrl)
VDA1_MAC=$(mac_of vda1)

# listen NS PORT: a TCP listener that answers SYNs, for the whole test
listen() {
	lab_spawn "$1" 120 socat "TCP6-LISTEN:$2,ipv6only=0,reuseaddr,fork" EXEC:cat 2>/dev/null
	lab_wait_listen "$1" tcp "$2" || fail "no listener on $1:$2"
}
listen ctrl 445
listen ctrl 80
# crafted frames leave vda1 from source port 80: the port controllers -> vda allows, so a
# mid-stream pickup of the decoy ACK would look like the reply of an allowed connection
smuggle() { lab_in vda1 python3 "$CRAFT" smuggle eth0 "$CTRL_MAC" 10.10.10.11 10.10.2.10 80 445; }
syn_from() { lab_in vda1 python3 "$CRAFT" syn eth0 "$CTRL_MAC" "$1" 10.10.2.10 "$2" 80; }
# arrives SRC SPORT: does a SYN from SRC (vda1 crafts it) reach the controller's TCP?
# (the controller's answer goes to whoever owns SRC, so count what its TCP received)
arrives() {
	local n
	lab_in ctrl nstat -n >/dev/null
	syn_from "$1" "$2" >/dev/null
	n=$(lab_in ctrl nstat -z TcpInSegs 2>/dev/null | awk '$1 == "TcpInSegs" {print $2}')
	[ "${n:-0}" -gt 0 ]
}

# ---- Without xdpseg: every attack works ------------------------------------------
smuggle || fail "the crafted fragments do not reassemble into a SYN at the victim (test broken)"
ok "without xdpseg, the two crafted fragments open tcp/445 on the controller (SYN-ACK)"
for i in $(seq 30); do [ -n "$(ll_of ctrl)" ] && ! lab_in ctrl ip -6 addr show dev eth0 | grep -q tentative && break; sleep 0.1; done
CTRL_LL=$(ll_of ctrl)
[ -n "$CTRL_LL" ] || fail "the controller has no link-local address"
lab_tcp vda1 ctrl "$CTRL_LL%eth0" 445 || fail "tcp/445 over link-local does not work without xdpseg (test broken)"
ok "without xdpseg, vda1 reaches the controller's tcp/445 at $CTRL_LL"
arrives 10.10.10.12 40001 || fail "a SYN vda1 sends with vda2's address does not arrive without xdpseg (test broken)"
ok "without xdpseg, a SYN vda1 sends with vda2's address reaches the controller"
lab_in ctrl ping -c1 -W1 10.10.10.12 >/dev/null 2>&1 # the controller learns vda2's MAC
lab_in ctrl ip neigh replace 10.10.10.12 lladdr "$(mac_of vda2)" dev eth0 nud reachable
lab_in vda1 python3 "$CRAFT" garp eth0 10.10.10.12
expect_match "$(lab_in ctrl ip neigh show 10.10.10.12)" "$VDA1_MAC" \
	"without xdpseg, a gratuitous ARP from vda1 takes over vda2's address at the controller"
lab_in ctrl ip neigh replace 10.10.10.12 lladdr "$(mac_of vda2)" dev eth0 nud reachable

# ---- With xdpseg ---------------------------------------------------------------------
lab_xs apply "$POLICY" >/dev/null || fail "apply"
# the hypervisor hooks its desktops' ports; the controller is a server elsewhere, so what
# vda1 sends is decided once, at its port's ingress
lab_xs attach h-vda1 h-vda2 >/dev/null 2>&1 || fail "attach"
st=$(lab_xs status --json | python3 -c 'import json,sys
s = json.load(sys.stdin)
print(" ".join("%s:%s" % (i["name"], i["bound"]["segment"] if i["bound"] else "-") for i in s["interfaces"]))')
expect_eq "$st" "h-vda1:vda h-vda2:-" "status: h-vda1 is bound to vda, h-vda2 is not bound"
expect_match "$(lab_xs status)" "h-vda1 .* bound: vda \\(h-vda1\\)" "status text names the binding"
syn_from 10.10.10.11 40002 || fail "vda1 -> controller tcp/80 from its own address is blocked"
ok "vda1 -> controller tcp/80 from its own address works (the test's packets are sound)"
lab_in vda1 python3 "$CRAFT" syn eth0 "$CTRL_MAC" 10.10.10.11 10.10.2.10 40003 445 &&
	fail "a plain SYN to the denied tcp/445 got an answer"
ok "a plain SYN to the denied tcp/445 gets no answer"
smuggle && fail "the fragment trick still opens tcp/445 on the controller"
ok "the fragment trick no longer opens tcp/445 (first fragment too short for TCP: dropped)"
lab_tcp vda1 ctrl "$CTRL_LL%eth0" 445 && fail "vda1 still reaches tcp/445 over link-local"
ok "vda1 no longer reaches the controller over link-local (the built-in segment link-local)"
lab_tcp vda1 ctrl 10.10.2.10 80 || fail "vda1 -> controller tcp/80 broke"
ok "the allowed path still works over the controller's global address"
arrives 10.10.10.12 40004 && fail "a SYN vda1 sends with vda2's address still reaches the controller"
ok "a SYN from the bound port with vda2's address is dropped (spoofed)"
lab_in vda1 python3 "$CRAFT" garp eth0 10.10.10.12
expect_match "$(lab_in ctrl ip neigh show 10.10.10.12)" "$(mac_of vda2)" \
	"a gratuitous ARP from vda1 for vda2's address is dropped (the controller keeps vda2's MAC)"
ev=$(lab_xs stats --json | python3 -c 'import json,sys
s = json.load(sys.stdin)
print(sum(v["packets"] for v in s["verdicts"] if v["reason"] == "spoofed"))')
[ "$ev" -ge 2 ] || fail "stats counted $ev spoofed packets, expected the SYN and the ARP replies"
ok "stats counts the spoofed packets ($ev)"

lab_xs detach --all >/dev/null || fail "detach"
echo "$XS_CHECKS checks passed"

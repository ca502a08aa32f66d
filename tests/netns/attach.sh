#!/usr/bin/env bash
# attach/detach lifecycle on real veths: pins, XDP links, TC filters, clsact
# ownership, idempotence, locking, error messages, and nothing left behind.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

lab_host
lab_vm a 10.0.0.1
lab_vm b 10.0.0.2
lab_vm c 10.0.0.3
P=$LAB_PIN_DIR

# c already has a clsact qdisc that is not ours: detach must leave it.
lab_in host tc qdisc add dev h-c clsact

out=$(lab_xs attach h-a h-b 2>"$LAB_TMP/err")
expect_eq "$?" 0 "attach h-a h-b succeeds"
expect_eq "$out" $'h-a: attached (xdp native ingress, tc egress)\nh-b: attached (xdp native ingress, tc egress)' \
	"attach reports each interface and its mode"
expect_eq "$(cat "$LAB_TMP/err")" \
	"xdpseg: warning: no policy applied yet: traffic passes unchecked until 'xdpseg apply FILE'" \
	"attach warns that no policy is applied"
for f in progs/xs_xdp progs/xs_tc_egress progs/xs_tc_ingress maps/xs_ifaces maps/xs_events \
	maps/xs_config links/xdp-h-a links/xdp-h-b; do
	[ -e "$P/$f" ] || fail "$P/$f is not pinned"
done
ok "programs, maps and XDP links are pinned under $P"
expect_match "$(lab_in host ip link show h-a)" "prog/xdp id [0-9]+ name xs_xdp" "h-a runs xs_xdp (native)"
expect_match "$(lab_in host tc filter show dev h-a egress)" "handle 0x5853 xs_tc_egress.*direct-action" \
	"h-a has the TC egress filter"
lab_ping a 10.0.0.2 || fail "ping a -> b with no policy"
ok "traffic passes while no policy is applied"

out=$(lab_xs attach h-a 2>/dev/null)
expect_eq "$?" 0 "attaching again succeeds"
expect_eq "$out" "h-a: already attached (xdp native ingress, tc egress)" "attaching again changes nothing"
expect_eq "$(ls "$P/links" | tr '\n' ' ')" "xdp-h-a xdp-h-b " "one XDP link per interface"

err=$(lab_xs attach --mode generic h-a 2>&1)
expect_eq "$?" 1 "a mode change on an attached interface fails"
expect_eq "$err" "xdpseg: error: h-a is already attached (xdp native ingress, tc egress): detach it first to change the mode" \
	"the mode-change error says what to do"

err=$(lab_xs attach h-a nope0 2>&1)
expect_eq "$?" 1 "attach with an unknown interface fails"
expect_eq "$err" "xdpseg: error: unknown interface 'nope0' (see 'ip link'); nothing was attached" \
	"unknown interface error"

# Concurrent invocations share one set of maps (flock on the pin directory).
for i in 1 2 3 4 5 6; do
	lab_xs attach h-a h-b h-c >/dev/null 2>&1 &
done
wait
js=$(lab_xs status --json)
names=$(echo "$js" | python3 -c 'import json,sys; print(" ".join(i["name"] for i in json.load(sys.stdin)["interfaces"]))')
expect_eq "$names" "h-a h-b h-c" "six concurrent attaches: three interfaces in one xs_ifaces map"
qd=$(echo "$js" | python3 -c 'import json,sys; print(" ".join(str(i["created_qdisc"]) for i in json.load(sys.stdin)["interfaces"]))')
expect_eq "$qd" "True True False" "xdpseg remembers which clsact qdiscs it created"

out=$(lab_xs detach h-a)
expect_eq "$?" 0 "detach h-a succeeds"
expect_eq "$out" "h-a: detached" "detach reports the interface"
expect_no_match "$(lab_in host ip link show h-a)" "xdp" "h-a has no XDP program any more"
expect_eq "$(lab_in host tc qdisc show dev h-a | grep -c clsact)" 0 "the clsact qdisc xdpseg created is gone"
[ -e "$P/links/xdp-h-a" ] && fail "the link pin of h-a is still there"
ok "the link pin of h-a is removed"

err=$(lab_xs detach h-a 2>&1)
expect_eq "$?" 1 "detaching a detached interface fails"
expect_eq "$err" "xdpseg: error: h-a is not attached (see 'xdpseg status')" "not-attached error"
err=$(lab_xs detach nope0 2>&1)
expect_eq "$err" "xdpseg: error: unknown interface 'nope0' (see 'ip link')" "detach of an unknown interface"

out=$(lab_xs attach --tc-ingress h-a 2>/dev/null)
expect_eq "$out" "h-a: attached (tc ingress, tc egress)" "--tc-ingress attaches TC on both sides"
expect_match "$(lab_in host tc filter show dev h-a ingress)" "xs_tc_ingress" "h-a has the TC ingress filter"
expect_no_match "$(lab_in host ip link show h-a)" "xdp" "--tc-ingress attaches no XDP"
lab_xs detach h-a >/dev/null

out=$(lab_xs attach --mode generic h-a 2>/dev/null)
expect_eq "$out" "h-a: attached (xdp generic ingress, tc egress)" "--mode generic"
expect_match "$(lab_in host ip link show h-a)" "xdpgeneric" "h-a runs XDP in generic (skb) mode"

# A bridge has no native XDP: --mode native falls back to generic, with a warning.
out=$(lab_xs attach --mode native br0 2>"$LAB_TMP/err")
expect_eq "$?:$out" "0:br0: attached (xdp generic ingress, tc egress)" "native on a bridge falls back to generic"
expect_match "$(cat "$LAB_TMP/err")" "^xdpseg: warning: br0: the driver cannot run XDP in native mode \(Operation not supported\); using generic mode" \
	"the fallback is announced"
lab_xs detach br0 >/dev/null

# Killed mid-way: a stale link pin for an interface that no longer exists.
lab_in host ip link del h-b
out=$(lab_xs detach --all)
expect_eq "$?" 0 "detach --all succeeds with a vanished interface"
[ -e "$P" ] && fail "$P still exists after detach --all"
ok "detach --all removes the pin directory"
expect_eq "$(lab_in host tc qdisc show dev h-c | grep -c clsact)" 1 \
	"the clsact qdisc xdpseg did not create stays"
expect_eq "$(lab_in host tc filter show dev h-c egress)" "" "no filter of ours is left on h-c"
for i in h-a h-c; do
	lab_in host ip link show "$i" | grep -q xdp && fail "$i still has XDP"
done
ok "no interface keeps an XDP program"

out=$(lab_xs detach --all)
expect_eq "$?:$out" "0:" "detach --all with nothing loaded is a no-op"
err=$(lab_xs status 2>&1)
expect_eq "$?" 1 "status with nothing loaded fails"
expect_eq "$err" "xdpseg: error: xdpseg is not loaded (nothing pinned under $P): run 'xdpseg attach IFACE' first" \
	"status says how to load"

# The last detach of named interfaces unloads too.
lab_xs attach h-a h-c >/dev/null 2>&1
lab_xs detach h-a h-c >/dev/null
[ -e "$P" ] && fail "$P still exists after detaching the last interface"
ok "detaching the last interface unloads"

if command -v setpriv >/dev/null; then
	err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$LAB_XDPSEG" status 2>&1)
	expect_eq "$?" 1 "status as an unprivileged user fails"
	expect_eq "$err" "xdpseg: error: xdpseg must run as root (it loads BPF programs and changes interfaces): try 'sudo xdpseg ...'" \
		"not-root error"
fi

for cmd in attach detach apply status stats watch; do
	out=$("$LAB_XDPSEG" "$cmd" --help)
	[ $? = 0 ] && [[ $out == "Usage: xdpseg $cmd"* ]] || fail "xdpseg $cmd --help"
done
ok "--help on every datapath command"
err=$("$LAB_XDPSEG" watch --verdict maybe 2>&1)
expect_eq "$?:$err" "2:xdpseg: unknown verdict 'maybe': use allow, drop or audit
Try 'xdpseg watch --help'." "a bad option value is a usage error (exit 2)"

# -v shows libbpf's own log (the first load prints it).
lab_xs -v attach h-a >/dev/null 2>"$LAB_TMP/verbose"
expect_match "$(cat "$LAB_TMP/verbose")" "libbpf: " "-v shows libbpf's log"
lab_xs detach --all >/dev/null

echo "$XS_CHECKS checks passed"

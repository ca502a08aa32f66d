#!/usr/bin/env bash
# The host agent (issue 7), a real `xdpseg agent` process in the lab's host
# namespace: configuration errors by line; adoption without reload; hotplug
# (a denied packet right after a matching port comes up is dropped, a
# non-matching port is left alone); delete and recreate; a bridge's ports;
# hooks removed by hand repaired; `apply` by the CLI noticed; the socket
# (root only for reload and stop); one agent per pin directory; kill -9 and
# restart under a flow (0 lost); a reboot replayed from config and state; a
# broken policy at boot (last good kept); deny-all when nothing is left;
# `unprotected = down`.
source "$(dirname "$0")/common.sh"
test_need it bpftool setpriv clang
test_lab_init "$1"

XS=$LAB_XDPSEG
P=$LAB_PIN_DIR
T=$LAB_TMP
# The lab's socket and state directory (XDPSEG_AGENT_SOCK, XDPSEG_STATE_DIR):
# the configuration leaves them out, so the agent takes them from the
# environment as the CLI does, and `xdpseg status` finds the agent.
SOCK=$XDPSEG_AGENT_SOCK
STATE=$XDPSEG_STATE_DIR
CONF=$T/agent.conf
POLICY=$T/farm.policy
LOG=$T/agent.log
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
AGENT_PID=
# The agents' lock files go in /run/xdpseg: made by them when missing, then
# removed again with the lab.
[ -d /run/xdpseg ] && RUN_DIR_KEEP=1 || RUN_DIR_KEEP=

# The agent is stopped before the lab is torn down (a running agent would
# load xdpseg again after `detach --all`), and its run files go with it.
agent_teardown() {
	local rc=$?
	local i
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2>/dev/null
		for i in $(seq 100); do
			lab_pid_alive "$AGENT_PID" || break
			sleep 0.05
		done
		kill -9 "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
	fi
	rm -f /run/xdpseg/agent-sys-fs-bpf-"${LAB_PREFIX%-}"-* "/sys/fs/bpf/${LAB_PREFIX}foreign"
	[ -n "$RUN_DIR_KEEP" ] || rmdir /run/xdpseg 2>/dev/null
	(exit $rc)
	lab_teardown
}
trap agent_teardown EXIT

lab_host
lab_vm a 10.0.0.1
lab_vm b 10.0.0.2
lab_in host ip addr add 10.0.0.254/8 dev br0
lab_in host ip link add br1 type bridge
lab_in host ip link set br1 up

cat >"$POLICY" <<'EOF'
segment left    10.0.0.1
segment right   10.0.0.2
segment new     10.0.0.3, 10.0.0.4, 10.0.0.5
segment hostseg 10.0.0.254
allow left -> right : icmp/8
allow new -> left : icmp/8
allow left -> hostseg : tcp/22
EOF
cat >"$CONF" <<EOF
# the test's agent
policy     = farm.policy        # relative: next to this file
interfaces = h-* v-*
bridge     = br1
pin-dir    = $P
reconcile-interval = 1
EOF
FARM_HASH=$("$XS" compile "$POLICY" | awk '/^hash/ {print $2}')

# ---- helpers ------------------------------------------------------------------

# agent_req JSON: one request on the socket, the reply on stdout.
agent_req() {
	echo "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK"
}
status_q() { agent_req '{"cmd":"status"}' | jpy "$1"; }
# iface_state NAME: its state in the agent's status ("absent" when not listed).
iface_state() {
	status_q "{i['name']: i['state'] for i in d['interfaces']}.get('$1', 'absent')"
}
# agent_start [CONF]: the agent in the host namespace, in the background,
# its log in $LOG; returns once its socket answers.
agent_start() {
	local conf=${1:-$CONF} i
	# nsenter execs the agent: $! is the agent's pid
	nsenter --net="/run/netns/$(lab_ns host)" -- "$XS" agent --config "$conf" >"$LOG" 2>&1 &
	AGENT_PID=$!
	for i in $(seq 200); do
		if agent_req '{"cmd":"status"}' >/dev/null 2>&1; then
			return 0
		fi
		if ! lab_pid_alive "$AGENT_PID"; then
			cat "$LOG" >&2
			fail "the agent exited at start"
		fi
		sleep 0.05
	done
	cat "$LOG" >&2
	fail "the agent does not answer on $SOCK"
}
# agent_wait: the agent has exited; its exit status.
agent_wait() {
	local rc
	wait "$AGENT_PID"
	rc=$?
	AGENT_PID=
	return $rc
}
agent_stop() {
	kill -TERM "$AGENT_PID"
	agent_wait || fail "the agent exited with status $? at SIGTERM"
}
# has_hooks IFACE: "xdp", "tc egress" as ip and tc show them.
has_hooks() {
	local h=()
	lab_in host ip link show "$1" | grep -q 'prog/xdp' && h+=(xdp)
	[ -n "$(lab_in host tc filter show dev "$1" egress 2>/dev/null)" ] && h+=("tc egress")
	echo "${h[*]}"
}
xdp_id() { lab_in host ip -o link show "$1" | grep -o 'prog/xdp id [0-9]*' | awk '{print $3}'; }
# vm NAME IPV4 HOSTIF [MASTER]: a VM namespace behind host port HOSTIF, up at once.
vm() {
	local ns
	ns=$(lab_ns "$1")
	ip netns add "$ns"
	LAB_VMS+=("$1")
	lab_in host ip link add "$3" type veth peer name eth0 netns "$ns"
	lab_in host ip link set "$3" master "${4:-br0}" up
	lab_in "$1" ip addr add "$2/8" dev eth0
	lab_in "$1" ip link set eth0 up
}

# ---- 1. Configuration errors: by line, exit 2, nothing changed ---------------------

BAD=$T/bad.conf
printf '%s\n' "# broken" "policy = farm.policy" "interface = h-*" "mode = fast" \
	"pin-dir = relative/dir" "mode = native" "unprotected down" \
	"reconcile-interval = 0" "frobnicate = 1" "unprotected = maybe" >"$BAD"
printf 'socket = /x\x01y\n' >>"$BAD"
out=$(lab_in host "$XS" agent --config "$BAD" 2>&1)
expect_eq "$?" 2 "a configuration with errors: exit status 2"
expect_eq "$out" "$BAD:3: error: unknown key 'interface': did you mean 'interfaces'?
$BAD:4: error: bad value 'fast' for mode: use native, generic or tc-ingress
$BAD:5: error: pin-dir 'relative/dir' is not an absolute path
$BAD:6: error: duplicate key 'mode' (first at line 4)
$BAD:7: error: expected 'KEY = VALUE', found 'unprotected down'
$BAD:8: error: bad value '0' for reconcile-interval: a whole number of seconds, 1 to 86400
$BAD:9: error: unknown key 'frobnicate': the keys are policy, interfaces, bridge, mode, pin-dir, state-dir, unprotected, socket, reconcile-interval, failsafe, grant-max, grant-reason, metrics-listen, metrics-textfile, metrics-interval, event-history, flow-log, flow-log-size, flow-log-keep, flow-syslog, flow-update-interval, flow-deny-interval, capture, snap-len, flow-store, flow-store-days, flow-store-size, flow-store-day-rows, etcd, fleet, fleet-host, etcd-user, etcd-password-file, etcd-token-file, fleet-report-interval, fleet-ttl
$BAD:10: error: bad value 'maybe' for unprotected: use warn or down
$BAD:11: error: control character 0x01 in column 12
xdpseg-agent: error: $BAD: 9 errors: not started, nothing changed" \
	"every error is reported as FILE:LINE: error: ..."
out=$(lab_in host "$XS" agent --config "$T/none.conf" 2>&1)
expect_eq "$?:$out" "2:$T/none.conf: error: cannot read it: No such file or directory
xdpseg-agent: error: $T/none.conf: 1 error: not started, nothing changed" "a missing configuration file"
[ -e "$P" ] || [ -e "$SOCK" ] && fail "a refused configuration loaded or listened"
ok "nothing was loaded and no socket was made"
out=$(lab_in host "$XS" agent --config "$CONF" extra 2>&1)
expect_eq "$?" 2 "an unexpected argument is a usage error (exit 2)"
# Under systemd stderr is the journal's stream: syslog priorities instead of names.
: >"$T/journal"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal") lab_in host "$XS" agent --config "$T/none.conf" 2>>"$T/journal"
expect_eq "$(cat "$T/journal")" "<3>$T/none.conf: error: cannot read it: No such file or directory
<3>$T/none.conf: 1 error: not started, nothing changed" "with JOURNAL_STREAM naming stderr, lines carry <priority>"

# ---- 2. Adoption: no reload, no detach, no push -------------------------------------

# The CLI loads, attaches and applies a policy other than the configured one.
OTHER=$T/other.policy
{ cat "$POLICY"; echo "allow right -> left : icmp/8"; } >"$OTHER"
lab_xs attach h-a h-b >/dev/null 2>&1 || fail "CLI attach"
lab_xs apply "$OTHER" >/dev/null || fail "CLI apply"
OTHER_HASH=$("$XS" compile "$OTHER" | awk '/^hash/ {print $2}')
PROGS_BEFORE="$(bpftool prog show pinned "$P/progs/xs_xdp" | head -1 | cut -d: -f1) $(xdp_id h-a) $(xdp_id h-b)"
agent_start
expect_eq "$(status_q 'd["policy"]["generation"], d["policy"]["hash"], d["policy"]["source"]')" \
	"[1, \"$OTHER_HASH\", \"adopted\"]" "the agent adopts generation 1 as it is"
PROGS_AFTER="$(bpftool prog show pinned "$P/progs/xs_xdp" | head -1 | cut -d: -f1) $(xdp_id h-a) $(xdp_id h-b)"
expect_eq "$PROGS_AFTER" "$PROGS_BEFORE" "the same programs run (nothing reloaded)"
expect_eq "$(iface_state h-a) $(iface_state h-b)" "protected protected" "h-a and h-b are protected"
expect_match "$(cat "$LOG")" "adopted the loaded datapath under $P: policy generation 1, $OTHER \\(sha256 $OTHER_HASH\\); nothing reloaded" \
	"the log says it adopted"
expect_match "$(cat "$LOG")" "warning: the configured policy $POLICY \\(sha256 $FARM_HASH\\) is not the policy in force: left as it is at start" \
	"a configured policy other than the one in force is logged, not applied"
expect_eq "$(status_q 'd["policy"]["file_hash"]')" "$FARM_HASH" "status shows the configured policy's hash"

# A reload applies it (and saves it as the last good).
expect_eq "$(agent_req '{"cmd":"reload","id":"r1"}')" \
	'{"ok":true,"protocol":1,"applied":true,"generation":2,"id":"r1"}' "reload applies the configured policy"
expect_eq "$(status_q 'd["policy"]["hash"], d["policy"]["source"]')" "[\"$FARM_HASH\", \"config\"]" \
	"the configured policy is in force"
expect_match "$(cat "$LOG")" "info: saved it as the last good policy in $STATE" "the reload saved it as the last good policy"
expect_eq "$(agent_req '{"cmd":"reload"}')" '{"ok":true,"protocol":1,"applied":false,"generation":2}' \
	"a reload with nothing new applies nothing"

# ---- 3. Hotplug: a matching port is hooked the moment it appears ----------------------

# c behind h-c (matching), d behind x-d (not matching); each sends right away
# to the host's bridge address, which only the port's own hook can refuse.
vm c 10.0.0.3 h-c
lab_in c ping -n -q -c 1 -W 1 10.0.0.254 >/dev/null 2>&1 && fail "c reached the host right after its port came up"
ok "a denied packet sent right after the port comes up is dropped"
lab_ping c 10.0.0.1 || fail "c -> a (allowed) does not pass"
ok "an allowed packet from the new port passes"
expect_eq "$(has_hooks h-c)" "xdp tc egress" "h-c got both hooks"
expect_eq "$(iface_state h-c)" "protected" "status: h-c protected"
expect_match "$(cat "$LOG")" "info: h-c \\(ifindex [0-9]+, h-\\*\\): protected \\(xdp native ingress, tc egress\\) [0-9.]+ ms after its event" \
	"the log says when h-c was protected"
vm d 10.0.0.4 x-d
lab_ping d 10.0.0.254 || fail "d (not matching) cannot reach the host"
ok "the same packet from a non-matching port passes (the test can see a miss)"
expect_eq "$(has_hooks x-d)" "" "x-d is not touched"
expect_eq "$(iface_state x-d)" "absent" "status does not list x-d"
out=$(lab_xs status)
expect_eq "$?" 0 "xdpseg status: protected (exit 0)"
expect_match "$out" "agent: running, pid $AGENT_PID, config $CONF" "xdpseg status shows the agent"

# ---- 4. Delete and recreate with the same name ----------------------------------------

OLD_IDX=$(status_q "[i['ifindex'] for i in d['interfaces'] if i['name'] == 'h-c'][0]")
lab_in host ip link del h-c
ip netns del "$(lab_ns c)"
wait_for 20 bash -c "! XDPSEG_PIN_DIR=$P nsenter --net=/run/netns/$(lab_ns host) $XS status --json | grep -q '\"h-c\"'" ||
	fail "the record of the deleted h-c stays"
ok "the deleted interface's record is dropped"
expect_eq "$(iface_state h-c)" "absent" "status no longer lists h-c"
vm c 10.0.0.3 h-c
lab_in c ping -n -q -c 1 -W 1 10.0.0.254 >/dev/null 2>&1 && fail "the recreated c reached the host"
ok "the recreated h-c enforces at once"
NEW_IDX=$(status_q "[i['ifindex'] for i in d['interfaces'] if i['name'] == 'h-c'][0]")
[ "$NEW_IDX" != "$OLD_IDX" ] || fail "h-c has the same ifindex ($NEW_IDX) as before"
expect_eq "$(iface_state h-c)" "protected" "status: the recreated h-c (ifindex $NEW_IDX) is protected"

# ---- 5. A port added to a configured bridge -------------------------------------------

lab_in host ip link add q-1 type veth peer name q-1p
lab_in host ip link set q-1 master br1 up
wait_for 20 bash -c "[ \"\$(nsenter --net=/run/netns/$(lab_ns host) ip link show q-1 | grep -c prog/xdp)\" = 1 ]" ||
	fail "q-1, a port of br1, got no XDP"
expect_eq "$(status_q "[(i['matched_by'], i['state']) for i in d['interfaces'] if i['name'] == 'q-1']")" \
	'[["bridge br1", "protected"]]' "a port of br1 is selected by the bridge and protected"
lab_in host ip link add q-2 type veth peer name q-2p
sleep 0.2
expect_eq "$(has_hooks q-2)" "" "a non-port q-2 is not touched"
lab_in host ip link set q-2 master br1
wait_for 20 bash -c "[ \"\$(nsenter --net=/run/netns/$(lab_ns host) ip link show q-2 | grep -c prog/xdp)\" = 1 ]" ||
	fail "q-2 got no XDP once it joined br1"
ok "q-2 is hooked once it joins br1"

# Renamed: into the patterns (hooked), out of them (kept protected, recorded anew).
lab_in host ip link add x-r type veth peer name x-rp
lab_in host ip link set x-r name v-r
wait_for 20 bash -c "nsenter --net=/run/netns/$(lab_ns host) ip -o link show v-r | grep -q prog/xdp" ||
	fail "x-r renamed v-r got no XDP"
ok "a link renamed into the patterns is hooked"
link_id() { bpftool -j link show pinned "$P/links/xdp-$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
LINK_VR=$(link_id v-r)
[ -n "$LINK_VR" ] || fail "v-r has no pinned XDP link"
lab_in host ip link set v-r name x-r2
sleep 0.3
expect_eq "$(has_hooks x-r2)" "xdp tc egress" "renamed out of the patterns, it keeps its hooks"
expect_eq "$(link_id x-r2)|$(ls "$P/links" | grep -c '^xdp-v-r$')" "$LINK_VR|0" \
	"its XDP link is the same one (never detached), its pin follows the name"
expect_match "$(lab_xs status)" "x-r2 +ifindex [0-9]+ .* protected" "its record follows the new name"
lab_in host ip link del x-r2

# ---- 6. Hooks removed by hand: repaired by the reconcile ------------------------------

bpftool link detach pinned "$P/links/xdp-h-a" || fail "cannot detach h-a's XDP link"
lab_in host tc filter del dev h-b egress || fail "cannot delete h-b's TC filter"
# (no check that they are gone: the agent's tick may put one back at once;
# the removals succeeded, and its log below says it found each missing)
wait_for 20 bash -c "[ \"\$(nsenter --net=/run/netns/$(lab_ns host) ip link show h-a | grep -c prog/xdp)\" = 1 ] &&
	[ -n \"\$(nsenter --net=/run/netns/$(lab_ns host) tc filter show dev h-b egress)\" ]" ||
	fail "the hooks were not put back"
expect_eq "$(has_hooks h-a)|$(has_hooks h-b)" "xdp tc egress|xdp tc egress" "the reconcile put both hooks back"
expect_match "$(cat "$LOG")" "warning: h-a: was unprotected \\(no xdp native\\): hooks put back" "the log names h-a's repair"
expect_match "$(cat "$LOG")" "warning: h-b: was unprotected \\(no tc egress\\): hooks put back" "the log names h-b's repair"

# ---- 7. The CLI's apply: the agent notices the generation ------------------------------

lab_xs apply "$OTHER" >/dev/null || fail "CLI apply while the agent runs"
expect_eq "$(status_q 'd["policy"]["generation"], d["policy"]["hash"], d["policy"]["source"]')" \
	"[3, \"$OTHER_HASH\", \"cli\"]" "status shows the CLI's generation 3"
wait_for 20 grep -q "notice: policy generation 3 applied by another process: $OTHER (sha256 $OTHER_HASH)" "$LOG" ||
	fail "the agent did not log generation 3"
ok "the agent logs the CLI's generation"

# Unloaded under a running agent: loaded again, the configured policy first.
lab_xs detach --all >/dev/null || fail "detach --all under the agent"
wait_for 20 bash -c "nsenter --net=/run/netns/$(lab_ns host) ip -o link show h-a | grep -q 'prog/xdp.*xs_xdp'" ||
	fail "the agent did not load xdpseg again"
expect_eq "$(status_q 'd["policy"]["hash"], d["policy"]["source"]')" "[\"$FARM_HASH\", \"config\"]" \
	"detach --all under a running agent: loaded again with the configured policy"
expect_eq "$(status_q "sorted(i['state'] for i in d['interfaces'])")" \
	'["protected", "protected", "protected", "protected", "protected"]' "every selected interface is attached again"
expect_match "$(cat "$LOG")" "warning: xdpseg was unloaded under $P while the agent runs" "the log says why"

# ---- 8. The socket: status for anyone who may connect, reload and stop for root ---------

chmod 0755 "$T"
expect_eq "$(stat -c '%a %U' "$SOCK")" "$(getent group xdpseg >/dev/null && echo '660 root' || echo '600 root')" \
	"the socket is root's (0660 with an xdpseg group, else 0600)"
chmod 0666 "$SOCK" # let nobody connect, to see the agent's own check
out=$(echo '{"cmd":"status"}' | "${NOBODY[@]}" timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK" | jpy 'd["ok"], d["agent"]["pid"]')
expect_eq "$out" "[true, $AGENT_PID]" "a non-root peer gets status"
out=$(echo '{"cmd":"reload"}' | "${NOBODY[@]}" timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK")
expect_eq "$out" '{"ok":false,"protocol":1,"error":"only root may reload or stop the agent","code":"permission-denied"}' \
	"a non-root peer may not reload"
out=$(echo '{"cmd":"stop"}' | "${NOBODY[@]}" timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK")
expect_match "$out" '"code":"permission-denied"' "a non-root peer may not stop"
expect_eq "$(agent_req 'nonsense')" '{"ok":false,"protocol":1,"error":"not one JSON object","code":"bad-request"}' \
	"a request that is not JSON"
expect_eq "$(agent_req '{"cmd":"frob"}')" \
	'{"ok":false,"protocol":1,"error":"unknown command: the commands are status, watch, flows, store-sync, reload, stop","code":"unknown-command"}' \
	"an unknown command"
expect_eq "$(agent_req '{"cmd":"status","protocol":2}' | jpy 'd["code"]')" "unsupported-protocol" \
	"a newer protocol is refused"
out=$(printf '{"cmd":"status","id":1}\n{"cmd":"status","id":2}\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK" |
	python3 -c 'import json,sys; print([json.loads(l)["id"] for l in sys.stdin])')
expect_eq "$out" "[1, 2]" "two requests on one connection: two replies, in order"
python3 - "$SOCK" <<'EOF' || fail "a client sending an endless line is not dropped, or the agent stops answering"
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
try:
    for _ in range(40):
        s.sendall(b"x" * 4096)
except OSError:
    pass
s.settimeout(5)
data = s.recv(4096)
assert b'"code":"too-long"' in data, data
EOF
ok "a request line over 64 KiB is answered with an error and dropped"
python3 - "$SOCK" <<'EOF' || fail "a slow client blocks the agent"
import socket, sys
slow = socket.socket(socket.AF_UNIX); slow.connect(sys.argv[1])
slow.sendall(b'{"cmd":"status"}\n' * 200)  # never read
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
s.sendall(b'{"cmd":"status"}\n')
assert b'"ok":true' in s.recv(65536)
EOF
ok "a client that never reads does not block the others"

# ---- 9. One agent per pin directory ----------------------------------------------------

CONF2=$T/agent2.conf
{ cat "$CONF"; echo "socket = $T/run2/agent.sock"; } >"$CONF2"
out=$(lab_in host "$XS" agent --config "$CONF2" 2>&1)
rc=$?
lock=$(ls /run/xdpseg/agent-sys-fs-bpf-"${LAB_PREFIX%-}"-*.lock)
expect_eq "$rc:$out" "1:xdpseg-agent: error: another agent (pid $AGENT_PID) enforces the pin directory $P: stop it first (it holds $lock)" \
	"a second agent on the same pin directory refuses, naming the first"
out=$(lab_in host "$XS" agent --config "$CONF" 2>&1)
expect_eq "$?" 1 "a second agent with the same configuration refuses too"

# ---- 10. kill -9 and restart under a running flow: 0 lost -----------------------------

lab_in a ping -n -q -c 1 -W 1 10.0.0.2 >/dev/null # the neighbours are known
PROGS_BEFORE="$(xdp_id h-a) $(xdp_id h-b) $(xdp_id h-c)"
GEN_BEFORE=$(status_q 'd["policy"]["generation"]')
lab_in a ping -n -q -i 0.01 -c 300 -W 2 10.0.0.2 >"$T/flow" 2>&1 &
FLOW=$!
LAB_PIDS+=("$FLOW")
sleep 0.5
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
sleep 0.5
agent_start
wait "$FLOW"
expect_match "$(cat "$T/flow")" "300 packets transmitted, 300 received" "a flow across kill -9 and restart lost 0 of 300 packets"
expect_eq "$(xdp_id h-a) $(xdp_id h-b) $(xdp_id h-c)" "$PROGS_BEFORE" "the restarted agent reloaded nothing"
expect_eq "$(status_q 'd["policy"]["generation"], d["policy"]["source"]')" "[$GEN_BEFORE, \"adopted\"]" \
	"the restarted agent adopted generation $GEN_BEFORE"

# ---- 11. Stop (socket or SIGTERM) leaves enforcement in place --------------------------

expect_eq "$(agent_req '{"cmd":"stop"}')" '{"ok":true,"protocol":1}' "stop is answered"
agent_wait
expect_eq "$?" 0 "the stopped agent exits 0"
[ -e "$SOCK" ] && fail "the socket stayed"
expect_eq "$(has_hooks h-a)|$(has_hooks h-c)|$(has_hooks q-1)" "xdp tc egress|xdp tc egress|xdp tc egress" \
	"the hooks stay after stop"
lab_in c ping -n -q -c 1 -W 1 10.0.0.254 >/dev/null 2>&1 && fail "c reached the host with the agent stopped"
ok "the policy is enforced with the agent stopped"
# sd_notify: STATUS=, READY=1 once the first reconcile is done, STOPPING=1 at the end.
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "w") as f:
    while True:
        try:
            m = s.recv(4096).decode()
        except socket.timeout:
            break
        f.write(m.replace("\n", "|") + "\n")
        f.flush()
        if "STOPPING=1" in m:
            break
PY
NOTIFY=$!
LAB_PIDS+=("$NOTIFY")
wait_for 20 test -S "$T/notify.sock" || fail "no notify socket"
export NOTIFY_SOCKET=$T/notify.sock
agent_start
unset NOTIFY_SOCKET
GEN=$(status_q 'd["policy"]["generation"]')
agent_stop
ok "SIGTERM stops the agent with exit status 0"
wait "$NOTIFY"
expect_eq "$(sed -e 's/MAINPID=[0-9]*/MAINPID=N/' "$T/notify.log")" \
	"STATUS=protecting 5 of 5 interfaces; policy generation $GEN (adopted)
READY=1|MAINPID=N
STOPPING=1" "systemd hears STATUS=, then READY=1 after the first reconcile, then STOPPING=1"
expect_eq "$(has_hooks h-a)" "xdp tc egress" "the hooks stay after SIGTERM"

# ---- 12. A reboot replayed: nothing loaded, start from config and state ----------------

lab_xs detach --all >/dev/null || fail "detach --all"
[ -e "$P" ] && fail "$P stayed after detach --all"
agent_start
expect_eq "$(status_q 'd["policy"]["hash"], d["policy"]["source"]')" "[\"$FARM_HASH\", \"config\"]" \
	"after the reboot the same policy (hash) is enforced"
expect_eq "$(status_q "sorted((i['name'], i['state']) for i in d['interfaces'])")" \
	'[["h-a", "protected"], ["h-b", "protected"], ["h-c", "protected"], ["q-1", "protected"], ["q-2", "protected"]]' \
	"every matching interface is protected again"
lab_ping a 10.0.0.2 || fail "a -> b (allowed) after the reboot"
lab_in c ping -n -q -c 1 -W 1 10.0.0.254 >/dev/null 2>&1 && fail "c reached the host after the reboot"
ok "after the reboot, allowed passes and denied is dropped"
agent_stop

# ---- 13. A policy that no longer compiles at boot: the last good is kept ----------------

lab_xs detach --all >/dev/null || fail "detach --all"
cp "$POLICY" "$T/farm.good"
echo "allow left -> nowhere : tcp/22" >>"$POLICY"
agent_start
expect_eq "$(status_q 'd["policy"]["hash"], d["policy"]["source"], d["policy"]["file_error"]')" \
	"[\"$FARM_HASH\", \"state\", \"$POLICY:8:15: error: unknown segment 'nowhere'\"]" \
	"the last good policy is enforced and status shows the file's error"
expect_match "$(cat "$LOG")" "critical: the configured policy $POLICY does not compile \\($POLICY:8:15: error: unknown segment 'nowhere'\\): enforcing the last good policy from $STATE instead" \
	"the log says so loudly"
lab_ping a 10.0.0.2 || fail "a -> b (allowed by the last good policy)"
lab_in c ping -n -q -c 1 -W 1 10.0.0.254 >/dev/null 2>&1 && fail "c reached the host under the last good policy"
ok "the last good policy decides"
expect_eq "$(agent_req '{"cmd":"reload"}')" \
	"{\"ok\":false,\"protocol\":1,\"error\":\"$POLICY:8:15: error: unknown segment 'nowhere'\",\"code\":\"policy-error\"}" \
	"a reload with the broken policy changes nothing"
cp "$T/farm.good" "$POLICY"
kill -HUP "$AGENT_PID"
wait_for 20 grep -q "SIGHUP: reloaded" "$LOG" || fail "SIGHUP did not reload"
expect_eq "$(status_q 'd["policy"]["file_error"], d["policy"]["hash"]')" "[null, \"$FARM_HASH\"]" \
	"SIGHUP reloads: the fixed file has no error (same hash: nothing to apply)"
agent_stop

# ---- 14. Nothing to enforce at all: deny-all, never open ---------------------------------

lab_xs detach --all >/dev/null || fail "detach --all"
rm -rf "$STATE"
echo "garbage" >>"$POLICY"
agent_start
expect_eq "$(status_q 'd["policy"]["source"], d["policy"]["file"]')" '["builtin-deny", "(built-in deny-all)"]' \
	"with no good policy anywhere, the agent enforces its deny-all policy"
lab_ping a 10.0.0.2 && fail "a -> b passed under deny-all"
ok "deny-all drops what the policy allowed: closed, not open"
expect_match "$(cat "$LOG")" "critical: no policy to enforce" "the log says so"
cp "$T/farm.good" "$POLICY"
expect_eq "$(agent_req '{"cmd":"reload"}' | jpy 'd["applied"]')" "true" "fixing the file and reloading applies it"
lab_ping a 10.0.0.2 || fail "a -> b after the fix"
ok "traffic is allowed again"
agent_stop

# ---- 15. unprotected = down: a port that cannot be protected is held down ---------------

cat >"$T/foreign.c" <<'EOF'
struct xdp_md;
__attribute__((section("xdp"), used)) int foreign(struct xdp_md *ctx) { return 2; /* XDP_PASS */ }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -target bpf -c "$T/foreign.c" -o "$T/foreign.o" || fail "cannot build the foreign XDP program"
vm e 10.0.0.5 v-e
# loaded by bpftool (iproute2's loader would make its own tree in the bpffs);
# the attachment holds the program once its pin is gone
FOREIGN=/sys/fs/bpf/${LAB_PREFIX}foreign
bpftool prog load "$T/foreign.o" "$FOREIGN" type xdp || fail "cannot load the foreign program"
lab_in host bpftool net attach xdpdrv pinned "$FOREIGN" dev v-e || fail "cannot attach the foreign program"
rm -f "$FOREIGN"
{ cat "$CONF"; echo "unprotected = down"; } >"$T/down.conf"
agent_start "$T/down.conf"
expect_eq "$(status_q "[(i['state'], i['error']) for i in d['interfaces'] if i['name'] == 'v-e']")" \
	"[[\"down\", \"v-e already has an XDP program that xdpseg did not attach: remove it ('ip link set dev v-e xdp off') or use --tc-ingress\"]]" \
	"status: v-e is down, and why"
expect_no_match "$(lab_in host ip -o link show v-e)" "[<,]UP[,>]" "v-e is set down"
expect_match "$(cat "$LOG")" "error: v-e: set down until it can be protected \\(unprotected = down\\)" "the log says v-e was set down"
expect_eq "$(iface_state h-a)" "protected" "the other ports are protected"
out=$(lab_xs status)
expect_eq "$?" 3 "xdpseg status: not protected while v-e is down (exit 3)"
expect_match "$out" "v-e" "xdpseg status names v-e"
lab_in host ip link set dev v-e xdpdrv off
wait_for 20 bash -c "nsenter --net=/run/netns/$(lab_ns host) ip -o link show v-e | grep -q 'prog/xdp.*xs_xdp'" ||
	fail "v-e was not protected once the foreign program went"
wait_for 20 bash -c "nsenter --net=/run/netns/$(lab_ns host) ip -o link show v-e | grep -q '[<,]UP[,>]'" ||
	fail "v-e was not set up again"
ok "once protected, v-e is set up again"
expect_eq "$(iface_state v-e)" "protected" "status: v-e protected"
lab_ping e 10.0.0.1 || fail "e -> a (allowed) once v-e is up"
ok "traffic flows through v-e again"
agent_stop

echo "agent: $XS_CHECKS checks passed"

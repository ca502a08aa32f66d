#!/usr/bin/env bash
# Flow records (issue 10), a real `xdpseg agent` with a flow log rotated at
# 2 KiB and `xdpseg flows --json` following its socket: a UDP exchange of
# known datagrams has a begin and an update record with exactly the
# packets and bytes each way; a TCP connection that closes has its begin
# and its end (cause fin) with the bytes sent; a denied flood is one deny
# record with its exact count; the log rotates by size, every line of
# every file is a whole record, and the follower got every record the
# file has, and syslog (a socket of the test's as /dev/log in the agent's
# own mount namespace) too; watch --pcap through the agent and the agent's capture of the dropped packets reads back with
# tcpdump.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

XS=$LAB_XDPSEG
P=$LAB_PIN_DIR
T=$LAB_TMP
SOCK=$XDPSEG_AGENT_SOCK
CONF=$T/agent.conf
LOG=$T/agent.log
FLOG=$T/flows.ndjson
FOLLOW=$T/follow.ndjson
AGENT_PID=
FOLLOW_PID=

trap test_teardown EXIT

lab_host
lab_vm a 10.0.0.1
lab_vm b 10.0.0.2

cat >"$T/farm.policy" <<'EOF'
segment left  10.0.0.1
segment right 10.0.0.2
allow left -> right : tcp/5001
allow left -> right : udp/5002
EOF
cat >"$CONF" <<EOF
policy = farm.policy
interfaces = h-*
pin-dir = $P
reconcile-interval = 1
flow-log = $FLOG
flow-log-size = 2K
flow-log-keep = 9
flow-update-interval = 1s
flow-deny-interval = 2s
capture = $T/drops.pcap
snap-len = 40
flow-syslog = yes
EOF

# syslog: the agent runs in a mount namespace of its own whose /dev is a
# tmpfs with the devices it needs and /dev/log, a socket of this test's
# (the machine's /dev, and its syslog if any, untouched).
SYSLOG=$T/syslog.txt
python3 - "$T/log.sock" "$SYSLOG" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536).rstrip(b"\n") + b"\n")
PY
SYSLOG_PID=$!
LAB_PIDS+=("$SYSLOG_PID")

# records FILTER: the follower's records (python expression over r) as JSON lines.
records() {
	python3 - "$FOLLOW" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if eval(sys.argv[2]):
        print(json.dumps(r, sort_keys=True))
PY
}
count_records() { records "$1" | wc -l; }

wait_for 5 test -S "$T/log.sock" || fail "the test's syslog socket did not appear"
mkdir "$T/dev"
unshare -m --propagation private bash -c '
	set -e
	mount --bind /dev "$1/dev"
	mount -t tmpfs -o mode=755 xs-dev /dev
	for d in null zero random urandom; do
		touch /dev/$d
		mount --bind "$1/dev/$d" /dev/$d
	done
	ln -s "$1/log.sock" /dev/log
	exec nsenter --net="$2" -- "$3" agent --config "$4"
' flows-agent "$T" "/run/netns/$(lab_ns host)" "$XS" "$CONF" >"$LOG" 2>&1 &
AGENT_PID=$!
test_track "$AGENT_PID"
wait_for 20 bash -c "echo '{\"cmd\":\"status\"}' | timeout 5 socat -t 2 - UNIX-CONNECT:$SOCK 2>/dev/null | grep -q '\"protected\".*\"protected\"'" || {
	cat "$LOG" >&2
	fail "the agent did not protect h-a and h-b"
}
ok "the agent runs and protects h-a and h-b"

"$XS" flows --json >"$FOLLOW" 2>"$T/follow.err" &
FOLLOW_PID=$!
test_track "$FOLLOW_PID"
wait_for 5 bash -c "echo '{\"cmd\":\"status\"}' | timeout 5 socat -t 2 - UNIX-CONNECT:$SOCK 2>/dev/null | grep -q '\"kind\":\"flows\"'" ||
	fail "xdpseg flows did not start following: $(cat "$T/follow.err")"
ok "xdpseg flows follows the agent's records"

# ---- 1. UDP: 5 datagrams of 1,000 bytes each way, exactly ------------------------
# (frames of 14 + 20 + 8 + 1000 = 1042 bytes, as the hooks see them)
lab_spawn b 20 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.2", 5002))
for _ in range(5):
    d, a = s.recvfrom(2000)
    s.sendto(d, a)
'
lab_wait_listen b udp 5002 || fail "the UDP echo server did not start"
lab_in a python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.1", 40002))
s.settimeout(3)
for _ in range(5):
    s.sendto(b"x" * 1000, ("10.0.0.2", 5002))
    s.recvfrom(2000)
' || fail "the UDP exchange failed"
UDP='r.get("proto") == "udp" and r.get("dport") == 5002 and r.get("sport") == 40002'
wait_for 15 bash -c "[ \"\$(python3 - '$FOLLOW' <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get('kind') == 'update' and r.get('dport') == 5002 and r.get('packets_fwd') == 5:
        n += 1
print(n)
PY
)\" -ge 1 ]" || fail "no update record of the UDP flow: $(cat "$FOLLOW")"
expect_eq "$(count_records "$UDP and r['kind'] == 'begin'")" 1 "the UDP flow has one begin record"
U=$(records "$UDP and r['kind'] == 'update'" | tail -1)
expect_eq "$(echo "$U" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["packets_fwd"], r["bytes_fwd"], r["packets_rev"], r["bytes_rev"])')" \
	"5 5210 5 5210" "its update record: 5 packets and 5,210 bytes each way, exactly"
expect_eq "$(echo "$U" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["schema"], r["state"], r["src"], r["dst"], r["src_segment"], r["dst_segment"], r["verdict"], r["iface"], r["direction"], r["generation"] > 0)')" \
	"1 C 10.0.0.1 10.0.0.2 left right allow h-a ingress True" \
	"its fields: schema, state C, the tuple, segments, verdict, interface, generation"
expect_match "$(echo "$U" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rule"])')" \
	"/farm.policy:4$" "its rule is FILE:LINE of the UDP rule"
expect_match "$(echo "$U" | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy_hash"])')" \
	"^[0-9a-f]{64}$" "its policy hash is the policy's SHA-256"

# ---- 2. TCP: a connection that sends 20,000 bytes and closes ------------------------
lab_spawn b 20 python3 -c '
import socket
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.0.0.2", 5001))
l.listen(1)
c, _ = l.accept()
n = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    n += len(d)
c.sendall(str(n).encode())
c.close()
'
lab_wait_listen b tcp 5001 || fail "the TCP server did not start"
GOT=$(lab_in a python3 -c '
import socket
s = socket.create_connection(("10.0.0.2", 5001), timeout=3)
s.sendall(b"y" * 20000)
s.shutdown(socket.SHUT_WR)
print(s.recv(100).decode())
s.close()
') || fail "the TCP exchange failed"
expect_eq "$GOT" 20000 "the server read the 20,000 bytes"
TCP='r.get("proto") == "tcp" and r.get("dport") == 5001'
wait_for 10 bash -c "grep -q '\"cause\":\"fin\"' '$FOLLOW'" || fail "no end record of the TCP flow: $(cat "$FOLLOW")"
expect_eq "$(count_records "$TCP and r['kind'] == 'begin'")" 1 "the TCP flow has one begin record"
E=$(records "$TCP and r['kind'] == 'end'")
expect_eq "$(echo "$E" | wc -l)" 1 "... and one end record"
expect_eq "$(echo "$E" | python3 -c '
import json,sys
r = json.load(sys.stdin)
# 20,000 bytes of payload in at least 3 segments, each with at most 100 bytes of headers
ok = r["bytes_fwd"] >= 20000 + 3 * 66 and r["bytes_fwd"] <= 20000 + 100 * r["packets_fwd"]
ok = ok and r["packets_rev"] >= 2 and r["bytes_rev"] >= 5 and r["state"] == "E"
print(r["cause"], r["ct_state"], ok)')" "fin closed True" \
	"its end: cause fin, closed, the 20,000 bytes sent and the answer counted"

# ---- 3. A denied flood: one deny record with its count ------------------------------
# (and a watch through the agent writes the drops' bytes: --pcap)
"$XS" watch --verdict drop --port 9999 --count 150 --pcap "$T/watch.pcap" >"$T/watch.out" 2>"$T/watch.err" &
WATCH_PID=$!
wait_for 5 bash -c "echo '{\"cmd\":\"status\"}' | timeout 5 socat -t 2 - UNIX-CONNECT:$SOCK 2>/dev/null | grep -q '\"kind\":\"events\"'" ||
	fail "watch did not start through the agent: $(cat "$T/watch.err")"
lab_in a python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(150):
    s.sendto(b"z" * 10, ("10.0.0.2", 9999))
'
DENY='r.get("kind") == "deny" and r.get("dport") == 9999'
wait_for 10 bash -c "grep -q '\"dport\":9999' '$FOLLOW'" || fail "no deny record: $(cat "$FOLLOW")"
expect_eq "$(count_records "$DENY")" 1 "the denied flood is one deny record"
expect_eq "$(records "$DENY" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["count"], r["bytes"], r["state"], r["src"], r["proto"], r["verdict"])')" \
	"150 7800 D 10.0.0.1 udp drop" "... counting the 150 datagrams (52-byte frames)"

wait_for 10 bash -c "! kill -0 $WATCH_PID 2>/dev/null" || fail "watch --count 150 did not end: $(cat "$T/watch.err")"
wait "$WATCH_PID"
expect_eq "$(tcpdump -r "$T/watch.pcap" -nn 'udp and dst port 9999' 2>/dev/null | wc -l)" 150 \
	"watch --pcap through the agent wrote the 150 denied datagrams (tcpdump -r)"
# the agent's capture: the denied datagrams' bytes, for tcpdump
expect_eq "$(tcpdump -r "$T/drops.pcap" -nn 'udp and dst port 9999 and src host 10.0.0.1' 2>/dev/null | wc -l)" 150 \
	"the agent's capture holds the 150 denied datagrams (tcpdump -r)"
expect_eq "$(grep -c '"verdict":"drop".*"len":52,"caplen":40' "$T/drops.pcap.meta.ndjson")" 150 \
	"... and its sidecar says what dropped each, 40 bytes of each 52-byte frame (snap-len = 40)"

# ---- 4. The file: rotated by size, whole records, the same as the socket ------------
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
test_untrack "$AGENT_PID"
AGENT_PID=
wait_for 5 bash -c "! kill -0 $FOLLOW_PID 2>/dev/null" || fail "xdpseg flows did not end with the agent"
wait "$FOLLOW_PID" 2>/dev/null
test_untrack "$FOLLOW_PID"
FOLLOW_PID=
[ -f "$FLOG.1" ] || fail "the flow log did not rotate at 2 KiB: $(ls -l "$T")"
ok "the flow log rotated ($FLOG.1 exists)"
python3 - "$FLOG" "$FOLLOW" <<'PY' || fail "the flow log's files differ from the follower's records"
import glob, json, os, sys
log, follow = sys.argv[1], sys.argv[2]
seen = []
for f in sorted(glob.glob(log + "*"), key=lambda p: -int(p.rsplit(".", 1)[1]) if p[-1].isdigit() else 0):
    assert os.path.getsize(f) <= 2048, f
    for line in open(f):
        seen.append(json.dumps(json.loads(line), sort_keys=True))
got = [json.dumps(json.loads(l), sort_keys=True) for l in open(follow)]
assert seen == got[:len(seen)] and len(seen) >= len(got) - 1, (len(seen), len(got))
PY
ok "every file at most 2 KiB, every line a whole record, in order the follower's"
N=$(cat "$FLOG"* | wc -l)
expect_eq "$(grep -c 'xdpseg-flows\[[0-9]*\]: {"schema":1' "$SYSLOG")" "$N" "syslog got every record (identity xdpseg-flows)"
expect_match "$(grep '"kind":"deny"' "$SYSLOG" | grep '"dport":9999')" '^<29>.*"count":150' \
	"... the deny record at daemon.notice (<29>) with its count"

echo "$XS_CHECKS checks passed"

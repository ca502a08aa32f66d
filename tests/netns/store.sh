#!/usr/bin/env bash
# The flow store (issue 11), a real `xdpseg agent` with its default store
# (flows.db in the lab's state directory): a TCP connection and a UDP
# exchange whose ports are ephemeral on both sides (server 50123 and 50999,
# client 60001 and 61000) are stored with the initiator as the source and the
# server's port, never the client's; a denied connection is stored as a drop
# with the rule that decided (the default), one to a segment in monitor mode
# as an audit; `store-sync` on the socket
# flushes and answers the path and the rows; `xdpseg status` has its line;
# a reload with `flow-store = off` closes it, one with another path opens
# that one.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

XS=$LAB_XDPSEG
P=$LAB_PIN_DIR
T=$LAB_TMP
SOCK=$XDPSEG_AGENT_SOCK
STATE=$XDPSEG_STATE_DIR
DB=$STATE/flows.db
CONF=$T/agent.conf
LOG=$T/agent.log
command -v sqlite3 >/dev/null || {
	echo "SKIP: sqlite3 is missing (scripts/setup installs it)"
	exit 77
}

trap test_teardown EXIT

lab_host
lab_vm a 10.0.0.1
lab_vm b 10.0.0.2
lab_vm c 10.0.0.3

cat >"$T/farm.policy" <<'EOF'
segment clients 10.0.0.1
segment servers 10.0.0.2
segment watched 10.0.0.3
mode watched monitor
allow clients -> servers : tcp/50123
allow clients -> servers : udp/50999
EOF
cat >"$CONF" <<EOF
policy = farm.policy
interfaces = h-*
pin-dir = $P
reconcile-interval = 1
EOF

# q SQL: the store's answer (read-only, alongside the agent, through WAL).
q() { sqlite3 -readonly -separator ' ' "$DB" "$1"; }

test_agent_start "$CONF" "$LOG" 3
ok "the agent runs and protects h-a, h-b and h-c"
[ -f "$DB" ] || fail "no store at $DB: $(cat "$LOG")"
expect_eq "$(q 'PRAGMA journal_mode; PRAGMA user_version' | tr '\n' ' ')" "wal 1 " \
	"the store is on by default in the state directory: WAL, schema 1"

# ---- 1. Ephemeral ports on both sides: the initiator is the client ------------------
lab_spawn b 20 python3 -c '
import socket
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.0.0.2", 50123))
l.listen(1)
c, _ = l.accept()
c.sendall(c.recv(100))
c.close()
'
lab_spawn b 20 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.2", 50999))
for _ in range(3):
    d, a = s.recvfrom(2000)
    s.sendto(d, a)
'
lab_wait_listen b tcp 50123 || fail "the TCP server did not start"
lab_wait_listen b udp 50999 || fail "the UDP server did not start"
GOT=$(lab_in a python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.1", 60001))
s.settimeout(3)
s.connect(("10.0.0.2", 50123))
s.sendall(b"hello")
print(s.recv(100).decode())
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("10.0.0.1", 61000))
u.settimeout(3)
for _ in range(3):
    u.sendto(b"x" * 100, ("10.0.0.2", 50999))
    u.recvfrom(2000)
print("udp")
') || fail "the allowed exchanges failed"
expect_eq "${GOT//$'\n'/ }" "hello udp" "TCP 60001 -> 50123 and UDP 61000 -> 50999 pass"

# ---- 2. A denied connection: no rule for tcp/50124 ----------------------------------
lab_in a python3 -c '
import socket
s = socket.socket()
s.settimeout(1.5)
try:
    s.connect(("10.0.0.2", 50124))
except OSError:
    pass
' && ok "a -> b tcp/50124 is refused (dropped)"

# ---- 2b. Monitor mode: what enforcing would drop passes, as an audit ---------------
lab_tcp a c 10.0.0.3 50200 || fail "a -> c tcp/50200 did not pass in monitor mode"
ok "a -> c tcp/50200 passes (watched is in monitor mode)"

# ---- 3. store-sync, then the rows -----------------------------------------------------
SYNC=$(agent_ask '{"cmd":"store-sync","id":7}')
expect_eq "$(echo "$SYNC" | jpy '[d["ok"], d["protocol"], d["path"], d["id"], d["rows"] >= 2]')" \
	"[true, 1, \"$DB\", 7, true]" "store-sync answers ok, the store's path and its rows"
# the drop events come through the ring buffer: a second sync if the first was early
wait_for 5 bash -c "echo '{\"cmd\":\"store-sync\"}' | timeout 5 socat -t 2 - UNIX-CONNECT:$SOCK >/dev/null; [ -n \"\$(sqlite3 -readonly '$DB' 'SELECT 1 FROM flows WHERE decision = 2')\" ]" ||
	fail "no drop row: $(q 'SELECT * FROM flows')"

# src and dst as hex (0A000001 is 10.0.0.1)
expect_eq "$(q "SELECT family, hex(src), hex(dst), port, connections >= 1, packets >= 4, bytes > 0,
	src_segment, dst_segment, iface, decision, rule LIKE '%/farm.policy:5', generation > 0
	FROM flows WHERE proto = 6 AND decision = 0")" \
	"4 0A000001 0A000002 50123 1 1 1 clients servers h-a 0 1 1" \
	"TCP: the client 10.0.0.1 is the source, 10.0.0.2 the destination, port 50123 (its rule, segments, interface)"
expect_eq "$(q "SELECT hex(src), hex(dst), port, connections, packets, bytes >= 6 * 128, rule LIKE '%/farm.policy:6'
	FROM flows WHERE proto = 17")" \
	"0A000001 0A000002 50999 1 6 1 1" \
	"UDP: 10.0.0.1 -> 10.0.0.2 port 50999, one exchange of 6 datagrams"
expect_eq "$(q 'SELECT count(*) FROM flows WHERE port IN (60001, 61000)')" 0 \
	"no row under a client's port"
DROP=$(q "SELECT hex(src), hex(dst), port, connections >= 1, src_segment, dst_segment, rule
	FROM flows WHERE decision = 2")
expect_eq "$DROP" "0A000001 0A000002 50124 1 clients servers $T/farm.policy:2" \
	"the denied connection: decision drop, port 50124, the rule that decided"
expect_match "$("$XS" verify 10.0.0.1 10.0.0.2 tcp/50124 --policy "$T/farm.policy" 2>&1)" \
	"$T/farm.policy:2: segment servers \\(implicit default in deny" \
	"... the destination's default, as verify names it"
expect_eq "$(q "SELECT hex(src), hex(dst), port, connections, decision, src_segment, dst_segment, rule
	FROM flows WHERE port = 50200")" "0A000001 0A000003 50200 1 1 clients watched $T/farm.policy:3" \
	"the monitored connection: decision audit, with the default that would drop it"
expect_eq "$(q 'SELECT count(*) FROM aggregates')" 0 "no aggregate row (nothing near a cap)"

# ---- 4. The status ------------------------------------------------------------------------
ST=$(agent_ask '{"cmd":"status"}')
expect_eq "$(echo "$ST" | jpy '[d["store"][k] for k in ("enabled", "path", "open", "days", "lost", "retention_days", "max_bytes", "max_day_rows", "error")]')" \
	"[true, \"$DB\", true, 1, 0, 30, 268435456, 200000, null]" "status: the store's object"
ROWS=$(echo "$ST" | jpy 'd["store"]["rows"]')
expect_eq "$ROWS" "$(q 'SELECT (SELECT count(*) FROM flows) + (SELECT count(*) FROM aggregates)')" \
	"status: its rows are the database's"
expect_match "$(lab_xs status 2>&1)" $'\n  flow store: '"$DB, $ROWS rows over 1 day, [0-9.]+ KiB of 256 MiB"$'\n' \
	"xdpseg status: the store's line"

# ---- 5. Reloads: off closes it, another path opens that one --------------------------
echo "flow-store = off" >>"$CONF"
expect_eq "$(agent_ask '{"cmd":"reload"}' | jpy 'd["ok"]')" "true" "reload with flow-store = off"
expect_eq "$(agent_ask '{"cmd":"status"}' | jpy 'd["store"]')" '{"enabled": false}' "status: the store is off"
for fd in "/proc/$TEST_AGENT_PID"/fd/*; do
	[ "$(readlink "$fd")" = "$DB" ] && fail "the agent still holds $DB open"
done
ok "the agent closed $DB"
expect_eq "$(agent_ask '{"cmd":"store-sync"}' | jpy '[d["ok"], d["code"]]')" '[false, "store-off"]' \
	"store-sync with the store off: an error, code store-off"
expect_match "$(lab_xs status 2>&1)" $'\n  flow store: off\n' "xdpseg status: off"
expect_eq "$(q 'SELECT count(*) FROM flows WHERE port = 50123')" 1 "what it stored stays"

sed -i "s|^flow-store = off|flow-store = $T/other.db|" "$CONF"
echo "flow-store-days = 7" >>"$CONF"
expect_eq "$(agent_ask '{"cmd":"reload"}' | jpy 'd["ok"]')" "true" "reload with flow-store = another path"
lab_in a python3 -c '
import socket
s = socket.socket()
s.settimeout(1)
try:
    s.connect(("10.0.0.2", 50125))
except OSError:
    pass
'
wait_for 5 bash -c "echo '{\"cmd\":\"store-sync\"}' | timeout 5 socat -t 2 - UNIX-CONNECT:$SOCK >/dev/null; [ -n \"\$(sqlite3 -readonly '$T/other.db' 'SELECT 1 FROM flows WHERE port = 50125' 2>/dev/null)\" ]" ||
	fail "nothing in $T/other.db: $(cat "$LOG")"
ok "the new store at $T/other.db has the next drop"
expect_eq "$(agent_ask '{"cmd":"status"}' | jpy '[d["store"]["path"], d["store"]["retention_days"]]')" \
	"[\"$T/other.db\", 7]" "status: its path and retention"

test_agent_stop "$TEST_AGENT_PID"
expect_eq "$(sqlite3 "$T/other.db" 'PRAGMA integrity_check')" "ok" "stopped: the store is whole"

echo "$XS_CHECKS checks passed"

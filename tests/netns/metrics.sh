#!/usr/bin/env bash
# Metrics (issue 10), a real `xdpseg agent` with metrics-listen and
# metrics-textfile in the lab's host namespace: the endpoint scraped with
# curl and checked by a real parser (promtool check metrics); a rule's hits
# equal the packets that crossed it, the generation and the interfaces are
# the agent's; the textfile is valid and replaced whole (rename) while it is
# read; a stuck scraper blocks nothing and is closed at its timeout;
# counters across an apply by the CLI (the kept rule, moved and spaced
# otherwise, goes on exactly from its count, a changed rule starts at 0,
# `stats` shows the carried count) and across the agent's own apply; a
# reload moves, closes and opens the endpoint, an address in use refuses
# the reload and changes nothing; `xdpseg metrics` without an agent.
source "$(dirname "$0")/common.sh"
for tool in curl promtool; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is missing (scripts/setup installs it)"
		exit 77
	fi
done
test_lab_init "$1"

XS=$LAB_XDPSEG
P=$LAB_PIN_DIR
T=$LAB_TMP
SOCK=$XDPSEG_AGENT_SOCK
CONF=$T/agent.conf
LOG=$T/agent.log
NODE=$T/node # node_exporter's textfile folder
PROM=$NODE/xdpseg.prom
AGENT_PID=

trap test_teardown EXIT

lab_host
lab_vm a 10.0.0.1
lab_vm b 10.0.0.2

# Line 3 is kept by v2 (moved to line 5, spaced and commented otherwise),
# line 4 is changed by v2 (a port more).
V1=$T/v1.policy
V2=$T/v2.policy
cat >"$V1" <<'EOF'
segment left  10.0.0.1
segment right 10.0.0.2
allow left -> right : icmp/8
allow left -> right : tcp/22
EOF
cat >"$V2" <<'EOF'
segment left  10.0.0.1
segment right 10.0.0.2
allow left -> right : tcp/22, tcp/2222
allow right -> left : icmp/8
allow left->right:icmp/8      # moved
EOF
PORT=19753
mkdir -p "$NODE"
write_conf() { # write_conf LISTEN: the agent's configuration, LISTEN "" for none
	{
		echo "policy = v1.policy"
		echo "interfaces = h-*"
		echo "pin-dir = $P"
		echo "reconcile-interval = 1"
		[ -n "$1" ] && echo "metrics-listen = $1"
		echo "metrics-textfile = $PROM"
		echo "metrics-interval = 1"
	} >"$CONF"
}
write_conf "127.0.0.1:$PORT"

agent_req() { echo "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK"; }
status_q() { agent_req '{"cmd":"status"}' | jpy "$1"; }
# scrape [PORT]: the exposition on stdout (curl's status: 0 when served).
scrape() { lab_in host curl -sf --max-time 5 "http://127.0.0.1:${1:-$PORT}/metrics"; }
# value FILE SERIES: the sample of one series (its name and labels exactly), "" when absent.
value() { awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print $2 }' "$1"; }
# valid FILE: promtool's verdict (its complaints on stderr).
valid() { promtool check metrics <"$1"; }
hits() { echo "xdpseg_rule_hits_total{rule=\"$1\",kind=\"rule\",segment_pair=\"left->right\"}"; }

nsenter --net="/run/netns/$(lab_ns host)" -- "$XS" agent --config "$CONF" >"$LOG" 2>&1 &
AGENT_PID=$!
test_track "$AGENT_PID"
wait_for 20 bash -c "echo '{\"cmd\":\"status\"}' | timeout 5 socat -t 2 - UNIX-CONNECT:$SOCK 2>/dev/null | grep -q '\"protected\".*\"protected\"'" || {
	cat "$LOG" >&2
	fail "the agent did not protect h-a and h-b"
}
ok "the agent runs and protects h-a and h-b"
expect_match "$(cat "$LOG")" "notice: metrics: listening on http://127.0.0.1:$PORT/metrics" "the log names the endpoint"

# ---- 1. The endpoint: a valid exposition with the right values --------------------------

lab_in a ping -n -q -c 5 -i 0.2 -W 1 10.0.0.2 >/dev/null || fail "a -> b (allowed) does not pass"
# a SYN to b's closed tcp/22 (allowed): refused by b, through the rule
lab_in a timeout 3 bash -c 'echo >/dev/tcp/10.0.0.2/22' 2>/dev/null
scrape >"$T/m1.prom" || fail "no answer on 127.0.0.1:$PORT/metrics"
ok "the endpoint answers"
out=$(valid "$T/m1.prom" 2>&1)
expect_eq "$?:$out" "0:" "promtool check metrics: the exposition is valid, no lint"
# 5 echo requests and 5 replies, each through two hooks (XDP in at the
# sender's port, TC out at the receiver's): 20 packets of one flow
expect_eq "$(value "$T/m1.prom" "$(hits "$V1:3")")" 20 "the icmp rule's hits: the 20 packets the pings made"
expect_eq "$(value "$T/m1.prom" "xdpseg_rule_flows_total{rule=\"$V1:3\",kind=\"rule\",segment_pair=\"left->right\"}")" 1 \
	"its flows: one"
TCP_HITS=$(value "$T/m1.prom" "$(hits "$V1:4")")
[ "${TCP_HITS:-0}" -ge 2 ] || fail "the tcp/22 rule's hits: '$TCP_HITS', expected the SYN and the RST"
ok "the tcp/22 rule counted its packets ($TCP_HITS)"
expect_eq "$(value "$T/m1.prom" xdpseg_policy_generation)" "$(status_q 'str(d["policy"]["generation"])')" \
	"xdpseg_policy_generation is the agent's generation"
expect_eq "$(value "$T/m1.prom" 'xdpseg_interfaces{state="protected"}') $(value "$T/m1.prom" 'xdpseg_interfaces{state="unprotected"}')" \
	"2 0" "xdpseg_interfaces: 2 protected, 0 unprotected"
expect_eq "$(value "$T/m1.prom" 'xdpseg_policy_applies_total{outcome="applied"}')" 1 "one apply (the agent's, at start)"
expect_eq "$(value "$T/m1.prom" 'xdpseg_up')" 1 "xdpseg_up 1"
expect_eq "$(grep -c '^# HELP' "$T/m1.prom") $(grep -c '^# TYPE' "$T/m1.prom")" \
	"$(grep '^[a-z]' "$T/m1.prom" | sed 's/[{ ].*//' | sort -u | wc -l) $(grep '^[a-z]' "$T/m1.prom" | sed 's/[{ ].*//' | sort -u | wc -l)" \
	"a # HELP and a # TYPE for every family"
expect_no_match "$(grep -v '^#' "$T/m1.prom")" '10\.0\.0\.' "no address in any label"
out=$(lab_in host curl -s -o /dev/null -w '%{http_code} %{content_type}' "http://127.0.0.1:$PORT/metrics")
expect_eq "$out" "200 text/plain; version=0.0.4; charset=utf-8" "the text format's content type"
expect_eq "$(lab_in host curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" 404 "another path: 404"
expect_eq "$(lab_in host curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics")" 405 "POST: 405"

# A scraper that connects, sends half a request and waits never blocks the
# agent nor the next scraper.
lab_in host python3 - "$PORT" "$SOCK" <<'EOF' || fail "a stuck scraper blocks the endpoint or the agent"
import socket, subprocess, sys
port, sock = int(sys.argv[1]), sys.argv[2]
stuck = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
for s in stuck:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never ends
out = subprocess.run(["curl", "-sf", "--max-time", "5", f"http://127.0.0.1:{port}/metrics"],
                     capture_output=True)
assert out.returncode == 0 and b"xdpseg_up 1" in out.stdout, out
u = socket.socket(socket.AF_UNIX); u.connect(sock); u.settimeout(5)
u.sendall(b'{"cmd":"status"}\n')
assert b'"ok":true' in u.recv(65536)
# idle for 10 s, each is closed by the agent (libmicrohttpd's timeout, run by the loop)
for s in stuck:
    s.settimeout(30)
    assert s.recv(4096) == b"", "a stuck scraper got an answer instead of being closed"
EOF
ok "three stuck scrapers: the next scrape and the agent's socket still answer, then they are closed"

# ---- 2. The textfile: valid, node_exporter's, replaced whole -----------------------------

wait_for 20 test -s "$PROM" || fail "no textfile $PROM"
out=$(valid "$PROM" 2>&1)
expect_eq "$?:$out" "0:" "the textfile is valid (promtool)"
expect_eq "$(stat -c %a "$PROM")" 644 "the textfile is readable by node_exporter (0644)"
# Read it over and over while the agent rewrites it every second: every read
# is a whole exposition, and its inode changes (a new file renamed over it).
python3 - "$PROM" <<'EOF' || fail "the textfile was seen half written, or not replaced by a rename"
import os, sys, time
path = sys.argv[1]
inodes, reads, end = set(), 0, time.monotonic() + 20
while len(inodes) < 3 and time.monotonic() < end:
    with open(path, "rb") as f:
        inodes.add(os.fstat(f.fileno()).st_ino)
        data = f.read()
    reads += 1
    lines = data.decode().split("\n")
    assert data.endswith(b"\n"), f"read {reads}: no newline at the end"
    assert lines[-2].startswith('xdpseg_policy_applies_total{outcome="failed"} '), f"read {reads}: ends in {lines[-2]!r}"
    assert data.startswith(b"# HELP xdpseg_up "), f"read {reads}: starts with {data[:40]!r}"
assert len(inodes) >= 3, f"{reads} reads saw {len(inodes)} files"
EOF
ok "every read of the textfile is whole, and each rewrite is a new file renamed over it"

# ---- 3. Counters across an apply ----------------------------------------------------------------

lab_xs apply "$V2" >/dev/null || fail "CLI apply of v2"
wait_for 20 bash -c "[ \"\$(echo '{\"cmd\":\"status\"}' | timeout 5 socat -t 2 - UNIX-CONNECT:$SOCK | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"policy\"][\"generation\"])')\" = 2 ]" ||
	fail "the agent did not see generation 2"
sleep 1.2 # past the endpoint's one-second cache
scrape >"$T/m2.prom" || fail "no scrape after the apply"
expect_eq "$(value "$T/m2.prom" "$(hits "$V2:5")")" 20 "the kept rule (now line 5, spaced otherwise) keeps its 20 hits"
expect_eq "$(value "$T/m2.prom" "$(hits "$V2:3")")" 0 "the changed tcp/22 rule starts at 0"
expect_eq "$(value "$T/m2.prom" "$(hits "$V1:3")")" "" "the old FILE:LINE series is gone"
expect_eq "$(value "$T/m2.prom" 'xdpseg_policy_applies_total{outcome="external"}')" 1 "the CLI's apply is counted as external"
expect_eq "$(value "$T/m2.prom" xdpseg_policy_generation)" 2 "generation 2"
lab_in a ping -n -q -c 3 -i 0.2 -W 1 10.0.0.2 >/dev/null || fail "a -> b after the apply"
sleep 1.2
scrape >"$T/m3.prom" || fail "no scrape after the pings"
expect_eq "$(value "$T/m3.prom" "$(hits "$V2:5")")" 32 "it goes on exactly: 20 + the 12 packets of 3 pings"
out=$(lab_xs stats --json | python3 -c "import json,sys
d = json.load(sys.stdin)
print([(r['line'], r['packets'], r['text']) for r in d['rules'] if r['kind'] == 'rule'])")
expect_eq "$out" "[(3, 0, 'allow left -> right : tcp/22, tcp/2222'), (4, 0, 'allow right -> left : icmp/8'), (5, 32, 'allow left -> right : icmp/8')]" \
	"xdpseg stats shows the carried count, and the rule's normalised text"

# ---- 4. Reloads move the endpoint; an address in use changes nothing ----------------------------

PORT2=19754
write_conf "127.0.0.1:$PORT2"
expect_eq "$(agent_req '{"cmd":"reload"}' | jpy 'd["ok"]')" true "a reload with a new metrics-listen"
scrape "$PORT2" >"$T/m4.prom" || fail "nothing answers on the new port $PORT2"
scrape "$PORT" >/dev/null && fail "the old port $PORT still answers"
ok "the endpoint moved to $PORT2"
# The reload applied the configured v1 over the CLI's v2: the icmp rule is
# back on line 3 with its count; v1's tcp/22 rule is not v2's tcp/22, tcp/2222
# rule, so it starts at 0 (identity is against the policy in force).
expect_eq "$(value "$T/m4.prom" "$(hits "$V1:3")") $(value "$T/m4.prom" "$(hits "$V1:4")")" "32 0" \
	"the reload's apply of v1: the icmp rule goes on (32), tcp/22 starts at 0"
expect_eq "$(value "$T/m4.prom" 'xdpseg_policy_applies_total{outcome="applied"}')" 2 "the agent's second apply"
BUSY=19755
lab_spawn host 60 socat "TCP-LISTEN:$BUSY,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
lab_wait_listen host tcp "$BUSY" || fail "the test's listener on $BUSY"
write_conf "127.0.0.1:$BUSY"
expect_eq "$(agent_req '{"cmd":"reload"}' | jpy '[d["ok"], d["code"], d["error"]]')" \
	"[false, \"config-error\", \"$CONF:5: metrics-listen = 127.0.0.1:$BUSY: cannot listen there: Address already in use (another process has that port: 'ss -ltnp' names it; pick another port or stop it)\"]" \
	"an address in use refuses the reload, naming the file, line and fix"
scrape "$PORT2" >/dev/null || fail "the endpoint on $PORT2 is gone after a refused reload"
ok "the refused reload changed nothing: $PORT2 still answers"
expect_eq "$(status_q 'd["metrics"]["listen"]')" "127.0.0.1:$PORT2" "status: the configuration in force"
write_conf ""
expect_eq "$(agent_req '{"cmd":"reload"}' | jpy 'd["ok"]')" true "a reload without metrics-listen"
scrape "$PORT2" >/dev/null && fail "the endpoint still answers with metrics-listen removed"
ok "metrics-listen removed: the endpoint is closed"
write_conf "127.0.0.1:$PORT"
expect_eq "$(agent_req '{"cmd":"reload"}' | jpy 'd["ok"]')" true "a reload with metrics-listen again"
scrape >/dev/null || fail "nothing answers on $PORT after the reload"
ok "metrics-listen set again: the endpoint opens"

# ---- 5. Stopped, the textfile goes; `xdpseg metrics` needs no agent ------------------------------

kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "the agent exited with status $? at SIGTERM"
test_untrack "$AGENT_PID"
AGENT_PID=
expect_eq "$(ls -A "$NODE")" "" "the stopped agent removed its textfile (and left no temporary file)"
lab_xs metrics >"$T/cli.prom" 2>"$T/cli.err" || fail "xdpseg metrics without an agent: $(cat "$T/cli.err")"
out=$(valid "$T/cli.prom" 2>&1)
expect_eq "$?:$out" "0:" "xdpseg metrics without an agent: valid"
expect_eq "$(value "$T/cli.prom" "$(hits "$V1:3")")" 32 "the same counts, from the kernel"
expect_eq "$(grep -c xdpseg_policy_applies_total "$T/cli.prom")" 0 "the agent's own family is absent"
lab_xs metrics --output "$NODE/cli.prom" || fail "xdpseg metrics --output"
expect_eq "$(ls -A "$NODE") $(stat -c %a "$NODE/cli.prom")" "cli.prom 644" "--output writes the file (0644), nothing else"
out=$(valid "$NODE/cli.prom" 2>&1)
expect_eq "$?:$(value "$NODE/cli.prom" "$(hits "$V1:3")")" "0:32" "--output: valid, the same counts"
out=$(lab_xs metrics --output "$T/no/such/dir/x.prom" 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: cannot write $T/no/such/dir/x.prom: No such file or directory (its folder must exist and be writable)" \
	"--output into a missing folder: an error naming the fix"

#!/usr/bin/env bash
# Events for many readers (issue 10): `xdpseg watch` without an agent reads
# the ring buffer (one reader; events already in it are marked buffered,
# never live; --since/--last need the agent); with an agent running, watch
# reads its socket: two watches get the same live events of real traffic, a
# third with --since gets the earlier ones marked history, --last N the last
# N; --iface, --addr (IPv4, IPv6), --rule and --verdict each select exactly
# what they say; a stalled client does not stop the others, the agent counts
# what it drops for it (status) and tells it ({"dropped":N}) once it reads
# again; the agent's history is bounded; a stopped agent ends every stream.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

XS=$LAB_XDPSEG
P=$LAB_PIN_DIR
T=$LAB_TMP
SOCK=$XDPSEG_AGENT_SOCK
CONF=$T/agent.conf
POLICY=$T/farm.policy
LOG=$T/agent.log
AGENT_PID=

events_teardown() {
	local rc=$? p
	for p in "${LAB_PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null # a stopped watch acts on no signal
	done
	(exit $rc)
	test_teardown
}
trap events_teardown EXIT

lab_host
lab_vm a 10.0.0.1 fd00::1
lab_vm b 10.0.0.2 fd00::2
lab_vm c 10.0.0.3

cat >"$POLICY" <<'EOF'
segment left  10.0.0.1, fd00::1
segment right 10.0.0.2, fd00::2
segment other 10.0.0.3
default right in deny
allow left -> right : icmp/8
allow left -> right : icmpv6/128
allow left -> right : udp/2000-60000
deny other -> right : tcp/445
EOF
L_DENY=$(grep -n 'tcp/445' "$POLICY" | cut -d: -f1)
cat >"$CONF" <<EOF
interfaces = h-*
pin-dir = $P
reconcile-interval = 1
event-history = 2000
EOF

# jq-like: a Python expression over every JSON line of FILE (as `lines`).
jlines() {
	python3 -c 'import json,sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r = eval(sys.argv[2])
print(r if isinstance(r, str) else json.dumps(r))' "$1" "$2"
}
agent_req() { echo "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK"; }
status_q() {
	agent_req '{"cmd":"status"}' | python3 -c 'import json,sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r))' "$1"
}
# The agent's watch streams: how many; are there N?
streams() { status_q 'd["events"]["streams"]["clients"]' 2>/dev/null; }
streams_are() { [ "$(streams)" = "$1" ]; }
# watch_bg FILE ARGS...: `xdpseg watch ARGS` in the host namespace, output in
# FILE; WPID is its pid (nsenter execs it).
watch_bg() {
	local out=$1
	shift
	nsenter --net="/run/netns/$(lab_ns host)" -- "$XS" watch "$@" >"$out" 2>"$out.err" &
	WPID=$!
	LAB_PIDS+=("$WPID")
}
stop_watch() {
	kill -INT "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
# ping_n SRC DST N: N echo requests, 0.1 s apart (each one a new flow: a new id).
ping1() { lab_in "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; }

lab_xs apply "$POLICY" >/dev/null || fail "apply"
lab_xs attach h-a h-b h-c >/dev/null || fail "attach"

# ---- 1. No agent: the ring buffer, one reader --------------------------------------

ping1 c 10.0.0.2 && fail "c -> b passed (default right in deny)"
watch_bg "$T/d1" --json --count 2
W=$WPID
sleep 0.5
out=$(lab_xs watch 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: another 'xdpseg watch' is reading the events of $P: a ring buffer has one reader, stop the other one first (an agent serves any number: 'xdpseg agent')" \
	"a second direct watch is refused: a ring buffer has one reader"
ping1 c 10.0.0.2
wait "$W" || fail "watch --count 2 exited with $?"
expect_eq "$(jlines "$T/d1" '[(e["src"], e["dst"], e["verdict"], e["live"], e.get("buffered")) for e in lines]')" \
	'[["10.0.0.3", "10.0.0.2", "drop", false, true], ["10.0.0.3", "10.0.0.2", "drop", true, null]]' \
	"direct: the drop already in the ring buffer is buffered (not live), the next one live"
ping1 c 10.0.0.2
out=$(lab_xs watch --count 1)
expect_match "$out" "^[0-9:.]+ h-c in DROP icmp/8 10\\.0\\.0\\.3 -> 10\\.0\\.0\\.2 other -> right default-in .*/farm\\.policy:4 buffered$" \
	"direct, text: a buffered event's line ends with 'buffered'"
out=$(lab_xs watch --since 1m 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: --since and --last read the agent's history, and no agent answers on $SOCK (start it: 'xdpseg agent', or 'systemctl start xdpseg')" \
	"--since without an agent: history needs the agent"
out=$(lab_xs watch --json --last 3 2>&1)
expect_eq "$?:$out" "1:{\"error\":\"--since and --last read the agent's history, and no agent answers on $SOCK (start it: 'xdpseg agent', or 'systemctl start xdpseg')\"}" \
	"--last without an agent: the same error, as JSON"

# ---- 2. The agent: many readers, history -------------------------------------------

nsenter --net="/run/netns/$(lab_ns host)" -- "$XS" agent --config "$CONF" >"$LOG" 2>&1 &
AGENT_PID=$!
test_track "$AGENT_PID"
wait_for 10 agent_req '{"cmd":"status"}' >/dev/null 2>&1 || {
	cat "$LOG" >&2
	fail "the agent does not answer"
}
expect_eq "$(status_q '[d["events"]["reader"], d["events"]["history"]["max"], d["config"]["event_history"]]')" \
	"[true, 2000, 2000]" "the agent is the ring buffer's reader, with a history of 2000 events"
out=$(agent_req '{"cmd":"watch","addr":"10.0.0.0/33"}')
expect_eq "$out" '{"ok":false,"protocol":1,"error":"bad prefix length in '"'"'10.0.0.0/33'"'"': at most 32 for an IPv4 address","code":"bad-request"}' \
	"a watch request with a bad filter is refused with the filter's error"
out=$(agent_req '{"cmd":"watch","since":true}')
expect_eq "$out" '{"ok":false,"protocol":1,"error":"\"since\" is a number of seconds, or a duration as \"5m\"","code":"bad-request"}' \
	"a watch request with a bad since is refused"

watch_bg "$T/w1" --json
W1=$WPID
watch_bg "$T/w2" --json
W2=$WPID
wait_for 10 streams_are 2 ||
	fail "the two watches did not reach the agent"
ok "two watches stream from the agent at once"
ping1 a 10.0.0.2 || fail "a -> b ping"
ping1 c 10.0.0.2 && fail "c -> b ping passed"
lab_in a ping -6 -n -q -c 1 -W 1 fd00::2 >/dev/null 2>&1 || fail "a -> b ping6"
lab_tcp c b 10.0.0.2 445 && fail "c -> b tcp/445 passed"
sleep 0.5
watch_bg "$T/w3" --json
W3=$WPID
watch_bg "$T/w4" --json --since 1m
W4=$WPID
watch_bg "$T/w5" --json --last 2 --count 2
W5=$WPID
wait "$W5" || fail "watch --last 2 --count 2 exited with $?"
wait_for 10 streams_are 4 || fail "the later watches did not reach the agent"
ping1 a 10.0.0.2 || fail "a -> b ping (the marker)"
sleep 0.5
for w in "$W1" "$W2" "$W3" "$W4"; do stop_watch "$w"; done

K='(e["time"], e["iface"], e["dir"], e["src"], e["dst"], e["verdict"], e["reason"])'
expect_eq "$(jlines "$T/w1" '[all(e["live"] for e in lines), len(lines) >= 6]')" "[true, true]" \
	"the first watch: every event live"
expect_eq "$(jlines "$T/w1" "[$K for e in lines]")" "$(jlines "$T/w2" "[$K for e in lines]")" \
	"two watches get the same live events"
expect_eq "$(jlines "$T/w1" '[any(e["src"] == "10.0.0.1" and e["verdict"] == "allow" and e["proto"] == "icmp" for e in lines),
	any(e["src"] == "10.0.0.3" and e["verdict"] == "drop" and e["reason"] == "default-in" for e in lines),
	any(e["src"] == "fd00::1" and e["family"] == 6 for e in lines),
	any(e["dport"] == 445 and e["reason"] == "deny-rule" for e in lines if "dport" in e)]')" \
	"[true, true, true, true]" "they are the events of the traffic: ping, denied ping, ping6, denied tcp/445"
# the marker: the last ping a -> b
MARK=$(jlines "$T/w1" "[$K for e in lines if e['src'] == '10.0.0.1' and e['proto'] == 'icmp'][-1]")
expect_eq "$(jlines "$T/w3" "[[$K for e in lines], [e['live'] for e in lines]]")" "[[$MARK], [true]]" \
	"a watch started after the traffic gets no stale event as live: only the marker"
expect_eq "$(jlines "$T/w4" "[$K for e in lines if not e['live']][-$(jlines "$T/w1" 'len(lines) - 1'):]")" \
	"$(jlines "$T/w1" "[$K for e in lines][:-1]")" \
	"watch --since 1m: the earlier events, marked history (live: false)"
expect_eq "$(jlines "$T/w4" "[$K for e in lines if e['live']]")" "[$MARK]" \
	"watch --since 1m: then the live ones"
expect_eq "$(jlines "$T/w5" "[[$K for e in lines], [e['live'] for e in lines]]")" \
	"[$(jlines "$T/w1" "[$K for e in lines][-3:-1]"), [false, false]]" \
	"watch --last 2: the last two events of the history, marked history"

# Filters: each selects what it says out of the same history.
watch_bg "$T/all" --json --since 10m
A=$WPID
sleep 1.5
stop_watch "$A"
expect_eq "$(jlines "$T/all" 'len([e for e in lines if not e["live"]]) >= 6')" "true" "the history holds the traffic's events"
# filter NAME PREDICATE ARGS...: the watch's history == the predicate over all
filter() {
	local name=$1 pred=$2 n
	shift 2
	watch_bg "$T/f" --json --since 10m "$@"
	A=$WPID
	sleep 1.5
	stop_watch "$A"
	n=$(jlines "$T/all" "len([e for e in lines if not e['live'] and ($pred)])")
	[ "$n" -gt 0 ] && [ "$n" -lt "$(jlines "$T/all" 'len([e for e in lines if not e["live"]])')" ] ||
		fail "$name: the test's traffic has $n such events: it cannot tell"
	expect_eq "$(jlines "$T/f" "[$K for e in lines if not e['live']]")" \
		"$(jlines "$T/all" "[$K for e in lines if not e['live'] and ($pred)]")" "$name selects exactly its $n events"
}
filter "--iface h-c" 'e["iface"] == "h-c"' --iface h-c
filter "--addr 10.0.0.3/32" '"10.0.0.3" in (e["src"], e["dst"])' --addr 10.0.0.3/32
filter "--addr fd00::/16 (IPv6)" 'e["family"] == 6' --addr fd00::/16
filter "--rule farm.policy:$L_DENY" "(e['origin'] or {}).get('line') == $L_DENY" --rule "farm.policy:$L_DENY"
filter "--rule with the full path" "(e['origin'] or {}).get('line') == $L_DENY" --rule "$POLICY:$L_DENY"
filter "--verdict allow --addr 10.0.0.0/8" 'e["verdict"] == "allow" and e["family"] == 4' --verdict allow --addr 10.0.0.0/8
out=$(lab_xs watch --since 10m --count 1)
expect_match "$out" " history$" "text through the agent: a history line ends with 'history'"
watch_bg "$T/t1" --count 1 --verdict drop
T1=$WPID
sleep 0.5
ping1 c 10.0.0.2
wait "$T1"
expect_match "$(cat "$T/t1")" "^[0-9:.]+ h-c in DROP icmp/8 10\\.0\\.0\\.3 -> 10\\.0\\.0\\.2 other -> right default-in .*/farm\\.policy:4 live$" \
	"text through the agent: the same line as direct mode, ending with 'live'"

# ---- 3. A stalled client -----------------------------------------------------------

watch_bg "$T/ws" --json
WS=$WPID
wait_for 10 streams_are 1 ||
	fail "the stalled watch did not reach the agent"
kill -STOP "$WS"
watch_bg "$T/w6" --json
W6=$WPID
wait_for 10 streams_are 2 ||
	fail "the reading watch did not reach the agent"
# 3000 new UDP flows a -> b (each one event), paced under the allow events' rate
lab_in a python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    s.sendto(b"x", ("10.0.0.2", 2000 + i))
    time.sleep(0.0004)'
ping1 a 10.0.0.2 || fail "a -> b ping after the flood"
wait_for 10 grep -q '"src":"10.0.0.1","dst":"10.0.0.2","icmp_type":8' "$T/w6" ||
	fail "the reading watch did not get the event after the flood"
ok "the reading watch gets the events after the flood while the other is stalled"
read -r dws d6 total < <(status_q "' '.join(str(x) for x in ([s['dropped'] for s in d['events']['streams']['list'] if s['pid'] == $WS] + [s['dropped'] for s in d['events']['streams']['list'] if s['pid'] == $W6] + [d['events']['streams']['dropped_total']]))")
[ "${dws:-0}" -gt 0 ] || fail "status: the agent reports no drops for the stalled watch (${dws:-none})"
ok "status: the agent dropped $dws events for the stalled watch"
expect_eq "$d6:$([ "$total" -ge "$dws" ] && echo ok)" "0:ok" "status: none for the reading watch; dropped_total counts them"
expect_eq "$(status_q '[d["events"]["history"]["events"], d["events"]["history"]["max"]]')" "[2000, 2000]" \
	"the history is bounded (2000 events)"
expect_match "$(lab_xs status)" $'\n  events: read by the agent, history 2000 of 2000, 2 watch streams, '"$total"$' events dropped for slow readers\n' \
	"xdpseg status: the agent reads the events, its history, its streams and their drops"
kill -CONT "$WS"
# (the events after the flood were dropped for it too: it reads what was
# queued, then what it missed)
wait_for 20 grep -q '^{"dropped":' "$T/ws" || fail "the stalled watch, resumed, is not told what it missed"
stop_watch "$WS"
stop_watch "$W6"
expect_eq "$(jlines "$T/ws" '[e["dropped"] for e in lines if "dropped" in e]')" "[$dws]" \
	"the resumed watch prints {\"dropped\":$dws}, what the agent dropped for it"
expect_eq "$(($(jlines "$T/ws" 'len([e for e in lines if "verdict" in e])') + dws))" \
	"$(jlines "$T/w6" 'len([e for e in lines if "verdict" in e])')" \
	"the events the resumed watch got and the ones dropped for it add up to what the other got"

# A history larger than a stream's queue: read at the client's pace, none dropped.
watch_bg "$T/h" --json --since 1h
H=$WPID
wait_for 20 bash -c "[ \$(grep -c '\"live\":false' '$T/h') -ge 2000 ]" ||
	fail "watch --since 1h did not get the 2000 events of the history"
sleep 0.3
stop_watch "$H"
expect_eq "$(jlines "$T/h" '[len(lines), all(not e["live"] for e in lines), any("dropped" in e for e in lines)]')" \
	"[2000, true, false]" "watch --since: the whole history (2000 events, more than a queue holds), none dropped"
watch_bg "$T/l" --json --last 1500 --count 1500
wait "$WPID" || fail "watch --last 1500 --count 1500 exited with $?"
expect_eq "$(jlines "$T/l" "[$K for e in lines]")" "$(jlines "$T/h" "[$K for e in lines][-1500:]")" \
	"watch --last 1500: the last 1500 events of the history"

# A reload with a smaller history keeps the newest.
sed -i 's/^event-history = .*/event-history = 100/' "$CONF"
expect_eq "$(agent_req '{"cmd":"reload"}')" '{"ok":true,"protocol":1,"applied":false,"generation":1}' \
	"reload with event-history = 100"
expect_eq "$(status_q '[d["events"]["history"]["events"], d["events"]["history"]["max"]]')" "[100, 100]" \
	"the history shrank to 100 events"
watch_bg "$T/l" --json --last 100 --count 100
wait "$WPID" || fail "watch --last 100 --count 100 exited with $?"
expect_eq "$(jlines "$T/l" "[$K for e in lines]")" "$(jlines "$T/h" "[$K for e in lines][-100:]")" \
	"it holds the newest 100"

# ---- 4. The agent stops: every stream ends, saying so ---------------------------------

watch_bg "$T/w7" --json
W7=$WPID
wait_for 10 streams_are 1 ||
	fail "the last watch did not reach the agent"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "the agent exited with $? at SIGTERM"
test_untrack "$AGENT_PID"
AGENT_PID=
wait "$W7"
expect_eq "$?:$(tail -1 "$T/w7")" '1:{"error":"the agent stopped: no more events; watch again"}' \
	"a watch through the agent ends with an error when the agent stops"

echo "$XS_CHECKS checks passed"

#!/bin/bash
# xdpseg map end to end: a flow store made by the store's own API (mkstore)
# in a scratch folder, then `xdpseg map` over it judged under
# tests/unit/learn.policy: the exact text, the JSON, the DOT through the real
# `dot -Tsvg`, the SVG by libgvc, and the errors (exit status 2).
# Usage: map-cli.sh XDPSEG MKSTORE SOURCE_ROOT
set -u
xdpseg=$1
mkstore=$2
root=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1
export XDPSEG_POLICY_PATH=policies
# never the host's datapath or agent: the running policy is "not loaded"
export XDPSEG_PIN_DIR=$tmp/pins XDPSEG_STATE_DIR=$tmp/state
fail=0 pass=0
ok() { echo "ok: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
P=tests/unit/learn.policy

# Yesterday 10:00 to 12:00 UTC: one day of the store, inside the default 7d.
T=$((($(date +%s) / 86400 - 1) * 86400 + 36000))
day=$(date -u -d "@$T" +%Y-%m-%d)
at() { date -u -d "@$((T + $1))" +%H:%M:%S; }
# The day's cap is 11 keyed rows: the last three (a scan of clients) aggregate.
"$mkstore" "$tmp/flows.db" 11 <<EOF || exit 1
10.20.1.5 10.10.10.7 6 1494 allow 60 $T clients vda
10.20.1.6 10.10.10.7 6 1494 allow 40 $((T + 3600)) clients vda
10.20.1.5 10.10.10.7 6 2598 allow 5 $((T + 10)) clients vda
10.20.1.5 10.10.10.8 6 445 audit 3 $((T + 100)) clients vda
10.10.10.7 10.10.10.8 6 445 drop 2 $((T + 300)) vda vda
10.10.10.7 10.10.3.1 17 53 allow 500 $((T + 7000)) vda dc
198.51.100.7 10.10.10.7 6 9999 drop 1 $((T + 500)) world vda
198.51.100.9 10.10.10.7 6 9999 drop 2 $((T + 600)) world vda
203.0.113.1 10.10.10.7 6 9999 drop 1 $((T + 800)) world vda
2001:db8:1:2::5 2001:db8:99::1 17 9999 allow 4 $T world world
2001:db8:1:ffff::9 2001:db8:99::2 17 9999 allow 6 $((T + 20)) world world
10.20.9.1 10.10.10.7 6 4001 audit 1 $((T + 4000)) clients vda
10.20.9.2 10.10.10.7 6 4002 audit 1 $((T + 4001)) clients vda
10.20.9.3 10.10.10.7 6 4003 audit 1 $((T + 4002)) clients vda
EOF

# name, expected file, command: stdout compared, exit status 0
expect() {
	local name=$1 want=$2
	shift 2
	"$xdpseg" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ $rc = 0 ] && diff -u "$want" "$tmp/out"; then
		ok "$name"
	else
		bad "$name (exit $rc)"
		cat "$tmp/err"
	fi
}

D="tests/unit/learn.policy:4: segment vda (implicit default in deny out allow)"
cat >"$tmp/want-text" <<EOF
5 segment pairs, 7 services: 4 allowed, 1 audit (dropped when enforcing), 2 dropped; 3 connections aggregated (flood)

clients -> vda: 108 connections from 2 clients, $day $(at 0) .. $(at 4002) UTC
  audit  smb (tcp/445): 3 connections, 1 client, $day $(at 100) UTC
         would be dropped when enforcing (clients is in monitor mode): no rule; vda denies by default: $D
  allow  ica (tcp/1494): 100 connections, 2 clients, $day $(at 0) .. $(at 3600) UTC
         allowed by tests/unit/learn.policy:6: allow clients -> vda : ica, cgp
  allow  cgp (tcp/2598): 5 connections, 1 client, $day $(at 10) UTC
         allowed by tests/unit/learn.policy:6: allow clients -> vda : ica, cgp
  flood  3 connections aggregated (flood): no addresses or ports kept; decided then: 3 audit

vda -> dc: 500 connections from 1 client, $day $(at 7000) UTC
  allow  dns (udp/53): 500 connections, 1 client, $day $(at 7000) UTC
         allowed by tests/unit/learn.policy:7: allow vda -> dc : dns

vda -> vda: 2 connections from 1 client, $day $(at 300) UTC
  drop   smb (tcp/445): 2 connections, 1 client, $day $(at 300) UTC
         dropped: no rule; vda denies by default: $D

world -> vda: 4 connections from 3 clients, $day $(at 500) .. $(at 800) UTC
  drop   tcp/9999: 4 connections, 3 clients, $day $(at 500) .. $(at 800) UTC
         dropped: no rule; vda denies by default: $D

world -> world: 10 connections from 2 clients, $day $(at 0) .. $(at 20) UTC
  allow  udp/9999: 10 connections, 2 clients, $day $(at 0) .. $(at 20) UTC
         allowed: no rule; both defaults allow: world (implicit default in allow out allow)
EOF
"$xdpseg" map --store "$tmp/flows.db" --policy $P >"$tmp/full" 2>"$tmp/err"
rc=$?
tail -n +4 "$tmp/full" >"$tmp/out"
if [ $rc = 0 ] && diff -u "$tmp/want-text" "$tmp/out" &&
	grep -qx "map of $tmp/flows.db since .* UTC (7d): 12 rows" "$tmp/full" &&
	grep -qx "under $P (sha256 [0-9a-f]\{12\})" "$tmp/full"; then
	ok "text"
else
	bad "text (exit $rc)"
	cat "$tmp/full" "$tmp/err"
fi

# --addresses: hosts under their segments, world by /24 and /48
"$xdpseg" map --store "$tmp/flows.db" --policy $P --addresses >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc = 0 ] && grep -qxF "  world: 198.51.100.0/24 (2 addresses), 203.0.113.0/24 (1 address), 2001:db8:1::/48 (2 addresses), 2001:db8:99::/48 (2 addresses)" "$tmp/out" &&
	grep -qxF "    allow  10.20.1.5 -> 10.10.10.7: ica, cgp; 65 connections" "$tmp/out" &&
	grep -qxF "    drop   198.51.100.0/24 -> 10.10.10.7: tcp/9999; 3 connections" "$tmp/out"; then
	ok "addresses"
else
	bad "addresses (exit $rc)"
	cat "$tmp/out" "$tmp/err"
fi

# --json: one object, the same numbers
"$xdpseg" map --store "$tmp/flows.db" --policy $P --json --addresses >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc = 0 ] && python3 - "$tmp/out" <<'EOF'; then
import json, sys
m = json.load(open(sys.argv[1]))
assert m["rows"] == 12 and m["policy"]["file"] == "tests/unit/learn.policy", m
assert [s["name"] for s in m["segments"]] == ["clients", "dc", "vda", "world"]
e = {(x["src"], x["dst"]): x for x in m["edges"]}
assert list(e) == [("clients", "vda"), ("vda", "dc"), ("vda", "vda"), ("world", "vda"), ("world", "world")]
cv = e[("clients", "vda")]
assert [(s["service"], s["port_text"], s["class"], s["connections"], s["clients"]) for s in cv["services"]] == [
    ("smb", "tcp/445", "audit", 3, 1), ("ica", "tcp/1494", "allow", 100, 2), ("cgp", "tcp/2598", "allow", 5, 1)]
assert cv["services"][1]["origin"]["line"] == 6 and cv["services"][0]["monitor_segment"] == "clients"
assert cv["aggregated"] == {"connections": 3, "allow": 0, "audit": 3, "drop": 0}
wv = e[("world", "vda")]["services"][0]
assert wv["service"] is None and wv["port_text"] == "tcp/9999" and wv["class"] == "drop"
assert e[("world", "vda")]["hosts"][0] == {"src": "198.51.100.0/24", "dst": "10.10.10.7", "class": "drop", "connections": 3, "services": ["tcp/9999"]}
EOF
	ok "json"
else
	bad "json (exit $rc)"
	cat "$tmp/out" "$tmp/err"
fi

# --dot through the real dot: segments, or (--addresses) hosts and world's prefixes
for a in "" --addresses; do
	[ -n "$a" ] && node='>198.51.100.0/24</text>' || node='>clients</text>'
	if "$xdpseg" map --store "$tmp/flows.db" --policy $P --dot $a >"$tmp/dot" 2>"$tmp/err" &&
		grep -qF ', color="#d32f2f", fontcolor="#d32f2f", penwidth=2.5];' "$tmp/dot" &&
		dot -Tsvg "$tmp/dot" >"$tmp/svg" 2>"$tmp/err" && grep -q '<svg' "$tmp/svg" &&
		grep -qF "$node" "$tmp/svg"; then
		ok "dot $a"
	else
		bad "dot $a"
		cat "$tmp/dot" "$tmp/err"
	fi
done

# --svg FILE by libgvc
expect svg <(echo "$tmp/map.svg: 4 segments, 5 segment pairs") map --store "$tmp/flows.db" --policy $P --svg "$tmp/map.svg"
if head -1 "$tmp/map.svg" | grep -q '^<?xml' && grep -q '>vda</text>' "$tmp/map.svg" &&
	grep -q '>world</text>' "$tmp/map.svg"; then
	ok "svg file"
else
	bad "svg file"
fi

# errors: exit 2 and a message that says what to do
err() {
	local name=$1 want=$2
	shift 2
	"$xdpseg" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ $rc = 2 ] && grep -qF -- "$want" "$tmp/err"; then
		ok "$name"
	else
		bad "$name (exit $rc)"
		cat "$tmp/out" "$tmp/err"
	fi
}
err no-store "xdpseg map: $tmp/none.db: no flow store there: the agent writes it (its flow-store setting" \
	map --store "$tmp/none.db" --policy $P
err no-policy "xdpseg map: no policy to judge the flows under: pass --policy FILE, or apply one (xdpseg apply FILE)" \
	map --store "$tmp/flows.db"
err two-outputs "--json, --dot and --svg are one output each: pick one" map --json --dot
err since "--since '7': give a number and a unit: 90m, 24h, 7d, 1d12h" map --since 7
err svg-dir "xdpseg map: $tmp/no/map.svg: No such file or directory" \
	map --store "$tmp/flows.db" --policy $P --svg "$tmp/no/map.svg"

# a window that holds nothing
"$xdpseg" map --store "$tmp/flows.db" --policy $P --since 1m >"$tmp/out" 2>"$tmp/err"
if [ $? = 0 ] && grep -q '^no flows seen since .* UTC (1m)$' "$tmp/out"; then
	ok "empty window"
else
	bad "empty window"
	cat "$tmp/out" "$tmp/err"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/bash
# suggest and replay end to end: a flow store made through the store's API
# (mkstore), `xdpseg suggest` from it, `xdpseg check --strict` and `xdpseg
# replay` of the suggestion (exit 0), a candidate missing a service (exit 1
# and the exact grouped line), the JSON twin, usage errors.
# Usage: learn-cli.sh XDPSEG MKSTORE SOURCE_ROOT
set -u
xdpseg=$1 mkstore=$2 root=$3
case $xdpseg in /*) ;; *) xdpseg=$PWD/$xdpseg ;; esac
case $mkstore in /*) ;; *) mkstore=$PWD/$mkstore ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1
export XDPSEG_POLICY_PATH=policies
fail=0
P=tests/unit/suggest.policy

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
# expect RC NAME CMD...: the exit code
expect() {
	local want=$1 name=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ "$rc" = "$want" ]; then ok "$name"; else
		bad "$name: exit $rc, expected $want"
		cat "$tmp/out" "$tmp/err"
	fi
}
# has NAME FILE LINE: FILE has LINE (whole)
has() {
	if grep -qxF -- "$3" "$2"; then ok "$1"; else
		bad "$1: no line '$3' in $2:"
		cat "$2"
	fi
}

# two days of a small farm (seconds ago); the server's port only: never the client's
now=$(date +%s)
while read -r src dst proto port dec ago conns; do
	echo "$src $dst $proto $port $dec $conns $((now - ago)) - -"
done <<'ROWS' | "$mkstore" "$tmp/flows.db" 1000 || bad "mkstore"
10.20.1.5 10.10.10.7 6 1494 audit 3600 10
10.20.1.5 10.10.10.7 6 1494 audit 90000 10
10.20.1.6 10.10.10.7 6 2598 allow 3600 3
10.10.10.7 10.10.3.1 6 53 allow 3600 2
10.10.10.7 10.10.3.1 17 53 allow 3600 5
10.10.10.7 10.10.10.8 6 445 drop 3600 4
203.0.113.10 10.10.10.7 6 443 allow 3600 1
ROWS

expect 0 "suggest" "$xdpseg" suggest --store "$tmp/flows.db" --policy $P --min-days 2
cp "$tmp/out" "$tmp/S.policy"
has "suggest: ica, stable" "$tmp/S.policy" "allow clients -> vda : ica"
has "suggest: cgp" "$tmp/S.policy" "allow clients -> vda : cgp"
has "suggest: dns" "$tmp/S.policy" "allow vda -> dc : dns"
has "suggest: proposed segment" "$tmp/S.policy" "segment unsegmented-1 203.0.113.10"
has "suggest: dropped listed" "$tmp/S.policy" \
	"#   vda -> vda tcp/445 (smb): 4 connections, 1 client, 1 day, first $(date -u -d @$(($(date +%s) - 3600)) +%F), last $(date -u -d @$(($(date +%s) - 3600)) +%F)"
grep -q "^allow vda -> vda" "$tmp/S.policy" && bad "suggest: the dropped flow is allowed"
grep -q "2 days, .*: stable$" "$tmp/S.policy" && ok "suggest: stable over 2 days" ||
	bad "suggest: no stable rule"
expect 0 "check --strict of the suggestion" "$xdpseg" check --strict "$tmp/S.policy"
expect 0 "replay of the suggestion" "$xdpseg" replay "$tmp/S.policy" --store "$tmp/flows.db" --since 2d
has "replay: nothing dropped" "$tmp/out" "would be DROPPED (passed at the time): none"
has "replay: coverage" "$tmp/out" \
	"coverage: 88.6% (31 of 35) of the observed connections allowed by a rule; 100.0% (31 of 31) of those that passed at the time"

# a candidate without cgp: replay exits 1 and names the group and the default
grep -v "^allow clients -> vda : cgp$" "$tmp/S.policy" >"$tmp/C.policy"
line=$(grep -n "^segment vda " "$tmp/C.policy" | cut -d: -f1)
expect 1 "replay of a candidate missing cgp" "$xdpseg" replay "$tmp/C.policy" --store "$tmp/flows.db" --since 2d
has "replay: the grouped line" "$tmp/out" \
	"  clients -> vda cgp: 3 connections, 1 client; drop by default-in: $tmp/C.policy:$line: segment vda (implicit default in deny out allow)"
expect 1 "replay --json" "$xdpseg" replay "$tmp/C.policy" --store "$tmp/flows.db" --since 2d --json
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
g = d["dropped"][0]
assert (g["src"], g["dst"], g["service"], g["connections"], g["reason"]) == ("clients", "vda", "cgp", 3, "default-in"), g
assert d["exit"] == 1 and d["candidate"]["source"] == "file"
assert d["coverage"]["connections"] == 35 and d["coverage"]["by_rule"] == 28
' "$tmp/out" && ok "replay --json fields" || bad "replay --json fields"
# the default window (24h) leaves yesterday's ica out
expect 1 "replay, the default window" "$xdpseg" replay "$tmp/C.policy" --store "$tmp/flows.db"
has "replay: 24h" "$tmp/out" "unchanged: 18 connections pass, 4 stay dropped (6 rows replayed)"

# errors
expect 2 "suggest --segment unknown" "$xdpseg" suggest --store "$tmp/flows.db" --policy $P --segment vdaa
has "suggest --segment: the message" "$tmp/err" \
	"xdpseg suggest: unknown segment 'vdaa': the policy's segments are clients, admins, vda, dc, license, link-local"
expect 2 "replay of a candidate that does not compile" "$xdpseg" replay tests/unit/data/broken.policy --store "$tmp/flows.db"
expect 2 "replay without a store" "$xdpseg" replay "$tmp/S.policy" --store "$tmp/none.db"
expect 2 "replay without a candidate" "$xdpseg" replay --store "$tmp/flows.db"
expect 1 "suggest without a store" "$xdpseg" suggest --policy $P --store "$tmp/none.db"
exit $fail

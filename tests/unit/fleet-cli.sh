#!/bin/bash
# xdpseg publish and xdpseg fleet status end to end on a real etcd
# (tests/common/etcd.sh, a scratch data directory): the pointer's fields,
# "already published", a policy with an error writing nothing, a policy
# whose artefact takes two chunks (concatenated, they are mkartefact's
# bytes), garbage collection with --keep 2, a lost race (fleetrace), and
# the fleet's state from reports put by etcdctl: exact text and JSON.
# Usage: fleet-cli.sh XDPSEG FLEETRACE MKARTEFACT SOURCE_ROOT
set -u
xdpseg=$1
fleetrace=$2
mkartefact=$3
root=$4
tmp=$(mktemp -d)
# shellcheck source=../common/etcd.sh
source "$root/tests/common/etcd.sh"
trap 'etcd_stop; rm -rf "$tmp"' EXIT
command -v etcdctl >/dev/null || {
	echo "SKIP: etcdctl is missing (scripts/setup installs etcd-client)"
	exit 77
}
etcd_start "$tmp/etcd" || exit 1
export XDPSEG_ETCD=$ETCD_URL ETCDCTL_API=3 XDPSEG_POLICY_PATH=$root/policies SUDO_USER=tester
unset XDPSEG_FLEET
fail=0 pass=0
ok() { echo "ok: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
# name, want, got
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		bad "$1"
		diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$3")
	fi
}
ectl() { etcdctl --endpoints "$ETCD_URL" "$@"; }
# KEY: its value, raw bytes (etcdctl's JSON carries them in base64)
value() {
	ectl get "$1" -w json | python3 -c 'import sys, json, base64
kvs = json.load(sys.stdin).get("kvs", [])
sys.stdout.buffer.write(base64.b64decode(kvs[0]["value"]) if kvs else b"")'
}
# KEY FIELD: a field of the JSON document at KEY
field() { value "$1" | python3 -c "import sys, json; print(json.load(sys.stdin)[\"$2\"])"; }
# the store's revision: anything written moves it
revision() { ectl get /xdpseg -w json | python3 -c 'import sys, json; print(json.load(sys.stdin)["header"]["revision"])'; }
# PREFIX: the keys below it, one a line
keys() { ectl get "$1" --prefix --keys-only | sed '/^$/d'; }
K=/xdpseg/v1/default
cd "$tmp" || exit 1

cat >a.policy <<'EOF'
service web tcp/80, tcp/443
segment clients 10.20.0.0/16
segment web 10.10.1.0/24
allow clients -> web : web
EOF
sed 's|tcp/80, tcp/443|tcp/8443|' a.policy >b.policy
"$mkartefact" . a.policy || exit 1
HA=$(sha256sum <a.policy.xsc | cut -d' ' -f1)

# ---- publish: the pointer, its fields, the chunk --------------------------
out=$("$xdpseg" publish a.policy 2>&1)
same "publish: exit 0 and the line" \
	"0 published a.policy as generation 1 of fleet default (sha256 $HA, 1 chunk)" "$? $out"
same "the pointer's fields" "1 $HA 1 $(stat -c %s a.policy.xsc) tester@$(hostname) a.policy" \
	"$(value $K/current | python3 -c 'import sys, json; d = json.load(sys.stdin)
print(d["generation"], d["hash"], d["chunks"], d["size"], d["author"], d["file"])')"
T=$(field $K/current time)
TMS=$(field $K/current time_ms)
[ $((TMS / 1000)) = "$T" ] && [ $((T - $(date +%s))) -le 1 ] && ok "time and time_ms: now" ||
	bad "time $T, time_ms $TMS"
value "$K/bundle/$HA/0000" >chunk
cmp -s chunk a.policy.xsc && ok "the chunk is the artefact" || bad "the chunk is not the artefact"
same "history/1" "$HA" "$(value $K/history/1)"

# ---- again: already; an error: nothing written -----------------------------
rev=$(revision)
out=$("$xdpseg" publish a.policy 2>&1)
same "publish again: already" "0 already published: generation 1" "$? $out"
out=$("$xdpseg" publish --json a.policy 2>&1)
same "publish again --json" "{\"published\":false,\"fleet\":\"default\",\"policy\":\"a.policy\",\"pointer\":{\"generation\":1,\"hash\":\"$HA\",\"chunks\":1,\"size\":$(stat -c %s a.policy.xsc),\"author\":\"tester@$(hostname)\",\"time\":$T,\"time_ms\":$TMS,\"file\":\"a.policy\",\"mod_revision\":$(ectl get $K/current -w json | python3 -c 'import sys, json; print(json.load(sys.stdin)["kvs"][0]["mod_revision"])')}}" "$out"
printf 'segment x 10.0.0.0/8\nallow x -> nowhere : tcp/1\n' >broken.policy
"$xdpseg" check broken.policy >/dev/null 2>want-err
"$xdpseg" publish broken.policy >got-out 2>got-err
same "a policy with an error: exit 1" 1 $?
cmp -s want-err got-err && [ ! -s got-out ] && [ -s got-err ] && ok "its errors as check prints them" ||
	{
		bad "its errors"
		diff want-err got-err
	}
"$xdpseg" publish --json broken.policy >got-out 2>/dev/null
same "--json: the error on stdout" '1 {"error":"broken.policy: 1 error: not published"}' "$? $(cat got-out)"
same "nothing written (the store's revision)" "$rev" "$(revision)"

# ---- a policy above one chunk -----------------------------------------------
{
	echo "service web tcp/80, tcp/443"
	for i in $(seq 0 2999); do echo "segment s$i 10.$((i / 250)).$((i % 250)).0/24"; done
	for i in $(seq 0 2 2998); do echo "allow s$i -> s$((i + 1)) : web"; done
} >big.policy
"$mkartefact" . big.policy || exit 1
HB=$(sha256sum <big.policy.xsc | cut -d' ' -f1)
size=$(stat -c %s big.policy.xsc)
[ "$size" -gt 524288 ] && ok "big.policy's artefact: $size bytes" || bad "big.policy: $size bytes"
out=$("$xdpseg" publish --fleet big big.policy 2>&1)
same "publish big: 2 chunks" "0 published big.policy as generation 1 of fleet big (sha256 $HB, 2 chunks)" "$? $out"
same "the chunks' keys" "/xdpseg/v1/big/bundle/$HB/0000
/xdpseg/v1/big/bundle/$HB/0001" "$(keys /xdpseg/v1/big/bundle/)"
value "/xdpseg/v1/big/bundle/$HB/0000" >c0
value "/xdpseg/v1/big/bundle/$HB/0001" >c1
same "chunk 0: 512 KiB" 524288 "$(stat -c %s c0)"
same "the chunks concatenated: the artefact" "$HB" "$(cat c0 c1 | sha256sum | cut -d' ' -f1)"

# ---- garbage collection: --keep 2 after 4 publishes --------------------------
for i in 1 2 3 4; do
	sed "s|tcp/443|tcp/$((443 + i))|" a.policy >"gc$i.policy"
	"$xdpseg" publish --fleet gc --keep 2 "gc$i.policy" >/dev/null || bad "publish gc$i.policy"
done
"$mkartefact" . gc3.policy gc4.policy || exit 1
H3=$(sha256sum <gc3.policy.xsc | cut -d' ' -f1)
H4=$(sha256sum <gc4.policy.xsc | cut -d' ' -f1)
same "two bundles left: generations 3 and 4" "$(printf '%s\n' "$H3" "$H4" | sort)" \
	"$(keys /xdpseg/v1/gc/bundle/ | cut -d/ -f6 | sort -u)"
same "two history entries left" "/xdpseg/v1/gc/history/3
/xdpseg/v1/gc/history/4" "$(keys /xdpseg/v1/gc/history/)"
# generation 1's policy again: generation 5, its bundle back, generation 3's gone
"$xdpseg" publish --fleet gc --keep 2 gc1.policy >/dev/null || bad "publish gc1.policy again"
"$mkartefact" . gc1.policy || exit 1
H1=$(sha256sum <gc1.policy.xsc | cut -d' ' -f1)
same "gc1 again: the bundles of generations 4 and 5" "$(printf '%s\n' "$H1" "$H4" | sort)" \
	"$(keys /xdpseg/v1/gc/bundle/ | cut -d/ -f6 | sort -u)"

# ---- a lost race: the pointer moved between the read and the transaction -----
out=$("$fleetrace" "$ETCD_URL" race)
same "a lost race: EAGAIN, the message, the rival's pointer" "0 another publish moved the pointer first (generation 1 by rival@test): run it again (EAGAIN)
pointer: generation 1 by rival@test" "$? $out"

# ---- fleet status --------------------------------------------------------------
"$xdpseg" publish b.policy >/dev/null || bad "publish b.policy"
"$mkartefact" . b.policy || exit 1
HBP=$(sha256sum <b.policy.xsc | cut -d' ' -f1)
T=$(field $K/current time)
TMS=$(field $K/current time_ms)
lease=$(ectl lease grant 90 | awk '{print $2}')
# NAME HASH GEN APPLIED_MS STATE ERROR
report() {
	local doc
	doc="{\"host\":\"$1\",\"hash\":\"$2\",\"generation\":$3,\"applied\":$(($4 / 1000)),\"applied_ms\":$4,\"time\":$T,\"state\":\"$5\",\"error\":\"$6\",\"interfaces\":2,\"protected\":2,\"packets\":10,\"drops\":1,\"version\":\"0.1.0\"}"
	ectl put "$K/status/$1" "$doc" --lease="$lease" >/dev/null
	ectl put "$K/seen/$1" "$doc" >/dev/null
}
report hv-a "$HBP" 2 $((TMS + 120)) current ""
report hv-b "$HBP" 2 $((TMS + 480)) current ""
report hv-c "$HA" 1 $((TMS - 60000)) current ""
report hv-d "$HA" 1 $((TMS - 60000)) failing "bundle $HBP: hash mismatch"
ectl put "$K/seen/hv-e" "{\"host\":\"hv-e\",\"hash\":\"$HA\",\"generation\":1,\"applied\":$((T - 600)),\"applied_ms\":$(((T - 600) * 1000)),\"time\":$((T - 300)),\"state\":\"current\",\"error\":\"\",\"interfaces\":1,\"protected\":1,\"packets\":0,\"drops\":0,\"version\":\"0.1.0\"}" >/dev/null
ectl put "$K/status/hv-f" '{"host":"hv-f","hash":"'"$HA"'"' --lease="$lease" >/dev/null
ectl put "$K/status/not a name" '{}' --lease="$lease" >/dev/null
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
cat >want <<EOF
fleet default: generation 2, sha256 $HBP
  published $(at "$T") by tester@$(hostname) from b.policy (1 chunk, $(stat -c %s b.policy.xsc) bytes)
hosts: 6: 2 current, 1 behind, 2 failing, 1 lost
converged: p50 120 ms, p99 480 ms, max 480 ms

HOST  STATE    GEN    APPLIED               CONVERGED  ERROR
hv-a  current  2      $(at $(((TMS + 120) / 1000)))  120 ms     -
hv-b  current  2      $(at $(((TMS + 480) / 1000)))  480 ms     -
hv-c  behind   1      $(at $(((TMS - 60000) / 1000)))  -          -
hv-d  failing  1      $(at $(((TMS - 60000) / 1000)))  -          bundle $HBP: hash mismatch
hv-e  lost     1      $(at $((T - 600)))  -          -
hv-f  failing  -      -                     -          bad report: not JSON: truncated
EOF
"$xdpseg" fleet status >got 2>got-err
same "fleet status: exit 3 (hosts behind, failing, lost)" "3 " "$? $(cat got-err)"
diff -u want got && ok "fleet status: the text" || bad "fleet status: the text"
"$xdpseg" fleet status --json >got.json 2>got-err
same "fleet status --json: exit 3" "3 " "$? $(cat got-err)"
same "fleet status --json: the summary" "default True 2 $HBP tester@$(hostname) {'hosts': 6, 'current': 2, 'behind': 1, 'failing': 2, 'lost': 1} {'p50_ms': 120, 'p99_ms': 480, 'max_ms': 480}" \
	"$(python3 -c 'import sys, json; d = json.load(open("got.json"))
c = d["current"]
print(d["fleet"], d["published"], c["generation"], c["hash"], c["author"], d["counts"], d["converge"])')"
same "fleet status --json: the hosts" "hv-a current 2 120 
hv-b current 2 480 
hv-c behind 1 None 
hv-d failing 1 None bundle $HBP: hash mismatch
hv-e lost 1 None 
hv-f failing 0 None bad report: not JSON: truncated" \
	"$(python3 -c 'import sys, json
for h in json.load(open("got.json"))["hosts"]:
    print(h["host"], h["state"], h["generation"], h["converge_ms"], h["error"])')"

# an empty fleet; bad names and endpoints
same "an empty fleet" "fleet none: nothing published
hosts: 0: 0 current, 0 behind, 0 failing, 0 lost
converged: no host on the current policy" "$("$xdpseg" fleet status --fleet none 2>&1)"
out=$("$xdpseg" fleet status --fleet ../x 2>&1)
same "a bad fleet name: exit 2" "2 xdpseg: '../x' is not a fleet name (1-63 of A-Z a-z 0-9 . _ -)
Try 'xdpseg fleet --help'." "$? $out"
out=$(XDPSEG_ETCD=ftp://x "$xdpseg" publish a.policy 2>&1)
[ $? = 2 ] && [[ $out == "xdpseg: --etcd: "* ]] && ok "a bad endpoint: exit 2 ($out)" || bad "a bad endpoint: $out"

# etcd's authentication: a user with a password file (its first line)
{ ectl user add root:s3cret && ectl user grant-role root root && ectl auth enable; } >/dev/null 2>&1 ||
	bad "etcd auth enable"
printf 's3cret\nignored\n' >pw
out=$("$xdpseg" publish a.policy 2>&1)
[ $? = 1 ] && [[ $out == *"user name is empty"* || $out == *"permission denied"* || $out == *"invalid auth token"* ]] &&
	ok "auth enabled: refused without a user ($out)" || bad "auth enabled, no user: $out"
out=$("$xdpseg" fleet status --user root --password-file pw 2>&1 | head -1)
same "--user with --password-file" "fleet default: generation 2, sha256 $HBP" "$out"
out=$("$xdpseg" publish --user root --password-file missing a.policy 2>&1)
same "a password file missing" "1 xdpseg: error: --password-file missing: No such file or directory" "$? $out"
ectl --user root:s3cret auth disable >/dev/null

# on a host of the fleet: the configuration's etcd, fleet and credentials
# stand for the options (the environment, then the options, before them)
cat >fleet.conf <<EOF
etcd = $ETCD_URL
fleet = default
EOF
out=$(env -u XDPSEG_ETCD -u XDPSEG_FLEET XDPSEG_CONFIG=$PWD/fleet.conf "$xdpseg" fleet status 2>&1 | head -1)
same "the configuration's etcd and fleet" "fleet default: generation 2, sha256 $HBP" "$out"
out=$(env -u XDPSEG_ETCD -u XDPSEG_FLEET XDPSEG_CONFIG=$PWD/fleet.conf "$xdpseg" fleet status --fleet none 2>&1 | head -1)
same "--fleet before the configuration's" "fleet none: nothing published" "$out"
printf 'etcd = ftp://nowhere\nfleet = default\n' >bad.conf
out=$(env -u XDPSEG_ETCD XDPSEG_CONFIG=$PWD/bad.conf "$xdpseg" fleet status 2>&1)
[ $? != 0 ] && [[ $out == *"bad.conf"* ]] && ok "a configuration with an error is refused, named ($out)" ||
	bad "a bad configuration: $out"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

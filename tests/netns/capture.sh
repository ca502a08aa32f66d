#!/usr/bin/env bash
# Observability of drops with real traffic: a denied SYN flood through an
# attached interface, then every verdict and reason of `stats --json` keeps
# the accounting invariant (packets = events sent + rate-limited + lost +
# none) and the drop events watch read are the ones counted as sent; and
# `watch --pcap FILE` wrote the dropped packets' first bytes, which tcpdump
# reads back, with a sidecar naming the rule FILE:LINE of each.
source "$(dirname "$0")/common.sh"
if ! command -v tcpdump >/dev/null; then
	echo "SKIP: tcpdump is missing (scripts/setup installs it)"
	exit 77
fi
test_lab_init "$1"
CRAFT=$XS_SRCDIR/tests/netns/craft.py

POLICY=$LAB_TMP/capture.policy
cat >"$POLICY" <<'EOF'
segment clients 10.20.0.0/16
segment vda     10.10.10.0/24
allow clients -> vda : tcp/443
deny  clients -> vda : tcp/23
default vda in deny out deny
EOF
L_DENY=4

lab_host
lab_vm client 10.20.0.10
lab_vm vda 10.10.10.11
lab_xs apply "$POLICY" >/dev/null || fail "apply"
lab_xs attach h-client h-vda >/dev/null || fail "attach"
VDA_MAC=$(lab_in vda ip -o link show dev eth0 | grep -oE 'link/ether [0-9a-f:]+' | cut -d' ' -f2)
lab_in client ip neigh replace 10.10.10.11 lladdr "$VDA_MAC" dev eth0 nud reachable

PCAP=$LAB_TMP/drops.pcap
lab_spawn host 60 "$LAB_XDPSEG" watch --json --verdict drop --pcap "$PCAP" \
	>"$LAB_TMP/events" 2>"$LAB_TMP/watch.err"
WATCH=$LAB_SPAWNED
for _ in $(seq 50); do [ -s "$PCAP" ] && break; sleep 0.1; done
[ -s "$PCAP" ] || fail "watch --pcap did not create $PCAP: $(cat "$LAB_TMP/watch.err")"
ok "watch --pcap made the pcap file"

# A denied datagram longer than the snap length (128 by default), then the flood.
head -c 500 /dev/zero | lab_in client socat -u - UDP:10.10.10.11:5000 ||
	fail "sending the UDP datagram"
lab_in client python3 "$CRAFT" flood eth0 "$VDA_MAC" 10.20.0.10 10.10.10.11 23 3000 ||
	fail "craft.py flood"
lab_tcp client vda 10.10.10.11 443 || fail "client -> vda tcp/443 (allowed) did not work"
ok "a denied UDP datagram, a flood of 3000 denied SYNs, an allowed connection"
sleep 0.5

# ---- the accounting invariant ----------------------------------------------
lab_xs stats --json >"$LAB_TMP/stats.json" || fail "stats --json"
python3 - "$LAB_TMP/stats.json" "$L_DENY" >"$LAB_TMP/check" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rows = [r for r in s["verdicts"] if r["packets"]]
bad = [r for r in rows if r["packets"] != sum(r["events"].values()) or not r["balanced"]]
if bad:
    sys.exit("unbalanced rows: %s" % bad)
if not s["balanced"]:
    sys.exit("stats says the invariant does not hold")
deny = [r for r in rows if (r["verdict"], r["reason"]) == ("drop", "deny-rule")]
if not deny:
    sys.exit("no drop/deny-rule row")
d = deny[0]
# the flood is far past the drop events' burst (200): most are rate-limited
if d["packets"] < 1000 or d["events"]["ratelimited"] < 500 or d["events"]["sent"] < 1:
    sys.exit("drop/deny-rule row: %s" % d)
est = [r for r in rows if r["reason"] == "established"]
if not est or est[0]["events"]["none"] != est[0]["packets"]:
    sys.exit("established packets are not counted as no-event: %s" % est)
print(len(rows), d["packets"], d["events"]["sent"], d["events"]["ratelimited"])
PY
[ $? = 0 ] || fail "stats --json: $(cat "$LAB_TMP/check")"
read -r nrows flood sent rl <"$LAB_TMP/check"
ok "stats: packets = sent + rate-limited + lost + none on all $nrows rows ($flood denied SYNs: $sent events, $rl rate-limited)"
txt=$(lab_xs stats)
expect_match "$txt" "drop +deny-rule +$flood +[0-9]+ +$sent +$rl +0 +0"$'\n' \
	"stats text: the deny rule's row with each term"
expect_match "$txt" "accounting: every packet has one event outcome" \
	"stats text says the invariant holds"

# ---- watch --pcap -----------------------------------------------------------
kill -INT "$WATCH"
wait "$WATCH"
expect_eq "$?" 0 "watch --pcap exits cleanly on SIGINT"
seen=$(grep -c '"reason":"deny-rule"' "$LAB_TMP/events")
expect_eq "$seen" "$sent" "watch read exactly the deny-rule events stats counts as sent"
npkts=$(tcpdump -r "$PCAP" -nn 2>/dev/null | wc -l)
expect_match "$(cat "$LAB_TMP/watch.err")" "^xdpseg: $npkts packets written to $PCAP " \
	"watch says how many packets it wrote"
tcpdump -r "$PCAP" -nn >"$LAB_TMP/tcpdump" 2>"$LAB_TMP/tcpdump.err" ||
	fail "tcpdump -r: $(cat "$LAB_TMP/tcpdump.err")"
expect_match "$(cat "$LAB_TMP/tcpdump.err")" "link-type EN10MB" "tcpdump reads an Ethernet pcap"
expect_match "$(head -1 "$LAB_TMP/tcpdump")" \
	"IP 10\.20\.0\.10\.[0-9]+ > 10\.10\.10\.11\.5000: UDP, length 500" \
	"tcpdump shows the denied datagram first (addresses, port, its real length)"
expect_match "$(cat "$LAB_TMP/tcpdump")" \
	"IP 10\.20\.0\.10\.10000 > 10\.10\.10\.11\.23: Flags \[S\]" \
	"tcpdump shows the flood's first denied SYN"
expect_eq "$npkts" "$(grep -c '"verdict":"drop"' "$LAB_TMP/events")" \
	"the pcap holds every drop event watch read"

SIDE=$PCAP.meta.ndjson
expect_eq "$(wc -l <"$SIDE")" "$npkts" "the sidecar has one line per packet"
python3 - "$SIDE" "$POLICY" "$L_DENY" <<'PY' || fail "sidecar: $(head -2 "$SIDE")"
import json, sys
path, policy, line = sys.argv[1:]
lines = [json.loads(l) for l in open(path)]
u = lines[0]
assert u["index"] == 1 and u["verdict"] == "drop" and u["reason"] == "default-in", u
assert u["iface"] == "h-client" and u["dir"] == "in", u
# 14 + 20 + 8 + 500 bytes on the wire, the first 128 kept
assert (u["len"], u["caplen"]) == (542, 128), u
s = lines[1]
assert s["index"] == 2 and s["reason"] == "deny-rule", s
assert s["rule"] == "%s:%s" % (policy, line), s
assert s["src_seg"] == "clients" and s["dst_seg"] == "vda" and s["generation"] >= 1, s
assert (s["len"], s["caplen"]) == (54, 54), s
assert [l["index"] for l in lines] == list(range(1, len(lines) + 1))
PY
ok "sidecar: index, interface, direction, verdict, reason, rule FILE:LINE, lengths"
out=$(tcpdump -r "$PCAP" -nn -c 1 -x 2>/dev/null | sed -n 2p | tr -d ' \t')
expect_match "$out" "^0x0000:45000210" "the bytes are the packet's own (IPv4, total length 528)"

# A pcap needs a file to sit beside.
err=$(lab_xs watch --pcap - 2>&1)
expect_eq "$?" 1 "watch --pcap - fails"
expect_eq "$err" "xdpseg: error: pcap file '-': name a file (its sidecar, FILE.meta.ndjson, sits beside it)" \
	"watch --pcap - says why"
ln -s /nonexistent/x "$LAB_TMP/link.pcap"
err=$(lab_xs watch --pcap "$LAB_TMP/link.pcap" 2>&1)
expect_eq "$?" 1 "watch --pcap refuses a symbolic link"
expect_match "$err" "cannot create the pcap file $LAB_TMP/link\.pcap" "and names the file"

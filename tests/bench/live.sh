#!/usr/bin/env bash
# Live veth benchmark (scripts/bench --live; not a test): packets per second
# a filter on a veth's ingress gets through, all filters side by side in one
# run.
#
# xdpseg-gen (AF_PACKET TX ring, pinned to the last CPU, 64-byte frames)
# sends from the namespace xsb-PID-tx for SECS seconds:
#   flood: TCP SYNs to tcp/23 of 10.97.0.2, every frame a new source in
#          10.99.0.0/16 and source port: a port no rule allows;
#   udp:   one UDP flow 10.98.0.1:5000 -> 10.97.0.2:5001, which every
#          filter allows (and the stateful ones track).
# Each filter has a receiving namespace of its own, xsb-PID-FILTER, joined to
# tx by a veth pair, and stays up for the whole run; a round measures every
# filter with both traffics (the order reversed every other round), so noise
# from the rest of the machine falls on all of them alike:
#   none      no filter: the stack answers each SYN with a RST
#   drop      the XDP drop floor: xs_bench_drop (bench.bpf.c), native XDP
#   xdpseg    `xdpseg attach` + `xdpseg apply` of a 1,000-rule policy
#   nftables  a 1,000-element concatenated verdict map (saddr . daddr .
#             l4proto . dport) at priority raw, policy drop; conntrack
#             behind it (ct state established,related accept)
#   iptables  1,000 rules in the raw table's PREROUTING, policy DROP (the
#             flood's DROP rule and the stream's ACCEPT rule last);
#             conntrack behind it (filter INPUT, --ctstate ESTABLISHED)
#   xdpfilter xdp-filter load --mode native, all features (xdpfilt_alw_all),
#             tcp dst port 23 denied
# A cell is the receiving veth's frames (its rx counter, which counts the
# frames an XDP program dropped too) over the generator's time. It is
# checked: a dropped flood must not reach TCP (TcpInSegs), a passed stream
# must reach UDP, and xdpseg's and xdp-filter's own counters must show the
# verdict; a cell that fails is marked '!'. The table: median of the rounds.
#
# Usage: live.sh XDPSEG XDPSEG-GEN BENCH.BPF.O [--rounds N] [--secs S]
#                [--filters a,b,...] [--pair]
# (--pair: the flood's source segment has no rule to the destination at
# all, a denied pair, instead of a rule for another port.) Root.
# Everything it makes is gone at exit, also on failure or a signal: the
# namespaces (and the rules in them), the programs, the pins under
# /sys/fs/bpf/xsb-PID and xdp-filter's.
set -euo pipefail
XS=$(readlink -f "$1")
GEN=$(readlink -f "$2")
OBJ=$(readlink -f "$3")
shift 3
ROUNDS=9
SECS=1
FILTERS=none,drop,xdpseg,nftables,iptables,xdpfilter
PAIR=
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--secs) SECS=$2; shift 2 ;;
	--filters) FILTERS=$2; shift 2 ;;
	--pair) PAIR=1; shift ;;
	*) echo "usage: live.sh XDPSEG XDPSEG-GEN BENCH.BPF.O [--rounds N] [--secs S] [--filters a,b] [--pair]" >&2
	   exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "live.sh: needs root (namespaces, XDP)" >&2; exit 1; }

SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../scripts/lib/lab.sh
source "$SRCDIR/scripts/lib/lab.sh" # lab_reap_stale
lab_reap_stale xsb-

PREFIX=xsb-$$
TX=$PREFIX-tx
PIN=/sys/fs/bpf/$PREFIX
TMP=$(mktemp -d "/tmp/$PREFIX-XXXX")
CPU=$(($(nproc) - 1))
DUT=10.97.0.2
FLOOD_NET=10.99.0.0
FLOOD_PORT=23
UDP_SRC=10.98.0.1
UDP_PORT=5001
NRULES=1000
PY=$(command -v /usr/bin/python3 || command -v python3) # not a slow shim per cell
# xdpseg: a lab's own pins, state, configuration and socket (as lab.sh)
export XDPSEG_PIN_DIR=$PIN/xdpseg XDPSEG_STATE_DIR=$TMP/state
export XDPSEG_CONFIG=$TMP/xdpseg.conf XDPSEG_AGENT_SOCK=$TMP/agent.sock
# libxdp (xdp-filter): its lock directory ours, no dispatcher
export LIBXDP_BPFFS=$PIN/libxdp LIBXDP_SKIP_DISPATCHER=1
XF_OURS=
XF_SKIP=
RXNS=()
SINKS=()

in_tx() { nsenter --net="/run/netns/$TX" -- "$@"; }

cleanup() {
	local rc=$? p n left
	trap - EXIT INT TERM
	for p in "${SINKS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SINKS[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -d "$XDPSEG_PIN_DIR" ] && [ -e "/run/netns/$PREFIX-xdpseg" ]; then
		nsenter --net="/run/netns/$PREFIX-xdpseg" -- "$XS" detach --all >/dev/null 2>&1 || true
	fi
	if [ -n "$XF_OURS" ] && [ -e "/run/netns/$PREFIX-xdpfilter" ]; then
		nsenter --net="/run/netns/$PREFIX-xdpfilter" -- xdp-filter unload --all >/dev/null 2>&1 || true
	fi
	for n in "${RXNS[@]}" "$TX"; do
		[ -e "/run/netns/$n" ] && { ip netns del "$n" 2>/dev/null || true; }
	done
	# unload removed xdp-filter's pins (which did not exist before us)
	[ -n "$XF_OURS" ] && rm -rf /sys/fs/bpf/xdp-filter
	rm -rf "$PIN" "$TMP"
	left=$(find /sys/fs/bpf -maxdepth 1 -name "$PREFIX*" 2>/dev/null; ip netns list | grep "^$PREFIX" || true)
	[ -z "$left" ] || echo "live.sh: left behind: $left" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- what each filter is given ------------------------------------------------

# The filler rules: NRULES-2 pairs of 100 segments 10.200.N.0/24, one tcp
# port each (all distinct): "A B PORT" per line.
fillers() {
	awk -v n=$((NRULES - 2)) 'BEGIN { for (k = 0; k < n; k++)
		printf "%d %d %d\n", k % 100 + 1, (k / 100 + k) % 100 + 1, 1000 + k }'
}

{
	echo "# scripts/bench --live: $NRULES rules"
	echo "segment dut $DUT"
	echo "segment gen $UDP_SRC/16"
	echo "segment attackers $FLOOD_NET/16"
	for i in $(seq 100); do echo "segment f$i 10.200.$i.0/24"; done
	echo "allow gen -> dut : udp/$UDP_PORT"
	if [ -n "$PAIR" ]; then
		echo "deny attackers -> dut"
	else
		echo "allow attackers -> dut : tcp/443   # not the flood's port"
	fi
	fillers | awk '{ printf "allow f%d -> f%d : tcp/%d\n", $1, $2, $3 }'
} >"$TMP/live.policy"

{
	echo "table ip xsb {"
	echo "  map rules {"
	echo "    type ipv4_addr . ipv4_addr . inet_proto . inet_service : verdict"
	echo "    flags interval"
	echo "    elements = {"
	echo "      $UDP_SRC/16 . $DUT . udp . $UDP_PORT : accept,"
	echo "      $FLOOD_NET/16 . $DUT . tcp . $FLOOD_PORT : drop,"
	fillers | awk '{ printf "      10.200.%d.0/24 . 10.200.%d.0/24 . tcp . %d : accept,\n", $1, $2, $3 }'
	echo "    }"
	echo "  }"
	echo "  chain raw {"
	echo "    type filter hook prerouting priority raw; policy drop;"
	echo "    ip saddr . ip daddr . meta l4proto . th dport vmap @rules"
	echo "  }"
	echo "  chain track {"
	echo "    type filter hook prerouting priority filter; policy accept;"
	echo "    ct state established,related accept"
	echo "  }"
	echo "}"
} >"$TMP/live.nft"

{
	echo "*raw"
	echo ":PREROUTING DROP [0:0]"
	fillers | awk '{ printf "-A PREROUTING -s 10.200.%d.0/24 -d 10.200.%d.0/24 -p tcp --dport %d -j ACCEPT\n", $1, $2, $3 }'
	echo "-A PREROUTING -s $UDP_SRC/16 -d $DUT -p udp --dport $UDP_PORT -j ACCEPT"
	echo "-A PREROUTING -s $FLOOD_NET/16 -d $DUT -p tcp --dport $FLOOD_PORT -j DROP"
	echo "COMMIT"
	echo "*filter"
	echo ":INPUT ACCEPT [0:0]"
	echo "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
	echo "COMMIT"
} >"$TMP/live.iptables"

mkdir -p "$PIN"
bpftool prog loadall "$OBJ" "$PIN/progs" >/dev/null

if ! command -v xdp-filter >/dev/null; then
	XF_SKIP="xdp-filter is not installed (scripts/setup installs xdp-tools)"
elif [ -e /sys/fs/bpf/xdp-filter ]; then
	XF_SKIP="/sys/fs/bpf/xdp-filter exists: xdp-filter is in use on this machine"
fi

# ---- the network: one receiving namespace per filter -------------------------------

# One tx namespace; per filter F an rx namespace xsb-PID-F joined to it by a
# veth pair (xt-F in tx, xr-F in rx) with pkt.c's MAC addresses. rx owns DUT
# and reaches the senders through tx (a permanent neighbour: no ARP). An XDP
# drop program on each tx end takes whatever rx sends back (RSTs), so the
# sending CPU does not also run tx's stack. All filters stay up for the whole
# run, so rounds can interleave them second by second.
rxns() { echo "$PREFIX-$1"; }
in_rx() {
	local f=$1
	shift
	nsenter --net="/run/netns/$(rxns "$f")" -- "$@"
}

net_up() {
	local f=$1 rx t=xt-$1 r=xr-$1
	rx=$(rxns "$f")
	ip netns add "$rx"
	RXNS+=("$rx")
	in_tx ip link add "$t" type veth peer name "$r" netns "$rx"
	in_tx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	in_rx "$f" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	in_tx ip link set "$t" address 02:00:00:00:00:01 up
	in_rx "$f" ip link set lo up
	in_rx "$f" ip link set "$r" address 02:00:00:00:00:02 up
	in_rx "$f" ip addr add "$DUT/32" dev "$r"
	in_rx "$f" ip neigh add 10.96.0.1 lladdr 02:00:00:00:00:01 dev "$r" nud permanent
	in_rx "$f" ip route add 10.96.0.0/12 via 10.96.0.1 dev "$r" onlink
	in_tx bpftool net attach xdpdrv pinned "$PIN/progs/xs_bench_drop" dev "$t"
	# the stream's receiver: a socket never read (once its buffer is full,
	# each datagram is dropped by UDP, the same for every filter); nsenter
	# itself in the background, so that $! is the process python becomes
	nsenter --net="/run/netns/$rx" -- "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind((sys.argv[1], int(sys.argv[2])))
time.sleep(86400)' "$DUT" "$UDP_PORT" </dev/null >/dev/null 2>&1 &
	SINKS+=("$!")
}

filter_up() {
	local f=$1 r=xr-$1
	case $f in
	none) ;;
	drop) in_rx "$f" bpftool net attach xdpdrv pinned "$PIN/progs/xs_bench_drop" dev "$r" ;;
	xdpseg)
		in_rx "$f" "$XS" attach "$r" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; return 1; }
		in_rx "$f" "$XS" apply "$TMP/live.policy" >/dev/null 2>"$TMP/err" || { cat "$TMP/err" >&2; return 1; }
		;;
	nftables) in_rx "$f" nft -f "$TMP/live.nft" ;;
	iptables) in_rx "$f" iptables-restore "$TMP/live.iptables" ;;
	xdpfilter)
		XF_OURS=1
		in_rx "$f" xdp-filter load --mode native --features tcp,udp,ipv4,ipv6,ethernet "$r"
		in_rx "$f" xdp-filter port --proto tcp --mode dst "$FLOOD_PORT"
		;;
	*) echo "live.sh: unknown filter '$f'" >&2; return 1 ;;
	esac
}

# "RX_FRAMES TCP_IN UDP_IN" in F's namespace: the veth's received frames (XDP
# drops included), segments that reached TCP, datagrams that reached UDP.
counters() {
	in_rx "$1" awk -v ifc="xr-$1:" '
		FILENAME == "/proc/net/dev" && $1 == ifc { rx = $3 }
		FILENAME == "/proc/net/snmp" && $1 == "Tcp:" { if (th) tcp = $(ti) ; else { th = 1; for (i = 1; i <= NF; i++) if ($i == "InSegs") ti = i } }
		FILENAME == "/proc/net/snmp" && $1 == "Udp:" { if (uh) udp = $(u1) + $(u2) + $(u3); else { uh = 1; for (i = 1; i <= NF; i++) { if ($i == "InDatagrams") u1 = i; if ($i == "NoPorts") u2 = i; if ($i == "InErrors") u3 = i } } }
		END { print rx + 0, tcp + 0, udp + 0 }' /proc/net/dev /proc/net/snmp
}

# The filter's own count of packets with the verdict a traffic should get
# (drop for the flood, pass for the stream), or "-" when it has none.
own_count() {
	local f=$1 traffic=$2
	case $f in
	xdpseg)
		in_rx "$f" "$XS" stats --json | "$PY" -c '
import json, sys
want = "drop" if sys.argv[1] == "flood" else "allow"
print(sum(v["packets"] for v in json.load(sys.stdin)["verdicts"] if v["verdict"] == want))' "$traffic" ;;
	xdpfilter)
		in_rx "$f" xdp-filter status | awk -v w="$([ "$traffic" = flood ] && echo XDP_DROP || echo XDP_PASS)" \
			'$1 == w { print $2; exit }' ;;
	*) echo - ;;
	esac
}

# measure FILTER TRAFFIC ROUND FIRST: one cell, appended to $TMP/results as
# "ROUND FILTER TRAFFIC PPS SENT_PPS OK|!". The flood starts at tuple FIRST.
measure() {
	local f=$1 traffic=$2 round=$3 b a ob oa out frames secs ok=ok
	local args=(--type syn --src "$FLOOD_NET" --dst "$DUT" --dport "$FLOOD_PORT" --first "$4")
	[ "$traffic" = udp ] && args=(--type udp --src "$UDP_SRC" --sport 5000 --dst "$DUT" --dport "$UDP_PORT")
	read -r -a b <<<"$(counters "$f")"
	ob=$(own_count "$f" "$traffic")
	out=$(in_tx "$GEN" "xt-$f" "${args[@]}" --secs "$SECS" --cpu "$CPU")
	read -r -a a <<<"$(counters "$f")"
	oa=$(own_count "$f" "$traffic")
	frames=${out#frames=}
	frames=${frames%% *}
	secs=${out#*secs=}
	secs=${secs%% *}
	local rx=$((a[0] - b[0])) tcp=$((a[1] - b[1])) udp=$((a[2] - b[2]))
	# a check allows 1% of stray frames either way
	case $f/$traffic in
	none/flood) [ $((tcp * 100)) -ge $((rx * 99)) ] || ok='!' ;;
	*/flood) [ $((tcp * 100)) -le "$rx" ] || ok='!' ;;
	drop/udp) [ $((udp * 100)) -le "$rx" ] || ok='!' ;;
	*/udp) [ $((udp * 100)) -ge $((rx * 99)) ] || ok='!' ;;
	esac
	if [ "$ob" != - ] && [ $(((oa - ob) * 100)) -lt $((rx * 99)) ]; then
		ok='!'
	fi
	[ "$rx" -gt 0 ] || ok='!'
	[ "$ok" = ok ] || echo "live.sh: $f/$traffic, round $round: $rx frames received, $tcp reached" \
		"TCP, $udp reached UDP; the filter's own count: $([ "$ob" = - ] && echo - || echo $((oa - ob)))" >&2
	awk -v r="$round" -v f="$f" -v t="$traffic" -v rx="$rx" -v n="$frames" -v s="$secs" -v ok="$ok" \
		'BEGIN { printf "%s %s %s %.0f %.0f %s\n", r, f, t, rx / s, n / s, ok }' >>"$TMP/results"
}

# ---- the run -----------------------------------------------------------------------

IFS=, read -r -a rows <<<"$FILTERS"
if [ -n "$XF_SKIP" ]; then
	keep=()
	for f in "${rows[@]}"; do [ "$f" = xdpfilter ] || keep+=("$f"); done
	rows=("${keep[@]}")
fi
t0=$SECONDS
ip netns add "$TX"
for f in "${rows[@]}"; do
	net_up "$f"
	filter_up "$f"
done
echo "live: ${#rows[@]} filters x 2 traffics x $ROUNDS rounds of ${SECS} s, generator on CPU $CPU" \
	"(set up in $((SECONDS - t0)) s) ..."
: >"$TMP/results"
cell=0
for r in $(seq "$ROUNDS"); do
	order=("${rows[@]}")
	if [ $((r % 2)) = 0 ]; then
		order=()
		for ((i = ${#rows[@]} - 1; i >= 0; i--)); do order+=("${rows[i]}"); done
	fi
	for f in "${order[@]}"; do
		# every flood run starts at tuples no run has sent (16M apart)
		cell=$((cell + 1))
		if [ $((r % 2)) = 1 ]; then
			measure "$f" flood "$r" $((cell << 24))
			measure "$f" udp "$r" 0
		else
			measure "$f" udp "$r" 0
			measure "$f" flood "$r" $((cell << 24))
		fi
	done
	echo "  round $r/$ROUNDS done ($((SECONDS - t0)) s)"
done

# ---- the report ---------------------------------------------------------------------

ipt=$(iptables -V 2>/dev/null || echo "iptables ?")
nftv=$(nft -v 2>/dev/null || echo "nft ?")
xfv=$(dpkg-query -W -f='xdp-tools ${Version}' xdp-tools 2>/dev/null || echo "xdp-tools ?")
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
"$PY" - "$TMP/results" "$ROUNDS" "$SECS" "$CPU" "$(uname -r)" "$model" "$(nproc)" \
	"$ipt; $nftv; $xfv" "$XF_SKIP" "$PAIR" <<'EOF'
import statistics, sys
path, rounds, secs, cpu, kernel, model, ncpu, versions, xf_skip, pair = sys.argv[1:]
rows = {}
for line in open(path):
    r, f, t, pps, sent, ok = line.split()
    rows.setdefault((f, t), []).append((int(pps), int(sent), ok))
names = [
    ("none", "no filter (the stack: RST per SYN)"),
    ("drop", "XDP drop floor (xs_bench_drop)"),
    ("xdpseg", "xdpseg, 1,000 rules"),
    ("nftables", "nftables, 1,000-element verdict map"),
    ("iptables", "iptables, 1,000 rules (raw)"),
    ("xdpfilter", "xdp-filter, all features"),
]
def med(f, t):
    v = rows.get((f, t))
    return statistics.median(p for p, _, _ in v) if v else None
lost = []
def cell(f, t):
    v = rows.get((f, t))
    if not v:
        return "-"
    p = [x for x, _, _ in v]
    sent = statistics.median(s for _, s, _ in v)
    bad = "!" if any(ok != "ok" for _, _, ok in v) else ""
    if statistics.median(p) < 0.98 * sent:
        lost.append("%s/%s: %.0f kpps sent" % (f, t, sent / 1e3))
        bad += "*"
    return "%.0f [%.0f-%.0f]%s" % (statistics.median(p) / 1e3, min(p) / 1e3, max(p) / 1e3, bad)
print()
print("Linux %s, %s, %s vCPUs; the generator on CPU %s (the receiving side runs there too)" %
      (kernel, model, ncpu, cpu))
print(versions)
print()
print("kpps through the receiving veth's ingress: median [min-max] of %s rounds of %s s;" % (rounds, secs))
print("64-byte frames; flood: TCP SYNs to tcp/23, each from a new address in 10.99.0.0/16 and port%s;" %
      (" (a denied pair for xdpseg)" if pair else ""))
print("udp: one allowed (and tracked) UDP flow. '!' = a check failed (see above)")
print()
print("%-40s %-24s %-24s" % ("filter", "denied SYN flood", "established UDP stream"))
for f, label in names:
    if any(k[0] == f for k in rows):
        print("%-40s %-24s %-24s" % (label, cell(f, "flood"), cell(f, "udp")))
    elif f == "xdpfilter" and xf_skip:
        print("%-40s not measured: %s" % (label, xf_skip))
if lost:
    print("* = more frames sent than received (lost before the filter): " + "; ".join(lost))
print()
x = med("xdpseg", "flood")
print("targets (issue 9), xdpseg's denied flood: the ratio of the medians (and the median and")
print("range of the ratios within each round, whose cells are seconds apart)")
def by_round(f):
    return {int(line.split()[0]): int(line.split()[3]) for line in open(path)
            if line.split()[1] == f and line.split()[2] == "flood"}
for ref, label, want in (("xdpfilter", "xdp-filter", 1.0), ("nftables", "nftables", 1.05),
                         ("drop", "the XDP drop floor", 0.95)):
    y = med(ref, "flood")
    if x is None or y is None:
        print("  vs %-20s >= %.2fx   not measured" % (label, want))
        continue
    a, b = by_round("xdpseg"), by_round(ref)
    rr = sorted(a[k] / b[k] for k in a if k in b and b[k])
    r = x / y
    print("  vs %-20s >= %.2fx   %.2fx  %-4s  (per round: %.2fx, %.2f-%.2f)" %
          (label, want, r, "ok" if r >= want else "MISS", statistics.median(rr), rr[0], rr[-1]))
EOF
echo "(live: $((SECONDS - t0)) s)"

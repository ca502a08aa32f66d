#!/usr/bin/env bash
# The control plane belongs to root alone (issue 6, class 4): a pin directory
# another user made or could change is refused by every command; the lock
# times out naming its holder; `attach` killed at any point leaves no hook
# that `status` does not list and `detach --all` does not remove; an
# interface deleted and made again is never reported protected; `watch`
# follows a reload and stops with an error at an unload.
source "$(dirname "$0")/common.sh"
for tool in setpriv strace flock bpftool; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is missing (scripts/setup installs it)"
		exit 77
	fi
done
test_lab_init "$1"

lab_host
lab_vm a 10.0.0.1
lab_vm b 10.0.0.2
P=$LAB_PIN_DIR
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
POLICY=$LAB_TMP/control.policy
cat >"$POLICY" <<'EOF'
segment left  10.0.0.1
segment right 10.0.0.2
allow left -> right : icmp/8
EOF

ifindex() { lab_in host ip -o link show "$1" | cut -d: -f1; }
# stop_holder PID: a lock holder started as `flock -o DIR sleep N`, and its sleep.
stop_holder() {
	kill $(pgrep -P "$1") "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# Paths of this run next to the pin directory; removed even on failure.
EXTRA=("$P-u" "$P-anc")
control_teardown() {
	local rc=$?
	rm -rf "${EXTRA[@]}"
	(exit $rc)
	lab_teardown
}
trap control_teardown EXIT

# The fix every refusal of the pinned state ends with.
FIX="xdpseg trusts no pinned state another user could have made or changed; remove $P ('rm -rf $P'), then run 'xdpseg detach --all' and attach again"

# refused WHAT ERROR: every command that reads or changes the pinned state
# refuses with exactly ERROR, quickly (never waits for a lock), changing nothing.
refused() {
	local what=$1 want=$2 cmd out
	for cmd in "attach h-a" "apply $POLICY" "detach h-a" "detach --all" status stats "watch --count 1"; do
		# shellcheck disable=SC2086
		out=$(XDPSEG_LOCK_TIMEOUT=30 lab_in host timeout 5 "$LAB_XDPSEG" $cmd 2>&1 >/dev/null)
		expect_eq "$?:$out" "1:$want" "$what: '$cmd' refuses"
	done
	lab_in host ip link show h-a | grep -q xdp && fail "$what: h-a got XDP"
	ok "$what: nothing attached"
}

# has_hooks IFACE: "xdp", "tc egress", "tc ingress" as ip and tc show them.
has_hooks() {
	local h=()
	lab_in host ip link show "$1" | grep -q 'prog/xdp' && h+=(xdp)
	[ -n "$(lab_in host tc filter show dev "$1" egress 2>/dev/null)" ] && h+=("tc egress")
	[ -n "$(lab_in host tc filter show dev "$1" ingress 2>/dev/null)" ] && h+=("tc ingress")
	echo "${h[*]}"
}

# ---- 1. The pin directory ------------------------------------------------------

# Another user makes the pin directory first and holds its lock.
"${NOBODY[@]}" mkdir "$P" || fail "nobody cannot mkdir in the bpffs"
"${NOBODY[@]}" flock -o "$P" sleep 20 &
HOLDER=$!
LAB_PIDS+=("$HOLDER")
sleep 0.1
refused "a pin directory made by nobody" \
	"xdpseg: error: $P is owned by uid 65534, not root: $FIX"
stop_holder "$HOLDER"
rmdir "$P"

# A symbolic link to a directory another user controls.
"${NOBODY[@]}" mkdir "$P-u"
"${NOBODY[@]}" ln -s "$P-u" "$P"
refused "a pin directory that is a symlink" "xdpseg: error: $P is a symbolic link: $FIX"
rm "$P"

# Root's, but anyone may write to it.
mkdir "$P" && chmod 0777 "$P"
refused "a world-writable pin directory" \
	"xdpseg: error: $P is group- or world-writable (mode 0777): $FIX"
rmdir "$P"

# Directories above the pin directory: root's, and not writable by others
# unless sticky (as the bpffs root, 1777).
ANC=$P-anc/xdpseg
out=$(XDPSEG_PIN_DIR=$P-u/xdpseg lab_xs attach h-a 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: $P-u is owned by uid 65534, not root: another user could replace the pin directory $P-u/xdpseg below it; give XDPSEG_PIN_DIR a path whose directories only root can change" \
	"a pin directory below another user's directory is refused"
mkdir "$P-anc" && chmod 0777 "$P-anc"
out=$(XDPSEG_PIN_DIR=$ANC lab_xs attach h-a 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: $P-anc is group- or world-writable and not sticky (mode 0777): another user could replace the pin directory $ANC below it; give XDPSEG_PIN_DIR a path whose directories only root can change" \
	"a pin directory below a world-writable, non-sticky directory is refused"
chmod 1777 "$P-anc"
XDPSEG_PIN_DIR=$ANC lab_xs attach h-a >/dev/null 2>&1 || fail "attach below a 1777 root directory"
XDPSEG_PIN_DIR=$ANC lab_xs detach --all >/dev/null || fail "detach below a 1777 root directory"
ok "a pin directory below a sticky root directory is accepted"
rm -rf "$P-u" "$P-anc"

# Made by xdpseg: 0700 whatever the umask, and nobody can touch it.
(umask 0277 && lab_xs attach h-a h-b >/dev/null 2>&1) || fail "attach h-a h-b"
expect_eq "$(stat -c %a "$P" "$P/maps" "$P/progs" "$P/links" | tr '\n' ' ')" "700 700 700 700 " \
	"the pin directory and its subdirectories are 0700 under umask 0277"
"${NOBODY[@]}" mv "$P/progs" "$P/progs.x" 2>/dev/null && fail "nobody renamed $P/progs"
"${NOBODY[@]}" flock -n "$P" true 2>/dev/null && fail "nobody took the lock of $P"
ok "another user can neither rename progs/ nor take the lock"

# Every component below it is checked, by every command (status too).
chmod 0777 "$P/maps"
out=$(lab_xs status 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: $P/maps is group- or world-writable (mode 0777): $FIX" \
	"status refuses a world-writable maps/"
chmod 0700 "$P/maps"
chown 65534 "$P/links/xdp-h-b"
out=$(lab_xs detach h-a 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: $P/links/xdp-h-b is owned by uid 65534, not root: $FIX" \
	"detach refuses a link pin owned by another user"
chown 0 "$P/links/xdp-h-b"
ln -s /dev/null "$P/progs/xs_extra"
out=$(lab_xs watch 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: $P/progs/xs_extra is a symbolic link: $FIX" \
	"watch refuses a symbolic link in progs/"
rm "$P/progs/xs_extra"

# ---- 2. The lock ---------------------------------------------------------------

flock -o "$P" sleep 20 &
HOLDER=$!
LAB_PIDS+=("$HOLDER")
sleep 0.1
out=$(XDPSEG_LOCK_TIMEOUT=0.3 lab_in host timeout 5 "$LAB_XDPSEG" apply "$POLICY" 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: $P is locked by pid $HOLDER (flock -o $P sleep 20) for 0.3 s: wait for it to finish, or stop it" \
	"apply gives up after XDPSEG_LOCK_TIMEOUT and names the holder"
out=$(XDPSEG_LOCK_TIMEOUT=0 lab_in host timeout 5 "$LAB_XDPSEG" detach h-a 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: $P is locked by pid $HOLDER (flock -o $P sleep 20) for 0 s: wait for it to finish, or stop it" \
	"detach with XDPSEG_LOCK_TIMEOUT=0 tries once"
out=$(XDPSEG_LOCK_TIMEOUT=soon lab_xs attach h-a 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: XDPSEG_LOCK_TIMEOUT='soon' is not a number of seconds (0 to 86400): unset it for the default of 10 s" \
	"a bad XDPSEG_LOCK_TIMEOUT is an error"
stop_holder "$HOLDER"
lab_xs detach --all >/dev/null || fail "detach --all after the holder left"

# ---- 3. attach killed at every step --------------------------------------------

# after_kill WHAT MODE: every hook on h-a and h-b is listed by status, no
# interface is called protected without its hooks, detach --all removes all.
after_kill() {
	local what=$1 mode=$2 st i h
	st=$(lab_xs status 2>&1)
	for i in h-a h-b; do
		h=$(has_hooks "$i")
		if [ -n "$h" ] && ! grep -qw -- "$i" <<<"$st"; then
			fail "$what: $i has $h, but status does not list it: $st"
		fi
		if grep -qE "^  $i .*   protected\$" <<<"$st" &&
			[ "$h" != "$mode" ]; then
			fail "$what: status calls $i protected, but it has '$h': $st"
		fi
	done
	out=$(lab_xs detach --all 2>&1) || fail "$what: detach --all failed: $out"
	for i in h-a h-b; do
		h=$(has_hooks "$i")
		[ -z "$h" ] || fail "$what: $i still has $h after detach --all ($out)"
	done
	[ -e "$P" ] && fail "$what: $P is still there after detach --all"
	# Killed between creating clsact and recording that it did, attach
	# leaves an empty qdisc (no filter, no hook): not xdpseg's to remove
	# as far as it knows. Remove it so that the next run starts clean.
	for i in h-a h-b; do
		if lab_in host tc qdisc show dev "$i" | grep -q clsact; then
			[ -z "$(has_hooks "$i")" ] || fail "$what: $i: filters left"
			lab_in host tc qdisc del dev "$i" clsact
			QDISC_LEFT=$((QDISC_LEFT + 1))
		fi
	done
	return 0
}
QDISC_LEFT=0

# kill_points TRACE [FROM]: "SYSCALL N" for a kill at the Nth call of SYSCALL:
# before the first traced call, and right after every call that can change
# state (a pin, a map write, a link, netlink); calls that only read, or make
# objects that die with the process, add no state of their own. With FROM,
# only after the last call matching FROM (e.g. after the programs are loaded).
kill_points() {
	awk -v from="${2:-}" '
	BEGIN { changed = 1 }
	{
		if (!match($0, /(bpf|sendto|sendmsg)\(/))
			next
		name = substr($0, RSTART, RLENGTH - 1)
		n[name]++
		if (changed)
			pts[++npts] = name " " n[name]
		if (from != "" && $0 ~ from)
			start = npts + 1
		changed = !(name == "bpf" && $0 ~ /BPF_(OBJ_GET|OBJ_GET_INFO_BY_FD|MAP_LOOKUP_ELEM|MAP_GET_NEXT_KEY|MAP_CREATE|PROG_LOAD|BTF_LOAD|PROG_BIND_MAP|MAP_FREEZE|[A-Z]+_GET_FD_BY_ID|[A-Z]+_GET_NEXT_ID)[,}]/)
	}
	END { for (i = start ? start : 1; i <= npts; i++) print pts[i] }' "$1"
}

STRACE=(env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null)
# kill_test WHAT MODE FROM ATTACH-ARGS...: kill `xdpseg attach ARGS` at each point.
kill_test() {
	local what=$1 mode=$2 from=$3 sc n rc k=0
	shift 3
	lab_in host env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$LAB_TMP/trace" \
		-e trace=bpf,sendto,sendmsg "$LAB_XDPSEG" attach "$@" >/dev/null 2>&1 ||
		fail "$what: the traced attach failed"
	after_kill "$what: not killed" "$mode"
	while read -r sc n; do
		(lab_in host "${STRACE[@]}" -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" \
			"$LAB_XDPSEG" attach "$@" >/dev/null 2>&1)
		rc=$?
		[ "$rc" = 137 ] || fail "$what: the attach was not killed at $sc call $n (exit $rc)"
		after_kill "$what: killed at $sc call $n" "$mode"
		k=$((k + 1))
	done < <(kill_points "$LAB_TMP/trace" "$from")
	[ "$k" -gt 5 ] || fail "$what: only $k kill points"
	ok "$what: killed at each of $k points, every hook was listed by status and removed by detach --all ($QDISC_LEFT empty clsact qdiscs left)"
	QDISC_LEFT=0
}

kill_test "attach h-a h-b from nothing loaded" "xdp tc egress" "" h-a h-b
kill_test "attach --tc-ingress h-a after the load" "tc egress tc ingress" "BPF_PROG_LOAD" \
	--tc-ingress h-a

# Hooks of an interrupted run with no record (killed before this version
# recorded first, or the maps lost): status lists them, detach removes them.
lab_xs attach h-a h-b >/dev/null 2>&1
IDX_A=$(ifindex h-a)
bpftool map delete pinned "$P/maps/xs_ifaces" key $((IDX_A & 255)) $((IDX_A >> 8 & 255)) 0 0 ||
	fail "cannot drop the record of h-a"
js=$(lab_xs status --json)
expect_eq "$(python3 -c 'import json,sys; s = json.load(sys.stdin); print([i["name"] for i in s["interfaces"]], s["unrecorded"])' <<<"$js")" \
	"['h-b'] [{'name': 'h-a', 'ifindex': $IDX_A, 'hooks': ['xdp native', 'tc egress']}]" \
	"status lists the hooks no record lists"
out=$(lab_xs detach h-a)
expect_eq "$?:$out" "0:h-a: detached xdpseg hooks that no record listed (xdp native, tc egress)" \
	"detach NAME removes hooks no record lists"
expect_eq "$(has_hooks h-a)" "" "h-a has no hook left"
lab_xs detach --all >/dev/null

# ---- 4. Interfaces deleted and made again --------------------------------------

# st_json: "NAME:STATE:PROBLEMS ..." and the top-level verdict.
st_json() {
	lab_xs status --json | python3 -c 'import json,sys
s = json.load(sys.stdin)
print(" ".join("%s:%s:%s" % (i["name"], i["state"], i["problems"]) for i in s["interfaces"]), s["protected"])'
}
# h-c: a veth whose peer stays on the host, deleted and made again below.
lab_in host ip link add h-c type veth peer name x-c
lab_xs apply "$POLICY" >/dev/null || fail "apply"
lab_xs attach h-a h-c >/dev/null || fail "attach h-a h-c"
expect_eq "$(st_json)" "h-a:protected: h-c:protected: True" "two interfaces, a policy: protected"
expect_eq "$(lab_xs status | head -1)" "protected: 2 interfaces enforce policy generation 1" \
	"the summary line says the host is protected"

rm "$P/links/xdp-h-a" # the last reference to h-a's XDP link
expect_eq "$(st_json)" "h-a:partial:no xdp native h-c:protected: False" \
	"an XDP hook that went away (TC egress still there): partial"
expect_eq "$(lab_xs status | head -1)" "not protected: h-a partial" "the summary names it"
out=$(lab_xs attach h-a)
expect_eq "$out" "h-a: attached again (xdp native ingress, tc egress): it was unprotected (no xdp native)" \
	"attach repairs it"
lab_in host tc filter del dev h-c egress
expect_eq "$(st_json)" "h-a:protected: h-c:partial:no tc egress False" \
	"a TC filter deleted by hand: partial"
lab_xs attach h-c >/dev/null

# h-c is deleted and made again (a VM reboot recreates its tap): new ifindex.
OLD_C=$(ifindex h-c)
lab_in host ip link del h-c
lab_in host ip link add h-c type veth peer name x-c
NEW_C=$(ifindex h-c)
expect_eq "$(st_json)" "h-a:protected: h-c:replaced:the name is ifindex $NEW_C now False" \
	"a recreated interface is replaced"
expect_match "$(lab_xs status)" "  h-c +ifindex $OLD_C .* replaced \(the name is ifindex $NEW_C now\): 'xdpseg attach h-c' attaches the new one" \
	"status says which ifindex the name has now"
out=$(lab_xs attach h-c 2>&1)
expect_eq "$out" "xdpseg: warning: h-c was recorded with ifindex $OLD_C, but it is ifindex $NEW_C now (the interface was made again): dropping the stale record
h-c: attached (xdp native ingress, tc egress)" "attaching it again replaces the stale record"
expect_eq "$(st_json)" "h-a:protected: h-c:protected: True" "one record per name, protected again"
out=$(lab_xs detach h-c)
expect_eq "$out" "h-c: detached" "detach h-c"
expect_eq "$(has_hooks h-c)" "" "detach h-c leaves no hook of the pair behind"

# Gone: status says so; detach drops the record.
lab_xs attach h-c >/dev/null
lab_in host ip link del h-c
expect_eq "$(st_json)" "h-a:protected: h-c:gone:no interface has this name False" \
	"a deleted interface is gone"
expect_eq "$(lab_xs detach h-c)" "h-c: detached" "detach drops the record of a gone interface"

# An ifindex that comes back with another name is a new interface.
lab_in host ip link add h-q index 77 type veth peer name x-q
lab_xs attach h-q >/dev/null
lab_in host ip link del h-q
lab_in host ip link add h-r index 77 type veth peer name x-r
expect_eq "$(st_json)" "h-a:protected: h-q:gone:no interface has this name False" \
	"its old name is gone"
out=$(lab_xs attach h-r 2>&1)
expect_eq "$out" "xdpseg: warning: ifindex 77 was recorded as h-q, but it is h-r now: dropping the stale record of h-q
h-r: attached (xdp native ingress, tc egress)" "attaching the new name drops the stale record first"
expect_eq "$(st_json)" "h-a:protected: h-r:protected: True" "only the new name is recorded"
expect_eq "$(ls "$P/links" | tr '\n' ' ')" "xdp-h-a xdp-h-r " "the stale link pin is gone"
lab_xs detach --all >/dev/null

# ---- 5. watch across a reload ----------------------------------------------------

lab_xs apply "$POLICY" >/dev/null && lab_xs attach h-a h-b >/dev/null || fail "load for watch"
lab_in host "$LAB_XDPSEG" watch --json >"$LAB_TMP/events" 2>"$LAB_TMP/watch.err" &
WATCH=$!
LAB_PIDS+=("$WATCH")
sleep 0.3
lab_ping a 10.0.0.2 || fail "ping a -> b"
# Reloaded while watch cannot look (within its second): it must notice.
kill -STOP "$WATCH"
lab_xs detach --all >/dev/null && lab_xs apply "$POLICY" >/dev/null &&
	lab_xs attach h-a h-b >/dev/null || fail "reload"
kill -CONT "$WATCH"
for i in $(seq 30); do
	grep -q '"reloaded":true' "$LAB_TMP/events" && break
	sleep 0.1
done
lab_ping a 10.0.0.2 || fail "ping a -> b after the reload"
sleep 0.3
expect_eq "$(python3 -c 'import json,sys
r = [json.loads(l) for l in open(sys.argv[1])]
k = [i for i, e in enumerate(r) if e.get("reloaded")]
print(len(k), k and any(e.get("verdict") == "allow" for e in r[:k[0]]),
      k and any(e.get("verdict") == "allow" for e in r[k[0]:]))' "$LAB_TMP/events")" \
	"1 True True" "watch notices the reload, says so, and reads the new buffer"
lab_xs detach --all >/dev/null
for i in $(seq 30); do
	lab_pid_alive "$WATCH" || break
	sleep 0.1
done
wait "$WATCH"
expect_eq "$?" 1 "watch exits 1 when xdpseg is unloaded"
expect_eq "$(tail -1 "$LAB_TMP/events")" "{\"error\":\"xdpseg was unloaded (nothing is pinned under $P any more): no more events; watch again after 'xdpseg attach IFACE'\"}" \
	"the JSON stream ends with the error"

lab_xs attach h-a >/dev/null 2>&1
lab_in host "$LAB_XDPSEG" watch 2>"$LAB_TMP/watch.err" >/dev/null &
WATCH=$!
LAB_PIDS+=("$WATCH")
sleep 0.2
lab_xs detach --all >/dev/null
wait "$WATCH"
expect_eq "$?:$(cat "$LAB_TMP/watch.err")" "1:xdpseg: error: xdpseg was unloaded (nothing is pinned under $P any more): no more events; watch again after 'xdpseg attach IFACE'" \
	"watch (text) exits with the error"

echo "$XS_CHECKS checks passed"

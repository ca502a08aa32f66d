#!/usr/bin/env bash
# The control plane belongs to root alone (issue 6, class 4): a pin directory
# another user made or could change is refused by every command; the lock
# times out naming its holder.
source "$(dirname "$0")/common.sh"
for tool in setpriv flock; do
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

echo "$XS_CHECKS checks passed"

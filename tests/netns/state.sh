#!/usr/bin/env bash
# The last good policy (issue 7): every successful apply saves its compiled
# artefact in the state directory (here the lab's XDPSEG_STATE_DIR), 0700
# and 0600, carrying the hash `status` shows and the policy's absolute path;
# an apply that fails leaves it byte for byte; a state directory xdpseg
# cannot trust is a warning, never a failed apply.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

lab_host
lab_vm a 10.0.0.1
lab_vm b 10.0.0.2
lab_xs attach h-a h-b >/dev/null 2>&1 || fail "attach"

S=$XDPSEG_STATE_DIR
[[ $S == "$LAB_TMP"/* ]] || fail "the lab's state directory is not in its temporary directory: $S"
A=$LAB_TMP/a.policy B=$LAB_TMP/b.policy BROKEN=$LAB_TMP/broken.policy
printf 'segment left 10.0.0.1\nsegment right 10.0.0.2\nallow left -> right : icmp/8\n' >"$A"
printf 'segment left 10.0.0.1\nsegment right 10.0.0.2\nallow left -> right : tcp/22\n' >"$B"
printf 'segment left 10.0.0.1\nallow left -> nowhere : tcp/22\n' >"$BROKEN"

# The hash in an artefact's header (bytes 24-55), and the one status shows.
artefact_hash() { od -An -tx1 -j24 -N32 "$1" | tr -d ' \n'; }
status_hash() {
	lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["sha256"])'
}

[ -e "$S" ] && fail "the state directory exists before any apply"
(cd "$LAB_TMP" && lab_xs apply a.policy) >/dev/null 2>"$LAB_TMP/err" || fail "apply a: $(cat "$LAB_TMP/err")"
expect_eq "$(cat "$LAB_TMP/err")" "" "apply saves without a word"
expect_eq "$(stat -c %a "$S") $(stat -c %a "$S/policy.xsc")" "700 600" "state directory 0700, file 0600"
expect_eq "$(ls -A "$S")" "policy.xsc" "nothing else in the state directory"
HA=$(artefact_hash "$S/policy.xsc")
expect_eq "$HA" "$(status_hash)" "the saved hash is the one status shows"
expect_match "$(lab_xs status)" "sha256:  $HA" "status text shows it too"
grep -qaF "$A" "$S/policy.xsc" || fail "the artefact does not name $A"
ok "the artefact names the policy by its absolute path"

cp "$S/policy.xsc" "$LAB_TMP/saved"
out=$(lab_xs apply "$BROKEN" 2>&1)
expect_eq "$?" 1 "a broken policy is not applied"
cmp -s "$S/policy.xsc" "$LAB_TMP/saved" || fail "a broken apply changed the state file"
ok "a broken apply leaves the state file byte for byte"
out=$(lab_xs apply "$LAB_TMP/missing.policy" 2>&1)
expect_eq "$?" 1 "a missing policy is not applied"
cmp -s "$S/policy.xsc" "$LAB_TMP/saved" || fail "a missing policy changed the state file"
ok "so does a missing one"

lab_xs apply "$B" >/dev/null 2>&1 || fail "apply b"
HB=$(artefact_hash "$S/policy.xsc")
[ "$HB" != "$HA" ] || fail "applying b kept a's hash"
expect_eq "$HB" "$(status_hash)" "the next apply saves the next policy"

# A state directory another user could change: the apply succeeds, warns.
chmod 0770 "$S"
gen=$(lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["generation"])')
out=$(lab_xs apply "$A" 2>&1 >/dev/null)
expect_eq "$?" 0 "an untrusted state directory does not fail the apply"
expect_match "$out" "^xdpseg: warning: the state directory $S: $S is group- or world-writable \(mode 0770\)" \
	"it is a warning that says why"
expect_match "$out" "the policy is enforced all the same \(the kernel is the source of truth\)" \
	"and that the policy is enforced"
expect_eq "$(status_hash)" "$HA" "the policy is applied"
gen2=$(lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["generation"])')
expect_eq "$gen2" "$((gen + 1))" "one generation later"
expect_eq "$(artefact_hash "$S/policy.xsc")" "$HB" "the untrusted state directory was not written"
chmod 0700 "$S"

#!/usr/bin/env bash
# `meson install --destdir` puts every file in place; the default
# configuration never replaces an admin's; the installed unit passes
# `systemd-analyze verify` without a word (it prints, and still exits 0, on
# a bad value or an unknown key, so any output fails this test).
# Usage: install.sh BUILD_DIR SOURCE_ROOT SBINDIR MANDIR POLICYDIR UNITDIR SYSCONFDIR COMPLETIONDIR
set -uo pipefail
build=$1 src=$2 sbindir=$3 mandir=$4 policydir=$5 unitdir=$6 sysconfdir=$7 compdir=$8
D=$(mktemp -d /tmp/xdpseg-install-XXXXXX)
trap 'rm -rf "$D"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

meson install -C "$build" --destdir "$D" --no-rebuild >"$D.log" 2>&1 || { cat "$D.log"; rm -f "$D.log"; fail "meson install"; }
rm -f "$D.log"

want=("$sbindir/xdpseg" "$mandir/man8/xdpseg.8" "$unitdir/xdpseg.service"
	"$sysconfdir/xdpseg/xdpseg.conf" "$compdir/xdpseg" "$policydir/README.md")
for p in "$src"/policies/*.policy; do
	want+=("$policydir/${p##*/}")
done
for f in "${want[@]}"; do
	[ -f "$D$f" ] || fail "$f is not installed"
done
ok "every file in place (${#want[@]}: binary, man page, unit, configuration, completion, policies)"
[ -x "$D$sbindir/xdpseg" ] || fail "the binary is not executable"
for p in "$src"/policies/*.policy; do
	cmp -s "$p" "$D$policydir/${p##*/}" || fail "$policydir/${p##*/} differs from the tree's"
done
ok "the policies are the tree's"
grep -q "^ExecStart=$sbindir/xdpseg agent --config $sysconfdir/xdpseg/xdpseg.conf\$" "$D$unitdir/xdpseg.service" ||
	fail "the unit's ExecStart is not the installed binary and configuration"
grep -q '@' "$D$unitdir/xdpseg.service" "$D$sysconfdir/xdpseg/xdpseg.conf" && fail "a @placeholder@ is left"
ok "the unit runs the installed binary on the installed configuration"
grep -q "^#policy = $policydir/" "$D$sysconfdir/xdpseg/xdpseg.conf" || fail "the configuration does not point at $policydir"
grep -v '^#' "$D$sysconfdir/xdpseg/xdpseg.conf" | grep -q '[^[:space:]]' && fail "the default configuration sets a key"
ok "the default configuration sets nothing and shows the presets' folder"

# A policy anywhere includes a preset by its name (here the DESTDIR's
# folder stands for the installed one).
printf 'include "citrix-services.policy"\nsegment a 10.0.0.0/8\nallow a -> a : ica\n' >"$D/farm.policy"
out=$(XDPSEG_POLICY_PATH="$D$policydir" "$D$sbindir/xdpseg" check "$D/farm.policy" 2>&1) ||
	fail "a policy including a preset does not check: $out"
ok "a policy includes an installed preset by its name"

# The admin's configuration is kept.
echo "# mine" >"$D$sysconfdir/xdpseg/xdpseg.conf"
out=$(meson install -C "$build" --destdir "$D" --no-rebuild 2>&1) || fail "meson install again: $out"
[ "$(cat "$D$sysconfdir/xdpseg/xdpseg.conf")" = "# mine" ] || fail "meson install replaced the configuration"
ok "a second install keeps the admin's configuration"
# (meson shows an install script's output only when it fails: ask it directly)
out=$(DESTDIR=$D "$src/dist/install-conf.sh" "$build/dist/xdpseg.conf" "$sysconfdir/xdpseg" 2>&1) ||
	fail "install-conf.sh: $out"
[[ $out == "Keeping $D$sysconfdir/xdpseg/xdpseg.conf "* ]] || fail "install-conf.sh does not say it keeps it: $out"
[ "$(cat "$D$sysconfdir/xdpseg/xdpseg.conf")" = "# mine" ] || fail "install-conf.sh replaced the configuration"
ok "and says so"

# systemd-analyze verify needs the command to exist: the same unit with its
# ExecStart on the DESTDIR's binary; the man page is looked up in DESTDIR.
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: systemd-analyze is missing (scripts/setup installs systemd)"
	exit 77
fi
sed "s|^ExecStart=$sbindir/|ExecStart=$D$sbindir/|" "$D$unitdir/xdpseg.service" >"$D/xdpseg.service"
verify() { MANPATH="$D$mandir" systemd-analyze verify "$1" 2>&1; }
out=$(verify "$D/xdpseg.service")
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify: exit $rc: $out"
ok "systemd-analyze verify passes without a word"
# ... and the check sees a broken unit (a bad value, an unknown key).
mkdir "$D/bad"
sed 's/^ProtectHome=yes/ProtectHome=maybe/' "$D/xdpseg.service" >"$D/bad/xdpseg.service"
out=$(verify "$D/bad/xdpseg.service")
[ -n "$out" ] || fail "systemd-analyze verify is silent on ProtectHome=maybe: the check above proves nothing"
ok "a bad value is seen: $out"

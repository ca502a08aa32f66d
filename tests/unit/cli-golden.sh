#!/bin/bash
# CLI golden tests: run the built `xdpseg check`/`compile` on files in the
# tree and compare stdout, stderr and the exit code with tests/unit/golden/.
# Usage: cli-golden.sh XDPSEG SOURCE_ROOT   (UPDATE=1 rewrites the golden files)
set -u
xdpseg=$1
root=$2
golden=$root/tests/unit/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1
fail=0 pass=0

# name: a golden file stem; the rest: the xdpseg arguments (paths relative to the root)
run() {
	local name=$1
	shift
	"$xdpseg" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	echo "exit $?" >"$tmp/rc"
	cat "$tmp/out" "$tmp/rc" >"$tmp/stdout"
	if [ "${UPDATE:-0}" = 1 ]; then
		cp "$tmp/stdout" "$golden/$name.stdout"
		cp "$tmp/err" "$golden/$name.stderr"
	fi
	if diff -u "$golden/$name.stdout" "$tmp/stdout" && diff -u "$golden/$name.stderr" "$tmp/err"; then
		echo "ok: $name"
		pass=$((pass + 1))
	else
		echo "FAIL: $name ($*)"
		fail=$((fail + 1))
	fi
}

run check-examples check policies/citrix-services.policy policies/cvad-onprem.policy policies/citrix-managed-azure.policy

# Every policy in policies/ (new ones too) passes check.
for f in policies/*.policy; do
	if "$xdpseg" check "$f" >/dev/null 2>"$tmp/err" </dev/null && [ ! -s "$tmp/err" ]; then
		echo "ok: check $f"
		pass=$((pass + 1))
	else
		echo "FAIL: check $f:"
		cat "$tmp/err"
		fail=$((fail + 1))
	fi
done
run check-broken check tests/unit/data/broken.policy
run check-cycle check tests/unit/data/cycle-a.policy
run check-warn check tests/unit/data/warn.policy
run check-missing check tests/unit/data/does-not-exist.policy
run check-usage check
run check-help check --help
run compile-small compile tests/unit/data/small.policy
run compile-small-json compile tests/unit/data/small.policy --json
run compile-broken-json compile --json tests/unit/data/broken.policy
run compile-help compile -h

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

# shellcheck shell=bash
# Shared by the namespace tests: the lab helpers plus TAP-less assertions.
# Each test script is run as `bash TEST.sh XDPSEG_BINARY`; it prints one line
# per check and exits non-zero at the first failure (meson shows the log).
set -uo pipefail

XS_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../scripts/lib/lab.sh
source "$XS_SRCDIR/scripts/lib/lab.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: namespace tests need root"
	exit 77
fi
for tool in nsenter socat ss ping ip tc python3; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is missing (scripts/setup installs it)"
		exit 77
	fi
done

XS_CHECKS=0
ok() {
	XS_CHECKS=$((XS_CHECKS + 1))
	echo "ok $XS_CHECKS - $*"
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# expect_rc RC DESCRIPTION -- CMD...: run CMD, require exit status RC.
expect_rc() {
	local want=$1 what=$2 got
	shift 3
	"$@"
	got=$?
	[ "$got" = "$want" ] || fail "$what: exit status $got, expected $want"
	ok "$what"
}
# expect_eq GOT WANT DESCRIPTION
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
	ok "$3"
}
# expect_match TEXT REGEX DESCRIPTION
expect_match() {
	[[ $1 =~ $2 ]] || fail "$3: '$1' does not match /$2/"
	ok "$3"
}
# expect_no_match TEXT REGEX DESCRIPTION
expect_no_match() {
	[[ $1 =~ $2 ]] && fail "$3: '$1' matches /$2/"
	ok "$3"
}

# Start a test lab named xst-<pid>-, after reaping what killed runs left.
test_lab_init() {
	lab_reap_stale xst-
	lab_init "xst-$$-" "$1" || exit 1
}

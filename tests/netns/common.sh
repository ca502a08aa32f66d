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
# test_need PACKAGE-HINT TOOL...: skip the test (exit 77) when a tool is missing.
test_need() {
	local hint=$1 tool
	shift
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			echo "SKIP: $tool is missing (scripts/setup installs $hint)"
			exit 77
		fi
	done
}

test_need it nsenter socat ss ping ip tc python3

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

# wait_for SECONDS CMD...: until CMD succeeds (tried every 0.05 s); 1 after SECONDS.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

# agent_ask JSON: one request to the lab agent's socket; its reply on stdout.
agent_ask() {
	echo "$1" | timeout 10 socat -t 5 - UNIX-CONNECT:"$XDPSEG_AGENT_SOCK" 2>/dev/null
}

# jpy EXPR: EXPR (python, over d: the JSON on stdin); a string as it is,
# anything else as JSON.
jpy() {
	python3 -c 'import json,sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r))' "$1"
}

# The agents a test started (test_agent_start), stopped by test_teardown.
TEST_AGENT_PIDS=()
[ -d /run/xdpseg ] && TEST_RUN_DIR_KEEP=1 || TEST_RUN_DIR_KEEP=

# test_agent_start CONF LOG [N]: `xdpseg agent --config CONF` in the host
# namespace, its output in LOG; returns when its socket reports N
# interfaces protected (default 2), or fails the test with the log.
# TEST_AGENT_PID is its pid.
test_agent_start() {
	local conf=$1 log=$2 n=${3:-2}
	nsenter --net="/run/netns/$(lab_ns host)" -- "$LAB_XDPSEG" agent --config "$conf" \
		>"$log" 2>&1 &
	TEST_AGENT_PID=$!
	TEST_AGENT_PIDS+=("$TEST_AGENT_PID")
	wait_for 20 bash -c "[ \"\$(echo '{\"cmd\":\"status\"}' | timeout 5 socat -t 2 - \
		UNIX-CONNECT:$XDPSEG_AGENT_SOCK 2>/dev/null | grep -o '\"state\":\"protected\"' |
		wc -l)\" -ge $n ]" || {
		cat "$log" >&2
		fail "the agent did not protect $n interfaces"
	}
}

# test_track PID / test_untrack PID: a process of the test's (an agent, a
# follower) that test_teardown stops, or one the test stopped itself.
test_track() { TEST_AGENT_PIDS+=("$1"); }
test_untrack() {
	local p keep=()
	for p in "${TEST_AGENT_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	TEST_AGENT_PIDS=("${keep[@]}")
}

# test_agent_stop PID: SIGTERM, 5 s to exit, then SIGKILL.
test_agent_stop() {
	local p=$1 i
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	for i in $(seq 100); do
		lab_pid_alive "$p" || break
		sleep 0.05
	done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# The EXIT trap of a test that runs agents: they stop, their run files go,
# then the lab (lab_teardown). The test's exit status is kept.
test_teardown() {
	local rc=$? p
	for p in "${TEST_AGENT_PIDS[@]}"; do
		test_agent_stop "$p"
	done
	rm -f /run/xdpseg/agent-sys-fs-bpf-"${LAB_PREFIX%-}"-*
	[ -n "$TEST_RUN_DIR_KEEP" ] || rmdir /run/xdpseg 2>/dev/null
	(exit $rc)
	lab_teardown
}

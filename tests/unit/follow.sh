#!/usr/bin/env bash
# tests/unit/test_follow.c against a real etcd (tests/common/etcd.sh):
#   follow.sh TEST-BINARY ARGS...   one etcd on a free loopback port for the
#                                   whole run (XS_ETCD_URL), then the binary
#   follow.sh start DIR [PORT]      (for a test that stops and starts an etcd
#                                   of its own) prints "URL PID"
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common/etcd.sh
source "$here/../common/etcd.sh"

if [ "${1-}" = start ]; then
	etcd_start "$2" 127.0.0.1 "${3-}" >&2 || exit 1
	echo "$ETCD_PID" >>"$(dirname "$2")/pids" # stopped at the end, whatever happens
	echo "$ETCD_URL $ETCD_PID"
	exit 0
fi
dir=$(mktemp -d /tmp/xs-follow.XXXXXX)
cleanup() {
	etcd_stop
	if [ -f "$dir/pids" ]; then
		# shellcheck disable=SC2046
		kill $(cat "$dir/pids") 2>/dev/null
		sleep 0.2
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
etcd_start "$dir/etcd" || exit 1
XS_ETCD_URL=$ETCD_URL XS_ETCD_CTL=$here/follow.sh XS_TEST_TMP=$dir "$@"

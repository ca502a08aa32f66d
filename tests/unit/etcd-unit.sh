#!/usr/bin/env bash
# user/fleet/etcd.c against real etcds (Debian's etcd-server): one for most
# tests, one whose auth the auth test turns on; a fake etcd in python for
# hostile answers. Usage: etcd-unit.sh TEST-BINARY SOURCE-ROOT
set -u
bin=$1 root=$2
# shellcheck source=../common/etcd.sh
source "$root/tests/common/etcd.sh"
dir=$(mktemp -d /tmp/xs-test-etcd-XXXXXX)
main_pid= auth_pid=
cleanup() {
	ETCD_PID=$main_pid etcd_stop
	ETCD_PID=$auth_pid etcd_stop
	rm -rf "$dir"
}
trap cleanup EXIT
etcd_start "$dir/main" || exit 1
main_pid=$ETCD_PID main_url=$ETCD_URL
etcd_start "$dir/auth" || exit 1
auth_pid=$ETCD_PID
export ETCD_AUTH_URL=$ETCD_URL ETCD_URL=$main_url
export ETCD_FAKE=$root/tests/unit/etcd-fake.py
# one test at a time: compaction and the lease's expiry are the store's
"$bin" --tap --jobs 1

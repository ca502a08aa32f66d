#!/usr/bin/env bash
# The fleet's scale test (scripts/bench --fleet; issue 12; not a test): for
# each N, a fresh etcd (Debian's etcd-server, tests/common/etcd.sh) on
# loopback and N simulated hosts following one fleet through it, in one
# process on one curl multi (xdpseg-fleet-sim, tests/bench/fleet-sim.c: the
# real follower, apply simulated). The policy published at first is
# policies/cvad-onprem.policy (the hosts fetch and report it: the warm-up);
# then each sample publishes a change of it (one more rule) and measures the
# time from the pointer's time to each host's report of the new hash
# landing in etcd. Prints one table, every N side by side, with etcd's CPU
# seconds over each sample and its RSS at the end. Nothing is left behind
# (etcd, its data, the simulator), also after a failure or a signal.
# Usage: fleet.sh SIM [N[,N...]] [--samples K] [--timeout S] [-v]
#        (N defaults to 10,100,1000; K to 2; S, a sample's limit, to 30)
set -euo pipefail
SIM=$(readlink -f "$1")
shift
SIZES=10,100,1000
SAMPLES=2
TIMEOUT=30
VERBOSE=()
while [ $# -gt 0 ]; do
	case $1 in
	--samples) SAMPLES=$2 && shift ;;
	--timeout) TIMEOUT=$2 && shift ;;
	-v | --verbose) VERBOSE=(-v) ;;
	[0-9]*) SIZES=$1 ;;
	*)
		echo "usage: scripts/bench --fleet [N[,N...]] [--samples K] [--timeout S] [-v]" >&2
		exit 2
		;;
	esac
	shift
done
# shellcheck source=../common/etcd.sh
source tests/common/etcd.sh
TMP=$(mktemp -d /tmp/xsb-fleet-$$-XXXX)
SIMPID=

cleanup() {
	set +e # etcd_stop's wait answers etcd's exit status
	if [ -n "$SIMPID" ]; then
		kill "$SIMPID" 2>/dev/null || true
		wait "$SIMPID" 2>/dev/null || true
	fi
	etcd_stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The policies: the farm's, then a change of it per sample (a port more).
cp policies/cvad-onprem.policy policies/citrix-services.policy "$TMP/"
publish=()
for k in $(seq "$SAMPLES"); do
	cp "$TMP/cvad-onprem.policy" "$TMP/change-$k.policy"
	echo "allow admins -> sql : tcp/$((14330 + k))" >>"$TMP/change-$k.policy"
	publish+=(--publish "$TMP/change-$k.policy")
done

# One N: its sample lines in $TMP/N.out.
run_size() {
	local n=$1
	etcd_start "$TMP/etcd-$n"
	"$SIM" --etcd "$ETCD_URL" --etcd-pid "$ETCD_PID" --hosts "$n" --timeout "$TIMEOUT" \
		--base "$TMP/cvad-onprem.policy" "${publish[@]}" "${VERBOSE[@]}" \
		>"$TMP/$n.out" &
	SIMPID=$!
	wait "$SIMPID" || {
		SIMPID=
		echo "scripts/bench --fleet: the simulator failed at N=$n" >&2
		return 1
	}
	SIMPID=
	etcd_stop || true
}

# key=value of a sample line.
field() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"
}

# One row per sample: N, sample, p50, p99, max, converged, apply p99, etcd
# CPU s, etcd RSS MiB, simulator CPU s.
print_rows() {
	local n=$1 k=0 line rss
	while read -r line; do
		[[ $line == sample* ]] || continue
		k=$((k + 1))
		rss=$(field etcd_rss_kib "$line")
		printf '%6s %6s %8s %8s %8s %10s %9s %9s %9s %8s\n' "$n" "$k" \
			"$(field p50_ms "$line")" "$(field p99_ms "$line")" \
			"$(field max_ms "$line")" "$(field converged "$line")/$n" \
			"$(field apply_p99_ms "$line")" "$(field etcd_cpu_s "$line")" \
			"$((rss / 1024))" "$(field sim_cpu_s "$line")"
	done <"$TMP/$n.out"
}

IFS=, read -r -a sizes <<<"$SIZES"
for n in "${sizes[@]}"; do
	run_size "$n"
done
echo "Fleet: N hosts following one fleet through one etcd ($(etcd --version | sed -n 's/^etcd Version: //p')) on loopback,"
echo "one simulator process on one curl multi; time from the publish (the pointer's time) to each"
echo "host's report of the new hash landing, in ms; $SAMPLES samples per N; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%6s %6s %8s %8s %8s %10s %9s %9s %9s %8s\n' N sample p50 p99 max converged \
	"apply99" "etcd CPU" "etcd MiB" "sim CPU"
for n in "${sizes[@]}"; do
	print_rows "$n"
done
echo "(apply99: p99 of pointer to apply: the watch's event and the bundle's fetch;"
echo " etcd CPU: seconds over the sample; etcd MiB: its RSS at the sample's end; sim CPU: the simulator's seconds)"

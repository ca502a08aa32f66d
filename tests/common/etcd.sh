# shellcheck shell=bash
# A real etcd (Debian's etcd-server) for a test or a benchmark: on loopback
# (or an address given), a data directory of its own, stopped by etcd_stop
# (call it from the caller's EXIT trap).
#
#   source tests/common/etcd.sh
#   etcd_start DIR [ADDR [PORT]]  # sets ETCD_URL (http://ADDR:PORT) and ETCD_PID
#                                 # (PORT: to start it again where it was)
#   etcd_stop
#
# The ports are picked free (client and peer), so tests run side by side.
ETCD_PID=
ETCD_URL=

# A TCP port nothing listens on (asked of the kernel: bind to port 0).
etcd_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

etcd_start() {
	local dir=$1 addr=${2:-127.0.0.1} cport=${3-} pport i
	command -v etcd >/dev/null || {
		echo "etcd is missing (scripts/setup installs etcd-server)" >&2
		return 1
	}
	mkdir -p "$dir"
	[ -n "$cport" ] || cport=$(etcd_free_port)
	pport=$(etcd_free_port)
	ETCD_URL=http://$addr:$cport
	ETCD_UNSUPPORTED_ARCH= etcd --name xs-test --data-dir "$dir/data" \
		--listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls "http://127.0.0.1:$pport" \
		--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "xs-test=http://127.0.0.1:$pport" \
		--log-level error >"$dir/etcd.log" 2>&1 &
	ETCD_PID=$!
	for i in $(seq 100); do
		if curl -s -m 1 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"'; then
			return 0
		fi
		kill -0 "$ETCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "etcd did not start: $(tail -5 "$dir/etcd.log")" >&2
	etcd_stop
	return 1
}

etcd_stop() {
	[ -n "$ETCD_PID" ] || return 0
	kill "$ETCD_PID" 2>/dev/null
	wait "$ETCD_PID" 2>/dev/null
	ETCD_PID=
}

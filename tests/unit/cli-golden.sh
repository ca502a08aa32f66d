#!/bin/bash
# CLI golden tests: run the built `xdpseg check`/`compile` on files in the
# tree and compare stdout, stderr and the exit code with tests/unit/golden/.
# Usage: cli-golden.sh XDPSEG SOURCE_ROOT   (UPDATE=1 rewrites the golden files)
set -u
xdpseg=$1
root=$2
case $xdpseg in /*) ;; *) xdpseg=$PWD/$xdpseg ;; esac
golden=$root/tests/unit/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1
fail=0 pass=0
# includes not found next to their file are looked for here (relative: the
# output does not depend on where the tree or the presets are)
export XDPSEG_POLICY_PATH=policies

# name: a golden file stem; the rest: the xdpseg arguments (paths relative to the root)
run() {
	run_in "$root" "$@"
}

# The same from folder DIR (paths relative to it). A run that hangs fails.
run_in() {
	local dir=$1 name=$2
	shift 2
	(cd "$dir" && exec timeout 60 "$xdpseg" "$@") >"$tmp/out" 2>"$tmp/err" </dev/null
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
run check-bind check tests/unit/data/bind.policy
run compile-bind compile tests/unit/data/bind.policy
run compile-bind-json compile --json tests/unit/data/bind.policy
# -I DIR: after the including file's folder, before the search path
run check-include-dir check -I tests/unit/data/none -I tests/unit/data/lib tests/unit/data/uses-lib.policy
run compile-include-dir compile --include-dir=tests/unit/data/lib tests/unit/data/uses-lib.policy
# not found: one error naming the folders, one note for the names it would have declared
run check-include-missing check -I tests/unit/data/none tests/unit/data/uses-lib.policy
# --strict: a warning fails the file (CI); --json: one document on stdout, hints apart
run check-strict check --strict tests/unit/data/warn.policy tests/unit/data/small.policy
run check-strict-clean check --strict policies/cvad-onprem.policy policies/citrix-managed-azure.policy
run check-json check --json tests/unit/data/warn.policy tests/unit/data/broken.policy tests/unit/data/does-not-exist.policy tests/unit/data/small.policy
run check-json-strict check -s -j tests/unit/data/warn.policy

# Policy input is untrusted (issue 6, class 5). The files are made here, in a
# scratch folder, so that the tree holds no control bytes, FIFOs, links or
# 16 MiB files; the runs name them relative to it, so the output does not
# depend on where it is.
in5=$tmp/in5
mkdir "$in5"
(
	cd "$in5" || exit 1
	# a NUL used to end the file: the deny after it vanished and check said ok
	printf 'segment a 10.0.0.0/8\nallow a -> world : tcp/1\0 tcp/2\ndeny a -> world\n' >nul.policy
	printf 'segment a 10.0.0.0/8\n\033[2Kallow a -> world\nallow a -> a : tcp/1\177\nmode a\rmonitor\n' >control.policy
	# ESC in the file name; C1, bidi overrides and invalid UTF-8 in comments and strings
	printf 'segment a 10.0.0.0/8 # \302\205 \342\200\256 \377\nallow a -> b # caf\303\251 \342\201\246\300\257\ninclude "\342\200\256x\302\233.policy"\n' >"$(printf 'esc\033]0;x\007.policy')"
	mkfifo fifo
	mkdir folder
	ln -s /dev/null null
	truncate -s $((16 * 1024 * 1024 + 1)) big.policy
	ln -s loop loop
	ln -s kinds.policy back.policy
	printf 'include "fifo"\ninclude "folder"\ninclude "null"\ninclude "big.policy"\ninclude "loop"\ninclude "back.policy"\nsegment a 10.0.0.0/8\nallow a -> world\n' >kinds.policy
	# check scales: 65,531 single-port rules (the most rule ids allow next to
	# the implicit defaults), and 4,000 rules x 30 ports
	{
		echo "segment s1 10.1.0.0/16"
		echo "segment s2 10.2.0.0/16"
		seq 1 65531 | sed 's|.*|allow s1 -> s2 : tcp/&|'
	} >large.policy
	{
		echo "segment s1 10.1.0.0/16"
		echo "segment s2 10.2.0.0/16"
		seq 0 3999 | awk '{ printf "allow s1 -> s2 : ";
			for (k = 0; k < 30; k++) {
				p = $1 * 30 + k;
				printf "%s%s/%d", k ? ", " : "", p < 65535 ? "tcp" : "udp", p % 65535 + 1;
			}
			print "" }'
	} >wide.policy
)
run_in "$in5" check-nul check nul.policy
run_in "$in5" check-control check control.policy
run_in "$in5" check-escape check "$(printf 'esc\033]0;x\007.policy')"
run_in "$in5" check-escape-json check --json "$(printf 'esc\033]0;x\007.policy')"
run_in "$in5" check-include-kinds check kinds.policy
run_in "$in5" check-fifo check fifo
run_in "$in5" check-too-big check big.policy
run_in "$in5" check-large check large.policy wide.policy

# verify and diff over files (issue 8): the answers from the compiled tables,
# the origins that decide, the exit status (0 passes, 1 drops, 2 trouble).
S=tests/unit/data/small.policy
run verify-deny-rule verify 10.1.0.5 10.2.0.9 tcp/8080 --policy $S
run verify-allow-rule verify --policy $S 10.1.0.5 10.2.0.9 tcp/80
run verify-default-in verify 10.1.0.5 10.2.0.9 udp/53 --policy $S
run verify-default-out verify 10.2.0.9 10.1.0.5 tcp/22 --policy $S
run verify-monitor-audit verify 10.2.0.9 10.2.0.7 udp/9 --policy $S
run verify-world-icmp verify 192.0.2.1 10.2.0.7 icmp/8 --policy $S
run verify-other-proto verify 10.1.0.5 10.2.0.9 47 --policy $S
run verify-nd-exempt verify fd00:1::1 fe80::1 icmpv6/135 --policy $S
run verify-icmp-error verify 10.1.0.5 10.2.0.9 icmp/3 --policy $S
run verify-json verify 10.1.0.5 10.2.0.7 tcp/22 --policy $S --json
run verify-json-rule verify -j -p $S 10.1.0.5 10.2.0.9 tcp/8080
run verify-bind verify 169.254.1.1 169.254.169.254 tcp/80 --src-iface tap3 --policy tests/unit/data/bind.policy
run verify-spoofed verify 10.1.0.6 10.1.99.1 tcp/22 --src-iface vnet0 --policy tests/unit/data/bind.policy
run verify-usage verify 10.1.0.5 10.2.0.9
run verify-usage-family verify 10.1.0.5 fd00::1 tcp/22 --policy $S
run verify-usage-port verify 10.1.0.5 10.2.0.9 tcp/65536 --policy $S
run verify-usage-icmp6 verify fd00::1 fd00::2 icmp/8 --policy $S
run verify-usage-noport verify 10.1.0.5 10.2.0.9 udp --policy $S
run verify-broken verify 10.1.0.5 10.2.0.9 tcp/1 --policy tests/unit/data/broken.policy
run verify-include-dir verify 10.10.2.5 10.10.3.1 tcp/88 --policy tests/unit/data/uses-lib.policy -I tests/unit/data/lib
run verify-help verify --help
run diff-same diff $S $S
run diff-files diff $S tests/unit/data/small-b.policy
run diff-files-json diff --json $S tests/unit/data/small-b.policy
run diff-usage diff $S
run diff-missing diff $S tests/unit/data/does-not-exist.policy
run diff-include-dir diff -I tests/unit/data/lib tests/unit/data/uses-lib.policy tests/unit/data/uses-lib.policy
run diff-help diff -h
run show-help show --help
# metrics (issue 10): its help and its usage errors (a datapath is the netns test's)
run metrics-help metrics --help
run metrics-usage metrics extra
run metrics-usage-output metrics --output ""
run metrics-usage-option metrics --json
# watch: its help, and each filter's error before anything is opened
run watch-help watch --help
# flows: its help and usage errors (the records are tests/netns/flows.sh's)
run flows-help flows --help
run flows-usage-kind flows --kind start
run flows-usage-count flows --count 0
# suggest and replay (issue 11): help and usage errors (the stores are learn-cli.sh's)
run suggest-help suggest --help
run suggest-usage-since suggest --since 7
run suggest-usage-min-days suggest --min-days 0
run suggest-usage-max-prefix suggest --max-prefix 24,129
run replay-help replay --help
run replay-usage replay
run replay-usage-two replay a.policy b.policy
run replay-usage-running replay running
run watch-usage-addr watch --addr 10.0.0.0/33
run watch-usage-addr6 watch --addr fd00::1/200
run watch-usage-rule watch --rule farm.policy
run watch-usage-since watch --since 90
run watch-usage-last watch --last 0
run watch-usage-iface watch --iface a/b
run watch-usage-json watch --json --addr nowhere
# map (issue 11): its help and usage errors (its output is map-cli.sh's)
run map-help map --help
run map-usage-outputs map --dot --svg x.svg
run map-usage-since map --since 3
run map-usage-arg map farm
# publish and fleet status (issue 12): help and usage errors, no etcd needed
# (their output is fleet-cli.sh's); no endpoint from the environment
unset XDPSEG_ETCD XDPSEG_FLEET
run publish-help publish --help
run publish-usage publish
run publish-usage-args publish a.policy b.policy
run publish-usage-keep publish --keep 0 tests/unit/data/small.policy
run publish-no-etcd publish tests/unit/data/small.policy
run publish-usage-fleet publish --etcd http://127.0.0.1:1 --fleet a/b tests/unit/data/small.policy
run publish-usage-etcd publish --etcd ftp://x tests/unit/data/small.policy
run publish-usage-auth publish --etcd http://127.0.0.1:1 --user u tests/unit/data/small.policy
run fleet-help fleet --help
run fleet-usage fleet
run fleet-usage-sub fleet stats
run fleet-status-help fleet status --help
run fleet-status-usage fleet status now

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

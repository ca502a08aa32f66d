#!/bin/bash
# Run the policy fuzzer for a bounded time over the corpus in the tree.
# New inputs go to a scratch folder, never into the tree.
# Usage: fuzz.sh FUZZER CORPUS_DIR [SECONDS]
set -eu
fuzzer=$1 corpus=$2 secs=${3:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$tmp/" "$tmp" "$corpus" 2>"$tmp/log" || {
	tail -40 "$tmp/log"
	for f in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-*; do
		[ -e "$f" ] && { echo "input $f:"; od -c "$f" | head -20; }
	done
	exit 1
}
grep -E "stat::number_of_executed_units|Done" "$tmp/log" || true

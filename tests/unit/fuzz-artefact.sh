#!/bin/bash
# Run the artefact fuzzer for a bounded time over seeds made now from the
# policies in the tree (artefacts follow the format of this build).
# Usage: fuzz-artefact.sh FUZZER MKARTEFACT SOURCE_ROOT [SECONDS]
set -eu
fuzzer=$1 mk=$2 src=$3 secs=${4:-20}
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
"$mk" "$seeds" "$src"/policies/*.policy "$src"/tests/unit/data/{bind,small,warn}.policy
bash "$(dirname "$0")/fuzz.sh" "$fuzzer" "$seeds" "$secs"

#!/usr/bin/env bash
# Every tracked C source and header is formatted by the repository's
# .clang-format. Prints the files that are not, and the fix.
# Usage: format.sh SOURCE_ROOT
set -u
cd "$1" || exit 1
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find bpf include user tests -name '*.[ch]')
bad=()
for f in "${files[@]}"; do
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -ne 0 ]; then
	printf 'not formatted: %s\n' "${bad[@]}"
	echo "fix: clang-format -i ${bad[*]}"
	exit 1
fi
echo "${#files[@]} files formatted"

#!/usr/bin/env bash
# The bash completion (dist/xdpseg.bash-completion) under bash-completion's
# own framework: what it offers in several cases, and that it offers every
# command of `xdpseg --help`, every option each command's --help lists,
# and every long option of every getopt table in the sources (so a new
# option without completion fails here).
# Usage: completion.sh COMPLETION XDPSEG SOURCE_ROOT
set -uo pipefail
comp=$1 xs=$2 src=$3
fw=/usr/share/bash-completion/bash_completion
if [ ! -f "$fw" ]; then
	echo "SKIP: $fw is missing (scripts/setup installs bash-completion)"
	exit 77
fi
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# shellcheck source=/dev/null
source "$fw"
# shellcheck source=../../dist/xdpseg.bash-completion
source "$comp"
complete -p xdpseg | grep -q -- '-F _xdpseg' || fail "the completion does not register itself"

T=$(mktemp -d /tmp/xdpseg-completion-XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/sub"
touch "$T/a.policy" "$T/b.policy" "$T/x.conf"

# offers LINE: what completing LINE (cursor at its end) offers, sorted, on one line.
offers() {
	local line=$1
	COMP_LINE=$line
	COMP_POINT=${#line}
	read -ra COMP_WORDS <<<"$line"
	[[ $line == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_xdpseg xdpseg "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//'
}
expect() {
	local got
	got=$(offers "$1")
	[ "$got" = "$2" ] || fail "'$1' offers '$got', expected '$2'"
	ok "'$1' -> $2"
}

expect "xdpseg " "agent apply attach check compile confirm detach diff fleet flows grant map metrics publish quarantine release replay revoke rollback show stats status suggest verify watch"
expect "xdpseg a" "agent apply attach"
expect "xdpseg stat" "stats status"
expect "xdpseg -" "--help --verbose --version -V -h -v"
expect "xdpseg -v ap" "apply"
expect "xdpseg status --" "--help --json"
expect "xdpseg watch --v" "--verdict"
expect "xdpseg watch --verdict " "allow audit drop"
expect "xdpseg watch --verdict=d" "drop"
expect "xdpseg watch --port " ""
expect "xdpseg watch --s" "--segment --since"
expect "xdpseg watch --l" "--last"
expect "xdpseg watch --since " ""
expect "xdpseg attach --mode " "generic native"
expect "xdpseg att --mode n" "native"
expect "xdpseg detach --" "--all --help"
expect "xdpseg agent -" "--config --foreground --help -c -f -h"
expect "xdpseg agent --config $T/x" "$T/x.conf"
expect "xdpseg grant --d" "--drain"
expect "xdpseg grant --for " ""
expect "xdpseg quarantine --s" "--strict"
expect "xdpseg quarantine --forensic " ""
expect "xdpseg rev" "revoke"
expect "xdpseg publish $T/a" "$T/a.policy"
expect "xdpseg publish --k" "--keep"
expect "xdpseg publish --token-file $T/x" "$T/x.conf"
expect "xdpseg publish --etcd " ""
expect "xdpseg fleet " "status"
expect "xdpseg fleet st" "status"
expect "xdpseg fleet status --f" "--fleet"
expect "xdpseg check $T/" "$T/a.policy $T/b.policy $T/sub $T/x.conf"
expect "xdpseg apply $T/a" "$T/a.policy"
expect "xdpseg compile --json $T/b" "$T/b.policy"
expect "xdpseg verify --policy $T/b" "$T/b.policy"
expect "xdpseg diff $T/a" "$T/a.policy"
expect "xdpseg replay $T/a" "$T/a.policy"
expect "xdpseg suggest --policy $T/b" "$T/b.policy"
expect "xdpseg suggest --r" "--ranges"
expect "xdpseg suggest --segment " ""
[[ " $(offers "xdpseg diff ") " == *" running "* ]] || fail "diff does not offer 'running'"
ok "diff offers running"
[[ " $(offers "xdpseg verify --src-iface l") " == *" lo "* ]] || fail "verify --src-iface offers no interface"
ok "verify --src-iface offers interfaces"
expect "xdpseg apply --dry-run --l" "--limit"
expect "xdpseg apply --limit " ""
expect "xdpseg diff -I $T/s" "$T/sub"
expect "xdpseg metrics -" "--help --output -h -o"
expect "xdpseg met --output $T/" "$T/sub"
[[ " $(offers "xdpseg attach l") " == *" lo "* ]] || fail "attach does not offer the interface lo"
ok "attach offers interfaces"
[[ " $(offers "xdpseg detach --all l") " == *" lo "* ]] || fail "detach does not offer the interface lo"
ok "detach offers interfaces"

# Every command xdpseg lists.
cmds=$("$xs" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}' |
	LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
[ -n "$cmds" ] || fail "no commands in 'xdpseg --help'"
expect "xdpseg " "$cmds"

# Every option each command's --help lists ("  -j, --json ...").
for c in $cmds; do
	want=$("$xs" "$c" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+' |
		LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')
	[ -n "$want" ] || fail "'xdpseg $c --help' lists no option"
	expect "xdpseg $c --" "$want"
done

# Every long option of every getopt table in the sources.
all=" $(offers "xdpseg -") "
for c in $cmds; do
	all+=" $(offers "xdpseg $c -") "
done
mapfile -t longs < <(grep -rhoE '\{ *"[a-z][a-z-]*", *(no|required|optional)_argument' "$src/user" |
	grep -oE '"[a-z-]+"' | tr -d '"' | sort -u)
[ "${#longs[@]}" -gt 5 ] || fail "found only ${#longs[@]} long options in the sources"
for o in "${longs[@]}"; do
	[[ $all == *" --$o "* ]] || fail "--$o (a getopt table in user/) is completed by no command"
done
ok "all ${#longs[@]} long options of the sources are completed"

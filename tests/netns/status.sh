#!/usr/bin/env bash
# `xdpseg status` tells the truth and exits accordingly (issue 7): each
# recorded interface is protected, partial (some of its hooks run this
# load's programs, some do not), unprotected (none do), or gone; an agent
# that answers on the socket adds what it selects, and an interface it
# selects that is not protected makes the host not protected. Exit 0 only
# when protected, 3 when not, 1 when nothing is loaded and no agent runs.
# The agent here is a fake (a python3 server answering the status schema),
# so this test depends on nothing but the socket's protocol.
source "$(dirname "$0")/common.sh"
test_lab_init "$1"

lab_host
lab_vm a 10.0.0.1
lab_vm b 10.0.0.2
P=$LAB_PIN_DIR
SOCK=$XDPSEG_AGENT_SOCK
[[ $SOCK == "$LAB_TMP"/* ]] || fail "the lab's agent socket is not in its temporary directory: $SOCK"
POLICY=$LAB_TMP/status.policy
printf 'segment left 10.0.0.1\nsegment right 10.0.0.2\nallow left -> right : icmp/8\n' >"$POLICY"

# st: "NAME:STATE ... protected=BOOL" from --json, and its exit status.
st() {
	local js rc
	js=$(lab_xs status --json 2>/dev/null)
	rc=$?
	python3 -c 'import json,sys
s = json.load(sys.stdin)
print(" ".join("%s:%s" % (i["name"], i["state"]) for i in s["interfaces"]), "protected=%s" % s["protected"], end="")' <<<"$js"
	echo " rc=$rc"
}
# text: the text output and its exit status.
text() {
	local out rc
	out=$(lab_xs status 2>&1)
	rc=$?
	printf '%s\nrc=%s' "$out" "$rc"
}

# ---- Without an agent ---------------------------------------------------------------

out=$(lab_xs status 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: xdpseg is not loaded (nothing pinned under $P): run 'xdpseg attach IFACE' first" \
	"nothing loaded, no agent: an error, exit 1"

lab_xs attach h-a h-b >/dev/null 2>&1 || fail "attach"
expect_eq "$(st)" "h-a:protected h-b:protected protected=False rc=3" "attached, no policy: exit 3"
expect_match "$(text)" "^not protected: no policy applied" "the summary says why"
lab_xs apply "$POLICY" >/dev/null || fail "apply"
expect_eq "$(st)" "h-a:protected h-b:protected protected=True rc=0" "all protected: exit 0"
expect_match "$(text)" $'\nagent: not running\n' "no agent: 'agent: not running', no error"
expect_eq "$(lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["agent"])')" \
	"{'socket': '$SOCK', 'running': False, 'error': None}" "JSON: the agent is not running"

# partial: h-a's TC egress filter deleted by hand (its XDP still ours)
lab_in host tc filter del dev h-a egress
expect_eq "$(st)" "h-a:partial h-b:protected protected=False rc=3" "one hook removed: partial, exit 3"
expect_match "$(text)" "^not protected: h-a partial" "the summary names it"
expect_match "$(text)" $'\n  h-a +ifindex [0-9]+ .* partial \\(no tc egress\\): \'xdpseg attach h-a\' repairs it' \
	"text: partial and what is missing"
expect_eq "$(lab_xs status --json | python3 -c 'import json,sys; i = json.load(sys.stdin)["interfaces"][0]; print(i["hooks"], i["problems"])')" \
	"{'xdp': True, 'tc_egress': False} no tc egress" "JSON: which hook is missing"

# unprotected: its XDP link goes too
rm "$P/links/xdp-h-a"
expect_eq "$(st)" "h-a:unprotected h-b:protected protected=False rc=3" "no hook left: unprotected, exit 3"
expect_match "$(text)" "unprotected \(no xdp native, no tc egress\)" "text: both hooks missing"
lab_xs attach h-a >/dev/null || fail "attach h-a again"
expect_eq "$(st)" "h-a:protected h-b:protected protected=True rc=0" "repaired: exit 0"

# gone: h-b deleted
lab_in host ip link del h-b
expect_eq "$(st)" "h-a:protected h-b:gone protected=False rc=3" "a deleted interface: gone, exit 3"
expect_match "$(text)" "^not protected: h-b gone" "the summary names it"
lab_xs detach h-b >/dev/null || fail "detach h-b"
expect_eq "$(st)" "h-a:protected protected=True rc=0" "its record dropped: exit 0"

# ---- A fake agent --------------------------------------------------------------------

# It answers every request with the content of $LAB_TMP/reply (read at each
# request): a JSON reply, or HANG (never answers), or GARBAGE.
REPLY=$LAB_TMP/reply
cat >"$LAB_TMP/fake-agent.py" <<'EOF'
import os, socket, sys, time
path, reply, log = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(8)
while True:
    c, _ = s.accept()
    req = b""
    while not req.endswith(b"\n"):
        d = c.recv(4096)
        if not d:
            break
        req += d
    with open(log, "ab") as f:
        f.write(req)
    r = open(reply).read()
    if r == "HANG":
        time.sleep(3)
    elif r == "GARBAGE":
        c.sendall(b"not json\n")
    else:
        c.sendall(r.encode() + b"\n")
    c.close()
EOF
lab_spawn host 120 python3 "$LAB_TMP/fake-agent.py" "$SOCK" "$REPLY" "$LAB_TMP/requests"
# reply IFACES [FILE_ERROR]: the status schema of the issue, with these interfaces.
reply() {
	python3 - "$1" "${2:-}" >"$REPLY" <<'EOF'
import json, sys
ifs, ferr = sys.argv[1:]
print(json.dumps({"ok": True,
    "agent": {"pid": 4242, "config": "/etc/xdpseg/xdpseg.conf", "started_at": "2026-11-25T08:00:00Z",
              "uptime_s": 3 * 3600 + 12 * 60 + 5, "version": "0.1.0"},
    "config": {"interfaces": ["h-*", "vnet*"], "bridges": ["br0"], "mode": "native", "unprotected": "warn",
               "pin_dir": "/sys/fs/bpf/xdpseg", "state_dir": "/var/lib/xdpseg", "policy": "/etc/xdpseg/farm.policy"},
    "policy": {"generation": 2, "hash": "ab" * 32, "file": "/etc/xdpseg/farm.policy", "source": "config",
               "file_error": ferr or None},
    "interfaces": json.loads(ifs)}), end="")
EOF
}
PROT='[{"name":"h-a","ifindex":5,"matched_by":"h-*","state":"protected","error":null}]'
BAD='[{"name":"h-a","ifindex":5,"matched_by":"h-*","state":"protected","error":null},
      {"name":"vnet9","ifindex":31,"matched_by":"vnet*","state":"attach-failed","error":"XDP: Operation not supported"}]'
reply "$PROT"
for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || fail "the fake agent does not listen on $SOCK"

expect_eq "$(st)" "h-a:protected protected=True rc=0" "an agent that calls everything protected: exit 0"
expect_match "$(text)" $'\nagent: running, pid 4242, config /etc/xdpseg/xdpseg.conf, up 3h12m, policy source config \\(generation 2, /etc/xdpseg/farm.policy\\)\n  interfaces it selects: 1, not protected: 0\n' \
	"text: the agent line"
expect_eq "$(sort -u "$LAB_TMP/requests")" '{"cmd":"status"}' "status asks it {\"cmd\":\"status\"}"
expect_eq "$(lab_xs status --json | python3 -c 'import json,sys; a = json.load(sys.stdin)["agent"]; print(a["running"], a["pid"], a["uptime_s"], a["policy"]["source"], a["configuration"]["interfaces"], a["not_protected"])')" \
	"True 4242 11525 config ['h-*', 'vnet*'] []" "JSON: the agent object"

reply "$BAD"
expect_eq "$(st)" "h-a:protected protected=False rc=3" "an interface it selects is not protected: exit 3"
expect_match "$(text)" "^not protected: vnet9 attach-failed \(agent\)" "the summary names it"
expect_match "$(text)" $'\n  interfaces it selects: 2, not protected: 1\n    vnet9 +ifindex 31   matched by vnet\\*   attach-failed: XDP: Operation not supported\n' \
	"text: the interface, how it matched, why"
expect_eq "$(lab_xs status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["agent"]["not_protected"])')" \
	"['vnet9']" "JSON: not_protected"
# one the recorded check names already is not named twice
reply '[{"name":"h-a","ifindex":5,"matched_by":"h-*","state":"partial","error":null}]'
lab_in host tc filter del dev h-a egress
expect_match "$(text)" "^not protected: h-a partial"$'\n' "an interface both call not protected is named once"
lab_xs attach h-a >/dev/null

reply "$PROT" "/etc/xdpseg/farm.policy:12: error: unknown segment 'vdaa'"
out=$(lab_xs status 2>"$LAB_TMP/stderr")
expect_eq "$?" 0 "a policy file that no longer compiles: still protected (the last good is enforced)"
expect_match "$out" $'\n  policy /etc/xdpseg/farm.policy no longer compiles: /etc/xdpseg/farm.policy:12: error: unknown segment \'vdaa\'; enforcing the last good \\(hash (ab){32}\\)\n' \
	"text: the file's error, loudly"
expect_match "$(cat "$LAB_TMP/stderr")" "^xdpseg: warning: the agent's policy file no longer compiles: /etc/xdpseg/farm.policy:12: error" \
	"and a warning on stderr"

printf GARBAGE >"$REPLY"
expect_match "$(text)" $'\nagent: not answering: .* answered with something that is not JSON\n.*rc=0$' \
	"an agent that answers garbage: said, no effect on the exit status"
printf HANG >"$REPLY"
t0=$(date +%s%N)
expect_match "$(text)" $'\nagent: not answering: no answer on .* within 1000 ms\n' "an agent that hangs: said"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -lt 2500 ] || fail "status waited $(((t1 - t0) / 1000000)) ms for a hung agent"
ok "status waits at most about a second for it"
sleep 2.5 # let the fake finish its sleep

# Nothing loaded while an agent runs: not protected, exit 3 (not the error).
reply "$BAD"
lab_xs detach --all >/dev/null || fail "detach --all"
out=$(lab_xs status 2>&1)
expect_eq "$?" 3 "nothing loaded while an agent runs: exit 3"
expect_match "$out" "^not protected: xdpseg is not loaded \(nothing pinned under $P\), but an agent runs"$'\n'"agent: running, pid 4242" \
	"it says so, and what the agent says"
expect_eq "$(lab_xs status --json | python3 -c 'import json,sys; s = json.load(sys.stdin); print(s["protected"], s["loaded"], s["agent"]["not_protected"])')" \
	"False False ['vnet9']" "JSON too"

# A stale socket (no one listens): not running.
kill "$LAB_SPAWNED" 2>/dev/null
wait "$LAB_SPAWNED" 2>/dev/null
[ -S "$SOCK" ] || fail "the fake agent's socket went with it"
out=$(lab_xs status 2>&1)
expect_eq "$?:$out" "1:xdpseg: error: xdpseg is not loaded (nothing pinned under $P): run 'xdpseg attach IFACE' first" \
	"a socket no one listens on is no agent: nothing loaded is the error again"

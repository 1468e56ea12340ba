#!/bin/bash
# kinit_pid1.sh BIN_DIR -- the whole stack under kinit: kinit, kconfigd,
# kstartd and kctl, first with kinit as PID 1 of a private PID namespace
# (unshare --pid --fork --mount-proc), then as a child subreaper.  In both:
# the test service comes online, `kill -9` of its pid brings it back with a
# new pid, and SIGTERM to kinit stops everything: kinit exits 0 and no
# process it ran is left.  Every wait is bounded; cleanup is by pid.
. "$(dirname "$0")/lib.sh" "$1"
cat >"$SYSTEMK_MANIFEST_DIR/sleeper.json" <<'EOF'
{
  "service": "sleeper",
  "description": "kinit test service",
  "start": { "exec": ["/bin/sleep", "1000"] },
  "instances": { "default": { "enabled": true } }
}
EOF

gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat")" = Z ]; }
tree() { local c; for c in $(children_of "$1"); do echo "$c"; tree "$c"; done; }
# At exit, before lib.sh kills the tracked pids, kill what they started.
kill_trees() {
    local p all=()
    for p in "${TRACKED[@]}"; do all+=($(tree "$p")); done
    [ ${#all[@]} -eq 0 ] || kill -KILL "${all[@]}" 2>/dev/null || true
}
trap 'rc=$?; kill_trees; (exit $rc); cleanup' EXIT

# has_depth PID N: PID's tree has N processes (timeout ─ unshare ─ kinit).
has_depth() { [ -n "$(tree "$1" | sed -n "$2p")" ]; }
# The host pid of namespace pid $2 among kinit's ($1) descendants.
host_pid() {
    local p
    for p in $(tree "$1"); do
        [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$p/status" 2>/dev/null)" = "$2" ] &&
            { echo "$p"; return 0; }
    done
    return 1
}
online_with_pid() {   # SVC: online with a pid other than $OLD
    local p
    is_state "$1" online || return 1
    p=$(pid_of "$1")
    [ -n "$p" ] && [ "$p" != "${OLD:-}" ]
}

# run_case MODE: MODE is pid1 or subreaper.
run_case() {
    local mode=$1 to kp nspid hp all rc=0
    rm -rf "$SYSTEMK_RUN_DIR" "$SYSTEMK_STATE_DIR" "$SYSTEMK_LOG_DIR"
    if [ "$mode" = pid1 ]; then
        timeout 60 unshare --pid --fork --mount-proc --kill-child \
            "$BIN/kinit" 2>"$T/kinit-$mode.console" &
        to=$!; track "$to"
        wait_until 10 has_depth "$to" 2 || fail "$mode: no kinit"
        kp=$(tree "$to" | sed -n 2p)    # timeout ─ unshare ─ kinit
    else
        timeout 60 "$BIN/kinit" 2>"$T/kinit-$mode.console" &
        to=$!; track "$to"
        wait_until 10 has_depth "$to" 1 || fail "$mode: no kinit"
        kp=$(children_of "$to" | tr -d ' ')
    fi
    track "$kp"
    # Right after kinit starts, kstartd does not listen yet: `kctl wait`
    # waits for it rather than failing with 5 (daemon unreachable).
    rc=0; timeout 40 "$BIN/kctl" wait default --timeout 30 2>"$T/wait-$mode.err" || rc=$?
    [ "$rc" = 0 ] || fail "$mode: 'kctl wait default' at boot exited $rc: $(cat "$T/wait-$mode.err")"
    OLD=
    wait_until 30 online_with_pid sleeper || fail "$mode: sleeper never online"
    nspid=$(pid_of sleeper)
    if [ "$mode" = pid1 ]; then
        hp=$(host_pid "$kp" "$nspid") || fail "$mode: no host pid for $nspid"
    else
        hp=$nspid
    fi
    all=$(tree "$kp")
    kill -KILL "$hp"
    OLD=$nspid
    wait_until 15 online_with_pid sleeper || fail "$mode: sleeper not restarted"
    ok "$mode: sleeper killed (pid $nspid), back online as pid $(pid_of sleeper)"

    # Fault signals sent with kill(1) do not end kinit (only a real fault
    # may): not even as a subreaper, which the kernel does not protect.
    for s in SEGV BUS ILL FPE TRAP SYS ABRT USR1 USR2 HUP QUIT; do
        kill "-$s" "$kp"
    done
    sleep 0.3
    kill -0 "$kp" 2>/dev/null && ! grep -q '^Z' <(ps -o stat= -p "$kp") ||
        fail "$mode: kinit died of a signal sent with kill"
    is_state sleeper online || fail "$mode: sleeper not online after the signals"
    ok "$mode: SEGV BUS ILL FPE TRAP SYS ABRT USR1 USR2 HUP QUIT sent with kill: kinit lives"

    all="$all $(tree "$kp")"
    kill -TERM "$kp"
    wait_until 30 gone "$to" || fail "$mode: kinit did not exit within 30 s"
    wait "$to" || rc=$?
    [ "$rc" = 0 ] || fail "$mode: kinit exited $rc after SIGTERM, want 0"
    for p in $all; do gone "$p" || fail "$mode: pid $p outlived kinit"; done
    [ ! -e "$SYSTEMK_RUN_DIR/kinit.sock" ] || fail "$mode: kinit.sock left behind"
    grep -q "exiting with status 0" "$T/kinit-$mode.console" ||
        fail "$mode: no clean exit in kinit's log"
    ok "$mode: SIGTERM stopped everything, kinit exited 0, nothing left"
}

run_case pid1
run_case subreaper

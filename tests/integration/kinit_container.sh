#!/bin/bash
# kinit_container.sh BIN_DIR -- kinit as a container's init, on the real
# stack (kinit + kconfigd + kstartd), as PID 1 of a PID namespace and again
# as a child subreaper: orphans are reaped (one grandchild, then 1000 at
# once), the main command's exit status is kinit's (0, 1, 255; 128+N when
# killed; 127/126 when it cannot run), every forwardable signal reaches it,
# and a main command that ignores SIGTERM is SIGKILLed at the end of the
# grace budget together with whatever else is left, and kinit exits 137.
# Every run is bounded (timeout 60: exit 124 is a hang).
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
export SYSTEMK_GRACE_S=2

# ---- scripts run as the main command ----------------------------------------
# orphans.sh: a grandchild orphaned to kinit must be reaped; then 1000
# short-lived orphans at once must leave no zombie child of kinit ($PPID).
cat >"$T/orphans.sh" <<'EOF'
#!/bin/sh
zombies() {  # zombie children of kinit (only its children: the host may
    n=0      # run thousands of processes when this is not PID 1)
    for c in $(cat /proc/$PPID/task/*/children 2>/dev/null); do
        set -- $(sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null)
        [ "${1:-}" = Z ] && n=$((n + 1))
    done
    echo "$n"
}
gone_within() {  # PID: gone (not even a zombie) within 10 s
    i=0
    while [ -e "/proc/$1" ]; do
        i=$((i + 1)); [ "$i" -le 200 ] || return 1; sleep 0.05
    done
}
sh -c 'sleep 0.2 & echo $! >"$1"' sh "$OUT.gc"  # sleep's parent exits at once
gc=$(cat "$OUT.gc")
gone_within "$gc" || { echo "grandchild $gc not reaped" >"$OUT"; exit 1; }
sh -c 'i=0; while [ $i -lt 1000 ]; do (exit 0) & i=$((i + 1)); done'
i=0
while [ "$(zombies)" != 0 ]; do
    i=$((i + 1))
    [ "$i" -le 200 ] || { echo "zombies left: $(zombies)" >"$OUT"; exit 1; }
    sleep 0.05
done
echo reaped >"$OUT"
EOF
# traps.sh: records every signal it gets; exits 0 on TERM.
cat >"$T/traps.sh" <<'EOF'
#!/bin/sh
for s in INT HUP QUIT USR1 USR2 WINCH; do trap "echo $s >>'$OUT'" "$s"; done
trap "echo TERM >>'$OUT'; exit 0" TERM
echo ready >>"$OUT"
while :; do sleep 0.05; done
EOF
# stubborn.sh: ignores SIGTERM, and leaves a process (in its own session)
# that ignores it too: both must be SIGKILLed at the deadline.
cat >"$T/stubborn.sh" <<'EOF'
#!/bin/bash
trap '' TERM INT
setsid bash -c 'trap "" TERM INT; exec -a "leftover-$1" sleep 1000' _ "$MARK" &
echo ready >"$OUT"
exec -a "main-$MARK" sleep 1000
EOF
printf '#!/bin/sh\nexit 0\n' >"$T/noexec.sh"
chmod 755 "$T/orphans.sh" "$T/traps.sh" "$T/stubborn.sh"
chmod 644 "$T/noexec.sh"

has_line() { grep -qx "$2" "$1" 2>/dev/null; }
nth_is() { [ "$(sed -n "$2p" "$1" 2>/dev/null)" = "$3" ]; }  # FILE N LINE

case_orphans() {
    local mode=$1
    fresh_dirs; export OUT=$T/orphans.$mode
    run_fg "$mode" -- "$T/orphans.sh"
    expect_rc 0 "$mode: orphans ($(cat "$OUT" 2>/dev/null))"
    has_line "$OUT" reaped || fail "$mode: orphans: $(cat "$OUT" 2>/dev/null)"
    ok "$mode: an orphaned grandchild is reaped; 1000 orphans leave no zombie"
}

case_status() {
    local mode=$1 c
    for c in 0 1 255; do
        fresh_dirs; run_fg "$mode" -- sh -c "exit $c"
        expect_rc "$c" "$mode: sh -c 'exit $c'"
    done
    fresh_dirs; run_fg "$mode" -- sh -c 'kill -TERM $$'; expect_rc 143 "$mode: TERM"
    fresh_dirs; run_fg "$mode" -- sh -c 'kill -HUP $$'; expect_rc 129 "$mode: HUP"
    fresh_dirs; run_fg "$mode" -- sh -c 'ulimit -c 0; kill -QUIT $$'
    expect_rc 131 "$mode: QUIT"
    fresh_dirs; run_fg "$mode" -- sh -c 'kill -KILL $$'; expect_rc 137 "$mode: KILL"
    fresh_dirs; run_fg "$mode" -- /nonexistent/command; expect_rc 127 "$mode: missing"
    grep -q "unable to execute '/nonexistent/command'" "$CONSOLE" ||
        fail "$mode: no message for a missing command"
    fresh_dirs; run_fg "$mode" -- "$T/noexec.sh"; expect_rc 126 "$mode: not executable"
    grep -q "unable to execute '$T/noexec.sh': Permission denied" "$CONSOLE" ||
        fail "$mode: no message for a command that cannot be executed"
    ok "$mode: exit 0, 1, 255 propagate; TERM/HUP/QUIT/KILL give 143/129/131/137; 127/126"
}

case_signals() {
    local mode=$1 s n=1
    fresh_dirs; export OUT=$T/traps.$mode; rm -f "$OUT"
    run_bg "$mode" -- "$T/traps.sh"
    wait_until 20 has_line "$OUT" ready || fail "$mode: traps.sh never started"
    # INT begins shutdown (and is forwarded); TERM then reaches it too.
    for s in HUP QUIT USR1 USR2 WINCH INT TERM; do
        kill "-$s" "$KP"
        n=$((n + 1))
        wait_until 10 nth_is "$OUT" "$n" "$s" ||
            fail "$mode: SIG$s did not reach the main command ($(tr '\n' ' ' <"$OUT"))"
    done
    finish_bg 20
    expect_rc 0 "$mode: traps.sh exiting 0 on TERM"
    ok "$mode: TERM, INT, HUP, QUIT, USR1, USR2, WINCH reach the main command"
}

case_grace() {
    local mode=$1 lp mp
    fresh_dirs; export OUT=$T/stubborn.$mode MARK=$RANDOM$RANDOM; rm -f "$OUT"
    run_bg "$mode" -- "$T/stubborn.sh"
    wait_until 20 test -s "$OUT" || fail "$mode: stubborn.sh never started"
    wait_until 10 pgrep -f "^leftover-$MARK" || fail "$mode: no leftover process"
    lp=$(pgrep -f "^leftover-$MARK"); mp=$(pgrep -f "^main-$MARK")
    track "$lp" "$mp"
    kill -TERM "$KP"
    finish_bg 20
    expect_rc 137 "$mode: main command ignoring SIGTERM"
    gone "$lp" || fail "$mode: the leftover process outlived kinit"
    gone "$mp" || fail "$mode: the main command outlived kinit"
    grep -q "grace of 2000 ms is over: killing what is left" "$CONSOLE" ||
        fail "$mode: no SIGKILL at the deadline in kinit's log"
    ok "$mode: SIGTERM ignored: SIGKILL at the 2 s deadline, leftovers killed, exit 137"
}

for mode in pid1 subreaper; do
    case_orphans "$mode"
    case_status "$mode"
    case_signals "$mode"
    case_grace "$mode"
done

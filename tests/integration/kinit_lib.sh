# kinit_lib.sh -- helpers of the kinit_container*.sh tests (issue 5), sourced
# after lib.sh.  They run the REAL stack (kinit, kconfigd, kstartd from the
# bin dir) in one of two modes:
#   pid1       kinit is PID 1 of a private PID namespace
#              (unshare --pid --fork --mount-proc --kill-child)
#   subreaper  kinit is a plain child of the test: a child subreaper
# Every run is bounded by timeout(1) (exit 124 means kinit hung); every
# process is tracked, and at exit whatever the tracked pids started is
# SIGKILLed by pid too, never by name.

tree() { local c; for c in $(children_of "$1"); do echo "$c"; tree "$c"; done; }
kill_trees() {
    local p all=()
    for p in "${TRACKED[@]}"; do all+=($(tree "$p")); done
    [ ${#all[@]} -eq 0 ] || kill -KILL "${all[@]}" 2>/dev/null || true
}
trap 'rc=$?; kill_trees; (exit $rc); cleanup' EXIT

gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
has_depth() { [ -n "$(tree "$1" | sed -n "$2p")" ]; }

# fresh_dirs: empty run, state and log dirs (the manifest dir is kept).
fresh_dirs() { rm -rf "$SYSTEMK_RUN_DIR" "$SYSTEMK_STATE_DIR" "$SYSTEMK_LOG_DIR"; }

# kinit_cmd MODE: the command line prefix that runs kinit in MODE.
kinit_cmd() {
    case $1 in
    pid1) echo "timeout 60 unshare --pid --fork --mount-proc --kill-child $BIN/kinit" ;;
    subreaper) echo "timeout 60 $BIN/kinit" ;;
    *) fail "unknown mode $1" ;;
    esac
}

# run_fg MODE ARGS...: runs kinit ARGS in MODE in the foreground, its console
# in $CONSOLE; its exit status in RC (124: it hung for 60 s).
RUNS=0
run_fg() {
    local mode=$1; shift
    RUNS=$((RUNS + 1)); CONSOLE=$T/kinit.$RUNS.console
    RC=0
    $(kinit_cmd "$mode") "$@" 2>"$CONSOLE" || RC=$?
}

# run_bg MODE ARGS...: starts kinit ARGS in MODE in the background.  Sets TO
# (the timeout process, whose status is kinit's) and KP (kinit's host pid).
run_bg() {
    local mode=$1; shift
    RUNS=$((RUNS + 1)); CONSOLE=$T/kinit.$RUNS.console
    $(kinit_cmd "$mode") "$@" 2>"$CONSOLE" &
    TO=$!; track "$TO"
    if [ "$mode" = pid1 ]; then
        wait_until 10 has_depth "$TO" 2 || fail "$mode: kinit did not start"
        KP=$(tree "$TO" | sed -n 2p)  # timeout ─ unshare ─ kinit
    else
        wait_until 10 has_depth "$TO" 1 || fail "$mode: kinit did not start"
        KP=$(children_of "$TO" | tr -d ' ')
    fi
    track "$KP"
}

# finish_bg SECS: waits (bounded) for the background kinit; status in RC.
finish_bg() {
    wait_until "$1" gone "$TO" || fail "kinit did not exit within $1 s"
    RC=0
    wait "$TO" || RC=$?
}

# daemon_pid NAME: the host pid of kinit's child NAME (kconfigd, kstartd).
daemon_pid() { pgrep -P "$KP" -x "$1" | head -n 1; }

# is_pid1: kinit ($KP) is PID 1 of its namespace.
is_pid1() { [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$KP/status" 2>/dev/null)" = 1 ]; }

# expect_rc WANT WHAT: RC must be WANT.
expect_rc() {
    [ "$RC" = "$1" ] || { tail -n 20 "$CONSOLE" >&2; fail "$2: exit $RC, want $1"; }
}

# lib.sh -- shared by the integration tests.  Source it with the bin dir as $1:
#     . "$(dirname "$0")/lib.sh" "$1"
# It makes a private temp dir with SYSTEMK_*_DIR inside it, remembers every
# pid a test starts (track PID) and kills exactly those at exit, never by name.
set -euo pipefail
BIN=$(cd "${1:?usage: TEST BIN_DIR}" && pwd)
T=$(mktemp -d /tmp/systemk-it.XXXXXX)
export SYSTEMK_RUN_DIR=$T/run SYSTEMK_STATE_DIR=$T/state
export SYSTEMK_LOG_DIR=$T/log SYSTEMK_MANIFEST_DIR=$T/manifests
mkdir -p "$SYSTEMK_MANIFEST_DIR"
TRACKED=()
TEST_NAME=$(basename "$0" .sh)

track() { TRACKED+=("$@"); }

cleanup() {
    local rc=$?
    for p in "${TRACKED[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    for p in "${TRACKED[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "$rc" -ne 0 ]; then
        echo "--- $TEST_NAME failed (rc $rc); logs from $T:" >&2
        for f in "$T"/*.console "$SYSTEMK_LOG_DIR"/*; do
            [ -f "$f" ] || continue
            echo "--- $f" >&2; tail -n 30 "$f" >&2
        done
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT

fail() { echo "FAIL: $TEST_NAME: $*" >&2; exit 1; }
ok()   { echo "ok: $*"; }

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds.
wait_until() {
    local secs=$1; shift
    local end=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
    while ! "$@" >/dev/null 2>&1; do
        [ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || return 1
        sleep 0.1
    done
}

# The children of a pid (e.g. kinit under unshare).
children_of() { cat "/proc/$1/task/$1/children" 2>/dev/null || true; }

# Start kconfigd and kstartd directly (no kinit); waits for their sockets.
start_configd() {
    "$BIN/kconfigd" "$@" 2>>"$T/configd.console" &
    CONFIGD=$!; track "$CONFIGD"
    wait_until 10 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/configd.sock" \
        || fail "kconfigd did not answer sys.hello"
}
start_startd() {
    "$BIN/kstartd" "$@" 2>>"$T/startd.console" &
    STARTD=$!; track "$STARTD"
    wait_until 10 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" \
        || fail "kstartd did not answer sys.hello"
}

# state_of SVC: the state kctl list --json reports for svc:/SVC:default.
state_of() {
    "$BIN/kctl" list -a --json 2>/dev/null |
        jq -r --arg f "svc:/$1:default" '.[] | select(.fmri == $f) | .state'
}
pid_of() {
    "$BIN/kctl" list -a --json 2>/dev/null |
        jq -r --arg f "svc:/$1:default" '.[] | select(.fmri == $f) | .pid // empty'
}
is_state() { [ "$(state_of "$1")" = "$2" ]; }

# ---- added for issue 4 (restarter verbs) ----------------------------------
# kill_marked MARK: SIGKILL the process group of every process whose command
# line holds MARK (services lead their own groups).  Only what a test started
# carries its marker.
kill_marked() {
    local p
    for p in $(pgrep -f "$1" 2>/dev/null || true); do
        kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    done
}
# stop_under_kinit MARK: for tests that run kinit ($KINIT) as a subreaper:
# kinit's children (kstartd, kconfigd) first -- kstartd would restart what
# kill_marked kills -- then kinit, then the services marked MARK.  Use as
#   trap 'rc=$?; stop_under_kinit "$M"; set +e; (exit $rc); cleanup' EXIT
stop_under_kinit() {
    local c
    if [ -n "${KINIT:-}" ]; then
        for c in $(children_of "$KINIT"); do kill -KILL "$c" 2>/dev/null || true; done
        kill -KILL "$KINIT" 2>/dev/null || true
    fi
    kill_marked "$1"
}
# kctl_rc CMD...: the exit code of kctl CMD (output discarded).
kctl_rc() { local rc=0; "$BIN/kctl" "$@" >/dev/null 2>&1 || rc=$?; echo "$rc"; }

# ---- numbered writers of kconfigd (configd_crash, configd_batch_rerun) ----
# commit_writer W FMRI: transaction N = 1, 2, ... sets app/wW_a = app/wW_b
# = N in FMRI through configd.sock; N is acknowledged (appended to
# $T/acked.W) only when the reply says ok, and retried until then
# (idempotent: the same values again); a failure is appended to
# $T/failed.W with its reply.  Writer sW sets the one property one/sW, in a
# group no other writer touches (a commit to a group reads it, which puts a
# dirty group first).  It ends when $T/stop-writers exists, when the test
# ($TEST_PID) is gone (ctest's timeout sends SIGKILL: no trap runs), or at
# $WRITERS_END (SECONDS).
commit_writer() {
    local w=$1 fmri=$2 n=1 ops
    while [ ! -e "$T/stop-writers" ] && kill -0 "$TEST_PID" 2>/dev/null &&
        [ "$SECONDS" -lt "$WRITERS_END" ]; do
        if [ "${w#s}" != "$w" ]; then
            ops="[{\"op\":\"set\",\"pg\":\"one\",\"prop\":\"$w\",\"type\":\"integer\",\"values\":[$n]}]"
        else
            ops="[{\"op\":\"set\",\"pg\":\"app\",\"prop\":\"w${w}_a\",\"type\":\"integer\",\"values\":[$n]},
                  {\"op\":\"set\",\"pg\":\"app\",\"prop\":\"w${w}_b\",\"type\":\"integer\",\"values\":[$n]}]"
        fi
        if timeout 10 "$BIN/ksock" call "$SYSTEMK_RUN_DIR/configd.sock" repo.commit \
               "{\"fmri\":\"$fmri\",\"ops\":$ops}" >"$T/reply.$w" 2>&1 &&
           grep -q '"generation"' "$T/reply.$w"; then
            echo "$n" >>"$T/acked.$w"
            n=$((n + 1))
        else
            echo "$n: $(cat "$T/reply.$w")" >>"$T/failed.$w"
            sleep 0.02
        fi
    done
}
# check_acked FINAL_JSON W...: every writer W got something acknowledged,
# and the repository (FINAL_JSON, kctl --json get of the service) holds its
# last acknowledged N, or the one in flight when it stopped, never more; a
# pair is whole.  Prints the number of acknowledged transactions.
check_acked() {
    local final=$1 w last a b total=0
    shift
    for w in "$@"; do
        [ -s "$T/acked.$w" ] || fail "writer $w got no transaction acknowledged"
        last=$(tail -n 1 "$T/acked.$w")
        total=$((total + $(wc -l <"$T/acked.$w")))
        if [ "${w#s}" != "$w" ]; then
            a=$(jq -r ".property_groups.one.$w.values[0]" "$final") b=$a
        else
            a=$(jq -r ".property_groups.app.w${w}_a.values[0]" "$final")
            b=$(jq -r ".property_groups.app.w${w}_b.values[0]" "$final")
        fi
        [ "$a" = "$b" ] || fail "writer $w half-applied: a=$a b=$b"
        [ "$a" -ge "$last" ] && [ "$a" -le $((last + 1)) ] ||
            fail "writer $w: acknowledged $last, repository has $a"
    done
    echo "$total"
}

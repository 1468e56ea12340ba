#!/bin/bash
# kinit_fakes.sh BIN_DIR -- kinit against stand-in daemons (kinit_fake.py), so
# that kinit's own contract is held without the real kconfigd and kstartd:
# the flags and readiness protocol, kinit.sock (modes, errors, peer uids),
# kconfigd's automatic and kstartd's manual restart, the exit ring, the
# shutdown order and exit statuses, main-command mode, and PID 1 in a PID
# namespace.  Every wait is bounded; every process is tracked and killed by
# pid at exit.
. "$(dirname "$0")/lib.sh" "$1"
HERE=$(cd "$(dirname "$0")" && pwd)
export FAKE_DIR=$T/fake SYSTEMK_GRACE_S=3
for r in configd startd; do
    printf '#!/bin/sh\nexec python3 %s %s "$@"\n' "$HERE/kinit_fake.py" "$r" \
        >"$T/k$r"
    chmod +x "$T/k$r"
done
# At exit, before lib.sh kills the tracked pids: kill what they started too
# (a SIGKILLed kinit would leave its daemons to the host's init).
tree() { local c; for c in $(children_of "$1"); do echo "$c"; tree "$c"; done; }
kill_trees() {
    local p all=()
    for p in "${TRACKED[@]}"; do all+=($(tree "$p")); done
    [ ${#all[@]} -eq 0 ] || kill -KILL "${all[@]}" 2>/dev/null || true
}
trap 'rc=$?; kill_trees; (exit $rc); cleanup' EXIT
KARGS=(--configd "$T/kconfigd" --startd "$T/kstartd")
SOCK=$SYSTEMK_RUN_DIR/kinit.sock

kcall() { timeout 10 "$BIN/ksock" unix "$SOCK" "$@"; }
# has PATTERN CMD...: CMD's output (stdout and stderr, any status) matches.
has() {
    local pat=$1 out; shift
    out=$("$@" 2>&1 || true)
    grep -q -- "$pat" <<<"$out"
}
RUN=0
fresh() {
    rm -rf "$FAKE_DIR" "$SYSTEMK_RUN_DIR"; mkdir -p "$FAKE_DIR"
    RUN=$((RUN + 1)); CONSOLE=$T/kinit.$RUN.console
}
# start_kinit ARGS...: kinit as a subreaper in the background; pid in KINIT.
start_kinit() {
    fresh
    "$BIN/kinit" "${KARGS[@]}" "$@" 2>"$CONSOLE" &
    KINIT=$!
    track "$KINIT"
}
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat")" = Z ]; }
# finish PID SECS: waits (bounded) for a background child; its status in RC.
finish() {
    wait_until "$2" gone "$1" || fail "pid $1 did not exit within $2 s"
    RC=0
    wait "$1" || RC=$?
}
# The pid a fake logged at its Nth start (1-based).
fake_pid() { sed -n "s/^start pid=\([0-9]*\).*/\1/p" "$FAKE_DIR/$1.log" | sed -n "${2}p"; }
starts() { grep -c '^start' "$FAKE_DIR/$1.log" 2>/dev/null || true; }
started_n() { [ "$(starts "$1")" -ge "$2" ]; }
online() { grep -q '^milestone .*"ok": true' "$FAKE_DIR/startd.log" 2>/dev/null; }
svc_pid() { cat "$FAKE_DIR/svc.pid"; }

# ---- boot, flags, readiness ----------------------------------------------------
start_kinit
wait_until 15 online || fail "kstartd never reported default online"
grep -q -- '--ready-fd 3 --boot-import$' <(sed -n 1p "$FAKE_DIR/configd.log") ||
    fail "first kconfigd start lacks --ready-fd/--boot-import"
grep -q -- "--run-dir $SYSTEMK_RUN_DIR --state-dir $SYSTEMK_STATE_DIR" \
    "$FAKE_DIR/startd.log" || fail "kstartd did not get the paths"
grep -q 'sigmask=\[\]' "$FAKE_DIR/startd.log" || fail "signal mask leaked into kstartd"
grep -q -- '--boot-import' "$FAKE_DIR/startd.log" && fail "kstartd got --boot-import"
ok "boot: kconfigd (--boot-import), readiness, then kstartd; clean signal mask"

# ---- kinit.sock -------------------------------------------------------------
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "kinit.sock is not 0600"
[ "$(stat -c %a "$SYSTEMK_RUN_DIR")" = 755 ] || fail "run dir is not 0755"
has '"name":"kinit"' kcall sys.hello '{}' || fail "sys.hello"
has invalid kcall kinit.nosuch '{}' || fail "unknown method accepted"
has invalid kcall kinit.milestone '{"name":"default"}' || fail "missing param accepted"
has invalid kcall kinit.milestone '{"name":"default","state":"meh"}' ||
    fail "bad state accepted"
"$BIN/ksock" unixjunk "$SOCK" >/dev/null 2>&1 || true
kcall sys.hello '{}' >/dev/null || fail "kinit.sock dead after junk"
chmod 0666 "$SOCK"   # let an unprivileged peer reach SO_PEERCRED
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/ksock" unix "$SOCK")
has denied "${NOBODY[@]}" kinit.startd_status '{}' || fail "nobody was not denied"
has kinit "${NOBODY[@]}" sys.hello '{}' || fail "nobody cannot say hello"
chmod 0600 "$SOCK"
ok "kinit.sock: 0600, hello, invalid requests answered, junk survived, uid checked"

# ---- kconfigd restarts, kstartd does not ------------------------------------------
kill -KILL "$(fake_pid configd 1)"
wait_until 5 started_n configd 2 || fail "kconfigd not restarted"
sed -n 2p "$FAKE_DIR/configd.log" | grep -q -- '--boot-import' &&
    fail "restarted kconfigd got --boot-import again"
S1=$(fake_pid startd 1); SVC=$(svc_pid)
kill -KILL "$S1"
wait_until 5 has '"running":false' kcall kinit.startd_status '{}' ||
    fail "kstartd status after its death"
sleep 0.5
[ "$(starts startd)" = 1 ] || fail "kstartd restarted without being asked"
kill -0 "$SVC" || fail "the service died with kstartd"
kill -TERM "$SVC"
wait_until 5 gone "$SVC" || fail "orphaned service not reaped"
has '"pid":' kcall kinit.startd_restart '{}' || fail "kinit.startd_restart"
wait_until 10 test -s "$FAKE_DIR/exits.1.json" || fail "new kstartd did not fetch exits"
jq -e --argjson p "$SVC" '.result.exits | any(.pid == $p and .status == 15)' \
    "$FAKE_DIR/exits.1.json" >/dev/null || fail "orphan exit not in the ring"
has '"restarts":1' kcall kinit.startd_status '{}' || fail "restart count"
ok "kconfigd restarted (no --boot-import); kstartd manual; orphan exit handed over"

# ---- restart of a running kstartd: SIGUSR2, it hands over, the next starts --------
wait_until 10 online || fail "second kstartd not online"
S2=$(fake_pid startd 2); SVC=$(svc_pid)
has "\"replacing\":$S2" kcall kinit.startd_restart '{}' || fail "restart of a running kstartd"
wait_until 10 started_n startd 3 || fail "no kstartd after the handover"
grep -q '^handed over' "$FAKE_DIR/startd.log" || fail "kstartd did not get SIGUSR2"
gone "$S2" || fail "the replaced kstartd still runs"
grep -q "^adopted $SVC" "$FAKE_DIR/startd.log" || fail "the service did not outlive the handover"
has '"restarts":2' kcall kinit.startd_status '{}' || fail "restart count after the handover"
ok "startd restart of a running kstartd: handed over, next one adopts"

# ---- orderly shutdown ------------------------------------------------------------
C2=$(fake_pid configd 2); S2=$(fake_pid startd 3); SVC=$(svc_pid)
kill -TERM "$KINIT"
finish "$KINIT" 10
[ "$RC" = 0 ] || fail "kinit exited $RC after SIGTERM, not 0"
for p in "$C2" "$S2" "$SVC"; do gone "$p" || fail "pid $p survived kinit"; done
tail -n 1 "$FAKE_DIR/startd.log" | grep -q stopped || fail "kstartd not stopped by SIGTERM"
[ ! -e "$SOCK" ] || fail "kinit.sock left behind"
ok "SIGTERM: kstartd, then kconfigd stopped; exit 0; socket removed"
# The budget's end was published before kstartd got SIGTERM (SYSTEMK_GRACE_S
# is 3 here: the deadline lies ahead, at most 3 s after kstartd read it),
# and removed when kinit exited.
read -r _ dl _ now < <(grep '^deadline' "$FAKE_DIR/startd.log" | tail -n 1)
[ -n "${dl:-}" ] && [ "$dl" != none ] || fail "no shutdown-deadline for kstartd"
[ "$dl" -gt "$now" ] && [ "$dl" -le $((now + 3000)) ] ||
    fail "shutdown-deadline $dl is not within the 3 s budget after $now"
[ ! -e "$SYSTEMK_RUN_DIR/shutdown-deadline" ] || fail "shutdown-deadline left behind"
ok "shutdown-deadline published before kstartd's SIGTERM, removed at exit"

# ---- --startd-restart=auto -----------------------------------------------------------
start_kinit --startd-restart=auto
wait_until 15 online || fail "auto: not online"
kill -KILL "$(fake_pid startd 1)"
wait_until 5 grep -q '^adopted' "$FAKE_DIR/startd.log" || fail "auto: kstartd not restarted"
kcall kinit.shutdown '{}' >/dev/null || fail "kinit.shutdown"
finish "$KINIT" 10
[ "$RC" = 0 ] || fail "kinit.shutdown: exit $RC"
ok "--startd-restart=auto restarts kstartd; kinit.shutdown exits 0"

# ---- main command mode --------------------------------------------------------------
# main_case WANT SECS [SIGNAL] -- CMD...: runs kinit -- CMD, optionally
# signals kinit once the command runs, and checks kinit's exit status.
main_case() {
    local want=$1 secs=$2 sig=$3; shift 4
    start_kinit -- "$@"
    if [ -n "$sig" ]; then
        wait_until 15 grep -q "started '$1'" "$CONSOLE" ||
            fail "main command '$*' never started"
        sleep 0.3
        kill "-$sig" "$KINIT"
    fi
    finish "$KINIT" "$secs"
    [ "$RC" = "$want" ] || fail "kinit -- $* (signal ${sig:-none}): exit $RC, want $want"
    for p in $(fake_pid configd 1) $(fake_pid startd 1) $(svc_pid); do
        gone "$p" || fail "kinit -- $*: pid $p left behind"
    done
}
main_case 3 15 "" -- sh -c 'exit 3'
main_case 127 15 "" -- /nonexistent/cmd
main_case 126 15 "" -- /etc/passwd
main_case 143 15 TERM -- sleep 1000
main_case 42 15 USR1 -- sh -c 'trap "exit 42" USR1; while :; do sleep 0.1; done'
main_case 137 15 INT -- sh -c 'trap "" INT TERM; exec sleep 1000'
FAKE_MILESTONE=failed main_case 1 15 "" -- true
grep -q "unable to start 'true': milestone 'default' failed" "$CONSOLE" ||
    fail "default failure not explained"
ok "main command: status, 126/127, 128+N, forwarding, 137 at the deadline, default failed → 1"

# On a terminal, CMD is the foreground process group: ^C reaches it (not the
# daemons), and its death by SIGINT is kinit's 130.
if command -v script >/dev/null; then
    fresh
    RC=0
    { wait_until 20 test -s "$T/fg" || true; sleep 0.2; printf '\003'; sleep 2; } |
        timeout 30 script -qec "$BIN/kinit ${KARGS[*]} -- sh -c 'ps -o pgid=,tpgid= -p \$\$ >$T/fg; exec sleep 1000' 2>$CONSOLE" /dev/null \
        >/dev/null || RC=$?
    [ "$RC" = 130 ] || fail "^C on the terminal: exit $RC, want 130"
    read -r pg tpg <"$T/fg"
    [ "$pg" = "$tpg" ] || fail "main command not in the terminal's foreground ($pg vs $tpg)"
    grep -q "kstartd stopped" "$CONSOLE" || fail "^C: kstartd not stopped in order"
    ok "terminal: CMD in the foreground, ^C reaches it, exit 130"
fi

# ---- PID 1 in a PID namespace ---------------------------------------------------------
fresh
timeout 60 unshare --pid --fork --mount-proc --kill-child \
    "$BIN/kinit" "${KARGS[@]}" 2>"$CONSOLE" &
TO=$!; track "$TO"
wait_until 15 online || fail "pid1: not online"
UNS=$(children_of "$TO" | tr -d " "); KP=$(children_of "$UNS" | tr -d " ")
[ -n "$KP" ] || fail "pid1: kinit's host pid not found"
track $KP
kill -KILL "$(pgrep -P "$KP" -f 'kinit_fake.py startd')"  # orphan the service
SVC=$(pgrep -f '^sleep 1000$' --ns "$KP" | head -1)
[ -n "$SVC" ] || fail "pid1: service not found"
kill -TERM "$KP"
finish "$TO" 15
[ "$RC" = 0 ] || fail "pid1: exit $RC, want 0"
gone "$SVC" || fail "pid1: orphaned service survived"
ok "PID 1: orphans stopped by SIGTERM, exit 0, namespace empty"

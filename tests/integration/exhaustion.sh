#!/usr/bin/env bash
# exhaustion.sh BIN_DIR -- resources run out under the real stack (kinit as a
# subreaper), each time: a clear error, nothing acknowledged lost, nothing
# corrupted, and recovery once the resource is back.
#   1. the state dir's filesystem (a 4 MiB tmpfs, in a private mount
#      namespace) fills up: commits fail with "No space left on device",
#      every acknowledged commit survives, also a SIGKILL of kconfigd while
#      the disk is full; once space is freed commits work again;
#   2. the fd limit (prlimit, soft limit: no CAP_SYS_RESOURCE needed) reached
#      by kconfigd: requests go unanswered (kctl exits 7, says so), nothing is
#      lost, it answers again at once when the limit is raised; reached by
#      kstartd: a service it must restart cannot start or cannot open its
#      log file, the log says why ("Too many open files"), and it is online
#      with its log once the limit is back (after `kctl clear` if the burst
#      sent it to maintenance); reached by kinit: a connection it cannot
#      accept waits, kinit neither spins on its listener nor floods its
#      console, and it serves again once the limit is back;
#   3. fork/exec failing: RLIMIT_NPROC 0 on kstartd (while another process
#      of uid 65534 runs, so that the kernel counts the user over the limit)
#      makes a service that runs as uid 65534 fail to start (EAGAIN,
#      logged), it retries, goes to
#      maintenance at the burst (DESIGN section 5), and `kctl clear` brings
#      it online once the limit is back.
# Figures go to stdout as "figure: ..." lines.
if [ -z "${EXHAUSTION_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "skip: needs root (mount, prlimit)"; exit 0; }
    exec unshare --mount --propagation private env EXHAUSTION_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
KCTL=$BIN/kctl
kinit_cmd() { echo "timeout 300 $BIN/kinit"; }
mkdir -p "$SYSTEMK_STATE_DIR"
mount -t tmpfs -o size=4m,mode=0700 systemk-test "$SYSTEMK_STATE_DIR" || fail "cannot mount a tmpfs"
# kinit_lib's trap plus the unmount, errexit off so that cleanup runs.
trap 'rc=$?; set +e; kill_trees; umount -l "$SYSTEMK_STATE_DIR" 2>/dev/null; (exit $rc); cleanup' EXIT
SECONDS=0

cat >"$SYSTEMK_MANIFEST_DIR/a.json" <<'EOF'
{ "service": "a", "start": { "exec": ["/bin/sleep", "1000"] },
  "restart": { "delay_ms": 100, "max_delay_ms": 400, "burst": 5, "window_s": 10 },
  "instances": { "default": { "enabled": true } } }
EOF
cat >"$SYSTEMK_MANIFEST_DIR/b.json" <<'EOF'
{ "service": "b", "start": { "exec": ["/bin/sleep", "1000"] },
  "context": { "user": "nobody" },
  "instances": { "default": { "enabled": true } } }
EOF
run_bg subreaper
wait_until 30 "$KCTL" wait default --timeout 1 || fail "default not online"
CP=$(daemon_pid kconfigd); SP=$(daemon_pid kstartd)
fds_of() { ls "/proc/$1/fd" | wc -l; }
soft_nofile() { awk '/^Max open files/ {print $4}' "/proc/$1/limits"; }
soft_nproc() { awk '/^Max processes/ {print $3}' "/proc/$1/limits"; }
configd_log() { grep '^kconfigd:' "$CONSOLE"; }
startd_log() { grep '^kstartd:' "$CONSOLE"; }

# ---- 1. the state dir's filesystem is full ------------------------------------------
avail=$(df -k --output=avail "$SYSTEMK_STATE_DIR" | tail -n 1)
# Leave 384 KiB: some commits fit, then the disk is full.
dd if=/dev/zero of="$SYSTEMK_STATE_DIR/filler" bs=1k count=$((avail - 384)) status=none ||
    fail "cannot write the filler"
val() { printf "%s-%03d-%.2900d" "$1" "$2" 0; }  # 2.9 kB, recognisable
ACKED=()
for i in $(seq 1 400); do
    rc=0
    "$KCTL" set a app/p$i string "$(val x "$i")" "$(val y "$i")" "$(val z "$i")" \
        >"$T/out" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || break
    ACKED+=("$i")
done
[ "$rc" -ne 0 ] || fail "400 commits of 9 kB fit in 384 KiB: the disk never filled"
grep -q "No space left on device" "$T/out" || fail "commit on a full disk: unclear error: $(cat "$T/out")"
[ ${#ACKED[@]} -ge 1 ] || fail "no commit fitted at all"
echo "figure: disk full: ${#ACKED[@]} commits acknowledged, then kctl exit $rc: $(cat "$T/out")"
configd_log | grep -q "unable to .*No space left on device" || fail "kconfigd did not log the full disk"
rc=0; "$KCTL" repo backup >"$T/out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "a backup on a full disk succeeded"
echo "figure: disk full: kctl repo backup exit $rc: $(head -n 1 "$T/out")"

# check_acked: every acknowledged commit is there, exactly.
check_acked() {
    "$KCTL" --json get a >"$T/a.json" 2>&1 || fail "$1: kctl get a: $(cat "$T/a.json")"
    local i got
    for i in "${ACKED[@]}"; do
        got=$(jq -r --arg p "p$i" '.property_groups.app[$p].values | join(" ")' "$T/a.json")
        [ "$got" = "$(val x "$i") $(val y "$i") $(val z "$i")" ] ||
            fail "$1: acknowledged commit p$i lost or changed"
    done
    "$KCTL" repo check >"$T/out" 2>&1 || fail "$1: repo check: $(cat "$T/out")"
}
check_acked "disk full"
is_state a online || fail "a is $(state_of a) while the disk is full"
ok "full disk: commits fail with 'No space left on device', ${#ACKED[@]} acknowledged ones intact, repo check clean"

# kconfigd SIGKILLed while the disk is full: kinit restarts it, nothing lost.
kill -KILL "$CP"
t0=$SECONDS
wait_until 60 "$KCTL" --timeout 2 get a/app/p1 || fail "kconfigd not back while the disk is full"
CP=$(daemon_pid kconfigd)
check_acked "kconfigd SIGKILLed on a full disk"
echo "figure: disk full: kconfigd SIGKILLed, answering again after $((SECONDS - t0)) s"
ok "kconfigd SIGKILLed on a full disk: back, every acknowledged commit intact"

rm -f "$SYSTEMK_STATE_DIR/filler"
"$KCTL" set a app/after string freed >"$T/out" 2>&1 || fail "commit after freeing space: $(cat "$T/out")"
[ "$("$KCTL" get a/app/after)" = freed ] || fail "the commit after freeing space is not there"
"$KCTL" repo backup >/dev/null 2>&1 || fail "backup after freeing space"
check_acked "space freed"
ok "space freed: commits and backups work again"

# ---- 2. fd limits ----------------------------------------------------------------------
n=$(fds_of "$CP"); old=$(soft_nofile "$CP")
prlimit --pid "$CP" --nofile=1: || fail "prlimit kconfigd"  # nothing more opens
rc=0; timeout 30 "$KCTL" --timeout 3 get a/app/after >"$T/out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "kconfigd answered with no descriptor left"
grep -q "answer" "$T/out" || fail "unclear error with kconfigd's fds exhausted: $(cat "$T/out")"
echo "figure: kconfigd at its fd limit (1, holding $n): kctl exit $rc: $(head -n 1 "$T/out")"
kill -0 "$CP" || fail "kconfigd died at its fd limit"
[ "$(daemon_pid kconfigd)" = "$CP" ] || fail "kconfigd replaced at its fd limit"
prlimit --pid "$CP" --nofile="$old": || fail "prlimit kconfigd back"
t0=$SECONDS
wait_until 30 "$KCTL" --timeout 2 get a/app/after || fail "kconfigd does not answer once the fd limit is back"
echo "figure: kconfigd fd limit restored: answering after $((SECONDS - t0)) s"
check_acked "kconfigd fd limit"
ok "kconfigd at its fd limit: requests time out with a clear message, it recovers when the limit is raised"

# A big write at the fd limit, on a connection made before it: at idle
# kconfigd reopens its repository to give LMDB's page buffers back
# (RELEASE_BYTES), which it cannot do without descriptors.  It keeps the
# repository open instead, and goes on serving.
mkfifo "$T/kept.in" "$T/kept.out"
timeout 60 "$BIN/ksock" calls "$SYSTEMK_RUN_DIR/configd.sock" <"$T/kept.in" >"$T/kept.out" &
KEPT=$!
exec {KIN}>"$T/kept.in" {KOUT}<"$T/kept.out"
kept() { echo "$1" >&"$KIN"; read -r -t 10 line <&"$KOUT" || fail "no reply on the kept connection to '$1'"; }
kept 'sys.hello {}'
prlimit --pid "$CP" --nofile=1: || fail "prlimit kconfigd"
kept 'repo.snapshot_take {"fmri": "svc:/a:default", "name": "big"}'
case $line in error*) fail "a snapshot at the fd limit: $line" ;; esac
sleep 1 # idle: when the release would come
kill -0 "$CP" || fail "kconfigd died at idle at its fd limit"
[ "$(daemon_pid kconfigd)" = "$CP" ] || fail "kconfigd replaced at idle at its fd limit"
kept 'repo.get {"fmri": "svc:/a:default", "pg": "app", "prop": "after"}'
case $line in *freed*) ;; *) fail "a read at the fd limit after idle: $line" ;; esac
prlimit --pid "$CP" --nofile="$old": || fail "prlimit kconfigd back"
exec {KIN}>&- {KOUT}<&-
wait "$KEPT" || true
ok "kconfigd at its fd limit after a big write: keeps its repository open at idle and serves"

n=$(fds_of "$SP"); old=$(soft_nofile "$SP")
APID=$(pid_of a)
prlimit --pid "$SP" --nofile=1: || fail "prlimit kstartd"
kill -KILL "$APID"
# kstartd degrades (a service's log falls back to the console) or fails the
# start; either way its log names the cause.
emfile() { startd_log | grep -m1 "unable to .*svc:/a:default\|unable to .*a:default.log.*Too many open files"; }
wait_until 30 emfile || fail "kstartd at its fd limit: no clear error in the log"
echo "figure: kstartd at its fd limit (1, holding $n): $(emfile)"
kill -0 "$SP" || fail "kstartd died at its fd limit"
prlimit --pid "$SP" --nofile="$old": || fail "prlimit kstartd back"
t0=$SECONDS
back_online() { # SVC: online again; clears it first when the burst sent it to maintenance
    if is_state "$1" maintenance; then "$KCTL" clear "$1" >/dev/null 2>&1 || true; fi
    is_state "$1" online
}
wait_until 60 back_online a || fail "a not back online after kstartd's fd limit: $(state_of a)"
[ "$(pid_of a)" != "$APID" ] && kill -0 "$(pid_of a)" || fail "a has no new live pid"
echo "figure: kstartd fd limit restored: a online again after $((SECONDS - t0)) s"
ok "kstartd at its fd limit: clear error, retries, a online again once the limit is back"

# ---- 3. fork/exec failing: RLIMIT_NPROC -------------------------------------------------
is_state b online || fail "b (uid 65534) is $(state_of b)"
old=$(soft_nproc "$SP")
# The kernel counts uid 65534's other processes at setuid (not the child
# itself): keep one alive so that the count is over the limit whatever the
# timing of b's own restart.
setpriv --reuid=65534 --regid=65534 --clear-groups sleep 300 &
NOBODY=$!; track "$NOBODY"
prlimit --pid "$SP" --nproc=0: || fail "prlimit --nproc kstartd"
"$KCTL" restart b >/dev/null 2>&1 || fail "kctl restart b"
wait_until 60 is_state b maintenance || fail "b never reached maintenance with exec failing: $(state_of b)"
msg=$(grep -h -m1 "svc:/b:default.*Resource temporarily unavailable" "$CONSOLE" \
      "$SYSTEMK_LOG_DIR/b:default.log" | head -n 1)
[ -n "$msg" ] || fail "no clear EAGAIN error for b in the logs"
echo "figure: RLIMIT_NPROC 0: b in maintenance; log: $msg"
kill -0 "$SP" || fail "kstartd died with fork/exec failing"
is_state a online || fail "a is $(state_of a) while b cannot start"
prlimit --pid "$SP" --nproc="$old": || fail "prlimit --nproc kstartd back"
kill "$NOBODY"; wait "$NOBODY" 2>/dev/null || true
"$KCTL" clear b >/dev/null || fail "kctl clear b"
wait_until 30 is_state b online || fail "b not online after the limit is back: $(state_of b)"
ok "exec failing (EAGAIN): clear error, b retried and went to maintenance, online after kctl clear"

# kinit at its fd limit: the connection it cannot accept waits in the
# backlog and its listener stays readable; kinit must not spin on it (one
# warning per episode, a pause between tries), and it serves again once the
# limit is back.  The limit must leave poll(2) its 13 entries (5 + 8
# connections: above that poll fails with EINVAL, a path of its own), so
# kinit is made to hold more than 13 descriptors first: 8 connections
# kept open (it closes them after 5 s of silence).
python3 -c '
import socket, sys, time
c = [socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(8)]
for s in c: s.connect(sys.argv[1])
time.sleep(4)' "$SYSTEMK_RUN_DIR/kinit.sock" &
HOLD=$!; track "$HOLD"
old=$(soft_nofile "$KP")
# Descriptors 0-12 all taken, so that the next one would be 13 or more.
# A gap left below 13 (a descriptor kinit closed, e.g. a restarted
# kconfigd's readiness pipe) cannot be filled from here: the section then
# says so and is skipped rather than testing nothing.
low_full() { local i; for i in $(seq 0 12); do [ -e "/proc/$KP/fd/$i" ] || return 1; done; }
if ! wait_until 3 low_full; then
    echo "figure: kinit at its fd limit: SKIPPED, a descriptor below 13 stays free: $(ls "/proc/$KP/fd" | sort -n | tr '\n' ' ')"
    kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null || true
else
prlimit --pid "$KP" --nofile=13: || fail "prlimit kinit"
cpu0=$(awk '{print $14 + $15}' "/proc/$KP/stat")
rc=0; timeout 10 "$KCTL" --timeout 1 startd status >/dev/null 2>&1 || rc=$?
cpu1=$(awk '{print $14 + $15}' "/proc/$KP/stat")
[ "$rc" -ne 0 ] || fail "kinit answered at its fd limit"
warns=$(grep -c "unable to accept on" "$CONSOLE" || true)
echo "figure: kinit at its fd limit for 1 s: $((cpu1 - cpu0)) ticks of CPU, $warns warning(s)"
[ "$warns" -le 2 ] || fail "kinit logged $warns accept failures at its fd limit: it spins"
[ $((cpu1 - cpu0)) -lt 50 ] || fail "kinit used $((cpu1 - cpu0)) ticks in 1 s at its fd limit: it spins"
prlimit --pid "$KP" --nofile="$old": || fail "prlimit kinit back"
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null || true
wait_until 10 "$KCTL" startd status || fail "kinit does not serve after its fd limit is back"
ok "kinit at its fd limit: no spin ($warns warning), serves again when the limit is back"
fi

check_acked "the end"
kill -TERM "$KP"
finish_bg 30
expect_rc 0 "SIGTERM"
ok "orderly shutdown: exit 0 (total ${SECONDS} s)"

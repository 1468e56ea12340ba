#!/usr/bin/env bash
# it_startd_spawn: kstartd's spawn and stop paths (issue 4's performance
# work), for correctness.
#
#   spawn      methods start through clone(CLONE_VM | CLONE_VFORK); a step
#              that fails in the child (chdir, exec of a file that is not
#              executable) is reported in the log with its cause
#   logs       a pass over many instances writes its log lines after its
#              signals and spawns (held lines): each instance's log still
#              has every line, once, in order
#   shutdown   SIGTERM to kstartd without kinit (no shutdown deadline): the
#              states are written once all is down, every instance offline
. "$(dirname "$0")/lib.sh" "$1"
M=it-startd-spawn-$$
N=40
trap 'rc=$?; { [ -z "${STARTD:-}" ] || kill -KILL "$STARTD" 2>/dev/null; } || true; kill_marked "$M"; set +e; (exit $rc); cleanup' EXIT
log() { cat "$SYSTEMK_LOG_DIR/$1:default.log" 2>/dev/null || true; }
in_log() { grep -qF -- "$2" "$SYSTEMK_LOG_DIR/$1:default.log"; }

printf 'not a program\n' >"$T/plain-$M"
chmod 0644 "$T/plain-$M"
printf '{"service": "badcwd", "start": {"exec": ["/bin/sleep", "1000"]}, "context": {"working_directory": "%s"}, "restart": {"policy": "never"}, "instances": {"default": {"enabled": true}}}\n' \
    "$T/missing-$M" >"$SYSTEMK_MANIFEST_DIR/badcwd.json"
printf '{"service": "noexec", "start": {"exec": ["%s"]}, "restart": {"policy": "never"}, "instances": {"default": {"enabled": true}}}\n' \
    "$T/plain-$M" >"$SYSTEMK_MANIFEST_DIR/noexec.json"
for i in $(seq 1 "$N"); do
    printf '{"service": "p%d", "start": {"exec": ["/bin/sh", "-c", "echo up %d; sleep 1000; : %s"]}, "instances": {"default": {"enabled": true}}}\n' \
        "$i" "$i" "$M" >"$SYSTEMK_MANIFEST_DIR/p$i.json"
done

start_configd
"$BIN/kctl" import "$SYSTEMK_MANIFEST_DIR" >/dev/null || fail "import"
start_startd

# spawn failures: the child's failed step, with its cause, in the log.
wait_until 20 in_log badcwd "start failed: chdir '$T/missing-$M': No such file or directory" ||
    fail "badcwd: no chdir failure in its log: $(log badcwd)"
wait_until 20 in_log noexec "start failed: exec '$T/plain-$M': Permission denied" ||
    fail "noexec: no exec failure in its log: $(log noexec)"
ok "spawn: a failed chdir and exec reported from the child with their cause"

# every p* online; each log has its start line, the service's own output
# and its online line, once each.
online_all() {
    [ "$("$BIN/kctl" list --json | jq '[.[] | select(.service | startswith("p")) | select(.state == "online")] | length')" = "$N" ]
}
wait_until 60 online_all || fail "not all $N online"
for i in $(seq 1 "$N"); do
    f=$SYSTEMK_LOG_DIR/p$i:default.log
    wait_until 20 grep -qx "up $i" "$f" || fail "p$i: no output: $(log "p$i")"
    [ "$(grep -c 'start: pid' "$f")" = 1 ] || fail "p$i: start lines: $(log "p$i")"
    [ "$(grep -c 'state: offline -> online$' "$f")" = 1 ] || fail "p$i: online lines: $(log "p$i")"
done
ok "logs: $N instances started, each log has its lines once"

# shutdown without kinit: every instance stops with its lines in order, and
# the final states reach kconfigd.
kill -TERM "$STARTD"
rc=0; wait "$STARTD" || rc=$?
STARTD=
[ "$rc" = 0 ] || fail "kstartd exited $rc"
for i in $(seq 1 "$N"); do
    lines=$(log "p$i" | grep -n 'kstartd:' | grep -E 'online\* \(next offline\)|killed by signal 15|state: online -> offline$' | cut -d: -f1)
    set -- $lines
    { [ $# = 3 ] && [ "$1" -lt "$2" ] && [ "$2" -lt "$3" ]; } || fail "p$i: stop lines: $(log "p$i")"
done
states=$("$BIN/ksock" call "$SYSTEMK_RUN_DIR/configd.sock" state.list '{}')
n=$(echo "$states" | jq '[.states | to_entries[] | select(.key | startswith("svc:/p")) | select(.value.state == "offline" and .value.pid == null)] | length')
[ "$n" = "$N" ] || fail "states after shutdown: $n of $N offline: $states"
ok "shutdown: $N stopped, their lines in order; the final states written once all was down"

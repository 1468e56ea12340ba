#!/usr/bin/env bash
# it_startd_cgroup: a forking daemon that leaves its start method's session
# (setsid) and starts a helper in yet another session, without a pidfile
# (DESIGN section 5: tracked by a per-instance cgroup when a writable cgroup
# v2 tree is there, else by process group, session and pidfile).
#
#   cgroup v2 writable (root here): the daemon is found in the instance's
#   cgroup, which holds the helper too; disable stops both; enable starts it
#   again; kstartd removes its cgroups at exit
#   SYSTEMK_CGROUP=none: the daemon is still found (kstartd is a subreaper,
#   the orphan lands under it) and disable stops it
. "$(dirname "$0")/lib.sh" "$1"
M=it-startd-cgroup-$$
trap 'rc=$?; { [ -z "${STARTD:-}" ] || kill -KILL "$STARTD" 2>/dev/null; } || true; kill_marked "$M"; set +e; (exit $rc); cleanup' EXIT
K() { "$BIN/kctl" "$@"; }
running() { pgrep -f "$1" >/dev/null; }
not_running() { ! running "$1"; }
tracks() { [ "$(pid_of dbl)" = "$1" ]; }
kctl_rc_to() { local s=$1 rc=0; shift; timeout "$s" "$BIN/kctl" "$@" >/dev/null 2>&1 || rc=$?; echo "$rc"; }

# start: fork, exit 0; the child calls setsid (the daemon) only 0.3 s later,
# so kstartd first finds it in the start method's group, which it then
# leaves.  daemon: a helper in a session of its own, then sleeps.  The
# marker is in the scripts' names.
D=$T/daemon-$M.sh H=$T/helper-$M.sh
printf '#!/bin/sh\n(sleep 0.3; exec setsid /bin/sh %s) </dev/null >/dev/null 2>&1 &\nexit 0\n' "$D" >"$T/start.sh"
printf '#!/bin/sh\nsetsid /bin/sh %s </dev/null >/dev/null 2>&1 &\nsleep 1000\n' "$H" >"$D"
printf '#!/bin/sh\nsleep 1000\n' >"$H"
cat >"$SYSTEMK_MANIFEST_DIR/dbl.json" <<EOF
{"service": "dbl", "model": "forking",
 "start": {"exec": ["/bin/sh", "$T/start.sh"]},
 "instances": {"default": {"enabled": true}}}
EOF

# run_case MODE: MODE cgroup (the default) or none (SYSTEMK_CGROUP=none).
run_case() {
    local mode=$1 dp base=""
    rm -rf "$SYSTEMK_RUN_DIR" "$SYSTEMK_STATE_DIR" "$SYSTEMK_LOG_DIR"
    : >"$T/startd.console"
    start_configd
    K import "$SYSTEMK_MANIFEST_DIR" >/dev/null
    if [ "$mode" = none ]; then SYSTEMK_CGROUP=none start_startd; else start_startd; fi
    if [ "$mode" = cgroup ]; then
        base=$(sed -n "s/.*forking services are tracked by cgroup '\(.*\)'$/\1/p" "$T/startd.console")
        if [ -z "$base" ]; then
            echo "note: no writable cgroup v2 here; cgroup case skipped"
            kill -TERM "$STARTD"; wait "$STARTD" || true; STARTD=
            kill -TERM "$CONFIGD"; wait "$CONFIGD" || true
            return 0
        fi
    fi
    [ "$(kctl_rc wait dbl --timeout 30)" = 0 ] || fail "$mode: dbl not online"
    wait_until 10 running "daemon-$M" || fail "$mode: no daemon"
    wait_until 10 running "helper-$M" || fail "$mode: no helper"
    dp=$(pgrep -f "daemon-$M" | head -n 1)
    wait_until 10 tracks "$dp" || fail "$mode: dbl tracks pid '$(pid_of dbl)', the daemon is $dp"
    if [ "$mode" = cgroup ]; then
        grep -qx "$dp" "$base/dbl:default/cgroup.procs" || fail "daemon not in the instance's cgroup"
        grep -qx "$(pgrep -f "helper-$M" | head -n 1)" "$base/dbl:default/cgroup.procs" ||
            fail "helper not in the instance's cgroup"
    fi
    # Bounded: a stop that misses the daemon would wait forever.
    [ "$(kctl_rc_to 60 disable -s dbl)" = 0 ] || fail "$mode: disable -s dbl (daemon $(pgrep -f "daemon-$M" | tr '\n' ' '))"
    wait_until 10 not_running "daemon-$M" || fail "$mode: disable left the daemon running"
    if [ "$mode" = cgroup ]; then
        wait_until 10 not_running "helper-$M" || fail "disable left the helper (another session) running"
        grep -q 'killed its cgroup\|exit: pid' "$SYSTEMK_LOG_DIR/dbl:default.log" || fail "no stop in the log"
    fi
    # Without a cgroup the helper leaked (another session): it must not be
    # taken for the next daemon, being older than the next start method.
    [ "$(kctl_rc_to 60 enable -s dbl)" = 0 ] || fail "$mode: enable -s dbl"
    wait_until 10 running "daemon-$M" || fail "$mode: no daemon after enable"
    dp=$(pgrep -f "daemon-$M" | head -n 1)
    wait_until 10 tracks "$dp" || fail "$mode: after enable dbl tracks '$(pid_of dbl)', the daemon is $dp"
    ok "$mode: setsid daemon without pidfile found, stopped on disable, found again after enable"
    kill -TERM "$STARTD"
    wait_until 60 sh -c "! kill -0 $STARTD 2>/dev/null || [ \"\$(awk '{print \$3}' /proc/$STARTD/stat)\" = Z ]" ||
        fail "$mode: kstartd did not stop within 60 s"
    rc=0; wait "$STARTD" || rc=$?
    STARTD=
    [ $rc -eq 0 ] || fail "$mode: kstartd exited $rc"
    wait_until 10 not_running "daemon-$M" || fail "$mode: the daemon outlived kstartd's shutdown"
    if [ "$mode" = cgroup ]; then
        wait_until 10 not_running "helper-$M" || fail "the helper outlived kstartd's shutdown"
        [ ! -d "$base" ] || fail "kstartd left its cgroup '$base'"
        ok "cgroup: everything stopped at shutdown, cgroups removed"
    fi
    kill_marked "$M"
    kill -TERM "$CONFIGD"; wait "$CONFIGD" || true
}

run_case cgroup
run_case none
echo PASS

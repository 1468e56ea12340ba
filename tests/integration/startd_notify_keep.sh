#!/usr/bin/env bash
# it_startd_notify_keep: a READY=1 sent while no kstartd runs still counts.
#
# Under kinit (a child subreaper here): a `notify` service waits for a file,
# then sends READY=1.  kstartd is SIGKILLed while the service is starting;
# the file appears and the service sends READY=1 with no kstartd alive: the
# send must succeed (kinit keeps the socket: kinit/fdstore.c).  After
# `kctl startd restart` the new kstartd re-adopts the service and reads the
# queued READY=1: online at once, same pid, long before the start timeout.
# The same again through a handover (`kctl startd restart` of a live
# kstartd).
. "$(dirname "$0")/lib.sh" "$1"
M=it-startd-notify-keep-$$
trap 'rc=$?; stop_under_kinit "$M"; set +e; (exit $rc); cleanup' EXIT
K() { "$BIN/kctl" "$@"; }

# notify_svc NAME: waits for $T/go.NAME, then READY=1 (sent.NAME only when
# the datagram was taken), then runs on.
notify_svc() {
    cat >"$SYSTEMK_MANIFEST_DIR/$1.json" <<EOF
{"service": "$1", "model": "notify",
 "start": {"exec": ["/bin/sh", "-c", "while [ ! -e $T/go.$1 ]; do sleep 0.05; done; /usr/bin/python3 -c 'import os,socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(os.environ[\"NOTIFY_SOCKET\"]); s.send(b\"READY=1\")' && touch $T/sent.$1; exec sleep 100000; : $M"],
           "timeout_s": 120},
 "instances": {"default": {"enabled": true}}}
EOF
}
notify_svc killed
notify_svc handed

"$BIN/kinit" 2>>"$T/kinit.console" &
KINIT=$!; track "$KINIT"
wait_until 30 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" || fail "kstartd did not come up"
wait_until 20 test -S "$SYSTEMK_RUN_DIR/notify/killed:default" || fail "killed is not starting"
wait_until 20 test -S "$SYSTEMK_RUN_DIR/notify/handed:default" || fail "handed is not starting"
[ "$(state_of killed)" = offline ] || fail "killed is $(state_of killed) before READY=1"
pid=$(pid_of killed)
[ -n "$pid" ] && [ "$pid" != null ] || fail "no pid for killed"

# 1. kstartd dies; READY=1 goes out while none runs.
spid=$(K startd status --json | jq -r '.pid')
kill -KILL "$spid"
wait_until 10 sh -c "! kill -0 $spid" || fail "kstartd did not die"
touch "$T/go.killed"
wait_until 20 test -e "$T/sent.killed" || fail "READY=1 could not be sent while kstartd was down"
ok "READY=1 sent with no kstartd running"
K startd restart >/dev/null || fail "kctl startd restart"
wait_until 30 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" || fail "kstartd did not come back"
[ "$(kctl_rc wait killed --timeout 20)" = 0 ] || fail "killed not online: $(state_of killed)"
[ "$(pid_of killed)" = "$pid" ] || fail "killed was restarted ($pid -> $(pid_of killed)), not adopted"
grep -q "took [0-9]* notify sockets from kinit" "$T/kinit.console" ||
    fail "kstartd did not say it took the sockets"
ok "the new kstartd read it: online, same pid $pid"

# 2. A handover: the old kstartd exits cleanly and must leave the socket,
#    at its path and in kinit, for the next one.  kconfigd is stopped for a
#    moment so that the new kstartd, waiting for it, has not adopted yet
#    when READY=1 goes out.
hpid=$(pid_of handed)
cpid=
for c in $(children_of "$KINIT"); do
    [ "$(cat "/proc/$c/comm" 2>/dev/null)" = kconfigd ] && cpid=$c
done
[ -n "$cpid" ] || fail "no kconfigd under kinit"
spid=$(K startd status --json | jq -r '.pid')
kill -STOP "$cpid"
# (kctl waits for the new kstartd, which waits for kconfigd: in the back.)
K startd restart >"$T/restart.out" 2>&1 &
RP=$!; track "$RP"
wait_until 10 sh -c "! kill -0 $spid" || { kill -CONT "$cpid"; fail "the old kstartd did not hand over"; }
touch "$T/go.handed"
wait_until 5 test -e "$T/sent.handed" || { kill -CONT "$cpid"; fail "READY=1 could not be sent across a handover"; }
kill -CONT "$cpid"
wait "$RP" || fail "kctl startd restart (handover): $(cat "$T/restart.out")"
wait_until 30 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" || fail "kstartd did not come back"
[ "$(kctl_rc wait handed --timeout 20)" = 0 ] || fail "handed not online: $(state_of handed)"
[ "$(pid_of handed)" = "$hpid" ] || fail "handed was restarted, not adopted"
ok "across a handover too: READY=1 sent between the two kstartd, online, same pid $hpid"

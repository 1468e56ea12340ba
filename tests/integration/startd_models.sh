#!/usr/bin/env bash
# it_startd_models: the service models and the stop path, for real.
#
#   notify     online only after READY=1 from the service (STATUS= shown);
#              a READY=1 from a process outside the service is refused
#   forking    online when the start method exits 0; the daemon is found
#              by its pidfile (setsid double fork) or its session; a kill
#              restarts it; disable kills it
#   transient  runs once; online after exit 0; stays online without a pid
#   stop       a service ignoring SIGTERM is SIGKILLed with its whole
#              process group at the stop timeout; a stop method runs with
#              $MAINPID
#   context    working directory, umask, limit_nofile
. "$(dirname "$0")/lib.sh" "$1"
M=it-startd-models-$$
trap 'rc=$?; { [ -z "${STARTD:-}" ] || kill -KILL "$STARTD" 2>/dev/null; } || true; kill_marked "$M"; set +e; (exit $rc); cleanup' EXIT
K() { "$BIN/kctl" "$@"; }
field() { K status "$1" --json | jq -r --arg k "$2" '.[$k] // empty'; }
# As sd_notify() then sd_notify_barrier(): the sender waits until kstartd
# handled its message (the BARRIER=1 descriptor is closed), so it has not
# exited, unrecognisable, when kstartd reads it.
notify_py='import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(os.environ["NOTIFY_SOCKET"])
s.send(sys.argv[1].encode())
r, w = os.pipe()
s.sendmsg([b"BARRIER=1"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))])
os.close(w)
os.read(r, 1)'
echo "$notify_py" >"$T/notify.py"

cat >"$SYSTEMK_MANIFEST_DIR/ntf.json" <<EOF
{"service": "ntf", "model": "notify",
 "start": {"exec": ["/bin/sh", "-c", "while [ ! -e $T/go ]; do sleep 0.05; done; /usr/bin/python3 $T/notify.py 'STATUS=warm
READY=1'; sleep 1000; : $M"], "timeout_s": 60},
 "instances": {"default": {"enabled": true}}}
EOF
# A wrapper that starts its daemon, reports it (MAINPID= with READY=1, as
# systemd-notify --pid does) and exits: the daemon is the service.
cat >"$T/ntfw.sh" <<EOF
#!/bin/sh
rm -f $T/ntfw.pid
sh -c 'echo \$\$ > $T/ntfw.pid; exec sh -c "sleep 1000; : $M"' &
while [ ! -s $T/ntfw.pid ]; do sleep 0.05; done
/usr/bin/python3 $T/notify.py "MAINPID=\$(cat $T/ntfw.pid)
READY=1"
exit 0
EOF
chmod +x "$T/ntfw.sh"
cat >"$SYSTEMK_MANIFEST_DIR/ntfw.json" <<EOF
{"service": "ntfw", "model": "notify", "start": {"exec": ["$T/ntfw.sh", "$M"]},
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/fork.json" <<EOF
{"service": "fork", "model": "forking", "pidfile": "$T/fork.pid",
 "start": {"exec": ["/bin/sh", "-c", "setsid /bin/sh -c 'echo \$\$\$\$ > $T/fork.pid; sleep 1000; : $M' </dev/null & while [ ! -s $T/fork.pid ]; do sleep 0.05; done"]},
 "restart": {"delay_ms": 10},
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/fork2.json" <<EOF
{"service": "fork2", "model": "forking",
 "start": {"exec": ["/bin/sh", "-c", "/bin/sh -c 'sleep 1000; : $M fork2' </dev/null >/dev/null 2>&1 & exit 0"]},
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/once.json" <<EOF
{"service": "once", "model": "transient",
 "start": {"exec": ["/bin/sh", "-c", "echo ran >> $T/once.out"]},
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/stubborn.json" <<EOF
{"service": "stubborn",
 "start": {"exec": ["/bin/sh", "-c", "trap '' TERM; /bin/sh -c 'sleep 1000; : $M child' & sleep 1000; : $M"]},
 "stop": {"timeout_s": 1},
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/polite.json" <<EOF
{"service": "polite",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "stop": {"exec": ["/bin/sh", "-c", "echo \$MAINPID \$1 > $T/stopped; kill \$MAINPID", "x", "\${MAINPID}"]},
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/ctx.json" <<EOF
{"service": "ctx",
 "start": {"exec": ["/bin/sh", "-c", "pwd > $T/ctx.out; umask >> $T/ctx.out; ulimit -n >> $T/ctx.out; sleep 1000; : $M"]},
 "context": {"working_directory": "/tmp", "umask": "027", "limits": {"nofile": 123}},
 "instances": {"default": {"enabled": true}}}
EOF

cat >"$SYSTEMK_MANIFEST_DIR/chatty.json" <<EOF
{"service": "chatty",
 "start": {"exec": ["/bin/sh", "-c", "while :; do echo 0123456789012345678901234567890123456789012345678901234567890123456789; sleep 0.01; done; : $M"]},
 "instances": {"default": {"enabled": true}}}
EOF

# As another user (root only): ids, supplementary groups from the group db.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
cat >"$SYSTEMK_MANIFEST_DIR/asuser.json" <<EOF
{"service": "asuser",
 "start": {"exec": ["/bin/sh", "-c", "echo ids \$(id -u) \$(id -g) \$(id -G); sleep 1000; : $M"]},
 "context": {"user": "nobody"},
 "instances": {"default": {"enabled": true}}}
EOF
fi

start_configd
K import "$SYSTEMK_MANIFEST_DIR" >/dev/null
SYSTEMK_LOG_MAX_BYTES=8192 start_startd

# notify: starting until READY=1.
wait_until 20 test -S "$SYSTEMK_RUN_DIR/notify/ntf:default" || fail "no notify socket"
[ "$(state_of ntf)" = offline ] || fail "ntf is $(state_of ntf) before READY=1"
[ "$(field ntf next_state)" = online ] || fail "ntf not starting"
# A stranger's READY=1 is refused.
NOTIFY_SOCKET=$SYSTEMK_RUN_DIR/notify/ntf:default python3 "$T/notify.py" READY=1
wait_until 10 grep -q "sender .* is not the service's" "$T/startd.console" || fail "stranger not refused"
[ "$(field ntf next_state)" = online ] || fail "a stranger's READY=1 was taken"
touch "$T/go"
[ "$(kctl_rc wait ntf --timeout 30)" = 0 ] || fail "ntf not online after READY=1"
[ "$(field ntf status_text)" = warm ] || fail "STATUS= not shown"
grep -q 'notify: READY=1' "$SYSTEMK_LOG_DIR/ntf:default.log" || fail "READY=1 not logged"
ok "notify: online only after READY=1; stranger refused; STATUS shown"

# notify: MAINPID= from a wrapper that then exits.
[ "$(kctl_rc wait ntfw --timeout 30)" = 0 ] || fail "ntfw not online"
wpid=$(cat "$T/ntfw.pid")
ntfw_pid() { "$BIN/kctl" list --json | jq -r '.[] | select(.fmri=="svc:/ntfw:default") | .pid // empty'; }
for _ in $(seq 50); do [ "$(ntfw_pid)" = "$wpid" ] && break; sleep 0.1; done
[ "$(ntfw_pid)" = "$wpid" ] || fail "ntfw's pid is $(ntfw_pid), not its daemon $wpid"
sleep 0.5
[ "$(state_of ntfw)" = online ] || fail "ntfw is $(state_of ntfw) after its wrapper exited"
[ "$(ntfw_pid)" = "$wpid" ] || fail "ntfw restarted: pid $(ntfw_pid)"
kill -KILL "$wpid"
for _ in $(seq 200); do p=$(ntfw_pid); [ -n "$p" ] && [ "$p" != "$wpid" ] && break; sleep 0.1; done
p=$(ntfw_pid); [ -n "$p" ] && [ "$p" != "$wpid" ] || fail "ntfw not restarted after its daemon died"
ok "notify: MAINPID= names the daemon; the wrapper's exit does not end the service, the daemon's does"

# forking with a pidfile (setsid double fork).
[ "$(kctl_rc wait fork --timeout 30)" = 0 ] || fail "fork not online"
fpid=$(cat "$T/fork.pid")
[ "$(pid_of fork)" = "$fpid" ] || fail "fork pid $(pid_of fork), pidfile $fpid"
kill -KILL "$fpid"
wait_until 20 sh -c "[ -s $T/fork.pid ] && [ \"\$(cat $T/fork.pid)\" != $fpid ] && kill -0 \$(cat $T/fork.pid)" || true
rm -f "$T/fork.pid.old"
[ "$(kctl_rc wait fork --timeout 30)" = 0 ] || fail "fork not back"
wait_until 20 sh -c "[ \"\$('$BIN/kctl' list --json | jq -r '.[] | select(.fmri==\"svc:/fork:default\") | .pid // empty')\" != $fpid ]" \
    || fail "fork not restarted after its daemon died"
npid=$(pid_of fork)
[ "$(kctl_rc disable -s fork)" = 0 ] || fail "disable -s fork"
! kill -0 "$npid" 2>/dev/null || fail "disable left the forking daemon running"
ok "forking: pidfile daemon tracked, restarted, stopped"

# forking without a pidfile: found in the method's session.
[ "$(kctl_rc wait fork2 --timeout 30)" = 0 ] || fail "fork2 not online"
f2=$(pid_of fork2)
[ -n "$f2" ] && ps -o args= -p "$f2" | grep -q "$M fork2" || fail "fork2's daemon not found (pid '$f2')"
ok "forking: daemon found by session"

# transient
[ "$(kctl_rc wait once --timeout 30)" = 0 ] || fail "once not online"
[ -z "$(pid_of once)" ] || fail "transient has a pid"
[ "$(cat "$T/once.out")" = ran ] || fail "transient ran $(wc -l <"$T/once.out") times"
ok "transient: ran once, online"

# A service ignoring SIGTERM: SIGKILL to the whole group at the timeout.
[ "$(kctl_rc wait stubborn --timeout 30)" = 0 ] || fail "stubborn not online"
sp=$(pid_of stubborn)
wait_until 10 sh -c "pgrep -g $sp -f '$M child'" || fail "stubborn's child not running"
[ "$(kctl_rc disable -s stubborn)" = 0 ] || fail "disable -s stubborn"
grep -q 'stop timed out' "$SYSTEMK_LOG_DIR/stubborn:default.log" || fail "no stop timeout"
grep -q "killed process group $sp" "$SYSTEMK_LOG_DIR/stubborn:default.log" || fail "group not killed"
[ -z "$(pgrep -g "$sp" 2>/dev/null || true)" ] || fail "stubborn's group survived"
grep -q "exit: pid $sp killed by signal 9" "$SYSTEMK_LOG_DIR/stubborn:default.log" || fail "not SIGKILLed"
ok "SIGTERM ignored: group SIGKILLed at the stop timeout"

# A stop method, with MAINPID in its environment and ${MAINPID} in argv.
[ "$(kctl_rc wait polite --timeout 30)" = 0 ] || fail "polite not online"
pp=$(pid_of polite)
[ "$(kctl_rc disable -s polite)" = 0 ] || fail "disable -s polite"
[ "$(cat "$T/stopped")" = "$pp $pp" ] || fail "stop method saw '$(cat "$T/stopped")', want '$pp $pp'"
grep -q 'stop method: pid' "$SYSTEMK_LOG_DIR/polite:default.log" || fail "stop method not logged"
ok "stop method with MAINPID"

# Method context.
[ "$(kctl_rc wait ctx --timeout 30)" = 0 ] || fail "ctx not online"
wait_until 10 sh -c "[ \$(wc -l < $T/ctx.out) -ge 3 ]" || fail "ctx wrote nothing"
[ "$(sed -n 1p "$T/ctx.out")" = /tmp ] || fail "working directory: $(sed -n 1p "$T/ctx.out")"
[ "$(sed -n 2p "$T/ctx.out")" = 0027 ] || fail "umask: $(sed -n 2p "$T/ctx.out")"
[ "$(sed -n 3p "$T/ctx.out")" = 123 ] || fail "limit_nofile: $(sed -n 3p "$T/ctx.out")"
ok "context: working directory, umask, limit_nofile"
if [ -f "$SYSTEMK_MANIFEST_DIR/asuser.json" ]; then
    [ "$(kctl_rc wait asuser --timeout 30)" = 0 ] || fail "asuser not online"
    want="ids $(id -u nobody) $(id -g nobody) $(id -G nobody)"
    wait_until 10 grep -qx "$want" "$SYSTEMK_LOG_DIR/asuser:default.log" \
        || fail "as nobody: $(grep ids "$SYSTEMK_LOG_DIR/asuser:default.log"), want $want"
    ok "context: user nobody with its groups"
fi

# Size-based rotation (8 KiB here): .1 appears, the live log shrinks and
# keeps receiving the service's output (same inode, O_APPEND).
clog=$SYSTEMK_LOG_DIR/chatty:default.log
wait_until 30 test -s "$clog.1" || fail "chatty's log never rotated"
[ "$(stat -c %s "$clog.1")" -ge 8192 ] || fail "rotated before the size"
wait_until 30 grep -q 0123456789 "$clog" || fail "output lost after rotation"
ok "log rotation by size keeps .1"

kill -TERM "$STARTD"
rc=0; wait "$STARTD" || rc=$?
[ $rc -eq 0 ] || fail "kstartd exited $rc"
pgrep -f "$M" >/dev/null && fail "a service outlived the shutdown: $(pgrep -af "$M")"
echo PASS

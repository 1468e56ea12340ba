#!/usr/bin/env bash
# it_startd_timeouts: method timeouts (DESIGN sections 5 and 7) on the real
# kconfigd and kstartd, then kinit's shutdown budget.
#
#   start    a forking start method and a notify service that never says
#            READY=1 overrun start.timeout_s: their groups are SIGKILLed and,
#            restart policy never, they go to maintenance
#   stop     a stop method that hangs is SIGKILLed at stop.timeout_s; the
#            service then gets the stop signal (it exits on it); one that
#            also ignores SIGTERM gets SIGKILL with its group after that
#   refresh  a refresh method that hangs is SIGKILLed at refresh.timeout_s
#            and the service goes to maintenance (as SMF does); clear
#            brings it back; refresh {"signal": "HUP"} signals the main
#            process
#   budget   kinit (subreaper) with SYSTEMK_GRACE_S=4 and a service that
#            ignores SIGTERM with stop.timeout_s 30: kstartd reads kinit's
#            RUN_DIR/shutdown-deadline and SIGKILLs it within the budget, so
#            kinit never needs its own final SIGKILL and exits 0
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
M=it-startd-timeouts-$$
trap 'rc=$?; { [ -z "${STARTD:-}" ] || kill -KILL "$STARTD" 2>/dev/null; } || true; kill_trees; kill_marked "$M"; set +e; (exit $rc); cleanup' EXIT
K() { "$BIN/kctl" "$@"; }
field() { K status "$1" --json | jq -r --arg k "$2" '.[$k] // empty'; }
log_of() { echo "$SYSTEMK_LOG_DIR/$1:default.log"; }
running() { pgrep -f "$1" >/dev/null; }
not_running() { ! running "$1"; }

mf() { cat >"$SYSTEMK_MANIFEST_DIR/$1.json"; }
mf slowfork <<EOF
{"service": "slowfork", "model": "forking",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M slowfork"], "timeout_s": 1},
 "restart": {"policy": "never"},
 "instances": {"default": {"enabled": true}}}
EOF
mf silent <<EOF
{"service": "silent", "model": "notify",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M silent"], "timeout_s": 1},
 "restart": {"policy": "never"},
 "instances": {"default": {"enabled": true}}}
EOF
mf hangstop <<EOF
{"service": "hangstop",
 "start": {"exec": ["/bin/sh", "-c", "trap 'echo term > $T/hangstop.term; exit 0' TERM; sleep 1000 & wait; : $M hangstop"]},
 "stop": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M stopmethod1"], "timeout_s": 1},
 "instances": {"default": {"enabled": true}}}
EOF
mf deafstop <<EOF
{"service": "deafstop",
 "start": {"exec": ["/bin/sh", "-c", "trap '' TERM; sleep 1000; : $M deafstop"]},
 "stop": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M stopmethod2"], "timeout_s": 1},
 "instances": {"default": {"enabled": true}}}
EOF
mf hangref <<EOF
{"service": "hangref",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M hangref"]},
 "refresh": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M refreshmethod"], "timeout_s": 1},
 "instances": {"default": {"enabled": true}}}
EOF

mf hupper <<EOF
{"service": "hupper",
 "start": {"exec": ["/bin/sh", "-c", "trap 'echo hup >> $T/hupper.hup' HUP; while :; do sleep 0.1; done; : $M hupper"]},
 "refresh": {"signal": "HUP"},
 "instances": {"default": {"enabled": true}}}
EOF

start_configd
K import "$SYSTEMK_MANIFEST_DIR" >/dev/null
start_startd

# ---- start timeouts ---------------------------------------------------------
for s in slowfork silent; do
    wait_until 30 is_state "$s" maintenance || fail "$s is $(state_of "$s"), want maintenance"
    [ "$(field "$s" reason)" = "start method timed out" ] ||
        fail "$s reason: '$(field "$s" reason)'"
    grep -q 'start method timed out' "$(log_of "$s")" || fail "$s: no timeout in its log"
    wait_until 10 not_running "$M $s" || fail "$s: its start method survived"
done
ok "start timeout: forking and notify start methods killed, maintenance"

# ---- a stop method that hangs -------------------------------------------------
[ "$(kctl_rc wait hangstop --timeout 30)" = 0 ] || fail "hangstop not online"
[ "$(kctl_rc disable -s hangstop)" = 0 ] || fail "disable -s hangstop"
[ "$(state_of hangstop)" = disabled ] || fail "hangstop is $(state_of hangstop)"
grep -Eq 'stop method: pid [0-9]+ timed out: killed' "$(log_of hangstop)" ||
    fail "hangstop: the stop method was not killed at its timeout"
[ -s "$T/hangstop.term" ] || fail "hangstop: no stop signal after the stop method"
! running "$M stopmethod1" || fail "hangstop: the hung stop method survived"
! running "$M hangstop" || fail "hangstop: the service survived"
ok "stop method hung: killed at its timeout, then the stop signal"

[ "$(kctl_rc wait deafstop --timeout 30)" = 0 ] || fail "deafstop not online"
dp=$(pid_of deafstop)
[ "$(kctl_rc disable -s deafstop)" = 0 ] || fail "disable -s deafstop"
grep -Eq 'stop method: pid [0-9]+ timed out: killed' "$(log_of deafstop)" ||
    fail "deafstop: the stop method was not killed"
grep -q "killed process group $dp" "$(log_of deafstop)" || fail "deafstop: group not SIGKILLed"
grep -q "exit: pid $dp killed by signal 9" "$(log_of deafstop)" || fail "deafstop: not SIGKILLed"
! running "$M stopmethod2" || fail "deafstop: the hung stop method survived"
ok "stop method hung and SIGTERM ignored: SIGKILL to the group after"

# ---- a refresh method that hangs ---------------------------------------------
[ "$(kctl_rc wait hangref --timeout 30)" = 0 ] || fail "hangref not online"
rp=$(pid_of hangref)
[ "$(kctl_rc refresh hangref)" = 0 ] || fail "refresh hangref"
wait_until 10 running "$M refreshmethod" || fail "hangref: refresh method never ran"
wait_until 30 is_state hangref maintenance || fail "hangref is $(state_of hangref), want maintenance"
[ "$(field hangref reason)" = "refresh method timed out" ] ||
    fail "hangref reason: '$(field hangref reason)'"
grep -Eq 'refresh method: pid [0-9]+ timed out: killed' "$(log_of hangref)" ||
    fail "hangref: the refresh method was not killed"
! running "$M refreshmethod" || fail "hangref: the hung refresh method survived"
! kill -0 "$rp" 2>/dev/null || fail "hangref: the service survived maintenance"
[ "$(kctl_rc clear hangref)" = 0 ] || fail "clear hangref"
[ "$(kctl_rc wait hangref --timeout 30)" = 0 ] || fail "hangref not back after clear"
ok "refresh method hung: killed, maintenance, clear brings it back"

# ---- refresh by signal ----------------------------------------------------------
[ "$(kctl_rc wait hupper --timeout 30)" = 0 ] || fail "hupper not online"
hp=$(pid_of hupper)
[ "$(kctl_rc refresh hupper)" = 0 ] || fail "refresh hupper"
wait_until 10 test -s "$T/hupper.hup" || fail "refresh {signal: HUP} did not reach the service"
[ "$(pid_of hupper)" = "$hp" ] && is_state hupper online || fail "hupper restarted by a refresh signal"
ok "refresh by signal: SIGHUP to the main process"

kill -TERM "$STARTD"
rc=0; wait "$STARTD" || rc=$?
[ $rc -eq 0 ] || fail "kstartd exited $rc"
STARTD=
kill -TERM "$CONFIGD"; wait "$CONFIGD" || true

# ---- kinit's shutdown budget ---------------------------------------------------
fresh_dirs
export SYSTEMK_MANIFEST_DIR=$T/budget SYSTEMK_GRACE_S=4
mkdir -p "$SYSTEMK_MANIFEST_DIR"
mf deaf <<EOF
{"service": "deaf",
 "start": {"exec": ["/bin/sh", "-c", "trap '' TERM; sleep 1000 & wait; : $M deaf"]},
 "stop": {"timeout_s": 30},
 "instances": {"default": {"enabled": true}}}
EOF
run_bg subreaper
wait_until 30 is_state deaf online || fail "deaf not online under kinit"
kill -TERM "$KP"
finish_bg 30
grep -q 'shutdown budget' "$CONSOLE" || fail "kstartd did not read kinit's deadline"
! grep -q 'grace of .* is over' "$CONSOLE" || fail "kinit had to SIGKILL at its deadline"
grep -q 'stop timed out' "$(log_of deaf)" || fail "deaf: no stop timeout in its log"
grep -q 'killed process group' "$(log_of deaf)" || fail "deaf: kstartd did not SIGKILL it"
! running "$M deaf" || fail "deaf outlived kinit"
expect_rc 0 "shutdown with a service ignoring SIGTERM (stop timeout 30 s, grace 4 s)"
ok "shutdown budget: a 30 s stop timeout cut to kinit's 4 s grace; kinit exits 0"
echo PASS

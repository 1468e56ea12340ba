#!/bin/bash
# kinit_daemons.sh BIN_DIR -- kinit keeps the real daemons going, as PID 1
# of a PID namespace and as a subreaper:
#   * kconfigd SIGKILLed 20 times in a row: kinit restarts it every time, is
#     still PID 1 (or still running), and `kctl get` works at the end;
#   * kstartd SIGKILLed: the service keeps running, kinit reaps it when it
#     exits, `kctl startd restart` brings kstartd back, which restarts the
#     service; SIGTERM then stops everything and kinit exits 0.
# Each kill waits until kconfigd has been up for 1 s, kinit's "stable" time
# after which its restart backoff starts over (so every restart is prompt);
# every wait is bounded.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
KCTL=$BIN/kctl

# svc_pid: the host pid of the test service (its argv[0] carries MARK).
svc_pid() { pgrep -f "^svc-$MARK" | head -n 1; }
readies() { grep -c "kconfigd is ready" "$CONSOLE" 2>/dev/null || true; }
readies_at_least() { [ "$(readies)" -ge "$1" ]; }
color() { "$KCTL" get a/app/color --json | jq -er '.property_groups.app.color.values[0]'; }
startd_down() { "$KCTL" startd status | grep -q "kstartd not running"; }
svc_back() { is_state a online && [ -n "$(svc_pid)" ] && [ "$(svc_pid)" != "$1" ]; }

run_case() {
    local mode=$1 i old cp sp
    fresh_dirs
    export MARK=$RANDOM$RANDOM
    cat >"$SYSTEMK_MANIFEST_DIR/a.json" <<EOF
{ "service": "a",
  "start": { "exec": ["/bin/bash", "-c", "exec -a svc-$MARK sleep 1000"] },
  "instances": { "default": { "enabled": true } },
  "properties": { "app": { "color": { "type": "string", "value": "red" } } } }
EOF
    run_bg "$mode"
    wait_until 20 "$KCTL" wait default --timeout 1 || fail "$mode: default not online"
    # kconfigd runs itself again after its boot import (a fresh heap):
    # the same process for kinit (pid, readiness), the same name.
    cp=$(daemon_pid kconfigd)
    [ -n "$cp" ] || fail "$mode: no process named kconfigd after the boot import"
    grep -q "kconfigd is ready (pid $(awk '/^NSpid:/ {print $NF}' "/proc/$cp/status"))" "$CONSOLE" ||
        fail "$mode: the kconfigd kinit started is not the one running"
    grep -q -- --boot-import "/proc/$cp/cmdline" &&
        fail "$mode: kconfigd still runs with --boot-import after the import"

    # ---- kconfigd: 20 SIGKILLs in a row ----------------------------------
    old=
    for i in $(seq 1 20); do
        wait_until 40 readies_at_least "$i" || fail "$mode: kconfigd not back after kill $((i - 1))"
        cp=$(daemon_pid kconfigd)
        [ -n "$cp" ] && [ "$cp" != "$old" ] || fail "$mode: no new kconfigd after kill $((i - 1))"
        sleep 1.05  # past kinit's stable time: the next restart is prompt
        kill -KILL "$cp"
        old=$cp
    done
    wait_until 40 readies_at_least 21 || fail "$mode: kconfigd not back after kill 20"
    kill -0 "$KP" || fail "$mode: kinit died"
    [ "$mode" != pid1 ] || is_pid1 || fail "$mode: kinit is no longer PID 1"
    wait_until 10 color || fail "$mode: kctl get fails after 20 kconfigd kills"
    [ "$(color)" = red ] || fail "$mode: kctl get: $(color)"
    [ "$(grep -c 'restarting kconfigd in 100 ms' "$CONSOLE")" -ge 20 ] ||
        fail "$mode: kconfigd restarts were not prompt"
    ok "$mode: kconfigd SIGKILLed 20 times: restarted each time, kinit still there, kctl get works"

    # ---- kstartd: SIGKILL, services live on, restart on request ----------
    wait_until 10 svc_pid || fail "$mode: service not running"
    old=$(svc_pid); sp=$(daemon_pid kstartd)
    [ -n "$sp" ] || fail "$mode: no kstartd"
    kill -KILL "$sp"
    wait_until 10 startd_down || fail "$mode: kinit did not notice kstartd's death"
    kill -0 "$old" || fail "$mode: the service died with kstartd"
    [ "$(awk '{print $3}' "/proc/$old/stat")" != Z ] || fail "$mode: service is a zombie"
    kill -TERM "$old"
    wait_until 10 gone "$old" || fail "$mode: kinit did not reap the orphaned service"
    [ ! -e "/proc/$old" ] || fail "$mode: the orphaned service is left a zombie"
    "$KCTL" startd restart >/dev/null || fail "$mode: kctl startd restart failed"
    wait_until 10 "$KCTL" startd status || fail "$mode: kctl startd status"
    "$KCTL" startd status | grep -q "kstartd running" || fail "$mode: kstartd not back"
    wait_until 20 svc_back "$old" || fail "$mode: the service was not restarted"
    ok "$mode: kstartd SIGKILLed: service lived on, was reaped; kctl startd restart"

    kill -TERM "$KP"
    finish_bg 30
    expect_rc 0 "$mode: SIGTERM after the kills"
    ok "$mode: SIGTERM: exit 0"
}

run_case pid1
run_case subreaper

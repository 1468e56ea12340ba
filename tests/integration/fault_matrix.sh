#!/usr/bin/env bash
# fault_matrix.sh BIN_DIR -- DESIGN section 1's promises under SIGKILL: each
# of kconfigd, kstartd and a service is killed at each phase of the system's
# life under kinit (a subreaper here): boot, import, a transaction, a
# restart, shutdown.  After each kill the system reaches a defined state:
#   * kconfigd: kinit restarts it (automatically), requests work again;
#   * kstartd: stays down (DESIGN: not restarted automatically), services
#     keep running, `kctl startd restart` brings it back and it re-adopts
#     them: the same pids;
#   * the service: restarted by its policy, a new pid, online;
#   * shutdown: kinit still exits within the grace budget and no process of
#     the run is left;
# and no acknowledged change is lost: every `kctl set` that exited 0 (kept
# in $T/acked) reads back, after each case and after every reboot, and
# `kctl repo check` is clean.  An import or a commit the kill interrupted
# (not acknowledged) is either complete or absent, never half-applied.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
trap 'rc=$?; set +e; kill_trees; (exit $rc); cleanup' EXIT
KCTL=$BIN/kctl
kinit_cmd() { echo "timeout 120 $BIN/kinit"; }
export SYSTEMK_GRACE_S=4
SECONDS=0
CASES=0

cat >"$SYSTEMK_MANIFEST_DIR/a.json" <<'EOF'
{ "service": "a", "description": "first", "start": { "exec": ["/bin/sleep", "1000"] },
  "restart": { "policy": "always", "burst": 0 },
  "instances": { "default": { "enabled": true } } }
EOF
cat >"$SYSTEMK_MANIFEST_DIR/b.json" <<'EOF'
{ "service": "b", "start": { "exec": ["/bin/sleep", "1000"] },
  "dependencies": [ { "name": "a", "grouping": "require_all", "restart_on": "none",
                      "services": ["a"] } ],
  "instances": { "default": { "enabled": true } } }
EOF
: >"$T/acked"
N=0

# ack: one more numbered commit; recorded only when acknowledged (exit 0).
ack() {
    N=$((N + 1))
    if timeout 20 "$KCTL" --timeout 5 set a app/k$N string "v$N" >/dev/null 2>&1; then
        echo "k$N v$N" >>"$T/acked"
    fi
}
# writer: commits until $T/stop exists (in the background).
writer() { while [ ! -e "$T/stop" ]; do ack; done; }
start_writer() { rm -f "$T/stop"; writer & WP=$!; track "$WP"; }
stop_writer() { touch "$T/stop"; wait "$WP" 2>/dev/null || true; }

check_acked() { # WHAT
    local k v got n=0
    wait_until 30 "$KCTL" --timeout 2 --json get a >/dev/null || fail "$1: kconfigd not answering"
    "$KCTL" --json get a >"$T/a.json" 2>&1 || fail "$1: get a"
    while read -r k v; do
        got=$(jq -r --arg k "$k" '.property_groups.app[$k].values[0] // "MISSING"' "$T/a.json")
        [ "$got" = "$v" ] || fail "$1: acknowledged $k=$v reads back as $got"
        n=$((n + 1))
    done <"$T/acked"
    "$KCTL" repo check >"$T/out" 2>&1 || fail "$1: repo check: $(cat "$T/out")"
    ACKED_N=$n
}
startd_down() { "$KCTL" startd status 2>/dev/null | grep -q "kstartd not running"; }
all_online() { is_state a online && is_state b online; }
# settle WHAT: the defined state: kconfigd answers, kstartd runs (started by
# the operator if it is down), a and b online, nothing acknowledged lost.
settle() {
    wait_until 30 "$KCTL" --timeout 2 get a/general/enabled || fail "$1: kconfigd not back"
    if startd_down; then
        "$KCTL" startd restart >/dev/null || fail "$1: kctl startd restart"
    fi
    wait_until 30 all_online || fail "$1: a=$(state_of a) b=$(state_of b)"
    kill -0 "$KP" || fail "$1: kinit died"
    check_acked "$1"
    CASES=$((CASES + 1))
    echo "figure: case $CASES ($1): settled at t=${SECONDS}s, $ACKED_N acknowledged commits intact"
}
# kill_startd WHAT: SIGKILL kstartd; services live on;
# kinit notices; the operator's restart re-adopts them (same pids).
kill_startd() {
    local sp pa pb
    sp=$(daemon_pid kstartd); pa=$(pid_of a); pb=$(pid_of b)
    [ -n "$sp" ] || fail "$1: no kstartd"
    kill -KILL "$sp"
    wait_until 10 startd_down || fail "$1: kinit did not notice kstartd's death"
    [ -z "$pa" ] || kill -0 "$pa" || fail "$1: a died with kstartd"
    [ -z "$pb" ] || kill -0 "$pb" || fail "$1: b died with kstartd"
    "$KCTL" startd restart >/dev/null || fail "$1: kctl startd restart"
    wait_until 30 all_online || fail "$1: not online after kstartd restart"
    [ -z "$pa" ] || [ "$(pid_of a)" = "$pa" ] || fail "$1: a not re-adopted ($pa -> $(pid_of a))"
    [ -z "$pb" ] || [ "$(pid_of b)" = "$pb" ] || fail "$1: b not re-adopted"
}
kill_configd() {
    local cp; cp=$(daemon_pid kconfigd)
    [ -n "$cp" ] || fail "$1: no kconfigd"
    kill -KILL "$cp"
    wait_until 30 new_pid kconfigd "$cp" || fail "$1: kinit did not restart kconfigd"
}
new_pid() { local p; p=$(daemon_pid "$1"); [ -n "$p" ] && [ "$p" != "$2" ]; }
kill_service() { # WHAT: SIGKILL a; it comes back with a new pid
    local p; p=$(pid_of a)
    [ -n "$p" ] || fail "$1: a has no pid"
    kill -KILL "$p"
    wait_until 30 a_new_pid "$p" || fail "$1: a not restarted after SIGKILL"
}
a_new_pid() { local p; p=$(pid_of a); [ -n "$p" ] && [ "$p" != "$1" ] && is_state a online; }
boot() { run_bg subreaper; }
shutdown_clean() { # WHAT
    kill -TERM "$KP"
    finish_bg 30
    expect_rc 0 "$1: SIGTERM"
}

# ---- boot ------------------------------------------------------------------------
# kconfigd killed the moment it exists (before its readiness).
boot
wait_until 10 daemon_pid kconfigd || fail "boot: no kconfigd"
kill -KILL "$(daemon_pid kconfigd)"
settle "boot: kconfigd SIGKILLed before ready"
ack; ack
shutdown_clean "boot/kconfigd"
# kstartd killed the moment it exists.
boot
wait_until 10 daemon_pid kstartd || fail "boot: no kstartd"
kill -KILL "$(daemon_pid kstartd)"
wait_until 10 startd_down || fail "boot: kinit did not notice kstartd's death"
settle "boot: kstartd SIGKILLed at start"
ack
shutdown_clean "boot/kstartd"
# The service killed while it starts.
boot
wait_until 20 pid_of a || fail "boot: a never got a pid"
kill -KILL "$(pid_of a)" 2>/dev/null || true
settle "boot: a SIGKILLed while starting"
ok "boot: kconfigd, kstartd and a service SIGKILLed during boot; defined state each time"

# ---- import ---------------------------------------------------------------------
# check_import WHAT RC: c is fully there (and online once enabled) when the
# import was acknowledged; otherwise fully there or absent.
check_import() {
    local has
    has=$("$KCTL" --json get c 2>/dev/null | jq -r '.property_groups.start.exec.values[0] // empty' || true)
    if [ "$2" -eq 0 ] || [ -n "$has" ]; then
        [ "$has" = /bin/sleep ] || fail "$1: import acknowledged (rc $2) but c is incomplete"
    fi
    echo "figure: $1: kctl import exit $2, c $([ -n "$has" ] && echo present || echo absent)"
    "$KCTL" import "$T/c.json" >/dev/null || fail "$1: re-import"
    wait_until 30 is_state c online || fail "$1: c not online after re-import"
}
for victim in configd startd service; do
    sed "s/NAME/c/; s/DESC/import-$victim/" >"$T/c.json" <<'EOF'
{ "service": "NAME", "description": "DESC", "start": { "exec": ["/bin/sleep", "1000"] },
  "properties": { "p": { "q": { "type": "integer", "value": 1 } } },
  "instances": { "default": { "enabled": true } } }
EOF
    rc=0
    timeout 30 "$KCTL" --timeout 10 import "$T/c.json" >/dev/null 2>&1 & IP=$!
    case $victim in
    configd) kill_configd "import" ;;
    startd) kill_startd "import" ;;
    service) kill_service "import" ;;
    esac
    wait "$IP" || rc=$?
    settle "import: $victim SIGKILLed"
    check_import "import: $victim SIGKILLed" "$rc"
    ack
done
ok "import: each victim SIGKILLed mid-import; the import is whole or absent, never half"

# ---- a transaction -----------------------------------------------------------------
for victim in configd startd service; do
    start_writer
    sleep 0.3
    case $victim in
    configd) kill_configd "transaction" ;;
    startd) kill_startd "transaction" ;;
    service) kill_service "transaction" ;;
    esac
    sleep 0.3
    stop_writer
    settle "transaction: $victim SIGKILLed among commits"
done
ok "transactions: each victim SIGKILLed among commits; every acknowledged one intact"

# ---- a restart ------------------------------------------------------------------------
for victim in configd startd service; do
    old=$(pid_of a)
    timeout 30 "$KCTL" --timeout 10 restart a >/dev/null 2>&1 & RP=$!
    case $victim in
    configd) kill_configd "restart" ;;
    startd) # kstartd dies mid-restart: whatever it left, the operator's
            # restart brings the defined state back.
            sp=$(daemon_pid kstartd); kill -KILL "$sp"
            wait_until 10 startd_down || fail "restart: kstartd death unnoticed" ;;
    service) wait_until 10 a_new_pid "$old" || true
             kill -KILL "$(pid_of a)" 2>/dev/null || true ;;
    esac
    wait "$RP" || true
    settle "restart: $victim SIGKILLed mid-restart"
    ack
done
ok "restart: each victim SIGKILLed during kctl restart; defined state each time"
shutdown_clean "before the shutdown cases"

# ---- shutdown ---------------------------------------------------------------------------
for victim in configd startd service; do
    boot
    settle "boot before shutdown/$victim"
    pa=$(pid_of a); pb=$(pid_of b)
    cp=$(daemon_pid kconfigd); sp=$(daemon_pid kstartd)
    kill -TERM "$KP"
    case $victim in
    configd) kill -KILL "$cp" ;;
    startd) kill -KILL "$sp" ;;
    service) kill -KILL "$pa" ;;
    esac
    finish_bg 30   # within the grace budget (4 s) plus slack: no hang
    for p in "$pa" "$pb" "$cp" "$sp"; do
        wait_until 10 gone "$p" || fail "shutdown/$victim: pid $p outlived kinit"
    done
    echo "figure: shutdown with $victim SIGKILLed: kinit exit $RC, nothing left"
    [ "$RC" -le 1 ] || fail "shutdown/$victim: kinit exit $RC (124: it hung)"
done
ok "shutdown: each victim SIGKILLed during shutdown; kinit exits, nothing left"

# ---- and after all that, a clean boot has every acknowledged change ----------------------
boot
settle "final boot"
shutdown_clean "final"
ok "$CASES cases, $ACKED_N acknowledged commits all intact, ${SECONDS} s"

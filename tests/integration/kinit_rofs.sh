#!/bin/bash
# kinit_rofs.sh BIN_DIR -- a non-root kinit (uid 65534) on a read-only root:
# in a private mount namespace / is bound read-only and a tmpfs is the only
# writable place.  With SYSTEMK_RUN_DIR, _STATE_DIR and _LOG_DIR on the
# tmpfs, the real stack boots, runs a service and shuts down cleanly (exit
# 0), as PID 1 of a PID namespace and as a subreaper.  Left at a default it
# cannot write, kinit refuses to start (exit 1) naming the variable to set.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
KCTL=$BIN/kctl
chmod 755 "$T"          # uid 65534 reads the manifests and the wrapper
RW=$T/rw; mkdir -p "$RW"
MARK=$RANDOM$RANDOM
cat >"$SYSTEMK_MANIFEST_DIR/ro.json" <<EOF
{ "service": "ro",
  "start": { "exec": ["/bin/bash", "-c", "echo hello from \$(id -u); exec -a ro-$MARK sleep 1000"] },
  "instances": { "default": { "enabled": true } } }
EOF
# rofs.sh ARGS...: runs ARGS as uid 65534 with / read-only and $RW a tmpfs.
cat >"$T/rofs.sh" <<'EOF'
#!/bin/sh
set -e
mount --make-rprivate /
mount --rbind / /
mount -o remount,bind,ro /
mount -t tmpfs -o mode=1777 tmpfs "$RW"
cd /
exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
EOF
chmod 755 "$T/rofs.sh"
export RW

comm_is() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
svc_pid() { pgrep -f "^ro-$MARK" | head -n 1; }

run_case() {
    local mode=$1 to kp sp
    RUNS=$((RUNS + 1)); CONSOLE=$T/kinit.$RUNS.console
    local env=(SYSTEMK_RUN_DIR="$RW/run" SYSTEMK_STATE_DIR="$RW/state"
               SYSTEMK_LOG_DIR="$RW/log")
    if [ "$mode" = pid1 ]; then
        timeout 60 unshare --mount --pid --fork --mount-proc --kill-child \
            env "${env[@]}" "$T/rofs.sh" "$BIN/kinit" 2>"$CONSOLE" &
        to=$!; track "$to"
        wait_until 10 has_depth "$to" 2 || fail "$mode: kinit did not start"
        kp=$(tree "$to" | sed -n 2p)
    else
        timeout 60 unshare --mount env "${env[@]}" "$T/rofs.sh" "$BIN/kinit" \
            2>"$CONSOLE" &
        to=$!; track "$to"
        wait_until 10 has_depth "$to" 1 || fail "$mode: kinit did not start"
        kp=$(children_of "$to" | tr -d ' ')
    fi
    track "$kp"
    wait_until 10 comm_is "$kp" kinit || fail "$mode: $kp is not kinit"
    # kctl reaches the private tmpfs through kinit's root.
    export SYSTEMK_RUN_DIR=/proc/$kp/root$RW/run
    wait_until 20 "$KCTL" wait default --timeout 1 ||
        fail "$mode: default not online as uid 65534 on a read-only root"
    is_state ro online || fail "$mode: service ro is not online"
    sp=$(svc_pid)
    [ -n "$sp" ] || fail "$mode: service process not found"
    [ "$(stat -c %u "/proc/$sp")" = 65534 ] || fail "$mode: service not run as 65534"
    [ "$(stat -c %u "/proc/$kp")" = 65534 ] || fail "$mode: kinit not run as 65534"
    grep -q "hello from 65534" "/proc/$kp/root$RW/log/ro:default.log" ||
        fail "$mode: no service output in the log dir"
    touch "/proc/$kp/root/rofs-probe" 2>/dev/null && fail "$mode: / is writable"
    kill -TERM "$kp"
    TO=$to; finish_bg 30
    expect_rc 0 "$mode: SIGTERM on a read-only root"
    grep -q "exiting with status 0" "$CONSOLE" || fail "$mode: no clean exit"
    gone "$sp" || fail "$mode: the service outlived kinit"
    ok "$mode: uid 65534, read-only /: boots, runs a service, shuts down cleanly"
}

# A default it cannot write: refused up front, naming what to set.
refused() {  # VAR-TO-LEAVE-AT-DEFAULT
    local env=(-u "$1") v
    for v in RUN:run STATE:state LOG:log; do
        [ "SYSTEMK_${v%:*}_DIR" = "$1" ] || env+=("SYSTEMK_${v%:*}_DIR=$RW/${v#*:}")
    done
    RUNS=$((RUNS + 1)); CONSOLE=$T/kinit.$RUNS.console
    RC=0
    timeout 20 unshare --mount env "${env[@]}" "$T/rofs.sh" "$BIN/kinit" \
        2>"$CONSOLE" || RC=$?
    expect_rc 1 "unwritable default of $1"
    grep -q "set $1 (or --" "$CONSOLE" || fail "no hint naming $1: $(cat "$CONSOLE")"
}

run_case pid1
run_case subreaper
for v in SYSTEMK_RUN_DIR SYSTEMK_STATE_DIR SYSTEMK_LOG_DIR; do refused "$v"; done
ok "unwritable defaults: kinit exits 1 naming SYSTEMK_RUN_DIR, _STATE_DIR, _LOG_DIR"

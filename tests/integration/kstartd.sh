#!/usr/bin/env bash
# it_kstartd: kstartd against a real kconfigd in a temp dir, without kinit.
#
#   import -> dependencies start in order -> kill -9 brings a new pid ->
#   restart_on=error restarts the dependent -> exit 95 is maintenance at
#   once -> disable/enable -> a new manifest starts via svc.reload ->
#   service environment and log -> SIGTERM stops all in reverse order, exit 0.
#
# Usage: kstartd.sh BINDIR   (BINDIR holds kconfigd, kstartd and kctl)
set -euo pipefail

bin=$(cd "$1" && pwd)
tmp=$(mktemp -d /tmp/it-kstartd.XXXXXX)
export SYSTEMK_RUN_DIR=$tmp/run SYSTEMK_STATE_DIR=$tmp/state
export SYSTEMK_MANIFEST_DIR=$tmp/manifests SYSTEMK_LOG_DIR=$tmp/log
mkdir -p "$SYSTEMK_RUN_DIR" "$SYSTEMK_STATE_DIR" "$SYSTEMK_MANIFEST_DIR" "$tmp/more"
kctl() { "$bin/kctl" "$@"; }
pids=()

cleanup() {
    local rc=$?
    for p in "${pids[@]}"; do
        { kill -9 "$p" && wait "$p"; } 2>/dev/null || true
    done
    # Services lead their own process groups; each carries the marker.
    for p in $(pgrep -f "it-kstartd-marker-$$" || true); do
        kill -9 -- "-$p" 2>/dev/null || true
    done
    if [ $rc -ne 0 ]; then
        echo "--- kstartd.err"; cat "$tmp/kstartd.err" 2>/dev/null || true
        echo "--- kconfigd.err"; cat "$tmp/kconfigd.err" 2>/dev/null || true
        for f in "$tmp"/log/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
    fi
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# Starts a daemon with a readiness fifo and waits for its newline.
start_daemon() {
    local name=$1
    mkfifo "$tmp/$name.ready"
    "$bin/$name" --ready-fd 3 3>"$tmp/$name.ready" 2>"$tmp/$name.err" &
    pids+=($!)
    local line
    daemon_pid=$!
    read -r -t 10 line <"$tmp/$name.ready" || fail "$name not ready"
}

# field SVC KEY: a scalar from `kctl status --json`.
field() {
    kctl status "$1" --json | python3 -c \
        'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("null" if v is None else v)' "$2"
}

# wait_for SVC KEY VALUE [SECONDS]
wait_for() {
    local deadline=$((SECONDS + ${4:-10}))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(field "$1" "$2" 2>/dev/null || true)" = "$3" ] && return 0
        sleep 0.1
    done
    fail "$1: $2 is '$(field "$1" "$2" 2>/dev/null || true)', want '$3'"
}

m=it-kstartd-marker-$$
cat >"$SYSTEMK_MANIFEST_DIR/db.json" <<EOF
{"service": "db", "description": "the database",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $m"]},
 "stop": {"timeout_s": 2},
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/web.json" <<EOF
{"service": "web",
 "start": {"exec": ["/bin/sh", "-c", "env > \$0.env; echo web-up; sleep 1000; : $m", "$tmp/web"]},
 "context": {"environment": {"GREETING": "hello world"}},
 "dependencies": [{"name": "db", "grouping": "require_all", "restart_on": "error",
                   "services": ["db"]}],
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/fatal.json" <<EOF
{"service": "fatal", "start": {"exec": ["/bin/sh", "-c", "exit 95"]},
 "instances": {"default": {"enabled": true}}}
EOF

start_daemon kconfigd
kctl import "$SYSTEMK_MANIFEST_DIR" >/dev/null
start_daemon kstartd
kpid=$daemon_pid

wait_for db state online
wait_for web state online
ok "db and web online"
[ "$(kctl hello startd --json | grep -c k.startd)" -ge 1 ] || fail "sys.hello"
rc=0; kctl status nosuch >/dev/null 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "status of an unknown instance exited $rc, want 3"

# Order: web starts only after db is online.
dbl=$(grep -m1 'start: pid' "$SYSTEMK_LOG_DIR/db:default.log" | cut -d' ' -f1)
webl=$(grep -m1 'start: pid' "$SYSTEMK_LOG_DIR/web:default.log" | cut -d' ' -f1)
[[ "$dbl" < "$webl" || "$dbl" == "$webl" ]] || fail "web started before db"
# kstartd's own lines keep their order in each log, though the load's are
# held until the first pass has spawned and written with that pass's.
for f in db web; do
    grep ' kstartd: ' "$SYSTEMK_LOG_DIR/$f:default.log" | head -n 3 |
        sed 's/^[^ ]* kstartd: svc:[^ ]* //' >"$tmp/$f.first"
    printf '%s\n' 'state: uninitialized -> offline' >"$tmp/want"
    head -n 1 "$tmp/$f.first" | cmp -s - "$tmp/want" ||
        fail "$f: the first kstartd line is not the load's: $(head -n 1 "$tmp/$f.first")"
    sed -n 2p "$tmp/$f.first" | grep -q '^start: pid ' ||
        fail "$f: the second kstartd line is not its start: $(sed -n 2p "$tmp/$f.first")"
done

# Environment: exactly the configured one plus PATH default and SYSTEMK_*.
env_file=$tmp/web.env
for _ in $(seq 50); do [ -s "$env_file" ] && break; sleep 0.1; done
grep -qx 'GREETING=hello world' "$env_file" || fail "GREETING missing"
grep -qx 'SYSTEMK_FMRI=svc:/web:default' "$env_file" || fail "SYSTEMK_FMRI missing"
grep -qx 'SYSTEMK_METHOD=start' "$env_file" || fail "SYSTEMK_METHOD missing"
grep -q '^PATH=/usr/local/sbin:' "$env_file" || fail "default PATH missing"
grep -q '^SYSTEMK_RUN_DIR=' "$env_file" && fail "kstartd's environment leaked"
grep -q 'web-up' "$SYSTEMK_LOG_DIR/web:default.log" || fail "stdout not in the log"
ok "method environment and log"

# Own session and process group.
dbpid=$(field db pid)
[ "$(ps -o sid= -p "$dbpid" | tr -d ' ')" = "$dbpid" ] || fail "db not a session leader"

# kill -9: a new pid, and web (restart_on error) restarts too.
webpid=$(field web pid)
kill -9 "$dbpid"
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ]; do
    np=$(field db pid); st=$(field db state)
    [ "$st" = online ] && [ "$np" != null ] && [ "$np" != "$dbpid" ] && break
    sleep 0.1
done
[ "$st" = online ] && [ "$np" != "$dbpid" ] || fail "db did not come back after kill -9"
wait_for web state online
[ "$(field web pid)" != "$webpid" ] || fail "web was not restarted with db"
[ "$(field db restarts)" = 1 ] || fail "db restarts is not 1"
# Its leftover (the sleep in db's group) was killed with it.
[ -z "$(pgrep -g "$dbpid" 2>/dev/null || true)" ] || fail "db's group outlived it"
ok "kill -9 brings a new pid ($dbpid -> $np); dependent restarted"

wait_for fatal state maintenance
ok "exit 95 goes to maintenance"

kctl disable web >/dev/null
wait_for web state disabled
kctl list --json | grep -q '"svc:/web:default"' && fail "list shows a disabled instance"
kctl list -a --json | grep -q '"svc:/web:default"' || fail "list -a misses it"
kctl enable web >/dev/null
wait_for web state online
ok "disable and enable"

cat >"$tmp/more/late.json" <<EOF
{"service": "late", "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $m"]},
 "instances": {"default": {"enabled": true}}}
EOF
kctl import "$tmp/more/late.json" >/dev/null
wait_for late state online
ok "an imported service starts (svc.reload)"

kill -TERM "$kpid"
rc=0
wait "$kpid" || rc=$?
[ $rc -eq 0 ] || fail "kstartd exited $rc"
pgrep -f "$m" >/dev/null && fail "a service still runs after shutdown"
# Reverse order: db is asked to stop only once web has exited.
web_exit=$(grep 'exit: pid' "$SYSTEMK_LOG_DIR/web:default.log" | tail -1 | cut -d' ' -f1)
db_stop=$(grep 'next offline' "$SYSTEMK_LOG_DIR/db:default.log" | tail -1 | cut -d' ' -f1)
[[ "$web_exit" < "$db_stop" || "$web_exit" == "$db_stop" ]] || \
    fail "db stopped ($db_stop) before web exited ($web_exit)"
grep -q 'unable to persist' "$tmp/kstartd.err" && fail "state.put failed"
ok "SIGTERM stops everything, exit 0"
echo "PASS"

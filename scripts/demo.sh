#!/usr/bin/env bash
# demo.sh: kinit as PID 1 of a private PID namespace, running the services in
# examples/, with their live status.  Ctrl-C shuts everything down cleanly.
# DEMO_SECONDS=N stops by itself after N seconds (for scripted runs).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (unshare --pid)" >&2; exit 1; }
scripts/deps.sh
# SYSTEMK_BIN: use binaries from elsewhere (the tests run the demo this way).
bin=${SYSTEMK_BIN:-$top/build/bin}
if [ -z "${SYSTEMK_BIN:-}" ]; then
    echo "demo: building ..."
    cmake -S . -B build >/dev/null && cmake --build build -j"$(nproc)" >build.log 2>&1 \
        || { tail -n 40 build.log; exit 1; }
fi

demo=$(mktemp -d /tmp/systemk-demo.XXXXXX)
export SYSTEMK_RUN_DIR=$demo/run SYSTEMK_STATE_DIR=$demo/state
export SYSTEMK_LOG_DIR=$demo/log SYSTEMK_MANIFEST_DIR=$demo/manifests
mkdir -p "$SYSTEMK_MANIFEST_DIR"
cp examples/*.json "$SYSTEMK_MANIFEST_DIR/"
kctl=$bin/kctl

unshare --pid --fork --mount-proc --kill-child "$bin/kinit" \
    2>"$demo/kinit.console" &
ushare=$!
kinit_pid=""
for _ in $(seq 100); do
    kinit_pid=$(cat "/proc/$ushare/task/$ushare/children" 2>/dev/null | awk '{print $1}')
    [ -n "$kinit_pid" ] && break
    sleep 0.05
done

stop() {
    trap - INT TERM
    echo; echo "demo: Ctrl-C: asking kinit (pid $kinit_pid, PID 1 inside) to shut down ..."
    kill -TERM "$kinit_pid" 2>/dev/null || true
    status=0
    wait "$ushare" || status=$?
    echo "demo: kinit exited with status $status; console:"
    tail -n 15 "$demo/kinit.console" | sed 's/^/  | /'
    echo "demo: left in $demo (logs in $SYSTEMK_LOG_DIR)"
    exit "$status"
}
trap stop INT TERM

deadline=$(( $(date +%s) + ${DEMO_SECONDS:-1000000000} ))
while kill -0 "$ushare" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
    out=$("$kctl" list -a 2>&1 || true)
    printf '\033[H\033[2J' 2>/dev/null || true
    echo "SystemK demo: kinit is PID 1 of a private PID namespace (host pid $kinit_pid)"
    echo "run dir $SYSTEMK_RUN_DIR -- Ctrl-C shuts it down"
    echo
    echo "$out"
    echo
    echo "last console lines:"
    tail -n 5 "$demo/kinit.console" | sed 's/^/  | /'
    sleep 1
done
stop

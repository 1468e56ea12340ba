#!/usr/bin/env bash
# bench/startd/run.sh BIN_DIR [N]: kstartd at scale, under kinit (subreaper).
#
#   1. baseline: a bare loop spawning the same N processes (sh -c sleep),
#      measured in the same run;
#   2. N services with a random dependency DAG (each depends on up to 3 of
#      the services before it, require_all), delay 0: time from kinit's
#      start to `kctl wait default`;
#   3. memory: PSS of kinit + kconfigd + kstartd (from /proc/PID/smaps_rollup);
#   4. restart latency after kill -9 (delay_ms 0): p50 and max over R kills,
#      kstartd's view (its log's exit line to its next start line).
# Prints one JSON object.  Everything it starts runs in its own temp dir and
# is killed by pid at exit.  Peers (s6-svscan, runsvdir) are not measured
# here: they are not installed on this machine.
set -euo pipefail
BIN=$(cd "${1:?usage: run.sh BIN_DIR [N]}" && pwd)
N=${2:-1000}
R=${R:-20}
T=$(mktemp -d /tmp/systemk-bench.XXXXXX)
M=systemk-bench-$$
export SYSTEMK_RUN_DIR=$T/run SYSTEMK_STATE_DIR=$T/state
export SYSTEMK_LOG_DIR=$T/log SYSTEMK_MANIFEST_DIR=$T/manifests
mkdir -p "$SYSTEMK_MANIFEST_DIR"
KINIT=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cleanup() {
    local c
    if [ -n "$KINIT" ]; then
        for c in $(cat "/proc/$KINIT/task/$KINIT/children" 2>/dev/null); do kill -KILL "$c" 2>/dev/null || true; done
        kill -KILL "$KINIT" 2>/dev/null || true
    fi
    for c in $(pgrep -f "$M" 2>/dev/null || true); do kill -KILL -- "-$c" 2>/dev/null || kill -KILL "$c" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

# 1. baseline: N sh processes spawned in a loop (a subshell, so that bash's
#    job notices stay quiet), until all exist.
base_ms=$(
    t0=$(now_ms); pids=()
    for i in $(seq 1 "$N"); do setsid sh -c "sleep 100000; : $M base" & pids+=($!); done
    t1=$(now_ms)
    # Each sh leads its own group (setsid): the group holds its sleep too.
    for c in "${pids[@]}"; do kill -KILL -- "-$c" 2>/dev/null || kill -KILL "$c" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo $((t1 - t0))
) 2>/dev/null

# 2. N services, random DAG (seeded: the same graph every run).
RANDOM=42
for i in $(seq 1 "$N"); do
    deps=""
    if [ "$i" -gt 1 ]; then
        k=$((RANDOM % 4))
        for _ in $(seq 1 $k); do
            d=$((RANDOM % (i - 1) + 1))
            deps="$deps\"b$d\","
        done
    fi
    deps=${deps%,}
    dj=""
    [ -n "$deps" ] && dj=", \"dependencies\": [{\"name\": \"up\", \"grouping\": \"require_all\", \"restart_on\": \"none\", \"services\": [$deps]}]"
    printf '{"service": "b%d", "start": {"exec": ["/bin/sh", "-c", "sleep 100000; : %s"]}, "restart": {"delay_ms": 0}, "instances": {"default": {"enabled": true}}%s}\n' \
        "$i" "$M" "$dj" >"$SYSTEMK_MANIFEST_DIR/b$i.json"
done
t0=$(now_ms)
"$BIN/kinit" 2>"$T/kinit.console" &
KINIT=$!
until "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" >/dev/null 2>&1; do sleep 0.01; done
"$BIN/kctl" wait default --timeout 600 >/dev/null
t1=$(now_ms)
up_ms=$((t1 - t0))
[ "$("$BIN/kctl" list --json | jq '[.[] | select(.state == "online")] | length')" = "$N" ] || {
    echo "not all online" >&2; exit 1; }

# 3. memory
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
spid=$("$BIN/kctl" startd status --json | jq -r .pid)
cpid=
for c in $(cat "/proc/$KINIT/task/$KINIT/children"); do
    case "$(cat /proc/$c/comm)" in kconfigd) cpid=$c ;; esac
done
pss_kinit=$(pss "$KINIT"); pss_startd=$(pss "$spid"); pss_configd=$(pss "$cpid")
rss_startd=$(awk '/^VmRSS:/ {print $2}' "/proc/$spid/status")

# 4. restart latency after kill -9, kstartd's own view: from its "exit:"
#    line to its next "start:" line in the service's log (ms timestamps).
ts_ms() { date -d "$1" +%s%3N; }
lat=()
for r in $(seq 1 "$R"); do
    s=b$((r * 7 % N + 1))
    f=svc:/$s:default
    old=$("$BIN/kctl" status "$f" --json | jq -r .pid)
    kill -KILL "$old"
    while :; do
        new=$("$BIN/kctl" status "$f" --json | jq -r '.pid // empty')
        [ -n "$new" ] && [ "$new" != "$old" ] && break
        sleep 0.01
    done
    log=$SYSTEMK_LOG_DIR/$s:default.log
    te=$(grep "exit: pid $old " "$log" | tail -1 | cut -d' ' -f1)
    tsn=$(grep "start: pid $new:" "$log" | tail -1 | cut -d' ' -f1)
    lat+=($(( $(ts_ms "$tsn") - $(ts_ms "$te") )))
done
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
p50=$(echo "$sorted" | sed -n "$(( (R + 1) / 2 ))p")
max=$(echo "$sorted" | tail -1)
cpu=$(awk '{print $14 + $15}' "/proc/$spid/stat")

jq -n --argjson n "$N" --argjson base "$base_ms" --argjson up "$up_ms" \
    --argjson pk "$pss_kinit" --argjson ps "$pss_startd" --argjson pc "$pss_configd" \
    --argjson rss "$rss_startd" --argjson p50 "$p50" --argjson max "$max" --argjson cpu "$cpu" \
    '{services: $n, spawn_loop_ms: $base, default_online_ms: $up,
      ratio: (($up / ($base + 0.001)) * 100 | round / 100),
      pss_kib: {kinit: $pk, kstartd: $ps, kconfigd: $pc},
      pss_per_service_kib: ((($pk + $ps + $pc) / $n) * 100 | round / 100),
      kstartd_rss_kib: $rss, kstartd_cpu_ticks: $cpu,
      restart_ms: {p50: $p50, max: $max,
        note: "kstartd log timestamps, exit line to start line (1 ms resolution)"}}'

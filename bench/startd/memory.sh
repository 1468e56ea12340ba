#!/usr/bin/env bash
# bench/startd/memory.sh BIN_DIR [N]: kinit+kconfigd+kstartd memory (PSS,
# /proc/PID/smaps_rollup) with N flat services (`sleep`, no dependencies)
# online, 3 s after `default` (the daemons give memory back once idle);
# each daemon's heap, anonymous and file-backed shares with SHOW_MAPS=1.
# Only the figure for large N, where s6 and runit (run.sh) would take
# minutes to bring up.  Prints one JSON object; everything it starts runs
# in its own temp dir and is stopped by pid at exit.
set -euo pipefail
BIN=$(cd "${1:?usage: memory.sh BIN_DIR [N]}" && pwd)
N=${2:-10000}
T=$(mktemp -d /tmp/systemk-mem.XXXXXX)
export SYSTEMK_RUN_DIR=$T/run SYSTEMK_STATE_DIR=$T/state
export SYSTEMK_LOG_DIR=$T/log SYSTEMK_MANIFEST_DIR=$T/manifests
mkdir -p "$SYSTEMK_MANIFEST_DIR"
K=
cleanup() {
    if [ -n "$K" ]; then
        kill -TERM "$K" 2>/dev/null || true
        for _ in $(seq 600); do kill -0 "$K" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$K" 2>/dev/null || true
        wait "$K" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT
for i in $(seq 1 "$N"); do
    printf '{"service": "m%d", "start": {"exec": ["/bin/sleep", "100000"]}, "instances": {"default": {"enabled": true}}}\n' \
        "$i" >"$SYSTEMK_MANIFEST_DIR/m$i.json"
done
"$BIN/kinit" 2>"$T/kinit.console" &
K=$!
until "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" >/dev/null 2>&1; do sleep 0.05; done
"$BIN/kctl" wait default --timeout 900 >/dev/null
sleep 3
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
C= S=
for c in $(cat "/proc/$K/task/$K/children"); do
    case "$(cat "/proc/$c/comm")" in kconfigd) C=$c ;; kstartd) S=$c ;; esac
done
[ -n "$C" ] && [ -n "$S" ] || { echo "memory: no daemons under kinit" >&2; exit 1; }
pk=$(pss "$K") pc=$(pss "$C") ps=$(pss "$S")
if [ -n "${SHOW_MAPS:-}" ]; then
    for p in "$C" "$S"; do
        echo "== $(cat "/proc/$p/comm") ($(ls "/proc/$p/task" | wc -l) threads)" >&2
        awk '/^[0-9a-f]+-/ {n = $6; if (n == "") n = "[anon]"} /^Pss:/ {a[n] += $2}
             END {for (n in a) if (a[n] >= 32) print a[n] " KiB " n}' "/proc/$p/smaps" |
            sort -rn >&2
    done
fi
jq -n --argjson n "$N" --argjson k "$pk" --argjson c "$pc" --argjson s "$ps" \
    '{services: $n, pss_kib: {kinit: $k, kconfigd: $c, kstartd: $s, total: ($k + $c + $s)},
      pss_per_service_kib: ((($k + $c + $s) / $n * 100 | round) / 100)}'

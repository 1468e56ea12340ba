# bench/lib.sh -- shared by the benchmark scripts.  Source with the bin dir:
#     . "$(dirname "$0")/lib.sh" "${1:-build/bin}"
# Benchmarks print figures, never pass/fail: the machines are shared and noisy,
# so compare the ratios printed beside peers measured in the same run.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(cd "${1:-$top/build/bin}" && pwd)
W=$(mktemp -d /tmp/systemk-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
"$top/scripts/deps.sh" tini dumb-init s6 runit supervisor >/dev/null

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# The first child of a pid (PID 1 of a namespace made by unshare --fork).
child_of() {
    local c=""
    for _ in $(seq 200); do
        c=$(awk '{print $1}' "/proc/$1/task/$1/children" 2>/dev/null || true)
        [ -n "$c" ] && break; sleep 0.02
    done
    echo "$c"
}
# Private memory (kB) of one process: Private_Clean + Private_Dirty.
private_kb() { awk '/^Private_(Clean|Dirty)/{s+=$2} END{print s+0}' "/proc/$1/smaps_rollup"; }
pss_kb()     { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup"; }
# All descendants of a pid, itself included.
tree_of() {
    local p=$1; echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_of "$c"; done
}
tree_pss_kb() { local s=0; for p in $(tree_of "$1"); do s=$((s + $(pss_kb "$p" 2>/dev/null || echo 0))); done; echo "$s"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
# make_manifests DIR N: N child services running sleep.
make_manifests() {
    mkdir -p "$1"
    for i in $(seq -w 1 "$2"); do
        printf '{"service":"s%s","start":{"exec":["/bin/sleep","100000"]},"log":"console"}\n' "$i" >"$1/s$i.json"
    done
}

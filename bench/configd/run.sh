#!/usr/bin/env bash
# bench/configd/run.sh [BIN_DIR]: kconfigd next to its floors, in one run.
#
#   1. latency: repo.get through kconfigd (libkipc, configd.sock) next to a
#      raw nng REP echo of the same request bytes (configd_bench
#      echo-server), sent once through libkipc's client (the same client,
#      no JSON: the floor a get can reach) and once through an nng REQ
#      socket; interleaved in rounds; p50 and p99 in microseconds;
#   2. durable commits per second: repo.commit (one set per transaction,
#      fsync'd before the reply) with 1 and with 32 concurrent clients, next
#      to raw LMDB commits (one put per mdb_txn_commit, default sync) on the
#      same file system, and to the transport's own ceiling: 1 and 32
#      clients echoing a commit-sized request through the raw echo server.
#      Each measure is run REPEAT (5) times, alternating, and the median is
#      printed.
#
# kconfigd runs alone (no kinit, no kstartd) in a temp dir; everything is
# killed by pid at exit.  Prints a markdown table.  Knobs: N (gets per
# round), ROUNDS, SECS (per commit measure), REPEAT.
. "$(dirname "$0")/../lib.sh" "${1:-}"
N=${N:-2000} ROUNDS=${ROUNDS:-5} SECS=${SECS:-4} REPEAT=${REPEAT:-5}
B=$BIN/configd_bench

export SYSTEMK_RUN_DIR=$W/run SYSTEMK_STATE_DIR=$W/state SYSTEMK_LOG_DIR=$W/log
export SYSTEMK_MANIFEST_DIR=$W/manifests
mkdir -p "$SYSTEMK_MANIFEST_DIR"
cat >"$W/bench.json" <<'EOF'
{"service": "bench", "description": "configd benchmark",
 "start": {"exec": ["/bin/sleep", "1000"]},
 "properties": {"app": {"seed": {"type": "integer", "value": 0},
                        "name": {"type": "string", "value": "benchmark"}}}}
EOF

"$BIN/kconfigd" 2>"$W/configd.console" &
CPID=$!; PIDS+=("$CPID")
for _ in $(seq 200); do
    "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/configd.sock" >/dev/null 2>&1 && break
    sleep 0.05
done
"$BIN/kctl" import "$W/bench.json" >/dev/null
"$B" echo-server "ipc://$W/echo.sock" &
PIDS+=($!)
sleep 0.2

# 1. latency
read -r _ _ _ e50 _ e99 _ _ k50 _ k99 _ _ g50 _ g99 < <("$B" latency \
    "$SYSTEMK_RUN_DIR/configd.sock" "ipc://$W/echo.sock" svc:/bench:default "$N" "$ROUNDS")

# 2. commits: lmdb, 1 client, 32 clients, REPEAT times alternating.
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
: >"$W/lmdb" >"$W/c1" >"$W/c32" >"$W/e1" >"$W/e32"
for r in $(seq "$REPEAT"); do
    rm -rf "$W/lmdb.$r"
    "$B" lmdb "$W/lmdb.$r" "$SECS" | awk '{print $5}' >>"$W/lmdb"
    "$B" commit "$SYSTEMK_RUN_DIR/configd.sock" svc:/bench:default 1 "$SECS" | awk '{print $6}' >>"$W/c1"
    "$B" commit "$SYSTEMK_RUN_DIR/configd.sock" svc:/bench:default 32 "$SECS" | awk '{print $6}' >>"$W/c32"
    "$B" echo-load "ipc://$W/echo.sock" 1 "$SECS" | awk '{print $6}' >>"$W/e1"
    "$B" echo-load "ipc://$W/echo.sock" 32 "$SECS" | awk '{print $6}' >>"$W/e32"
done
lm=$(median <"$W/lmdb") c1=$(median <"$W/c1") c32=$(median <"$W/c32")
e1=$(median <"$W/e1") e32=$(median <"$W/e32")

# 3. group commit at work: fdatasync calls of kconfigd during one more
#    32-client run (perf's syscall tracepoint), and its CPU per commit.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/task/$1/stat"; }
per_fsync=n/a main_us=n/a
t0=$(cpu_ticks "$CPID")
if command -v perf >/dev/null &&
   perf stat -e syscalls:sys_enter_fdatasync -x, -o "$W/perf" -p "$CPID" -- sleep 0.1 >/dev/null 2>&1; then
    perf stat -e syscalls:sys_enter_fdatasync -x, -o "$W/perf" -p "$CPID" -- sleep "$((SECS + 1))" >/dev/null 2>&1 &
    PP=$!
    sleep 0.3
    n=$("$B" commit "$SYSTEMK_RUN_DIR/configd.sock" svc:/bench:default 32 "$SECS" | awk '{print $4}')
    wait "$PP" || true
    fs=$(awk -F, '/fdatasync/ {print $1}' "$W/perf")
    per_fsync=$(ratio "$n" "$fs")
else
    n=$("$B" commit "$SYSTEMK_RUN_DIR/configd.sock" svc:/bench:default 32 "$SECS" | awk '{print $4}')
fi
main_us=$(awk -v t="$(( $(cpu_ticks "$CPID") - t0 ))" -v n="$n" 'BEGIN {printf "%.0f", t * 10000 / n}')
"$BIN/kctl" repo check >/dev/null || { echo "repo check failed after the run" >&2; exit 1; }

cat <<TABLE
| latency (us) | repo.get via kconfigd | raw echo, libkipc client | raw echo, nng REQ | get / libkipc echo | get / nng echo |
|---|---|---|---|---|---|
| p50 | $g50 | $k50 | $e50 | $(ratio "$g50" "$k50") | $(ratio "$g50" "$e50") |
| p99 | $g99 | $k99 | $e99 | $(ratio "$g99" "$k99") | $(ratio "$g99" "$e99") |

| durable commits/s (median of $REPEAT x ${SECS} s) | value | ratio |
|---|---|---|
| raw LMDB, 1 writer, one put per commit | $lm | 1.00 |
| repo.commit, 1 client | $c1 | $(ratio "$c1" "$lm") of LMDB |
| repo.commit, 32 clients | $c32 | $(ratio "$c32" "$lm") of LMDB, $(ratio "$c32" "$c1")x 1 client |
| raw nng echo (no disk, no work), 1 client, round trips/s | $e1 | |
| raw nng echo, 32 clients: the transport's ceiling | $e32 | $(ratio "$e32" "$e1")x 1 client, $(ratio "$e32" "$c1")x 1-client commits |
| 32 clients: commits per fdatasync (group commit) | $per_fsync | |
| 32 clients: CPU of kconfigd's loop thread per commit (us) | $main_us | |

(N=$N gets x $ROUNDS rounds; runs: lmdb $(paste -sd, "$W/lmdb"); 1 client $(paste -sd, "$W/c1"); 32 clients $(paste -sd, "$W/c32"); echo 1 $(paste -sd, "$W/e1"); echo 32 $(paste -sd, "$W/e32"))
TABLE

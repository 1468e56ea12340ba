#!/usr/bin/env bash
# bench/startd/run.sh BIN_DIR [N]: kstartd at scale, under kinit (subreaper),
# next to s6-svscan and runsvdir bringing up the same N supervised processes,
# all in one run.
#
#   1. floor: a C posix_spawn loop starting the same N processes
#      (`sh -c "sleep 100000; : MARK"`, each in its own session), until all
#      are spawned (bench_floor spawn);
#   2. SystemK (1 and 2 alternate REPEAT times; medians): N services with a random dependency DAG (each depends on up
#      to 3 of the services before it, require_all), delay 0: time from
#      kinit's start (which imports the manifests) to `kctl wait default`,
#      and the states persisted in kconfigd (state.list) checked;
#   3. memory: PSS of kinit + kconfigd + kstartd (/proc/PID/smaps_rollup),
#      2 s after `default`;
#   4. restart latency after kill -9 (delay_ms 0): R kills, from the kill
#      to the new process seen in /proc (bench_floor probe, which yields the
#      CPU while it polls), next to the kernel's own kill-reap-respawn loop
#      (bench_floor restart);
#   5. s6-svscan and runsvdir, each with N service directories running the
#      same command: time from the scanner's start until N processes run
#      (bench_floor count, polling /proc every 20 ms), PSS of the scanner and
#      its supervisors, restart latency over RP kills.
# Prints one JSON object.  Everything it starts runs in its own temp dir and
# is killed by pid (its process tree and their process groups) at exit.
set -euo pipefail
BIN=$(cd "${1:?usage: run.sh BIN_DIR [N]}" && pwd)
N=${2:-1000}
R=${R:-20}   # restarts measured under SystemK
RP=${RP:-5}  # under each peer (s6 throttles restarts to one a second)
REPEAT=${REPEAT:-3} # boots of SystemK, each next to a run of the floor
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
"$top/scripts/deps.sh" s6 runit >/dev/null
# Run-time files (sockets, logs, the peers' service and supervise dirs) on
# tmpfs, as /run and a container's log dir are; the repository (fsynced)
# on disk.  Not all in /tmp: on this machine's journal-less ext4 a create
# scans the inodes freed in the last minute, and each run's cleanup frees
# thousands, which made the next run's 1000 log-file creates cost 100-300
# ms (the floor creates no file).
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=/tmp
S=
T=$(mktemp -d "$shm/systemk-bench.XXXXXX")
S=$(mktemp -d /tmp/systemk-bench-state.XXXXXX)
M=systemk-bench-$$
export SYSTEMK_RUN_DIR=$T/run SYSTEMK_STATE_DIR=$S/state
export SYSTEMK_LOG_DIR=$T/log SYSTEMK_MANIFEST_DIR=$T/manifests
mkdir -p "$SYSTEMK_MANIFEST_DIR"
KINIT= SCAN= RDIR=
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# All descendants of a pid, itself included (supervisors first).
tree_of() {
    local p=$1 c; echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_of "$c"; done
}
kill_tree() { # PID: it and every descendant, with their process groups
    local p seen= now
    # Frozen first, walked until no new process appears (a supervisor
    # between the walk and its kill could spawn one outside the list),
    # then killed.
    now=$(tree_of "$1")
    while [ "$now" != "$seen" ]; do
        seen=$now
        for p in $seen; do kill -STOP "$p" 2>/dev/null || true; done
        now=$(tree_of "$1")
    done
    for p in $seen; do
        kill -KILL -- "-$p" 2>/dev/null || true
        kill -KILL "$p" 2>/dev/null || true
    done
}
cleanup() {
    local r
    for r in $KINIT $SCAN $RDIR; do kill_tree "$r"; done
    wait 2>/dev/null || true
    rm -rf "$T" ${S:+"$S"}
}
trap cleanup EXIT
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
pss_sum() { local s=0 p; for p in "$@"; do s=$((s + $(pss "$p"))); done; echo "$s"; }
# The supervisors under a scanner: its children.
children() { cat "/proc/$1/task/$1/children" 2>/dev/null || true; }

restart_floor=$("$BIN/bench_floor" restart 200 | awk '{print $5}')

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
    printf '{"service": "b%d", "start": {"exec": ["/bin/sh", "-c", "sleep 100000; : %s sk"]}, "restart": {"delay_ms": 0}, "instances": {"default": {"enabled": true}}%s}\n' \
        "$i" "$M" "$dj" >"$SYSTEMK_MANIFEST_DIR/b$i.json"
done
# 1. and 2., REPEAT times, interleaved: the floor (a posix_spawn loop of
# the same N processes; bench_floor kills the process groups it started),
# then a boot from an empty repository: kinit's start (it imports the
# manifests) to `kctl wait default` returning (which retries until kstartd
# listens, no other process polling beside it).  Medians are reported.
boot() { # sets KINIT and UP (ms)
    local t0
    rm -rf "$SYSTEMK_RUN_DIR" "$SYSTEMK_STATE_DIR" "$SYSTEMK_LOG_DIR"
    t0=$(now_ms)
    "$BIN/kinit" 2>"$T/kinit.console" &
    KINIT=$!
    "$BIN/kctl" wait default --timeout 600 >/dev/null
    UP=$(($(now_ms) - t0))
}
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
floors=() ups=()
for r in $(seq "$REPEAT"); do
    floors+=("$("$BIN/bench_floor" spawn "$N" /bin/sh -c "sleep 100000; : $M base" | awk '{print $4}')")
    boot
    ups+=("$UP")
    if [ "$r" -lt "$REPEAT" ]; then
        kill -TERM "$KINIT"; wait "$KINIT" 2>/dev/null || true; KINIT=
    fi
done
base_ms=$(median "${floors[@]}")
up_ms=$(median "${ups[@]}")
[ "$("$BIN/kctl" list --json | jq '[.[] | select(.state == "online")] | length')" = "$N" ] || {
    echo "not all online" >&2; exit 1; }
# The states are in kconfigd's volatile namespace (written in batches).
persisted=0
for _ in $(seq 100); do
    persisted=$("$BIN/ksock" call "$SYSTEMK_RUN_DIR/configd.sock" state.list '{}' 2>/dev/null |
        jq '[.states // {} | to_entries[] | select(.value.state == "online")] | length' 2>/dev/null || echo 0)
    [ "$persisted" = "$N" ] && break
    sleep 0.05
done

# 3. memory, in the steady state: 2 s after `default` (the daemons give
#    freed heap pages back once idle).
sleep 2
spid=$("$BIN/kctl" startd status --json | jq -r .pid)
cpid=
for c in $(children "$KINIT"); do
    case "$(cat /proc/$c/comm)" in kconfigd) cpid=$c ;; esac
done
pss_kinit=$(pss "$KINIT"); pss_startd=$(pss "$spid"); pss_configd=$(pss "$cpid")
rss_startd=$(awk '/^VmRSS:/ {print $2}' "/proc/$spid/status")

# 4. restart latency after kill -9: kill to the new process.
read -r p50 p99 pmax < <("$BIN/bench_floor" probe "$R" "$spid" | awk '{print $5, $8, $11}')
cpu=$(awk '{print $14 + $15}' "/proc/$spid/stat")
# kinit stops every service (and kills what is left at its deadline).
kill -TERM "$KINIT"; wait "$KINIT" 2>/dev/null || true; KINIT=

# 5. the peers, one after the other, the same command under each.
peer_dirs() { # DIR LABEL
    for i in $(seq 1 "$N"); do
        mkdir -p "$1/p$i"
        printf '#!/bin/sh\nexec /bin/sh -c "sleep 100000; : %s %s"\n' "$M" "$2" >"$1/p$i/run"
        chmod +x "$1/p$i/run"
    done
}
peer() { # LABEL SCANNER_PID T0: prints up_ms pss_kib p50_us
    local label=$1 scan=$2 t0=$3 done_ms sups
    done_ms=$("$BIN/bench_floor" count "$M $label" "$N" 300000 | awk '{print $4}')
    [ "$done_ms" != 0 ] || { echo "$label: not up in 300 s" >&2; exit 1; }
    sups=$(children "$scan")
    echo "$((done_ms - t0)) $(pss_sum "$scan" $sups)" \
        "$("$BIN/bench_floor" probe "$RP" $sups | awk '{print $5}')"
}
peer_dirs "$T/s6" s6
t0=$(now_ms)
s6-svscan -c $((N * 2 + 10)) "$T/s6" >/dev/null 2>&1 &
SCAN=$!
read -r s6_up s6_pss s6_p50 < <(peer s6 "$SCAN" "$t0")
kill_tree "$SCAN"; wait "$SCAN" 2>/dev/null || true; SCAN=

peer_dirs "$T/runit" runit
t0=$(now_ms)
runsvdir -P "$T/runit" >/dev/null 2>&1 &
RDIR=$!
read -r rs_up rs_pss rs_p50 < <(peer runit "$RDIR" "$t0")

r2() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b <= 0) print "null"; else printf "%.2f", a / b }'; }
jq -n --argjson n "$N" --argjson base "$base_ms" --argjson up "$up_ms" \
    --arg floors "${floors[*]}" --arg ups "${ups[*]}" \
    --argjson persisted "$persisted" \
    --argjson pk "$pss_kinit" --argjson ps "$pss_startd" --argjson pc "$pss_configd" \
    --argjson rss "$rss_startd" --argjson cpu "$cpu" \
    --argjson p50 "$p50" --argjson p99 "$p99" --argjson pmax "$pmax" \
    --argjson rfloor "$restart_floor" \
    --argjson s6up "$s6_up" --argjson s6pss "$s6_pss" --argjson s6p50 "${s6_p50:-null}" \
    --argjson rsup "$rs_up" --argjson rspss "$rs_pss" --argjson rsp50 "${rs_p50:-null}" \
    --argjson r_sk "$(r2 "$up_ms" "$base_ms")" --argjson r_s6 "$(r2 "$s6_up" "$base_ms")" \
    --argjson r_rs "$(r2 "$rs_up" "$base_ms")" \
    '{services: $n, spawn_floor_ms: $base,
      bring_up_ms: {systemk: $up, s6: $s6up, runit: $rsup},
      runs_ms: {floor: $floors, systemk: $ups},
      ratio_to_floor: {systemk: $r_sk, s6: $r_s6, runit: $r_rs},
      systemk_states_persisted: $persisted,
      pss_kib: {kinit: $pk, kstartd: $ps, kconfigd: $pc,
                s6_svscan_and_supervisors: $s6pss, runsvdir_and_runsv: $rspss},
      pss_per_service_kib: {systemk: ((($pk + $ps + $pc) / $n) * 100 | round / 100),
                            s6: (($s6pss / $n) * 100 | round / 100),
                            runit: (($rspss / $n) * 100 | round / 100)},
      kstartd_rss_kib: $rss, kstartd_cpu_ticks: $cpu,
      restart_us: {systemk_p50: $p50, systemk_p99: $p99, systemk_max: $pmax,
                   s6_p50: $s6p50, runit_p50: $rsp50, floor_p50: $rfloor,
                   note: "kill -9 to the new process seen in /proc"}}'

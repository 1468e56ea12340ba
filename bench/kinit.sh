#!/usr/bin/env bash
# bench/kinit.sh [BIN_DIR] [N]: kinit next to tini and dumb-init (private
# memory, binary size) and SIGTERM-to-exit with N services next to s6-svscan
# and a bare signal-and-reap loop, all in one run.  Prints a markdown table.
. "$(dirname "$0")/lib.sh" "${1:-}"
N=${2:-1000}

# --- memory and size: each init as PID 1 of a namespace running sleep -------
mem_of() { # NAME CMD...
    local name=$1; shift
    unshare --pid --fork --mount-proc --kill-child "$@" 2>/dev/null &
    local u=$!; PIDS+=("$u")
    local init; init=$(child_of "$u")
    sleep 1.5
    echo "$name $(private_kb "$init") $(pss_kb "$init")"
    kill -KILL "$u" 2>/dev/null || true; wait "$u" 2>/dev/null || true
}
export SYSTEMK_RUN_DIR=$W/run SYSTEMK_STATE_DIR=$W/state SYSTEMK_LOG_DIR=$W/log
export SYSTEMK_MANIFEST_DIR=$W/empty
mkdir -p "$SYSTEMK_MANIFEST_DIR"
read -r _ k_priv k_pss < <(mem_of kinit "$BIN/kinit" -- /bin/sleep 1000)
read -r _ t_priv t_pss < <(mem_of tini /usr/bin/tini -- /bin/sleep 1000)
read -r _ d_priv d_pss < <(mem_of dumb-init /usr/bin/dumb-init /bin/sleep 1000)
# Stripped, as a package would ship it (the build carries debug info).
strip -o "$W/kinit.stripped" "$BIN/kinit"
k_size=$(stat -c %s "$W/kinit.stripped"); t_size=$(stat -c %s /usr/bin/tini)
d_size=$(stat -c %s /usr/bin/dumb-init)

# --- SIGTERM to exit with N services ---------------------------------------
# REPEAT boots (default 3); SIGTERM-to-exit and the floor are medians over
# them, interleaved, so that the machine's noise hits both alike.  Memory is
# taken in the first run, 2 s after all are online (steady state: the
# daemons give freed heap pages back once idle).
make_manifests "$W/m" "$N"
export SYSTEMK_MANIFEST_DIR=$W/m
online() { "$BIN/kctl" list --json 2>/dev/null | jq '[.[] | select(.state == "online")] | length' 2>/dev/null || true; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
downs=() floors=()
for run in $(seq 1 "${REPEAT:-3}"); do
    rm -rf "$W/run" "$W/state" "$W/log"
    t0=$(now_ms)
    unshare --pid --fork --mount-proc --kill-child "$BIN/kinit" 2>"$W/kinit.console" &
    u=$!; PIDS+=("$u")
    until [ "$(online)" -ge "$N" ] 2>/dev/null; do
        sleep 0.2
        [ $(( $(now_ms) - t0 )) -lt 300000 ] || { echo "kinit: services not online in 300 s" >&2; exit 1; }
    done
    kinit_pid=$(child_of "$u")
    if [ "$run" = 1 ]; then
        k_boot=$(( $(now_ms) - t0 ))
        sleep 2
        k_tree_pss=$(tree_pss_kb "$kinit_pid")
        k_sys_pss=0
        for p in "$kinit_pid" $(cat /proc/"$kinit_pid"/task/*/children); do
            case $(cat "/proc/$p/comm") in kinit|kconfigd|kstartd)
                k_sys_pss=$((k_sys_pss + $(pss_kb "$p"))) ;;
            esac
        done
    else
        sleep 1
    fi
    t0=$(now_ms); kill -TERM "$kinit_pid"; wait "$u" || true
    downs+=($(( $(now_ms) - t0 )))
    floors+=($("$BIN/bench_floor" teardown "$N" | awk '{print $4}'))
done
k_down=$(median "${downs[@]}")
floor=$(median "${floors[@]}")

# s6-svscan with N supervised sleepers.
scan=$W/s6; mkdir -p "$scan"
for i in $(seq 1 "$N"); do
    mkdir -p "$scan/s$i"; printf '#!/bin/sh\nexec /bin/sleep 100000\n' >"$scan/s$i/run"
    chmod +x "$scan/s$i/run"
done
t0=$(now_ms)
unshare --pid --fork --mount-proc --kill-child s6-svscan -c $((N * 2)) "$scan" &
u=$!; PIDS+=("$u"); svscan=$(child_of "$u")
until [ "$(tree_of "$svscan" | xargs -I{} cat /proc/{}/comm 2>/dev/null | grep -c '^sleep$' || true)" -ge "$N" ]; do
    sleep 0.2
    [ $(( $(now_ms) - t0 )) -lt 300000 ] || { echo "s6: not up in 300 s" >&2; break; }
done
s_boot=$(( $(now_ms) - t0 ))
t0=$(now_ms); kill -TERM "$svscan"; wait "$u" || true; s_down=$(( $(now_ms) - t0 ))

cat <<TABLE
| measure | kinit | tini | dumb-init | ratio kinit/tini |
|---|---|---|---|---|
| private memory of the init process (kB) | $k_priv | $t_priv | $d_priv | $(ratio "$k_priv" "$t_priv") |
| PSS of the init process (kB) | $k_pss | $t_pss | $d_pss | $(ratio "$k_pss" "$t_pss") |
| binary size (bytes) | $k_size | $t_size | $d_size | $(ratio "$k_size" "$t_size") |

| $N services | kinit (+kconfigd, kstartd) | s6-svscan | bare loop (floor) | kinit/floor | s6/floor |
|---|---|---|---|---|---|
| boot until all online (ms) | $k_boot | $s_boot | n/a | | |
| SIGTERM to exit (ms; kinit, floor: median of ${REPEAT:-3}: ${downs[*]} / ${floors[*]}) | $k_down | $s_down | $floor | $(ratio "$k_down" "$floor") | $(ratio "$s_down" "$floor") |
| PSS of the whole tree, services included (kB) | $k_tree_pss | | | | |
| PSS of kinit + kconfigd + kstartd (kB) | $k_sys_pss | | | | |
| ... per service (kB) | $(awk -v a="$k_sys_pss" -v n="$N" 'BEGIN{printf "%.1f", a/n}') | | | | |
TABLE

#!/usr/bin/env bash
# kconfigd's promise: its death never loses an acknowledged transaction.
# 16 writers commit numbered transactions (each sets two properties in one
# repo.commit) while kconfigd is SIGKILLed at random moments 20 times and
# restarted by a supervising loop (as kinit would).  Afterwards every
# acknowledged transaction is present, none is half-applied, and
# `kctl repo check` is clean.
. "$(dirname "$0")/lib.sh" "$1"
WRITERS=16 KILLS=20

echo '{"service": "crash", "start": {"exec": ["/bin/true"]},
       "properties": {"app": {"seed": {"type": "integer", "value": 0}}}}' >"$T/crash.json"

# The supervisor's kconfigd is a grandchild: stop and kill it on any exit.
trap 'rc=$?; touch "$T/stop" "$T/stop-writers"
      kill -KILL "$(cat "$T/configd.pid" 2>/dev/null)" 2>/dev/null || true; set +e; (exit $rc); cleanup' EXIT

# The supervisor: restart kconfigd whenever it dies, until $T/stop exists.
(
    while [ ! -e "$T/stop" ]; do
        "$BIN/kconfigd" 2>>"$T/configd.console" &
        echo $! >"$T/configd.pid"
        wait $! || true
    done
) &
SUPER=$!; track "$SUPER"
wait_until 10 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/configd.sock" || fail "kconfigd did not start"
"$BIN/kctl" import "$T/crash.json" >/dev/null || fail "import"

# writer W: transaction N sets app/wW_a = app/wW_b = N; N is acknowledged
# (appended to acked.W) only when the reply says ok.  Until acknowledged, N
# is retried (idempotent: the same values again).
writer() {
    local w=$1 n=1
    while [ ! -e "$T/stop-writers" ]; do
        ops="[{\"op\":\"set\",\"pg\":\"app\",\"prop\":\"w${w}_a\",\"type\":\"integer\",\"values\":[$n]},
              {\"op\":\"set\",\"pg\":\"app\",\"prop\":\"w${w}_b\",\"type\":\"integer\",\"values\":[$n]}]"
        if timeout 10 "$BIN/ksock" call "$SYSTEMK_RUN_DIR/configd.sock" repo.commit \
               "{\"fmri\":\"crash\",\"ops\":$ops}" 2>/dev/null | grep -q '"generation"'; then
            echo "$n" >>"$T/acked.$w"
            n=$((n + 1))
        else
            sleep 0.02
        fi
    done
}
for w in $(seq 1 $WRITERS); do writer "$w" & track $!; done

for i in $(seq 1 $KILLS); do
    sleep "0.$(( RANDOM % 4 + 1 ))$(( RANDOM % 10 ))"
    kill -KILL "$(cat "$T/configd.pid")" 2>/dev/null || true
    # Wait for the next one to answer before the next kill.
    wait_until 10 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/configd.sock" || fail "no restart after kill $i"
done
sleep 0.5
touch "$T/stop-writers"
for p in "${TRACKED[@]:1}"; do wait "$p" 2>/dev/null || true; done
ok "$KILLS kills under $WRITERS writers"

"$BIN/kctl" --json get crash/app >"$T/final.json" || fail "get after the kills"
total=0
for w in $(seq 1 $WRITERS); do
    [ -s "$T/acked.$w" ] || fail "writer $w got no transaction acknowledged"
    last=$(tail -n 1 "$T/acked.$w")
    total=$((total + $(wc -l <"$T/acked.$w")))
    a=$(jq -r ".property_groups.app.w${w}_a.values[0]" "$T/final.json")
    b=$(jq -r ".property_groups.app.w${w}_b.values[0]" "$T/final.json")
    [ "$a" = "$b" ] || fail "writer $w half-applied: a=$a b=$b"
    [ "$a" -ge "$last" ] || fail "writer $w: acknowledged $last, repository has $a"
done
ok "all $total acknowledged transactions present, none half-applied"
"$BIN/kctl" repo check >"$T/check" || fail "repo check: $(cat "$T/check")"
ok "repo check: $(cat "$T/check")"
touch "$T/stop"
kill -KILL "$(cat "$T/configd.pid")" 2>/dev/null || true
wait "$SUPER" 2>/dev/null || true

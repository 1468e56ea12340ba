#!/usr/bin/env bash
# kconfigd's promise: its death never loses an acknowledged transaction.
# kinit runs the real stack (as a child subreaper) and supervises kconfigd.
# 16 writers commit numbered transactions (each sets two properties in one
# repo.commit) while kconfigd is SIGKILLed at random moments 20 times; kinit
# restarts it every time.  4 more commit one set each: the commits kconfigd
# defers into a dirty group and puts once per batch (repo.c), so that the
# kills also meet that path.  Afterwards every acknowledged transaction is
# present, none is half-applied, none is invented, and `kctl repo check` is
# clean.
#
# The moments: most kills come a random 0-1.6 s after kconfigd answered
# (odd ones past kinit's 1 s "stable" time, after which its backoff
# starts over, even ones before it, so that the backoff grows); every fifth
# comes as soon as the new kconfigd exists, before it is ready (mid-open,
# mid-recovery).  The backoff stays far below its 30 s cap, so the test is
# bounded; every wait is bounded too.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
WRITERS=16 SINGLES=4 KILLS=20
# The ASan+UBSan suite (SYSTEMK_TEST_QUICK, scripts/test.sh) kills 8 times.
[ -z "${SYSTEMK_TEST_QUICK:-}" ] || KILLS=8
SOCK=$SYSTEMK_RUN_DIR/configd.sock

cat >"$SYSTEMK_MANIFEST_DIR/crash.json" <<'EOF'
{"service": "crash", "start": {"exec": ["/bin/true"]},
 "instances": {"default": {"enabled": false}},
 "properties": {"app": {"seed": {"type": "integer", "value": 0}}}}
EOF

CONSOLE=$T/kinit.console
timeout 240 "$BIN/kinit" 2>"$CONSOLE" &
TO=$!; track "$TO"
wait_until 10 has_depth "$TO" 1 || fail "kinit did not start"
KP=$(children_of "$TO" | tr -d ' '); track "$KP"
# is_ready PID: kinit has seen kconfigd PID's readiness.
is_ready() { grep -q "kconfigd is ready (pid $1)" "$CONSOLE"; }
wait_until 20 grep -q "kconfigd is ready" "$CONSOLE" || fail "kconfigd never became ready under kinit"
wait_until 20 "$BIN/kctl" get crash/app/seed || fail "boot import of crash.json"

# The writers (lib.sh: commit_writer): 16 of pairs, 4 of single sets.
TEST_PID=$$ WRITERS_END=$((SECONDS + 280))
for w in $(seq 1 $WRITERS) $(seq -f 's%g' 1 $SINGLES); do commit_writer "$w" crash & track $!; done

pids=()
new_configd() { local p; p=$(daemon_pid kconfigd); [ -n "$p" ] && [ "$p" != "$1" ] && echo "$p"; }
cp=$(daemon_pid kconfigd)
[ -n "$cp" ] || fail "no kconfigd under kinit"
for i in $(seq 1 $KILLS); do
    if [ $((i % 5)) -ne 0 ]; then
        wait_until 40 is_ready "$cp" || fail "kconfigd $cp not ready before kill $i"
        # Odd kills past kinit's 1 s stable time (the backoff starts
        # over), even ones before it (it grows): random moments, bounded
        # backoff (left to chance, ten short runs in a row once reached
        # the 30 s cap and the test's time ran out).
        if [ $((i % 2)) -eq 1 ]; then
            sleep "1.$((RANDOM % 5 + 1))$((RANDOM % 10))"
        else
            sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
        fi
    fi
    kill -KILL "$cp" 2>/dev/null || true
    pids+=("$cp")
    wait_until 40 new_configd "$cp" || fail "kinit did not restart kconfigd after kill $i"
    cp=$(new_configd "$cp")
done
wait_until 40 "$BIN/ksock" hello "$SOCK" || fail "kconfigd not back after the last kill"
kill -0 "$KP" || fail "kinit died"
sleep 0.5
touch "$T/stop-writers"
for p in "${TRACKED[@]:2}"; do wait "$p" 2>/dev/null || true; done
[ "$(printf '%s\n' "${pids[@]}" "$cp" | sort -u | wc -l)" -eq $((KILLS + 1)) ] ||
    fail "expected $((KILLS + 1)) distinct kconfigd pids"
[ "$(grep -c 'restarting kconfigd in' "$CONSOLE")" -ge "$KILLS" ] ||
    fail "kinit logged fewer than $KILLS restarts of kconfigd"
ok "$KILLS kills of kconfigd under $WRITERS + $SINGLES writers, each restarted by kinit"

"$BIN/kctl" --json get crash >"$T/final.json" || fail "get after the kills"
total=$(check_acked "$T/final.json" $(seq 1 $WRITERS) $(seq -f 's%g' 1 $SINGLES))
ok "all $total acknowledged transactions present, none half-applied"
"$BIN/kctl" repo check >"$T/check" || fail "repo check: $(cat "$T/check")"
ok "repo check: $(cat "$T/check")"

kill -TERM "$KP"
wait_until 30 gone "$TO" || fail "kinit did not stop on SIGTERM"

#!/usr/bin/env bash
# Group commit's fallback, end to end: a request that fails after it wrote
# (an import whose dependency cycle is found at the end) must take nobody
# else's transaction down with it.  kconfigd then drops the batch and runs
# the same requests again, one nested transaction each (repo.h: Group
# commit), and logs that it did.
#
# 16 writers commit numbered pairs of sets (as in configd_crash) while cycle
# imports arrive among them, until kconfigd has logged at least 3 such
# reruns.  Afterwards: every cycle import was refused with the cycle named,
# none left anything behind, no writer's commit failed, every acknowledged
# pair is present and whole, and `kctl repo check` is clean.
. "$(dirname "$0")/lib.sh" "$1"
WRITERS=16 WANT_RERUNS=3 MAX_IMPORTS=200

cat >"$T/a.json" <<'EOF'
{"service": "a", "start": {"exec": ["/bin/true"]},
 "dependencies": [{"name": "b", "grouping": "require_all", "services": ["b"]}],
 "properties": {"app": {"seed": {"type": "integer", "value": 0}}}}
EOF
cat >"$T/b.json" <<'EOF'
{"service": "b", "start": {"exec": ["/bin/true"]},
 "dependencies": [{"name": "a", "grouping": "require_all", "services": ["a"]}]}
EOF
start_configd
"$BIN/kctl" import "$T/a.json" >/dev/null || fail "import a.json"

TEST_PID=$$ WRITERS_END=$((SECONDS + 200))
for w in $(seq 1 $WRITERS); do commit_writer "$w" a & track $!; done

# Reruns of batches the import shared with other requests (one alone is
# rerun too, but proves nothing here).
reruns() { grep -cE "running a batch of ([2-9]|[1-9][0-9]+) again, one request at a time: 'repo.import' failed after writing" \
    "$T/configd.console" || true; }
imports=0
while [ "$(reruns)" -lt "$WANT_RERUNS" ] && [ "$imports" -lt "$MAX_IMPORTS" ]; do
    rc=0
    timeout 20 "$BIN/kctl" import "$T/b.json" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -ne 0 ] || fail "a cycle import was accepted"
    grep -q "dependency cycle" "$T/err" || fail "cycle import: $(cat "$T/err")"
    imports=$((imports + 1))
done
touch "$T/stop-writers"
for p in "${TRACKED[@]:1}"; do wait "$p" 2>/dev/null || true; done
[ "$(reruns)" -ge "$WANT_RERUNS" ] ||
    fail "only $(reruns) batch reruns in $imports cycle imports among $WRITERS writers"
ok "$imports cycle imports refused, $(reruns) of them in a batch with others, run again one by one"

rc=0; "$BIN/kctl" get b >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 3 ] || fail "a refused import left service b behind (kctl get b: $rc)"
"$BIN/kctl" --json get a >"$T/final.json" || fail "get a"
total=$(check_acked "$T/final.json" $(seq 1 $WRITERS))
ok "all $total acknowledged transactions present and whole"
# Nothing else failed with the imports: a writer's set has nothing to fail.
failed=$({ cat "$T"/failed.* 2>/dev/null || true; } | wc -l)
[ "$failed" -eq 0 ] || fail "$failed writer commits failed beside the cycle imports: $(cat "$T"/failed.* | head -n 3)"
ok "no writer commit failed beside them"
"$BIN/kctl" repo check >"$T/check" || fail "repo check: $(cat "$T/check")"
ok "repo check: $(cat "$T/check")"

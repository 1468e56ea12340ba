#!/usr/bin/env bash
# The repository's editing verbs against a real kconfigd (no kstartd):
# typed multi-valued set (type inferred, bad value exit 10), edits invisible
# to the running snapshot until refresh, delprop/delcust, snapshots and
# revert, per-group generations (conflict), events on events.sock, backup,
# check, and secrets in export.
. "$(dirname "$0")/lib.sh" "$1"

k() { timeout 20 "$BIN/kctl" --timeout 5 "$@" 2>"$T/err"; }
expect_rc() {
    local want=$1 rc=0; shift
    "$@" >"$T/out" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err" >&2; fail "'$*' exited $rc, want $want"; }
}
out_is() { [ "$(cat "$T/out")" = "$1" ] || fail "$2: got '$(cat "$T/out")', want '$1'"; }
call() { timeout 20 "$BIN/ksock" call "$SYSTEMK_RUN_DIR/configd.sock" "$@"; }

cat >"$T/web.json" <<'JSON'
{ "service": "web", "start": { "exec": ["/bin/sleep", "100"] },
  "properties": { "app": {
      "port": { "type": "integer", "value": 8080 },
      "name": { "type": "string", "value": "w" },
      "key":  { "type": "string", "value": "s3cr3t-v4lue", "secret": true } } } }
JSON
start_configd
expect_rc 0 k import "$T/web.json"

# --- set: typed, inferred, multi-valued, invalid -> 10 -------------------------
expect_rc 0 k set web app/port 9090
expect_rc 0 k get web/app/port; out_is 9090 "set with inferred type"
expect_rc 0 k --json get web/app/port
jq -e '.property_groups.app.port == {"type": "integer", "values": [9090]}' "$T/out" \
    >/dev/null || fail "port is not an integer: $(cat "$T/out")"
expect_rc 10 k set web app/port not-a-number
expect_rc 10 k set web app/fresh 5          # new property, no type
expect_rc 10 k set web restart/policy sometimes   # framework property checked
expect_rc 0 k set web app/counts count 1 2 3
expect_rc 0 k get web/app/counts; out_is "1 2 3" "multi-valued count"
expect_rc 0 k set web app/flag boolean true
expect_rc 0 k set web app/big integer -9223372036854775808
expect_rc 0 k get web/app/big; out_is "-9223372036854775808" "int64 exact"
expect_rc 0 k set svc:/web app/level string service-wide
expect_rc 0 k get web/app/level; out_is "service-wide" "service level inherited"
expect_rc 3 k set nosuch app/x string y
ok "set: typed, inferred, multi-valued; bad values exit 10"

# --- running snapshot changes only on refresh ----------------------------------
expect_rc 0 k get web/app/port --running; out_is 8080 "running before refresh"
# kstartd is not running here: kctl refresh still refreshes the repository.
expect_rc 0 k refresh web
grep -q "kstartd is not running" "$T/err" || fail "refresh without kstartd: no warning"
expect_rc 0 k get web/app/port --running; out_is 9090 "running after refresh"
ok "edits invisible to the running snapshot until refresh (kctl refresh, kstartd down)"

# --- delprop, delcust --------------------------------------------------------------
expect_rc 0 k delprop web app/name
expect_rc 3 k get web/app/name
expect_rc 3 k delprop web app/name
expect_rc 0 k delcust web app/name
expect_rc 0 k get web/app/name; out_is w "delcust brings the manifest value back"
expect_rc 0 k delprop web app
expect_rc 3 k get web/app
expect_rc 0 k delcust web app
expect_rc 0 k get web/app/port; out_is 8080 "delcust of a group"
ok "delprop masks, delcust restores the manifest layer"

# --- snapshots and revert ----------------------------------------------------------
expect_rc 0 k set web app/port 7070
expect_rc 0 k snapshot take web before
expect_rc 0 k snapshot list web
for s in initial last-import running previous before; do
    grep -qx "$s" "$T/out" || fail "snapshot list lacks $s: $(cat "$T/out")"
done
expect_rc 10 k snapshot take web running
expect_rc 0 k set web app/port 1
expect_rc 0 k set web app/extra string x
expect_rc 0 k revert web before
expect_rc 0 k get web/app/port; out_is 7070 "revert"
expect_rc 3 k get web/app/extra
expect_rc 0 k get web/app/port --running; out_is 9090 "revert does not refresh"
# A revert is a set of customisations like any other: delcust of one
# property brings back the value below it, the manifest's.
expect_rc 0 k delcust web app/port
expect_rc 0 k get web/app/port; out_is 8080 "delcust of one property after revert"
expect_rc 0 k get web/app/name; out_is w "the rest of the group after delcust"
expect_rc 3 k revert web nosuch
call repo.snapshot_take '{"fmri": "web", "name": "start"}' >/dev/null || fail "start snapshot"
expect_rc 0 k snapshot list web; grep -qx start "$T/out" || fail "no start snapshot"
ok "snapshot take/list, revert (no refresh), start snapshot"

# --- generations: optimistic concurrency ---------------------------------------------
expect_rc 0 k --json get web
g=$(jq -r '.generations.app' "$T/out")
op='[{"op": "set", "pg": "app", "prop": "port", "values": ["6060"]},
     {"op": "set", "pg": "app2", "prop": "p", "type": "string", "values": ["x"]}]'
call repo.commit "{\"fmri\": \"web\", \"ops\": $op, \"generations\": {\"app\": $g}}" \
    >"$T/out" || fail "commit at the read generation: $(cat "$T/out")"
call repo.commit "{\"fmri\": \"web\", \"ops\": $op, \"generations\": {\"app\": $g}}" \
    >"$T/out" && fail "commit at a moved generation succeeded"
grep -q "error conflict" "$T/out" || fail "no conflict: $(cat "$T/out")"
# all or nothing: a bad second op leaves the first undone
bad='[{"op": "set", "pg": "app", "prop": "port", "values": ["5050"]},
      {"op": "set", "pg": "app", "prop": "flag", "values": ["maybe"]}]'
call repo.commit "{\"fmri\": \"web\", \"ops\": $bad}" >"$T/out" && fail "bad commit succeeded"
expect_rc 0 k get web/app/port; out_is 6060 "a failed transaction changed something"
ok "multi-group commit, conflict on a moved generation, all or nothing"

# --- events -----------------------------------------------------------------------------
"$BIN/ksock" sub "$SYSTEMK_RUN_DIR/events.sock" 1 10000 >"$T/events" 2>"$T/sub.err" &
SUB=$!; track "$SUB"
wait_until 10 grep -q subscribed "$T/sub.err" || fail "no subscriber"
# PUB drops messages sent before the pipe is up: write until one arrives.
for i in $(seq 1 50); do
    k set web app/key string "s3cr3t-v4lue" >/dev/null 2>&1 || true
    kill -0 "$SUB" 2>/dev/null || break
    sleep 0.1
done
wait "$SUB" || fail "no event arrived"
jq -e '.event == "repo.changed" and .fmri == "svc:/web" and (.generation | type) == "number"' \
    "$T/events" >/dev/null || fail "event: $(cat "$T/events")"
grep -q s3cr3t "$T/events" && fail "a secret in an event"
ok "repo.changed events with generations, no secrets"

# --- export and secrets -----------------------------------------------------------------
expect_rc 0 k export
grep -q s3cr3t "$T/out" && fail "export carries a secret"
expect_rc 0 k export --include-secrets
grep -q s3cr3t "$T/out" || fail "export --include-secrets lacks the secret"
ok "export hides secrets unless --include-secrets"

# --- backup and check -------------------------------------------------------------------
for i in 1 2 3 4 5 6 7; do expect_rc 0 k repo backup; done
n=$(ls "$SYSTEMK_STATE_DIR/backups" | grep -c '^repo-.*\.mdb$')
[ "$n" -eq 5 ] || fail "$n backups kept, want 5"
expect_rc 0 k repo check
grep -q '^clean' "$T/out" || fail "check: $(cat "$T/out")"
expect_rc 0 k --json repo check
jq -e '.clean == true and .problems == []' "$T/out" >/dev/null || fail "check --json"
ok "repo backup keeps the newest 5; repo check clean"
grep -q s3cr3t "$T/configd.console" && fail "a secret in kconfigd's log"
ok "no secret in the log"

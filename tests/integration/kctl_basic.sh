#!/usr/bin/env bash
# kctl against the real kconfigd and kstartd, started directly (no kinit) in
# a private temp dir: import, list/status/get/export, enable/disable, and the
# exit codes of a bad manifest (10), an unknown service (3) and daemons that
# are gone (5).  Every kctl call is bounded (timeout + --timeout); only the
# pids this script starts are killed (lib.sh).
. "$(dirname "$0")/lib.sh" "$1"

# kctl with bounded waits; stdout to stdout, stderr to $T/err.
k() { timeout 20 "$BIN/kctl" --timeout 5 "$@" 2>"$T/err"; }
# expect_rc WANT CMD...: run CMD, demand exit code WANT.
expect_rc() {
    local want=$1 rc=0; shift
    "$@" >"$T/out" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err" >&2; fail "'$*' exited $rc, want $want"; }
}

mkdir -p "$T/m"
cat >"$T/m/sleeper.json" <<'JSON'
{
  "service": "sleeper",
  "description": "sleeps for kctl_basic",
  "start": { "exec": ["/bin/sleep", "1000"] },
  "instances": { "default": { "enabled": true } }
}
JSON

start_configd
start_startd
expect_rc 0 k hello configd startd
grep -q "k.configd" "$T/out" || fail "hello: $(cat "$T/out")"
ok "hello reaches both daemons"

# --- import, then list --json shows it online --------------------------------
expect_rc 0 k import "$T/m/sleeper.json"
grep -q "imported 1 service: sleeper" "$T/out" || fail "import said: $(cat "$T/out")"
wait_until 10 is_state sleeper online || fail "sleeper not online: $(state_of sleeper)"
track "$(pid_of sleeper)"
expect_rc 0 k list --json
jq -e '.[] | select(.fmri == "svc:/sleeper:default")
       | .service == "sleeper" and .instance == "default" and .state == "online"
         and .next_state == null and (.pid | type) == "number"
         and .description == "sleeps for kctl_basic"
         and (.since | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}"))' "$T/out" \
    >/dev/null || fail "list --json: $(cat "$T/out")"
ok "import; list --json shows svc:/sleeper:default online"
expect_rc 0 k list
grep -Eq '^online .*svc:/sleeper:default' "$T/out" || fail "list: $(cat "$T/out")"
expect_rc 0 k status sleeper --json
jq -e '.fmri == "svc:/sleeper:default" and .state == "online"' "$T/out" >/dev/null \
    || fail "status --json: $(cat "$T/out")"
expect_rc 0 k status svc:/sleeper:default
grep -Eq '^state +online$' "$T/out" || fail "status: $(cat "$T/out")"
ok "list and status, human and --json"

# --- get and export ----------------------------------------------------------------
expect_rc 0 k get sleeper/start/exec
[ "$(cat "$T/out")" = "/bin/sleep 1000" ] || fail "get exec: $(cat "$T/out")"
expect_rc 0 k get sleeper
grep -Eq '^start/exec +' "$T/out" || fail "get: $(cat "$T/out")"
expect_rc 0 k --json get sleeper:default --running
jq -e '.property_groups.start' "$T/out" >/dev/null || fail "get --running --json: $(cat "$T/out")"
expect_rc 0 k export sleeper
jq -e '.service == "sleeper"' "$T/out" >/dev/null || fail "export sleeper: $(cat "$T/out")"
cp "$T/out" "$T/export.json"
expect_rc 0 k export
jq -e '.services | map(.service) | index("sleeper") != null' "$T/out" >/dev/null \
    || fail "export: $(cat "$T/out")"
expect_rc 0 k import --dry-run "$T/export.json"
ok "get, export, and the export validates again"

# --- bad input: exit 10 naming the file --------------------------------------------
printf '{\n  "service": "broken",\n  oops\n}\n' >"$T/m/broken.json"
expect_rc 10 k import "$T/m/broken.json"
grep -q "broken.json" "$T/err" || fail "parse error does not name the file: $(cat "$T/err")"
grep -q "line 3" "$T/err" || fail "parse error has no position: $(cat "$T/err")"
mkdir -p "$T/bad"
echo '{"service": "badexec", "start": {"exec": 5}}' >"$T/bad/badexec.json"
expect_rc 10 k import "$T/bad"
grep -q "badexec.json" "$T/err" || fail "refusal does not name the file: $(cat "$T/err")"
expect_rc 10 k validate "$T/bad/badexec.json"
expect_rc 0 k list -a --json
jq -e 'map(.service) | index("badexec") == null' "$T/out" >/dev/null \
    || fail "a refused manifest was imported"
ok "bad manifests exit 10 and name the file"

# --- unknown service: exit 3 -------------------------------------------------------
expect_rc 3 k status nosuch
grep -q "kctl: error: unable to .* 'svc:/nosuch:default'" "$T/err" || fail "status nosuch: $(cat "$T/err")"
expect_rc 3 k get nosuch
expect_rc 3 k enable nosuch
ok "unknown services exit 3"

# --- disable, enable ---------------------------------------------------------------
expect_rc 0 k disable sleeper
wait_until 10 is_state sleeper disabled || fail "sleeper not disabled: $(state_of sleeper)"
expect_rc 0 k list --json
jq -e 'map(.fmri) | index("svc:/sleeper:default") == null' "$T/out" >/dev/null \
    || fail "list without -a shows a disabled instance"
expect_rc 0 k list -a --json
jq -e 'map(.fmri) | index("svc:/sleeper:default") != null' "$T/out" >/dev/null \
    || fail "list -a hides a disabled instance"
expect_rc 0 k enable sleeper
wait_until 10 is_state sleeper online || fail "sleeper not online again: $(state_of sleeper)"
track "$(pid_of sleeper)"
ok "disable -> disabled (hidden without -a), enable -> online"

# --- daemons gone: exit 5 ------------------------------------------------------------
expect_rc 0 k disable sleeper
wait_until 10 is_state sleeper disabled || fail "sleeper not disabled before stop"
kill -TERM "$STARTD" "$CONFIGD"
# They are our children: reap them, with a watchdog bounding the wait.
( sleep 10; kill -KILL "$STARTD" "$CONFIGD" 2>/dev/null ) &
WATCHDOG=$!; track "$WATCHDOG"
wait "$STARTD" "$CONFIGD" || true
kill "$WATCHDOG" 2>/dev/null || true
expect_rc 5 k list
grep -q "is kinit running? check SYSTEMK_RUN_DIR" "$T/err" || fail "no hint: $(cat "$T/err")"
expect_rc 5 k --json status sleeper
jq -e '.error.code == "unavailable"' "$T/out" >/dev/null || fail "--json error: $(cat "$T/out")"
expect_rc 5 k import "$T/m/sleeper.json"
expect_rc 5 k startd status
ok "daemons gone: exit 5 with a hint"

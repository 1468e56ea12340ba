#!/usr/bin/env bash
# Permissions by peer uid: as uid 65534 (setpriv) every read works, every
# write is `denied` (exit 4), and no secret value appears in any output.
. "$(dirname "$0")/lib.sh" "$1"
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root for setpriv"; exit 0; }
command -v setpriv >/dev/null || { echo "skip: no setpriv"; exit 0; }
chmod 0755 "$T"

SECRET=pw-0f-n0b0dy-kn0ws
cat >"$T/db.json" <<JSON
{ "service": "db", "start": { "exec": ["/bin/sleep", "100"] },
  "properties": { "app": {
      "port": { "type": "integer", "value": 5432 },
      "password": { "type": "string", "value": "$SECRET", "secret": true } } } }
JSON
chmod 0644 "$T/db.json"
start_configd
"$BIN/kctl" import "$T/db.json" >/dev/null || fail "import as root"
"$BIN/kctl" snapshot take db snap >/dev/null || fail "snapshot as root"

ALL=$T/all-output
: >"$ALL"
# nobody RC ARGS...: kctl as uid 65534, demanding exit code RC.
nobody() {
    local want=$1 rc=0; shift
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        timeout 20 "$BIN/kctl" --timeout 5 "$@" >"$T/out" 2>"$T/err" || rc=$?
    cat "$T/out" "$T/err" >>"$ALL"
    [ "$rc" -eq "$want" ] || { cat "$T/out" "$T/err" >&2; fail "as nobody '$*' exited $rc, want $want"; }
}
nobody_call() {
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        timeout 20 "$BIN/ksock" call "$SYSTEMK_RUN_DIR/configd.sock" "$@" >"$T/out" 2>&1 || true
    cat "$T/out" >>"$ALL"
}

# --- reads work ---------------------------------------------------------------------
nobody 0 get db
grep -q 'app/port' "$T/out" || fail "get as nobody: $(cat "$T/out")"
nobody 0 get db/app/port
nobody 0 --json get db --running
nobody 0 export
nobody 0 export db
nobody 0 snapshot list db
nobody 0 repo check
nobody 0 validate "$T/db.json"
nobody_call repo.running '{}'
grep -q '"instances"' "$T/out" || fail "repo.running as nobody: $(cat "$T/out")"
ok "reads work for an unprivileged uid"

# --- every write is denied --------------------------------------------------------------
nobody 4 set db app/port 1
nobody 4 set db app/password string x
nobody 4 delprop db app/port
nobody 4 delcust db
nobody 4 snapshot take db mine
nobody 4 revert db snap
nobody 4 repo backup
nobody 4 import "$T/db.json"
nobody 4 export --include-secrets
nobody 4 get db/app/password
for m in repo.commit repo.set_enabled repo.refresh repo.snapshot_take repo.revert \
         repo.backup repo.import state.put; do
    nobody_call "$m" '{}'
    grep -q "error \(denied\|invalid\)" "$T/out" || fail "$m as nobody: $(cat "$T/out")"
done
nobody_call repo.refresh '{"fmri": "db"}'
grep -q "error denied" "$T/out" || fail "repo.refresh as nobody: $(cat "$T/out")"
"$BIN/kctl" get db/app/port >"$T/out" 2>&1 || fail "get as root"
[ "$(cat "$T/out")" = 5432 ] || fail "a denied write changed app/port: $(cat "$T/out")"
ok "every write is denied (exit 4) and changes nothing"

# --- no secret anywhere ---------------------------------------------------------------
grep -q "$SECRET" "$ALL" && fail "a secret reached an unprivileged peer"
grep -q "$SECRET" "$T/configd.console" && fail "a secret in kconfigd's log"
"$BIN/kctl" get db/app/password >"$T/out" 2>&1 || fail "root cannot read its secret"
[ "$(cat "$T/out")" = "$SECRET" ] || fail "root reads '$(cat "$T/out")'"
ok "no secret value in any unprivileged output or the log; root reads it"

# --- credentials are a connection's own ---------------------------------------------
# kconfigd looks a connection's credentials up once (libkipc: peer_creds).
# A root connection and uid 65534's connections, open at the same time,
# each keep their own: root's writes go on, every one of nobody's is denied.
set_port() { printf 'repo.commit {"fmri": "db", "ops": [{"op": "set", "pg": "app", "prop": "port", "type": "integer", "values": [%s]}]}' "$1"; }
# calls NAME [setpriv args]: ksock calls on one connection, fds NAME_IN/NAME_OUT.
calls() {
    local name=$1; shift
    mkfifo "$T/$name.in" "$T/$name.out"
    "$@" timeout 60 "$BIN/ksock" calls "$SYSTEMK_RUN_DIR/configd.sock" \
        <"$T/$name.in" >"$T/$name.out" &
    PIDS+=($!)
}
call_on() { # IN OUT LINE: one call on a connection, its reply in $line
    echo "$3" >&"$1"
    read -r -t 10 line <&"$2" || fail "no reply on a kept connection"
}
PIDS=()
calls root env
calls nobody setpriv --reuid=65534 --regid=65534 --clear-groups
exec {RIN}>"$T/root.in" {ROUT}<"$T/root.out" {NIN}>"$T/nobody.in" {NOUT}<"$T/nobody.out"
for i in 1 2 3; do
    call_on "$RIN" "$ROUT" "$(set_port "600$i")"
    case $line in *'"generation"'*) ;; *) fail "root's write $i on its connection: $line" ;; esac
    call_on "$NIN" "$NOUT" "$(set_port "700$i")"
    case $line in 'error denied'*) ;; *) fail "nobody's write $i on its connection: $line" ;; esac
    nobody 4 set db app/port "800$i"
done
exec {RIN}>&- {NIN}>&- {ROUT}<&- {NOUT}<&-
wait "${PIDS[@]}"
[ "$("$BIN/kctl" get db/app/port)" = 6003 ] || fail "app/port is $("$BIN/kctl" get db/app/port), want 6003"
ok "a root and two unprivileged connections at once: each judged by its own credentials"

# --- the admin group: by the groups the peer process runs with -------------------------
# uid 65534 is in no group of the database; given gid 100 ('users') as a
# supplementary group by setpriv, it may write; without it, it may not.
if getent group users >/dev/null; then
    kill -TERM "$CONFIGD"; wait "$CONFIGD" 2>/dev/null || true
    SYSTEMK_ADMIN_GROUP=users start_configd
    setpriv --reuid=65534 --regid=65534 --groups=100 \
        timeout 20 "$BIN/kctl" --timeout 5 set db app/port 2 >"$T/out" 2>&1 ||
        fail "a member of the admin group (supplementary) was refused: $(cat "$T/out")"
    nobody 4 set db app/port 3
    [ "$("$BIN/kctl" get db/app/port)" = 2 ] || fail "app/port is not 2"
    ok "SYSTEMK_ADMIN_GROUP counts the peer process's supplementary groups"
fi

#!/usr/bin/env bash
# privilege.sh BIN_DIR -- DESIGN sections 3, 4 and 7, over every socket of the
# real stack (kinit as a subreaper, its daemons), for uid 65534 (setpriv):
#   * every write method of every daemon (enumerated from proto.h by kabuse,
#     with params valid for its schema) is `denied`; every control verb of
#     kctl exits 4 and nothing changes (same states, same pids);
#   * no secret value reaches an unprivileged peer: kctl output, raw replies,
#     events, nor any file it can read under the run, state and log dirs;
#   * modes: run dir 0755; configd.sock, startd.sock, events.sock 0666;
#     kinit.sock 0600; the repository unreadable to others, no file or dir
#     writable by others except the sockets;
#   * no method runs through an implicit shell: an exec argument full of
#     shell metacharacters reaches the program literally.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
# kinit_lib's trap, with errexit off so that cleanup runs (and shows the
# logs) when the test fails.
trap 'rc=$?; set +e; kill_trees; (exit $rc); cleanup' EXIT
[ "$(id -u)" -eq 0 ] || { echo "skip: needs root for setpriv"; exit 0; }
command -v setpriv >/dev/null || { echo "skip: no setpriv"; exit 0; }
chmod 0755 "$T"
KCTL=$BIN/kctl
R=$SYSTEMK_RUN_DIR
SECRET=s3cr3t-$RANDOM$RANDOM-n0b0dy-kn0ws
SECRET2=s3cr3t-$RANDOM$RANDOM-after-refresh

cat >"$SYSTEMK_MANIFEST_DIR/db.json" <<EOF
{ "service": "db", "start": { "exec": ["/bin/sleep", "1000"] },
  "instances": { "default": { "enabled": true } },
  "properties": { "app": {
      "port": { "type": "integer", "value": 5432 },
      "password": { "type": "string", "value": "$SECRET", "secret": true } } } }
EOF
# Literal arguments: no shell ever sees them.  ${NAME} is SystemK's own
# substitution and \$\$ its escaped dollar (DESIGN section 7).
cat >"$SYSTEMK_MANIFEST_DIR/lit.json" <<'EOF'
{ "service": "lit", "model": "transient",
  "start": { "exec": ["/bin/echo", "$HOME;id", "`id`", "$(id)", "a b|c>d&&e", "*", "${NAME}", "$$x"] },
  "instances": { "default": { "enabled": true } } }
EOF
run_bg subreaper
wait_until 30 "$KCTL" wait default --timeout 1 || fail "default not online"
DBPID=$(pid_of db)
[ -n "$DBPID" ] || fail "db has no pid"

# ---- no implicit shell ---------------------------------------------------------
LOG=$SYSTEMK_LOG_DIR/lit:default.log
want='$HOME;id `id` $(id) a b|c>d&&e * lit $x'
wait_until 10 grep -qxF -- "$want" "$LOG" || { cat "$LOG" >&2; fail "exec arguments not passed literally"; }
grep -q "uid=" "$LOG" && fail "id ran: a shell interpreted an argument"
ok "exec arguments reach the program literally: $want"

# ---- modes -------------------------------------------------------------------------
mode() { stat -c %a "$1"; }
[ "$(mode "$R")" = 755 ] || fail "run dir mode $(mode "$R"), want 755"
for s in configd.sock startd.sock events.sock; do
    [ -S "$R/$s" ] || fail "no socket $s"
    [ "$(mode "$R/$s")" = 666 ] || fail "$s mode $(mode "$R/$s"), want 666"
done
[ "$(mode "$R/kinit.sock")" = 600 ] || fail "kinit.sock mode $(mode "$R/kinit.sock"), want 600"
[ "$(stat -c %u "$R/kinit.sock")" = 0 ] || fail "kinit.sock not owned by root"
mdb=$(find "$SYSTEMK_STATE_DIR" -name data.mdb | head -n 1)
[ -n "$mdb" ] || fail "no repository under the state dir"
ww=$(find "$R" "$SYSTEMK_STATE_DIR" "$SYSTEMK_LOG_DIR" -perm -o+w ! -type s ! -type l)
[ -z "$ww" ] || fail "writable by others: $ww"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
nobody cat "$mdb" >/dev/null 2>&1 && fail "uid 65534 reads the repository file $mdb"
ok "modes: run dir 755, configd/startd/events.sock 666, kinit.sock 600 (root), repository unreadable to others, nothing else world-writable"

# ---- every write method on every socket is denied ------------------------------------
ALL=$T/all-output
: >"$ALL"
n=0
for d in configd startd kinit; do
    while read -r method params; do
        if [ "$d" = kinit ]; then
            out=$(nobody timeout 20 "$BIN/ksock" unix "$R/kinit.sock" "$method" "$params" 2>&1) || true
        else
            out=$(nobody timeout 20 "$BIN/ksock" call "$R/$d.sock" "$method" "$params" 2>&1) || true
        fi
        echo "$out" >>"$ALL"
        case $out in "error denied"*) n=$((n + 1)) ;;
        *) fail "$method $params on $d.sock as uid 65534: $out" ;; esac
    done < <("$BIN/kabuse" writes "$d" db)
done
[ "$n" -ge 15 ] || fail "only $n write methods tried"
ok "all $n write methods of configd, startd and kinit are denied to uid 65534"

# kctl's control and write verbs: exit 4, nothing changes.
kn() { # WANT ARGS...
    local want=$1 rc=0; shift
    nobody timeout 30 "$KCTL" --timeout 5 "$@" >"$T/out" 2>&1 || rc=$?
    cat "$T/out" >>"$ALL"
    [ "$rc" = "$want" ] || { cat "$T/out" >&2; fail "as uid 65534 'kctl $*' exited $rc, want $want"; }
}
for v in "disable db" "disable -t db" "enable db" "restart db" "refresh db" "clear db" \
         "mark maintenance db" "mark degraded db" "startd restart" "startd status" "shutdown" \
         "set db app/port 1" "delprop db app/port" "delcust db" "snapshot take db x" \
         "revert db initial" "repo backup" "import $SYSTEMK_MANIFEST_DIR/db.json" \
         "export --include-secrets" "get db/app/password"; do
    kn 4 $v
done
is_state db online || fail "db is $(state_of db) after denied control"
[ "$(pid_of db)" = "$DBPID" ] || fail "db was restarted by a denied request"
[ "$("$KCTL" get db/app/port)" = 5432 ] || fail "a denied write changed app/port"
kill -0 "$KP" || fail "kinit gone after a denied shutdown"
ok "every kctl control and write verb exits 4 for uid 65534; states, pids and values unchanged"

# ---- reads work, and never carry a secret ---------------------------------------------
nobody timeout 30 "$BIN/ksock" sub "$R/events.sock" 50 5000 >"$T/events" 2>"$T/sub.err" &
SUB=$!; track "$SUB"
wait_until 10 grep -q subscribed "$T/sub.err" || fail "cannot subscribe as uid 65534"
# Root changes the secret and refreshes: events flow while nobody listens.
"$KCTL" set db app/password string "$SECRET2" >/dev/null || fail "root set"
"$KCTL" refresh db >/dev/null || fail "root refresh"
"$KCTL" restart db >/dev/null || fail "root restart"
wait_until 20 is_state db online || fail "db not back online"
kn 0 get db
grep -q app/port "$T/out" || fail "get as nobody: $(cat "$T/out")"
kn 0 get db --running
kn 0 --json get db
kn 0 export
kn 0 status db
kn 0 --json status db
kn 0 list -a
kn 0 explain
for m in "repo.running {}" "repo.export {}" "state.list {}" "svc.list {\"all\":true}" \
         "repo.get {\"fmri\":\"db\",\"pg\":\"app\",\"prop\":\"password\"}"; do
    set -- $m
    sock=configd; case $1 in svc.*) sock=startd ;; esac
    nobody timeout 20 "$BIN/ksock" call "$R/$sock.sock" "$1" "$2" >>"$ALL" 2>&1 || true
done
sleep 1; kill "$SUB" 2>/dev/null || true; wait "$SUB" 2>/dev/null || true
[ -s "$T/events" ] || fail "uid 65534 saw no events at all"
cat "$T/events" >>"$ALL"
# Every file under the three dirs that uid 65534 can read.
while IFS= read -r f; do
    nobody cat "$f" >>"$ALL" 2>/dev/null || true
done < <(find "$R" "$SYSTEMK_STATE_DIR" "$SYSTEMK_LOG_DIR" -type f)
for s in "$SECRET" "$SECRET2"; do
    grep -qF "$s" "$ALL" && fail "a secret reached uid 65534: $(grep -F "$s" "$ALL" | head -n 3)"
    grep -rqF "$s" "$SYSTEMK_LOG_DIR" "$T"/*.console && fail "a secret in a log"
done
[ "$("$KCTL" get db/app/password)" = "$SECRET2" ] || fail "root cannot read the secret"
ok "reads work for uid 65534 ($(wc -l <"$T/events") events seen); no secret in any reply, event, readable file or log"

kill -TERM "$KP"
finish_bg 30
expect_rc 0 "SIGTERM"
ok "orderly shutdown: exit 0"

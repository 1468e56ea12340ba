#!/usr/bin/env bash
# it_kctl_verbs_down: the failures of every kctl verb that kctl_verbs.sh
# leaves out: a daemon that does not answer (SIGSTOPped: exit 7, error code
# "timeout", within about --timeout) and a daemon that is not running
# (exit 5, "unavailable", with the hint at SYSTEMK_RUN_DIR), each daemon in
# turn under a real kinit, and the verbs that need no daemon (log, validate,
# import-unit, help) still working when none runs.  A stopped daemon gets
# SIGKILL, never SIGCONT, so that no request queued while it was stopped is
# acted on later.  Only pids this script started (kinit and its children,
# services carrying $M) are killed.
. "$(dirname "$0")/lib.sh" "$1"
command -v jq >/dev/null || { echo "SKIP: needs jq" >&2; exit 77; }
M=it-kctl-down-$$
trap 'rc=$?; for p in ${KINIT:-} ${CONFIGD_PID:-} ${STARTD_PID:-}; do kill -KILL "$p" 2>/dev/null; done; kill_marked "$M"; set +e; (exit $rc); cleanup' EXIT

# k WANT ARGS...: kctl ARGS (--timeout 1: a stopped daemon costs a second),
# demanding exit code WANT; stdout in $T/out, stderr in $T/err.
k() {
    local want=$1 rc=0; shift
    timeout 30 "$BIN/kctl" --timeout 1 "$@" >"$OUT" 2>"$ERR" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$OUT" "$ERR" >&2; fail "'kctl $*' exited $rc, want $want"; }
}
OUT=$T/out ERR=$T/err   # in_parallel gives each job its own
j() { jq -e "$1" "$OUT" >/dev/null 2>&1 || fail "jq '$1' fails on: $(head -c 2000 "$OUT")"; }
# refused WANT CODE HINT ARGS...: exit WANT with --json {"error": {"code":
# CODE}}, one error line and a hint line matching HINT; then without --json
# the same exit code and nothing on stdout.
refused() {
    local want=$1 code=$2 hint=$3; shift 3
    k "$want" --json "$@"
    j ".error.code == \"$code\" and (.error.message | test(\"^unable to \"))"
    grep -Eq "^kctl: error: unable to [a-z]+.* '.*': " "$ERR" || fail "'kctl $*': error line: $(cat "$ERR")"
    grep -Eq "^kctl: hint: $hint" "$ERR" || fail "'kctl $*': no hint /$hint/: $(cat "$ERR")"
    k "$want" "$@"
    [ ! -s "$OUT" ] || fail "'kctl $*' failed but printed: $(cat "$OUT")"
}
timed_out() { refused 7 timeout "no answer within 1 s" "$@"; }
# in_parallel FN VERB...: FN $VERB for every verb at once, each in a
# subshell with its own output files (a stopped daemon costs each a second
# twice: one by one that was most of this test's time); fails if any did.
in_parallel() {
    local fn=$1 i=0 p bad=0; shift
    local pids=()
    for v in "$@"; do
        i=$((i + 1))
        ( OUT=$T/out.$i ERR=$T/err.$i; $fn $v ) &
        pids+=("$!")
    done
    for p in "${pids[@]}"; do wait "$p" || bad=1; done
    [ "$bad" = 0 ] || fail "$fn: some verbs failed (above)"
}
down() { refused 5 unavailable "is kinit running\\? check SYSTEMK_RUN_DIR" "$@"; }
# child NAME: kinit's child running NAME (kconfigd, kstartd).
child() {
    local p
    for p in $(children_of "$KINIT"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] && { echo "$p"; return; }
    done
}
stopped() { grep -q '^State:.*T (stopped)' "/proc/$1/status"; }

cat >"$SYSTEMK_MANIFEST_DIR/db.json" <<EOF
{"service": "db", "start": {"exec": ["/bin/sh", "-c", "echo db-up; sleep 1000; : $M"]}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/web.json" <<EOF
{"service": "web", "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "dependencies": [{"name": "db", "grouping": "require_all", "restart_on": "none", "services": ["db"]}]}
EOF
cp "$SYSTEMK_MANIFEST_DIR/db.json" "$T/db.json"
printf '[Service]\nExecStart=/bin/sleep 1000\n' >"$T/u.service"

"$BIN/kinit" 2>"$T/kinit.console" &
KINIT=$!; track "$KINIT"
wait_until 20 "$BIN/kctl" --timeout 2 wait web --timeout 1 || fail "web never came online"
CONFIGD_PID=$(child kconfigd); STARTD_PID=$(child kstartd)
[ -n "$CONFIGD_PID" ] && [ -n "$STARTD_PID" ] || fail "no daemons under kinit"
"$BIN/kctl" snapshot take db snap >/dev/null || fail "snapshot take"
ok "kinit up with kconfigd $CONFIGD_PID and kstartd $STARTD_PID"

# Verdicts on manifests, good and bad, from kconfigd (import --dry-run asks
# it alone), to compare with validate's own when no daemon runs (below).
mkdir -p "$T/v"
echo '{"service": "v1", "start": {"exec": 5}}' >"$T/v/exec.json"
echo '{"service": "v2", "start": {"exec": ["/bin/true"]}, "restart": {"policy": "sometimes"}}' >"$T/v/policy.json"
echo '{"service": "v3", "dependencies": [{"name": "d", "grouping": "require_most", "restart_on": "none", "services": ["db"]}]}' >"$T/v/grouping.json"
echo '{"service": "v4", "properties": {"app": {"n": {"type": "integer", "value": "x"}}}}' >"$T/v/type.json"
echo '{"service": "v5", "start": {"exec": ["/bin/true"]}, "frobnicate": 1}' >"$T/v/unknown.json"
echo '{"service": "v6", "start": {"exec": ["/bin/true"]' >"$T/v/syntax.json"
echo '[{"service": "c1", "dependencies": [{"name": "d", "grouping": "require_all", "restart_on": "none", "services": ["c2"]}]},
       {"service": "c2", "dependencies": [{"name": "d", "grouping": "optional_all", "restart_on": "none", "services": ["c1"]}]}]' >"$T/v/cycle.json"
echo '[{"service": "twice"}, {"service": "twice"}]' >"$T/v/twice.json"
cp "$T/db.json" "$T/v/good.json"
VFILES=(exec policy grouping type unknown syntax cycle twice good)
# verdict ARGS...: "RC FIRST-ERROR-LINE" with the verb taken out.
verdict() {
    local rc=0
    timeout 30 "$BIN/kctl" --timeout 5 "$@" >/dev/null 2>"$T/verr" || rc=$?
    echo "$rc $(grep -m1 '^kctl: error' "$T/verr" | sed 's/unable to [a-z-]* /unable to VERB /')"
}
declare -A CONFIGD_SAYS
for f in "${VFILES[@]}"; do CONFIGD_SAYS[$f]=$(verdict import --dry-run "$T/v/$f.json"); done
[ "${CONFIGD_SAYS[good]}" = "0 " ] || fail "kconfigd refused a good manifest: ${CONFIGD_SAYS[good]}"
for f in "${VFILES[@]}"; do
    [ "$f" = good ] || [ "${CONFIGD_SAYS[$f]%% *}" = 10 ] || fail "kconfigd on $f.json: ${CONFIGD_SAYS[$f]}"
done

STARTD_VERBS=("list" "list -a" "status db" "enable db" "disable db" "restart db"
    "refresh db" "clear db" "mark degraded db" "deps web" "dependents db"
    "explain" "explain db" "watch" "wait db" "plot" "hello startd")
CONFIGD_VERBS=("import $T/db.json" "import --dry-run $T/db.json" "validate $T/db.json"
    "export" "export db" "get db" "get db/start/exec" "set db app/x string v"
    "delprop db start/exec" "delcust db" "snapshot list db" "snapshot take db s2"
    "revert db snap" "repo backup" "repo check" "graph" "hello configd")
KINIT_VERBS=("startd status" "startd restart" "shutdown" "hello kinit")

# ---- kstartd stopped: its verbs time out (7); kconfigd's still work ---------------------
kill -STOP "$STARTD_PID"
wait_until 10 stopped "$STARTD_PID" || fail "kstartd did not stop"
in_parallel timed_out "${STARTD_VERBS[@]}"
k 7 wait db --timeout 30   # the daemon's silence, not wait's own deadline
k 0 get db/start/exec
k 0 repo check
ok "kstartd stopped: ${#STARTD_VERBS[@]} verbs exit 7 after --timeout; kconfigd's verbs work"

# ---- kstartd gone: its verbs exit 5; refresh falls back to the repository ---------------
kill -KILL "$STARTD_PID"
wait_until 20 sh -c "'$BIN/kctl' --json startd status | jq -e '.running == false' >/dev/null" ||
    fail "kinit did not notice kstartd's death"
for v in "${STARTD_VERBS[@]}"; do
    [ "$v" = "refresh db" ] && continue
    down $v
done
k 0 refresh db
grep -q "kctl: warning: kstartd is not running: refreshed 'svc:/db:default' in the repository only" "$T/err" ||
    fail "refresh without kstartd: $(cat "$T/err")"
k 0 import "$T/db.json"          # kstartd reads it when it returns
k 0 startd restart
STARTD_PID=$(jq -r .pid < <("$BIN/kctl" --json startd status))
wait_until 20 "$BIN/kctl" --timeout 2 wait web --timeout 1 || fail "web not online after startd restart"
ok "kstartd gone: its verbs exit 5 with a hint; refresh and import still work"

# ---- kconfigd stopped: its verbs time out (7) --------------------------------------------
kill -STOP "$CONFIGD_PID"
wait_until 10 stopped "$CONFIGD_PID" || fail "kconfigd did not stop"
in_parallel timed_out "${CONFIGD_VERBS[@]}"
k 0 list                          # kstartd answers from its own memory
k 3 validate "$T/nosuch.json"      # the file is read before kconfigd is asked
ok "kconfigd stopped: ${#CONFIGD_VERBS[@]} verbs exit 7 after --timeout"
# kinit restarts a dead kconfigd (with backoff); wait for the new one.
kill -KILL "$CONFIGD_PID"
wait_until 30 "$BIN/kctl" --timeout 2 hello configd || fail "kinit did not restart kconfigd"
CONFIGD_PID=$(child kconfigd)
k 0 get db/start/exec

# ---- kinit stopped: its verbs time out (7) -----------------------------------------------
kill -STOP "$KINIT"
wait_until 10 stopped "$KINIT" || fail "kinit did not stop"
in_parallel timed_out "${KINIT_VERBS[@]}"
k 0 list                          # the daemons answer without kinit
ok "kinit stopped: ${#KINIT_VERBS[@]} verbs exit 7 after --timeout"

# ---- nothing running: every daemon verb exits 5 ------------------------------------------
STARTD_PID=$(child kstartd)
kill -KILL "$KINIT" "$CONFIGD_PID" "$STARTD_PID"
wait "$KINIT" 2>/dev/null || true
KINIT=; CONFIGD_PID=; STARTD_PID=
kill_marked "$M"
for v in "${STARTD_VERBS[@]}" "${CONFIGD_VERBS[@]}" "${KINIT_VERBS[@]}"; do
    case $v in validate*|refresh*) continue ;; esac
    down $v
done
down refresh db
# No daemon needed: log (a file), validate (kconfigd's own checks, here),
# import-unit, help.
k 0 log db
grep -qx "db-up" "$T/out" || fail "log without daemons: $(cat "$T/out")"
k 0 --json validate "$T/db.json"
j '.services == ["db"] and .checked_by == "kctl"'
echo '{"service": "bad", "start": {"exec": 5}}' >"$T/bad.json"
k 10 validate "$T/bad.json"
grep -q "bad.json: /start/exec: " "$T/err" || fail "validate without kconfigd: $(cat "$T/err")"
for f in "${VFILES[@]}"; do
    got=$(verdict validate "$T/v/$f.json")
    [ "$got" = "${CONFIGD_SAYS[$f]}" ] || fail "$f.json: validate alone says '$got', kconfigd said '${CONFIGD_SAYS[$f]}'"
done
k 0 import-unit "$T/u.service"
k 0 help
ok "nothing running: every daemon verb exits 5; log, validate (agreeing with kconfigd on ${#VFILES[@]} files), import-unit, help work"

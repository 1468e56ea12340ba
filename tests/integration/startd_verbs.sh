#!/usr/bin/env bash
# it_startd_verbs: the restarter verbs of kctl against real kconfigd+kstartd.
#
#   wait (0, 7, 8, 9; `wait default`), enable -s / -r, disable -s, restart
#   (restart_on=restart dependent follows), refresh (refresh method with
#   ${MAINPID}, restart_on=refresh dependent), mark degraded|maintenance,
#   clear, deps, dependents, explain (root cause + blocks), log -n, watch,
#   a crash loop reaching maintenance with its backoff in the log, then
#   clear bringing it back.  No timed assertions: every wait is bounded by
#   kstartd's own outcome or a generous timeout.
. "$(dirname "$0")/lib.sh" "$1"
M=it-startd-verbs-$$
# kstartd first (it would restart what kill_marked kills), then services.
trap 'rc=$?; { [ -z "${STARTD:-}" ] || kill -KILL "$STARTD" 2>/dev/null; } || true; kill_marked "$M"; set +e; (exit $rc); cleanup' EXIT
K() { "$BIN/kctl" "$@"; }

cat >"$SYSTEMK_MANIFEST_DIR/db.json" <<EOF
{"service": "db", "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "refresh": {"exec": ["/bin/sh", "-c", "echo \$1 \$MAINPID > $T/refreshed", "x", "\${MAINPID}"]},
 "stop": {"timeout_s": 5},
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/web.json" <<EOF
{"service": "web", "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "dependencies": [{"name": "db", "grouping": "require_all", "restart_on": "refresh",
                   "services": ["db"]}],
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/app.json" <<EOF
{"service": "app", "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "dependencies": [{"name": "lib", "grouping": "require_all", "restart_on": "none",
                   "services": ["lib"]}],
 "instances": {"default": {"enabled": false}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/lib.json" <<EOF
{"service": "lib", "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "instances": {"default": {"enabled": false}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/orphan.json" <<EOF
{"service": "orphan", "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "dependencies": [{"name": "x", "grouping": "require_all", "restart_on": "none",
                   "services": ["nosuch"]}],
 "instances": {"default": {"enabled": false}}}
EOF
# Crashes while the flag file exists; burst 3 in 60 s, backoff from 50 ms.
cat >"$SYSTEMK_MANIFEST_DIR/crash.json" <<EOF
{"service": "crash",
 "start": {"exec": ["/bin/sh", "-c", "[ -e $T/crashflag ] && exit 3; sleep 1000; : $M"]},
 "restart": {"delay_ms": 50, "max_delay_ms": 1000, "burst": 3, "window_s": 60},
 "instances": {"default": {"enabled": false}}}
EOF

start_configd
K import "$SYSTEMK_MANIFEST_DIR" >/dev/null
start_startd

[ "$(kctl_rc wait web --timeout 20)" = 0 ] || fail "wait web"
[ "$(state_of db)" = online ] || fail "db not online after wait web"
[ "$(kctl_rc wait default --timeout 20)" = 0 ] || fail "wait default"
ok "wait web; wait default"

# wait: 7 on timeout (db online, never maintenance by itself).
[ "$(kctl_rc wait db --state maintenance --timeout 0.5)" = 7 ] || fail "wait timeout not 7"
ok "wait --timeout exits 7"

# deps / dependents
K deps web --json | jq -e '.dependencies[0].services[0].fmri == "svc:/db:default"
    and .dependencies[0].satisfied == "satisfied"' >/dev/null || fail "deps web"
K dependents db --json | jq -e '.dependents | map(.fmri) | index("svc:/web:default")' \
    >/dev/null || fail "dependents db"
K deps web | grep -q 'svc:/db:default' || fail "deps table"
ok "deps, dependents"

# restart: db gets a new pid, web (restart_on refresh >= restart) too.
dbpid=$(pid_of db); webpid=$(pid_of web)
K restart db
[ "$(kctl_rc wait db --timeout 20)" = 0 ] || fail "db after restart"
[ "$(kctl_rc wait web --timeout 20)" = 0 ] || fail "web after restart"
[ "$(pid_of db)" != "$dbpid" ] || fail "restart kept db's pid"
[ "$(pid_of web)" != "$webpid" ] || fail "web did not follow db's restart"
[ "$(kctl_rc restart lib)" = 1 ] || fail "restart of a disabled instance not 1 (busy)"
ok "restart (dependent followed)"

# refresh: the refresh method sees ${MAINPID} and $MAINPID; web restarts.
dbpid=$(pid_of db); webpid=$(pid_of web)
K refresh db --json | jq -e '.refreshed | index("svc:/db:default")' >/dev/null \
    || fail "refresh result"
wait_until 10 test -s "$T/refreshed" || fail "refresh method did not run"
[ "$(cat "$T/refreshed")" = "$dbpid $dbpid" ] || fail "refresh MAINPID: $(cat "$T/refreshed") want $dbpid"
[ "$(kctl_rc wait web --timeout 20)" = 0 ] || fail "web after refresh"
[ "$(pid_of web)" != "$webpid" ] || fail "restart_on=refresh dependent not restarted"
[ "$(pid_of db)" = "$dbpid" ] || fail "refresh restarted db itself"
ok "refresh: method with MAINPID; restart_on=refresh dependent restarted"

# mark degraded / clear
K mark degraded web
[ "$(state_of web)" = degraded ] || fail "mark degraded"
K clear web
[ "$(state_of web)" = online ] || fail "clear degraded"
# mark maintenance stops it; wait exits 8; explain names it; clear restarts.
K mark maintenance web
[ "$(kctl_rc wait web --timeout 20)" = 8 ] || fail "wait on maintenance not 8"
[ "$(state_of web)" = maintenance ] || fail "mark maintenance"
K explain web --json | jq -e '.[0].fmri == "svc:/web:default" and (.[0].reason | test("operator"))' \
    >/dev/null || fail "explain web"
K clear web
[ "$(kctl_rc wait web --timeout 20)" = 0 ] || fail "clear maintenance"
ok "mark degraded|maintenance, clear, wait 8"

# disable -s: waits; web (require_all db, restart_on refresh) stops; its
# wait exits 9 and explain names db as the root cause.
[ "$(kctl_rc disable -s db)" = 0 ] || fail "disable -s"
[ "$(state_of db)" = disabled ] || fail "db not disabled after disable -s"
[ "$(kctl_rc wait web --timeout 20)" = 9 ] || fail "wait on a blocked instance not 9"
K explain web --json | jq -e '.[0].cause.fmri == "svc:/db:default" and .[0].cause.reason == "disabled"' \
    >/dev/null || fail "explain root cause: $(K explain web --json)"
K explain db --json | jq -e '.[0].blocks | index("svc:/web:default")' >/dev/null \
    || fail "explain blocks"
K explain | grep -q 'root cause: svc:/db:default' || fail "explain text"
[ "$(kctl_rc wait default --timeout 20)" = 0 ] || true
[ "$(kctl_rc enable -s db)" = 0 ] || fail "enable -s db"
[ "$(kctl_rc wait web --timeout 20)" = 0 ] || fail "web back after db"
ok "disable -s, wait 9, explain root cause and blocks, enable -s"

# enable -s on an instance with an absent dependency: 9.
[ "$(kctl_rc enable -s orphan)" = 9 ] || fail "enable -s with absent dep not 9"
K explain orphan --json | jq -e '.[0].cause.fmri == "svc:/nosuch:default"' >/dev/null \
    || fail "explain absent dep"
K disable orphan
# enable -r: lib (disabled) is enabled with app.
[ "$(kctl_rc enable -r -s app)" = 0 ] || fail "enable -r -s app"
[ "$(state_of lib)" = online ] || fail "enable -r left lib $(state_of lib)"
ok "enable -s 9 on an absent dependency; enable -r"

# watch: streams changes (kept running in the background, then killed).
K watch --json >"$T/watch.out" 2>"$T/watch.err" &
W=$!; track "$W"
# Restart app until watch has seen it: watch may still be starting.
again() {
    "$BIN/kctl" restart app >/dev/null && "$BIN/kctl" wait app --timeout 20 >/dev/null &&
        grep -q '"svc:/app:default"' "$T/watch.out"
}
wait_until 20 again || fail "watch saw nothing"
kill "$W" 2>/dev/null || true
jq -e -s 'map(select(.fmri == "svc:/app:default")) | length >= 2' "$T/watch.out" >/dev/null \
    || fail "watch lines"
ok "watch"

# Crash loop: maintenance after the burst, backoff in the log, wait 8,
# then clear (flag removed) brings it back.
cpu() { awk '{print $14 + $15}' "/proc/$STARTD/stat"; }
cpu0=$(cpu)
touch "$T/crashflag"
K enable crash
[ "$(kctl_rc wait crash --state maintenance --timeout 30)" = 0 ] || fail "crash loop: no maintenance"
rc=$(kctl_rc wait crash --timeout 30); [ "$rc" = 8 ] || fail "crash loop wait: $rc, not 8"
[ "$(state_of crash)" = maintenance ] || fail "crash not in maintenance"
log=$SYSTEMK_LOG_DIR/crash:default.log
grep -q 'restart 1 in 50 ms' "$log" || fail "no first backoff in the log"
grep -q 'restart 2 in 100 ms' "$log" || fail "backoff did not double"
grep -q 'restart 3 in 200 ms' "$log" || fail "backoff did not double again"
grep -q 'restarting too quickly' "$log" || fail "no maintenance reason in the log"
[ "$(grep -c 'start: pid' "$log")" = 4 ] || fail "burst 3 should mean 4 starts"
K explain crash | grep -q 'restarting too quickly' || fail "explain crash"
# No busy loop: the whole crash loop costs kstartd well under a second of CPU.
[ $(( $(cpu) - cpu0 )) -lt 50 ] || fail "kstartd used $(( $(cpu) - cpu0 )) ticks in the crash loop"
rm -f "$T/crashflag"
K clear crash
[ "$(kctl_rc wait crash --timeout 20)" = 0 ] || fail "clear did not bring crash back"
ok "crash loop: backoff 50/100/200 ms in the log, maintenance, clear"

# log -n and --json
[ "$(K log crash -n 3 | wc -l)" = 3 ] || fail "log -n 3"
K log crash -n 2 --json | jq -e '.lines | length == 2' >/dev/null || fail "log --json"
[ "$(kctl_rc log nosuch)" = 3 ] || fail "log of an unknown instance not 3"
ok "log -n, --json"

# state.put_many: kstartd's batched writes land in kconfigd's volatile
# namespace (every instance has a record with its pid); a bad batch
# changes nothing.
S=$SYSTEMK_RUN_DIR/configd.sock
"$BIN/ksock" call "$S" state.list | grep -q '"svc:/db:default"' || fail "no persisted state for db"
"$BIN/ksock" call "$S" state.put_many '{"states": {"svc:/zz1:default": {"state": "online"}, "zz2": {"state": "offline"}}}' \
    | grep -q '"count":2' || fail "state.put_many count"
"$BIN/ksock" call "$S" state.get '{"fmri": "svc:/zz2:default"}' | grep -q offline || fail "put_many zz2"
{ "$BIN/ksock" call "$S" state.put_many '{"states": {"svc:/zz3:default": {"state": "x"}, "svc:/": {}}}' || true; } \
    | grep -q invalid || fail "a bad batch was not refused"
{ "$BIN/ksock" call "$S" state.get '{"fmri": "svc:/zz3:default"}' || true; } | grep -q not_found || fail "a bad batch wrote"
ok "state.put_many"

# Unknown instance: 3 for every verb naming one.
for v in restart refresh clear deps dependents explain; do
    [ "$(kctl_rc $v nosuch)" = 3 ] || fail "$v nosuch not 3"
done
[ "$(kctl_rc wait nosuch --timeout 1)" = 3 ] || fail "wait nosuch not 3"
[ "$(kctl_rc mark bogus web)" = 2 ] || fail "mark bogus not 2"
ok "exit codes 3 and 2"

kill -TERM "$STARTD"
rc=0; wait "$STARTD" || rc=$?
[ $rc -eq 0 ] || fail "kstartd exited $rc"
pgrep -f "$M" >/dev/null && fail "a service outlived kstartd's shutdown"
echo PASS

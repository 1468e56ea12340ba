#!/usr/bin/env bash
# it_startd_deps: groupings and restart_on, as SMF documents them.
#
#   slow       a notify dependency that is slow to be ready still comes
#              first: its dependent stays offline until READY=1
#   require_any   online when one member is (the other disabled)
#   optional_all  ignores disabled and maintenance members
#   exclude_all   cannot start while the excluded runs (wait exits 9);
#                 is stopped when the excluded comes online (SMF);
#                 starts once it is disabled
#   restart_on    none / error / restart / refresh: which dependents follow
#                 an operator restart, a crash (kill -9) and a refresh
. "$(dirname "$0")/lib.sh" "$1"
M=it-startd-deps-$$
trap 'rc=$?; { [ -z "${STARTD:-}" ] || kill -KILL "$STARTD" 2>/dev/null; } || true; kill_marked "$M"; set +e; (exit $rc); cleanup' EXIT
K() { "$BIN/kctl" "$@"; }
svc() { # svc NAME ENABLED [DEPS-JSON] [EXTRA-JSON]
    cat >"$SYSTEMK_MANIFEST_DIR/$1.json" <<EOF
{"service": "$1", "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "restart": {"delay_ms": 10}, "dependencies": [${3:-}] ${4:-},
 "instances": {"default": {"enabled": $2}}}
EOF
}
dep() { # dep NAME GROUPING RESTART_ON SVC...
    local n=$1 g=$2 r=$3; shift 3
    local s; s=$(printf '"%s",' "$@")
    echo "{\"name\": \"$n\", \"grouping\": \"$g\", \"restart_on\": \"$r\", \"services\": [${s%,}]}"
}

cat >"$SYSTEMK_MANIFEST_DIR/slow.json" <<EOF
{"service": "slow", "model": "notify",
 "start": {"exec": ["/bin/sh", "-c", "while [ ! -e $T/go ]; do sleep 0.05; done; /usr/bin/python3 -c 'import os,socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(os.environ[\"NOTIFY_SOCKET\"]); s.send(b\"READY=1\")'; touch $T/sent; sleep 1000; : $M"]},
 "instances": {"default": {"enabled": true}}}
EOF
svc afterslow true "$(dep s require_all none slow)"
svc x false; svc y true
svc any true "$(dep xy require_any none x y)"
svc z false
cat >"$SYSTEMK_MANIFEST_DIR/broken.json" <<EOF
{"service": "broken", "start": {"exec": ["/bin/sh", "-c", "exit 96"]},
 "instances": {"default": {"enabled": true}}}
EOF
svc opt true "$(dep zb optional_all none z broken)"
svc q true
svc excl true "$(dep q exclude_all none q)"
svc db true
svc r_none true "$(dep db require_all none db)"
svc r_error true "$(dep db require_all error db)"
svc r_restart true "$(dep db require_all restart db)"
svc r_refresh true "$(dep db require_all refresh db)"

start_configd
K import "$SYSTEMK_MANIFEST_DIR" >/dev/null
start_startd

# The slow dependency: its dependent waits, offline, until READY=1.
wait_until 20 test -S "$SYSTEMK_RUN_DIR/notify/slow:default" || fail "slow not starting"
[ "$(kctl_rc wait y --timeout 20)" = 0 ] || fail "y"
[ "$(state_of afterslow)" = offline ] || fail "afterslow is $(state_of afterslow) before slow is ready"
[ "$(state_of slow)" = offline ] || fail "slow is $(state_of slow)"
# The READY=1 is sent by a helper that has exited and been reaped before
# kstartd reads it (kstartd is stopped meanwhile): a sender that is gone
# but ran as the service's user still counts (kstartd/notify.c).
kill -STOP "$STARTD"
touch "$T/go"
wait_until 20 test -e "$T/sent" || { kill -CONT "$STARTD"; fail "slow never sent READY=1"; }
kill -CONT "$STARTD"
[ "$(kctl_rc wait afterslow --timeout 30)" = 0 ] || fail "afterslow not online after slow"
s1=$(grep -m1 'state: offline -> online' "$SYSTEMK_LOG_DIR/slow:default.log" | cut -d' ' -f1)
a1=$(grep -m1 'start: pid' "$SYSTEMK_LOG_DIR/afterslow:default.log" | cut -d' ' -f1)
[[ "$s1" < "$a1" || "$s1" == "$a1" ]] || fail "afterslow started ($a1) before slow was online ($s1)"
ok "the slowest dependency still starts first"

[ "$(kctl_rc wait any --timeout 20)" = 0 ] || fail "require_any with one member up"
ok "require_any"
[ "$(kctl_rc wait broken --state maintenance --timeout 20)" = 0 ] || fail "broken"
[ "$(kctl_rc wait opt --timeout 20)" = 0 ] || fail "optional_all waits for disabled/maintenance"
ok "optional_all ignores disabled and maintenance"

[ "$(kctl_rc wait q --timeout 20)" = 0 ] || fail "q"
[ "$(kctl_rc wait excl --timeout 20)" = 9 ] || fail "exclude_all: wait not 9"
K explain excl --json | jq -e '.[0].cause.fmri == "svc:/q:default"' >/dev/null || fail "explain excl"
K disable q
[ "$(kctl_rc wait excl --timeout 20)" = 0 ] || fail "exclude_all: not online once q is disabled"
# The excluded service coming online stops its exclude_all dependent, as
# SMF does, though the dependency's restart_on is none.
xpid=$(pid_of excl)
[ "$(kctl_rc enable -s q)" = 0 ] || fail "enable -s q"
wait_until 20 sh -c "! kill -0 $xpid 2>/dev/null" || fail "exclude_all: excl still runs beside q"
[ "$(kctl_rc wait excl --timeout 20)" = 9 ] || fail "exclude_all: excl not blocked once q is back"
grep -q "stop: 'svc:/q:default', which it excludes, is online" "$SYSTEMK_LOG_DIR/excl:default.log" ||
    fail "exclude_all: no reason in excl's log"
K disable q
[ "$(kctl_rc wait excl --timeout 20)" = 0 ] || fail "exclude_all: not online once q is disabled again"
ok "exclude_all (and stopped when the excluded comes online)"

for s in db r_none r_error r_restart r_refresh; do
    [ "$(kctl_rc wait $s --timeout 20)" = 0 ] || fail "$s"
done
pids() { for s in r_none r_error r_restart r_refresh; do echo "$s $(pid_of $s)"; done; }
settle() { for s in db r_none r_error r_restart r_refresh; do
    [ "$(kctl_rc wait $s --timeout 20)" = 0 ] || fail "$s after $1"; done; }
moved() { # moved BEFORE-FILE: the dependents whose pid changed
    pids >"$T/p.now"; diff "$1" "$T/p.now" | awk '/^>/ {print $2}' | tr '\n' ' '; }

pids >"$T/p0"; K restart db; settle restart
[ "$(moved "$T/p0")" = "r_restart r_refresh " ] || fail "after restart moved: '$(moved "$T/p0")'"
pids >"$T/p1"; kill -KILL "$(pid_of db)"
wait_until 20 sh -c "grep -q 'killed by signal 9' $SYSTEMK_LOG_DIR/db:default.log" || fail "db kill"
settle "kill -9"
[ "$(moved "$T/p1")" = "r_error r_restart r_refresh " ] || fail "after kill -9 moved: '$(moved "$T/p1")'"
pids >"$T/p2"; K refresh db >/dev/null; settle refresh
[ "$(moved "$T/p2")" = "r_refresh " ] || fail "after refresh moved: '$(moved "$T/p2")'"
ok "restart_on: restart -> restart,refresh; error -> error,restart,refresh; refresh -> refresh"

kill -TERM "$STARTD"
rc=0; wait "$STARTD" || rc=$?
[ $rc -eq 0 ] || fail "kstartd exited $rc"
echo PASS

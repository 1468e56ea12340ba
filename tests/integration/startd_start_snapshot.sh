#!/usr/bin/env bash
# it_startd_start_snapshot: the `start` snapshot (DESIGN section 3: taken at
# each successful start), which kstartd asks kconfigd for in its batched
# state.put_many.
#
#   an instance that came online has `start` in `kctl snapshot list`, equal
#   to its running snapshot; a disabled one has none; after a refresh that
#   does not restart it, start keeps the configuration it started with;
#   after a restart, start is the new running snapshot again.
. "$(dirname "$0")/lib.sh" "$1"
M=it-startd-snap-$$
trap 'rc=$?; { [ -z "${STARTD:-}" ] || kill -KILL "$STARTD" 2>/dev/null; } || true; kill_marked "$M"; set +e; (exit $rc); cleanup' EXIT
K() { "$BIN/kctl" "$@"; }
CFG=$SYSTEMK_RUN_DIR/configd.sock
# pgs FMRI SELECTOR: the property groups of a snapshot, sorted JSON.
pgs() {
    "$BIN/ksock" call "$CFG" repo.get "{\"fmri\": \"$1\", $2}" |
        jq -S '.property_groups // .result.property_groups'
}
has_start() { K snapshot list "$1" | grep -qx start; }

cat >"$SYSTEMK_MANIFEST_DIR/web.json" <<EOF
{"service": "web",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "properties": {"app": {"color": {"type": "string", "value": "red"}}},
 "instances": {"default": {"enabled": true}}}
EOF
cat >"$SYSTEMK_MANIFEST_DIR/idle.json" <<EOF
{"service": "idle",
 "start": {"exec": ["/bin/sh", "-c", "sleep 1000; : $M"]},
 "instances": {"default": {"enabled": false}}}
EOF

start_configd
K import "$SYSTEMK_MANIFEST_DIR" >/dev/null
! has_start web || fail "web has a start snapshot before kstartd ran"
start_startd

[ "$(kctl_rc wait web --timeout 30)" = 0 ] || fail "web not online"
wait_until 20 has_start web || fail "no start snapshot after web came online: $(K snapshot list web | tr '\n' ' ')"
run=$(pgs svc:/web:default '"running": true')
[ -n "$run" ] && [ "$run" != null ] || fail "no running snapshot to compare"
[ "$(pgs svc:/web:default '"snapshot": "start"')" = "$run" ] || fail "start differs from running"
[ "$(state_of idle)" = disabled ] || fail "idle is $(state_of idle)"
! has_start idle || fail "a disabled instance has a start snapshot"
ok "start snapshot taken when web came online, equal to running; none for idle"

# A refresh that does not restart: start keeps what web started with.
K set web app/color string blue >/dev/null || fail "kctl set"
[ "$(kctl_rc refresh web)" = 0 ] || fail "kctl refresh web"
new=$(pgs svc:/web:default '"running": true')
[ "$new" != "$run" ] || fail "refresh did not change the running snapshot"
[ "$(pgs svc:/web:default '"snapshot": "start"')" = "$run" ] ||
    fail "start snapshot changed by a refresh without a restart"
# A restart is a successful start: start := running.
old=$(pid_of web)
restarted() { is_state web online && [ -n "$(pid_of web)" ] && [ "$(pid_of web)" != "$old" ]; }
start_is() { [ "$(pgs svc:/web:default '"snapshot": "start"')" = "$1" ]; }
[ "$(kctl_rc restart web)" = 0 ] || fail "kctl restart web"
wait_until 20 restarted || fail "web not restarted"
wait_until 20 start_is "$new" || fail "start snapshot not renewed by the restart"
ok "refresh keeps start; restart renews it"
echo PASS

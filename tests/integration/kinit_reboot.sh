#!/bin/bash
# kinit_reboot.sh BIN_DIR -- a new kinit is a new boot even when the run dir
# is left over from the last one (a container restarted in place, a test
# reusing its temp dir): DESIGN section 3, the volatile namespace (restarter
# state, temporary enable/disable) "survives a daemon crash, not a reboot".
# Boot; `kctl disable -t a`; b exits 95 (maintenance); SIGTERM; boot again on
# the same run dir without clearing it: a is online again and b ran again.
# Also: an admin edit not yet refreshed stays out of the running snapshot
# across that reboot (its boot import of the unchanged manifest) and across
# `kctl import` of the unchanged file, until `kctl refresh`.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
KCTL=$BIN/kctl

run_case() {
    local mode=$1
    fresh_dirs; rm -f "$SYSTEMK_MANIFEST_DIR"/*.json
    cat >"$SYSTEMK_MANIFEST_DIR/a.json" <<'J'
{ "service": "a", "start": { "exec": ["/bin/sleep", "1000"] },
  "instances": { "default": { "enabled": true } } }
J
    cat >"$SYSTEMK_MANIFEST_DIR/b.json" <<'J'
{ "service": "b", "start": { "exec": ["/bin/sh", "-c", "echo ran; exit 95"] },
  "instances": { "default": { "enabled": true } } }
J
    run_bg "$mode"
    wait_until 20 is_state b maintenance || fail "$mode: b not in maintenance"
    wait_until 20 is_state a online || fail "$mode: a not online"
    "$KCTL" disable -t -s a >/dev/null || fail "$mode: kctl disable -t"
    "$KCTL" set a app/x string pending >/dev/null || fail "$mode: kctl set"
    kill -TERM "$KP"; finish_bg 30; expect_rc 0 "$mode: SIGTERM"

    run_bg "$mode"   # the run dir is NOT cleared: a reboot all the same
    wait_until 20 is_state a online ||
        fail "$mode: temporary disable survived a reboot ($(state_of a))"
    wait_until 20 is_state b maintenance || fail "$mode: b not in maintenance"
    [ "$(grep -c '^ran$' "$SYSTEMK_LOG_DIR/b:default.log")" = 2 ] ||
        fail "$mode: b's maintenance survived a reboot: its method did not run again"
    # The boot re-imported a's unchanged manifest: no refresh, so the admin
    # edit made without `kctl refresh` is still invisible to kstartd.
    [ "$(kctl_rc get a/app/x)" = 0 ] || fail "$mode: admin edit lost"
    [ "$(kctl_rc get a/app/x --running)" = 3 ] ||
        fail "$mode: a reboot refreshed an unchanged manifest's instance"
    "$KCTL" import "$SYSTEMK_MANIFEST_DIR/a.json" >/dev/null || fail "$mode: import"
    [ "$(kctl_rc get a/app/x --running)" = 3 ] ||
        fail "$mode: importing an unchanged manifest refreshed"
    "$KCTL" refresh a >/dev/null || fail "$mode: refresh"
    [ "$(kctl_rc get a/app/x --running)" = 0 ] || fail "$mode: refresh did not apply"
    kill -TERM "$KP"; finish_bg 30; expect_rc 0 "$mode: SIGTERM"
    ok "$mode: a reboot on a left-over run dir starts from a clean volatile namespace"
}

run_case pid1
run_case subreaper

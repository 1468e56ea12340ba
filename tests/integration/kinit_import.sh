#!/bin/bash
# kinit_import.sh BIN_DIR -- boot-time import through kinit, on the real
# stack, as PID 1 of a PID namespace and as a subreaper: boot with manifest
# a; `kctl set` an admin customisation; shut down; change a's manifest and
# add manifest b; boot again on the same state dir: a's manifest change and
# the new service b are imported (b runs), the admin value is kept.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
KCTL=$BIN/kctl

manifest() {  # NAME SIZE
    cat >"$SYSTEMK_MANIFEST_DIR/$1.json" <<EOF
{ "service": "$1",
  "start": { "exec": ["/bin/sleep", "1000"] },
  "instances": { "default": { "enabled": true } },
  "properties": { "app": { "color": { "type": "string", "value": "red" },
                           "size": { "type": "integer", "value": $2 } } } }
EOF
}
prop() {  # SVC PROP: its value in the editing view
    "$KCTL" get "$1/app/$2" --json | jq -er ".property_groups.app.$2.values[0]"
}
boot() {  # MODE
    rm -rf "$SYSTEMK_RUN_DIR"
    run_bg "$1"
    wait_until 20 "$KCTL" wait default --timeout 1 || fail "$1: default not online"
}
stop() {  # MODE
    kill -TERM "$KP"; finish_bg 30; expect_rc 0 "$1: SIGTERM"
}

run_case() {
    local mode=$1
    fresh_dirs; rm -f "$SYSTEMK_MANIFEST_DIR"/*.json
    manifest a 1
    boot "$mode"
    "$KCTL" set a app/color string blue >/dev/null || fail "$mode: kctl set"
    [ "$(prop a color)" = blue ] || fail "$mode: kctl set did not take"
    stop "$mode"

    manifest a 2
    manifest b 7
    boot "$mode"
    [ "$(prop a size)" = 2 ] || fail "$mode: changed manifest not imported ($(prop a size))"
    [ "$(prop a color)" = blue ] || fail "$mode: admin customisation lost ($(prop a color))"
    [ "$(prop b size)" = 7 ] || fail "$mode: new manifest not imported"
    wait_until 10 is_state b online || fail "$mode: new service b is not online"
    is_state a online || fail "$mode: service a is not online"
    stop "$mode"
    ok "$mode: reboot imports new and changed manifests, keeps admin customisations"
}

run_case pid1
run_case subreaper

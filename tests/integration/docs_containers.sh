#!/usr/bin/env bash
# it_docs_containers: docs/containers.md against the code (issue 5).
#
# From the page's ```dockerfile block: the programs it copies exist, the
# ENTRYPOINT is the kinit it installs, SYSTEMK_GRACE_S is kinit's default
# budget; then ENTRYPOINT + CMD run for real as PID 1 of a PID namespace
# (a container) over the manifests it copies (examples/): `default` comes
# online, the page's `docker exec sk kctl ...` commands work, and STOPSIGNAL
# ends it with the main command's status.  From the ```yaml pod: the
# readiness probe's command exits 5 without daemons and 0 once `default` is
# online; terminationGracePeriodSeconds is the pod's SYSTEMK_GRACE_S plus
# kinit's final reaping, and that SYSTEMK_GRACE_S is kinit's default.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DOC=$SRC/docs/containers.md
[ -f "$DOC" ] || fail "docs/containers.md is missing"
export PATH=$BIN:$PATH   # the image installs the programs on PATH

# block LANG: the body of the page's first ```LANG block.
block() { awk -v l="$1" '$0 == "```" l {on = 1; next} on && /^```/ {exit} on' "$DOC"; }
block dockerfile >"$T/Dockerfile"
block yaml >"$T/pod.yaml"
[ -s "$T/Dockerfile" ] || fail "no dockerfile block"
[ -s "$T/pod.yaml" ] || fail "no yaml block"

# ---- the Dockerfile, statically ------------------------------------------------
# JSON-form instruction ARGS: its array (continuation lines joined).
instr() {
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$T/Dockerfile" |
        sed -n "s/^$1[[:space:]]\{1,\}//p" | head -n 1
}
entry=$(instr ENTRYPOINT); cmd=$(instr CMD)
echo "$entry" | jq -e 'type == "array"' >/dev/null || fail "ENTRYPOINT is not an exec-form array: $entry"
echo "$cmd" | jq -e 'type == "array"' >/dev/null || fail "CMD is not an exec-form array: $cmd"
copy=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$T/Dockerfile" | grep '^COPY --from=build /src/build/bin/')
dest=$(echo "$copy" | awk '{print $NF}')
for p in $(echo "$copy" | tr ' ' '\n' | sed -n 's|^/src/build/bin/||p'); do
    [ -x "$BIN/$p" ] || fail "the Dockerfile copies build/bin/$p, which the build does not make"
    copied="${copied:-} $p"
done
for p in kinit kconfigd kstartd kctl; do
    case " $copied " in *" $p "*) ;; *) fail "the Dockerfile does not install $p" ;; esac
done
[ "$(echo "$entry" | jq -r '.[0]')" = "${dest%/}/kinit" ] ||
    fail "ENTRYPOINT $(echo "$entry" | jq -r '.[0]') is not the kinit copied to $dest"
[ "$(echo "$entry" | jq -r '.[1]')" = "--" ] || fail "ENTRYPOINT does not end kinit's options with --"
grep -q '^STOPSIGNAL SIGTERM$' "$T/Dockerfile" || fail "STOPSIGNAL is not SIGTERM"
docker_grace=$(sed -n 's/^ENV SYSTEMK_GRACE_S=\([0-9]*\)$/\1/p' "$T/Dockerfile")
[ -n "$docker_grace" ] || fail "the Dockerfile sets no SYSTEMK_GRACE_S"
manifests=$(sed -n 's|^COPY --from=build /src/\(.*\)/\*\.json /etc/systemk/services/$|\1|p' "$T/Dockerfile")
[ -d "$SRC/$manifests" ] || fail "the Dockerfile copies manifests from '$manifests', not a directory"
ok "Dockerfile: installs kinit kconfigd kstartd kctl to $dest, ENTRYPOINT $entry, CMD $cmd"

# ---- the pod, statically ---------------------------------------------------------
tgps=$(sed -n 's/^ *terminationGracePeriodSeconds: *\([0-9]*\) *$/\1/p' "$T/pod.yaml")
pod_grace=$(sed -n 's/.*name: SYSTEMK_GRACE_S, value: "\([0-9]*\)".*/\1/p' "$T/pod.yaml")
probe=$(sed -n 's/^ *command: *\(\[.*\]\) *$/\1/p' "$T/pod.yaml" | head -n 1)
[ -n "$tgps" ] && [ -n "$pod_grace" ] || fail "pod: no terminationGracePeriodSeconds or SYSTEMK_GRACE_S"
echo "$probe" | jq -e 'type == "array"' >/dev/null || fail "pod: readiness probe command not found"
grep -q 'readinessProbe:' "$T/pod.yaml" || fail "pod: no readinessProbe"
kill_wait_ms=$(sed -n 's/^#define KINIT_KILL_WAIT_MS *\([0-9]*\).*/\1/p' "$SRC/kinit/kinit_core.h")
[ -n "$kill_wait_ms" ] || fail "KINIT_KILL_WAIT_MS not found in kinit/kinit_core.h"
[ "$tgps" = $((pod_grace + kill_wait_ms / 1000)) ] ||
    fail "terminationGracePeriodSeconds $tgps, want SYSTEMK_GRACE_S $pod_grace + kinit's $((kill_wait_ms / 1000)) s of reaping"
ok "pod: terminationGracePeriodSeconds $tgps = grace $pod_grace + reaping $((kill_wait_ms / 1000))"

# ---- the readiness probe without daemons ----------------------------------------
rc=0; "${BIN}/$(echo "$probe" | jq -r '.[0]')" $(echo "$probe" | jq -r '.[1:][]') >/dev/null 2>&1 || rc=$?
[ "$rc" = 5 ] || fail "readiness probe without daemons exits $rc; the page says 5"

# ---- ENTRYPOINT + CMD as a container's PID 1 ---------------------------------------
# SYSTEMK_GRACE_S unset: kinit's own default shows in its log at shutdown.
unset SYSTEMK_GRACE_S
export SYSTEMK_MANIFEST_DIR=$SRC/$manifests
mapfile -t argv < <(echo "$entry" "$cmd" | jq -r '.[]')
argv[0]=$BIN/kinit   # the image's /usr/local/bin/kinit
CONSOLE=$T/container.console
timeout 120 unshare --pid --fork --mount-proc --kill-child "${argv[@]}" >"$T/container.out" 2>"$CONSOLE" &
TO=$!; track "$TO"
wait_until 10 has_depth "$TO" 2 || fail "kinit did not start"
KP=$(tree "$TO" | sed -n 2p); track "$KP"
is_pid1 || fail "kinit is not PID 1 in the container"
probe_ok() { "$BIN/$(echo "$probe" | jq -r '.[0]')" $(echo "$probe" | jq -r '.[1:][]') >/dev/null 2>&1; }
wait_until 60 probe_ok || fail "the readiness probe never succeeded"
ok "readiness probe $probe: 5 without daemons, 0 once default is online"
# CMD ran once default was online: its `kctl list` printed the services.
wait_until 20 grep -q 'svc:/clock:default' "$T/container.out" || fail "CMD's kctl list printed nothing"
# The page's `docker exec sk kctl ...` lines.
grep -o 'docker exec sk kctl[^#]*' "$DOC" | sed 's/^docker exec sk //; s/ *$//' >"$T/execs"
[ -s "$T/execs" ] || fail "no docker exec lines"
while read -r line; do
    # shellcheck disable=SC2086
    "$BIN"/$line >/dev/null 2>"$T/exec.err" || fail "'$line' failed: $(cat "$T/exec.err")"
done <"$T/execs"
ok "docker exec lines work: $(tr '\n' ';' <"$T/execs")"

kill -TERM "$KP"   # docker stop: STOPSIGNAL
finish_bg 60
grep -q "grace $((docker_grace * 1000)) ms" "$CONSOLE" ||
    fail "kinit's default grace ($(grep -o 'grace [0-9]* ms' "$CONSOLE")) is not the page's SYSTEMK_GRACE_S=$docker_grace"
[ "$pod_grace" = "$docker_grace" ] || fail "pod SYSTEMK_GRACE_S $pod_grace, Dockerfile $docker_grace"
expect_rc 143 "docker stop: the main command (sleep) killed by the forwarded SIGTERM"
ok "docker stop: kinit exits 143 (CMD's status); default grace $docker_grace s as the page says"
echo PASS

#!/usr/bin/env bash
# valgrind_cycle.sh BIN_DIR -- kinit, kconfigd and kstartd under valgrind's
# memcheck through a full cycle: boot (import), a transaction, a refresh, a
# service restart, an orderly shutdown.  Each daemon runs through a wrapper
# that kinit starts with --configd/--startd (DESIGN section 7).  Every
# process must report no memcheck error and no definitely lost byte
# (--errors-for-leak-kinds=definite); no suppression file is needed.
# Forked children (services before their exec) stay silent.
# Skipped (exit 77) when valgrind is missing outside CI, or for a sanitizer
# build (ASan and valgrind exclude each other; ASan checks leaks there).
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
trap 'rc=$?; set +e; kill_trees; (exit $rc); cleanup' EXIT
if ! command -v valgrind >/dev/null; then
    [ -z "${CI:-}" ] || fail "valgrind is missing in CI (scripts/deps.sh installs it)"
    echo "skip: valgrind is not installed (scripts/deps.sh installs it)"; exit 77
fi
if nm "$BIN/kconfigd" 2>/dev/null | grep -q __asan_init ||
   ldd "$BIN/kconfigd" 2>/dev/null | grep -q libasan; then
    echo "skip: sanitizer build (valgrind cannot run ASan binaries)"; exit 77
fi
KCTL=$BIN/kctl
VG=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --error-exitcode=99 --child-silent-after-fork=yes
    --num-callers=30)
for d in kconfigd kstartd; do
    cat >"$T/$d" <<EOF
#!/bin/sh
exec ${VG[*]} --log-file=$T/vg.$d.%p "$BIN/$d" "\$@"
EOF
    chmod +x "$T/$d"
done
# kconfigd executes itself again after its boot import, setting
# SYSTEMK_KCONFIGD_IMPORTED to its pid -- not under valgrind, where its
# /proc/self/exe is valgrind's own and differs from the path it was
# started by, so it goes on in the one image.  Should it ever exec here,
# the new image is followed and logs to vg.kconfigd.PID.PID, the
# importing one (0 here) to vg.kconfigd.PID.0.
cat >"$T/kconfigd" <<EOF
#!/bin/sh
SYSTEMK_KCONFIGD_IMPORTED=0 exec ${VG[*]} --trace-children=yes \\
    --log-file=$T/vg.kconfigd.%p.%q{SYSTEMK_KCONFIGD_IMPORTED} "$BIN/kconfigd" "\$@"
EOF
cat >"$SYSTEMK_MANIFEST_DIR/a.json" <<'EOF'
{ "service": "a", "start": { "exec": ["/bin/sleep", "1000"] },
  "properties": { "app": { "k": { "type": "string", "value": "x" },
                           "s": { "type": "string", "value": "hush", "secret": true } } },
  "instances": { "default": { "enabled": true } } }
EOF
cat >"$SYSTEMK_MANIFEST_DIR/b.json" <<'EOF'
{ "service": "b", "model": "transient", "start": { "exec": ["/bin/true"] },
  "dependencies": [ { "name": "a", "grouping": "require_all", "restart_on": "restart",
                      "services": ["a"] } ],
  "instances": { "default": { "enabled": true } } }
EOF
SECONDS=0
export SYSTEMK_GRACE_S=30   # valgrind is slow: give the shutdown room
"${VG[@]}" --log-file="$T/vg.kinit.%p" "$BIN/kinit" --configd "$T/kconfigd" \
    --startd "$T/kstartd" 2>"$T/kinit.console" &
KP=$!; track "$KP"
CONSOLE=$T/kinit.console
wait_until 120 "$KCTL" --timeout 5 wait default --timeout 5 || fail "default not online under valgrind"
t_boot=$SECONDS
"$KCTL" --timeout 30 set a app/k string y >/dev/null || fail "set"
"$KCTL" --timeout 30 refresh a >/dev/null || fail "refresh"
"$KCTL" --timeout 30 restart a >/dev/null || fail "restart"
wait_until 60 is_state a online || fail "a not online after restart"
"$KCTL" --timeout 30 export >/dev/null || fail "export"
"$KCTL" --timeout 30 repo backup >/dev/null || fail "backup"
"$KCTL" --timeout 30 status a >/dev/null || fail "status"
"$KCTL" --timeout 30 startd status >/dev/null || fail "startd status"
kill -TERM "$KP"
rc=0
wait_until 120 gone "$KP" || fail "kinit did not exit under valgrind"
wait "$KP" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T"/vg.kinit.* >&2; fail "kinit under valgrind exited $rc"; }

# Every process valgrind followed: no error, nothing definitely lost.
n=0
for f in "$T"/vg.*; do
    name=${f##*/vg.}
    if ! grep -q "ERROR SUMMARY" "$f"; then
        # An image that executed another (kconfigd after its import) ends
        # without a summary: it must have reported nothing on the way.
        grep -q "Command: " "$f" && ! grep -q " at 0x" "$f" ||
            { cat "$f" >&2; fail "valgrind errors in $name"; }
        echo "figure: valgrind $name: executed itself again, 0 errors on the way"
        n=$((n + 1))
        continue
    fi
    grep -q "ERROR SUMMARY: 0 errors" "$f" || { cat "$f" >&2; fail "valgrind errors in $name"; }
    lost=$(grep -o "definitely lost: [0-9,]* bytes" "$f" | head -n 1 || true)
    [ -z "$lost" ] || [ "$lost" = "definitely lost: 0 bytes" ] || { cat "$f" >&2; fail "$name: $lost"; }
    echo "figure: valgrind $name: $(grep -o 'in use at exit: .*' "$f" | head -n 1 || true); ${lost:-definitely lost: 0 bytes}; 0 errors"
    n=$((n + 1))
done
for d in kinit kconfigd kstartd; do
    ls "$T"/vg."$d".* >/dev/null 2>&1 || fail "no valgrind log for $d"
done
ok "$n processes under valgrind through boot, commit, refresh, restart, shutdown: 0 errors, 0 bytes definitely lost (${SECONDS} s, boot ${t_boot} s)"

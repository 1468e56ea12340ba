#!/usr/bin/env bash
# cmake --install into a temp prefix, then build examples/client/readprop.c
# against the installed libkipc through pkg-config alone, and read a property
# (and fail to read a missing one) from a real kconfigd.
. "$(dirname "$0")/lib.sh" "$1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BIN/.." && pwd)
P=$T/prefix

cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1 \
    || { cat "$T/install.log" >&2; fail "cmake --install failed"; }
for f in include/systemk/kipc.h include/systemk/proto.h sbin/kinit sbin/kconfigd \
         sbin/kstartd bin/kctl share/man/man8/kctl.8 share/man/man5/systemk-manifest.5; do
    [ -e "$P/$f" ] || fail "cmake --install did not install $f"
done
pc=$(find "$P" -name systemk-kipc.pc)
[ -n "$pc" ] || fail "no systemk-kipc.pc installed"
ok "installed: programs, headers, static libs, $(basename "$pc")"

# Only pkg-config knows where libkipc is: no -I or -L of the source tree.
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs systemk-kipc) || fail "pkg-config systemk-kipc failed"
case "$flags" in *"$SRC"*|*"$BUILD"*) fail "pkg-config flags point into the build: $flags";; esac
# CONSUMER_CFLAGS: a sanitized build installs sanitized libraries, and a
# consumer must then link the sanitizer runtimes too (set by install.cmake).
cc -std=c11 -Wall -Wextra -Werror ${CONSUMER_CFLAGS:-} -o "$T/readprop" "$SRC/examples/client/readprop.c" \
    $flags 2>"$T/cc.err" || { cat "$T/cc.err" >&2; fail "readprop did not build against the install"; }
ok "readprop builds with \$(pkg-config --cflags --libs systemk-kipc) alone"

# Nobody listens yet: exit 5, as kctl would.
rc=0; "$T/readprop" web start exec 2>"$T/err" || rc=$?
[ "$rc" -eq 5 ] || fail "readprop without kconfigd exited $rc, want 5: $(cat "$T/err")"

start_configd
cat >"$T/web.json" <<'JSON'
{
  "service": "web",
  "description": "readprop's subject",
  "start": { "exec": ["/bin/sleep", "1000"] },
  "properties": { "app": { "port": { "type": "integer", "value": 8080 },
                           "name": { "type": "string", "value": "front end" } } }
}
JSON
timeout 20 "$BIN/kctl" --timeout 5 import "$T/web.json" >/dev/null 2>"$T/err" || {
    # import also refreshes kstartd, which is not running: the repository has it.
    timeout 20 "$BIN/kctl" --timeout 5 get web/app/port >/dev/null 2>>"$T/err" \
        || fail "kctl import failed: $(cat "$T/err")"
}
out=$("$T/readprop" web app port 2>"$T/err") || fail "readprop web app port: $(cat "$T/err")"
[ "$out" = 8080 ] || fail "readprop web app port printed '$out', want 8080"
out=$("$T/readprop" svc:/web:default start exec) || fail "readprop start/exec failed"
[ "$out" = "$(printf '/bin/sleep\n1000')" ] || fail "readprop start exec printed '$out'"
ok "readprop reads web/app/port and web/start/exec from kconfigd"

rc=0; "$T/readprop" web app nosuch 2>"$T/err" || rc=$?
[ "$rc" -eq 3 ] || fail "readprop of a missing property exited $rc, want 3: $(cat "$T/err")"
grep -q "not_found" "$T/err" || fail "readprop's error lacks the code: $(cat "$T/err")"
ok "a missing property: exit 3 and not_found"

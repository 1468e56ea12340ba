#!/usr/bin/env bash
# docs/tutorial.md, run: every ```sh block in order, in one bash with -e,
# against this build's binaries.  The tutorial's own kinit is stopped with
# SIGTERM (an orderly shutdown) if a block fails.  Needs curl and
# /usr/bin/python3 (the tutorial's web server); skipped (77) without them.
. "$(dirname "$0")/lib.sh" "$1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v curl >/dev/null && [ -x /usr/bin/python3 ] || { echo "SKIP: needs curl and /usr/bin/python3" >&2; exit 77; }

{
    echo 'set -ex'
    echo 'trap '\''rc=$?; if [ $rc -ne 0 ] && [ -n "${KINIT_PID:-}" ]; then kill -TERM "$KINIT_PID" 2>/dev/null; wait "$KINIT_PID" 2>/dev/null; cat "$TUT/kinit.log" >&2; fi'\'' EXIT'
    awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0; next } on' "$SRC/docs/tutorial.md" |
        sed -e "s|^cd /path/to/systemk .*|cd '$SRC'|" -e "s|\\\$PWD/build/bin|'$BIN'|"
} >"$T/tutorial.sh"
grep -q "kinit " "$T/tutorial.sh" || fail "no shell blocks found in docs/tutorial.md"
timeout 250 bash "$T/tutorial.sh" >"$T/tutorial.out" 2>&1 || {
    tail -n 60 "$T/tutorial.out" >&2; fail "a tutorial block failed"; }
grep -q "^hello from SystemK$" "$T/tutorial.out" || fail "the web site never answered"
grep -q "^kinit exited 0$" "$T/tutorial.out" || fail "kinit did not exit 0: $(tail "$T/tutorial.out")"
ok "docs/tutorial.md runs from start to shutdown ($(grep -c '^```sh$' "$SRC/docs/tutorial.md") blocks)"

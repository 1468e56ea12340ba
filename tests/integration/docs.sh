#!/usr/bin/env bash
# The documentation against the code: every man page renders with groff
# without a warning (and with man -l), kctl.8 documents every verb of kctl's
# verb table, kconfigd.8 every daemon exit code, docs/protocol.md every
# method and error code of proto/ and matches protodoc's output exactly.
. "$(dirname "$0")/lib.sh" "$1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MAN=$SRC/docs/man

command -v groff >/dev/null || fail "groff is missing (scripts/deps.sh groff-base man-db)"
command -v man >/dev/null || fail "man is missing (scripts/deps.sh groff-base man-db)"

# --- every page renders, without warnings -------------------------------------
for page in kinit.8 kconfigd.8 kstartd.8 kctl.8 systemk-manifest.5; do
    [ -f "$MAN/$page" ] || fail "docs/man/$page is missing"
    groff -man -Tutf8 -ww -z "$MAN/$page" 2>"$T/groff.err" || fail "groff failed on $page"
    [ ! -s "$T/groff.err" ] || fail "groff warns on $page: $(cat "$T/groff.err")"
    MANWIDTH=80 man -l "$MAN/$page" >"$T/page.txt" 2>"$T/man.err" \
        || fail "man -l $page: $(cat "$T/man.err")"
    name=${page%.*}
    grep -q "^NAME" "$T/page.txt" && grep -qi "^ *$name " "$T/page.txt" \
        || fail "man -l $page: no NAME section naming $name"
done
ok "five man pages render with man -l and groff -ww, without warnings"

# --- kctl.8 names every verb of the verb table --------------------------------
"$BIN/kctl" --help >"$T/help" || fail "kctl --help failed"
sed -n '/^verbs:/,/^$/p' "$T/help" | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' >"$T/verbs"
[ "$(wc -l <"$T/verbs")" -ge 10 ] || fail "too few verbs parsed from kctl --help: $(cat "$T/verbs")"
sed 's/\\-/-/g' "$MAN/kctl.8" >"$T/kctl.8"
while read -r verb; do
    grep -Eq "^\.(B|BI|BR) \"?$verb( |\"|$)" "$T/kctl.8" \
        || fail "kctl.8 does not document the verb '$verb' (add a .TP entry under VERBS)"
done <"$T/verbs"
ok "kctl.8 documents all $(wc -l <"$T/verbs") verbs of kctl's table"

# --- kconfigd.8 lists every daemon exit code with its reason ------------------
"$BIN/protodoc" --exits >"$T/exits"
while IFS=$'\t' read -r code reason; do
    awk -v c="$code" '$0 == ".B " c { getline; print; exit }' "$MAN/kconfigd.8" \
        | grep -qF "$reason" || fail "kconfigd.8 lacks exit code $code ($reason)"
done <"$T/exits"
ok "kconfigd.8 lists every daemon exit code of proto.h"

# --- docs/protocol.md: every method and error, and exactly protodoc's output --
"$BIN/protodoc" --methods >"$T/methods"
while read -r m; do
    grep -q "^| \`$m\` |" "$SRC/docs/protocol.md" \
        || fail "docs/protocol.md lacks the method $m"
done <"$T/methods"
"$BIN/protodoc" --errors >"$T/errors"
while read -r e; do
    grep -q "^| \`$e\` |" "$SRC/docs/protocol.md" \
        || fail "docs/protocol.md lacks the error code $e"
done <"$T/errors"
"$BIN/protodoc" "$SRC/proto/proto.h" "$SRC/docs/protocol.md" >"$T/protocol.md" \
    || fail "protodoc failed"
diff -u "$SRC/docs/protocol.md" "$T/protocol.md" >"$T/diff" \
    || fail "docs/protocol.md is out of step with proto/proto.h; run 'cmake --build BUILD --target protocol-doc':
$(head -n 40 "$T/diff")"
ok "docs/protocol.md lists all $(wc -l <"$T/methods") methods and matches proto/proto.h"

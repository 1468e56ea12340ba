#!/usr/bin/env bash
# A repository that cannot be used is replaced by the newest good backup at
# start, loudly; one that is fine is left alone.
. "$(dirname "$0")/lib.sh" "$1"

echo '{"service": "keep", "start": {"exec": ["/bin/true"]}}' >"$T/keep.json"
start_configd
"$BIN/kctl" import "$T/keep.json" >/dev/null || fail "import"
"$BIN/kctl" repo backup >/dev/null || fail "backup"
kill -TERM "$CONFIGD"; wait "$CONFIGD" || true

# A clean restart restores nothing.
start_configd
grep -q "restored backup" "$T/configd.console" && fail "restored a healthy repository"
kill -TERM "$CONFIGD"; wait "$CONFIGD" || true

# Garbage over the first pages: LMDB cannot open it.
head -c 16384 /dev/urandom | dd of="$SYSTEMK_STATE_DIR/repo/data.mdb" conv=notrunc status=none
start_configd
grep -q "kconfigd: error: repository unusable .*; restored backup '.*repo-.*\.mdb'" \
    "$T/configd.console" || fail "no loud restore: $(cat "$T/configd.console")"
"$BIN/kctl" get keep/start/exec >"$T/out" || fail "data lost after restore"
[ "$(cat "$T/out")" = /bin/true ] || fail "restored: $(cat "$T/out")"
"$BIN/kctl" repo check >/dev/null || fail "check after restore"
ls -d "$SYSTEMK_STATE_DIR"/repo.broken-* >/dev/null || fail "the broken copy was not kept"
ok "an unusable repository is restored from the newest backup, loudly"

# No backup and an unusable repository: exit 12 (KEXIT_REPO), nothing replaced.
kill -TERM "$CONFIGD"; wait "$CONFIGD" || true
rm -rf "$SYSTEMK_STATE_DIR/backups"
head -c 16384 /dev/urandom | dd of="$SYSTEMK_STATE_DIR/repo/data.mdb" conv=notrunc status=none
rc=0; timeout 20 "$BIN/kconfigd" 2>>"$T/configd.console" || rc=$?
[ "$rc" -eq 12 ] || fail "kconfigd exited $rc over an unusable repository, want 12"
ok "no good backup: exit 12, the repository left for the operator"

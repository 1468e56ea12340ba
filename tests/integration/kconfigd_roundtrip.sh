#!/usr/bin/env bash
# import -> export -> wipe -> import -> export gives identical JSON (with
# secrets, as root), over the examples plus instances, secrets, int64
# extremes and admin customisations.
. "$(dirname "$0")/lib.sh" "$1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

cat >"$T/rt.json" <<'JSON'
{ "service": "rt", "description": "round trip",
  "start": { "exec": ["/bin/sh", "-c", "echo ${FMRI} $$"] },
  "dependencies": [ { "name": "clk", "grouping": "optional_all", "restart_on": "none",
                      "services": ["clock"] } ],
  "instances": { "default": { "enabled": true },
                 "two": { "enabled": false,
                          "properties": { "app": { "n": { "type": "count", "value": 7 } } } } },
  "properties": { "app": {
      "min": { "type": "integer", "value": "-9223372036854775808" },
      "max": { "type": "count", "value": "18446744073709551615" },
      "list": { "type": "string", "values": ["a", "b c", "ü"] },
      "on": { "type": "boolean", "value": false },
      "tok": { "type": "string", "value": "t0k3n", "secret": true } } } }
JSON
start_configd
"$BIN/kctl" import "$SRC/examples" "$T/rt.json" >/dev/null 2>"$T/err" || fail "import: $(cat "$T/err")"
"$BIN/kctl" set rt app/extra string admin-set >/dev/null || fail "set"
"$BIN/kctl" delprop rt app/on >/dev/null || fail "delprop"
"$BIN/kctl" export --include-secrets >"$T/e1.json" || fail "export 1"
jq -e '.services | length >= 2' "$T/e1.json" >/dev/null || fail "export 1: $(head -c 300 "$T/e1.json")"
grep -q t0k3n "$T/e1.json" || fail "export 1 lacks the secret"

kill -TERM "$CONFIGD"; wait "$CONFIGD" || true
rm -rf "$SYSTEMK_STATE_DIR" "$SYSTEMK_RUN_DIR"
start_configd
"$BIN/kctl" import "$T/e1.json" >/dev/null 2>"$T/err" || fail "re-import: $(cat "$T/err")"
"$BIN/kctl" export --include-secrets >"$T/e2.json" || fail "export 2"
cmp -s "$T/e1.json" "$T/e2.json" || { diff "$T/e1.json" "$T/e2.json" >&2; fail "exports differ"; }
ok "import -> export -> wipe -> import -> export: identical ($(wc -c <"$T/e1.json") bytes)"

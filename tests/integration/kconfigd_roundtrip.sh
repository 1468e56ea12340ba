#!/usr/bin/env bash
# import -> export -> wipe -> import -> export gives identical JSON (with
# secrets, as root), over the examples plus instances, secrets, int64
# extremes and admin customisations -- also an instance hiding what it
# inherits from its service (null in the manifest, delprop by the admin):
# after the round trip it is still hidden there and still inherited by the
# other instance.  A manifest without a description gets "" (never null).
. "$(dirname "$0")/lib.sh" "$1"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

cat >"$T/rt.json" <<'JSON'
{ "service": "rt", "description": "round trip",
  "start": { "exec": ["/bin/sh", "-c", "echo ${FMRI} $$"] },
  "dependencies": [ { "name": "clk", "grouping": "optional_all", "restart_on": "none",
                      "services": ["clock"] } ],
  "instances": { "default": { "enabled": true },
                 "two": { "enabled": false,
                          "properties": { "app": { "n": { "type": "count", "value": 7 },
                                                   "max": null },
                                          "grp": null },
                          "property_groups": { "dep_clk": null } } },
  "properties": { "app": {
      "min": { "type": "integer", "value": "-9223372036854775808" },
      "max": { "type": "count", "value": "18446744073709551615" },
      "list": { "type": "string", "values": ["a", "b c", "ü"] },
      "on": { "type": "boolean", "value": false },
      "tok": { "type": "string", "value": "t0k3n", "secret": true } },
    "grp": { "g": { "type": "string", "value": "inherited" } } } }
JSON
echo '{"service": "nodesc", "start": {"exec": ["/bin/true"]}}' >"$T/nodesc.json"
# hidden SVC:INST PG[/PROP]: kctl get says not found (exit 3).
hidden() { local rc=0; "$BIN/kctl" get "$1/$2" >/dev/null 2>&1 || rc=$?; [ "$rc" = 3 ]; }
check_hides() {
    hidden rt:two app/max || fail "$1: rt:two still has app/max"
    hidden rt:two app/list || fail "$1: rt:two still has app/list"
    hidden rt:two grp || fail "$1: rt:two still has group grp"
    hidden rt:two dep_clk || fail "$1: rt:two still has group dep_clk"
    "$BIN/kctl" get rt:two/app/n >/dev/null || fail "$1: rt:two lost its own app/n"
    for p in app/max app/list grp/g dep_clk/services; do
        "$BIN/kctl" get "rt:default/$p" >/dev/null || fail "$1: rt:default lost $p"
    done
}
start_configd
"$BIN/kctl" import "$SRC/examples" "$T/rt.json" "$T/nodesc.json" >/dev/null 2>"$T/err" ||
    fail "import: $(cat "$T/err")"
"$BIN/kctl" set rt app/extra string admin-set >/dev/null || fail "set"
"$BIN/kctl" delprop rt app/on >/dev/null || fail "delprop"
"$BIN/kctl" delprop rt:two app/list >/dev/null || fail "delprop of an inherited property"
check_hides "before the round trip"
[ "$("$BIN/kctl" --json get nodesc/general/description | jq -c .property_groups.general.description.values)" = '[""]' ] ||
    fail "a manifest without a description: $("$BIN/kctl" --json get nodesc/general)"
ok "instance hides and a missing description, before the round trip"
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
jq -e '.services[] | select(.service == "rt") | .instances.two.property_groups |
       .app.max == null and .app.list == null and .grp == null and .dep_clk == null and
       (has("grp") and has("dep_clk") and (.app | has("max") and has("list")))' \
    "$T/e1.json" >/dev/null || fail "export does not show rt:two's hides as null"
check_hides "after the round trip"
ok "instance hides survive the round trip, as null in the export"

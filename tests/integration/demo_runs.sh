#!/usr/bin/env bash
# The README's demo command, scripted: every example service comes online in
# a private PID namespace and the demo ends with kinit's exit status 0.
. "$(dirname "$0")/lib.sh" "$1"
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$T/demo.out
rc=0
DEMO_SECONDS=10 SYSTEMK_BIN=$BIN timeout 60 "$top/scripts/demo.sh" >"$out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { tail -n 40 "$out"; fail "demo exited $rc"; }
# The last screen of the demo: each example must be online there.
last=$(awk '/SystemK demo:/{buf=""} {buf=buf"\n"$0} END{print buf}' "$out")
for f in "$top"/examples/*.json; do
    svc=$(jq -r .service "$f")
    echo "$last" | grep -E "^online .*svc:/$svc:default" >/dev/null \
        || { echo "$last"; fail "example $svc not online in the demo"; }
    ok "demo shows $svc online"
done
grep -q "kinit exited with status 0" "$out" || { tail -n 20 "$out"; fail "kinit did not exit 0"; }
ok "demo shut down cleanly"

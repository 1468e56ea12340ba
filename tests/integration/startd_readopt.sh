#!/usr/bin/env bash
# it_startd_readopt: kstartd's death never takes a service down (DESIGN 1).
#
# Under kinit (a child subreaper here): N services online; SIGKILL kstartd;
# every service keeps its pid; one service is killed while kstartd is down;
# `kctl startd restart`; all N online again, the same pids except the killed
# one, which was restarted (its exit came from kinit's exit ring).
# N defaults to 100 (READOPT_N overrides).
. "$(dirname "$0")/lib.sh" "$1"
M=it-startd-readopt-$$
N=${READOPT_N:-100}
trap 'rc=$?; stop_under_kinit "$M"; set +e; (exit $rc); cleanup' EXIT
K() { "$BIN/kctl" "$@"; }

for i in $(seq 1 "$N"); do
    cat >"$SYSTEMK_MANIFEST_DIR/s$i.json" <<EOF
{"service": "s$i", "start": {"exec": ["/bin/sh", "-c", "sleep 100000; : $M"]},
 "restart": {"delay_ms": 0},
 "instances": {"default": {"enabled": true}}}
EOF
done
# A temporary disable must survive kstartd's death too.
cat >"$SYSTEMK_MANIFEST_DIR/tmpoff.json" <<EOF
{"service": "tmpoff", "start": {"exec": ["/bin/sh", "-c", "sleep 100000; : $M"]},
 "instances": {"default": {"enabled": true}}}
EOF

"$BIN/kinit" 2>>"$T/kinit.console" &
KINIT=$!; track "$KINIT"
wait_until 30 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" || fail "kstartd did not come up"
[ "$(kctl_rc wait default --timeout 60)" = 0 ] || fail "default not online"
K disable -t -s tmpoff >/dev/null || fail "disable -t tmpoff"
ok "$N services online under kinit"

snap() { K list --json | jq -r '.[] | select(.fmri | test("^svc:/s[0-9]+:")) | "\(.fmri) \(.state) \(.pid)"' | sort; }
snap >"$T/before"
[ "$(wc -l <"$T/before")" = "$N" ] || fail "expected $N instances"
grep -qv ' online ' "$T/before" && fail "not all online: $(grep -v ' online ' "$T/before" | head -3)"

spid=$(K startd status --json | jq -r '.pid')
[ -n "$spid" ] && [ "$spid" != null ] || fail "no kstartd pid from kinit"
kill -KILL "$spid"
wait_until 10 sh -c "! kill -0 $spid" || fail "kstartd did not die"
# No service was touched: every pid still runs.
while read -r f st pid; do
    kill -0 "$pid" 2>/dev/null || fail "$f (pid $pid) died with kstartd"
done <"$T/before"
ok "SIGKILL kstartd: all $N services still run"

# One dies while nobody watches.
victim=$(awk '$1 == "svc:/s7:default" {print $3}' "$T/before")
kill -KILL "$victim"
wait_until 10 sh -c "! kill -0 $victim 2>/dev/null" || fail "victim did not die"

K startd restart >/dev/null || fail "kctl startd restart"
wait_until 30 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" || fail "kstartd did not come back"
[ "$(kctl_rc wait default --timeout 60)" = 0 ] || fail "default not online after restart"
[ "$(kctl_rc wait s7 --timeout 30)" = 0 ] || fail "s7 not back online"
snap >"$T/after"
[ "$(wc -l <"$T/after")" = "$N" ] || fail "instances lost"
changed=$(diff "$T/before" "$T/after" | grep '^>' | awk '{print $2}' || true)
[ "$changed" = "svc:/s7:default" ] || fail "changed after re-adoption: '$changed' (want only s7)"
newpid=$(awk '$1 == "svc:/s7:default" {print $3}' "$T/after")
[ "$newpid" != "$victim" ] && kill -0 "$newpid" || fail "s7 was not restarted"
grep -q 'adopted pid' "$SYSTEMK_LOG_DIR/s1:default.log" || fail "no adoption line in s1's log"
grep -q "exit: pid $victim killed by signal 9" "$SYSTEMK_LOG_DIR/s7:default.log" \
    || fail "s7's exit status (from kinit's ring) not logged"
[ "$(state_of tmpoff)" = disabled ] || fail "temporary disable lost: $(state_of tmpoff)"
K status tmpoff --json | jq -e '.temporary == true' >/dev/null || fail "tmpoff not temporary"
ok "after kctl startd restart: same pids, s7 restarted ($victim -> $newpid), -t kept"

# An adopted service that exits later is seen through its pidfd.
p3=$(pid_of s3)
kill -KILL "$p3"
wait_until 30 sh -c "p=\$('$BIN/kctl' list --json | jq -r '.[] | select(.fmri==\"svc:/s3:default\") | .pid // empty'); [ -n \"\$p\" ] && [ \"\$p\" != $p3 ]" \
    || fail "adopted s3 not restarted after its exit"
grep -q "exit: pid $p3 killed by signal 9" "$SYSTEMK_LOG_DIR/s3:default.log" \
    || fail "adopted exit status not from kinit's ring"
ok "an adopted service's later exit is seen (pidfd + kinit.exits)"

kill -TERM "$KINIT"
rc=0; wait "$KINIT" || rc=$?
[ $rc -eq 0 ] || fail "kinit exited $rc"
pgrep -f "$M" >/dev/null && fail "a service outlived the shutdown"
echo PASS

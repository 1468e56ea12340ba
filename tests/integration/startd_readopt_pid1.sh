#!/usr/bin/env bash
# it_startd_readopt_pid1: kstartd's death never takes a service down
# (DESIGN section 1), with kinit as PID 1 of a private PID namespace
# (unshare --pid --fork --mount-proc --kill-child), where the orphans of a
# dead kstartd are re-parented to kinit itself.
#
# N services online (100; READOPT_N overrides); SIGKILL kstartd; no service
# is restarted or killed; one service is killed while kstartd is down (its
# exit reaches the next kstartd through kinit's exit ring); `kctl startd
# restart`; all N online with the same pids except that one, which was
# restarted.  Pids are the namespace's: commands on them run inside it
# (nsenter).  Every wait is bounded; cleanup is by pid.
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"
command -v nsenter >/dev/null || { echo "SKIP: no nsenter"; exit 0; }
M=it-startd-readopt-pid1-$$
N=${READOPT_N:-100}
K() { "$BIN/kctl" "$@"; }
# ns CMD...: CMD inside kinit's PID and mount namespaces (sees its pids).
ns() { nsenter -t "$KP" -p -m -- "$@"; }

for i in $(seq 1 "$N"); do
    cat >"$SYSTEMK_MANIFEST_DIR/s$i.json" <<EOF
{"service": "s$i", "start": {"exec": ["/bin/sh", "-c", "sleep 100000; : $M"]},
 "restart": {"delay_ms": 0},
 "instances": {"default": {"enabled": true}}}
EOF
done

# As run_bg pid1 (kinit_lib.sh), with room for 100 services on a busy host.
CONSOLE=$T/kinit.console
timeout 240 unshare --pid --fork --mount-proc --kill-child "$BIN/kinit" 2>"$CONSOLE" &
TO=$!; track "$TO"
wait_until 10 has_depth "$TO" 2 || fail "kinit did not start"
KP=$(tree "$TO" | sed -n 2p)  # timeout ─ unshare ─ kinit
track "$KP"
is_pid1 || fail "kinit is not PID 1 of its namespace"
wait_until 60 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" || fail "kstartd did not come up"
[ "$(kctl_rc wait default --timeout 60)" = 0 ] || fail "default not online"

snap() { K list --json | jq -r '.[] | select(.fmri | test("^svc:/s[0-9]+:")) | "\(.fmri) \(.state) \(.pid)"' | sort; }
snap >"$T/before"
[ "$(wc -l <"$T/before")" = "$N" ] || fail "expected $N instances, got $(wc -l <"$T/before")"
! grep -qv ' online ' "$T/before" || fail "not all online: $(grep -v ' online ' "$T/before" | head -3)"
ok "PID 1: $N services online"

# alive PID...: prints the pids (namespace numbering) that do not run.
dead_of() { ns sh -c 'for p; do kill -0 "$p" 2>/dev/null || echo "$p"; done' sh "$@"; }
startd_down() { [ "$(K startd status --json | jq -r '.running')" = false ]; }

spid=$(K startd status --json | jq -r '.pid')
[ -n "$spid" ] && [ "$spid" != null ] || fail "no kstartd pid from kinit"
ns kill -KILL "$spid" || fail "could not SIGKILL kstartd (pid $spid in the namespace)"
wait_until 10 startd_down || fail "kinit did not see kstartd die"
dead=$(dead_of $(awk '{print $3}' "$T/before"))
[ -z "$dead" ] || fail "services died with kstartd: $dead"
is_pid1 || fail "kinit is no longer PID 1"
ok "SIGKILL kstartd: all $N services still run, kinit still PID 1"

# One dies while nobody but kinit watches: kinit reaps it, into its ring.
victim=$(awk '$1 == "svc:/s7:default" {print $3}' "$T/before")
ns kill -KILL "$victim" || fail "could not kill s7 (pid $victim)"
wait_until 10 sh -c "[ -n \"\$(nsenter -t $KP -p -m -- sh -c 'kill -0 $victim 2>/dev/null || echo gone')\" ]" ||
    fail "s7 did not die"
# Nobody restarted anything meanwhile.
sleep 0.5
dead=$(dead_of $(awk '$1 != "svc:/s7:default" {print $3}' "$T/before"))
[ -z "$dead" ] || fail "services died while kstartd was down: $dead"

K startd restart >/dev/null || fail "kctl startd restart"
wait_until 30 "$BIN/ksock" hello "$SYSTEMK_RUN_DIR/startd.sock" || fail "kstartd did not come back"
[ "$(kctl_rc wait default --timeout 60)" = 0 ] || fail "default not online after restart"
[ "$(kctl_rc wait s7 --timeout 30)" = 0 ] || fail "s7 not back online"
snap >"$T/after"
[ "$(wc -l <"$T/after")" = "$N" ] || fail "instances lost"
changed=$(diff "$T/before" "$T/after" | grep '^>' | awk '{print $2}' || true)
[ "$changed" = "svc:/s7:default" ] || fail "changed after re-adoption: '$changed' (want only s7)"
newpid=$(awk '$1 == "svc:/s7:default" {print $3}' "$T/after")
[ "$newpid" != "$victim" ] && [ -z "$(dead_of "$newpid")" ] || fail "s7 was not restarted"
grep -q 'adopted pid' "$SYSTEMK_LOG_DIR/s1:default.log" || fail "no adoption line in s1's log"
grep -q "exit: pid $victim killed by signal 9" "$SYSTEMK_LOG_DIR/s7:default.log" ||
    fail "s7's exit status (from kinit's ring) not logged"
ok "PID 1: after kctl startd restart all $N online, same pids, s7 restarted ($victim -> $newpid)"

kill -TERM "$KP"
wait_until 60 gone "$TO" || fail "kinit did not exit within 60 s"
RC=0; wait "$TO" || RC=$?
expect_rc 0 "kinit shutdown"
! pgrep -f "$M" >/dev/null || fail "a service outlived the shutdown"
echo PASS

#!/usr/bin/env bash
# Regression (nng 1.5.2 listener bug, NOTES.md): half an SP header sent to
# each daemon's socket, then a close; the next normal request is answered.
# Also junk after a full handshake, and junk on kinit's seqpacket socket.
. "$(dirname "$0")/lib.sh" "$1"

start_configd
start_startd
for s in configd startd; do
    sock=$SYSTEMK_RUN_DIR/$s.sock
    "$BIN/ksock" halfsp "$sock" 50
    "$BIN/ksock" garbage "$sock"
    out=$(timeout 10 "$BIN/ksock" hello "$sock") || fail "$s silent after half handshakes"
    echo "$out" | jq -e '.name | startswith("k.")' >/dev/null || fail "$s: bad hello $out"
    ok "$s answers after 50 half handshakes and junk: $out"
done

# kinit's socket: plain AF_UNIX seqpacket.  Run kinit as a subreaper here,
# with daemons of its own.
kill -TERM "$STARTD" "$CONFIGD"; wait "$STARTD" "$CONFIGD" || true
"$BIN/kinit" 2>>"$T/kinit.console" &
KINIT=$!; track "$KINIT"
wait_until 20 "$BIN/ksock" unix "$SYSTEMK_RUN_DIR/kinit.sock" sys.hello \
    || fail "kinit.sock never answered"
"$BIN/ksock" unixjunk "$SYSTEMK_RUN_DIR/kinit.sock"
out=$(timeout 10 "$BIN/ksock" unix "$SYSTEMK_RUN_DIR/kinit.sock" sys.hello) \
    || fail "kinit silent after junk"
echo "$out" | jq -e '.name == "kinit" and .level >= 1' >/dev/null || fail "kinit hello: $out"
ok "kinit answers after junk: $out"
kill -TERM "$KINIT"
rc=0; wait "$KINIT" || rc=$?
[ "$rc" -eq 0 ] || fail "kinit exit status $rc"

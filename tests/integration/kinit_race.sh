#!/bin/bash
# kinit_race.sh BIN_DIR -- the main command and another child of kinit (an
# orphan it left) exit at the same instant: kinit must never hang and must
# exit with the main command's status.  200 runs as a subreaper, 50 as PID 1
# of a PID namespace, on the real stack with an empty manifest dir; each run
# bounded by timeout 60 (exit 124 would be a hang).
. "$(dirname "$0")/lib.sh" "$1"
. "$(dirname "$0")/kinit_lib.sh"

race() {  # MODE N
    local mode=$1 n=$2 i
    for i in $(seq 1 "$n"); do
        fresh_dirs
        # (sleep &) orphans the first sleep to kinit; both end together.
        run_fg "$mode" -- sh -c '(sleep 0.02 &); exec sleep 0.02; exit 9'
        expect_rc 0 "$mode: run $i of $n"
    done
    ok "$mode: main command and an orphan exiting together: $n runs, no hang"
}
# SYSTEMK_TEST_QUICK (scripts/test.sh sets it for the ASan+UBSan suite,
# which shows memory errors, not races, in a quarter of the runs).
if [ -n "${SYSTEMK_TEST_QUICK:-}" ]; then race subreaper 50; race pid1 12
else race subreaper 200; race pid1 50; fi

#!/usr/bin/env bash
# test.sh: build SystemK and run every test, twice: a normal build, then an
# ASan+UBSan build of the whole suite (SYSTEMK_TEST_SANITIZE=0 skips it).
# Installs the Debian packages it needs when they are missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# curl: the tutorial test; valgrind: the leak check (it_valgrind_cycle)
scripts/deps.sh clang python3 groff-base man-db curl valgrind
jobs=$(nproc)

run_suite() { # BUILD_DIR CMAKE_ARGS...
    local dir=$1; shift
    cmake -S . -B "$dir" -DSYSTEMK_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" -- --no-print-directory >"$dir.build.log" 2>&1 \
        || { tail -n 60 "$dir.build.log"; echo "test: build failed in $dir" >&2; exit 1; }
    # Integration tests are serial (they run PID namespaces); units in parallel.
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 600
}

echo "== normal build =="
run_suite build
if [ "${SYSTEMK_TEST_SANITIZE:-1}" = 1 ]; then
    echo "== ASan + UBSan build =="
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # The long repetition tests (200 exit races, 20 kconfigd kills, a 10,000
    # request flood) run shorter here: the normal suite above shows the
    # figures the issues ask for; this one looks for memory errors, and
    # ASan makes each repetition 3-6x slower (CI stays under 30 minutes).
    export SYSTEMK_TEST_QUICK=1
    run_suite build-asan -DSYSTEMK_SANITIZE=ON -DSYSTEMK_NNG_DIR="$top/build/nng"
fi
if [ "${SYSTEMK_TEST_FUZZ:-1}" = 1 ]; then
    echo "== libFuzzer targets, ${SYSTEMK_FUZZ_SECONDS:-20} s each =="
    CC=clang cmake -S . -B build-fuzz -DSYSTEMK_FUZZ=ON -DSYSTEMK_NNG_DIR="$top/build/nng" >/dev/null
    cmake --build build-fuzz -j"$jobs" --target fuzzers >build-fuzz.build.log 2>&1 \
        || { tail -n 60 build-fuzz.build.log; echo "test: fuzz build failed" >&2; exit 1; }
    ctest --test-dir build-fuzz -L fuzz --output-on-failure
fi
echo "test: all suites passed"

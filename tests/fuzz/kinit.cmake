# kinit: the control socket's request path (ctl.c) with shutdown.c; the
# fuzzer stubs the forking sup_start() and main.c's clocks, and wraps kill
# and fork to abort (no handler may signal or fork).
systemk_fuzz(fuzz_kinit_ctl
             SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_kinit_ctl.c
                     ${CMAKE_SOURCE_DIR}/kinit/ctl.c
                     ${CMAKE_SOURCE_DIR}/kinit/shutdown.c
             LIBS kinit_core)
target_link_options(fuzz_kinit_ctl PRIVATE -Wl,--wrap=kill -Wl,--wrap=fork)

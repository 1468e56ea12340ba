# kstartd: request dispatch (k_handle) over a loaded, settled instance table,
# with kstartd's shell minus main.c.  spawn.c's two spawners are wrapped at
# link time by the fuzzer's own (no process: pids no process can have), and
# kill and clone by guards that abort unless the target is such a pid.
systemk_fuzz(fuzz_startd_dispatch
             SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_startd_dispatch.c
                     ${CMAKE_SOURCE_DIR}/kstartd/handlers.c
                     ${CMAKE_SOURCE_DIR}/kstartd/ops.c
                     ${CMAKE_SOURCE_DIR}/kstartd/wait.c
                     ${CMAKE_SOURCE_DIR}/kstartd/instance.c
                     ${CMAKE_SOURCE_DIR}/kstartd/settle.c
                     ${CMAKE_SOURCE_DIR}/kstartd/spawn.c
                     ${CMAKE_SOURCE_DIR}/kstartd/notify.c
                     ${CMAKE_SOURCE_DIR}/kstartd/readopt.c
                     ${CMAKE_SOURCE_DIR}/kstartd/cgroup.c
             LIBS kstartd_core kipc Threads::Threads)
target_link_options(fuzz_startd_dispatch PRIVATE
                    -Wl,--wrap=spawn_method -Wl,--wrap=spawn_method_cg
                    -Wl,--wrap=kill -Wl,--wrap=clone)

# Hardening (issue 7): hostile input, privilege, resource exhaustion, the
# fault matrix and a valgrind leak check.  Each test bounds its own time;
# label `hardening` (and `valgrind` for the leak check).
add_executable(kabuse ${CMAKE_SOURCE_DIR}/tests/tools/kabuse.c)
target_link_libraries(kabuse PRIVATE kipc Threads::Threads)

function(systemk_hardening_itest name script timeout)
  systemk_itest(${name} ${script})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout}
                       LABELS "integration;hardening;${ARGN}")
endfunction()

systemk_hardening_itest(it_socket_abuse socket_abuse.sh 150)
systemk_hardening_itest(it_privilege privilege.sh 120)
systemk_hardening_itest(it_exhaustion exhaustion.sh 150)
systemk_hardening_itest(it_fault_matrix fault_matrix.sh 180)
systemk_hardening_itest(it_valgrind_cycle valgrind_cycle.sh 240 valgrind)
set_tests_properties(it_valgrind_cycle PROPERTIES SKIP_RETURN_CODE 77)

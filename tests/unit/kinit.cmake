# kinit's pure core: arguments, the exit ring, statuses, backoff, /proc
# parsing, the shutdown plan.  No process is forked, no signal sent.
systemk_test(test_kinit_args
  SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kinit_args.c LIBS kinit_core)
systemk_test(test_kinit_ring
  SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kinit_ring.c LIBS kinit_core)
systemk_test(test_kinit_policy
  SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kinit_policy.c LIBS kinit_core)
systemk_test(test_kinit_proctab
  SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kinit_proctab.c LIBS kinit_core)

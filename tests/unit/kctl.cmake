# kctl's unit suites: pure parts (names, command line, output) and whole
# command lines against a fake daemon behind the transport seam.
systemk_test(test_kctl_fmri SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kctl_fmri.c
             LIBS kctl_core)
systemk_test(test_kctl_args SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kctl_args.c
             LIBS kctl_core)
systemk_test(test_kctl_output SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kctl_output.c
             LIBS kctl_core)
systemk_test(test_kctl_run SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kctl_run.c
             LIBS kctl_core)
systemk_test(test_kctl_unit SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kctl_unit.c
             LIBS kctl_core)

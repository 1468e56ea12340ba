# kstartd's pure core: no process is forked, no socket opened.
systemk_test(test_kstartd_restarter
  SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kstartd_restarter.c LIBS kstartd_core)
systemk_test(test_kstartd_config
  SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kstartd_config.c LIBS kstartd_core)
systemk_test(test_kstartd_graph
  SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kstartd_graph.c LIBS kstartd_core)

# kconfigd: the pure core, the LMDB repository (in a temp dir, opened inside
# each forked test), and the dispatch table.
systemk_test(test_kconfigd_manifest
             SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kconfigd_manifest.c
             LIBS kconfigd_core)
systemk_test(test_kconfigd_repo
             SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kconfigd_repo.c
             LIBS kconfigd_core)
systemk_test(test_kconfigd_handlers
             SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kconfigd_handlers.c
             LIBS kconfigd_core)
systemk_test(test_kconfigd_txn
             SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kconfigd_txn.c
             LIBS kconfigd_core)

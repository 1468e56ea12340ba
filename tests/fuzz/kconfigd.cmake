# kconfigd: request dispatch (params validation and handlers over a real
# repository) and manifest parsing.
systemk_fuzz(fuzz_configd_dispatch
             SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_configd_dispatch.c
             LIBS kconfigd_core)
systemk_fuzz(fuzz_manifest SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_manifest.c
             LIBS kconfigd_core)

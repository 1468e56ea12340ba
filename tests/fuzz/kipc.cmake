systemk_fuzz(fuzz_envelope SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_envelope.c LIBS kipc_core)

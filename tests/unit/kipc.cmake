systemk_test(test_kipc_envelope SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kipc_envelope.c
             LIBS kipc_core)
systemk_test(test_kipc_server SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kipc_server.c
             LIBS kipc)
systemk_test(test_kipc_client SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kipc_client.c
             LIBS kipc)
systemk_test(test_kipc_fdpass SOURCES ${CMAKE_SOURCE_DIR}/tests/unit/kipc_fdpass.c
             LIBS kipc_core)

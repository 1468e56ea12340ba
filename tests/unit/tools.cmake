# Test tools (not tests themselves): built beside the binaries.
add_executable(ksock ${CMAKE_SOURCE_DIR}/tests/tools/ksock.c)
target_link_libraries(ksock PRIVATE kipc)

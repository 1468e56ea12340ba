# Documentation: man pages render without warnings, kctl.8 names every verb,
# docs/protocol.md matches proto/ (protodoc regenerates its tables).
add_executable(protodoc ${CMAKE_SOURCE_DIR}/tests/tools/protodoc.c)
target_link_libraries(protodoc PRIVATE kproto)
add_custom_target(protocol-doc
  COMMAND $<TARGET_FILE:protodoc> ${CMAKE_SOURCE_DIR}/proto/proto.h
          ${CMAKE_SOURCE_DIR}/docs/protocol.md > ${CMAKE_BINARY_DIR}/protocol.md.new
  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_BINARY_DIR}/protocol.md.new
          ${CMAKE_SOURCE_DIR}/docs/protocol.md
  DEPENDS protodoc
  COMMENT "regenerating docs/protocol.md from proto/proto.h")
systemk_itest(it_docs docs.sh)

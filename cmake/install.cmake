# install.cmake -- what `cmake --install` puts where.
#
#   bin/kctl, sbin/{kinit,kconfigd,kstartd}   kinit finds the daemons beside it
#   include/systemk/{kipc.h,proto.h}          the public client API
#   LIBDIR/lib{kipc,kipc_core,kproto}.a       libkipc, static
#   LIBDIR/systemk/libnng.a                   the patched nng libkipc needs,
#                                             kept apart from a system libnng
#   LIBDIR/pkgconfig/systemk-kipc.pc          cflags and libs for a client
#   share/man/man{5,8}, share/doc/systemk, share/bash-completion
#
# The .pc file locates the prefix from its own directory (${pcfiledir}), so
# `cmake --install BUILD --prefix DIR` gives a working tree at any DIR.
include(GNUInstallDirs)

foreach(prog kinit kconfigd kstartd)
  if(TARGET ${prog})
    install(TARGETS ${prog} RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
  endif()
endforeach()
install(TARGETS kctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(TARGETS kipc kipc_core kproto ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${SYSTEMK_NNG_DIR}/install/lib/libnng.a
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/systemk)
install(FILES ${CMAKE_SOURCE_DIR}/libkipc/kipc.h ${CMAKE_SOURCE_DIR}/proto/proto.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/systemk)

file(RELATIVE_PATH SYSTEMK_PC_TO_PREFIX
     "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${CMAKE_SOURCE_DIR}/cmake/systemk-kipc.pc.in
               ${CMAKE_BINARY_DIR}/systemk-kipc.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/systemk-kipc.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${CMAKE_SOURCE_DIR}/docs/man/kinit.8 ${CMAKE_SOURCE_DIR}/docs/man/kconfigd.8
              ${CMAKE_SOURCE_DIR}/docs/man/kstartd.8 ${CMAKE_SOURCE_DIR}/docs/man/kctl.8
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_SOURCE_DIR}/docs/man/systemk-manifest.5
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${CMAKE_SOURCE_DIR}/docs/protocol.md ${CMAKE_SOURCE_DIR}/docs/tutorial.md
              ${CMAKE_SOURCE_DIR}/examples/client/readprop.c
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/contrib/bash-completion/kctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# What `cmake --install` puts where, and the .deb CPack makes of it (SPEC §12):
# the binary, include/luamig.h, the library (static and shared) with
# luamig.pc, the man page and the shell completions. The man page and the
# completion scripts are generated at build time by the binary itself from its
# command table, so they cannot drift from `luamig help`.
include(GNUInstallDirs)

# The library for C programs. luamig_core (static, what the CLI and the tests
# link) is installed as libluamig.a; luamig_shared is libluamig.so, linked
# from luamig_core's own objects (compiled position-independent).
set_target_properties(luamig_core PROPERTIES OUTPUT_NAME luamig)
add_library(luamig_shared SHARED $<TARGET_OBJECTS:luamig_core>)
set_target_properties(luamig_shared PROPERTIES
  OUTPUT_NAME luamig
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR})
target_include_directories(luamig_shared PUBLIC ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(luamig_shared PUBLIC PkgConfig::LUA PkgConfig::SQLITE3 m ${CMAKE_DL_LIBS})

# Generated from the binary: luamig.1 and the completion scripts.
set(LM_GEN ${CMAKE_BINARY_DIR})
add_custom_command(
  OUTPUT ${LM_GEN}/luamig.1
  COMMAND luamig __man > ${LM_GEN}/luamig.1
  DEPENDS luamig
  COMMENT "Generating the man page luamig.1"
  VERBATIM)
add_custom_command(
  OUTPUT ${LM_GEN}/completions/luamig ${LM_GEN}/completions/_luamig ${LM_GEN}/completions/luamig.fish
  COMMAND ${CMAKE_COMMAND} -E make_directory ${LM_GEN}/completions
  COMMAND luamig completion bash > ${LM_GEN}/completions/luamig
  COMMAND luamig completion zsh > ${LM_GEN}/completions/_luamig
  COMMAND luamig completion fish > ${LM_GEN}/completions/luamig.fish
  DEPENDS luamig
  COMMENT "Generating the bash, zsh and fish completions"
  VERBATIM)
add_custom_target(luamig_docs ALL DEPENDS
  ${LM_GEN}/luamig.1 ${LM_GEN}/completions/luamig ${LM_GEN}/completions/_luamig
  ${LM_GEN}/completions/luamig.fish)

install(TARGETS luamig RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS luamig_core luamig_shared
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/luamig.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/luamig DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${LM_GEN}/luamig.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${LM_GEN}/completions/luamig DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${LM_GEN}/completions/_luamig DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${LM_GEN}/completions/luamig.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
# luamig.pc is written at install time, for the prefix actually installed to
# (cmake --install --prefix, or /usr inside the .deb).
install(CODE "
  set(LM_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(LM_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(LM_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(LM_PC_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/luamig.pc.in\"
                 \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/luamig.pc\" @ONLY)
  message(STATUS \"Installing: \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/luamig.pc\")
")

# cpack -G DEB: a .deb of the same install. libpq is dlopen()ed by
# engine/dialect/pq_load.c, so it is not in the binary's NEEDED entries and
# dpkg-shlibdeps cannot see it: it is named here.
set(CPACK_PACKAGE_NAME luamig)
set(CPACK_PACKAGE_VENDOR "luamig")
set(CPACK_PACKAGE_CONTACT "luamig maintainers <luamig@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "database schema migrations whose revisions are Lua scripts")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/luamig/luamig")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "liblua5.4-0, libsqlite3-0, libpq5, libc6")
set(CPACK_PACKAGE_DESCRIPTION "luamig evolves a PostgreSQL or SQLite schema through a chain of revision
files written in Lua, with lint, checksums, expand/contract steps and
batched backfills. This package holds the luamig command, its library
(static and shared) with luamig.h and luamig.pc, the man page and the
bash, zsh and fish completions.")
# ldconfig after install and removal: the package ships a shared library
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/cmake/debian/triggers)
include(CPack)

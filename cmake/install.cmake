# `cmake --install`: the programs, the reader library and headers, flagd::local for tests, a
# CMake package (find_package(flagd) gives flagd::reader), a pkg-config file, the systemd unit.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS flagd flagd-serve flagctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS flagd_common flagd_reader flagd_local flagd_loader flagd_writer flagd_c
        EXPORT flagdTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY common/include/flagd libreader/include/flagd liblocal/include/flagd libc/include/flagd
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT flagdTargets NAMESPACE flagd:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/flagd)
configure_package_config_file(cmake/flagdConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/flagdConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/flagd
                              PATH_VARS CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/flagdConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/flagdConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/flagdConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/flagd)

file(RELATIVE_PATH FLAGD_PC_TO_PREFIX "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
configure_file(cmake/flagd.pc.in ${CMAKE_CURRENT_BINARY_DIR}/flagd.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/flagd.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(FLAGD_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
set(FLAGD_DOCDIR ${CMAKE_INSTALL_FULL_DOCDIR})
configure_file(packaging/systemd/flagd.service.in ${CMAKE_CURRENT_BINARY_DIR}/flagd.service @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/flagd.service DESTINATION lib/systemd/system)
install(FILES packaging/systemd/flagd.sysusers DESTINATION lib/sysusers.d RENAME flagd.conf)
install(FILES packaging/systemd/flagd-before-253.conf examples/flags.json README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md" PATTERN "perf" EXCLUDE)

# install(): libgort.a, the headers, and a CMake package so that
#   find_package(gort) + target_link_libraries(app gort::gort)
# works from the installed prefix.
include(CMakePackageConfigHelpers)

install(TARGETS gort EXPORT gortTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY scheduler/include/gort poller/include/gort runtime/include/gort net/include/gort
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
install(EXPORT gortTargets NAMESPACE gort:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gort)
configure_package_config_file(cmake/gortConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/gortConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gort)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/gortConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/gortConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/gortConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gort)

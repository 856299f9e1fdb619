# Installation (`cmake --install BUILD --prefix P`): the lnbench command, the
# kernels library with its registry (lnbench_kernels; no oneDNN: the peer is
# lnbench_onednn, kept in the build tree), the public headers under
# include/lnbench/, lnbench.pc for pkg-config and a CMake package:
#   find_package(lnbench REQUIRED)  ->  target lnbench::kernels
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS lnbench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
set_target_properties(lnbench_kernels PROPERTIES EXPORT_NAME kernels)
install(TARGETS lnbench_kernels EXPORT lnbenchTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/kernels/lnbench_kernel.h
              ${PROJECT_SOURCE_DIR}/kernels/dtype_convert.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lnbench)

# The OpenCL kernels, when built in, make the static library need the ICD
# loader and threads: the package config finds them, the .pc names them.
if(LNBENCH_HAVE_OPENCL)
  set(LNBENCH_PC_EXTRA_LIBS "-lOpenCL -pthread")
  set(LNBENCH_CONFIG_DEPENDENCIES "find_dependency(OpenCL)\nfind_dependency(Threads)")
else()
  set(LNBENCH_PC_EXTRA_LIBS "")
  set(LNBENCH_CONFIG_DEPENDENCIES "")
endif()

set(LNBENCH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lnbench)
install(EXPORT lnbenchTargets NAMESPACE lnbench:: DESTINATION ${LNBENCH_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lnbenchConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lnbenchConfig.cmake INSTALL_DESTINATION ${LNBENCH_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lnbenchConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/lnbenchConfig.cmake
              ${PROJECT_BINARY_DIR}/lnbenchConfigVersion.cmake
        DESTINATION ${LNBENCH_CMAKE_DIR})

# pkg-config: the library is static, so -lm belongs in Libs, not Libs.private.
# The prefix is filled in at install time (not configure time), so that
# `cmake --install --prefix P` writes P into the file.
configure_file(${PROJECT_SOURCE_DIR}/cmake/lnbench.pc.in ${PROJECT_BINARY_DIR}/lnbench.pc.in.cfg @ONLY)
install(CODE "
  file(READ \"${PROJECT_BINARY_DIR}/lnbench.pc.in.cfg\" _pc)
  string(REPLACE \"%LNBENCH_PREFIX%\" \"\${CMAKE_INSTALL_PREFIX}\" _pc \"\${_pc}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/lnbench.pc\" \"\${_pc}\")")
install(FILES ${PROJECT_BINARY_DIR}/lnbench.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

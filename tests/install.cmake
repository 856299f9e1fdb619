# The installed package: cmake --install into a temporary prefix, then an
# outside program built with pkg-config and with find_package runs kernels
# through the installed registry.  Not in cross builds (the host compiler
# cannot link an aarch64 library) nor sanitizer builds (the library would
# need the sanitizer runtime the outside program does not link).
if(NOT CMAKE_CROSSCOMPILING AND NOT LNBENCH_SANITIZE AND NOT LNBENCH_TSAN)
  add_test(NAME test_install
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/install/test_install.sh ${PROJECT_BINARY_DIR}
                   ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_install PROPERTIES LABELS "install;nosanitize" TIMEOUT 120)
endif()

# The lnbench command line: errors, outputs, --help.
add_test(NAME test_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.sh
         ${CMAKE_CROSSCOMPILING_EMULATOR} $<TARGET_FILE:lnbench>)
# The commit named in --version and result files is HEAD's at build time.
add_test(NAME test_provenance COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_provenance.sh
         ${CMAKE_SOURCE_DIR} ${CMAKE_CROSSCOMPILING_EMULATOR} $<TARGET_FILE:lnbench>)
set_tests_properties(test_provenance PROPERTIES SKIP_RETURN_CODE 77)
# Full disks, signals, memory limits, FIFOs and devices, Google Benchmark
# flags (issue 13): nothing lost, nothing clobbered, nothing hung.
add_test(NAME test_hostile COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_hostile.sh
         ${CMAKE_CROSSCOMPILING_EMULATOR} $<TARGET_FILE:lnbench>)
# What it exercises (files, signals, limits) is the same code on every
# architecture: the aarch64 leg leaves it to the native one (hostonly).
set_tests_properties(test_hostile PROPERTIES TIMEOUT 600 LABELS hostonly)

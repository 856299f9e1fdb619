# The lnbench command line: errors, outputs, --help.
add_test(NAME test_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.sh
         ${CMAKE_CROSSCOMPILING_EMULATOR} $<TARGET_FILE:lnbench>)

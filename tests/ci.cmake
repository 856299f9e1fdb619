# Tests of the CI tools (tests/scripts/test_ci.py): scripts/gate (Holm,
# interleaved rerun, reports), scripts/history (store, exports), report
# --history, scripts/icount-stepi, and lnbench's NO_COLOR and --help exit
# statuses.  Python tools and gdb/valgrind runs: not for the sanitizer legs
# (label nosanitize).  lnbench itself only where it runs natively.
find_program(LNBENCH_CI_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT LNBENCH_CI_PYTHON)
  return()
endif()
foreach(_t gate_holm gate_rerun gate_reports history history_report stepi cli_color_help)
  add_test(NAME ci_${_t}
           COMMAND ${LNBENCH_CI_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/scripts/test_ci.py ${_t})
  set_tests_properties(ci_${_t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
                       LABELS "scripts;nosanitize")
  if(TARGET lnbench AND NOT CMAKE_CROSSCOMPILING)
    set_tests_properties(ci_${_t} PROPERTIES ENVIRONMENT "LNBENCH_EXE=$<TARGET_FILE:lnbench>")
  endif()
endforeach()

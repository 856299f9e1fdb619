# Tests of the Python tools in scripts/ (compare, summary, report,
# promote-baseline, icount, regen-bounds).  They run under Debian's own interpreter, the one
# that sees python3-numpy / python3-matplotlib / python3-yaml (the `python3`
# on PATH may be another one).  Each test builds its synthetic result files at
# run time in a temporary directory.  Exit 77 = skipped (a package is missing).
find_program(LNBENCH_SYSTEM_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT LNBENCH_SYSTEM_PYTHON)
  message(STATUS "scripts tests: /usr/bin/python3 not found, skipped")
  return()
endif()

set(_lnbench_script_tests
    units gate_slowdown gate_noise gate_weak gate_accuracy bad_input mismatch summary summary_comp report promote workflow
    regen_bounds report_common report_warnings roofline_reference report_accuracy
    report_scaling)
# Accuracy of several operations, dtypes and casts in the result scripts.
list(APPEND _lnbench_script_tests accuracy_ops)
foreach(_t IN LISTS _lnbench_script_tests)
  add_test(NAME scripts_${_t}
           COMMAND ${LNBENCH_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/scripts/test_scripts.py ${_t})
  set_tests_properties(scripts_${_t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120
                       LABELS "scripts;nosanitize")
endforeach()

# icount also runs lnbench under callgrind when lnbench and valgrind exist.
# All of these test Python tools, not C code: the ASan leg skips them
# (label nosanitize; valgrind cannot run an ASan binary anyway).
add_test(NAME scripts_icount
         COMMAND ${LNBENCH_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/scripts/test_scripts.py icount)
set_tests_properties(scripts_icount PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 LABELS "scripts;nosanitize")
if(TARGET lnbench)
  set_tests_properties(scripts_icount PROPERTIES
                       ENVIRONMENT "LNBENCH_EXE=$<TARGET_FILE:lnbench>")
endif()

# Hostile input to compare / promote-baseline, and report under signals
# (tests/scripts/test_hostile_scripts.py).
foreach(_t IN ITEMS bad_accuracy_values bad_speed_values fmt_pct report_signals report_mode)
  add_test(NAME scripts_hostile_${_t}
           COMMAND ${LNBENCH_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/scripts/test_hostile_scripts.py ${_t})
  set_tests_properties(scripts_hostile_${_t} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180
                       LABELS "scripts;nosanitize")
endforeach()

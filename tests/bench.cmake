# The speed harness (bench/): the Google Benchmark C shim, hwloc pinning and
# its fallback, perf counters, and `lnbench speed` on the command line.
# Only when the harness is built (Google Benchmark and hwloc found).
if(TARGET lnbench_speed)
  lnbench_c_test(test_gbench_shim ${CMAKE_CURRENT_SOURCE_DIR}/test_gbench_shim.c
                 lnbench_gbench_shim)
  lnbench_c_test(test_pinning ${CMAKE_CURRENT_SOURCE_DIR}/test_pinning.c lnbench_speed)
  add_test(NAME test_speed_cli
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/test_speed_cli.sh $<TARGET_FILE:lnbench>)
endif()

# The oneDNN peer kernel (passes as "skipped" in builds without oneDNN).
lnbench_c_test(test_onednn ${CMAKE_CURRENT_SOURCE_DIR}/test_onednn.c lnbench_common lnbench_kernels)

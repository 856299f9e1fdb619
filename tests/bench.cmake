# The speed harness (bench/): the Google Benchmark C shim, hwloc pinning and
# its fallback, perf counters, and `lnbench speed` on the command line.
# Only when the harness is built (Google Benchmark and hwloc found).
#
# Under an emulator (a cross build's CMAKE_CROSSCOMPILING_EMULATOR) the
# multi-threaded cases are skipped: Google Benchmark's Threads(n) runs hang
# under qemu-user even in a plain C++ benchmark.
if(TARGET lnbench_speed)
  set(_bench_no_threads "")
  set(_bench_env "")
  if(CMAKE_CROSSCOMPILING)
    set(_bench_no_threads --no-threads)
    set(_bench_env LNBENCH_TEST_NO_THREADS=1)
  endif()
  add_executable(test_gbench_shim ${CMAKE_CURRENT_SOURCE_DIR}/test_gbench_shim.c)
  target_link_libraries(test_gbench_shim PRIVATE lnbench_gbench_shim)
  add_test(NAME test_gbench_shim COMMAND test_gbench_shim ${_bench_no_threads})
  lnbench_c_test(test_pinning ${CMAKE_CURRENT_SOURCE_DIR}/test_pinning.c lnbench_speed)
  add_test(NAME test_speed_cli
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/bench/test_speed_cli.sh
                   ${CMAKE_CROSSCOMPILING_EMULATOR} $<TARGET_FILE:lnbench>)
  set_tests_properties(test_gbench_shim test_pinning test_speed_cli PROPERTIES TIMEOUT 300)
  # Its two-thread benchmark runs the C body on two threads: TSan leg too.
  set_tests_properties(test_gbench_shim PROPERTIES LABELS tsan)
  if(_bench_env)
    set_tests_properties(test_speed_cli PROPERTIES ENVIRONMENT "${_bench_env}")
  endif()
endif()

# The oneDNN peer kernel (passes as "skipped" in builds without oneDNN).
lnbench_c_test(test_onednn ${CMAKE_CURRENT_SOURCE_DIR}/test_onednn.c lnbench_common lnbench_kernels)

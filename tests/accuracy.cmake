# Every kernel against the accuracy contract of this architecture:
# tests/bounds/<arch>.txt, written by scripts/regen-bounds (see README).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(_lnbench_bounds_arch x86_64)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(_lnbench_bounds_arch aarch64)
else()
  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _lnbench_bounds_arch)
endif()
add_executable(test_kernel_accuracy test_kernel_accuracy.c)
target_link_libraries(test_kernel_accuracy PRIVATE lnbench_reference lnbench_common
                      lnbench_kernels)
target_compile_definitions(test_kernel_accuracy PRIVATE
  LNBENCH_BOUNDS_FILE="${PROJECT_SOURCE_DIR}/tests/bounds/${_lnbench_bounds_arch}.txt"
  LNBENCH_REGISTRY_SOURCE="${PROJECT_SOURCE_DIR}/kernels/registry.c")
# One ctest test per operation, so that they run side by side.
foreach(_op layernorm rmsnorm add_layernorm add_rmsnorm)
  add_test(NAME test_kernel_accuracy_${_op} COMMAND test_kernel_accuracy --op ${_op})
  set_tests_properties(test_kernel_accuracy_${_op} PROPERTIES TIMEOUT 900)
endforeach()
# Under ASan the engine and the kernels' memory use are covered by the
# layernorm run, test_kernel_edges (guard pages, every op) and
# test_accuracy_engine; the other operations repeat the same calls.
set_tests_properties(test_kernel_accuracy_rmsnorm test_kernel_accuracy_add_layernorm
                     test_kernel_accuracy_add_rmsnorm PROPERTIES LABELS nosanitize)

# The engine itself on every op x dtype x cast, through a double-precision
# kernel defined in the test (no registry kernel needs the new ops for it).
lnbench_c_test(test_accuracy_engine test_accuracy_engine.c
               lnbench_reference lnbench_common lnbench_kernels m)
set_tests_properties(test_accuracy_engine PROPERTIES TIMEOUT 300 LABELS hostonly)

# Faithful kernels round bf16/f16 outputs once, on rows whose float result
# lands on a midpoint of the dtype (double rounding would fail them).
lnbench_c_test(test_round_once test_round_once.c lnbench_reference lnbench_common
               lnbench_kernels m)

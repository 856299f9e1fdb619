# Kernel ABI edge cases over the whole registry (tails, strides, guard
# pages, canaries, constant and NaN/Inf rows, store hints).  The same test
# runs again with ISAs masked off by LNBENCH_DISABLE_ISA, which proves the
# masking and runs the scalar fallbacks' neighbours on an AVX-512 host.
lnbench_c_test(test_kernel_edges test_kernel_edges.c lnbench_kernels m)

# The masked runs call no code the unmasked run does not, so the sanitizer
# leg leaves them out (nosanitize), and the aarch64 leg too (hostonly).  A
# mask of only ISAs the CPU lacks (AVX-512 on an AMD EPYC before Zen 4)
# changes no call at all: the test then checks the masking and skips (77).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  add_test(NAME test_kernel_edges_no_avx512 COMMAND test_kernel_edges)
  set_tests_properties(test_kernel_edges_no_avx512 PROPERTIES
    ENVIRONMENT "LNBENCH_DISABLE_ISA=avx512" LABELS "nosanitize;hostonly" SKIP_RETURN_CODE 77)
endif()
add_test(NAME test_kernel_edges_no_simd COMMAND test_kernel_edges)
set_tests_properties(test_kernel_edges_no_simd PROPERTIES
  ENVIRONMENT "LNBENCH_DISABLE_ISA=avx512,avx2,neon" LABELS "nosanitize;hostonly"
  SKIP_RETURN_CODE 77)

# The ABI's machinery: capabilities, the call check, run, selection, names,
# the host device.  Again with every ISA masked, so that selection meets
# kernels that cannot run here on any host.
lnbench_c_test(test_kernel_abi test_kernel_abi.c lnbench_kernels)
add_test(NAME test_kernel_abi_masked COMMAND test_kernel_abi)
set_tests_properties(test_kernel_abi_masked PROPERTIES ENVIRONMENT "LNBENCH_DISABLE_ISA=all")

# Concurrent calls on disjoint rows, each thread with its own state; also
# run by the ThreadSanitizer leg of scripts/test (label tsan).
lnbench_c_test(test_kernel_threads test_kernel_threads.c lnbench_kernels lnbench_common
               Threads::Threads m)
set_tests_properties(test_kernel_threads PROPERTIES LABELS tsan TIMEOUT 120)

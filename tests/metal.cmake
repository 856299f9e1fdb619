# The Metal kernels (kernels/metal/).  test_metal: off Apple, the three are
# listed, unavailable, with the reason; on a Mac, each one this GPU can run
# against the ground truth at every tail and dim (exit 77, skipped, when
# none can).  test_metal_checker: the same checks on the host's faithful
# kernels, so they run (and could fail) here.  test_metal_source: the
# shader source as metal_host.m embeds it, preprocessed for every library.
lnbench_c_test(test_metal test_metal.c lnbench_reference lnbench_common lnbench_kernels m)
set_tests_properties(test_metal PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
add_test(NAME test_metal_checker COMMAND test_metal --device host)
# The shader arithmetic checked on the host is portable C: the native leg
# runs it, the aarch64 leg under qemu leaves it out (hostonly); its subject
# is arithmetic, and the host kernels it calls run under ASan in
# test_kernel_edges (nosanitize).
set_tests_properties(test_metal_checker PROPERTIES TIMEOUT 600 LABELS "hostonly;nosanitize")
add_test(NAME test_metal_source
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/metal/test_metal_source.sh ${CMAKE_C_COMPILER}
                 ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/metal_source_check)

# Ground truth (MPFR) and the error measure.
lnbench_c_test(test_ulp_error ${CMAKE_CURRENT_SOURCE_DIR}/test_ulp_error.c
               lnbench_reference m)
lnbench_c_test(test_ground_truth ${CMAKE_CURRENT_SOURCE_DIR}/test_ground_truth.c
               lnbench_reference lnbench_common m)

# Every kernel's documented accuracy bounds, against the MPFR ground truth.
lnbench_c_test(test_kernel_accuracy test_kernel_accuracy.c
               lnbench_reference lnbench_common lnbench_kernels)

# Tests of the shared plumbing (common/).
lnbench_c_test(test_inputs test_inputs.c lnbench_common)

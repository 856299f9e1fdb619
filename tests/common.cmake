# Tests of the shared plumbing (common/).
lnbench_c_test(test_inputs test_inputs.c lnbench_common)
lnbench_c_test(test_npy test_npy.c lnbench_common)
lnbench_c_test(test_json test_json.c lnbench_common)
lnbench_c_test(test_args test_args.c lnbench_common)
lnbench_c_test(test_outfile test_outfile.c lnbench_common)

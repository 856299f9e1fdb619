# The OpenCL kernels on the device the ICD loader offers (PoCL's CPU device
# here), built only when kernels/CMakeLists.txt found OpenCL.  The same test
# runs where no platform or no matching device exists (an empty vendor
# directory for the ICD loader; device names and indexes that match
# nothing) and with a source that cannot build (the body's include guard
# predefined, so the entry points meet undeclared names), each in its own process
# because the device is chosen once per process.
if(LNBENCH_HAVE_OPENCL)
  lnbench_c_test(test_opencl test_opencl.c lnbench_kernels Threads::Threads m)
  set_tests_properties(test_opencl PROPERTIES TIMEOUT 600)
  add_test(NAME test_opencl_by_name COMMAND test_opencl)
  set_tests_properties(test_opencl_by_name PROPERTIES TIMEOUT 600
    ENVIRONMENT "LNBENCH_OPENCL_DEVICE=PTHREAD")

  set(_no_vendors ${CMAKE_CURRENT_BINARY_DIR}/no_icd_vendors)
  file(MAKE_DIRECTORY ${_no_vendors})
  add_test(NAME test_opencl_no_platform COMMAND test_opencl --unavailable "no OpenCL platform")
  set_tests_properties(test_opencl_no_platform PROPERTIES TIMEOUT 60
    ENVIRONMENT "OCL_ICD_VENDORS=${_no_vendors}")
  add_test(NAME test_opencl_no_such_device COMMAND test_opencl --unavailable "no OpenCL device named 'no-such-de'")
  set_tests_properties(test_opencl_no_such_device PROPERTIES TIMEOUT 60
    ENVIRONMENT "LNBENCH_OPENCL_DEVICE=no-such-device")
  add_test(NAME test_opencl_device_index COMMAND test_opencl --unavailable "no OpenCL device #99 (of ")
  set_tests_properties(test_opencl_device_index PROPERTIES TIMEOUT 60
    ENVIRONMENT "LNBENCH_OPENCL_DEVICE=99")
  add_test(NAME test_opencl_build_error COMMAND test_opencl --build-error)
  set_tests_properties(test_opencl_build_error PROPERTIES TIMEOUT 120
    ENVIRONMENT "LNBENCH_OPENCL_BUILD_OPTIONS=-DLN_GPU_NORM_BODY_H")
endif()

# lnbench speed on them: device buffers and the device counters.
if(LNBENCH_HAVE_OPENCL AND TARGET lnbench_speed)
  add_test(NAME test_speed_opencl
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_speed_opencl.sh $<TARGET_FILE:lnbench>)
  set_tests_properties(test_speed_opencl PROPERTIES TIMEOUT 300)
endif()

# The ASan leg: PoCL's own never-freed allocations stay out of LeakSanitizer's
# report, for every test (any test that lists or selects kernels brings the
# OpenCL device up).  Included last in tests/CMakeLists.txt, so every test of
# this directory exists by now.
if(LNBENCH_HAVE_OPENCL AND LNBENCH_SANITIZE)
  get_property(_all_tests DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} PROPERTY TESTS)
  set_property(TEST ${_all_tests} APPEND PROPERTY ENVIRONMENT
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan_opencl.supp:print_suppressions=0")
endif()

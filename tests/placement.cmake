# Thread and memory placement (bench/placement.h): the plan on the machines
# described in tests/topologies/ (synthetic descriptions and XML files, each
# with the placements it must give) and on this one.  Only with the speed
# harness (hwloc found).
if(TARGET lnbench_speed)
  add_executable(test_placement ${CMAKE_CURRENT_SOURCE_DIR}/test_placement.c)
  target_link_libraries(test_placement PRIVATE lnbench_speed)
  add_test(NAME test_placement COMMAND test_placement ${CMAKE_CURRENT_SOURCE_DIR}/topologies)
  set_tests_properties(test_placement PROPERTIES TIMEOUT 300)
endif()

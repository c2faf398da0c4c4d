# Security and resilience tests of PipesLib (issue 3): pipes_sec_tests.exe (GoogleTest, C++17)
# and its helper pipes_test_server.exe (C, links pipes.dll): a server (echo, recorder, raw
# squatter) or echo client in its own process, to squat a name from outside, be killed with
# TerminateProcess and restarted, or connect from another pid. Included from
# PipesTests/CMakeLists.txt; both land in <build>/bin beside pipes.dll.

add_executable(pipes_test_server peer/pipes_test_server.c)
target_link_libraries(pipes_test_server PRIVATE pipes)
if(MINGW)
  target_link_options(pipes_test_server PRIVATE -municode)   # wmain
endif()

add_executable(pipes_sec_tests
  sec_util.h
  sec_util.cpp
  sec_squat_test.cpp
  sec_sddl_test.cpp
  sec_identity_test.cpp
  sec_limits_test.cpp
  sec_reconnect_test.cpp
  sec_cycles_test.cpp
  sec_fuzz_test.cpp
  sec_counters_test.cpp
)
target_include_directories(pipes_sec_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(pipes_sec_tests PRIVATE pipes GTest::gtest_main advapi32 psapi)
add_dependencies(pipes_sec_tests pipes_test_server)
pipes_add_gtest(pipes_sec_tests TIMEOUT 300)

# PipesLib core tests: pipes_lib_tests.exe (GoogleTest, C++17, linked statically) and the helper
# pipes_test_peer.exe (C, links pipes.dll) that the process tests spawn as a separate client.
# Included from PipesTests/CMakeLists.txt. Both land in <build>/bin beside pipes.dll; the tests
# find the peer next to their own executable.

add_executable(pipes_test_peer peer/pipes_test_peer.c peer/test_message.h)
target_link_libraries(pipes_test_peer PRIVATE pipes)
if(MINGW)
  target_link_options(pipes_test_peer PRIVATE -municode)   # wmain
endif()

add_executable(pipes_lib_tests
  test_support.h
  lib_roundtrip_test.cpp
  lib_concurrency_test.cpp
  lib_lifecycle_test.cpp
  lib_engine_test.cpp
  lib_local_events_test.cpp
  lib_standby_test.cpp
  lib_process_test.cpp
  lib_gui_test.cpp
  lib_args_test.cpp
  lib_limits_test.cpp
)
target_include_directories(pipes_lib_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(pipes_lib_tests PRIVATE pipes GTest::gtest_main user32 version)
# The tests spawn the peer: build it whenever the tests are built.
add_dependencies(pipes_lib_tests pipes_test_peer)
pipes_add_gtest(pipes_lib_tests TIMEOUT 600)

# The race-widening ("chaos") pass: the same test programs run against pipes.dll built with
# PIPES_CHAOS (PipesLib/CMakeLists.txt, target pipes_chaos, in <build>/bin-chaos), where every
# hook point of the library may yield or sleep 0-2 ms, so rare interleavings happen in every
# run. Included from PipesTests/CMakeLists.txt.
#
#   pipes_chaos_tests    tests that force one interleaving with the chaos DLL's test hook
#                        (pipes_chaos_set_hook); they need the chaos DLL, so they link it
#   <test>_chaos         ctest entries running copies of pipes_lib_tests, pipes_sec_tests (and
#                        their peer programs) from bin-chaos, so they load the chaos pipes.dll,
#                        and the service engine's unit tests built against its chaos variant
#
# ./build.sh test runs one pass of each (ctest); ./build.sh chaos [N] runs them N times over with
# a higher delay rate (PIPES_CHAOS_RATE).
set(PIPES_CHAOS_BIN "${CMAKE_BINARY_DIR}/bin-chaos")

add_executable(pipes_chaos_tests
  chaos_support.h
  chaos_engine_test.cpp
)
target_include_directories(pipes_chaos_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}
                           "${CMAKE_SOURCE_DIR}/PipesLib/chaos")
target_link_libraries(pipes_chaos_tests PRIVATE pipes_chaos GTest::gtest_main user32)
set_target_properties(pipes_chaos_tests PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PIPES_CHAOS_BIN}")

# Copies of the normal test programs beside the chaos pipes.dll.
set(_chaos_copies pipes_lib_tests pipes_test_peer pipes_sec_tests pipes_test_server)
set(_chaos_copy_cmds)
foreach(_t ${_chaos_copies})
  list(APPEND _chaos_copy_cmds COMMAND "${CMAKE_COMMAND}" -E copy_if_different
       "$<TARGET_FILE:${_t}>" "${PIPES_CHAOS_BIN}/")
endforeach()
add_custom_target(pipes_chaos_copies ALL ${_chaos_copy_cmds}
                  COMMENT "Copying the test programs beside the chaos pipes.dll (bin-chaos)")
add_dependencies(pipes_chaos_copies pipes_chaos ${_chaos_copies})

# pipes_add_chaos_test(<name> <program> [args...]): a ctest entry running a program from bin-chaos.
function(pipes_add_chaos_test name program)
  # A path, not a target, so the emulator (cmake/wine-run.sh when cross-building) is added here.
  add_test(NAME ${name}
           COMMAND ${CMAKE_CROSSCOMPILING_EMULATOR} "${PIPES_CHAOS_BIN}/${program}.exe" --gtest_color=no ${ARGN}
           WORKING_DIRECTORY "${PIPES_CHAOS_BIN}")
  set_tests_properties(${name} PROPERTIES TIMEOUT 900
                       ENVIRONMENT "PIPES_CHAOS_RATE=${PIPES_CHAOS_RATE}")
endfunction()

set(PIPES_CHAOS_RATE 20 CACHE STRING "Percent of chaos hook points that delay in the ctest pass")
add_test(NAME pipes_chaos_tests COMMAND pipes_chaos_tests --gtest_color=no
         WORKING_DIRECTORY "${PIPES_CHAOS_BIN}")
set_tests_properties(pipes_chaos_tests PROPERTIES TIMEOUT 300)
pipes_add_chaos_test(pipes_lib_tests_chaos pipes_lib_tests)
pipes_add_chaos_test(pipes_sec_tests_chaos pipes_sec_tests)
# The service engine's unit tests, built against the chaos variants (PipesService/tests).
pipes_add_chaos_test(pipes_service_spool_test_chaos pipes_service_spool_test_chaos)

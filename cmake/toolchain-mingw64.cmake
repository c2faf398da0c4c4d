# Cross-compile Pipes for 64-bit Windows with MinGW-w64 from Linux (Debian 12 packages
# gcc-mingw-w64-x86-64, g++-mingw-w64-x86-64). Use:
#   cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64.cmake
# The top-level CMakeLists.txt then runs test executables under Wine (cmake/wine-run.sh).

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(PIPES_MINGW_TRIPLET x86_64-w64-mingw32)

set(CMAKE_C_COMPILER   ${PIPES_MINGW_TRIPLET}-gcc)
# The -posix flavour: GoogleTest needs std::thread/std::mutex, which the -win32 flavour lacks.
set(CMAKE_CXX_COMPILER ${PIPES_MINGW_TRIPLET}-g++-posix)
set(CMAKE_RC_COMPILER  ${PIPES_MINGW_TRIPLET}-windres)
# Message compiler for Event Log message tables (not a CMake language; components call it directly).
set(PIPES_MC_COMPILER  ${PIPES_MINGW_TRIPLET}-windmc CACHE FILEPATH "MinGW message compiler")

# Look for headers and libraries only in the MinGW sysroot, but for programs on the build host.
set(CMAKE_FIND_ROOT_PATH /usr/${PIPES_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

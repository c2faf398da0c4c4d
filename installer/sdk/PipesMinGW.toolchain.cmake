# PipesMinGW.toolchain.cmake - a CMake toolchain file for building a program against this Pipes SDK
# with MinGW-w64 on Linux (cross-compiling for 64-bit Windows; Debian: gcc-mingw-w64-x86-64):
#   cmake -S <your source> -B build -DCMAKE_TOOLCHAIN_FILE="<Pipes>/lib/cmake/Pipes/PipesMinGW.toolchain.cmake"
# find_package(Pipes) then finds this SDK with no further option. (A toolchain file of your own
# that sets CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY searches CMAKE_PREFIX_PATH only under
# CMAKE_FIND_ROOT_PATH: give it -DPipes_DIR="<Pipes>/lib/cmake/Pipes" instead. See docs/SDK.md.)
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)

# The SDK is the folder three levels up (<Pipes>/lib/cmake/Pipes/this file). Headers, libraries and
# packages come from the MinGW sysroot and the SDK only, programs from the build machine.
get_filename_component(_pipes_sdk_root "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32 "${_pipes_sdk_root}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
unset(_pipes_sdk_root)

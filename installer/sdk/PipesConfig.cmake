# PipesConfig.cmake - find_package(Pipes) for the installed Pipes SDK.
# Gives the imported target Pipes::pipes (pipes.dll, its import library and include folder).
# Layout (the MSI's): <prefix>/pipes.dll, <prefix>/include, <prefix>/lib/{pipes.lib,libpipes.dll.a},
# <prefix>/lib/cmake/Pipes/<this file>. Point CMAKE_PREFIX_PATH or Pipes_DIR at the install folder.
get_filename_component(_pipes_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

if(NOT TARGET Pipes::pipes)
  # MSVC (and clang-cl) link pipes.lib; MinGW links libpipes.dll.a.
  if(MSVC OR CMAKE_C_SIMULATE_ID STREQUAL "MSVC" OR CMAKE_CXX_SIMULATE_ID STREQUAL "MSVC")
    set(_pipes_implib "${_pipes_prefix}/lib/pipes.lib")
  else()
    set(_pipes_implib "${_pipes_prefix}/lib/libpipes.dll.a")
  endif()
  foreach(_pipes_file "${_pipes_prefix}/include/pipes.h" "${_pipes_prefix}/pipes.dll" "${_pipes_implib}")
    if(NOT EXISTS "${_pipes_file}")
      set(Pipes_FOUND FALSE)
      set(Pipes_NOT_FOUND_MESSAGE "Pipes SDK incomplete: ${_pipes_file} is missing")
      return()
    endif()
  endforeach()
  add_library(Pipes::pipes SHARED IMPORTED)
  set_target_properties(Pipes::pipes PROPERTIES
    IMPORTED_LOCATION "${_pipes_prefix}/pipes.dll"
    IMPORTED_IMPLIB "${_pipes_implib}"
    INTERFACE_INCLUDE_DIRECTORIES "${_pipes_prefix}/include")
  unset(_pipes_implib)
  unset(_pipes_file)
endif()

set(Pipes_INCLUDE_DIRS "${_pipes_prefix}/include")
set(Pipes_LIBRARIES Pipes::pipes)
# Folder of pipes.dll: copy it next to your executable, or add it to PATH, to run.
set(Pipes_RUNTIME_DIR "${_pipes_prefix}")
unset(_pipes_prefix)

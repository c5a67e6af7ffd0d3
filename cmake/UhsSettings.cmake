# SPDX-License-Identifier: Apache-2.0
# Settings linked only by first-party targets (never leak into dependencies' flags).
option(UHS_WERROR "Treat warnings as errors" OFF)
set(UHS_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")

add_library(uhs_settings INTERFACE)
target_compile_options(uhs_settings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
  -Wconversion -Wno-sign-conversion
  # Designated initializers leave defaulted members out on purpose.
  -Wno-missing-field-initializers)
if(UHS_WERROR)
  target_compile_options(uhs_settings INTERFACE -Werror)
endif()
if(UHS_SANITIZE)
  target_compile_options(uhs_settings INTERFACE -fsanitize=${UHS_SANITIZE} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  target_link_options(uhs_settings INTERFACE -fsanitize=${UHS_SANITIZE})
endif()
# No build machine path in the programs (__FILE__, debug info): an installed tool must not
# point into a checkout, and the same sources give the same bytes wherever they are built.
# No trailing '/': GCC matches the compile directory (DW_AT_comp_dir) without one. The build
# directory's map comes last, so it wins where the build tree sits inside the checkout.
target_compile_options(uhs_settings INTERFACE -ffile-prefix-map=${PROJECT_SOURCE_DIR}=.
  -ffile-prefix-map=${PROJECT_BINARY_DIR}=build)
# Rooted includes: #include "builder/util/result.hpp".
target_include_directories(uhs_settings INTERFACE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)

# uhs_library(NAME SOURCES... [DEPS ...]) declares one area's library.
function(uhs_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC uhs_settings ${ARG_DEPS})
endfunction()

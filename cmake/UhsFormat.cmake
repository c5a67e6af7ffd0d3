# SPDX-License-Identifier: Apache-2.0
# `format` rewrites sources in place; `check_format` fails when any file is not formatted.
find_program(CLANG_FORMAT NAMES clang-format-14 clang-format)
if(CLANG_FORMAT)
  file(GLOB_RECURSE UHS_FORMAT_SOURCES CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/builder/*.[ch]pp ${PROJECT_SOURCE_DIR}/firmware/*.[ch]pp
    ${PROJECT_SOURCE_DIR}/netboot/*.[ch]pp ${PROJECT_SOURCE_DIR}/tests/*.[ch]pp)
  add_custom_target(format COMMAND ${CLANG_FORMAT} -i ${UHS_FORMAT_SOURCES})
  add_custom_target(check_format COMMAND ${CLANG_FORMAT} --dry-run --Werror ${UHS_FORMAT_SOURCES})
endif()

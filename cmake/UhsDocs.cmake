# SPDX-License-Identifier: Apache-2.0
# Man pages and shell completion, generated at build time from the tables that print --help
# (uhs-docgen, builder/cli/docgen.cpp), so they list exactly the commands and options the
# programs accept. Included by builder/cli/CMakeLists.txt; the files go to build/doc.
add_executable(uhs-docgen ${PROJECT_SOURCE_DIR}/builder/cli/docgen.cpp)
target_link_libraries(uhs-docgen PRIVATE uhs_cli uhs_netboot uhs_config uhs_util)

set(UHS_DOC_DIR ${PROJECT_BINARY_DIR}/doc)
# uhs_docgen_output(OUTPUT KIND PROGRAM [INPUT]): build/doc/OUTPUT, by uhs-docgen KIND PROGRAM.
function(uhs_docgen_output output kind program)
  add_custom_command(OUTPUT ${UHS_DOC_DIR}/${output}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${UHS_DOC_DIR}
    COMMAND uhs-docgen ${kind} ${program} ${UHS_DOC_DIR}/${output} ${ARGN}
    DEPENDS uhs-docgen ${ARGN} VERBATIM)
endfunction()
uhs_docgen_output(uhs-image.1 man uhs-image)
uhs_docgen_output(uhs-netboot.8 man uhs-netboot)
uhs_docgen_output(uhs-cluster.5 man uhs-cluster ${PROJECT_SOURCE_DIR}/builder/config/uhs-cluster.5.in)
uhs_docgen_output(uhs-image.bash bash uhs-image)
uhs_docgen_output(uhs-netboot.bash bash uhs-netboot)
uhs_docgen_output(_uhs-image zsh uhs-image)
uhs_docgen_output(_uhs-netboot zsh uhs-netboot)
# Part of `all`: `cmake --install` copies what the build made.
add_custom_target(uhs_docs ALL DEPENDS
  ${UHS_DOC_DIR}/uhs-image.1 ${UHS_DOC_DIR}/uhs-netboot.8 ${UHS_DOC_DIR}/uhs-cluster.5
  ${UHS_DOC_DIR}/uhs-image.bash ${UHS_DOC_DIR}/uhs-netboot.bash
  ${UHS_DOC_DIR}/_uhs-image ${UHS_DOC_DIR}/_uhs-netboot)

install(FILES ${UHS_DOC_DIR}/uhs-image.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${UHS_DOC_DIR}/uhs-cluster.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${UHS_DOC_DIR}/uhs-netboot.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
# Where Debian's bash-completion and zsh look for a package's completions.
install(FILES ${UHS_DOC_DIR}/uhs-image.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  RENAME uhs-image)
install(FILES ${UHS_DOC_DIR}/uhs-netboot.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME uhs-netboot)
install(FILES ${UHS_DOC_DIR}/_uhs-image ${UHS_DOC_DIR}/_uhs-netboot
  DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)

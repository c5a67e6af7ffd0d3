# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` lays out under the prefix besides the programs (their own
# CMakeLists.txt install them to bin/, the man pages and completion by cmake/UhsDocs.cmake):
#   share/uhs/overlays/          the overlays bare names in a cluster file refer to; the programs
#                                find them as <exe>/../share/uhs/overlays (builder/config/cluster.cpp)
#   share/doc/uhs/examples/      the example cluster files and the keyrings they name, to copy
include(GNUInstallDirs)

# Symlinks and modes (the overlays' executable scripts) are kept: they are part of the image-id.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/overlays/ DESTINATION ${CMAKE_INSTALL_DATADIR}/uhs/overlays
  USE_SOURCE_PERMISSIONS)
# Examples, not configuration: a user copies one and edits it, nothing reads them in place.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# A build-tree program finds the checkout's overlays the way an installed one finds its own:
# <binary dir>/../share/uhs/overlays is made a symlink to overlays/ at configure time, so no
# source path is compiled into any program.
function(uhs_build_tree_overlays)
  cmake_path(SET link NORMALIZE "${CMAKE_CURRENT_BINARY_DIR}/../share/uhs/overlays")
  cmake_path(GET link PARENT_PATH parent)
  file(MAKE_DIRECTORY ${parent})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/overlays ${link} SYMBOLIC)
endfunction()

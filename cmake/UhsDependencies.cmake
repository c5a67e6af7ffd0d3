# SPDX-License-Identifier: Apache-2.0
# Debian 12 packages only; see .ci/run for the apt-get line that installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(Catch2 2 REQUIRED)
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(LIBFDISK REQUIRED IMPORTED_TARGET fdisk)
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(LIBGUESTFS REQUIRED IMPORTED_TARGET libguestfs)
pkg_check_modules(LIBUSB REQUIRED IMPORTED_TARGET libusb-1.0)
find_package(nlohmann_json 3 REQUIRED)
# libfdt (libfdt-dev) has no pkg-config file in Debian 12.
find_path(LIBFDT_INCLUDE_DIR libfdt.h REQUIRED)
find_library(LIBFDT_LIBRARY fdt REQUIRED)
add_library(uhs_libfdt INTERFACE)
target_include_directories(uhs_libfdt INTERFACE ${LIBFDT_INCLUDE_DIR})
target_link_libraries(uhs_libfdt INTERFACE ${LIBFDT_LIBRARY})
# dtc compiles the unit tests' device tree fixtures (tests/fixtures/dts).
find_program(UHS_DTC dtc REQUIRED)

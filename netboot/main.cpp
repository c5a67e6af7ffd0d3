// SPDX-License-Identifier: Apache-2.0
#include "netboot/uhs_netboot.hpp"

#include <iostream>

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    uhs::util::Io io{std::cout, std::cerr};
    return uhs::netboot::run_uhs_netboot(args, io);
}

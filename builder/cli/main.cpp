// SPDX-License-Identifier: Apache-2.0
#include "builder/cli/commands.hpp"

#include <iostream>

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    uhs::util::Io io{std::cout, std::cerr};
    return uhs::cli::run_uhs_image(args, io);
}

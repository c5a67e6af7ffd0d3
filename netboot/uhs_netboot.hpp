// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/cli.hpp"

#include <span>
#include <string>

namespace uhs::netboot {

// The `uhs-netboot` program: returns the exit code. `args` excludes the program name.
int run_uhs_netboot(std::span<const std::string> args, util::Io& io);

} // namespace uhs::netboot

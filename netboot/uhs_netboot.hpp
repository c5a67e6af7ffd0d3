// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/cli.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::netboot {

inline constexpr std::string_view k_netboot_about =
    "The LAN boot service for uhs nodes (proxyDHCP + tftp-hpa).";

// The subcommand table behind --help, the man page and the shell completion.
std::vector<util::SubcommandSpec> netboot_commands();

// The `uhs-netboot` program: returns the exit code. `args` excludes the program name.
int run_uhs_netboot(std::span<const std::string> args, util::Io& io);

} // namespace uhs::netboot

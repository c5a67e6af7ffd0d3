// SPDX-License-Identifier: Apache-2.0
#include "builder/cli/commands.hpp"
#include "builder/util/version.hpp"

#include <algorithm>
#include <iterator>

namespace uhs::cli {

int run_uhs_image(std::span<const std::string> args, util::Io& io) {
    if (!args.empty() && args[0] == "--version") {
        io.out << "uhs-image " << util::k_tool_version << '\n';
        return util::k_exit_ok;
    }
    std::vector<util::SubcommandSpec> table = config_commands();
    std::ranges::move(image_commands(), std::back_inserter(table));
    std::ranges::move(apt_commands(), std::back_inserter(table));
    std::ranges::move(build_commands(), std::back_inserter(table));
    std::ranges::move(firmware_commands(), std::back_inserter(table));
    std::ranges::move(publish_commands(), std::back_inserter(table));
    std::ranges::move(cluster_commands(), std::back_inserter(table));
    return util::run_subcommands(
        "uhs-image", "Turns one cluster file into reproducible, network-booted Raspberry Pi nodes.",
        table, args, io);
}

} // namespace uhs::cli

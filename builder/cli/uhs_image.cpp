// SPDX-License-Identifier: Apache-2.0
#include "builder/cli/commands.hpp"

#include <algorithm>
#include <iterator>

namespace uhs::cli {

std::vector<util::SubcommandSpec> uhs_image_commands() {
    std::vector<util::SubcommandSpec> table = config_commands();
    std::ranges::move(image_commands(), std::back_inserter(table));
    std::ranges::move(apt_commands(), std::back_inserter(table));
    std::ranges::move(build_commands(), std::back_inserter(table));
    std::ranges::move(firmware_commands(), std::back_inserter(table));
    std::ranges::move(publish_commands(), std::back_inserter(table));
    std::ranges::move(cluster_commands(), std::back_inserter(table));
    return table;
}

int run_uhs_image(std::span<const std::string> args, util::Io& io) {
    return util::run_program("uhs-image", k_uhs_image_about, uhs_image_commands(), args, io);
}

} // namespace uhs::cli

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/cli.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace uhs::cli {

// The `uhs-image` program: returns the exit code. `args` excludes the program name.
int run_uhs_image(std::span<const std::string> args, util::Io& io);

// Loads a cluster file and, on failure, prints every diagnostic ("FILE:LINE:COL: error: ...").
std::optional<config::Cluster> load_cluster_or_report(const std::string& file, util::Io& io);

// One table per area, joined by run_uhs_image.
std::vector<util::SubcommandSpec> config_commands();
std::vector<util::SubcommandSpec> image_commands();
std::vector<util::SubcommandSpec> firmware_commands();
std::vector<util::SubcommandSpec> apt_commands();
std::vector<util::SubcommandSpec> publish_commands();
std::vector<util::SubcommandSpec> build_commands();
std::vector<util::SubcommandSpec> cluster_commands();

} // namespace uhs::cli

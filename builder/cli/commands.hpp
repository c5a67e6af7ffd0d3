// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/fetch_policy.hpp"
#include "builder/config/cluster.hpp"
#include "builder/fetch/store.hpp"
#include "builder/util/cli.hpp"

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::cli {

// The `uhs-image` program: returns the exit code. `args` excludes the program name.
int run_uhs_image(std::span<const std::string> args, util::Io& io);

inline constexpr std::string_view k_uhs_image_about =
    "Turns one cluster file into reproducible, network-booted Raspberry Pi nodes.";

// Every area's table joined: what --help, the man page and the shell completion show.
std::vector<util::SubcommandSpec> uhs_image_commands();

// Loads a cluster file and, on failure, prints every diagnostic ("FILE:LINE:COL: error: ...").
std::optional<config::Cluster> load_cluster_or_report(const std::string& file, util::Io& io);

// Prints "PROGRAM: error: MESSAGE"; returns 2 (usage) for Errc::invalid_input, else 1.
int report_failure(util::Io& io, std::string_view program, const util::Error& error);

// Where the locked packages are kept and how they are fetched: --store, --source, --host-root,
// --jobs, --attempts (those a command has).
struct FetchSetup {
    fetch::Store store{""};
    apt::FetchPolicy policy;
};

// What `lock`, `fetch` and `build` start from: the cluster file, its lock's path, the store.
struct StoreCommand {
    config::Cluster cluster;
    std::filesystem::path lock_path;
    FetchSetup fetch;
};

using StoreCommandBody = int (*)(const util::ParsedArgs& args, util::Io& io,
                                 std::string_view program, StoreCommand& command);

// `spec` as a command on one CLUSTER.yaml (its one positional) that runs `body` with the
// StoreCommand of its arguments, or exits with the error printed when the cluster file or an
// option does not load.
util::SubcommandSpec store_command(util::SubcommandSpec spec, StoreCommandBody body);

// One table per area, joined by uhs_image_commands.
std::vector<util::SubcommandSpec> config_commands();
std::vector<util::SubcommandSpec> image_commands();
std::vector<util::SubcommandSpec> firmware_commands();
std::vector<util::SubcommandSpec> apt_commands();
std::vector<util::SubcommandSpec> publish_commands();
std::vector<util::SubcommandSpec> build_commands();
std::vector<util::SubcommandSpec> cluster_commands();

} // namespace uhs::cli

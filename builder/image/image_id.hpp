// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace uhs::image {

struct OverlayInput {
    std::string name;
    std::filesystem::path path;
    std::string sha256; // of the tree: paths, types, modes, contents, link targets
};

// Everything that determines the bytes of an image (ARCHITECTURE.md, "Identity").
struct ImageIdInputs {
    std::filesystem::path lock_file;
    std::optional<std::string> lock_sha256; // absent until `uhs-image lock` has run
    std::vector<OverlayInput> overlays;
    nlohmann::json config_subset; // the part of the cluster file that reaches the shared image
    std::string config_sha256;
    std::string tool_version;

    // SHA-256 over all of the above; absent while the lock is missing.
    std::optional<std::string> image_id() const;
};

// The lock file that belongs to a cluster file: "FILE.lock".
std::filesystem::path lock_path_for(const std::filesystem::path& cluster_file);

// SHA-256 over a directory tree, walked in sorted order: names, types, contents, link targets
// and the executable bit (modes are normalised to 0755/0644 as git would check them out);
// independent of mtimes, owners and the umask.
util::Result<std::string> tree_sha256(const std::filesystem::path& root);

// The config subset: what reaches the shared root filesystem and boot files. Per-node values
// (serials, MACs, addresses) are left out on purpose: enrolling a node must not change the
// image every other node runs.
nlohmann::json image_config_subset(const config::Cluster& cluster);

// Gathers the inputs for `cluster` (reads the lock and hashes the overlay trees).
util::Result<ImageIdInputs> collect_image_id_inputs(const config::Cluster& cluster);

} // namespace uhs::image

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <filesystem>
#include <string_view>

namespace uhs::image {

// Writes nodes/<dir>/ under `image_dir` for every enrolled node and each of its netboot
// directory names (serial and MAC): config.txt and cmdline.txt for that node, and relative
// symlinks to the shared boot files (kernel, initramfs, device tree, overlays/) in boot/, so a
// TFTP server rooted at the image directory serves a complete, node-specific boot set.
// Nodes without a serial or MAC are skipped (they cannot be told apart on the wire).
util::Status write_node_trees(const config::Cluster& cluster, std::string_view image_id,
                              const std::filesystem::path& image_dir);

} // namespace uhs::image

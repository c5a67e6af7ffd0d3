// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace uhs::rootfs {

struct NormalizeReport {
    std::vector<std::string> removed; // "/var/log/dpkg.log", in the order of the rules
    std::vector<std::string> emptied; // "/etc/machine-id"
};

// Removes what differs between two builds of the same packages and what must not be shared
// by every node: logs of the build, caches, backup files, the build's SSH host keys and random
// seeds; empties /etc/machine-id (each node gets its own at boot) and sets /etc/hostname to
// "localhost" (each node's name comes from its kernel command line). The list follows
// mmdebstrap's cleanup and pi-gen's finalise step. Never follows symlinks out of `root`.
util::Result<NormalizeReport> normalize_rootfs(const std::filesystem::path& root);

} // namespace uhs::rootfs

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace uhs::rootfs {

// Lays the file tree `overlay` over `root`, in sorted order: files replace what is there
// (whole, via temp + rename), missing directories are created, symlinks are recreated. In the
// root everything is owned by 0:0 with modes normalised as git checks them out (0755 for
// directories and executables, 0644 otherwise) and mtime `mtime`. Never writes through a
// symlink in the root (so overlays name /usr/bin, not /bin), never replaces a directory with a
// file. Returns the paths written ("/etc/containerd/config.toml").
util::Result<std::vector<std::string>> apply_overlay(const std::filesystem::path& overlay,
                                                     const std::filesystem::path& root,
                                                     std::int64_t mtime);

} // namespace uhs::rootfs

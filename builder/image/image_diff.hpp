// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace uhs::image {

// One difference between two builds.
struct Difference {
    std::string artifact; // path relative to the image directory ("rootfs.tar")
    std::string member;   // path inside a tar artifact, empty for the artifact itself
    std::string what;     // "only in A", "content differs (sha256 ... vs ...)", "mode 0644 vs 0600"
};

// Compares two image directories artifact by artifact (sorted walk; regular files by SHA-256,
// symlinks by target) and, for tar artifacts that differ, member by member: type, mode,
// owner, mtime, link target and content. The reproducibility debugging tool behind
// `uhs-image diff`. An empty result means the two builds are identical.
util::Result<std::vector<Difference>> diff_images(const std::filesystem::path& a,
                                                  const std::filesystem::path& b);

// Member-by-member differences of two tar files (any format and compression libarchive reads).
util::Result<std::vector<Difference>> diff_tars(const std::filesystem::path& a,
                                                const std::filesystem::path& b,
                                                const std::string& artifact);

} // namespace uhs::image

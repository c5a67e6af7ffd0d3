// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace uhs::image {

// One difference between two builds.
struct Difference {
    std::string artifact; // path relative to the image directory ("rootfs.tar")
    std::string member;   // path inside a tar artifact, empty for the artifact itself
    std::string what;     // "only in A", "content differs (sha256 ... vs ...)", "mode 0644 vs 0600"
};

// One member of a tar file, as the comparisons see it.
struct TarMember {
    char type = '?'; // f regular, d directory, l symlink, h hard link, c, b, p
    unsigned mode = 0;
    long long uid = 0, gid = 0, mtime = 0;
    std::string link;   // symlink or hard-link target
    std::string sha256; // of the content (empty content for non-files)
};

// Every member of a tar file (any format and compression libarchive reads), by name as stored.
util::Result<std::map<std::string, TarMember>> read_tar_members(const std::filesystem::path& path);

// Compares two image directories artifact by artifact (sorted walk; regular files by SHA-256,
// symlinks by target) and, for tar artifacts that differ, member by member: type, mode,
// owner, mtime, link target and content. The reproducibility debugging tool behind
// `uhs-image diff`. An empty result means the two builds are identical.
util::Result<std::vector<Difference>> diff_images(const std::filesystem::path& a,
                                                  const std::filesystem::path& b);

// Member-by-member differences of two member maps (as read_tar_members gives them).
std::vector<Difference> diff_tar_members(const std::map<std::string, TarMember>& left,
                                         const std::map<std::string, TarMember>& right,
                                         const std::string& artifact);

// Member-by-member differences of two tar files (any format and compression libarchive reads).
util::Result<std::vector<Difference>> diff_tars(const std::filesystem::path& a,
                                                const std::filesystem::path& b,
                                                const std::string& artifact);

} // namespace uhs::image

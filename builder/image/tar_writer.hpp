// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>

namespace uhs::image {

struct TarOptions {
    // Every mtime later than this is clamped to it (SOURCE_DATE_EPOCH semantics).
    std::int64_t source_date_epoch = 0;
};

struct TarSummary {
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0; // size of the written archive
};

// Writes the tree under `root` as a reproducible pax tar at `out` (names "./", "./etc", ...,
// as `tar -C root .` would): entries sorted bytewise,
// numeric owners only (no user or group names), mtimes clamped, no atime/ctime, hard links
// kept as links to the first path. The archive appears at `out` only when complete.
util::Result<TarSummary> write_tree_tar(const std::filesystem::path& root,
                                        const std::filesystem::path& out,
                                        const TarOptions& options);

} // namespace uhs::image

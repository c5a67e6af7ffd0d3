// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>

#include <locale.h>

namespace uhs::image {

// Makes this thread's character set UTF-8 while alive (whatever LANG says), so libarchive
// writes and reads the pax UTF-8 names of Debian's files (ca-certificates'
// "Főtanúsítvány.pem") instead of failing in the C locale, identically everywhere.
class ScopedUtf8Locale {
public:
    ScopedUtf8Locale();
    ~ScopedUtf8Locale();
    ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
    ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

private:
    locale_t m_locale;
    locale_t m_old;
};

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

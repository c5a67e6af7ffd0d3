// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/host_sources.hpp"
#include "builder/apt/lockfile.hpp"
#include "builder/fetch/http.hpp"
#include "builder/fetch/store.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace uhs::apt {

// How `fetch` and `build` get the locked packages into the store.
struct FetchPolicy {
    bool offline = false; // never download: report what is missing instead
    // Resolve every package's source even when nothing is missing (not with `offline`):
    // `uhs-image fetch` fails on a wrong --source or unreadable host sources though the store
    // is complete; `build` of an image whose packages are all there reads no sources.
    bool check_sources = false;
    SourceOverrides overrides;
    std::filesystem::path host_root = "/"; // whose APT sources `uri: auto` reads
    fetch::FetchOptions options;
    std::ostream* progress = nullptr; // download progress (a TTY), or none
    int progress_fd = -1;
    std::function<void(std::string_view)> say; // one line before downloading; may be empty
};

struct StoreFill {
    std::size_t locked = 0;    // packages in the lock
    std::size_t missing = 0;   // not in the store (or corrupt) when it was checked
    std::size_t corrupt = 0;   // of those, objects whose bytes no longer matched (now removed)
    std::string first_missing; // "NAME VERSION" of the first of them
    std::optional<fetch::DownloadReport> downloaded; // when anything was downloaded
};

// The one fetch policy. Every locked package's store object is re-hashed first: a file that
// changed on disk since it was fetched is removed, never installed. With `offline` nothing
// more happens and the shortfall is returned (missing > 0) for the caller to refuse in its own
// words; otherwise the missing packages are downloaded from the cluster file's sources, the
// host's APT sources being read only then (or always, with `check_sources`). On success without
// `offline` the store holds every locked package.
util::Result<StoreFill> fill_store(const config::Image& image, const LockFile& lock,
                                   const fetch::Store& store, const FetchPolicy& policy);

} // namespace uhs::apt

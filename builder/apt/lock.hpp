// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/host_sources.hpp"
#include "builder/apt/lockfile.hpp"
#include "builder/apt/repository.hpp"

#include <filesystem>
#include <vector>

namespace uhs::apt {

// The URI of each of `image`'s sources, in order (see resolve_source_uri).
util::Result<std::vector<std::string>> resolve_uris(const config::Image& image,
                                                    const std::filesystem::path& host_root,
                                                    const SourceOverrides& overrides);

// The names the resolver starts from: the variant's base set, then the cluster file's
// packages in order, then the kernel.
std::vector<std::string> requested_packages(const config::Image& image,
                                            const class Universe& universe);

// Loads verified indices, resolves the image's package set and returns its lock.
util::Result<LockFile> compute_lock(const config::Image& image,
                                    const std::vector<std::string>& uris,
                                    RepositoryContext& context);

// One download per locked package: URL = the suite base of its source + "/" + path.
// Fails with Errc::invalid_input when a package names a source the cluster file lacks.
util::Result<std::vector<fetch::DownloadItem>> download_items(const LockFile& lock,
                                                              const config::Image& image,
                                                              const std::vector<std::string>& uris);

} // namespace uhs::apt

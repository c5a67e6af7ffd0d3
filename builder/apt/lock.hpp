// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/host_sources.hpp"
#include "builder/apt/lockfile.hpp"
#include "builder/apt/policy.hpp"
#include "builder/apt/repository.hpp"

#include <filesystem>
#include <vector>

namespace uhs::apt {

// The URI of each of `image`'s sources, in order (see resolve_source_uri).
util::Result<std::vector<std::string>> resolve_uris(const config::Image& image,
                                                    const std::filesystem::path& host_root,
                                                    const SourceOverrides& overrides);

// What the resolver starts from: the variant's base set, then the cluster file's packages in
// order, then the kernel (each "PKG" or "PKG/SUITE").
std::vector<config::PackageRequest> requested_packages(const config::Image& image,
                                                       const class Universe& universe);

// Each suite's Release fields that apt's policy reads, in `indices` order.
std::vector<ReleaseInfo> release_infos(const Indices& indices);

// Fails with Errc::invalid_input, "FILE:LINE:COL: error: FIELD: ...", when a PKG/SUITE of
// image.packages or image.kernel or an image.pins suite names no suite's Suite or Codename.
util::Status check_suites_known(const config::Image& image, const class Universe& universe);

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

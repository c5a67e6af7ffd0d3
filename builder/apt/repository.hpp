// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/control.hpp"
#include "builder/apt/host_sources.hpp"
#include "builder/apt/release.hpp"
#include "builder/config/cluster.hpp"
#include "builder/fetch/http.hpp"
#include "builder/fetch/store.hpp"
#include "builder/util/subprocess.hpp"

#include <ctime>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace uhs::apt {

// One verified InRelease of one source suite.
struct SuiteState {
    std::string source; // the cluster file's source name
    std::string suite;
    std::string base_uri; // where Filename paths are relative to (no trailing '/')
    std::string inrelease_sha256;
    Release release;
};

// Everything the resolver needs, read from verified indices.
struct Indices {
    std::vector<SuiteState> suites;     // in cluster-file order
    std::vector<PackageRecord> records; // PackageRecord::origin indexes `suites`
};

struct RepositoryContext {
    util::CommandRunner& runner;
    const fetch::Store& store; // indices are cached here by their SHA-256
    fetch::FetchOptions fetch_options;
    std::time_t now = 0; // for Valid-Until
    // (source name, suite) -> the InRelease Date an existing lock pinned: an older Date is a
    // rollback (a replayed InRelease; repositories without Valid-Until cannot expire one).
    std::map<std::pair<std::string, std::string>, std::time_t> not_before;
};

// Decompresses an index (xz, gzip or plain, detected by content) with libarchive.
util::Result<std::string> decompress(std::string_view data, std::string_view origin);

// The URL of a suite's InRelease and the directory its index paths are relative to.
std::string suite_base(const config::AptSource& source, const std::string& uri,
                       const std::string& suite);

// Fetches and verifies (gpgv, Suite/Codename, Valid-Until, Date not before
// `context.not_before`, index SHA-256) every suite of every source, then parses its Packages
// indices for `architecture`. Fails closed: Errc::integrity for a bad signature, a signed
// Suite/Codename other than the requested suite, an expired Valid-Until, a rollback or an
// index whose hash differs from InRelease; nothing unverified enters the store.
util::Result<Indices> load_indices(const std::vector<config::AptSource>& sources,
                                   const std::vector<std::string>& uris,
                                   const std::string& architecture, RepositoryContext& context);

} // namespace uhs::apt

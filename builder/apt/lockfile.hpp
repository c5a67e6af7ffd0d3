// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace uhs::apt {

struct LockedSource {
    std::string name;
    std::string suite;
    std::string date; // Release Date, UTC ISO 8601
    std::string inrelease_sha256;
};

struct LockedPackage {
    std::string name;
    std::string version;
    std::string architecture;
    std::string source_package;
    std::string from; // the cluster file's source name
    std::string path; // relative to the suite base (Filename)
    std::uint64_t size = 0;
    std::string sha256;
};

struct LockFile {
    std::string request_sha256; // see request_digest()
    std::string architecture;
    std::vector<LockedSource> sources;   // sorted by (name, suite)
    std::vector<LockedPackage> packages; // sorted by name
};

// SHA-256 of everything in the cluster file that decides the lock: architecture, variant,
// sources (name, suites, components, keyring file name; not the URI, so a mirror can replace
// another), the packages and the kernel as written (with any /SUITE) and the pins. `lock
// --check` compares it.
std::string request_digest(const config::Image& image);

// The lock as stable, sorted, line-oriented text (one source or package per line).
std::string format_lock(LockFile lock);

// Parses format_lock() output. Fails with Errc::invalid_input naming `origin` and the line.
util::Result<LockFile> parse_lock(std::string_view text, std::string_view origin);

// Reads and parses a lock file; Errc::not_found when it does not exist.
util::Result<LockFile> read_lock(const std::filesystem::path& path);

// The lock `fetch` and `build` read: `lock_path` (the cluster file's FILE.lock) checked against
// the cluster file. Errc::not_found with the command to run when it does not exist or no longer
// matches the image section; parse errors as read_lock.
util::Result<LockFile> read_current_lock(const std::filesystem::path& lock_path,
                                         const config::Cluster& cluster);

} // namespace uhs::apt

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace uhs::fetch {

// A content-addressed store: ROOT/sha256/xx/<sha256>. Only verified bytes ever get a name
// there; downloads in progress live in ROOT/tmp and are renamed in after verification.
class Store {
public:
    explicit Store(std::filesystem::path root) : m_root(std::move(root)) {}

    // $XDG_CACHE_HOME/uhs/store, or ~/.cache/uhs/store.
    static std::filesystem::path default_root();

    const std::filesystem::path& root() const { return m_root; }
    // Where the object with this (lowercase hex) SHA-256 lives.
    std::filesystem::path path_for(std::string_view sha256) const;
    // The directory for partial downloads (created on demand).
    util::Result<std::filesystem::path> temp_dir() const;
    bool contains(std::string_view sha256) const;

    // Reads an object and re-checks its hash. Errc::not_found when absent; Errc::integrity
    // when the bytes on disk no longer match (the file is then removed).
    util::Result<std::string> read(std::string_view sha256) const;

    // Stores `data` if its SHA-256 is `sha256`; Errc::integrity otherwise (nothing written).
    util::Status insert_data(std::string_view data, std::string_view sha256) const;

    // Moves the finished download `temp`, which the caller holds open (and flock()ed) as `fd`,
    // in as `sha256` after hashing it: fsync, rename, fsync of the directory. The bytes hashed
    // are read through `fd`, so they are the bytes renamed in, whatever else happens to the
    // name. On a mismatch nothing is renamed or deleted and Errc::integrity is returned.
    util::Status insert_open_file(int fd, const std::filesystem::path& temp,
                                  std::string_view sha256) const;

    // Re-hashes the object on disk. Errc::not_found when absent; Errc::integrity when its bytes
    // no longer match its name (the object is then removed, so a fetch downloads it again).
    util::Status verify(std::string_view sha256) const;

private:
    std::filesystem::path m_root;
};

} // namespace uhs::fetch

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::util {

// Reads a file in 64 KiB chunks, handing each to `consume`. Fails with Errc::not_found when it
// does not exist.
Status read_chunks(const std::filesystem::path& path,
                   const std::function<void(std::string_view)>& consume);

// Reads a whole file. Fails with Errc::not_found when it does not exist.
Result<std::string> read_file(const std::filesystem::path& path);

// Reads a file a user named (a cluster file, a keyring, a lock): it must be a regular file
// (opened without blocking, so a FIFO is refused at once rather than waited on, and a device
// like /dev/zero is never read) of at most `max_bytes`. Errc::invalid_input otherwise, with
// what it is; Errc::not_found when it does not exist.
Result<std::string> read_input_file(const std::filesystem::path& path, std::size_t max_bytes);

// The same checks and bounded read on a file already open (`name` for the errors): for a file
// found by a safe walk (rootfs::open_parent_beneath) rather than by a path.
Result<std::string> read_input_fd(int fd, const std::string& name, std::size_t max_bytes);

// Writes `data` to `path` so that readers see either the old file or the complete new one:
// a temp file beside it, fsync, rename, fsync of the directory. `mode` applies to the new file.
Status write_file_atomic(const std::filesystem::path& path, std::string_view data,
                         unsigned mode = 0644);

// A file written under a temp name beside `destination` and renamed over it by commit(), so
// readers see either the old file or the complete new one. Dropped without commit(), the temp
// file is removed: a failed write never leaves anything a user could take for a result.
class AtomicFile {
public:
    // Creates `.<name>.tmp.XXXXXX` in the destination's directory.
    static Result<AtomicFile> create(const std::filesystem::path& destination);
    AtomicFile(AtomicFile&& other) noexcept;
    AtomicFile& operator=(AtomicFile&&) = delete;
    AtomicFile(const AtomicFile&) = delete;
    ~AtomicFile();

    int fd() const { return m_fd; }
    // Where the content is being written (tools that take a path write here).
    const std::filesystem::path& temp_path() const { return m_temp; }
    // Sets `mode`, fsyncs, renames over the destination and fsyncs the directory.
    Status commit(unsigned mode = 0644);

private:
    AtomicFile(std::filesystem::path destination, std::filesystem::path temp, int fd)
        : m_destination(std::move(destination)), m_temp(std::move(temp)), m_fd(fd) {}
    std::filesystem::path m_destination;
    std::filesystem::path m_temp;
    int m_fd = -1;
};

// std::filesystem::copy_file (overwriting, permissions copied) as a Status: Errc::io,
// "cannot copy FROM to TO: why".
Status copy_file(const std::filesystem::path& from, const std::filesystem::path& to);

// std::filesystem::create_directories as a Status: Errc::io, "cannot create DIR: why".
Status create_dirs(const std::filesystem::path& dir);

// Entries of `dir` (names only), sorted bytewise so every walk is reproducible.
Result<std::vector<std::string>> list_dir_sorted(const std::filesystem::path& dir);

// A private directory under $TMPDIR, removed with its contents on destruction unless kept.
class TempDir {
public:
    // Creates `<tmp>/<prefix>XXXXXX`.
    static Result<TempDir> create(std::string_view prefix);
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&&) = delete;
    TempDir(const TempDir&) = delete;
    ~TempDir();

    const std::filesystem::path& path() const { return m_path; }
    // Leaves the directory in place (tests keep it when they fail).
    void keep() { m_keep = true; }

private:
    explicit TempDir(std::filesystem::path path) : m_path(std::move(path)) {}
    std::filesystem::path m_path;
    bool m_keep = false;
};

// strerror(errno) as a std::string.
std::string errno_text(int err);

} // namespace uhs::util

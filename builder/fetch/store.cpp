// SPDX-License-Identifier: Apache-2.0
#include "builder/fetch/store.hpp"

#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/strings.hpp"

#include <cerrno>
#include <cstdlib>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::fetch {
namespace {

util::Status check_name(std::string_view sha256) {
    if (sha256.size() != 64 || !util::is_hex(sha256) || util::to_lower(sha256) != sha256) {
        return util::fail(util::Errc::invalid_input, "not a lowercase SHA-256: \"",
                          std::string(sha256), "\"");
    }
    return {};
}

util::Status fsync_path(const std::filesystem::path& path, int flags) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) {
        return util::fail(util::Errc::io, "cannot open ", path.string(), ": ",
                          util::errno_text(errno));
    }
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) {
        return util::fail(util::Errc::io, "cannot fsync ", path.string(), ": ",
                          util::errno_text(err));
    }
    return {};
}

// `path`, once the directory it goes into exists.
util::Result<std::filesystem::path> with_parent_dir(std::filesystem::path path) {
    UHS_CHECK(util::create_dirs(path.parent_path()));
    return path;
}

} // namespace

std::filesystem::path Store::default_root() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
        return std::filesystem::path(xdg) / "uhs/store";
    }
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : "/root") / ".cache/uhs/store";
}

std::filesystem::path Store::path_for(std::string_view sha256) const {
    return m_root / "sha256" / std::string(sha256.substr(0, 2)) / std::string(sha256);
}

util::Result<std::filesystem::path> Store::temp_dir() const {
    std::filesystem::path dir = m_root / "tmp";
    UHS_CHECK(util::create_dirs(dir));
    return dir;
}

bool Store::contains(std::string_view sha256) const {
    std::error_code ec;
    return check_name(sha256) && std::filesystem::is_regular_file(path_for(sha256), ec);
}

util::Result<std::string> Store::read(std::string_view sha256) const {
    UHS_CHECK(check_name(sha256));
    std::filesystem::path path = path_for(sha256);
    std::string data = UHS_TRY(util::read_file(path));
    if (util::sha256_hex(data) != sha256) {
        std::error_code ec;
        std::filesystem::remove(path, ec);
        return util::fail(util::Errc::integrity, "store object ", path.string(),
                          " is corrupt (removed)");
    }
    return data;
}

util::Status Store::insert_data(std::string_view data, std::string_view sha256) const {
    UHS_CHECK(check_name(sha256));
    if (std::string actual = util::sha256_hex(data); actual != sha256) {
        return util::fail(util::Errc::integrity, "SHA-256 mismatch: expected ", std::string(sha256),
                          ", got ", actual);
    }
    const std::filesystem::path path = UHS_TRY(with_parent_dir(path_for(sha256)));
    return util::write_file_atomic(path, data, 0644);
}

util::Status Store::insert_open_file(int fd, const std::filesystem::path& temp,
                                     std::string_view sha256) const {
    UHS_CHECK(check_name(sha256));
    util::Sha256 hash;
    char buffer[1 << 16];
    for (off_t offset = 0;;) {
        const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return util::fail(util::Errc::io, "cannot read ", temp.string(), ": ",
                              util::errno_text(errno));
        }
        if (n == 0) {
            break;
        }
        hash.update(std::string_view(buffer, static_cast<std::size_t>(n)));
        offset += n;
    }
    if (std::string actual = util::to_hex(hash.finish()); actual != sha256) {
        return util::fail(util::Errc::integrity, "SHA-256 mismatch: expected ", std::string(sha256),
                          ", got ", actual);
    }
    if (::fsync(fd) != 0) {
        return util::fail(util::Errc::io, "cannot fsync ", temp.string(), ": ",
                          util::errno_text(errno));
    }
    ::fchmod(fd, 0644);
    const std::filesystem::path path = UHS_TRY(with_parent_dir(path_for(sha256)));
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        return util::fail(util::Errc::io, "cannot rename ", temp.string(), " to ", path.string(),
                          ": ", util::errno_text(errno));
    }
    return fsync_path(path.parent_path(), O_RDONLY | O_DIRECTORY);
}

util::Status Store::verify(std::string_view sha256) const {
    UHS_CHECK(check_name(sha256));
    std::filesystem::path path = path_for(sha256);
    std::string actual = UHS_TRY(util::sha256_file_hex(path));
    if (actual != sha256) {
        std::error_code ec;
        std::filesystem::remove(path, ec);
        return util::fail(util::Errc::integrity, "store object ", path.string(),
                          " is corrupt (removed)");
    }
    return {};
}

} // namespace uhs::fetch

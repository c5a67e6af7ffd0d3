// SPDX-License-Identifier: Apache-2.0
#include "builder/util/fs.hpp"

#include "builder/util/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::util {

namespace fs = std::filesystem;

std::string errno_text(int err) {
    return std::strerror(err);
}

Result<std::string> read_file(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        return fail(err == ENOENT ? Errc::not_found : Errc::io, "cannot open ", path.string(), ": ",
                    errno_text(err));
    }
    std::string data;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(Errc::io, "cannot read ", path.string(), ": ", errno_text(errno));
        }
        if (n == 0) {
            break;
        }
        data.append(buffer, static_cast<size_t>(n));
    }
    return data;
}

static Status write_all(int fd, std::string_view data, const fs::path& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(Errc::io, "cannot write ", path.string(), ": ", errno_text(errno));
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Status write_file_atomic(const fs::path& path, std::string_view data, unsigned mode) {
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::string temp = (dir / ("." + path.filename().string() + ".tmp.XXXXXX")).string();
    UniqueFd fd(::mkstemp(temp.data()));
    if (!fd) {
        return fail(Errc::io, "cannot create a temp file in ", dir.string(), ": ",
                    errno_text(errno));
    }
    auto cleanup_fail = [&](Error error) -> Status {
        ::unlink(temp.c_str());
        return std::unexpected(std::move(error));
    };
    if (auto written = write_all(fd.get(), data, temp); !written) {
        return cleanup_fail(written.error());
    }
    if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0) {
        return cleanup_fail(Error{"cannot finish " + temp + ": " + errno_text(errno), Errc::io});
    }
    fd.reset();
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        return cleanup_fail(
            Error{"cannot rename to " + path.string() + ": " + errno_text(errno), Errc::io});
    }
    // Make the rename itself durable.
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd) {
        ::fsync(dir_fd.get());
    }
    return {};
}

Result<std::vector<std::string>> list_dir_sorted(const fs::path& dir) {
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        names.push_back(it->path().filename().string());
    }
    if (ec) {
        return fail(ec == std::errc::no_such_file_or_directory ? Errc::not_found : Errc::io,
                    "cannot list ", dir.string(), ": ", ec.message());
    }
    std::sort(names.begin(), names.end());
    return names;
}

Result<TempDir> TempDir::create(std::string_view prefix) {
    const char* tmp = std::getenv("TMPDIR");
    fs::path base = (tmp && *tmp) ? fs::path(tmp) : fs::path("/tmp");
    std::string templ = (base / (std::string(prefix) + "XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr) {
        return fail(Errc::io, "cannot create a temp directory in ", base.string(), ": ",
                    errno_text(errno));
    }
    return TempDir(fs::path(templ));
}

TempDir::TempDir(TempDir&& other) noexcept
    : m_path(std::exchange(other.m_path, {})), m_keep(other.m_keep) {}

TempDir::~TempDir() {
    if (!m_keep && !m_path.empty()) {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
}

} // namespace uhs::util

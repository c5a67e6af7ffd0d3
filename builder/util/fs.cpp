// SPDX-License-Identifier: Apache-2.0
#include "builder/util/fs.hpp"

#include "builder/util/fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::util {

namespace fs = std::filesystem;

std::string errno_text(int err) {
    return std::strerror(err);
}

Status read_chunks(const fs::path& path, const std::function<void(std::string_view)>& consume) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        return fail(err == ENOENT ? Errc::not_found : Errc::io, "cannot open ", path.string(), ": ",
                    errno_text(err));
    }
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(Errc::io, "cannot read ", path.string(), ": ", errno_text(errno));
        }
        if (n == 0) {
            return {};
        }
        consume(std::string_view(buffer, static_cast<size_t>(n)));
    }
}

Result<std::string> read_file(const fs::path& path) {
    std::string data;
    UHS_CHECK(read_chunks(path, [&](std::string_view chunk) { data.append(chunk); }));
    return data;
}

Result<std::string> read_input_file(const fs::path& path, std::size_t max_bytes) {
    // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever. It changes
    // nothing for the regular file read_input_fd then insists on.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) {
        const int err = errno;
        return fail(err == ENOENT ? Errc::not_found : Errc::io, "cannot open ", path.string(), ": ",
                    errno_text(err));
    }
    return read_input_fd(fd.get(), path.string(), max_bytes);
}

Result<std::string> read_input_fd(int fd, const std::string& name, std::size_t max_bytes) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return fail(Errc::io, "cannot stat ", name, ": ", errno_text(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        const char* what = S_ISDIR(st.st_mode)    ? "a directory"
                           : S_ISFIFO(st.st_mode) ? "a FIFO"
                           : S_ISCHR(st.st_mode)  ? "a character device"
                           : S_ISBLK(st.st_mode)  ? "a block device"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : "not a regular file";
        return fail(Errc::invalid_input, name, " is ", what, ", not a regular file");
    }
    const std::string limit = std::to_string(max_bytes) + " bytes";
    if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) {
        return fail(Errc::invalid_input, name, " is ", std::to_string(st.st_size),
                    " bytes, over the limit of ", limit);
    }
    // Bounded even when the file grows while it is read.
    const auto size = static_cast<std::size_t>(st.st_size); // <= max_bytes, checked above
    std::string data(size + 1, '\0');
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(Errc::io, "cannot read ", name, ": ", errno_text(errno));
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
        if (done == data.size() && done <= max_bytes) {
            data.resize(std::min(max_bytes + 1, data.size() * 2)); // it grew: read on, bounded
        }
    }
    if (done > max_bytes) {
        return fail(Errc::invalid_input, name, " grew over the limit of ", limit,
                    " while it was read");
    }
    data.resize(done);
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

Result<AtomicFile> AtomicFile::create(const fs::path& destination) {
    const fs::path dir = destination.has_parent_path() ? destination.parent_path() : fs::path(".");
    std::string temp = (dir / ("." + destination.filename().string() + ".tmp.XXXXXX")).string();
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) {
        return fail(Errc::io, "cannot create a temp file in ", dir.string(), ": ",
                    errno_text(errno));
    }
    return AtomicFile(destination, fs::path(temp), fd);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : m_destination(std::move(other.m_destination)), m_temp(std::exchange(other.m_temp, {})),
      m_fd(std::exchange(other.m_fd, -1)) {}

AtomicFile::~AtomicFile() {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
    if (!m_temp.empty()) {
        ::unlink(m_temp.c_str());
    }
}

Status AtomicFile::commit(unsigned mode) {
    if (::fchmod(m_fd, mode) != 0 || ::fsync(m_fd) != 0) {
        return fail(Errc::io, "cannot finish ", m_temp.string(), ": ", errno_text(errno));
    }
    ::close(std::exchange(m_fd, -1));
    if (::rename(m_temp.c_str(), m_destination.c_str()) != 0) {
        return fail(Errc::io, "cannot rename to ", m_destination.string(), ": ", errno_text(errno));
    }
    m_temp.clear();
    // Make the rename itself durable.
    const fs::path dir = m_destination.has_parent_path() ? m_destination.parent_path() : ".";
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd) {
        ::fsync(dir_fd.get());
    }
    return {};
}

Status write_file_atomic(const fs::path& path, std::string_view data, unsigned mode) {
    AtomicFile file = UHS_TRY(AtomicFile::create(path));
    UHS_CHECK(write_all(file.fd(), data, file.temp_path()));
    return file.commit(mode);
}

Status copy_file(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) {
        return fail(Errc::io, "cannot copy ", from.string(), " to ", to.string(), ": ",
                    ec.message());
    }
    return {};
}

Status create_dirs(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return fail(Errc::io, "cannot create ", dir.string(), ": ", ec.message());
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

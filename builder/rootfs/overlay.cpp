// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/overlay.hpp"

#include "builder/rootfs/safe_path.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"

#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::rootfs {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;
using util::UniqueFd;

namespace {

class OverlayWriter {
public:
    OverlayWriter(fs::path overlay, UniqueFd root, std::int64_t mtime)
        : m_overlay(std::move(overlay)), m_root(std::move(root)), m_mtime(mtime) {}

    util::Status walk(const std::string& relative) {
        const fs::path dir = relative.empty() ? m_overlay : m_overlay / relative;
        const auto names = UHS_TRY(util::list_dir_sorted(dir));
        for (const std::string& name : names) {
            const std::string path = relative.empty() ? name : relative + "/" + name;
            struct stat st {};
            if (::lstat((m_overlay / path).c_str(), &st) != 0) {
                return fail(Errc::io, "cannot stat ", (m_overlay / path).string(), ": ",
                            util::errno_text(errno));
            }
            UHS_CHECK(install(path, st));
            if (S_ISDIR(st.st_mode)) {
                UHS_CHECK(walk(path));
            }
        }
        return {};
    }

    std::vector<std::string> take_paths() { return std::move(m_paths); }

private:
    util::Status install(const std::string& path, const struct stat& st) {
        const std::string where = (m_overlay / path).string();
        const auto parts = UHS_TRY(safe_components(path, where));
        UniqueFd dir = UHS_TRY(open_parent_beneath(m_root.get(), parts, CreateParents::yes, where));
        const char* name = parts.back().c_str();
        struct stat existing {};
        const bool exists = ::fstatat(dir.get(), name, &existing, AT_SYMLINK_NOFOLLOW) == 0;
        if (S_ISDIR(st.st_mode)) {
            if (exists && !S_ISDIR(existing.st_mode)) {
                return fail(Errc::invalid_input, where, ": '", parts.back(),
                            "' is a symlink or not a directory in the root; writing through it "
                            "is refused");
            }
            if (!exists && ::mkdirat(dir.get(), name, 0755) != 0) {
                return fail(Errc::io, where,
                            ": cannot create directory: ", util::errno_text(errno));
            }
            if (!exists) {
                UHS_CHECK(finish(dir.get(), name, 0755, where));
            }
            return {};
        }
        if (exists && S_ISDIR(existing.st_mode)) {
            return fail(Errc::invalid_input, where,
                        ": would replace a directory of the root with a file");
        }
        const std::string temp = ".uhs-overlay-" + std::to_string(m_counter++);
        if (S_ISLNK(st.st_mode)) {
            std::error_code ec;
            const fs::path target = fs::read_symlink(m_overlay / path, ec);
            if (ec || ::symlinkat(target.c_str(), dir.get(), temp.c_str()) != 0) {
                return fail(Errc::io, where, ": cannot create symlink");
            }
            if (::fchownat(dir.get(), temp.c_str(), 0, 0, AT_SYMLINK_NOFOLLOW) != 0 &&
                errno != EPERM) {
                return fail(Errc::io, where, ": cannot set owner: ", util::errno_text(errno));
            }
        } else if (S_ISREG(st.st_mode)) {
            const auto data = UHS_TRY(util::read_file(m_overlay / path));
            UniqueFd out(::openat(dir.get(), temp.c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!out ||
                ::write(out.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
                ::unlinkat(dir.get(), temp.c_str(), 0);
                return fail(Errc::io, where,
                            ": cannot write into the root: ", util::errno_text(errno));
            }
            out.reset();
            UHS_CHECK(finish(dir.get(), temp.c_str(), (st.st_mode & 0111) ? 0755 : 0644, where));
        } else {
            return fail(Errc::invalid_input, where,
                        ": overlays may hold only files, directories and symlinks");
        }
        if (::renameat(dir.get(), temp.c_str(), dir.get(), name) != 0) {
            const int err = errno;
            ::unlinkat(dir.get(), temp.c_str(), 0);
            return fail(Errc::io, where, ": cannot move into place: ", util::errno_text(err));
        }
        const timespec times[2] = {{m_mtime, 0}, {m_mtime, 0}};
        ::utimensat(dir.get(), name, times, AT_SYMLINK_NOFOLLOW);
        m_paths.push_back("/" + path);
        return {};
    }

    // Owner 0:0 (where permitted: an unprivileged test run keeps its own), then the mode,
    // since chown clears set-id bits.
    util::Status finish(int dir, const char* name, mode_t mode, const std::string& where) {
        if (::fchownat(dir, name, 0, 0, AT_SYMLINK_NOFOLLOW) != 0 && errno != EPERM) {
            return fail(Errc::io, where, ": cannot set owner: ", util::errno_text(errno));
        }
        if (::fchmodat(dir, name, mode, 0) != 0) {
            return fail(Errc::io, where, ": cannot set mode: ", util::errno_text(errno));
        }
        const timespec times[2] = {{m_mtime, 0}, {m_mtime, 0}};
        ::utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW);
        return {};
    }

    fs::path m_overlay;
    UniqueFd m_root;
    std::int64_t m_mtime;
    std::vector<std::string> m_paths;
    unsigned m_counter = 0;
};

} // namespace

util::Result<std::vector<std::string>> apply_overlay(const fs::path& overlay, const fs::path& root,
                                                     std::int64_t mtime) {
    UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) {
        return fail(Errc::io, "cannot open ", root.string(), ": ", util::errno_text(errno));
    }
    OverlayWriter writer(overlay, std::move(root_fd), mtime);
    UHS_CHECK(writer.walk(""));
    return writer.take_paths();
}

} // namespace uhs::rootfs

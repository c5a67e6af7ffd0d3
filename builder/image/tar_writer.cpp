// SPDX-License-Identifier: Apache-2.0
#include "builder/image/tar_writer.hpp"

#include "builder/util/archive.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/locale.hpp"

#include <algorithm>
#include <cerrno>
#include <map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace uhs::image {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

class TarWriter {
public:
    TarWriter(const fs::path& root, const TarOptions& options) : m_root(root), m_options(options) {}

    util::Status open(int fd) {
        m_archive.reset(archive_write_new());
        // pax so long names, large files and sub-second precision never fall back to GNU
        // extensions; "restricted" adds extended headers only when an entry needs them.
        if (archive_write_set_format_pax_restricted(m_archive.get()) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(m_archive.get(), 1) != ARCHIVE_OK ||
            archive_write_open_fd(m_archive.get(), fd) != ARCHIVE_OK) {
            return fail(Errc::io,
                        "cannot start the tar writer: ", archive_error_string(m_archive.get()));
        }
        return {};
    }

    util::Status add(const std::string& relative) {
        const fs::path path = relative.empty() ? m_root : m_root / relative;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) {
            return fail(Errc::io, "cannot stat ", path.string(), ": ", util::errno_text(errno));
        }
        // Names as `tar -C root .` writes them: "./", "./etc", "./etc/hostname".
        UHS_CHECK(write_entry(relative.empty() ? "./" : "./" + relative, path, st));
        if (S_ISDIR(st.st_mode)) {
            const auto names = UHS_TRY(util::list_dir_sorted(path));
            for (const std::string& name : names) {
                UHS_CHECK(add(relative.empty() ? name : relative + "/" + name));
            }
        }
        return {};
    }

    util::Status close() {
        if (archive_write_close(m_archive.get()) != ARCHIVE_OK) {
            return fail(Errc::io, "cannot finish the tar: ", archive_error_string(m_archive.get()));
        }
        return {};
    }

    std::uint64_t entries() const { return m_entries; }

private:
    util::Status write_entry(const std::string& relative, const fs::path& path,
                             const struct stat& st) {
        util::ArchiveEntry entry(archive_entry_new());
        archive_entry_set_pathname(entry.get(), relative.c_str());
        archive_entry_set_mode(entry.get(), st.st_mode);
        archive_entry_set_uid(entry.get(), st.st_uid);
        archive_entry_set_gid(entry.get(), st.st_gid);
        archive_entry_set_mtime(
            entry.get(), std::min<std::int64_t>(st.st_mtime, m_options.source_date_epoch), 0);
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
            const auto key = std::pair(st.st_dev, st.st_ino);
            if (auto it = m_links.find(key); it != m_links.end()) {
                archive_entry_set_hardlink(entry.get(), it->second.c_str());
                archive_entry_set_size(entry.get(), 0);
                return write_header(entry.get(), relative);
            }
            m_links.emplace(key, relative);
        }
        if (S_ISLNK(st.st_mode)) {
            std::error_code ec;
            const fs::path target = fs::read_symlink(path, ec);
            if (ec) {
                return fail(Errc::io, "cannot read link ", path.string(), ": ", ec.message());
            }
            archive_entry_set_symlink(entry.get(), target.c_str());
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
            archive_entry_set_rdev(entry.get(), st.st_rdev);
        }
        if (!S_ISREG(st.st_mode)) {
            archive_entry_set_size(entry.get(), 0);
            return write_header(entry.get(), relative);
        }
        archive_entry_set_size(entry.get(), st.st_size);
        UHS_CHECK(write_header(entry.get(), relative));
        util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!fd) {
            return fail(Errc::io, "cannot open ", path.string(), ": ", util::errno_text(errno));
        }
        char buffer[1 << 16];
        for (;;) {
            const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return fail(Errc::io, "cannot read ", path.string(), ": ", util::errno_text(errno));
            }
            if (n == 0) {
                break;
            }
            if (archive_write_data(m_archive.get(), buffer, static_cast<size_t>(n)) != n) {
                return fail(Errc::io, "cannot write ", relative,
                            " to the tar: ", archive_error_string(m_archive.get()));
            }
        }
        return {};
    }

    util::Status write_header(archive_entry* entry, const std::string& relative) {
        if (archive_write_header(m_archive.get(), entry) != ARCHIVE_OK) {
            return fail(Errc::io, "cannot write ", relative,
                        " to the tar: ", archive_error_string(m_archive.get()));
        }
        ++m_entries;
        return {};
    }

    fs::path m_root;
    TarOptions m_options;
    util::ArchiveWriter m_archive;
    std::map<std::pair<dev_t, ino_t>, std::string> m_links;
    std::uint64_t m_entries = 0;
};

} // namespace

util::Result<TarSummary> write_tree_tar(const fs::path& root, const fs::path& out,
                                        const TarOptions& options) {
    const util::ScopedUtf8Locale utf8;
    util::AtomicFile file = UHS_TRY(util::AtomicFile::create(out));
    TarWriter writer(root, options);
    UHS_CHECK(writer.open(file.fd()));
    UHS_CHECK(writer.add(""));
    UHS_CHECK(writer.close());
    struct stat st {};
    ::fstat(file.fd(), &st);
    UHS_CHECK(file.commit(0644));
    return TarSummary{writer.entries(), static_cast<std::uint64_t>(st.st_size)};
}

} // namespace uhs::image

// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/extract.hpp"

#include "builder/rootfs/safe_path.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace uhs::rootfs {

using util::Errc;
using util::fail;
using util::UniqueFd;

namespace {

constexpr std::string_view k_temp_prefix = ".uhs-extract-";

class Extractor {
public:
    Extractor(const std::string& name, const ExtractPolicy& policy, UniqueFd root)
        : m_name(name), m_policy(policy), m_root(std::move(root)) {}

    util::Result<ExtractReport> run(archive* reader, const std::string& what) {
        archive_entry* entry = nullptr;
        for (;;) {
            const int status = archive_read_next_header(reader, &entry);
            if (status == ARCHIVE_EOF) {
                break;
            }
            if (status != ARCHIVE_OK) {
                return fail(Errc::invalid_input, what, ": ", archive_error_string(reader));
            }
            UHS_CHECK(extract_entry(reader, entry));
        }
        UHS_CHECK(restore_directory_times());
        return std::move(m_report);
    }

private:
    // A directory whose own mtime is put back once its children are in.
    struct DatedDirectory {
        std::vector<std::string> parts;
        std::string where;
        std::int64_t mtime;
    };

    std::string where(const char* name) const { return m_name + ": " + name; }

    // Applies the merged-/usr aliases: {bin, x} -> {usr, bin, x}.
    std::vector<std::string> on_disk(std::vector<std::string> parts) const {
        if (!parts.empty() &&
            std::find(m_policy.merged_usr_aliases.begin(), m_policy.merged_usr_aliases.end(),
                      parts.front()) != m_policy.merged_usr_aliases.end()) {
            parts.insert(parts.begin(), "usr");
        }
        return parts;
    }

    util::Status finish_metadata(int dir, const std::string& name, archive_entry* entry,
                                 bool is_link, const std::string& where_) {
        mode_t mode = archive_entry_perm(entry);
        if (m_policy.ownership != Ownership::ignore &&
            ::fchownat(dir, name.c_str(), static_cast<uid_t>(archive_entry_uid(entry)),
                       static_cast<gid_t>(archive_entry_gid(entry)), AT_SYMLINK_NOFOLLOW) != 0) {
            if (m_policy.ownership == Ownership::apply) {
                return fail(Errc::io, where_, ": cannot set owner: ", util::errno_text(errno));
            }
            // Set-id bits belong to the owner the archive names, not to whoever extracts.
            mode &= ~static_cast<mode_t>(S_ISUID | S_ISGID);
        }
        // After chown, which clears set-id bits.
        if (!is_link && ::fchmodat(dir, name.c_str(), mode, 0) != 0) {
            return fail(Errc::io, where_, ": cannot set mode: ", util::errno_text(errno));
        }
        const timespec times[2] = {{archive_entry_mtime(entry), 0},
                                   {archive_entry_mtime(entry), 0}};
        ::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW);
        return {};
    }

    // Temp names are counted from 0 in every run. A run that was cut off may have left some
    // behind: publish, which extracts again over its tree, sweeps them first
    // (remove_extract_leftovers), so no syscall per entry is spent on them here.
    std::string temp_name() { return std::string(k_temp_prefix) + std::to_string(m_counter++); }

    // Moves `temp` over `name`, refusing to replace a directory with a non-directory.
    util::Status replace(int dir, const std::string& temp, const std::string& name,
                         const std::string& where_) {
        struct stat st {};
        if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            ::unlinkat(dir, temp.c_str(), 0);
            return fail(Errc::invalid_input, where_, ": would replace a directory with a file");
        }
        if (::renameat(dir, temp.c_str(), dir, name.c_str()) != 0) {
            const int err = errno;
            ::unlinkat(dir, temp.c_str(), 0);
            return fail(Errc::io, where_, ": cannot move into place: ", util::errno_text(err));
        }
        return {};
    }

    util::Status extract_entry(archive* reader, archive_entry* entry) {
        const char* raw_name = archive_entry_pathname(entry);
        const std::string entry_where = where(raw_name ? raw_name : "(unnamed entry)");
        if (!raw_name) {
            return fail(Errc::invalid_input, entry_where, ": entry without a name");
        }
        const auto archive_parts = UHS_TRY(safe_components(raw_name, entry_where));
        // The extractor's temp names are its own: content by that name would be taken for a
        // leftover and removed (temp_name, remove_extract_leftovers).
        if (!archive_parts.empty() && archive_parts.back().starts_with(k_temp_prefix)) {
            return fail(Errc::invalid_input, entry_where, ": names starting with ",
                        std::string(k_temp_prefix), " are reserved for the extractor");
        }
        m_report.paths.push_back(
            "/" + (archive_parts.empty() ? std::string(".") : util::join(archive_parts, "/")));
        if (archive_parts.empty()) {
            return {}; // "./": the root exists already
        }
        const auto parts = on_disk(archive_parts);
        if (archive_parts.size() == 1 && parts.size() == 2 &&
            archive_entry_filetype(entry) == AE_IFLNK) {
            // base-files' own "/bin -> usr/bin": the merged-/usr link is in place already.
            const char* target = archive_entry_symlink(entry);
            if (target && std::string_view(target) == "usr/" + archive_parts.front()) {
                struct stat st {};
                const char* alias = archive_parts.front().c_str();
                if (::fstatat(m_root.get(), alias, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                    if (S_ISLNK(st.st_mode)) {
                        return {};
                    }
                    return fail(Errc::invalid_input, entry_where,
                                ": the merged-/usr link meets an existing directory");
                }
                if (::symlinkat(target, m_root.get(), alias) != 0) {
                    return fail(Errc::io, entry_where,
                                ": cannot create symlink: ", util::errno_text(errno));
                }
                return {};
            }
        }
        const std::string& name = parts.back();
        UniqueFd dir =
            UHS_TRY(open_parent_beneath(m_root.get(), parts, CreateParents::yes, entry_where));

        if (const char* hardlink = archive_entry_hardlink(entry)) {
            const auto target_parts = on_disk(UHS_TRY(safe_components(hardlink, entry_where)));
            if (target_parts.empty()) {
                return fail(Errc::invalid_input, entry_where, ": hard link to the root refused");
            }
            UniqueFd target_dir = UHS_TRY(
                open_parent_beneath(m_root.get(), target_parts, CreateParents::no, entry_where));
            struct stat st {};
            if (::fstatat(target_dir.get(), target_parts.back().c_str(), &st,
                          AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(st.st_mode)) {
                return fail(Errc::invalid_input, entry_where, ": hard link target '", hardlink,
                            "' is not a file extracted before it");
            }
            const std::string temp = temp_name();
            if (::linkat(target_dir.get(), target_parts.back().c_str(), dir.get(), temp.c_str(),
                         0) != 0) {
                return fail(Errc::io, entry_where, ": cannot link: ", util::errno_text(errno));
            }
            return replace(dir.get(), temp, name, entry_where);
        }

        const mode_t type = archive_entry_filetype(entry);
        const auto size =
            static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(entry), 0));
        switch (type) {
        case AE_IFDIR: {
            if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
                return fail(Errc::io, entry_where,
                            ": cannot create directory: ", util::errno_text(errno));
            }
            struct stat st {};
            if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISDIR(st.st_mode)) {
                return fail(Errc::invalid_input, entry_where,
                            ": a directory entry meets an existing non-directory");
            }
            if (m_policy.directory_times == DirectoryTimes::from_archive) {
                m_directories.push_back({parts, entry_where, archive_entry_mtime(entry)});
            }
            return finish_metadata(dir.get(), name, entry, false, entry_where);
        }
        case AE_IFREG: {
            if (size > m_policy.max_entry_size) {
                return fail(Errc::invalid_input, entry_where, ": ", std::to_string(size),
                            " bytes is over the limit of ",
                            std::to_string(m_policy.max_entry_size));
            }
            if (m_report.bytes + size > m_policy.max_total_size) {
                return fail(Errc::invalid_input, entry_where, ": the package is over the limit of ",
                            std::to_string(m_policy.max_total_size), " bytes");
            }
            const std::string temp = temp_name();
            UniqueFd out(::openat(dir.get(), temp.c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
            if (!out) {
                return fail(Errc::io, entry_where, ": cannot create: ", util::errno_text(errno));
            }
            std::uint64_t written = 0;
            const void* block = nullptr;
            size_t block_size = 0;
            la_int64_t offset = 0;
            for (;;) {
                const int status = archive_read_data_block(reader, &block, &block_size, &offset);
                if (status == ARCHIVE_EOF) {
                    break;
                }
                if (status != ARCHIVE_OK) {
                    ::unlinkat(dir.get(), temp.c_str(), 0);
                    return fail(Errc::invalid_input, entry_where, ": ",
                                archive_error_string(reader));
                }
                written = static_cast<std::uint64_t>(offset) + block_size;
                if (written > size) {
                    ::unlinkat(dir.get(), temp.c_str(), 0);
                    return fail(Errc::invalid_input, entry_where,
                                ": more data than its header says");
                }
                if (::pwrite(out.get(), block, block_size, offset) !=
                    static_cast<ssize_t>(block_size)) {
                    const int err = errno;
                    ::unlinkat(dir.get(), temp.c_str(), 0);
                    return fail(Errc::io, entry_where, ": cannot write: ", util::errno_text(err));
                }
            }
            // Sparse tails: the file must have the size its header says.
            if (::ftruncate(out.get(), static_cast<off_t>(size)) != 0) {
                const int err = errno;
                ::unlinkat(dir.get(), temp.c_str(), 0);
                return fail(Errc::io, entry_where, ": cannot size: ", util::errno_text(err));
            }
            out.reset();
            m_report.bytes += size;
            UHS_CHECK(finish_metadata(dir.get(), temp, entry, false, entry_where));
            return replace(dir.get(), temp, name, entry_where);
        }
        case AE_IFLNK: {
            const char* target = archive_entry_symlink(entry);
            if (!target || !*target) {
                return fail(Errc::invalid_input, entry_where, ": symlink without a target");
            }
            const std::string temp = temp_name();
            if (::symlinkat(target, dir.get(), temp.c_str()) != 0) {
                return fail(Errc::io, entry_where,
                            ": cannot create symlink: ", util::errno_text(errno));
            }
            UHS_CHECK(finish_metadata(dir.get(), temp, entry, true, entry_where));
            return replace(dir.get(), temp, name, entry_where);
        }
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: {
            if (type != AE_IFIFO && m_policy.allow_devices == AllowDevices::no) {
                return fail(Errc::invalid_input, entry_where, ": device node refused");
            }
            const std::string temp = temp_name();
            if (::mknodat(dir.get(), temp.c_str(), type | 0600, archive_entry_rdev(entry)) != 0) {
                return fail(Errc::io, entry_where,
                            ": cannot create node: ", util::errno_text(errno));
            }
            UHS_CHECK(finish_metadata(dir.get(), temp, entry, false, entry_where));
            return replace(dir.get(), temp, name, entry_where);
        }
        default:
            return fail(Errc::invalid_input, entry_where, ": unsupported entry type");
        }
    }

    util::Status restore_directory_times() {
        for (const DatedDirectory& d : m_directories) {
            UniqueFd dir =
                UHS_TRY(open_parent_beneath(m_root.get(), d.parts, CreateParents::no, d.where));
            const timespec times[2] = {{d.mtime, 0}, {d.mtime, 0}};
            ::utimensat(dir.get(), d.parts.back().c_str(), times, AT_SYMLINK_NOFOLLOW);
        }
        return {};
    }

    std::string m_name;
    const ExtractPolicy& m_policy;
    UniqueFd m_root;
    ExtractReport m_report;
    std::vector<DatedDirectory> m_directories;
    unsigned m_counter = 0;
};

} // namespace

ExtractPolicy root_tree_policy() {
    ExtractPolicy policy;
    policy.allow_devices = AllowDevices::yes;
    policy.merged_usr_aliases.clear();
    policy.max_total_size = std::uint64_t{64} << 30;
    return policy;
}

util::Result<ExtractReport> extract_entries(archive* reader, const std::string& name,
                                            const std::string& what,
                                            const std::filesystem::path& root,
                                            const ExtractPolicy& policy) {
    UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) {
        return fail(Errc::io, "cannot open ", root.string(), ": ", util::errno_text(errno));
    }
    Extractor extractor(name, policy, std::move(root_fd));
    return extractor.run(reader, what);
}

util::Result<ExtractReport> extract_tar_file(const std::filesystem::path& tar,
                                             const std::filesystem::path& root,
                                             const ExtractPolicy& policy) {
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_filter_all(reader.get());
    // No format_empty: a whole root is never empty, and a 0-byte rootfs.tar (a truncated copy)
    // must not publish as an image.
    archive_read_support_format_tar(reader.get());
    if (archive_read_open_filename(reader.get(), tar.c_str(), 1 << 16) != ARCHIVE_OK) {
        return fail(Errc::io, "cannot open ", tar.string(), ": ",
                    archive_error_string(reader.get()));
    }
    return extract_entries(reader.get(), tar.filename().string(), tar.string(), root, policy);
}

util::Result<std::size_t> remove_extract_leftovers(const std::filesystem::path& root) {
    std::size_t removed = 0;
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(root, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::error_code type_ec;
        if (!name.starts_with(k_temp_prefix) ||
            it->symlink_status(type_ec).type() == std::filesystem::file_type::directory) {
            continue; // temps are never directories
        }
        if (::unlink(it->path().c_str()) != 0) {
            return fail(Errc::io, "cannot remove ", it->path().string(), ": ",
                        util::errno_text(errno));
        }
        ++removed;
    }
    if (ec) {
        return fail(Errc::io, "cannot walk ", root.string(), ": ", ec.message());
    }
    return removed;
}

} // namespace uhs::rootfs

// SPDX-License-Identifier: Apache-2.0
#include "builder/image/image_diff.hpp"

#include "builder/image/tar_writer.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/locale.hpp"
#include "builder/util/sha256.hpp"

#include <cstdio>
#include <map>

#include <sys/stat.h>

namespace uhs::image {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

namespace {

std::string octal(unsigned mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", mode);
    return text;
}

} // namespace

util::Result<std::map<std::string, TarMember>> read_tar_members(const fs::path& path) {
    // rootfs.tar holds UTF-8 names (ca-certificates); libarchive converts them to the current
    // locale and fails in the C locale, so read them, as they were written, under UTF-8.
    const util::ScopedUtf8Locale utf8;
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_filter_all(reader.get());
    archive_read_support_format_all(reader.get());
    if (archive_read_open_filename(reader.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
        return fail(Errc::invalid_input, path.string(), ": ", archive_error_string(reader.get()));
    }
    std::map<std::string, TarMember> members;
    archive_entry* entry = nullptr;
    for (;;) {
        const int status = archive_read_next_header(reader.get(), &entry);
        if (status == ARCHIVE_EOF) {
            return members;
        }
        if (status != ARCHIVE_OK) {
            return fail(Errc::invalid_input, path.string(), ": ",
                        archive_error_string(reader.get()));
        }
        TarMember m;
        switch (archive_entry_filetype(entry)) {
        case AE_IFDIR:
            m.type = 'd';
            break;
        case AE_IFLNK:
            m.type = 'l';
            break;
        case AE_IFREG:
            m.type = 'f';
            break;
        case AE_IFCHR:
            m.type = 'c';
            break;
        case AE_IFBLK:
            m.type = 'b';
            break;
        case AE_IFIFO:
            m.type = 'p';
            break;
        default:
            break;
        }
        m.mode = archive_entry_perm(entry);
        m.uid = archive_entry_uid(entry);
        m.gid = archive_entry_gid(entry);
        m.mtime = archive_entry_mtime(entry);
        if (const char* link = archive_entry_symlink(entry)) {
            m.link = link;
        } else if (const char* hard = archive_entry_hardlink(entry)) {
            m.type = 'h';
            m.link = hard;
        }
        util::Sha256 hash;
        char buffer[1 << 16];
        for (;;) {
            const la_ssize_t n = archive_read_data(reader.get(), buffer, sizeof buffer);
            if (n < 0) {
                return fail(Errc::invalid_input, path.string(), ": ",
                            archive_error_string(reader.get()));
            }
            if (n == 0) {
                break;
            }
            hash.update(std::string_view(buffer, static_cast<size_t>(n)));
        }
        m.sha256 = util::to_hex(hash.finish());
        members[archive_entry_pathname(entry)] = std::move(m);
    }
}

namespace {

// Files under `root`, relative paths, sorted: "f <sha256>" or "l <target>" or "d".
util::Status list_tree(const fs::path& root, const std::string& relative,
                       std::map<std::string, std::string>& out) {
    const auto names = UHS_TRY(util::list_dir_sorted(relative.empty() ? root : root / relative));
    for (const std::string& name : names) {
        const std::string path = relative.empty() ? name : relative + "/" + name;
        struct stat st {};
        if (::lstat((root / path).c_str(), &st) != 0) {
            return fail(Errc::io, "cannot stat ", (root / path).string());
        }
        if (S_ISDIR(st.st_mode)) {
            out[path] = "d";
            UHS_CHECK(list_tree(root, path, out));
        } else if (S_ISLNK(st.st_mode)) {
            std::error_code ec;
            out[path] = "l " + fs::read_symlink(root / path, ec).string();
        } else {
            out[path] = "f " + UHS_TRY(util::sha256_file_hex(root / path));
        }
    }
    return {};
}

bool is_tar(const std::string& name) {
    return name.ends_with(".tar") || name.ends_with(".tar.zst") || name.ends_with(".tar.gz") ||
           name.ends_with(".tar.xz");
}

} // namespace

util::Result<std::vector<Difference>> diff_tars(const fs::path& a, const fs::path& b,
                                                const std::string& artifact) {
    return diff_tar_members(UHS_TRY(read_tar_members(a)), UHS_TRY(read_tar_members(b)), artifact);
}

std::vector<Difference> diff_tar_members(const std::map<std::string, TarMember>& left,
                                         const std::map<std::string, TarMember>& right,
                                         const std::string& artifact) {
    std::vector<Difference> out;
    auto l = left.begin();
    auto r = right.begin();
    while (l != left.end() || r != right.end()) {
        if (r == right.end() || (l != left.end() && l->first < r->first)) {
            out.push_back({artifact, l->first, "only in A"});
            ++l;
            continue;
        }
        if (l == left.end() || r->first < l->first) {
            out.push_back({artifact, r->first, "only in B"});
            ++r;
            continue;
        }
        const TarMember& x = l->second;
        const TarMember& y = r->second;
        auto add = [&](std::string what) {
            out.push_back({artifact, l->first, std::move(what)});
        };
        if (x.type != y.type) {
            add(std::string("type ") + x.type + " vs " + y.type);
        }
        if (x.mode != y.mode) {
            add("mode " + octal(x.mode) + " vs " + octal(y.mode));
        }
        if (x.uid != y.uid || x.gid != y.gid) {
            add("owner " + std::to_string(x.uid) + ":" + std::to_string(x.gid) + " vs " +
                std::to_string(y.uid) + ":" + std::to_string(y.gid));
        }
        if (x.mtime != y.mtime) {
            add("mtime " + std::to_string(x.mtime) + " vs " + std::to_string(y.mtime));
        }
        if (x.link != y.link) {
            add("link target '" + x.link + "' vs '" + y.link + "'");
        }
        if (x.sha256 != y.sha256) {
            add("content differs (sha256 " + x.sha256.substr(0, 12) + "... vs " +
                y.sha256.substr(0, 12) + "...)");
        }
        ++l;
        ++r;
    }
    return out;
}

util::Result<std::vector<Difference>> diff_images(const fs::path& a, const fs::path& b) {
    std::map<std::string, std::string> left, right;
    UHS_CHECK(list_tree(a, "", left));
    UHS_CHECK(list_tree(b, "", right));
    std::vector<Difference> out;
    auto l = left.begin();
    auto r = right.begin();
    while (l != left.end() || r != right.end()) {
        if (r == right.end() || (l != left.end() && l->first < r->first)) {
            out.push_back({l->first, "", "only in A"});
            ++l;
        } else if (l == left.end() || r->first < l->first) {
            out.push_back({r->first, "", "only in B"});
            ++r;
        } else {
            if (l->second != r->second) {
                if (l->second[0] == 'f' && r->second[0] == 'f') {
                    out.push_back({l->first, "",
                                   "content differs (sha256 " + l->second.substr(2, 12) +
                                       "... vs " + r->second.substr(2, 12) + "...)"});
                    if (is_tar(l->first)) {
                        auto members = UHS_TRY(diff_tars(a / l->first, b / r->first, l->first));
                        out.insert(out.end(), members.begin(), members.end());
                    }
                } else {
                    out.push_back({l->first, "", "'" + l->second + "' vs '" + r->second + "'"});
                }
            }
            ++l;
            ++r;
        }
    }
    return out;
}

} // namespace uhs::image

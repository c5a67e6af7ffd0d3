// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/deb.hpp"

#include "builder/rootfs/safe_path.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/fd.hpp"
#include "builder/util/fs.hpp"

#include <cerrno>
#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

namespace uhs::rootfs {

using util::Errc;
using util::fail;

namespace {

util::Result<util::ArchiveReader> open_memory_archive(const std::string& data, bool ar_format,
                                                      const std::string& what) {
    util::ArchiveReader reader(archive_read_new());
    if (ar_format) {
        archive_read_support_format_ar(reader.get());
    } else {
        archive_read_support_filter_all(reader.get());
        archive_read_support_format_tar(reader.get());
        archive_read_support_format_empty(reader.get());
    }
    if (archive_read_open_memory(reader.get(), data.data(), data.size()) != ARCHIVE_OK) {
        return fail(Errc::invalid_input, what, ": ", archive_error_string(reader.get()));
    }
    return reader;
}

util::Result<std::string> read_member(archive* reader, const std::string& what) {
    std::string data;
    char buffer[1 << 16];
    for (;;) {
        const la_ssize_t n = archive_read_data(reader, buffer, sizeof buffer);
        if (n < 0) {
            return fail(Errc::invalid_input, what, ": ", archive_error_string(reader));
        }
        if (n == 0) {
            return data;
        }
        data.append(buffer, static_cast<size_t>(n));
    }
}

util::Status write_bytes(int fd, const void* data, std::size_t size, const std::string& what) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return fail(Errc::io, "cannot write ", what, ": ", util::errno_text(errno));
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return {};
}

// One ar member header (ar(5), as dpkg-deb writes it: no trailing '/', owner 0, mode 100644,
// date 0). `size` is written in its 10-character field; patch_ar_size may rewrite it later.
std::string ar_header(std::string_view name, std::uint64_t size) {
    char header[61];
    std::snprintf(header, sizeof header, "%-16.16s%-12u%-6u%-6u%-8s%-10llu`\n",
                  std::string(name).c_str(), 0u, 0u, 0u, "100644",
                  static_cast<unsigned long long>(size));
    return std::string(header, 60);
}

constexpr std::uint64_t k_ar_size_offset = 48; // of the size field within a member header

util::Status add_member(int fd, std::string_view name, std::string_view data,
                        const std::string& what) {
    const std::string header = ar_header(name, data.size());
    UHS_CHECK(write_bytes(fd, header.data(), header.size(), what));
    UHS_CHECK(write_bytes(fd, data.data(), data.size(), what));
    if (data.size() % 2 != 0) {
        UHS_CHECK(write_bytes(fd, "\n", 1, what));
    }
    return {};
}

} // namespace

namespace {

util::Status write_plain_deb_to(const DebArchive& deb, util::UniqueFd fd, const std::string& what) {
    // The control member keeps its name and bytes: it is a few KiB.
    UHS_CHECK(write_bytes(fd.get(), "!<arch>\n", 8, what));
    UHS_CHECK(add_member(fd.get(), "debian-binary", "2.0\n", what));
    UHS_CHECK(add_member(fd.get(), deb.control_member, deb.control_tar, what));

    // data.tar: the header with a size patched in once the stream's length is known.
    const off_t header_at = ::lseek(fd.get(), 0, SEEK_CUR);
    const std::string header = ar_header("data.tar", 0);
    UHS_CHECK(write_bytes(fd.get(), header.data(), header.size(), what));
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_filter_all(reader.get());
    archive_read_support_format_raw(reader.get());
    archive_entry* entry = nullptr;
    if (archive_read_open_memory(reader.get(), deb.data_tar.data(), deb.data_tar.size()) !=
            ARCHIVE_OK ||
        archive_read_next_header(reader.get(), &entry) != ARCHIVE_OK) {
        return fail(Errc::invalid_input, deb.name,
                    ": data.tar: ", archive_error_string(reader.get()));
    }
    // The stream must be what its name says: anything else the raw reader passes through as
    // it is, and dpkg would fail on it much later.
    const std::string_view suffix = std::string_view(deb.data_member).substr(8); // "data.tar"
    const int filter = archive_filter_code(reader.get(), 0);
    const bool as_named = (suffix.empty() && filter == ARCHIVE_FILTER_NONE) ||
                          (suffix == ".gz" && filter == ARCHIVE_FILTER_GZIP) ||
                          (suffix == ".xz" && filter == ARCHIVE_FILTER_XZ) ||
                          (suffix == ".zst" && filter == ARCHIVE_FILTER_ZSTD) ||
                          (suffix == ".bz2" && filter == ARCHIVE_FILTER_BZIP2) ||
                          (suffix == ".lzma" && filter == ARCHIVE_FILTER_LZMA);
    if (!as_named) {
        return fail(Errc::invalid_input, deb.name, ": ", deb.data_member, " is not ",
                    suffix.empty() ? "uncompressed" : suffix.substr(1), " data");
    }
    std::uint64_t size = 0;
    char buffer[1 << 16];
    for (;;) {
        const la_ssize_t n = archive_read_data(reader.get(), buffer, sizeof buffer);
        if (n < 0) {
            return fail(Errc::invalid_input, deb.name,
                        ": data.tar: ", archive_error_string(reader.get()));
        }
        if (n == 0) {
            break;
        }
        UHS_CHECK(write_bytes(fd.get(), buffer, static_cast<std::size_t>(n), what));
        size += static_cast<std::uint64_t>(n);
    }
    if (size > 9'999'999'999ULL) { // what ar's 10-digit size field holds
        return fail(Errc::invalid_input, deb.name, ": data.tar is ", std::to_string(size),
                    " bytes uncompressed, more than a .deb member can hold");
    }
    if (size % 2 != 0) {
        UHS_CHECK(write_bytes(fd.get(), "\n", 1, what));
    }
    char field[11];
    std::snprintf(field, sizeof field, "%-10llu", static_cast<unsigned long long>(size));
    if (::pwrite(fd.get(), field, 10, header_at + static_cast<off_t>(k_ar_size_offset)) != 10) {
        return fail(Errc::io, "cannot write ", what, ": ", util::errno_text(errno));
    }
    if (::close(fd.release()) != 0) {
        return fail(Errc::io, "cannot write ", what, ": ", util::errno_text(errno));
    }
    return {};
}

} // namespace

util::Status write_plain_deb(const DebArchive& deb, const std::filesystem::path& out) {
    util::UniqueFd fd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) {
        return fail(Errc::io, "cannot create ", out.string(), ": ", util::errno_text(errno));
    }
    auto written = write_plain_deb_to(deb, std::move(fd), out.string());
    if (!written) {
        ::unlink(out.c_str()); // never a half package where dpkg would read it
    }
    return written;
}

util::Result<DebArchive> read_deb(const std::filesystem::path& path) {
    const std::string bytes = UHS_TRY(util::read_file(path));
    DebArchive deb;
    deb.name = path.filename().string();
    auto reader = UHS_TRY(open_memory_archive(bytes, true, deb.name));
    archive_entry* entry = nullptr;
    std::size_t index = 0;
    bool have_version = false;
    for (;;) {
        const int status = archive_read_next_header(reader.get(), &entry);
        if (status == ARCHIVE_EOF) {
            break;
        }
        if (status != ARCHIVE_OK) {
            return fail(Errc::invalid_input, deb.name,
                        ": not a Debian package: ", archive_error_string(reader.get()));
        }
        const std::string member = archive_entry_pathname(entry);
        std::string data = UHS_TRY(read_member(reader.get(), deb.name + ": " + member));
        if (index++ == 0) {
            if (member != "debian-binary" || !data.starts_with("2.")) {
                return fail(Errc::invalid_input, deb.name,
                            ": not a Debian package (no debian-binary 2.x first)");
            }
            have_version = true;
        } else if (member.starts_with("control.tar")) {
            deb.control_member = member;
            deb.control_tar = std::move(data);
        } else if (member.starts_with("data.tar")) {
            deb.data_member = member;
            deb.data_tar = std::move(data);
        } else if (!member.starts_with('_')) {
            return fail(Errc::invalid_input, deb.name, ": unexpected member '", member, "'");
        }
    }
    if (!have_version || deb.control_tar.empty() || deb.data_tar.empty()) {
        return fail(Errc::invalid_input, deb.name, ": not a Debian package (",
                    deb.control_tar.empty() ? "control.tar" : "data.tar", " missing)");
    }
    return deb;
}

util::Result<std::map<std::string, std::string>> read_control_files(const DebArchive& deb) {
    auto reader = UHS_TRY(open_memory_archive(deb.control_tar, false, deb.name + " control.tar"));
    std::map<std::string, std::string> files;
    archive_entry* entry = nullptr;
    for (;;) {
        const int status = archive_read_next_header(reader.get(), &entry);
        if (status == ARCHIVE_EOF) {
            return files;
        }
        if (status != ARCHIVE_OK) {
            return fail(Errc::invalid_input, deb.name,
                        ": control.tar: ", archive_error_string(reader.get()));
        }
        if (archive_entry_filetype(entry) != AE_IFREG) {
            continue;
        }
        const auto parts =
            UHS_TRY(safe_components(archive_entry_pathname(entry), deb.name + ": control.tar"));
        if (parts.size() != 1) {
            return fail(Errc::invalid_input, deb.name, ": control.tar: unexpected path '",
                        archive_entry_pathname(entry), "'");
        }
        files[parts[0]] = UHS_TRY(read_member(reader.get(), deb.name + ": " + parts[0]));
    }
}

util::Result<ExtractReport> extract_data(const DebArchive& deb, const std::filesystem::path& root,
                                         const ExtractPolicy& policy) {
    auto reader = UHS_TRY(open_memory_archive(deb.data_tar, false, deb.name + " data.tar"));
    return extract_entries(reader.get(), deb.name, deb.name + ": data.tar", root, policy);
}

} // namespace uhs::rootfs

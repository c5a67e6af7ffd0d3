// SPDX-License-Identifier: Apache-2.0
#include "builder/rootfs/deb.hpp"

#include "builder/rootfs/safe_path.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/fs.hpp"

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

} // namespace

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
            deb.control_tar = std::move(data);
        } else if (member.starts_with("data.tar")) {
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

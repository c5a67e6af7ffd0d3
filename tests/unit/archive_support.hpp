// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/archive.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include <sys/sysmacros.h>

namespace uhs::test {

// One member of a tar the tests build in memory.
struct TarMember {
    std::string path;
    char type = 'f';  // f file, d dir, l symlink, h hard link, c char device, p fifo
    std::string data; // file contents, or link target
    unsigned mode = 0644;
    long long declared_size = -1; // header size, when it should lie
};

inline std::string make_tar(const std::vector<TarMember>& members, bool gzip = false) {
    util::ArchiveWriter writer(archive_write_new());
    archive_write_set_format_pax_restricted(writer.get());
    if (gzip) {
        archive_write_add_filter_gzip(writer.get());
    }
    std::string out(1 << 22, '\0');
    size_t used = 0;
    REQUIRE(archive_write_open_memory(writer.get(), out.data(), out.size(), &used) == ARCHIVE_OK);
    for (const TarMember& m : members) {
        util::ArchiveEntry entry(archive_entry_new());
        archive_entry_set_pathname(entry.get(), m.path.c_str());
        archive_entry_set_perm(entry.get(), static_cast<mode_t>(m.mode));
        archive_entry_set_mtime(entry.get(), 1700000000, 0);
        switch (m.type) {
        case 'd':
            archive_entry_set_filetype(entry.get(), AE_IFDIR);
            break;
        case 'l':
            archive_entry_set_filetype(entry.get(), AE_IFLNK);
            archive_entry_set_symlink(entry.get(), m.data.c_str());
            break;
        case 'h':
            archive_entry_set_filetype(entry.get(), AE_IFREG);
            archive_entry_set_hardlink(entry.get(), m.data.c_str());
            break;
        case 'c':
            archive_entry_set_filetype(entry.get(), AE_IFCHR);
            archive_entry_set_rdev(entry.get(), makedev(1, 3));
            break;
        case 'p':
            archive_entry_set_filetype(entry.get(), AE_IFIFO);
            break;
        default:
            archive_entry_set_filetype(entry.get(), AE_IFREG);
            archive_entry_set_size(entry.get(), m.declared_size >= 0
                                                    ? m.declared_size
                                                    : static_cast<long long>(m.data.size()));
        }
        REQUIRE(archive_write_header(writer.get(), entry.get()) == ARCHIVE_OK);
        if (m.type == 'f' && !m.data.empty()) {
            archive_write_data(writer.get(), m.data.data(), m.data.size());
        }
    }
    REQUIRE(archive_write_close(writer.get()) == ARCHIVE_OK);
    out.resize(used);
    return out;
}

// One member of a cpio (a regular file, 0644).
struct CpioMember {
    std::string path;
    std::string content;
};

// A newc cpio, compressed with `filter` (ARCHIVE_FILTER_NONE, _GZIP, _ZSTD).
inline std::string make_cpio(const std::vector<CpioMember>& members, int filter) {
    util::ArchiveWriter writer(archive_write_new());
    archive_write_set_format_cpio_newc(writer.get());
    REQUIRE(archive_write_add_filter(writer.get(), filter) == ARCHIVE_OK);
    archive_write_set_bytes_in_last_block(writer.get(), 1);
    std::vector<char> buffer(1 << 20);
    std::size_t used = 0;
    REQUIRE(archive_write_open_memory(writer.get(), buffer.data(), buffer.size(), &used) ==
            ARCHIVE_OK);
    for (const CpioMember& m : members) {
        util::ArchiveEntry entry(archive_entry_new());
        archive_entry_set_pathname(entry.get(), m.path.c_str());
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), 0644);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(m.content.size()));
        REQUIRE(archive_write_header(writer.get(), entry.get()) == ARCHIVE_OK);
        archive_write_data(writer.get(), m.content.data(), m.content.size());
    }
    REQUIRE(archive_write_close(writer.get()) == ARCHIVE_OK);
    return std::string(buffer.data(), used);
}

// A .deb whose control.tar holds `control` (and any further members, e.g. "./postinst").
inline std::string make_deb_with_control(const std::string& control,
                                         const std::vector<TarMember>& data,
                                         const std::vector<TarMember>& more_control = {});

// A .deb (ar: debian-binary, control.tar.gz, data.tar.gz) around the given data members.
inline std::string make_deb(const std::string& package, const std::vector<TarMember>& data) {
    const std::string control = "Package: " + package +
                                "\nVersion: 1.0\nArchitecture: arm64\nMaintainer: uhs tests "
                                "<test@uhs.invalid>\nDescription: test package\n";
    return make_deb_with_control(control, data);
}

inline std::string make_deb_with_control(const std::string& control,
                                         const std::vector<TarMember>& data,
                                         const std::vector<TarMember>& more_control) {
    std::vector<TarMember> control_members{{"./", 'd', "", 0755}, {"./control", 'f', control}};
    control_members.insert(control_members.end(), more_control.begin(), more_control.end());
    const std::string control_tar = make_tar(control_members, true);
    const std::string data_tar = make_tar(data, true);
    util::ArchiveWriter writer(archive_write_new());
    archive_write_set_format_ar_svr4(writer.get());
    std::string out(1 << 23, '\0');
    size_t used = 0;
    REQUIRE(archive_write_open_memory(writer.get(), out.data(), out.size(), &used) == ARCHIVE_OK);
    auto add = [&](const char* name, const std::string& bytes) {
        util::ArchiveEntry entry(archive_entry_new());
        archive_entry_set_pathname(entry.get(), name);
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), 0644);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(bytes.size()));
        REQUIRE(archive_write_header(writer.get(), entry.get()) == ARCHIVE_OK);
        archive_write_data(writer.get(), bytes.data(), bytes.size());
    };
    add("debian-binary", "2.0\n");
    add("control.tar.gz", control_tar);
    add("data.tar.gz", data_tar);
    REQUIRE(archive_write_close(writer.get()) == ARCHIVE_OK);
    out.resize(used);
    return out;
}

} // namespace uhs::test

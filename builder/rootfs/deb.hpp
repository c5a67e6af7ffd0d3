// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace uhs::rootfs {

// The two archives inside a .deb (an ar archive: debian-binary, control.tar.*, data.tar.*).
struct DebArchive {
    std::string name; // for messages: the .deb's file name
    std::string control_tar;
    std::string data_tar;
};

// Reads a .deb. Fails with Errc::invalid_input when it is not a Debian binary package
// (no debian-binary 2.x, a member missing, or unknown members before data.tar).
util::Result<DebArchive> read_deb(const std::filesystem::path& path);

// The files of control.tar (control, conffiles, md5sums, maintainer scripts...) by name.
util::Result<std::map<std::string, std::string>> read_control_files(const DebArchive& deb);

enum class AllowDevices { no, yes };
enum class Ownership { apply, ignore };

struct ExtractPolicy {
    AllowDevices allow_devices = AllowDevices::no;
    Ownership ownership = Ownership::apply;
    std::uint64_t max_entry_size = std::uint64_t{4} << 30; // a single file, 4 GiB
    std::uint64_t max_total_size = std::uint64_t{16} << 30;
    // Top-level names that are symlinks into usr/ on a merged-/usr system ("bin" -> usr/bin):
    // entries under them are written below usr/ directly, never through the link.
    std::vector<std::string> merged_usr_aliases{"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
};

struct ExtractReport {
    // Every path the package installed, as dpkg lists them ("/usr/bin/x"), in archive order.
    std::vector<std::string> paths;
    std::uint64_t bytes = 0;
};

// Extracts data.tar of `deb` below `root`, refusing anything that could write outside it:
// absolute names, '..', writes through symlinks, hard links leaving the tree, device nodes
// (unless allowed), entries over the size limits. Each file appears whole (temp + rename).
// On failure names the package and the entry; what was extracted before stays.
util::Result<ExtractReport> extract_data(const DebArchive& deb, const std::filesystem::path& root,
                                         const ExtractPolicy& policy);

} // namespace uhs::rootfs

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/rootfs/extract.hpp"
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

// Extracts data.tar of `deb` below `root` by the one extraction policy (extract.hpp). On
// failure names the package and the entry; what was extracted before stays.
util::Result<ExtractReport> extract_data(const DebArchive& deb, const std::filesystem::path& root,
                                         const ExtractPolicy& policy);

} // namespace uhs::rootfs

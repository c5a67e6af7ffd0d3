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
    std::string name;           // for messages: the .deb's file name
    std::string control_member; // "control.tar.xz", ...
    std::string control_tar;
    std::string data_member; // "data.tar.xz", ...
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

// Writes `deb` to `out` again as the same package with its data.tar decompressed: debian-binary,
// control.tar.* as it was, then an uncompressed `data.tar`, which dpkg reads as it reads any
// other data member. Under qemu-user the target's dpkg-deb would otherwise decompress every
// package instruction by instruction; done here, natively, dpkg only copies bytes. `out` is
// created (mode 0644) and is complete when this returns without error.
util::Status write_plain_deb(const DebArchive& deb, const std::filesystem::path& out);

} // namespace uhs::rootfs

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::bootcfg {

// The member paths of an initramfs, in archive order. Reads what Debian's initramfs-tools
// writes: uncompressed newc cpio segments (early microcode or firmware), each padded with
// zeros, followed by one compressed (gzip, zstd, xz, lz4, ...) or uncompressed cpio, as the
// kernel unpacks them. A compressed segment is taken to be the last (initramfs-tools writes
// it last). Errc::invalid_input when the file is not such an archive.
util::Result<std::vector<std::string>> initramfs_members(const std::filesystem::path& file);

// A member path's kernel module name as modprobe spells it (dashes become underscores), or
// empty when it is not a module: "usr/lib/modules/7.3.4/kernel/drivers/clk/clk-rp1.ko.xz"
// -> "clk_rp1".
std::string module_name_of(std::string_view member);

// module_name_of over every member, without the empties.
std::set<std::string> module_names(const std::vector<std::string>& members);

} // namespace uhs::bootcfg

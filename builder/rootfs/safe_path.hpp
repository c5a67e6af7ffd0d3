// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/fd.hpp"
#include "builder/util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace uhs::rootfs {

// Splits a path inside the root into components: "./usr/bin/x" -> {usr, bin, x}. Refuses
// absolute names and '..' anywhere (Errc::invalid_input, prefixed with `where`). An empty
// result is the root itself.
util::Result<std::vector<std::string>> safe_components(std::string_view name,
                                                       const std::string& where);

enum class CreateParents { no, yes };

// Opens the directory that holds the last of `parts`, walking down from `root_fd` without
// ever following a symlink (O_PATH | O_NOFOLLOW per component), so nothing can be written
// outside the root. Missing directories are created 0755 with CreateParents::yes. A component
// that is a symlink or not a directory is refused (Errc::invalid_input).
util::Result<util::UniqueFd> open_parent_beneath(int root_fd, const std::vector<std::string>& parts,
                                                 CreateParents create, const std::string& where);

} // namespace uhs::rootfs

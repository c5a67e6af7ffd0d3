// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <string>
#include <utility>
#include <vector>

namespace uhs::eeprom {

// Checks one bootloader setting for `soc` (2711 or 2712): BOOT_ORDER nibbles (mode 5 does not
// exist on 2712), TFTP_PREFIX 0/1/2, TFTP_PREFIX_STR length, the timeouts' minimums, dotted
// quads. Unknown keys pass: the bootloader ignores what it does not know.
util::Status check_setting(const std::string& key, const std::string& value, int soc);

// Sets `key=value` for each pair in a bootconf.txt, keeping every other line, comment and
// section as it is: the first unconditional line (before any [filter] or under [all]) for
// the key is rewritten in place; a missing key is added at the end under [all].
util::Result<std::string>
set_settings(const std::string& config,
             const std::vector<std::pair<std::string, std::string>>& settings, int soc);

} // namespace uhs::eeprom

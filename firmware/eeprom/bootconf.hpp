// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
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

// One line of a bootconf.txt, as written (comments, blanks and unknown keys are kept).
struct BootConfLine {
    enum class Kind { blank, comment, section, setting, other };
    Kind kind = Kind::blank;
    int number = 0;            // 1-based line number
    std::string text;          // the line without its LF
    std::string key;           // settings: "BOOT_ORDER"; sections: "all" for "[all]"
    std::string value;         // settings only
    bool unconditional = true; // before any [filter], under [all]; false under [config.txt] too
};

// A bootconf.txt as a list of typed lines; render() gives back the exact text it was parsed
// from (the editors only ever touch the lines they change).
struct BootConfig {
    std::vector<BootConfLine> lines;
    bool trailing_newline = true;

    // The value the bootloader uses for `key` when no filter applies: the last unconditional
    // setting, as the bootloader reads top to bottom and later lines win.
    std::optional<std::string> value(std::string_view key) const;
    std::string render() const;
};

// Splits `text` into lines and classifies each. Never fails: validation is check_bootconf's.
BootConfig parse_bootconf(std::string_view text);

enum class Severity { error, warning };

// A problem with one line: "line N: KEY=VALUE: why".
struct Finding {
    Severity severity = Severity::error;
    int line = 0;
    std::string message;
};

// Checks every setting of `config` for `soc` with check_setting (errors) and warns about keys
// that do nothing on that SoC (WAKE_ON_GPIO on 2712, HTTP_CACERT_HASH on 2711, ...), lines
// that are not KEY=VALUE, and the size limit. Settings under [config.txt] are not bootloader
// keys and are not checked.
std::vector<Finding> check_bootconf(const BootConfig& config, int soc);

} // namespace uhs::eeprom

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/util/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uhs::apt {

// One deb822 paragraph ("Field: value" lines, continuation lines start with a blank).
// Values keep their continuation lines joined by '\n', with the leading blank removed and
// "." lines left as written; the first line is trimmed.
struct Paragraph {
    std::vector<std::pair<std::string, std::string>> fields; // in file order
    int line = 0;                                            // 1-based line of the first field

    // The value of `name` (case-insensitive), if present.
    std::optional<std::string_view> get(std::string_view name) const;
    // The value of `name`, or "" when absent.
    std::string_view get_or_empty(std::string_view name) const;
};

enum class Comments { forbidden, allowed };

// Parses every paragraph of `text`. `origin` names the input in errors ("FILE:LINE: ...").
// With Comments::allowed, lines starting with '#' are ignored (sources files).
// Fails with Errc::invalid_input on a line that is neither a field, a continuation nor blank.
util::Result<std::vector<Paragraph>> parse_deb822(std::string_view text, std::string_view origin,
                                                  Comments comments = Comments::forbidden);

} // namespace uhs::apt

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::util {

std::string_view trim(std::string_view text);
std::vector<std::string_view> split(std::string_view text, char separator);
std::string join(std::span<const std::string> parts, std::string_view separator);
std::string to_lower(std::string_view text);
bool is_hex(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates);

// `text` made safe to print to a terminal or put in JSON when it may carry bytes from a file
// a user did not write: control characters (C0, DEL and the C1 range, which terminals act on)
// and bytes that are not valid UTF-8 become \xNN, and anything past `max_bytes` is cut with a
// note of how much was left out. Printable UTF-8 is kept as it is.
std::string printable(std::string_view text, std::size_t max_bytes = 512);

} // namespace uhs::util

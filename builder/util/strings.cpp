// SPDX-License-Identifier: Apache-2.0
#include "builder/util/strings.hpp"

#include <algorithm>
#include <cctype>

namespace uhs::util {

std::string_view trim(std::string_view text) {
    const auto is_space = [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    };
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = text.find(separator, start);
        if (end == std::string_view::npos) {
            parts.push_back(text.substr(start));
            return parts;
        }
        parts.push_back(text.substr(start, end - start));
        start = end + 1;
    }
}

std::string join(std::span<const std::string> parts, std::string_view separator) {
    std::string joined;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) {
            joined.append(separator);
        }
        joined.append(parts[i]);
    }
    return joined;
}

std::string to_lower(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower;
}

bool is_hex(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(),
                                        [](unsigned char c) { return std::isxdigit(c) != 0; });
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment: insertions, deletions, substitutions and adjacent
    // transpositions ("nmae" is one step from "name") each cost 1.
    const std::size_t width = b.size() + 1;
    std::vector<std::size_t> d((a.size() + 1) * width);
    auto at = [&](std::size_t i, std::size_t j) -> std::size_t& {
        return d[i * width + j];
    };
    for (std::size_t i = 0; i <= a.size(); ++i) {
        at(i, 0) = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        at(0, j) = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
            }
        }
    }
    return at(a.size(), b.size());
}

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates) {
    // A third of the word's length (at least 1, at most 3) catches typos without suggesting
    // unrelated words.
    const std::size_t limit = std::clamp<std::size_t>(word.size() / 3, 1, 3);
    std::optional<std::string> best;
    std::size_t best_distance = limit + 1;
    for (std::string_view candidate : candidates) {
        const std::size_t distance = edit_distance(to_lower(word), to_lower(candidate));
        if (distance < best_distance) {
            best_distance = distance;
            best = std::string(candidate);
        }
    }
    return best;
}

std::string printable(std::string_view text, std::size_t max_bytes) {
    std::string out;
    auto escape = [&](unsigned char byte) {
        static constexpr char k_hex[] = "0123456789abcdef";
        out += "\\x";
        out += k_hex[byte >> 4];
        out += k_hex[byte & 0xf];
    };
    std::size_t i = 0;
    while (i < text.size() && out.size() < max_bytes) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x80) {
            if (byte < 0x20 || byte == 0x7f) {
                escape(byte);
            } else {
                out += static_cast<char>(byte);
            }
            ++i;
            continue;
        }
        // The length and smallest code point of a UTF-8 sequence starting with this byte.
        std::size_t length = 0;
        char32_t code = 0;
        char32_t least = 0;
        if ((byte & 0xe0) == 0xc0) {
            length = 2;
            code = byte & 0x1fu;
            least = 0x80;
        } else if ((byte & 0xf0) == 0xe0) {
            length = 3;
            code = byte & 0x0fu;
            least = 0x800;
        } else if ((byte & 0xf8) == 0xf0) {
            length = 4;
            code = byte & 0x07u;
            least = 0x10000;
        }
        bool valid = length > 0 && i + length <= text.size();
        for (std::size_t k = 1; valid && k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            valid = (next & 0xc0) == 0x80;
            code = (code << 6) | (next & 0x3f);
        }
        valid = valid && code >= least && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
        if (!valid) {
            escape(byte);
            ++i;
        } else if (code >= 0x80 && code <= 0x9f) { // C1 controls (CSI is U+009B)
            for (std::size_t k = 0; k < length; ++k) {
                escape(static_cast<unsigned char>(text[i + k]));
            }
            i += length;
        } else {
            out.append(text.substr(i, length));
            i += length;
        }
    }
    if (i < text.size()) {
        out += "... (" + std::to_string(text.size() - i) + " more bytes)";
    }
    return out;
}

} // namespace uhs::util

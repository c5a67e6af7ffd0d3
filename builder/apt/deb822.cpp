// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/deb822.hpp"

#include "builder/util/strings.hpp"

#include <strings.h>

namespace uhs::apt {

std::optional<std::string_view> Paragraph::get(std::string_view name) const {
    for (const auto& [key, value] : fields) {
        if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), key.size()) == 0) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

std::string_view Paragraph::get_or_empty(std::string_view name) const {
    return get(name).value_or(std::string_view{});
}

util::Result<std::vector<Paragraph>> parse_deb822(std::string_view text, std::string_view origin,
                                                  Comments comments) {
    std::vector<Paragraph> paragraphs;
    Paragraph current;
    int line_number = 0;
    auto flush = [&] {
        if (!current.fields.empty()) {
            paragraphs.push_back(std::move(current));
        }
        current = Paragraph{};
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (comments == Comments::allowed && !line.empty() && line.front() == '#') {
            continue;
        }
        if (util::trim(line).empty()) {
            flush();
            continue;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            if (current.fields.empty()) {
                return util::fail(util::Errc::invalid_input, origin, ":",
                                  std::to_string(line_number),
                                  ": continuation line without a field");
            }
            std::string& value = current.fields.back().second;
            value.push_back('\n');
            value.append(line.substr(1));
            continue;
        }
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            return util::fail(util::Errc::invalid_input, origin, ":", std::to_string(line_number),
                              ": expected \"Field: value\", got \"",
                              std::string(line.substr(0, 60)), "\"");
        }
        if (current.fields.empty()) {
            current.line = line_number;
        }
        current.fields.emplace_back(std::string(line.substr(0, colon)),
                                    std::string(util::trim(line.substr(colon + 1))));
    }
    flush();
    return paragraphs;
}

} // namespace uhs::apt

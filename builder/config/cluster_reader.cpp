// SPDX-License-Identifier: Apache-2.0
// The schema walk: reading one value of the cluster file, checking its type and form, and
// remembering where it was written so every diagnostic is FILE:LINE:COL.
#include "builder/config/cluster_reader.hpp"

#include "builder/util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>

namespace uhs::config::detail {

bool matches(const std::string& text, const std::regex& pattern) {
    return std::regex_match(text, pattern);
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Null:
        return "nothing";
    case YAML::NodeType::Scalar:
        return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Map:
        return "a mapping";
    default:
        return "nothing";
    }
}

Diagnostics Reader::take_diagnostics() {
    std::stable_sort(
        m_diagnostics.begin(), m_diagnostics.end(), [](const Diagnostic& a, const Diagnostic& b) {
            return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
        });
    return std::move(m_diagnostics);
}

SourceLocation Reader::at(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) {
        return {m_file, 1, 1};
    }
    return {m_file, mark.line + 1, mark.column + 1};
}

SourceLocation Reader::where(const std::string& field) const {
    auto it = m_where.find(field);
    return it == m_where.end() ? SourceLocation{m_file, 1, 1} : it->second;
}

std::optional<Fields> Reader::mapping(const YAML::Node& node, const std::string& field,
                                      ClusterSection section) {
    const auto& allowed = cluster_section(section).allowed;
    const auto& required = cluster_section(section).required;
    if (!node.IsMap()) {
        error(
            node, field,
            std::string(field.empty() ? "the top level must be a mapping" : "expected a mapping") +
                ", got " + describe(node));
        return std::nullopt;
    }
    Fields entries;
    for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node key = it->first;
        const std::string name = key.IsScalar() ? key.Scalar() : "";
        const std::string child = field.empty() ? name : field + "." + name;
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            std::string message = "unknown key '" + name + "'";
            const std::vector<std::string_view> candidates(allowed.begin(), allowed.end());
            if (auto match = util::closest_match(name, candidates)) {
                message += " (did you mean '" + *match + "'?)";
            }
            error(key, field, message);
            continue;
        }
        if (entries.contains(name)) {
            error(key, child,
                  "duplicate key (first at line " + std::to_string(at(entries[name].key).line) +
                      ")");
            continue;
        }
        entries.emplace(name, Entry{key, it->second});
    }
    for (std::string_view name : required) {
        const std::string key(name);
        auto it = entries.find(key);
        const std::string child = field.empty() ? key : field + "." + key;
        if (it == entries.end()) {
            error(node, field, "missing required key '" + key + "'");
        } else if (it->second.value.IsNull()) {
            error(it->second.key, child, "must not be empty");
            entries.erase(it);
        }
    }
    return entries;
}

std::optional<std::string> Reader::scalar(const Fields& entries, const std::string& key,
                                          const std::string& field) {
    auto it = entries.find(key);
    if (it == entries.end() || it->second.value.IsNull()) {
        return std::nullopt;
    }
    const YAML::Node& value = it->second.value;
    if (!value.IsScalar()) {
        error(value, field, "expected a single value, got " + describe(value));
        return std::nullopt;
    }
    m_where[field] = at(value);
    return value.Scalar();
}

std::optional<std::string> Reader::string(const Fields& entries, const std::string& key,
                                          const std::string& field, const std::regex& pattern,
                                          const std::string& what) {
    auto text = scalar(entries, key, field);
    if (text && !matches(*text, pattern)) {
        error(where(field), field, "'" + *text + "' is not " + what);
        return std::nullopt;
    }
    return text;
}

namespace {

// A scalar that T::parse reads; `what` names the form in the error.
template <typename T>
std::optional<T> parse_scalar(Reader& r, const Fields& entries, const std::string& key,
                              const std::string& field, const std::string& what) {
    auto text = r.scalar(entries, key, field);
    if (!text) {
        return std::nullopt;
    }
    auto value = T::parse(*text);
    if (!value) {
        r.error(r.where(field), field, "'" + *text + "' is not " + what);
    }
    return value;
}

} // namespace

std::optional<Ipv4> Reader::ipv4(const Fields& entries, const std::string& key,
                                 const std::string& field) {
    return parse_scalar<Ipv4>(*this, entries, key, field, "an IPv4 address");
}

std::optional<Ipv4Prefix> Reader::prefix(const Fields& entries, const std::string& key,
                                         const std::string& field) {
    return parse_scalar<Ipv4Prefix>(*this, entries, key, field,
                                    "an IPv4 network in CIDR form (like 192.168.50.0/24)");
}

std::optional<long> Reader::integer(const Fields& entries, const std::string& key,
                                    const std::string& field, long min, long max) {
    auto text = scalar(entries, key, field);
    if (!text) {
        return std::nullopt;
    }
    long value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size()) {
        error(where(field), field, "'" + *text + "' is not a whole number");
        return std::nullopt;
    }
    if (value < min || value > max) {
        error(where(field), field,
              std::to_string(value) + " is out of range (" + std::to_string(min) + " to " +
                  std::to_string(max) + ")");
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> Reader::choice(const Fields& entries, const std::string& key,
                                          const std::string& field,
                                          const std::vector<std::string_view>& choices) {
    auto text = scalar(entries, key, field);
    if (!text) {
        return std::nullopt;
    }
    if (std::find(choices.begin(), choices.end(), *text) != choices.end()) {
        return text;
    }
    std::string allowed;
    for (std::string_view c : choices) {
        allowed += (allowed.empty() ? "" : ", ") + std::string(c);
    }
    std::string message = "'" + *text + "' is not one of " + allowed;
    if (auto match = util::closest_match(*text, choices)) {
        message += " (did you mean '" + *match + "'?)";
    }
    error(where(field), field, message);
    return std::nullopt;
}

std::optional<std::string> Reader::choice(const Fields& entries, const std::string& key,
                                          const std::string& field, Keys choices) {
    return choice(entries, key, field, std::vector<std::string_view>(choices));
}

std::vector<std::pair<std::string, SourceLocation>>
Reader::strings(const Fields& entries, const std::string& key, const std::string& field) {
    std::vector<std::pair<std::string, SourceLocation>> items;
    auto it = entries.find(key);
    if (it == entries.end() || it->second.value.IsNull()) {
        return items;
    }
    const YAML::Node& value = it->second.value;
    m_where[field] = at(value);
    if (value.IsScalar()) {
        items.emplace_back(value.Scalar(), at(value));
        return items;
    }
    if (!value.IsSequence()) {
        error(value, field, "expected a list, got " + describe(value));
        return items;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : value) {
        const std::string item_field = field + "[" + std::to_string(index++) + "]";
        if (!item.IsScalar()) {
            error(item, item_field, "expected a single value, got " + describe(item));
            continue;
        }
        items.emplace_back(item.Scalar(), at(item));
    }
    return items;
}

bool Reader::non_empty_list(const YAML::Node& node, const std::string& field,
                            const std::string& empty) {
    if (!node.IsSequence() || node.size() == 0) {
        error(node, field, node.IsSequence() ? empty : "expected a list, got " + describe(node));
        return false;
    }
    return true;
}

const YAML::Node* find(const Fields& entries, const std::string& key) {
    auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second.value;
}

} // namespace uhs::config::detail

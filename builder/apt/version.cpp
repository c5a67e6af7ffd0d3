// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/version.hpp"

#include <cctype>

namespace uhs::apt {
namespace {

struct Parts {
    std::string_view epoch;
    std::string_view upstream;
    std::string_view revision;
};

Parts split_version(std::string_view v) {
    Parts parts;
    if (auto colon = v.find(':'); colon != std::string_view::npos) {
        parts.epoch = v.substr(0, colon);
        v.remove_prefix(colon + 1);
    }
    if (auto dash = v.rfind('-'); dash != std::string_view::npos) {
        parts.revision = v.substr(dash + 1);
        v = v.substr(0, dash);
    }
    parts.upstream = v;
    return parts;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// dpkg's character weight: '~' sorts before the end of the string, letters before other symbols.
int order(int c) {
    if (is_digit(static_cast<char>(c))) {
        return 0;
    }
    if (std::isalpha(c)) {
        return c;
    }
    if (c == '~') {
        return -1;
    }
    if (c != 0) {
        return c + 256;
    }
    return 0;
}

// dpkg's verrevcmp(): alternating non-digit and digit runs.
int compare_part(std::string_view a, std::string_view b) {
    std::size_t i = 0;
    std::size_t j = 0;
    auto at = [](std::string_view s, std::size_t k) -> int {
        return k < s.size() ? static_cast<unsigned char>(s[k]) : 0;
    };
    while (i < a.size() || j < b.size()) {
        int first_diff = 0;
        while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
            int ac = order(at(a, i));
            int bc = order(at(b, j));
            if (ac != bc) {
                return ac - bc;
            }
            ++i;
            ++j;
        }
        while (i < a.size() && a[i] == '0') {
            ++i;
        }
        while (j < b.size() && b[j] == '0') {
            ++j;
        }
        while (i < a.size() && j < b.size() && is_digit(a[i]) && is_digit(b[j])) {
            if (first_diff == 0) {
                first_diff = a[i] - b[j];
            }
            ++i;
            ++j;
        }
        if (i < a.size() && is_digit(a[i])) {
            return 1;
        }
        if (j < b.size() && is_digit(b[j])) {
            return -1;
        }
        if (first_diff != 0) {
            return first_diff;
        }
    }
    return 0;
}

// Epochs are decimal numbers; compared numerically without overflow (leading zeros ignored).
int compare_epoch(std::string_view a, std::string_view b) {
    while (!a.empty() && a.front() == '0') {
        a.remove_prefix(1);
    }
    while (!b.empty() && b.front() == '0') {
        b.remove_prefix(1);
    }
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    int c = a.compare(b);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

} // namespace

int compare_versions(std::string_view a, std::string_view b) {
    Parts pa = split_version(a);
    Parts pb = split_version(b);
    if (int c = compare_epoch(pa.epoch, pb.epoch); c != 0) {
        return c;
    }
    if (int c = compare_part(pa.upstream, pb.upstream); c != 0) {
        return c;
    }
    return compare_part(pa.revision, pb.revision);
}

bool satisfies(std::string_view version, Relation relation, std::string_view reference) {
    if (relation == Relation::any) {
        return true;
    }
    int c = compare_versions(version, reference);
    switch (relation) {
    case Relation::lt:
        return c < 0;
    case Relation::le:
        return c <= 0;
    case Relation::eq:
        return c == 0;
    case Relation::ge:
        return c >= 0;
    case Relation::gt:
        return c > 0;
    case Relation::any:
        break;
    }
    return true;
}

std::string_view to_string(Relation relation) {
    switch (relation) {
    case Relation::lt:
        return "<<";
    case Relation::le:
        return "<=";
    case Relation::eq:
        return "=";
    case Relation::ge:
        return ">=";
    case Relation::gt:
        return ">>";
    case Relation::any:
        break;
    }
    return "";
}

} // namespace uhs::apt

// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/host_sources.hpp"

#include "builder/apt/deb822.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>

namespace uhs::apt {
namespace {

std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    std::string current;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\n') {
            if (!current.empty()) {
                out.push_back(std::move(current));
                current.clear();
            }
        } else {
            current.push_back(c);
        }
    }
    if (!current.empty()) {
        out.push_back(std::move(current));
    }
    return out;
}

std::string strip_slash(std::string uri) {
    while (uri.size() > 1 && uri.back() == '/') {
        uri.pop_back();
    }
    return uri;
}

std::string file_name(std::string_view path) {
    return std::filesystem::path(std::string(path)).filename().string();
}

// Debian's security archive carries only these suites, and lives at its own URI.
bool is_security_suite(std::string_view suite) {
    return suite.ends_with("-security") || suite.ends_with("/updates");
}

bool is_debian_keyring(const std::filesystem::path& keyring) {
    return keyring.filename().string().starts_with("debian-archive-");
}

// Schemes uhs can fetch itself. apt's mirror+*, cdrom:, tor+* and the like need apt's own
// methods, so such a host entry is no URI for `uri: auto`.
bool fetchable_uri(std::string_view uri) {
    return uri.starts_with("http://") || uri.starts_with("https://") || uri.starts_with("file:/");
}

} // namespace

util::Result<std::vector<HostSource>> parse_sources_list(std::string_view text,
                                                         std::string_view origin) {
    std::vector<HostSource> out;
    int line_number = 0;
    for (std::string_view raw : util::split(text, '\n')) {
        ++line_number;
        std::string_view line = raw.substr(0, raw.find('#'));
        auto where = [&] {
            return std::string(origin) + ":" + std::to_string(line_number);
        };
        std::string options;
        std::string rest(util::trim(line));
        if (rest.empty()) {
            continue;
        }
        std::size_t type_end = rest.find_first_of(" \t");
        std::string type = rest.substr(0, type_end);
        if (type != "deb" && type != "deb-src") {
            return util::fail(util::Errc::invalid_input, where(), ": unknown entry type \"", type,
                              "\"");
        }
        rest = type_end == std::string::npos ? "" : std::string(util::trim(rest.substr(type_end)));
        if (!rest.empty() && rest.front() == '[') {
            std::size_t close = rest.find(']');
            if (close == std::string::npos) {
                return util::fail(util::Errc::invalid_input, where(), ": unterminated \"[\"");
            }
            options = rest.substr(1, close - 1);
            rest = std::string(util::trim(rest.substr(close + 1)));
        }
        auto parts = words(rest);
        if (parts.size() < 2) {
            return util::fail(util::Errc::invalid_input, where(), ": expected \"", type,
                              " URI SUITE [COMPONENT...]\"");
        }
        if (type != "deb") {
            continue;
        }
        HostSource s;
        s.uri = strip_slash(parts[0]);
        s.suites = {parts[1]};
        s.components.assign(parts.begin() + 2, parts.end());
        for (const std::string& option : words(options)) {
            if (auto eq = option.find('=');
                eq != std::string::npos && util::to_lower(option.substr(0, eq)) == "signed-by") {
                s.signed_by = option.substr(eq + 1);
            }
        }
        s.origin = where();
        out.push_back(std::move(s));
    }
    return out;
}

util::Result<std::vector<HostSource>> parse_sources_deb822(std::string_view text,
                                                           std::string_view origin) {
    auto paragraphs = UHS_TRY(parse_deb822(text, origin, Comments::allowed));
    std::vector<HostSource> out;
    for (const Paragraph& p : paragraphs) {
        std::string where = std::string(origin) + ":" + std::to_string(p.line);
        if (util::to_lower(util::trim(p.get_or_empty("Enabled"))) == "no") {
            continue;
        }
        auto types = words(p.get_or_empty("Types"));
        if (std::find(types.begin(), types.end(), "deb") == types.end()) {
            continue;
        }
        auto uris = words(p.get_or_empty("URIs"));
        auto suites = words(p.get_or_empty("Suites"));
        if (uris.empty() || suites.empty()) {
            return util::fail(util::Errc::invalid_input, where,
                              ": a deb stanza needs URIs and Suites");
        }
        std::string signed_by(util::trim(p.get_or_empty("Signed-By")));
        if (signed_by.find('\n') != std::string::npos || signed_by.starts_with("-----")) {
            signed_by.clear(); // an inline key block, not a file
        }
        for (const std::string& uri : uris) {
            HostSource s;
            s.uri = strip_slash(uri);
            s.suites = suites;
            s.components = words(p.get_or_empty("Components"));
            s.signed_by = signed_by;
            s.origin = where;
            out.push_back(std::move(s));
        }
    }
    return out;
}

util::Result<std::vector<HostSource>> read_host_sources(const std::filesystem::path& root) {
    std::vector<HostSource> all;
    std::filesystem::path apt = root / "etc/apt";
    auto append = [&](std::vector<HostSource> more) {
        all.insert(all.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
    };
    auto main_list = util::read_file(apt / "sources.list");
    if (main_list) {
        append(UHS_TRY(parse_sources_list(*main_list, (apt / "sources.list").string())));
    } else if (main_list.error().code != util::Errc::not_found) {
        return std::unexpected(main_list.error());
    }
    auto names = util::list_dir_sorted(apt / "sources.list.d");
    if (!names) {
        if (names.error().code == util::Errc::not_found) {
            return all;
        }
        return std::unexpected(names.error());
    }
    for (const std::string& name : *names) {
        std::filesystem::path path = apt / "sources.list.d" / name;
        bool one_line = name.ends_with(".list");
        if (!one_line && !name.ends_with(".sources")) {
            continue; // "*.disabled", "*.save" and friends are not read by apt either
        }
        std::string text = UHS_TRY(util::read_file(path));
        append(one_line ? UHS_TRY(parse_sources_list(text, path.string()))
                        : UHS_TRY(parse_sources_deb822(text, path.string())));
    }
    return all;
}

util::Result<SourceOverrides> parse_source_overrides(const std::vector<std::string>& values) {
    SourceOverrides out;
    for (const std::string& value : values) {
        auto eq = value.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
            return util::fail(util::Errc::invalid_input, "--source: expected NAME=URI, got \"",
                              value, "\"");
        }
        out[value.substr(0, eq)] = strip_slash(value.substr(eq + 1));
    }
    return out;
}

util::Result<std::string> resolve_source_uri(const config::AptSource& source,
                                             const std::vector<HostSource>& host,
                                             const SourceOverrides& overrides) {
    if (auto it = overrides.find(source.name); it != overrides.end()) {
        return it->second;
    }
    if (!source.is_auto()) {
        return strip_slash(source.uri);
    }
    std::string keyring_name = source.keyring.filename().string();
    const bool debian = is_debian_keyring(source.keyring);
    const auto security_suites =
        std::count_if(source.suites.begin(), source.suites.end(),
                      [](const std::string& suite) { return is_security_suite(suite); });
    const bool wants_security = debian && security_suites > 0;
    if (wants_security && security_suites != static_cast<long>(source.suites.size())) {
        return util::fail(util::Errc::invalid_input, source.location.file, ":",
                          std::to_string(source.location.line), ": source \"", source.name,
                          "\": uri is auto but it mixes *-security suites with others; Debian's "
                          "security archive has its own URI, so give the *-security suites a "
                          "source of their own");
    }
    for (const HostSource& h : host) {
        if (!fetchable_uri(h.uri)) {
            continue;
        }
        bool same_keyring = !h.signed_by.empty() && file_name(h.signed_by) == keyring_name;
        if (debian) {
            // The Debian mirror, or for *-security suites the security archive: an entry whose
            // Signed-By is Debian's archive keyring (an entry without Signed-By could be
            // anyone's repository) and whose suites are all *-security exactly when the
            // source's are.
            bool debian_keys = !h.signed_by.empty() && is_debian_keyring(h.signed_by);
            bool security = std::all_of(h.suites.begin(), h.suites.end(),
                                        [](const auto& s) { return is_security_suite(s); });
            bool flat = std::any_of(h.suites.begin(), h.suites.end(),
                                    [](const auto& s) { return s.ends_with('/'); });
            if (debian_keys && security == wants_security && !flat) {
                return h.uri;
            }
            continue;
        }
        bool same_flat_suite =
            source.is_flat() &&
            std::find(h.suites.begin(), h.suites.end(), source.suites.front()) != h.suites.end();
        if (same_keyring || (same_flat_suite && h.signed_by.empty())) {
            return h.uri;
        }
    }
    if (wants_security) {
        return util::fail(util::Errc::invalid_input, source.location.file, ":",
                          std::to_string(source.location.line), ": source \"", source.name,
                          "\": uri is auto but this host has no Debian security entry (a deb "
                          "entry for a *-security suite, Signed-By a debian-archive-* keyring); "
                          "pass --source ",
                          source.name, "=URI");
    }
    return util::fail(util::Errc::invalid_input, source.location.file, ":",
                      std::to_string(source.location.line), ": source \"", source.name,
                      "\": uri is auto but no APT source on this host matches it (keyring ",
                      keyring_name, "); pass --source ", source.name, "=URI");
}

} // namespace uhs::apt

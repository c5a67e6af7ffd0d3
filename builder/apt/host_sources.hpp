// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::apt {

// One enabled "deb" entry of the host's APT configuration.
struct HostSource {
    std::string uri;
    std::vector<std::string> suites;
    std::vector<std::string> components;
    std::string signed_by; // a keyring path, or "" (inline keys are ignored)
    std::string origin;    // "FILE:LINE"
};

// Parses a one-line-format sources.list ("deb [opts] URI SUITE [COMPONENT...]"); deb-src and
// comments are skipped. Fails with Errc::invalid_input naming `origin` and the line.
util::Result<std::vector<HostSource>> parse_sources_list(std::string_view text,
                                                         std::string_view origin);

// Parses a deb822 .sources file; stanzas with "Enabled: no" or without the "deb" type are skipped.
util::Result<std::vector<HostSource>> parse_sources_deb822(std::string_view text,
                                                           std::string_view origin);

// Reads `root`/etc/apt/sources.list, sources.list.d/*.list and *.sources (sorted; other names,
// such as "*.disabled", are ignored). `root` is "/" on a real host; tests pass a fixture tree.
util::Result<std::vector<HostSource>> read_host_sources(const std::filesystem::path& root);

// "NAME=URI" overrides from --source.
using SourceOverrides = std::map<std::string, std::string, std::less<>>;

// Parses "--source NAME=URI" values. Fails with Errc::invalid_input on a malformed one.
util::Result<SourceOverrides> parse_source_overrides(const std::vector<std::string>& values);

// The base URI (no trailing '/') for `source`: an override wins; an explicit URI is used as is;
// "auto" picks, among the host's http, https and file entries only: for a Debian source
// (keyring named debian-archive-*) an entry Signed-By a debian-archive-* keyring, the security
// archive (an entry whose suites are all *-security) when the source's suites are *-security
// and the mirror (any other such entry) otherwise; for another source the entry using the same
// keyring file name or the same flat suite.
// Fails with Errc::invalid_input saying to pass --source NAME=URI when nothing matches, and
// when a Debian source mixes *-security suites with others (they live at different URIs).
util::Result<std::string> resolve_source_uri(const config::AptSource& source,
                                             const std::vector<HostSource>& host,
                                             const SourceOverrides& overrides);

} // namespace uhs::apt

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/version.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::apt {

// One term of a relationship field: "name[:arch] [(op version)]".
struct DependencyAtom {
    std::string name;
    std::string arch_qualifier; // "", "any", "native" or an architecture
    Relation relation = Relation::any;
    std::string version;

    // "name:arch (>= 1.0)" as apt prints it.
    std::string to_string() const;
};

// "a | b": any one alternative satisfies the group.
using DependencyGroup = std::vector<DependencyAtom>;

// Parses a relationship field (Depends, Pre-Depends, Conflicts, Breaks, Provides).
// Architecture restrictions ("[amd64]") and build profiles ("<!nocheck>") are dropped.
// Fails with Errc::invalid_input naming the malformed term.
util::Result<std::vector<DependencyGroup>> parse_relationships(std::string_view field);

enum class MultiArch { no, same, foreign, allowed };
enum class Priority { required, important, standard, optional, extra, unknown };

Priority parse_priority(std::string_view text);

// Debian's grammar for what goes into a lock, so nothing in an index can smuggle a line,
// a space or a path outside the repository into it.
// Package names (Policy 5.6.1, as dpkg accepts them): [a-z0-9][a-z0-9+.-]*.
bool valid_package_name(std::string_view name);
// Versions (Policy 5.6.12): [epoch:]upstream[-revision]; epoch digits, upstream of
// [A-Za-z0-9.+~:-], revision of [A-Za-z0-9.+~].
bool valid_version(std::string_view version);
// Architecture names: [a-z0-9][a-z0-9-]*.
bool valid_architecture(std::string_view architecture);
// A pool path relative to the repository: not absolute, no "." or ".." or empty component, no
// whitespace, control characters or '='. Fails with Errc::invalid_input saying why.
util::Status check_pool_path(std::string_view path);

// One binary package stanza of a Packages index.
struct PackageRecord {
    std::string name;
    std::string version;
    std::string architecture;
    std::string source;         // source package name (defaults to `name`)
    std::string source_version; // defaults to `version`
    MultiArch multi_arch = MultiArch::no;
    Priority priority = Priority::unknown;
    bool essential = false;
    std::vector<DependencyGroup> pre_depends;
    std::vector<DependencyGroup> depends;
    std::vector<DependencyGroup> conflicts;
    std::vector<DependencyGroup> breaks;
    std::vector<DependencyAtom> provides;
    std::string filename; // pool path, relative to the repository base
    std::uint64_t size = 0;
    std::string sha256;
    std::size_t origin = 0; // index into the caller's list of indices (which source it came from)
};

// Parses a whole Packages file. `origin` names it in errors ("NAME:LINE: field: ...").
// Every stanza needs Package, Version, Architecture, Filename, Size and a 64-hex SHA256, with
// Package, Version, Architecture, Source and Filename in Debian's grammar (see above);
// fails with Errc::invalid_input otherwise.
util::Result<std::vector<PackageRecord>> parse_packages(std::string_view text,
                                                        std::string_view origin);

} // namespace uhs::apt

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::apt {

// What apt's policy reads from one suite's Release file.
struct ReleaseInfo {
    std::string suite;    // the signed Suite
    std::string codename; // the signed Codename
    bool not_automatic = false;
    bool but_automatic_upgrades = false;
};

// apt's default priority for a suite's versions in a root with nothing installed
// (pkgPolicy::InitDefaults): 100 with ButAutomaticUpgrades: yes, else 1 with
// NotAutomatic: yes, else 500.
int default_priority(const ReleaseInfo& release);

// Whether `pattern` (a name or fnmatch glob, case-insensitive) names the suite or the codename,
// as `apt-get install PKG/RELEASE` and "Pin: release RELEASE" match.
bool release_matches(const ReleaseInfo& release, std::string_view pattern);

// Whether a preferences "Package:" word (a name or fnmatch glob, case-insensitive) names `name`.
bool package_matches(std::string_view glob, std::string_view name);

// apt's pin priorities for a fresh root: a version's priority is that of the first pin whose
// packages match its name and whose suite it comes from; else the highest priority among the
// suites it comes from, where a suite gets the first "*" pin (a pin of the suite itself, as
// "Package: *") that names it, else its default_priority.
class Policy {
public:
    Policy() = default; // no Release information: every suite has priority 500
    Policy(std::vector<ReleaseInfo> releases, std::vector<config::Pin> pins);

    // The priority of a version of `package` found in the suites `origins` (indexes into the
    // releases given to the constructor).
    int priority(std::string_view package, const std::vector<std::size_t>& origins) const;
    // Whether suite `origin` matches `pattern` (release_matches); false for an unknown origin.
    bool origin_matches(std::size_t origin, std::string_view pattern) const;
    const std::vector<ReleaseInfo>& releases() const { return m_releases; }

private:
    int suite_priority(std::size_t origin) const;

    std::vector<ReleaseInfo> m_releases;
    std::vector<int> m_suite_priority;
    std::vector<config::Pin> m_package_pins; // pins naming packages, in file order
};

} // namespace uhs::apt

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/control.hpp"
#include "builder/apt/policy.hpp"
#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <map>
#include <string>
#include <vector>

namespace uhs::apt {

// One version of a package: its record (the first index that has it) and every suite it is
// in (the same name, version, architecture and .deb in several suites is one version, as in
// apt's cache).
struct PackageVersion {
    const PackageRecord* record = nullptr;
    std::vector<std::size_t> origins; // PackageRecord::origin values
    int priority = 0;                 // Policy::priority
};

// Every package version visible for one architecture, with apt's candidate: the version of
// highest pin priority (Policy), the higher version on a tie, the earlier index on equal
// versions; a version of priority 0 or below never is one.
class Universe {
public:
    // Takes the records of every index in source order; keeps those for `architecture` and
    // "all". `policy` gives each version its priority (the default: 500 for all).
    Universe(std::vector<PackageRecord> records, std::string architecture, Policy policy = {});

    // The candidate version of a real package, or nullptr.
    const PackageRecord* candidate(std::string_view name) const;
    // The versions of `name`, highest first.
    const std::vector<PackageVersion>& versions(std::string_view name) const;
    // The highest version of `name` from a suite matching `release` (apt's pkgVersionMatch
    // for "PKG/RELEASE"), or nullptr.
    const PackageRecord* in_release(std::string_view name, std::string_view release) const;
    // Whether any suite's Suite or Codename matches `release`.
    bool knows_release(std::string_view release) const;
    // Versions (of any package, candidate or not) that provide `name`, sorted by name.
    const std::vector<const PackageRecord*>& providers(std::string_view name) const;
    // All candidates, sorted by name.
    const std::vector<const PackageRecord*>& candidates() const { return m_sorted; }
    const std::string& architecture() const { return m_architecture; }
    const Policy& policy() const { return m_policy; }

private:
    std::vector<PackageRecord> m_records;
    std::string m_architecture;
    Policy m_policy;
    std::map<std::string, std::vector<PackageVersion>, std::less<>> m_versions;
    std::map<std::string, const PackageRecord*, std::less<>> m_candidates;
    std::map<std::string, std::vector<const PackageRecord*>, std::less<>> m_providers;
    std::vector<const PackageRecord*> m_sorted;
};

// The base set of a variant: Essential: yes and Priority: required (minbase), plus important
// (important), plus standard (standard). Sorted by name.
std::vector<std::string> base_packages(const Universe& universe, config::Variant variant);

// Resolves `requested` (names, in order) and their Pre-Depends/Depends closure the way apt's
// MarkInstall does: requested packages first, then a depth-first walk choosing, for each
// unsatisfied group, the first alternative whose candidate (or provider) fits the version and
// conflicts with nothing chosen. Deterministic. Returns the set sorted by name.
// Fails with Errc::invalid_input naming the package and constraint apt-style
// ("a 1.0 : Depends: b (>= 2) but 1.0 is to be installed (needed by x -> a)").
util::Result<std::vector<const PackageRecord*>> resolve(const Universe& universe,
                                                        const std::vector<std::string>& requested);

// The same for requests that may select a suite ("PKG/SUITE"), as `apt-get install` does:
// each such package gets the highest version from that suite, and a Depends or Pre-Depends of
// it that the current candidates cannot satisfy (versioned, or whose candidate's own
// dependencies are not among the packages requested) switches its candidate to that suite's
// version when that satisfies it, recursively (apt's pkgDepCache::SetCandidateRelease). Then
// the walk above runs with those candidates.
util::Result<std::vector<const PackageRecord*>>
resolve_requests(const Universe& universe, const std::vector<config::PackageRequest>& requested);

} // namespace uhs::apt

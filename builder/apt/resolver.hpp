// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/control.hpp"
#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <map>
#include <string>
#include <vector>

namespace uhs::apt {

// Every package version visible for one architecture, with apt's notion of a candidate
// (the highest version; on a tie, the earliest index wins).
class Universe {
public:
    // Takes the records of every index in source order; keeps those for `architecture` and
    // "all".
    Universe(std::vector<PackageRecord> records, std::string architecture);

    // The candidate version of a real package, or nullptr.
    const PackageRecord* candidate(std::string_view name) const;
    // Candidates that provide `name` (sorted by name), including versioned provides.
    const std::vector<const PackageRecord*>& providers(std::string_view name) const;
    // All candidates, sorted by name.
    const std::vector<const PackageRecord*>& candidates() const { return m_sorted; }
    const std::string& architecture() const { return m_architecture; }

private:
    std::vector<PackageRecord> m_records;
    std::string m_architecture;
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

} // namespace uhs::apt

// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/policy.hpp"

#include <algorithm>
#include <climits>

#include <fnmatch.h>

namespace uhs::apt {
namespace {

constexpr int k_default_priority = 500;

bool glob_matches(std::string_view pattern, std::string_view text) {
    return ::fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), FNM_CASEFOLD) == 0;
}

bool pins_suite_itself(const config::Pin& pin) {
    return pin.packages.size() == 1 && pin.packages.front() == "*";
}

} // namespace

int default_priority(const ReleaseInfo& release) {
    if (release.but_automatic_upgrades) {
        return 100;
    }
    return release.not_automatic ? 1 : k_default_priority;
}

bool release_matches(const ReleaseInfo& release, std::string_view pattern) {
    return (!release.suite.empty() && glob_matches(pattern, release.suite)) ||
           (!release.codename.empty() && glob_matches(pattern, release.codename));
}

bool package_matches(std::string_view glob, std::string_view name) {
    return glob_matches(glob, name);
}

Policy::Policy(std::vector<ReleaseInfo> releases, std::vector<config::Pin> pins)
    : m_releases(std::move(releases)) {
    for (const ReleaseInfo& r : m_releases) {
        m_suite_priority.push_back(default_priority(r));
    }
    // The first "*" pin naming a suite fixes its priority (later ones do not change it).
    std::vector<bool> fixed(m_releases.size(), false);
    for (config::Pin& pin : pins) {
        if (!pins_suite_itself(pin)) {
            m_package_pins.push_back(std::move(pin));
            continue;
        }
        for (std::size_t i = 0; i < m_releases.size(); ++i) {
            if (!fixed[i] && release_matches(m_releases[i], pin.suite)) {
                m_suite_priority[i] = pin.priority;
                fixed[i] = true;
            }
        }
    }
}

int Policy::suite_priority(std::size_t origin) const {
    return origin < m_suite_priority.size() ? m_suite_priority[origin] : k_default_priority;
}

bool Policy::origin_matches(std::size_t origin, std::string_view pattern) const {
    return origin < m_releases.size() && release_matches(m_releases[origin], pattern);
}

int Policy::priority(std::string_view package, const std::vector<std::size_t>& origins) const {
    for (const config::Pin& pin : m_package_pins) {
        bool named = std::any_of(pin.packages.begin(), pin.packages.end(),
                                 [&](const std::string& g) { return package_matches(g, package); });
        if (named && std::any_of(origins.begin(), origins.end(),
                                 [&](std::size_t o) { return origin_matches(o, pin.suite); })) {
            return pin.priority;
        }
    }
    int best = INT_MIN;
    for (std::size_t o : origins) {
        best = std::max(best, suite_priority(o));
    }
    return best == INT_MIN ? 0 : best;
}

} // namespace uhs::apt

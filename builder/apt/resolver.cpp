// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/resolver.hpp"

#include "builder/util/strings.hpp"

#include <algorithm>
#include <set>

namespace uhs::apt {
namespace {

int priority_rank(Priority p) {
    return static_cast<int>(p);
}

// Depends/Pre-Depends, or Conflicts/Breaks: dpkg reads ":any" differently for the two.
enum class RelationKind { depends, conflicts };

// Does the arch qualifier of `atom` allow `record`? This is dpkg's deparchsatisfied() for a
// single-architecture image: an unqualified dependency accepts the native architecture and
// "all"; a ":any" dependency only a package that is Multi-Arch: allowed (foreign, same or none
// do not satisfy it), while ":any" in Conflicts/Breaks applies to every package.
bool arch_ok(const DependencyAtom& atom, const PackageRecord& record, const std::string& native,
             RelationKind kind) {
    if (atom.arch_qualifier.empty() || atom.arch_qualifier == "native" ||
        atom.arch_qualifier == native) {
        return record.architecture == native || record.architecture == "all";
    }
    if (atom.arch_qualifier == "any") {
        return kind == RelationKind::conflicts || record.multi_arch == MultiArch::allowed;
    }
    return record.architecture == atom.arch_qualifier;
}

// Whether `record` satisfies `atom`, by its own name or through Provides.
bool satisfies_atom(const DependencyAtom& atom, const PackageRecord& record,
                    const std::string& native, RelationKind kind = RelationKind::depends) {
    if (record.name == atom.name && arch_ok(atom, record, native, kind) &&
        satisfies(record.version, atom.relation, atom.version)) {
        return true;
    }
    for (const DependencyAtom& provided : record.provides) {
        if (provided.name != atom.name) {
            continue;
        }
        // dpkg checks the provider's own Multi-Arch the same way: "virt:any" is satisfied only
        // by a Multi-Arch: allowed provider (every provider, for Conflicts/Breaks).
        if (!arch_ok(atom, record, native, kind)) {
            continue;
        }
        if (atom.relation == Relation::any) {
            return true;
        }
        // Versioned dependencies are satisfied only by versioned provides (Policy 7.5).
        if (provided.relation == Relation::eq &&
            satisfies(provided.version, atom.relation, atom.version)) {
            return true;
        }
    }
    return false;
}

std::string group_text(const DependencyGroup& group) {
    std::string out;
    for (const DependencyAtom& a : group) {
        if (!out.empty()) {
            out += " | ";
        }
        out += a.to_string();
    }
    return out;
}

class Resolver {
public:
    explicit Resolver(const Universe& universe) : m_universe(universe) {}

    util::Status run(const std::vector<config::PackageRequest>& requested) {
        std::vector<std::string> roots;
        std::vector<std::pair<const PackageRecord*, std::string>> by_release;
        for (const config::PackageRequest& request : requested) {
            const PackageRecord* record = UHS_TRY(requested_record(request));
            // apt-get install: the selected version becomes the candidate, then is marked.
            set_candidate(*record);
            roots.push_back(record->name);
            if (!request.suite.empty()) {
                by_release.emplace_back(record, request.suite);
            }
            if (m_selected.contains(record->name)) {
                m_selected[record->name] = record;
                continue;
            }
            if (auto clash = conflicting(*record)) {
                return util::fail(util::Errc::invalid_input, "requested packages ", record->name,
                                  " and ", *clash, " conflict");
            }
            m_selected[record->name] = record;
        }
        // Like apt, a failed switch is no error here: the walk below reports what is missing.
        std::vector<std::string> changed;
        for (const auto& [record, suite] : by_release) {
            changed.push_back(record->name);
            switch_to_release(*record, suite, changed);
        }
        for (const std::string& name : roots) {
            const PackageRecord* root = m_selected.at(name);
            std::vector<std::string> chain{root->name};
            UHS_CHECK(install_dependencies(*root, chain));
        }
        return {};
    }

    std::vector<const PackageRecord*> result() const {
        std::vector<const PackageRecord*> out;
        for (const auto& [name, record] : m_selected) {
            out.push_back(record);
        }
        return out;
    }

private:
    const PackageRecord* candidate(std::string_view name) const {
        if (auto it = m_candidate.find(name); it != m_candidate.end()) {
            return it->second;
        }
        return m_universe.candidate(name);
    }

    bool is_candidate(const PackageRecord* record) const {
        return candidate(record->name) == record;
    }

    // apt's SetCandidateVersion: a package marked with its old candidate gets the new one.
    void set_candidate(const PackageRecord& record) { set_candidate(record.name, &record); }

    void set_candidate(const std::string& name, const PackageRecord* record) {
        const PackageRecord* old = candidate(name);
        if (old == record) {
            return;
        }
        m_candidate[name] = record;
        if (auto it = m_selected.find(name);
            it != m_selected.end() && it->second == old && record != nullptr) {
            it->second = record;
        }
    }

    std::vector<const PackageRecord*> candidate_providers(std::string_view name) const {
        std::vector<const PackageRecord*> out;
        for (const PackageRecord* p : m_universe.providers(name)) {
            if (is_candidate(p)) {
                out.push_back(p);
            }
        }
        return out;
    }

    util::Result<const PackageRecord*> requested_record(const config::PackageRequest& request) {
        const std::string& name = request.name;
        if (!request.suite.empty()) {
            if (const PackageRecord* r = m_universe.in_release(name, request.suite)) {
                return r;
            }
            return util::fail(util::Errc::invalid_input, "release '", request.suite, "' for '",
                              name, "' was not found: no suite matching ", request.suite, " has ",
                              name, " for ", m_universe.architecture());
        }
        if (const PackageRecord* r = candidate(name)) {
            return r;
        }
        const auto providers = candidate_providers(name);
        if (providers.size() == 1) {
            return providers.front();
        }
        if (!providers.empty()) {
            std::string names;
            for (const PackageRecord* p : providers) {
                names += (names.empty() ? "" : ", ") + p->name;
            }
            return util::fail(util::Errc::invalid_input, "package ", name,
                              " is a virtual package provided by ", names, "; request one of them");
        }
        if (!m_universe.versions(name).empty()) {
            return util::fail(util::Errc::invalid_input, "package ", name,
                              " has no installation candidate (every version has a pin "
                              "priority of 0 or below)");
        }
        return util::fail(util::Errc::invalid_input, "unable to locate package ", name,
                          " in any source for ", m_universe.architecture());
    }

    // apt's VersionState(..., DepInstall, DepCandMin): every Pre-Depends/Depends group of
    // `record` is satisfied by a package marked so far, and no marked package is in its
    // Conflicts or Breaks.
    bool installable_now(const PackageRecord& record) const {
        for (const auto* groups : {&record.pre_depends, &record.depends}) {
            for (const DependencyGroup& g : *groups) {
                if (!group_satisfied(g)) {
                    return false;
                }
            }
        }
        const std::string& native = m_universe.architecture();
        for (const auto* groups : {&record.conflicts, &record.breaks}) {
            for (const DependencyGroup& g : *groups) {
                for (const DependencyAtom& a : g) {
                    for (const auto& [name, other] : m_selected) {
                        if (name != record.name &&
                            satisfies_atom(a, *other, native, RelationKind::conflicts)) {
                            return false;
                        }
                    }
                }
            }
        }
        return true;
    }

    // Whether the current candidates already serve `group` in apt's SetCandidateRelease sense.
    bool group_served(const DependencyGroup& group) const {
        for (const DependencyAtom& atom : group) {
            const auto& providers = m_universe.providers(atom.name);
            if (m_universe.versions(atom.name).empty() && providers.empty()) {
                continue; // nothing has that name: no solution
            }
            const PackageRecord* c = candidate(atom.name);
            if (atom.relation == Relation::any) {
                if (!providers.empty()) {
                    bool one = std::any_of(providers.begin(), providers.end(), [&](auto* p) {
                        return is_candidate(p) && installable_now(*p);
                    });
                    if (!one) {
                        continue;
                    }
                } else if (c == nullptr || !installable_now(*c)) {
                    continue;
                }
                return true;
            }
            if (c != nullptr && satisfies(c->version, atom.relation, atom.version) &&
                installable_now(*c)) {
                return true;
            }
        }
        return false;
    }

    // apt's pkgDepCache::SetCandidateRelease: makes `target` the candidate, then for each
    // Pre-Depends/Depends group the candidates do not serve, switches the first versioned
    // alternative whose version in `release` satisfies it (and recursively its dependencies).
    // `changed` lists the packages switched so far. As apt, a failure leaves the switches made.
    bool switch_to_release(const PackageRecord& target, const std::string& release,
                           std::vector<std::string>& changed) {
        set_candidate(target);
        const std::size_t keep = changed.size();
        for (const auto* groups : {&target.pre_depends, &target.depends}) {
            for (const DependencyGroup& group : *groups) {
                if (group_served(group)) {
                    continue;
                }
                bool served = false;
                for (std::size_t i = 0; i < group.size(); ++i) {
                    const DependencyAtom& atom = group[i];
                    const bool last = i + 1 == group.size();
                    const PackageRecord* version = m_universe.in_release(atom.name, release);
                    if (atom.relation == Relation::any || version == nullptr ||
                        !satisfies(version->version, atom.relation, atom.version)) {
                        if (last) {
                            break;
                        }
                        continue;
                    }
                    const PackageRecord* old = candidate(atom.name);
                    bool touched = version == old && std::find(changed.begin(), changed.end(),
                                                               atom.name) != changed.end();
                    if (!touched) {
                        changed.push_back(atom.name);
                        if (!switch_to_release(*version, release, changed)) {
                            if (last) {
                                break;
                            }
                            set_candidate(atom.name, old);
                            changed.pop_back();
                            continue;
                        }
                    }
                    served = true;
                    break;
                }
                if (!served) {
                    changed.resize(keep);
                    return false;
                }
            }
        }
        return true;
    }

    // The name of a chosen package that conflicts with (or breaks) `record`, either way round.
    std::optional<std::string> conflicting(const PackageRecord& record) const {
        const std::string& native = m_universe.architecture();
        for (const auto& [name, other] : m_selected) {
            if (other == &record || name == record.name) {
                continue;
            }
            for (const auto* groups : {&record.conflicts, &record.breaks}) {
                for (const DependencyGroup& g : *groups) {
                    for (const DependencyAtom& a : g) {
                        if (satisfies_atom(a, *other, native, RelationKind::conflicts)) {
                            return name;
                        }
                    }
                }
            }
            for (const auto* groups : {&other->conflicts, &other->breaks}) {
                for (const DependencyGroup& g : *groups) {
                    for (const DependencyAtom& a : g) {
                        if (satisfies_atom(a, record, native, RelationKind::conflicts)) {
                            return name;
                        }
                    }
                }
            }
        }
        return std::nullopt;
    }

    bool group_satisfied(const DependencyGroup& group) const {
        const std::string& native = m_universe.architecture();
        for (const DependencyAtom& atom : group) {
            if (auto it = m_selected.find(atom.name);
                it != m_selected.end() && satisfies_atom(atom, *it->second, native)) {
                return true;
            }
            for (const PackageRecord* p : m_universe.providers(atom.name)) {
                if (auto it = m_selected.find(p->name);
                    it != m_selected.end() && it->second == p && satisfies_atom(atom, *p, native)) {
                    return true;
                }
            }
        }
        return false;
    }

    // Candidates able to satisfy `atom`: the real package first, then providers (already
    // chosen ones first, then by priority and name) — apt's preference order, deterministic.
    std::vector<const PackageRecord*> targets(const DependencyAtom& atom) const {
        const std::string& native = m_universe.architecture();
        std::vector<const PackageRecord*> out;
        if (const PackageRecord* r = candidate(atom.name);
            r != nullptr && satisfies_atom(atom, *r, native)) {
            out.push_back(r);
        }
        std::vector<const PackageRecord*> providers;
        for (const PackageRecord* p : candidate_providers(atom.name)) {
            if (p->name != atom.name && satisfies_atom(atom, *p, native)) {
                providers.push_back(p);
            }
        }
        std::stable_sort(providers.begin(), providers.end(),
                         [&](const PackageRecord* a, const PackageRecord* b) {
                             bool sa = m_selected.contains(a->name);
                             bool sb = m_selected.contains(b->name);
                             if (sa != sb) {
                                 return sa;
                             }
                             if (a->essential != b->essential) {
                                 return a->essential;
                             }
                             if (a->priority != b->priority) {
                                 return priority_rank(a->priority) < priority_rank(b->priority);
                             }
                             return a->name < b->name;
                         });
        out.insert(out.end(), providers.begin(), providers.end());
        return out;
    }

    // Why no alternative of `group` could be installed, in apt's words.
    std::string why_not(const DependencyGroup& group) const {
        const DependencyAtom& atom = group.front();
        if (auto it = m_selected.find(atom.name); it != m_selected.end()) {
            return "but " + it->second->version + " is to be installed";
        }
        if (const PackageRecord* r = candidate(atom.name)) {
            if (!satisfies_atom(atom, *r, m_universe.architecture())) {
                return "but " + r->version + " is to be installed";
            }
            return "but it is not going to be installed (it conflicts with " +
                   conflicting(*r).value_or("a chosen package") + ")";
        }
        if (!candidate_providers(atom.name).empty()) {
            return "but it is a virtual package and no provider fits";
        }
        return "but it is not installable";
    }

    util::Status install_dependencies(const PackageRecord& record,
                                      std::vector<std::string>& chain) {
        struct Kind {
            std::string_view name;
            const std::vector<DependencyGroup>* groups;
        };
        for (Kind kind :
             {Kind{"Pre-Depends", &record.pre_depends}, Kind{"Depends", &record.depends}}) {
            for (const DependencyGroup& group : *kind.groups) {
                if (group_satisfied(group)) {
                    continue;
                }
                const PackageRecord* chosen = nullptr;
                for (const DependencyAtom& atom : group) {
                    for (const PackageRecord* t : targets(atom)) {
                        if (m_selected.contains(t->name)) {
                            continue; // another version of it is chosen already
                        }
                        if (!conflicting(*t)) {
                            chosen = t;
                            break;
                        }
                    }
                    if (chosen != nullptr) {
                        break;
                    }
                }
                if (chosen == nullptr) {
                    std::string needed_by;
                    for (const std::string& link : chain) {
                        needed_by += (needed_by.empty() ? "" : " -> ") + link;
                    }
                    return util::fail(util::Errc::invalid_input,
                                      "unsatisfiable dependency: ", record.name, " ",
                                      record.version, " : ", kind.name, ": ", group_text(group),
                                      " ", why_not(group), " (needed by ", needed_by, ")");
                }
                m_selected[chosen->name] = chosen;
                chain.push_back(chosen->name);
                UHS_CHECK(install_dependencies(*chosen, chain));
                chain.pop_back();
            }
        }
        return {};
    }

    const Universe& m_universe;
    std::map<std::string, const PackageRecord*, std::less<>> m_selected;  // marked to install
    std::map<std::string, const PackageRecord*, std::less<>> m_candidate; // switched candidates
};

} // namespace

Universe::Universe(std::vector<PackageRecord> records, std::string architecture, Policy policy)
    : m_records(std::move(records)), m_architecture(std::move(architecture)),
      m_policy(std::move(policy)) {
    for (const PackageRecord& r : m_records) {
        if (r.architecture != m_architecture && r.architecture != "all") {
            continue;
        }
        auto& list = m_versions[r.name];
        auto same = std::find_if(list.begin(), list.end(), [&](const PackageVersion& v) {
            return v.record->version == r.version && v.record->architecture == r.architecture &&
                   v.record->sha256 == r.sha256;
        });
        if (same == list.end()) {
            list.push_back(PackageVersion{&r, {r.origin}, 0});
        } else if (std::find(same->origins.begin(), same->origins.end(), r.origin) ==
                   same->origins.end()) {
            same->origins.push_back(r.origin);
        }
    }
    for (auto& [name, list] : m_versions) {
        // Highest version first; equal versions keep index order (apt's VersionList).
        std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
            return compare_versions(a.record->version, b.record->version) > 0;
        });
        // pkgPolicy::GetCandidateVer: the first version of strictly higher priority wins, and
        // a priority below 1 is never a candidate.
        const PackageRecord* best = nullptr;
        int best_priority = 0;
        for (PackageVersion& v : list) {
            v.priority = m_policy.priority(name, v.origins);
            if (v.priority > best_priority) {
                best = v.record;
                best_priority = v.priority;
            }
            std::set<std::string> seen;
            for (const DependencyAtom& p : v.record->provides) {
                if (seen.insert(p.name).second) {
                    m_providers[p.name].push_back(v.record);
                }
            }
        }
        if (best != nullptr) {
            m_candidates[name] = best;
            m_sorted.push_back(best);
        }
    }
}

const PackageRecord* Universe::candidate(std::string_view name) const {
    auto it = m_candidates.find(name);
    return it == m_candidates.end() ? nullptr : it->second;
}

const std::vector<PackageVersion>& Universe::versions(std::string_view name) const {
    static const std::vector<PackageVersion> k_none;
    auto it = m_versions.find(name);
    return it == m_versions.end() ? k_none : it->second;
}

const PackageRecord* Universe::in_release(std::string_view name, std::string_view release) const {
    for (const PackageVersion& v : versions(name)) {
        for (std::size_t origin : v.origins) {
            if (m_policy.origin_matches(origin, release)) {
                return v.record;
            }
        }
    }
    return nullptr;
}

bool Universe::knows_release(std::string_view release) const {
    const auto& releases = m_policy.releases();
    return std::any_of(releases.begin(), releases.end(),
                       [&](const ReleaseInfo& r) { return release_matches(r, release); });
}

const std::vector<const PackageRecord*>& Universe::providers(std::string_view name) const {
    static const std::vector<const PackageRecord*> k_none;
    auto it = m_providers.find(name);
    return it == m_providers.end() ? k_none : it->second;
}

std::vector<std::string> base_packages(const Universe& universe, config::Variant variant) {
    Priority limit = Priority::required;
    if (variant == config::Variant::important) {
        limit = Priority::important;
    } else if (variant == config::Variant::standard) {
        limit = Priority::standard;
    }
    std::vector<std::string> out;
    for (const PackageRecord* r : universe.candidates()) {
        if (r->essential || priority_rank(r->priority) <= priority_rank(limit)) {
            out.push_back(r->name);
        }
    }
    return out;
}

util::Result<std::vector<const PackageRecord*>> resolve(const Universe& universe,
                                                        const std::vector<std::string>& requested) {
    std::vector<config::PackageRequest> requests;
    for (const std::string& name : requested) {
        requests.push_back(config::PackageRequest{name, ""});
    }
    return resolve_requests(universe, requests);
}

util::Result<std::vector<const PackageRecord*>>
resolve_requests(const Universe& universe, const std::vector<config::PackageRequest>& requested) {
    Resolver resolver(universe);
    UHS_CHECK(resolver.run(requested));
    return resolver.result();
}

} // namespace uhs::apt

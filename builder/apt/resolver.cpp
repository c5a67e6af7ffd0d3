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

    util::Status run(const std::vector<std::string>& requested) {
        std::vector<const PackageRecord*> roots;
        for (const std::string& name : requested) {
            const PackageRecord* record = UHS_TRY(requested_record(name));
            roots.push_back(record);
            if (m_selected.contains(record->name)) {
                continue;
            }
            if (auto clash = conflicting(*record)) {
                return util::fail(util::Errc::invalid_input, "requested packages ", record->name,
                                  " and ", *clash, " conflict");
            }
            m_selected[record->name] = record;
        }
        for (const PackageRecord* root : roots) {
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
    util::Result<const PackageRecord*> requested_record(const std::string& name) {
        if (const PackageRecord* r = m_universe.candidate(name)) {
            return r;
        }
        const auto& providers = m_universe.providers(name);
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
        return util::fail(util::Errc::invalid_input, "unable to locate package ", name,
                          " in any source for ", m_universe.architecture());
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
        if (const PackageRecord* r = m_universe.candidate(atom.name);
            r != nullptr && satisfies_atom(atom, *r, native)) {
            out.push_back(r);
        }
        std::vector<const PackageRecord*> providers;
        for (const PackageRecord* p : m_universe.providers(atom.name)) {
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
        if (const PackageRecord* r = m_universe.candidate(atom.name)) {
            if (!satisfies_atom(atom, *r, m_universe.architecture())) {
                return "but " + r->version + " is to be installed";
            }
            return "but it is not going to be installed (it conflicts with " +
                   conflicting(*r).value_or("a chosen package") + ")";
        }
        if (!m_universe.providers(atom.name).empty()) {
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
    std::map<std::string, const PackageRecord*, std::less<>> m_selected;
};

} // namespace

Universe::Universe(std::vector<PackageRecord> records, std::string architecture)
    : m_records(std::move(records)), m_architecture(std::move(architecture)) {
    for (const PackageRecord& r : m_records) {
        if (r.architecture != m_architecture && r.architecture != "all") {
            continue;
        }
        auto [it, inserted] = m_candidates.try_emplace(r.name, &r);
        if (!inserted && compare_versions(r.version, it->second->version) > 0) {
            it->second = &r;
        }
    }
    for (const auto& [name, record] : m_candidates) {
        m_sorted.push_back(record);
        std::set<std::string> seen;
        for (const DependencyAtom& p : record->provides) {
            if (seen.insert(p.name).second) {
                m_providers[p.name].push_back(record);
            }
        }
    }
}

const PackageRecord* Universe::candidate(std::string_view name) const {
    auto it = m_candidates.find(name);
    return it == m_candidates.end() ? nullptr : it->second;
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
    Resolver resolver(universe);
    UHS_CHECK(resolver.run(requested));
    return resolver.result();
}

} // namespace uhs::apt

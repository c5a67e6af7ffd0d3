// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/lock.hpp"

#include "builder/apt/resolver.hpp"

#include <algorithm>

namespace uhs::apt {

util::Result<std::vector<std::string>> resolve_uris(const config::Image& image,
                                                    const std::filesystem::path& host_root,
                                                    const SourceOverrides& overrides) {
    for (const auto& [name, uri] : overrides) {
        bool known = std::any_of(image.sources.begin(), image.sources.end(),
                                 [&](const auto& s) { return s.name == name; });
        if (!known) {
            return util::fail(util::Errc::invalid_input, "--source ", name,
                              "=...: the cluster file has no source named ", name);
        }
    }
    std::vector<HostSource> host;
    bool needs_host = std::any_of(image.sources.begin(), image.sources.end(), [&](const auto& s) {
        return s.is_auto() && !overrides.contains(s.name);
    });
    if (needs_host) {
        host = UHS_TRY(read_host_sources(host_root));
    }
    std::vector<std::string> uris;
    for (const config::AptSource& source : image.sources) {
        uris.push_back(UHS_TRY(resolve_source_uri(source, host, overrides)));
    }
    return uris;
}

std::vector<config::PackageRequest> requested_packages(const config::Image& image,
                                                       const Universe& universe) {
    std::vector<config::PackageRequest> out;
    for (const std::string& name : base_packages(universe, image.variant)) {
        out.push_back(config::PackageRequest{name, ""});
    }
    for (const std::string& p : image.packages) {
        out.push_back(config::parse_package_request(p));
    }
    if (!image.kernel.empty()) {
        out.push_back(config::parse_package_request(image.kernel));
    }
    return out;
}

std::vector<ReleaseInfo> release_infos(const Indices& indices) {
    std::vector<ReleaseInfo> out;
    for (const SuiteState& s : indices.suites) {
        out.push_back(ReleaseInfo{s.release.suite, s.release.codename, s.release.not_automatic,
                                  s.release.but_automatic_upgrades});
    }
    return out;
}

util::Status check_suites_known(const config::Image& image, const Universe& universe) {
    std::string known;
    for (const ReleaseInfo& r : universe.policy().releases()) {
        std::string name = r.suite.empty() ? r.codename : r.suite;
        if (!r.codename.empty() && r.codename != name) {
            name += " (codename " + r.codename + ")";
        }
        known +=
            (known.empty() ? "" : ", ") + (name.empty() ? std::string("(flat, unnamed)") : name);
    }
    auto check = [&](const std::string& suite, const config::SourceLocation& where,
                     const std::string& field, const std::string& what) -> util::Status {
        if (suite.empty() || universe.knows_release(suite)) {
            return {};
        }
        config::Diagnostic d{where, field + ": " + what + "'" + suite +
                                        "' is not the suite or codename of any image.sources "
                                        "suite (their Release files say: " +
                                        known + ")"};
        return util::fail(util::Errc::invalid_input, d.to_string());
    };
    for (std::size_t i = 0; i < image.packages.size(); ++i) {
        const config::SourceLocation where = i < image.package_locations.size()
                                                 ? image.package_locations[i]
                                                 : config::SourceLocation{};
        UHS_CHECK(check(config::parse_package_request(image.packages[i]).suite, where,
                        "image.packages[" + std::to_string(i) + "]", image.packages[i] + ": "));
    }
    UHS_CHECK(check(config::parse_package_request(image.kernel).suite, image.kernel_location,
                    "image.kernel", image.kernel + ": "));
    for (std::size_t i = 0; i < image.pins.size(); ++i) {
        UHS_CHECK(check(image.pins[i].suite, image.pins[i].suite_location,
                        "image.pins[" + std::to_string(i) + "].suite", ""));
    }
    return {};
}

util::Result<LockFile> compute_lock(const config::Image& image,
                                    const std::vector<std::string>& uris,
                                    RepositoryContext& context) {
    Indices indices = UHS_TRY(load_indices(image.sources, uris, image.architecture, context));
    LockFile lock;
    lock.request_sha256 = request_digest(image);
    lock.architecture = image.architecture;
    for (const SuiteState& s : indices.suites) {
        lock.sources.push_back(
            LockedSource{s.source, s.suite, format_utc(s.release.date), s.inrelease_sha256});
    }
    std::vector<SuiteState> suites = indices.suites;
    Policy policy(release_infos(indices), image.pins);
    Universe universe(std::move(indices.records), image.architecture, std::move(policy));
    UHS_CHECK(check_suites_known(image, universe));
    auto chosen = UHS_TRY(resolve_requests(universe, requested_packages(image, universe)));
    for (const PackageRecord* r : chosen) {
        lock.packages.push_back(LockedPackage{r->name, r->version, r->architecture, r->source,
                                              suites.at(r->origin).source, r->filename, r->size,
                                              r->sha256});
    }
    return lock;
}

util::Result<std::vector<fetch::DownloadItem>>
download_items(const LockFile& lock, const config::Image& image,
               const std::vector<std::string>& uris) {
    std::vector<fetch::DownloadItem> items;
    for (const LockedPackage& p : lock.packages) {
        auto it = std::find_if(image.sources.begin(), image.sources.end(),
                               [&](const auto& s) { return s.name == p.from; });
        if (it == image.sources.end()) {
            return util::fail(util::Errc::invalid_input, "lock: package ", p.name,
                              " comes from source ", p.from,
                              ", which the cluster file no longer has; run lock --update");
        }
        const std::string& uri = uris.at(static_cast<std::size_t>(it - image.sources.begin()));
        // Flat repositories give paths relative to the suite directory; normal ones to the URI.
        std::string base = it->is_flat() ? suite_base(*it, uri, it->suites.front()) : uri;
        std::string label = p.path.substr(p.path.rfind('/') + 1);
        items.push_back(fetch::DownloadItem{base + "/" + p.path, p.sha256, p.size, label});
    }
    return items;
}

} // namespace uhs::apt

// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/repository.hpp"

#include "builder/apt/verify.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/sha256.hpp"

namespace uhs::apt {

util::Result<std::string> decompress(std::string_view data, std::string_view origin) {
    util::ArchiveReader reader(archive_read_new());
    archive_read_support_filter_all(reader.get());
    archive_read_support_format_raw(reader.get());
    archive_read_support_format_empty(reader.get());
    if (archive_read_open_memory(reader.get(), data.data(), data.size()) != ARCHIVE_OK) {
        return util::fail(util::Errc::invalid_input, origin, ": ",
                          archive_error_string(reader.get()));
    }
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(reader.get(), &entry);
    if (rc == ARCHIVE_EOF) {
        return std::string();
    }
    if (rc != ARCHIVE_OK) {
        return util::fail(util::Errc::invalid_input, origin, ": ",
                          archive_error_string(reader.get()));
    }
    std::string out;
    char buffer[1 << 16];
    for (;;) {
        la_ssize_t n = archive_read_data(reader.get(), buffer, sizeof buffer);
        if (n < 0) {
            return util::fail(util::Errc::invalid_input, origin, ": ",
                              archive_error_string(reader.get()));
        }
        if (n == 0) {
            break;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

std::string suite_base(const config::AptSource& source, const std::string& uri,
                       const std::string& suite) {
    if (source.is_flat()) {
        std::string dir = suite;
        while (!dir.empty() && dir.back() == '/') {
            dir.pop_back();
        }
        return dir.empty() ? uri : uri + "/" + dir;
    }
    return uri + "/dists/" + suite;
}

namespace {

// Picks the best-compressed variant of `stem` that the Release lists.
util::Result<std::pair<std::string, IndexEntry>>
pick_index(const Release& release, const std::string& stem, const std::string& origin) {
    for (const char* suffix : {".xz", ".gz", ""}) {
        if (auto it = release.sha256.find(stem + suffix); it != release.sha256.end()) {
            return *it;
        }
    }
    return util::fail(util::Errc::not_found, origin, ": no SHA256 entry for ", stem,
                      "{.xz,.gz,} (is the architecture or component right?)");
}

} // namespace

util::Result<Indices> load_indices(const std::vector<config::AptSource>& sources,
                                   const std::vector<std::string>& uris,
                                   const std::string& architecture, RepositoryContext& context) {
    Indices indices;
    for (std::size_t s = 0; s < sources.size(); ++s) {
        const config::AptSource& source = sources[s];
        for (const std::string& suite : source.suites) {
            std::string base = suite_base(source, uris[s], suite);
            std::string url = base + "/InRelease";
            std::string origin = source.name + " " + url;
            auto text = fetch::http_get(url, context.fetch_options, fetch::k_max_inrelease_bytes);
            if (!text) {
                return util::fail(text.error().code, "source ", source.name, ": ",
                                  text.error().message);
            }
            std::string verified =
                UHS_TRY(verify_clearsigned(context.runner, source.keyring, *text, origin));
            Release release = UHS_TRY(parse_release(verified, origin));
            // Like apt: the signed Suite or Codename must name what was asked for, or a
            // validly signed InRelease of another suite could be served in its place. Flat
            // repositories have no suite to compare.
            if (!source.is_flat() && suite != release.suite && suite != release.codename) {
                return util::fail(util::Errc::integrity, origin,
                                  ": conflicting distribution: expected suite ", suite,
                                  " but the signed Release says Suite \"", release.suite,
                                  "\", Codename \"", release.codename, "\"");
            }
            if (release.valid_until && *release.valid_until < context.now) {
                return util::fail(util::Errc::integrity, origin, ": expired: Valid-Until ",
                                  format_utc(*release.valid_until), " is in the past");
            }
            if (auto pinned = context.not_before.find({source.name, suite});
                pinned != context.not_before.end() && release.date < pinned->second) {
                return util::fail(util::Errc::integrity, origin, ": InRelease Date ",
                                  format_utc(release.date), " is older than ",
                                  format_utc(pinned->second),
                                  " in the existing lock; refusing to roll back (delete the "
                                  "lock to accept an older repository state)");
            }
            SuiteState state{source.name, suite, source.is_flat() ? base : uris[s],
                             util::sha256_hex(*text), release};
            std::vector<std::string> stems;
            if (source.is_flat()) {
                stems.emplace_back("Packages");
            } else {
                for (const std::string& component : source.components) {
                    stems.push_back(component + "/binary-" + architecture + "/Packages");
                }
            }
            std::size_t origin_index = indices.suites.size();
            indices.suites.push_back(std::move(state));
            for (const std::string& stem : stems) {
                auto [path, entry] = UHS_TRY(pick_index(release, stem, origin));
                std::string index_origin = source.name + " " + base + "/" + path;
                std::string data;
                if (context.store.contains(entry.sha256)) {
                    data = UHS_TRY(context.store.read(entry.sha256));
                } else {
                    std::string dir = path.substr(0, path.rfind('/') + 1);
                    std::string index_url =
                        release.acquire_by_hash
                            ? base + "/" + dir + "by-hash/SHA256/" + entry.sha256
                            : base + "/" + path;
                    // Capped by the size InRelease declares: a larger answer is not this index.
                    auto fetched = fetch::http_get(index_url, context.fetch_options, entry.size);
                    if (!fetched) {
                        return util::fail(fetched.error().code, "source ", source.name, ": ",
                                          fetched.error().message);
                    }
                    if (std::string actual = util::sha256_hex(*fetched); actual != entry.sha256) {
                        return util::fail(util::Errc::integrity, index_origin,
                                          ": SHA256 differs from InRelease (expected ",
                                          entry.sha256, ", got ", actual, ")");
                    }
                    UHS_CHECK(context.store.insert_data(*fetched, entry.sha256));
                    data = std::move(*fetched);
                }
                std::string text_index = UHS_TRY(decompress(data, index_origin));
                auto records = UHS_TRY(parse_packages(text_index, index_origin));
                for (PackageRecord& r : records) {
                    if (source.is_flat() && r.architecture != architecture &&
                        r.architecture != "all") {
                        continue;
                    }
                    r.origin = origin_index;
                    indices.records.push_back(std::move(r));
                }
            }
        }
    }
    return indices;
}

} // namespace uhs::apt

// SPDX-License-Identifier: Apache-2.0
#include "builder/apt/fetch_policy.hpp"

#include "builder/apt/lock.hpp"

#include <set>
#include <sstream>

namespace uhs::apt {

util::Result<StoreFill> fill_store(const config::Image& image, const LockFile& lock,
                                   const fetch::Store& store, const FetchPolicy& policy) {
    StoreFill fill;
    fill.locked = lock.packages.size();
    std::set<std::string> absent; // their SHA-256s
    for (const LockedPackage& p : lock.packages) {
        auto intact = store.verify(p.sha256);
        if (intact) {
            continue;
        }
        if (intact.error().code == util::Errc::integrity) {
            ++fill.corrupt;
        } else if (intact.error().code != util::Errc::not_found) {
            return std::unexpected(intact.error());
        }
        if (fill.missing++ == 0) {
            fill.first_missing = p.name + " " + p.version;
        }
        absent.insert(p.sha256);
    }
    if (policy.offline || (fill.missing == 0 && !policy.check_sources)) {
        return fill;
    }
    const auto uris = UHS_TRY(resolve_uris(image, policy.host_root, policy.overrides));
    // Every package's source is checked, though only the missing ones are downloaded.
    auto items = UHS_TRY(download_items(lock, image, uris));
    if (fill.missing == 0) {
        return fill;
    }
    if (policy.say) {
        policy.say("fetch: " + std::to_string(fill.missing) + " packages into " +
                   store.root().string());
    }
    std::erase_if(items,
                  [&](const fetch::DownloadItem& item) { return !absent.contains(item.sha256); });
    fetch::FetchOptions options = policy.options;
    std::ostringstream quiet;
    if (!policy.progress) {
        options.progress = fetch::Progress::never;
    }
    fill.downloaded = UHS_TRY(fetch::download_all(
        items, store, options, policy.progress ? *policy.progress : quiet, policy.progress_fd));
    return fill;
}

} // namespace uhs::apt

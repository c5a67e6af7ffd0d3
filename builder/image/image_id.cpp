// SPDX-License-Identifier: Apache-2.0
#include "builder/image/image_id.hpp"

#include "builder/config/board.hpp"
#include "builder/config/state_paths.hpp"
#include "builder/util/fs.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/version.hpp"

#include <set>

#include <sys/stat.h>

namespace uhs::image {

namespace fs = std::filesystem;
using util::Errc;
using util::fail;

fs::path lock_path_for(const fs::path& cluster_file) {
    return fs::path(cluster_file.string() + ".lock");
}

namespace {

// Feeds one entry and, for directories, its children (sorted) into `hash`. Each record is
// "type mode length:path length:payload" so no two trees can serialise to the same stream.
util::Status hash_entry(util::Sha256& hash, const fs::path& root, const std::string& relative) {
    const fs::path path = relative.empty() ? root : root / relative;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return fail(Errc::io, "cannot stat ", path.string(), ": ", util::errno_text(errno));
    }
    auto record = [&](char type, std::string_view payload) {
        // Only what git keeps counts: the executable bit. A checkout under another umask must
        // give the same image, and the overlay is applied with these same normalised modes.
        const unsigned normalised = type == 'd'                ? 0755
                                    : type == 'l'              ? 0777
                                    : (st.st_mode & 0111) != 0 ? 0755
                                                               : 0644;
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", normalised);
        hash.update(std::string(1, type) + " " + mode + " " + std::to_string(relative.size()) +
                    ":" + relative + " " + std::to_string(payload.size()) + ":");
        hash.update(payload);
        hash.update("\n");
    };
    if (S_ISDIR(st.st_mode)) {
        record('d', "");
        const std::vector<std::string> names = UHS_TRY(util::list_dir_sorted(path));
        for (const std::string& name : names) {
            UHS_CHECK(hash_entry(hash, root, relative.empty() ? name : relative + "/" + name));
        }
    } else if (S_ISREG(st.st_mode)) {
        record('f', UHS_TRY(util::read_file(path)));
    } else if (S_ISLNK(st.st_mode)) {
        std::error_code ec;
        const fs::path target = fs::read_symlink(path, ec);
        if (ec) {
            return fail(Errc::io, "cannot read link ", path.string(), ": ", ec.message());
        }
        record('l', target.string());
    } else {
        return fail(Errc::invalid_input, path.string(),
                    ": overlays may hold only files, directories and symlinks");
    }
    return {};
}

} // namespace

util::Result<std::string> tree_sha256(const fs::path& root) {
    util::Sha256 hash;
    UHS_CHECK(hash_entry(hash, root, ""));
    return util::to_hex(hash.finish());
}

nlohmann::json image_config_subset(const config::Cluster& c) {
    using nlohmann::json;
    json sources = json::array();
    for (const auto& s : c.image.sources) {
        // The URI is left out: a mirror serves the same bytes, which the lock pins by hash.
        sources.push_back({{"name", s.name}, {"suites", s.suites}, {"components", s.components}});
    }
    // The persisted paths reach the image (the build renders them into it), uhs's own list
    // included: a change to it is a new image.
    json persist = json::array();
    for (const auto& p : config::persistent_paths(c.storage.persist)) {
        persist.push_back(std::string(config::to_string(p.kind)) + " " + p.path + " " + p.mode +
                          " " + p.units);
    }
    std::vector<std::string> dns;
    for (const auto& ip : c.network.dns) {
        dns.push_back(ip.to_string());
    }
    json subset{
        {"apiVersion", c.api_version},
        {"cluster",
         {{"name", c.cluster.name},
          {"domain", c.cluster.domain},
          {"timezone", c.cluster.timezone},
          {"ssh_authorized_keys", c.cluster.ssh_authorized_keys}}},
        {"network", {{"dns", dns}, {"gateway", c.network.gateway.to_string()}}},
        {"storage", {{"state", config::to_string(c.storage.state)}, {"persist", persist}}},
        {"image",
         {{"architecture", c.image.architecture},
          {"variant", config::to_string(c.image.variant)},
          {"sources", sources},
          {"packages", c.image.packages},
          {"kernel", c.image.kernel},
          {"overlays", c.image.overlays}}},
        {"kubernetes",
         {{"version", c.kubernetes.version},
          {"pod_cidr", c.kubernetes.pod_cidr.to_string()},
          {"service_cidr", c.kubernetes.service_cidr.to_string()},
          {"control_plane_endpoint", c.kubernetes.control_plane_endpoint}}},
    };
    // The trees nodes choose decide which files boot; only present when a node chooses one, so
    // the ids of clusters that choose none stay what they were.
    json trees = json::object();
    for (const auto& node : c.nodes) {
        if (!node.device_tree.empty()) {
            trees[node.name] = node.device_tree;
        }
    }
    if (!trees.empty()) {
        subset["device_trees"] = trees;
    }
    // The boards decide boot/ (which kernels, gzip or not) and the initramfs's network drivers
    // (render_initramfs_files); which node is which board does not.
    std::set<std::string> boards;
    for (const auto& node : c.nodes) {
        boards.emplace(config::to_string(node.model));
    }
    subset["boards"] = boards;
    return subset;
}

util::Result<ImageIdInputs> collect_image_id_inputs(const config::Cluster& cluster) {
    ImageIdInputs inputs;
    inputs.lock_file = lock_path_for(cluster.file);
    if (auto lock = util::sha256_file_hex(inputs.lock_file)) {
        inputs.lock_sha256 = *lock;
    } else if (lock.error().code != Errc::not_found) {
        return std::unexpected(lock.error());
    }
    for (std::size_t i = 0; i < cluster.image.overlays.size(); ++i) {
        const fs::path& path = cluster.image.overlay_paths[i];
        inputs.overlays.push_back({cluster.image.overlays[i], path, UHS_TRY(tree_sha256(path))});
    }
    inputs.config_subset = image_config_subset(cluster);
    inputs.config_sha256 = util::sha256_hex(inputs.config_subset.dump());
    inputs.tool_version = util::k_tool_version;
    return inputs;
}

std::optional<std::string> ImageIdInputs::image_id() const {
    if (!lock_sha256) {
        return std::nullopt;
    }
    util::Sha256 hash;
    hash.update("uhs-image-id-v1\n");
    hash.update("lock " + *lock_sha256 + "\n");
    for (const auto& overlay : overlays) {
        hash.update("overlay " + overlay.name + " " + overlay.sha256 + "\n");
    }
    hash.update("config " + config_sha256 + "\n");
    hash.update("tool " + tool_version + "\n");
    return util::to_hex(hash.finish());
}

} // namespace uhs::image

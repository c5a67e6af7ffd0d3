// SPDX-License-Identifier: Apache-2.0
// The publish plan and how it is shown, the receiver that extracts rootfs.tar into the mounted
// dataset, and the report; the steps against the middleware are publish_steps.cpp.
#include "builder/publish/publish.hpp"

#include "builder/rootfs/extract.hpp"
#include "builder/util/locale.hpp"
#include "builder/util/strings.hpp"
#include "firmware/bootcfg/node_boot.hpp"

#include <sstream>

namespace uhs::publish {

using nlohmann::json;
using util::Errc;
using util::fail;
namespace fs = std::filesystem;

PublishPlan make_publish_plan(const config::Cluster& cluster,
                              const std::optional<std::string>& image_id,
                              std::optional<int> prune_keep, Chap chap) {
    const config::TrueNas& nas = cluster.storage.truenas;
    PublishPlan plan;
    plan.host = nas.host;
    plan.image_id_known = image_id.has_value();
    plan.image_id = image_id.value_or("<image-id>");
    plan.images_parent = nas.dataset + "/images";
    plan.dataset = plan.images_parent + "/" + plan.image_id;
    plan.snapshot = "uhs-" + plan.image_id;
    // The path each node's cmdline.txt mounts (firmware/bootcfg), normally /mnt/<dataset>.
    plan.share_path = bootcfg::nfs_export_path(cluster, plan.image_id);
    plan.networks = {cluster.network.subnet.to_string()};
    plan.nfs_version = nas.nfs_version;
    plan.iscsi = cluster.storage.state == config::StateStorage::iscsi;
    plan.state_parent = nas.dataset + "/state";
    plan.chap_user = "uhs-" + cluster.cluster.name;
    plan.prune_keep = prune_keep;
    plan.chap = plan.iscsi && chap == Chap::yes;
    if (plan.iscsi) {
        for (const config::Node& node : cluster.nodes) {
            NodeStatePlan np;
            np.node = node.name;
            np.zvol = plan.state_parent + "/" + node.name;
            // The names the node logs in with (firmware/bootcfg puts them on its command line):
            // target <basename>:uhs-<cluster>-<node>, its own initiator IQN.
            const std::string target_iqn = bootcfg::iscsi_target_iqn(cluster, node);
            np.target = target_iqn.substr(bootcfg::k_truenas_iscsi_basename.size() + 1);
            np.extent = np.target.substr(0, 64);
            np.initiator_iqn = bootcfg::iscsi_initiator_iqn(cluster, node);
            np.initiator_comment = "uhs " + cluster.cluster.name + " " + node.name;
            plan.nodes.push_back(std::move(np));
        }
    }
    return plan;
}

json to_json(const PublishPlan& plan) {
    json nodes = json::array();
    for (const NodeStatePlan& np : plan.nodes) {
        nodes.push_back({{"node", np.node},
                         {"zvol", np.zvol},
                         {"zvol_bytes", k_state_zvol_bytes},
                         {"extent", np.extent},
                         {"target", np.target},
                         {"initiator", np.initiator_iqn},
                         {"auth", plan.chap ? "CHAP" : "NONE"},
                         {"auth_networks", plan.networks}});
    }
    return json{
        {"host", plan.host},
        {"image_id", plan.image_id_known ? json(plan.image_id) : json(nullptr)},
        {"dataset", plan.dataset},
        {"dataset_properties", {{k_image_property, plan.image_id}, {"readonly", "ON"}}},
        {"snapshot", plan.dataset + "@" + plan.snapshot},
        {"nfs_share",
         {{"path", plan.share_path},
          {"ro", true},
          {"maproot_user", "root"},
          {"maproot_group", "root"},
          {"networks", plan.networks},
          {"nfs_version", plan.nfs_version}}},
        {"state", plan.iscsi ? "iscsi" : "tmpfs"},
        {"chap_user", plan.chap ? json(plan.chap_user) : json(nullptr)},
        {"nodes", nodes},
        {"prune_keep", plan.prune_keep ? json(*plan.prune_keep) : json(nullptr)},
    };
}

std::string to_text(const PublishPlan& plan) {
    std::ostringstream out;
    out << "publish to TrueNAS " << plan.host << " (JSON-RPC over wss://" << plan.host
        << "/api/current, REST /api/v2.0 when that answers 404)\n";
    if (plan.image_id_known) {
        out << "image-id: " << plan.image_id << '\n';
    } else {
        out << "image-id: (unknown until the lock exists: run 'uhs-image lock', or pass --image "
               "ID)\n";
    }
    out << "  dataset   " << plan.dataset << "  (" << k_image_property << "=" << plan.image_id
        << ")\n";
    out << "  receive   rootfs.tar -> MOUNT/" << plan.image_id << "  (MOUNT: " << plan.images_parent
        << " mounted on this host, --mount)\n";
    out << "  readonly  " << plan.dataset << "  readonly=ON\n";
    out << "  snapshot  " << plan.dataset << "@" << plan.snapshot << '\n';
    out << "  nfs share " << plan.share_path << "  ro, maproot root:root, networks "
        << util::join(plan.networks, ",") << ", NFSv" << plan.nfs_version << '\n';
    if (!plan.iscsi) {
        out << "state: tmpfs (no zvols, no iSCSI)\n";
    } else {
        out << "state: iSCSI, one sparse " << (k_state_zvol_bytes >> 30)
            << " GiB zvol per node; each target admits only its node's initiator from "
            << util::join(plan.networks, ",")
            << (plan.chap ? ", CHAP user " + plan.chap_user : std::string(", no CHAP")) << '\n';
        for (const NodeStatePlan& np : plan.nodes) {
            out << "  " << np.node << "  zvol " << np.zvol << "  extent " << np.extent
                << "  target " << np.target << "  initiator " << np.initiator_iqn << '\n';
        }
    }
    if (plan.prune_keep) {
        out << "prune: keep the " << *plan.prune_keep << " newest images under "
            << plan.images_parent
            << " and every image a node serves, can roll back to or is pending\n";
    }
    return out.str();
}

// --- receiving ---

util::Status MountedDatasetReceiver::receive(const fs::path& rootfs_tar, const PublishPlan& plan) {
    const fs::path target = m_mount / plan.image_id;
    std::error_code ec;
    if (!fs::is_directory(target, ec)) {
        return fail(Errc::not_found, target.string(), " does not exist: mount ", plan.images_parent,
                    " read-write on this host (NFSv4 shows the new dataset below it) and pass "
                    "that directory as --mount");
    }
    // The build's own extraction policy, as its stage cache restores a saved root: names are
    // checked and written beneath the target, never through a symlink. The pax names are
    // UTF-8 whatever this host's locale says. Owners are best effort, as libarchive's disk
    // writer had them here: the NFS server may squash root.
    const util::ScopedUtf8Locale utf8;
    rootfs::ExtractPolicy policy = rootfs::root_tree_policy();
    policy.ownership = rootfs::Ownership::best_effort;
    policy.directory_times = rootfs::DirectoryTimes::from_archive;
    // A receive that was cut off is finished by extracting again; what it left half-written
    // must not stay in the image.
    UHS_CHECK(rootfs::remove_extract_leftovers(target));
    auto extracted = rootfs::extract_tar_file(rootfs_tar, target, policy);
    if (!extracted) {
        util::Error error = std::move(extracted.error());
        // Content the extractor refuses (a name leaving the dataset, a link through a symlink)
        // means rootfs.tar is not what the build wrote: an integrity failure, not a usage one.
        if (error.code == Errc::invalid_input) {
            error.code = Errc::integrity;
        }
        return std::unexpected(std::move(error));
    }
    return {};
}

// --- versions and reports ---

std::string snapshot_namespace_for(std::string_view version) {
    // The first "NN.NN" in the string.
    for (std::size_t i = 0; i + 5 <= version.size(); ++i) {
        auto digit = [&](std::size_t k) {
            return version[k] >= '0' && version[k] <= '9';
        };
        if (digit(i) && digit(i + 1) && version[i + 2] == '.' && digit(i + 3) && digit(i + 4) &&
            (i == 0 || !digit(i - 1))) {
            const int major = std::stoi(std::string(version.substr(i, 2)));
            const int minor = std::stoi(std::string(version.substr(i + 3, 2)));
            return (major > 25 || (major == 25 && minor >= 10)) ? "pool.snapshot" : "zfs.snapshot";
        }
    }
    return "zfs.snapshot";
}

json to_json(const PublishReport& report) {
    json actions = json::array();
    for (const PublishAction& a : report.actions) {
        actions.push_back({{"step", a.step}, {"object", a.object}, {"outcome", a.outcome}});
    }
    return json{{"api", report.generation == Generation::jsonrpc ? "jsonrpc" : "rest"},
                {"snapshot_namespace", report.snapshot_namespace},
                {"actions", actions}};
}

std::string to_text(const PublishReport& report) {
    std::ostringstream out;
    out << "api: " << to_string(report.generation) << '\n';
    for (const PublishAction& a : report.actions) {
        out << "  " << a.outcome
            << std::string(a.outcome.size() < 10 ? 10 - a.outcome.size() : 1, ' ') << a.step << "  "
            << a.object << '\n';
    }
    return out.str();
}

} // namespace uhs::publish

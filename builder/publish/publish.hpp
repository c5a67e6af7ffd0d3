// SPDX-License-Identifier: Apache-2.0
#pragma once

// `uhs-image publish`: what goes onto TrueNAS for one image, and the idempotent steps that put
// it there. Every step first asks the middleware what exists, so a publish that was cut off
// (a dropped connection, a NAS restart) is finished by running it again, and a second publish
// of the same image changes nothing.
//
// Layout on the NAS (DATASET = storage.truenas.dataset):
//   DATASET/images/<image-id>            FILESYSTEM, user property uhs:image-id=<image-id>
//                                        (and uhs:published=<UTC time, µs>), readonly=ON after the
//                                        rootfs is in, snapshot @uhs-<image-id>, NFS share of
//                                        its mountpoint: ro, maproot root:root, networks =
//                                        network.subnet
//   DATASET/state/<node>                 VOLUME (sparse zvol), one per node, never deleted by
//                                        publish: it holds /var/lib/containerd and
//                                        /var/lib/kubelet across images
//   iSCSI per node, named as firmware/bootcfg tells the node to log in: initiator group with
//   the node's IQN (iqn.2025-01.<reversed domain>:uhs-<cluster>-<node>), extent
//   zvol/DATASET/state/<node>, target uhs-<cluster>-<node> admitting that initiator from the
//   cluster subnet (auth_networks), target-extent LUN 0. No CHAP by default: the node side
//   has no secret channel (everything it netboots travels over TFTP; overlays/README.md);
//   --chap-secret-file adds CHAP (one auth entry uhs-<cluster>) for nodes given the secret
//   some other way.
//
// The rootfs travels by NFS from the publishing host: the operator mounts DATASET/images
// read-write on this host (NFSv4 shows each child dataset's mountpoint below it) and passes
// it as --mount DIR; publish extracts rootfs.tar into DIR/<image-id> with the build's own
// extractor (builder/rootfs/extract.hpp), keeping owners, modes, times, hard and symbolic links
// and device nodes. Nothing else (no zfs send, no SSH) is needed.
//
// The dataset property uhs:image-id is how publish tells its own datasets from anything else:
// a dataset at the path without it (or with another id) is never written to or pruned.

#include "builder/config/cluster.hpp"
#include "builder/publish/client.hpp"
#include "builder/publish/secret.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace uhs::publish {

inline constexpr std::string_view k_image_property = "uhs:image-id";
inline constexpr std::string_view k_published_property = "uhs:published";
inline constexpr std::uint64_t k_state_zvol_bytes = 32ull << 30; // 32 GiB, sparse

enum class Chap { no, yes };

struct NodeStatePlan {
    std::string node;
    std::string zvol;          // DATASET/state/<node>
    std::string extent;        // iSCSI extent name (<= 64 characters)
    std::string target;        // iSCSI target name; full IQN <basename>:<target>
    std::string initiator_iqn; // what the node's open-iscsi says it is
    std::string initiator_comment;
};

struct PublishPlan {
    std::string host;     // storage.truenas.host
    std::string image_id; // "<image-id>" while unknown
    bool image_id_known = false;
    std::string images_parent; // DATASET/images
    std::string dataset;       // DATASET/images/<image-id>
    std::string snapshot;      // uhs-<image-id>
    std::string share_path;    // /mnt/DATASET/images/<image-id>
    std::vector<std::string> networks;
    int nfs_version = 3;
    bool iscsi = true;        // storage.state == iscsi
    std::string state_parent; // DATASET/state
    bool chap = false;        // targets require CHAP (a secret file was given)
    std::string chap_user;    // uhs-<cluster>
    std::vector<NodeStatePlan> nodes;
    std::optional<int> prune_keep;
};

// Pure: what publish would do for `cluster` and `image_id` (nullopt: not known yet).
PublishPlan make_publish_plan(const config::Cluster& cluster,
                              const std::optional<std::string>& image_id,
                              std::optional<int> prune_keep, Chap chap = Chap::no);

nlohmann::json to_json(const PublishPlan& plan);
std::string to_text(const PublishPlan& plan);

// Puts the root filesystem into the dataset (the seam: tests pass a fake or a plain directory).
class RootfsReceiver {
public:
    virtual ~RootfsReceiver() = default;
    virtual util::Status receive(const std::filesystem::path& rootfs_tar,
                                 const PublishPlan& plan) = 0;
};

// Extracts rootfs.tar into `mount`/<image-id>, the new dataset as this host sees it over NFS.
// Fails when that directory does not exist (the mount is missing or is not the dataset's
// parent). Entries that would escape the directory (.., absolute paths, through symlinks) are
// refused (Errc::integrity), by the same extraction policy as the build's.
class MountedDatasetReceiver final : public RootfsReceiver {
public:
    explicit MountedDatasetReceiver(std::filesystem::path mount) : m_mount(std::move(mount)) {}
    util::Status receive(const std::filesystem::path& rootfs_tar, const PublishPlan& plan) override;

private:
    std::filesystem::path m_mount;
};

// One thing publish did or found: step ("dataset", "nfs-share", "extent", ...), object
// (its name), outcome ("created", "updated", "unchanged", "deleted", "kept").
struct PublishAction {
    std::string step;
    std::string object;
    std::string outcome;
};

struct PublishReport {
    Generation generation = Generation::jsonrpc;
    std::string snapshot_namespace; // zfs.snapshot or pool.snapshot
    std::vector<PublishAction> actions;
};

nlohmann::json to_json(const PublishReport& report);
std::string to_text(const PublishReport& report);

struct PublishRequest {
    std::filesystem::path rootfs_tar;
    const Secret* chap_secret = nullptr; // required when plan.chap
    // When, as uhs:published: "2026-12-01T15:40:12.123456Z" (fixed width, so newest sorts
    // last as text; microseconds so two publishes in one second still have an order).
    std::string published_at;
    std::set<std::string> referenced; // image ids nodes use (never pruned)
    std::ostream* progress = nullptr; // a line per step (the CLI passes stderr on a TTY)
};

// Runs the plan against the NAS. Fails at the first step that fails, naming it; what was done
// before stays, and a re-run continues from there.
util::Result<PublishReport> publish(Api& api, RootfsReceiver& receiver, const PublishPlan& plan,
                                    const PublishRequest& request);

// The snapshot namespace for a middleware version string ("25.10.1", "TrueNAS-SCALE-24.10.2"):
// pool.snapshot from 25.10 on, zfs.snapshot before (FACTS-netboot.md §5.1).
std::string snapshot_namespace_for(std::string_view version);

} // namespace uhs::publish

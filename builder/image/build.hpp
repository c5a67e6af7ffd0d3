// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/lockfile.hpp"
#include "builder/config/cluster.hpp"
#include "builder/image/image_id.hpp"
#include "builder/image/stage_cache.hpp"
#include "builder/rootfs/chroot.hpp"
#include "builder/rootfs/dpkg_log.hpp"
#include "builder/util/result.hpp"
#include "builder/util/subprocess.hpp"
#include "firmware/bootcfg/boot_chain.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::image {

struct BuildOptions {
    std::filesystem::path out_dir = "out";
    bool disk = false;                 // also write disk.img
    bool use_cache = true;             // read and write the stage cache
    std::filesystem::path store_root;  // the content-addressed .deb store (see apt::fill_store)
    std::filesystem::path stage_cache; // $XDG_CACHE_HOME/uhs/stages (StageCache)
    std::filesystem::path binfmt_dir = "/proc/sys/fs/binfmt_misc";
    std::function<void(std::string_view)> progress; // one line per phase; may be empty
};

struct PhaseTime {
    std::string phase;
    double seconds = 0;
};

struct BuildResult {
    std::string image_id;
    std::filesystem::path image_dir;
    bool up_to_date = false; // the complete image existed: nothing was done but nodes/
    // An up-to-date image's nodes/ was rewritten because the cluster's serials or MACs changed
    // (`enroll` of a new module): node identity is not part of the image-id.
    bool nodes_refreshed = false;
    bool stage_cache_hit = false;     // the configured root came from the stage cache
    bool initramfs_cache_hit = false; // so did its initramfs (no update-initramfs ran)
    std::string stage_key;
    std::int64_t source_date_epoch = 0;
    std::vector<PhaseTime> phases;
    // The target's dpkg.log, summed (when dpkg ran: not on a stage cache hit).
    std::optional<rootfs::DpkgLogSummary> dpkg;
    std::vector<std::string> warnings;
    std::vector<bootcfg::Finding> boot_chain; // every node's boot-chain check (all ok when built)
};

// SOURCE_DATE_EPOCH of a build: the newest Date of the lock's sources (UTC ISO 8601).
util::Result<std::int64_t> lock_source_date_epoch(const std::filesystem::path& lock_file);

// What a build starts from, read before anything is fetched: the lock, checked against the
// cluster file (Errc::not_found with the command to run when it is missing or stale), and the
// image it makes.
struct BuildStart {
    ImageIdInputs inputs;
    apt::LockFile lock;
    std::string image_id;
    std::filesystem::path image_dir;    // OUT/<image-id>
    std::int64_t source_date_epoch = 0; // see lock_source_date_epoch
    // That image is complete (with disk.img when options.disk): build_image then only refreshes
    // nodes/, so nothing needs fetching.
    bool complete = false;
};

util::Result<BuildStart> start_build(const config::Cluster& cluster, const BuildOptions& options);

// `uhs-image build`: OUT/<image-id>/ with rootfs.tar, boot/, nodes/, boot-chain.json,
// sbom.spdx.json, [disk.img] and manifest.json (written last), built in a temp directory beside it
// and renamed into place when complete. Does nothing when that image is complete already. Reads
// the packages from options.store_root, which must hold every locked one (apt::fill_store;
// Errc::not_found naming the first that is missing). Fails (Errc::failed, one
// `node NAME: FILE: ...` line per problem) when a node's boot chain does not check out; the
// findings are then in OUT/<image-id>.boot-chain.json and nothing is renamed into place.
util::Result<BuildResult> build_image(const config::Cluster& cluster, const BuildStart& start,
                                      const BuildOptions& options, rootfs::ChrootRunner& chroot,
                                      util::CommandRunner& commands);

} // namespace uhs::image

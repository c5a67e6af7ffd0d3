// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/apt/host_sources.hpp"
#include "builder/config/cluster.hpp"
#include "builder/fetch/store.hpp"
#include "builder/image/image_id.hpp"
#include "builder/rootfs/chroot.hpp"
#include "builder/util/result.hpp"
#include "builder/util/subprocess.hpp"
#include "firmware/bootcfg/boot_chain.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::image {

struct BuildOptions {
    std::filesystem::path out_dir = "out";
    bool disk = false;     // also write disk.img
    bool use_cache = true; // read and write the stage cache
    bool offline = false;  // never download: every locked .deb must be in the store
    apt::SourceOverrides overrides;
    std::filesystem::path host_root = "/";
    std::filesystem::path store_root;  // the content-addressed .deb store
    std::filesystem::path stage_cache; // $XDG_CACHE_HOME/uhs/stages
    std::filesystem::path binfmt_dir = "/proc/sys/fs/binfmt_misc";
    std::function<void(std::string_view)> progress; // one line per phase; may be empty
    std::ostream* fetch_progress = nullptr;         // download progress (a TTY), or none
    int fetch_progress_fd = -1;
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
    bool stage_cache_hit = false; // the configured root came from the stage cache
    std::string stage_key;
    std::int64_t source_date_epoch = 0;
    std::vector<PhaseTime> phases;
    std::vector<std::string> warnings;
    std::vector<bootcfg::Finding> boot_chain; // every node's boot-chain check (all ok when built)
};

// $XDG_CACHE_HOME/uhs/stages, or ~/.cache/uhs/stages.
std::filesystem::path default_stage_cache();

// The stage cache key: the lock's hash plus the part of the cluster file that reaches dpkg
// (architecture, variant, packages, kernel) and the tool version. Overlays, nodes, network and
// Kubernetes settings are not in it: changing them re-uses the configured root.
std::string stage_key(const ImageIdInputs& inputs, const config::Cluster& cluster);

// True when `image_dir` holds a finished build of `image_id`: its manifest.json parses, names
// that id, and every file it lists exists with the listed size (hashes are not re-read, so
// this takes milliseconds).
bool image_is_complete(const std::filesystem::path& image_dir, std::string_view image_id);

// SOURCE_DATE_EPOCH of a build: the newest Date of the lock's sources (UTC ISO 8601).
util::Result<std::int64_t> lock_source_date_epoch(const std::filesystem::path& lock_file);

// `uhs-image build`: OUT/<image-id>/ with rootfs.tar, boot/, nodes/, boot-chain.json,
// sbom.spdx.json, [disk.img] and manifest.json (written last), built in a temp directory beside it
// and renamed into place when complete. Does nothing when that image is complete already. Needs the
// lock (Errc::not_found with the command to run when it is missing or stale). Fails (Errc::failed,
// one `node NAME: FILE: ...` line per problem) when a node's boot chain does not check out; the
// findings are then in OUT/<image-id>.boot-chain.json and nothing is renamed into place.
util::Result<BuildResult> build_image(const config::Cluster& cluster, const BuildOptions& options,
                                      rootfs::ChrootRunner& chroot, util::CommandRunner& commands);

} // namespace uhs::image

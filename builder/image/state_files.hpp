// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/util/result.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace uhs::image {

// A file the build writes into the root besides the overlays (path relative to the root).
struct GeneratedFile {
    std::string path;
    std::string text;
};

// Where the image keeps the list of persisted paths the uhs-state generator reads.
inline constexpr std::string_view k_state_list_path = "usr/lib/uhs/state-paths";

// The node-state files of the image, rendered from the product's list of persistent paths and
// storage.persist (config/state_paths.hpp): the list the uhs-state generator, the seeding
// script and the host-key script read ("KIND PATH MODE" lines), and for each unit that uses a
// persisted path a drop-in `usr/lib/systemd/system/<unit>.d/uhs-state.conf` with
// `RequiresMountsFor=` those paths. Sorted by path; the same cluster gives the same bytes.
std::vector<GeneratedFile> render_state_files(const config::Cluster& cluster);

// Where the image keeps the network drivers its initramfs needs (overlays/nfsroot's hook).
inline constexpr std::string_view k_nic_modules_path = "etc/initramfs-tools/uhs-nic-modules";

// The initramfs's network drivers for this cluster's boards, from the board table: every
// board's Ethernet chain (nic_modules) and virtio_net for virtual machines (QEMU's virt, where
// the boot tests run), one module per line; `net` (every network driver, as MODULES=netboot
// has them) when a board's Ethernet is not known (uefi-arm64). The NFS-root hook reads it, so
// the initramfs carries a few drivers instead of the ~20 MB of all of them.
std::vector<GeneratedFile> render_initramfs_files(const config::Cluster& cluster);

// Writes `files` as a file tree under `dir` (created), to be laid over the root like an overlay.
util::Status write_generated_tree(const std::vector<GeneratedFile>& files,
                                  const std::filesystem::path& dir);

} // namespace uhs::image

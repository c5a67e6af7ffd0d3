// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"
#include "builder/image/image_id.hpp"
#include "builder/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace uhs::image {

// $XDG_CACHE_HOME/uhs/stages, or ~/.cache/uhs/stages.
std::filesystem::path default_stage_cache();

// The stage cache key: the lock's hash plus the part of the cluster file that reaches dpkg
// (architecture, variant, packages, kernel) and the tool version. Overlays, nodes, network and
// Kubernetes settings are not in it: changing them re-uses the configured root.
std::string stage_key(const ImageIdInputs& inputs, const config::Cluster& cluster);

// Whether an overlay's file at `path` (relative to the root, "etc/motd") may reach the
// initramfs. Fail-safe: every path may, but for a short list of places initramfs-tools and
// its hooks never read (systemd units, /etc/motd and /etc/issue, home directories, the
// Kubernetes, containerd and CNI configuration, documentation). A file listed inside the
// initramfs itself counts whatever its path (bootcfg::initramfs_members).
bool initramfs_may_read(std::string_view path);

// The stage cache, one directory:
//   <key>.tar                         the configured root (dpkg done, overlays not yet laid)
//   <key>.initramfs/<digest>/         an initramfs made from that root with overlays whose
//                                     files that reach it hash to <digest>: initrd.img-VERSION
//                                     and state-VERSION (update-initramfs' record) per kernel,
//                                     and `listing`, the paths inside the initramfs
//   .lock                             held (flock) by whoever writes an entry
// Entries appear whole (written under a temp name, renamed); a writer that died leaves a temp
// name, which the next writer, holding the lock, removes.
class StageCache {
public:
    explicit StageCache(std::filesystem::path dir) : m_dir(std::move(dir)) {}

    const std::filesystem::path& dir() const { return m_dir; }
    std::filesystem::path root_tar(const std::string& key) const;

    // Saves `root` (write_tree_tar, mtimes clamped to `source_date_epoch`) as the entry `key`.
    util::Status save_root(const std::filesystem::path& root, const std::string& key,
                           std::int64_t source_date_epoch) const;

    // Extracts the entry `key` into the empty directory `root` by the one extraction policy,
    // every directory dated as saved, so the root gives the same tar as the one saved.
    util::Status restore_root(const std::string& key, const std::filesystem::path& root) const;

    // Puts the initramfs of every kernel in `root` (boot/vmlinuz-VERSION) from the entry of
    // `key` whose inputs match: `overlay_paths` (what the overlays wrote, "/etc/...") that may
    // reach the initramfs (initramfs_may_read, or listed inside that initramfs), by kind, mode
    // and content. Returns false, changing nothing, when there is no such entry.
    util::Result<bool> restore_initramfs(const std::string& key, const std::filesystem::path& root,
                                         const std::vector<std::string>& overlay_paths) const;

    // Saves the initramfs update-initramfs just made in `root` for the entry `key` (an entry
    // with the same digest is the same initramfs, and stays).
    util::Status save_initramfs(const std::string& key, const std::filesystem::path& root,
                                const std::vector<std::string>& overlay_paths) const;

private:
    std::filesystem::path m_dir;
};

} // namespace uhs::image

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/cluster.hpp"

#include <string>
#include <string_view>

namespace uhs::bootcfg {

// The directory TrueNAS exports an image from: /mnt/<dataset>/images/<image-id>.
std::string nfs_export_path(const config::Cluster& cluster, std::string_view image_id);

// The per-node iSCSI names for state storage (storage.state: iscsi). The target is named
// uhs-<cluster>-<node> under TrueNAS's default global basename, and each node logs in with its
// own initiator name, so the target's initiator group can admit exactly that node.
inline constexpr std::string_view k_truenas_iscsi_basename = "iqn.2005-10.org.freenas.ctl";
inline constexpr int k_iscsi_port = 3260;
std::string iscsi_target_iqn(const config::Cluster& cluster, const config::Node& node);
// iqn.2025-01.<cluster.domain reversed>:uhs-<cluster>-<node>
std::string iscsi_initiator_iqn(const config::Cluster& cluster, const config::Node& node);

// The kernel command line a node boots with: the image's root read-only over NFS (vers=3 unless
// the cluster asks for 4; an initramfs's klibc nfsmount cannot do v4), the node's static
// address, host name and role (so nothing node-specific lives in the shared root), the cgroup
// switches Raspberry Pi kernels need for kubelet, and where per-node state comes from
// (uhs.state=tmpfs|iscsi; for iscsi also uhs.iscsi.portal/target/initiator/lun, which the
// image's uhs-state generator reads: see overlays/README.md).
// One line, newline-terminated, as the firmware reads cmdline.txt.
std::string render_cmdline(const config::Cluster& cluster, const config::Node& node,
                           std::string_view image_id);

// The firmware's config.txt for a node: 64-bit kernel, initramfs, the model's device tree,
// the serial console. File names match image::boot_files_for(node.model).
std::string render_config_txt(const config::Cluster& cluster, const config::Node& node,
                              std::string_view image_id);

// The disk image (`build --disk`) is one image for every node of the cluster, so its boot files
// carry no node: machine-id and SSH host keys are made at first boot, and the root
// is the image's own ext4 partition, writable, with no per-node state mounts (no uhs.state).
// `root_partuuid` names that partition as the MBR gives it ("<disk id>-02").
std::string render_disk_cmdline(std::string_view root_partuuid, std::string_view image_id);

// The disk's config.txt: a section per SoC family in the cluster ([cm4] for BCM2711, [pi5] for
// BCM2712, which also matches CM5 and CM5 Lite), each naming its kernel and initramfs. No
// device_tree: one card may go into any module, and the firmware picks the board's own .dtb.
std::string render_disk_config_txt(const config::Cluster& cluster, std::string_view image_id);

} // namespace uhs::bootcfg

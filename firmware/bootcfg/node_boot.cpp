// SPDX-License-Identifier: Apache-2.0
#include "firmware/bootcfg/node_boot.hpp"

namespace uhs::bootcfg {

using config::BoardModel;

std::string nfs_export_path(const config::Cluster& cluster, std::string_view image_id) {
    return "/mnt/" + cluster.storage.truenas.dataset + "/images/" + std::string(image_id);
}

namespace {

bool is_bcm2711(BoardModel model) {
    return model == BoardModel::cm4;
}

std::string netmask(const config::Ipv4Prefix& subnet) {
    return config::Ipv4{subnet.mask()}.to_string();
}

// "lab.home.arpa" -> "arpa.home.lab": an IQN names its authority by reversed domain.
std::string reversed_domain(std::string_view domain) {
    std::string out;
    while (!domain.empty()) {
        const auto dot = domain.rfind('.');
        const std::string_view label =
            dot == std::string_view::npos ? domain : domain.substr(dot + 1);
        if (!out.empty()) {
            out += '.';
        }
        out += label;
        domain = dot == std::string_view::npos ? std::string_view{} : domain.substr(0, dot);
    }
    return out;
}

std::string iscsi_name(const config::Cluster& cluster, const config::Node& node) {
    return "uhs-" + cluster.cluster.name + "-" + node.name;
}

} // namespace

std::string iscsi_target_iqn(const config::Cluster& cluster, const config::Node& node) {
    return std::string(k_truenas_iscsi_basename) + ":" + iscsi_name(cluster, node);
}

std::string iscsi_initiator_iqn(const config::Cluster& cluster, const config::Node& node) {
    return "iqn.2025-01." + reversed_domain(cluster.cluster.domain) + ":" +
           iscsi_name(cluster, node);
}

std::string render_cmdline(const config::Cluster& cluster, const config::Node& node,
                           std::string_view image_id) {
    const auto& net = cluster.network;
    const auto& truenas = cluster.storage.truenas;
    // NFS v3 ("tcp", not "proto=tcp"): the initramfs mounts the root with klibc's nfsmount,
    // which speaks v2/v3 only and stops at "bad option 'proto'" (checked against trixie's
    // klibc-utils); validation refuses nfs_version 4 for that reason.
    const std::string nfs_options = "vers=3,tcp,nolock";
    // ip=<client>:<server>:<gateway>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1>
    // The device is left empty: the initramfs renames interfaces (eth0 -> end0), so the first
    // one with a link is the right one on a CM5.
    std::string ip = "ip=" + node.ip.to_string() + "::" + net.gateway.to_string() + ":" +
                     netmask(net.subnet) + ":" + node.name + "::off";
    for (std::size_t i = 0; i < net.dns.size() && i < 2; ++i) {
        ip += ":" + net.dns[i].to_string();
    }
    std::string line = "console=serial0,115200 console=tty1";
    line += " root=/dev/nfs nfsroot=" + truenas.host + ":" + nfs_export_path(cluster, image_id) +
            "," + nfs_options + " ro";
    line += " " + ip;
    line += " rootwait systemd.hostname=" + node.name;
    line += " cgroup_enable=memory cgroup_memory=1";
    line += " uhs.node=" + node.name;
    // The role: the image is the same for every node, so units that only a control plane runs
    // (the etcd disk probe) look here.
    line += " uhs.role=" + std::string(config::to_string(node.role));
    line += " uhs.state=" + std::string(config::to_string(cluster.storage.state));
    if (cluster.storage.state == config::StateStorage::iscsi) {
        line += " uhs.iscsi.portal=" + truenas.host + ":" + std::to_string(k_iscsi_port);
        line += " uhs.iscsi.target=" + iscsi_target_iqn(cluster, node);
        line += " uhs.iscsi.initiator=" + iscsi_initiator_iqn(cluster, node);
        line += " uhs.iscsi.lun=0";
    }
    line += " uhs.image=" + std::string(image_id);
    return line + "\n";
}

std::string render_config_txt(const config::Cluster& cluster, const config::Node& node,
                              std::string_view image_id) {
    const bool bcm2711 = is_bcm2711(node.model);
    std::string text;
    text += "# Written by uhs for " + node.name + " (slot " + std::to_string(node.slot) + ", " +
            std::string(config::to_string(node.model)) + ") of cluster " + cluster.cluster.name +
            ".\n";
    text += "# Image " + std::string(image_id) + ". Edit the cluster file, not this file.\n";
    text += "[all]\n";
    text += "arm_64bit=1\n";
    text += std::string("kernel=") + (bcm2711 ? "kernel8.img" : "kernel_2712.img") + "\n";
    text +=
        std::string("initramfs ") + (bcm2711 ? "initramfs8" : "initramfs_2712") + " followkernel\n";
    text += "device_tree=" + std::string(config::default_dtb(node.model)) + "\n";
    text += "enable_uart=1\n";
    return text;
}

std::string render_disk_cmdline(std::string_view root_partuuid, std::string_view image_id) {
    // Nothing node- or network-specific: the disk boots wherever it is put.
    // rw: the image has no /etc/fstab to remount the root writable later.
    std::string line = "console=serial0,115200 console=tty1";
    line += " root=PARTUUID=" + std::string(root_partuuid) + " rootfstype=ext4 rw rootwait";
    line += " cgroup_enable=memory cgroup_memory=1";
    line += " uhs.image=" + std::string(image_id);
    return line + "\n";
}

std::string render_disk_config_txt(const config::Cluster& cluster, std::string_view image_id) {
    bool bcm2711 = false, bcm2712 = false;
    for (const config::Node& node : cluster.nodes) {
        if (node.model == BoardModel::uefi_arm64) {
            continue; // UEFI firmware reads no config.txt
        }
        (is_bcm2711(node.model) ? bcm2711 : bcm2712) = true;
    }
    std::string text;
    text += "# Written by uhs for the disk image of cluster " + cluster.cluster.name + ".\n";
    text += "# Image " + std::string(image_id) + ". Edit the cluster file, not this file.\n";
    text += "[all]\n";
    text += "arm_64bit=1\n";
    text += "enable_uart=1\n";
    if (bcm2711) {
        text += "[cm4]\n";
        text += "kernel=kernel8.img\n";
        text += "initramfs initramfs8 followkernel\n";
    }
    if (bcm2712) {
        text += "[pi5]\n";
        text += "kernel=kernel_2712.img\n";
        text += "initramfs initramfs_2712 followkernel\n";
    }
    text += "[all]\n";
    return text;
}

} // namespace uhs::bootcfg

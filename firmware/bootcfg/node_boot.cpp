// SPDX-License-Identifier: Apache-2.0
#include "firmware/bootcfg/node_boot.hpp"

#include "builder/config/board.hpp"

#include <map>
#include <optional>

namespace uhs::bootcfg {

using config::Board;
using config::board_for;

std::string nfs_export_path(const config::Cluster& cluster, std::string_view image_id) {
    return "/mnt/" + cluster.storage.truenas.dataset + "/images/" + std::string(image_id);
}

namespace {

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
    // The board's console UART by the name its device tree gives it (ttyAMA10 on BCM2712).
    const std::string_view console = board_for(node.model).console;
    std::string line =
        "console=" + std::string(console.empty() ? "serial0" : console) + ",115200 console=tty1";
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
    // Where the node's uhs-bootloader-report (overlays/bootloader-report) posts which
    // bootloader booted it: the boot server (uhs-netboot serve --http ADDRESS:9469).
    line += " uhs.bootserver=" + net.server.to_string();
    line += " uhs.image=" + std::string(image_id);
    return line + "\n";
}

std::string render_config_txt(const config::Cluster& cluster, const config::Node& node,
                              std::string_view image_id) {
    const Board& board = board_for(node.model);
    std::string text;
    text += "# Written by uhs for " + node.name + " (slot " + std::to_string(node.slot) + ", " +
            std::string(config::to_string(node.model)) + ") of cluster " + cluster.cluster.name +
            ".\n";
    text += "# Image " + std::string(image_id) + ". Edit the cluster file, not this file.\n";
    text += "[all]\n";
    text += "arm_64bit=1\n";
    text += "kernel=" + std::string(board.kernel) + "\n";
    text += "initramfs " + std::string(board.initramfs) + " followkernel\n";
    // The node's chosen tree, else the board's default name: the firmware's OS check (since the
    // 2025-03-27 bootloader) accepts either, as long as the file named is there.
    text += "device_tree=" +
            (node.device_tree.empty() ? std::string(board.default_dtb) : node.device_tree) + "\n";
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
    // Per SoC family the cluster has (its boards share the filter, kernel and initramfs; the
    // board table's test holds them to it): the device tree its nodes name when they all name
    // the same one (one card serves any of them; the firmware's OS check wants the file
    // device_tree= names, or the board's own default, which no Debian kernel ships).
    struct Family {
        const Board* board = nullptr;
        std::optional<std::string> device_tree; // "" once two nodes disagree or one names none
    };
    std::map<int, Family> families; // by SoC number: [cm4] (2711) comes before [pi5] (2712)
    for (const config::Node& node : cluster.nodes) {
        const Board& board = board_for(node.model);
        if (!board.raspberry_pi_firmware()) {
            continue; // UEFI firmware reads no config.txt
        }
        auto [it, first] = families.try_emplace(board.soc);
        Family& family = it->second;
        if (first) {
            family.board = &board;
            family.device_tree = node.device_tree;
        } else if (family.device_tree != node.device_tree) {
            family.device_tree = "";
        }
    }
    std::string text;
    text += "# Written by uhs for the disk image of cluster " + cluster.cluster.name + ".\n";
    text += "# Image " + std::string(image_id) + ". Edit the cluster file, not this file.\n";
    text += "[all]\n";
    text += "arm_64bit=1\n";
    text += "enable_uart=1\n";
    for (const auto& entry : families) {
        const Family& family = entry.second;
        text += std::string(family.board->config_txt_filter) + "\n";
        text += "kernel=" + std::string(family.board->kernel) + "\n";
        text += "initramfs " + std::string(family.board->initramfs) + " followkernel\n";
        if (family.device_tree && !family.device_tree->empty()) {
            text += "device_tree=" + *family.device_tree + "\n";
        }
    }
    text += "[all]\n";
    return text;
}

} // namespace uhs::bootcfg

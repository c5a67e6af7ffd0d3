// SPDX-License-Identifier: Apache-2.0
// The cluster file's rules that span fields: addresses inside the subnet, networks that must
// not overlap, identities no two nodes share, and what a node's role asks of the storage.
#include "builder/config/cluster_reader.hpp"

#include <map>

namespace uhs::config::detail {

void check_cross_fields(Reader& r, const Cluster& c) {
    const Network& net = c.network;
    if (net.subnet.length > 0) {
        auto must_be_inside = [&](Ipv4 ip, const std::string& field) {
            if (ip.value == 0) {
                return;
            }
            if (!net.subnet.contains(ip)) {
                r.error(r.where(field), field,
                        ip.to_string() + " is not inside network.subnet " + net.subnet.to_string());
            } else if (ip == net.subnet.network || ip == net.subnet.broadcast()) {
                r.error(r.where(field), field,
                        ip.to_string() + " is the network or broadcast address of " +
                            net.subnet.to_string());
            }
        };
        must_be_inside(net.server, "network.server");
        must_be_inside(net.gateway, "network.gateway");
        for (std::size_t i = 0; i < c.nodes.size(); ++i) {
            must_be_inside(c.nodes[i].ip, "nodes[" + std::to_string(i) + "].ip");
        }
    }
    const Kubernetes& k8s = c.kubernetes;
    auto no_overlap = [&](const Ipv4Prefix& a, const std::string& field, const Ipv4Prefix& b,
                          const std::string& other) {
        if (a.length > 0 && b.length > 0 && a.overlaps(b)) {
            r.error(r.where(field), field,
                    a.to_string() + " overlaps " + other + " " + b.to_string());
        }
    };
    no_overlap(k8s.pod_cidr, "kubernetes.pod_cidr", net.subnet, "network.subnet");
    no_overlap(k8s.service_cidr, "kubernetes.service_cidr", net.subnet, "network.subnet");
    no_overlap(k8s.service_cidr, "kubernetes.service_cidr", k8s.pod_cidr, "kubernetes.pod_cidr");

    // Every identity a node is known by must be unique, including the 8-hex-digit netboot
    // directory that two 16-digit serials may share.
    std::map<std::string, std::pair<std::size_t, std::string>> seen;
    auto unique = [&](const std::string& kind, const std::string& value, std::size_t index,
                      const std::string& field, const std::string& what) {
        auto [it, inserted] = seen.emplace(kind + "\n" + value, std::pair(index, what));
        if (!inserted) {
            r.error(r.where(field), field,
                    what + " is already used by nodes[" + std::to_string(it->second.first) + "] (" +
                        c.nodes[it->second.first].name + ")");
        }
    };
    bool has_control_plane = false;
    for (std::size_t i = 0; i < c.nodes.size(); ++i) {
        const Node& n = c.nodes[i];
        const std::string field = "nodes[" + std::to_string(i) + "]";
        has_control_plane |= n.role == NodeRole::control_plane;
        if (!n.name.empty()) {
            unique("name", n.name, i, field + ".name", "name '" + n.name + "'");
        }
        if (n.slot != 0) {
            unique("slot", std::to_string(n.slot), i, field + ".slot",
                   "slot " + std::to_string(n.slot));
        }
        if (n.serial) {
            unique("serial", serial_prefix(*n.serial), i, field + ".serial",
                   "netboot directory " + serial_prefix(*n.serial) + " (serial " + *n.serial + ")");
        }
        if (n.mac) {
            unique("mac", n.mac->with_colons(), i, field + ".mac", "MAC " + n.mac->with_colons());
        }
        if (n.ip.value != 0) {
            unique("ip", n.ip.to_string(), i, field + ".ip", "address " + n.ip.to_string());
            if (n.ip == net.server) {
                r.error(r.where(field + ".ip"), field + ".ip",
                        n.ip.to_string() + " is network.server's address");
            } else if (n.ip == net.gateway) {
                r.error(r.where(field + ".ip"), field + ".ip",
                        n.ip.to_string() + " is network.gateway's address");
            }
        }
    }
    // A control plane on tmpfs state loses etcd and its PKI at every reboot, and cannot rejoin
    // by itself: only when the file says so.
    if (c.storage.state == StateStorage::tmpfs && !c.storage.ephemeral_control_plane) {
        for (const Node& n : c.nodes) {
            if (n.role == NodeRole::control_plane) {
                r.error(r.where("storage.state"), "storage.state",
                        "tmpfs is refused while " + n.name +
                            " is a control plane: its etcd data and PKI (/var/lib/etcd, "
                            "/etc/kubernetes) would vanish at every reboot; use iscsi, or say "
                            "storage.ephemeral_control_plane: true");
                break;
            }
        }
    }
    if (!c.nodes.empty() && !has_control_plane) {
        r.error(r.where("nodes"), "nodes", "no node has role control-plane (at least one must)");
    }
}

} // namespace uhs::config::detail

// SPDX-License-Identifier: Apache-2.0
// Per-section validation of the cluster file: cluster, network, storage, kubernetes, firmware
// and nodes (image is cluster_image.cpp's). Each reads its section's fields through the Reader,
// so a problem is reported where it was written.
#include "builder/config/cluster_reader.hpp"
#include "builder/config/state_paths.hpp"
#include "builder/util/strings.hpp"

#include <algorithm>
#include <regex>

namespace uhs::config::detail {

namespace {

const std::regex k_dns_label("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
const std::regex
    k_dns_name("([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*");
const std::regex k_timezone("[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*");
const std::regex k_ssh_key("(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|"
                           "sk-ssh-ed25519@openssh\\.com|sk-ecdsa-sha2-nistp256@openssh\\.com)"
                           " [A-Za-z0-9+/]{16,}={0,2}( .*)?");
const std::regex k_interface("[A-Za-z0-9_.:-]{1,15}");
const std::regex k_zfs_dataset("[A-Za-z0-9][A-Za-z0-9_.:-]*(/[A-Za-z0-9_.:-]+)+");
const std::regex k_k8s_version("[0-9]+\\.[0-9]+(\\.[0-9]+)?");
const std::regex k_endpoint("([a-z0-9.-]+)(:([0-9]{1,5}))?");

// The model names the cluster file may write, in the board table's order.
std::vector<std::string_view> board_names() {
    std::vector<std::string_view> names;
    for (const Board& board : all_boards()) {
        names.push_back(board.name);
    }
    return names;
}

} // namespace

void read_cluster_info(Reader& r, const YAML::Node& node, ClusterInfo& info) {
    auto m = r.mapping(node, "cluster", ClusterSection::cluster);
    if (!m) {
        return;
    }
    info.name = r.string(*m, "name", "cluster.name", k_dns_label,
                         "a DNS label (lowercase letters, digits and '-', at most 63)")
                    .value_or("");
    info.domain =
        r.string(*m, "domain", "cluster.domain", k_dns_name, "a DNS domain name (lowercase)")
            .value_or("");
    info.timezone = r.string(*m, "timezone", "cluster.timezone", k_timezone,
                             "a time zone name (like Europe/Berlin or UTC)")
                        .value_or("UTC");
    std::size_t index = 0;
    for (auto& [key, where] : r.strings(*m, "ssh_authorized_keys", "cluster.ssh_authorized_keys")) {
        const std::string field = "cluster.ssh_authorized_keys[" + std::to_string(index++) + "]";
        if (!matches(key, k_ssh_key)) {
            r.error(where, field,
                    "not an OpenSSH public key (expected 'TYPE BASE64 [COMMENT]', TYPE like "
                    "ssh-ed25519)");
            continue;
        }
        info.ssh_authorized_keys.push_back(key);
    }
}

void read_network(Reader& r, const YAML::Node& node, Network& network) {
    auto m = r.mapping(node, "network", ClusterSection::network);
    if (!m) {
        return;
    }
    network.server = r.ipv4(*m, "server", "network.server").value_or(Ipv4{});
    network.interface = r.string(*m, "interface", "network.interface", k_interface,
                                 "a network interface name (at most 15 characters)")
                            .value_or("");
    network.subnet = r.prefix(*m, "subnet", "network.subnet").value_or(Ipv4Prefix{});
    network.gateway = r.ipv4(*m, "gateway", "network.gateway").value_or(Ipv4{});
    std::size_t index = 0;
    for (auto& [text, where] : r.strings(*m, "dns", "network.dns")) {
        const std::string field = "network.dns[" + std::to_string(index++) + "]";
        if (auto ip = Ipv4::parse(text)) {
            network.dns.push_back(*ip);
        } else {
            r.error(where, field, "'" + text + "' is not an IPv4 address");
        }
    }
    if (!find(*m, "dns")) {
        network.dns.push_back(network.gateway);
    }
    network.pin_tftp_server =
        r.choice(*m, "pin_tftp_server", "network.pin_tftp_server", {"true", "false"})
            .value_or("false") == "true";
}

void read_storage(Reader& r, const YAML::Node& node, Storage& storage) {
    auto m = r.mapping(node, "storage", ClusterSection::storage);
    if (!m) {
        return;
    }
    if (const YAML::Node* truenas = find(*m, "truenas")) {
        auto t = r.mapping(*truenas, "storage.truenas", ClusterSection::storage_truenas);
        if (t) {
            // An address, not a name: the initramfs mounts the root with klibc's nfsmount,
            // which has no resolver.
            if (auto host = r.scalar(*t, "host", "storage.truenas.host")) {
                if (Ipv4::parse(*host)) {
                    storage.truenas.host = *host;
                } else {
                    r.error(r.where("storage.truenas.host"), "storage.truenas.host",
                            "'" + *host +
                                "' is not an IPv4 address (the initramfs mounts the NFS root "
                                "without DNS)");
                }
            }
            storage.truenas.api_key_file =
                r.scalar(*t, "api_key_file", "storage.truenas.api_key_file").value_or("");
            storage.truenas.dataset =
                r.string(*t, "dataset", "storage.truenas.dataset", k_zfs_dataset,
                         "a ZFS dataset below a pool (like tank/uhs)")
                    .value_or("");
            if (auto version = r.scalar(*t, "nfs_version", "storage.truenas.nfs_version")) {
                if (*version == "3") {
                    storage.truenas.nfs_version = 3;
                } else if (*version == "4") {
                    // The refusal says why, as for storage.state: nfs.
                    r.error(r.where("storage.truenas.nfs_version"), "storage.truenas.nfs_version",
                            "4 cannot mount the root: the initramfs mounts it with klibc's "
                            "nfsmount, which speaks NFS v2 and v3 only (use 3)");
                } else {
                    r.error(r.where("storage.truenas.nfs_version"), "storage.truenas.nfs_version",
                            "'" + *version + "' is not 3");
                }
            }
        }
    }
    if (auto state = r.scalar(*m, "state", "storage.state")) {
        if (*state == "iscsi") {
            storage.state = StateStorage::iscsi;
        } else if (*state == "tmpfs") {
            storage.state = StateStorage::tmpfs;
        } else if (*state == "nfs") {
            r.error(r.where("storage.state"), "storage.state",
                    "'nfs' is refused: containerd's overlayfs snapshotter and kubelet do not work "
                    "on NFS; use iscsi or tmpfs");
        } else {
            std::string message = "'" + *state + "' is not one of iscsi, tmpfs";
            const std::vector<std::string_view> candidates{"iscsi", "tmpfs"};
            if (auto match = util::closest_match(*state, candidates)) {
                message += " (did you mean '" + *match + "'?)";
            }
            r.error(r.where("storage.state"), "storage.state", message);
        }
    }
    if (auto ephemeral = r.choice(*m, "ephemeral_control_plane", "storage.ephemeral_control_plane",
                                  {"true", "false"})) {
        storage.ephemeral_control_plane = *ephemeral == "true";
    }
    std::size_t index = 0;
    for (auto& [path, where] : r.strings(*m, "persist", "storage.persist")) {
        const std::string field = "storage.persist[" + std::to_string(index++) + "]";
        if (std::string problem = persist_path_problem(path); !problem.empty()) {
            r.error(where, field, "'" + path + "' " + problem);
            continue;
        }
        // Two entries must not nest either: each is one bind mount of its own directory.
        std::string clash;
        for (const std::string& other : storage.persist) {
            if (other == path) {
                clash = "is listed twice";
            } else if (path.starts_with(other + "/")) {
                clash = "is inside " + other + ", listed before it";
            } else if (other.starts_with(path + "/")) {
                clash = "holds " + other + ", listed before it";
            }
        }
        if (!clash.empty()) {
            r.error(where, field, "'" + path + "' " + clash);
            continue;
        }
        storage.persist.push_back(path);
    }
}

void read_kubernetes(Reader& r, const YAML::Node& node, Kubernetes& k8s) {
    auto m = r.mapping(node, "kubernetes", ClusterSection::kubernetes);
    if (!m) {
        return;
    }
    k8s.version = r.string(*m, "version", "kubernetes.version", k_k8s_version,
                           "a Kubernetes version (like 1.31 or 1.31.2)")
                      .value_or("");
    r.remember("kubernetes.pod_cidr", node);
    r.remember("kubernetes.service_cidr", node);
    k8s.pod_cidr = find(*m, "pod_cidr")
                       ? r.prefix(*m, "pod_cidr", "kubernetes.pod_cidr").value_or(Ipv4Prefix{})
                       : *Ipv4Prefix::parse("10.244.0.0/16");
    k8s.service_cidr =
        find(*m, "service_cidr")
            ? r.prefix(*m, "service_cidr", "kubernetes.service_cidr").value_or(Ipv4Prefix{})
            : *Ipv4Prefix::parse("10.96.0.0/12");
    if (auto endpoint =
            r.scalar(*m, "control_plane_endpoint", "kubernetes.control_plane_endpoint")) {
        std::smatch parts;
        if (!std::regex_match(*endpoint, parts, k_endpoint) ||
            (parts[3].matched && std::stol(parts[3].str()) > 65535)) {
            r.error(r.where("kubernetes.control_plane_endpoint"),
                    "kubernetes.control_plane_endpoint",
                    "'" + *endpoint + "' is not HOST or HOST:PORT");
        } else {
            k8s.control_plane_endpoint = *endpoint;
        }
    }
}

void read_firmware(Reader& r, const YAML::Node& node, Firmware& firmware) {
    auto m = r.mapping(node, "firmware", ClusterSection::firmware);
    if (!m) {
        return;
    }
    static const std::regex k_date("(20[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])");
    firmware.bootloader = r.string(*m, "bootloader", "firmware.bootloader", k_date,
                                   "a bootloader release date (YYYY-MM-DD, like 2025-09-23)");
    // Milliseconds, as the EEPROM's TFTP_FILE_TIMEOUT (which accepts 5000 and up).
    firmware.tftp_file_timeout_ms = static_cast<int>(
        r.integer(*m, "tftp_file_timeout", "firmware.tftp_file_timeout", 5000, 3600000)
            .value_or(30000));
}

void read_nodes(Reader& r, const YAML::Node& node, std::vector<Node>& nodes) {
    if (!r.non_empty_list(node, "nodes", "must list at least one node")) {
        return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : node) {
        const std::string field = "nodes[" + std::to_string(index++) + "]";
        auto m = r.mapping(item, field, ClusterSection::nodes);
        if (!m) {
            continue;
        }
        Node n;
        n.location = r.at(item);
        n.name = r.string(*m, "name", field + ".name", k_dns_label,
                          "a host name (lowercase letters, digits and '-')")
                     .value_or("");
        n.slot = static_cast<int>(r.integer(*m, "slot", field + ".slot", 1, 6).value_or(0));
        if (auto model = r.choice(*m, "model", field + ".model", board_names())) {
            n.model = *board_model_named(*model);
        }
        const Board& board = board_for(n.model);
        if (auto serial = r.scalar(*m, "serial", field + ".serial")) {
            if (!board.raspberry_pi_firmware()) {
                // UEFI PXE sends no Pi serial: such a node is matched by its MAC only.
                r.error(r.where(field + ".serial"), field + ".serial",
                        "a " + std::string(board.name) +
                            " node has no Raspberry Pi serial; identify it by mac");
            } else if (util::is_hex(*serial) && (serial->size() == 8 || serial->size() == 16)) {
                n.serial = util::to_lower(*serial);
            } else {
                r.error(r.where(field + ".serial"), field + ".serial",
                        "'" + *serial + "' is not a board serial (8 or 16 hex digits)");
            }
        }
        if (auto mac = r.scalar(*m, "mac", field + ".mac")) {
            n.mac = MacAddress::parse(*mac);
            if (!n.mac) {
                r.error(r.where(field + ".mac"), field + ".mac",
                        "'" + *mac + "' is not a MAC address (like 2c:cf:67:00:00:01)");
            }
        }
        n.ip = r.ipv4(*m, "ip", field + ".ip").value_or(Ipv4{});
        if (auto role = r.choice(*m, "role", field + ".role", {"control-plane", "worker"})) {
            n.role = *role == "control-plane" ? NodeRole::control_plane : NodeRole::worker;
        }
        static const std::regex k_dtb("[A-Za-z0-9][A-Za-z0-9_.+-]*\\.dtb");
        if (auto dtb = r.string(*m, "device_tree", field + ".device_tree", k_dtb,
                                "a device tree file name (like bcm2712-rpi-5-b.dtb)")) {
            if (!board.raspberry_pi_firmware()) {
                r.error(r.where(field + ".device_tree"), field + ".device_tree",
                        "a " + std::string(board.name) +
                            " node boots with its firmware's own device tree");
            } else {
                n.device_tree = *dtb;
            }
        }
        nodes.push_back(std::move(n));
    }
}

} // namespace uhs::config::detail

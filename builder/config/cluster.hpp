// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/config/board.hpp"
#include "builder/config/net.hpp"

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace uhs::config {

// Where something was written in the cluster file (1-based, as editors count).
struct SourceLocation {
    std::string file;
    int line = 0;
    int column = 0;
};

// One problem in a cluster file: "FILE:LINE:COL: error: MESSAGE" (or "warning:").
struct Diagnostic {
    SourceLocation where;
    std::string message;

    std::string to_string(std::string_view severity = "error") const;
};

enum class NodeRole { control_plane, worker };
enum class StateStorage { iscsi, tmpfs };
enum class Variant { minbase, important, standard };

std::string_view to_string(NodeRole role);
std::string_view to_string(StateStorage state);
std::string_view to_string(Variant variant);

// Per-model facts (names, SoC, boot file names, device tree, NIC drivers) are the board table's
// (board.hpp).

struct ClusterInfo {
    std::string name;
    std::string domain;
    std::string timezone;
    std::vector<std::string> ssh_authorized_keys;
};

struct Network {
    Ipv4 server; // the workstation/boot server: uhs-netboot's DHCP proxy and TFTP address
    std::string interface;
    Ipv4Prefix subnet;
    Ipv4 gateway;
    std::vector<Ipv4> dns;
    // Writes TFTP_IP=<server> into the nodes' bootloader config. Off by default: TFTP_IP
    // overrides the server the DHCP answer names, so a second boot server could never take
    // over a node's boots.
    bool pin_tftp_server = false;
};

struct TrueNas {
    std::string host;
    std::string api_key_file; // as written; '~/' is expanded by the commands that read it
    std::string dataset;      // ZFS dataset under which images live, e.g. "tank/uhs"
    int nfs_version = 3;
};

struct Storage {
    TrueNas truenas;
    StateStorage state = StateStorage::iscsi;
    // storage.persist: paths kept on the state volume besides the product's list
    // (config/state_paths.hpp), absolute and normalised, in file order.
    std::vector<std::string> persist;
    // storage.ephemeral_control_plane: true accepts `state: tmpfs` for control-plane nodes,
    // whose etcd data and PKI are then lost at every reboot.
    bool ephemeral_control_plane = false;
};

struct AptSource {
    std::string name;
    std::string uri; // "auto" = the host's own APT sources
    std::vector<std::string> suites;
    std::vector<std::string> components;
    std::filesystem::path keyring; // absolute (resolved against the cluster file's directory)
    SourceLocation location;

    // A flat repository ("suite: /", as the Kubernetes repo): no dists/, no components.
    bool is_flat() const { return suites.size() == 1 && suites.front().ends_with('/'); }
    bool is_auto() const { return uri == "auto"; }
};

// "PKG" or "PKG/SUITE" as image.packages and image.kernel write it: SUITE selects that suite's
// version of PKG the way `apt-get install PKG/SUITE` does (a suite name or codename).
struct PackageRequest {
    std::string name;
    std::string suite; // "" = the candidate
};

// Splits "PKG/SUITE" at its '/'; no '/' gives an empty suite.
PackageRequest parse_package_request(std::string_view text);

// One image.pins entry, an apt_preferences(5) record: versions of the packages matching
// `packages` (names or globs with * ? [...]; "*" alone pins the suite itself, as
// "Package: *" does) that come from `suite` (a suite name or codename) get `priority`.
struct Pin {
    std::vector<std::string> packages;
    std::string suite;
    int priority = 0;
    SourceLocation location;       // of the entry
    SourceLocation suite_location; // of its suite value
};

struct Image {
    std::string architecture = "arm64";
    Variant variant = Variant::minbase;
    std::vector<AptSource> sources;
    std::vector<std::string> packages;             // as written: "PKG" or "PKG/SUITE"
    std::string kernel;                            // as written: "PKG" or "PKG/SUITE"
    std::vector<SourceLocation> package_locations; // where each of `packages` was written
    SourceLocation kernel_location;
    std::vector<Pin> pins;
    std::vector<std::string> overlays;                // names as written
    std::vector<std::filesystem::path> overlay_paths; // resolved directories, same order
};

struct Kubernetes {
    std::string version; // "1.31" or "1.31.2"
    Ipv4Prefix pod_cidr;
    Ipv4Prefix service_cidr;
    std::string control_plane_endpoint; // host[:port]
};

// What the nodes' bootloader EEPROMs run. The boot-chain check holds every TFTP file to it.
struct Firmware {
    // The oldest bootloader release on any node (YYYY-MM-DD, as rpi-eeprom names them); none
    // declared means an old one: TFTP files must stay under 65,535 blocks.
    std::optional<std::string> bootloader;
    int tftp_file_timeout_ms = 30000; // the EEPROM's TFTP_FILE_TIMEOUT, per file
};

struct Node {
    std::string name;
    int slot = 0;
    BoardModel model = BoardModel::cm5_lite;
    std::optional<std::string> serial; // lowercase, 8 or 16 hex digits; absent until enrolled
    std::optional<MacAddress> mac;     // absent until enrolled
    Ipv4 ip;
    NodeRole role = NodeRole::worker;
    // The device tree (a .dtb of the image's kernel) the node boots with; empty: the board's
    // default name (builder/config/board.cpp).
    std::string device_tree;
    SourceLocation location;

    // Netboot directory names the bootloader asks for (TFTP_PREFIX 0 and 2).
    std::optional<std::string> serial_directory() const;
    std::optional<std::string> mac_directory() const;
};

struct Cluster {
    std::filesystem::path file; // the cluster file as given
    std::string api_version;
    ClusterInfo cluster;
    Network network;
    Storage storage;
    Image image;
    Kubernetes kubernetes;
    Firmware firmware;
    std::vector<Node> nodes;
};

using Diagnostics = std::vector<Diagnostic>;

// Where bare overlay names ("base") are looked up, in order.
enum class CheckKeyrings { yes, no };

struct LoadOptions {
    std::vector<std::filesystem::path> overlay_search_path;
    // no: the keyrings are resolved but not opened. The boot service reads the cluster file
    // after dropping to its service user, which may not read (or need) the admin's keyrings.
    CheckKeyrings check_keyrings = CheckKeyrings::yes;
};

// The default overlay search path: $UHS_OVERLAY_PATH (colon-separated), then the overlays/
// installed beside the binary (../share/uhs/overlays; in a build tree a link to the checkout's).
std::vector<std::filesystem::path> default_overlay_search_path();

// Reads and validates a cluster file. On failure returns every problem found, in file order.
std::expected<Cluster, Diagnostics> load_cluster(const std::filesystem::path& file,
                                                 const LoadOptions& options);

// The same for text already in memory (`file` names it in messages and anchors relative paths).
std::expected<Cluster, Diagnostics> parse_cluster(const std::string& text,
                                                  const std::filesystem::path& file,
                                                  const LoadOptions& options);

} // namespace uhs::config
